#!/bin/bash
# precision.sh — validation figures of ck-finetune with the trained layers in
# fp32 and in bf16 (--precision), the same weights, split, seeds and recipe;
# prints each run's final and best-epoch val_loss / val_acc and the mean
# gap bf16 - fp32. Run by hand on the shared CIFAR-20.
#
#   bench/finetune/precision.sh [BUILD_DIR]      (default: build)
# Environment: DATA (default /work/shared/data/cifar20), ARCH (vgg16),
#   SIZE (32), EPOCHS (10), SEEDS ("1 2 3"), THREADS (2), ARGS (the recipe,
#   default parity.sh's "--batchnorm --lr 0.0001": the head's two dense
#   layers are the trained layers the precision acts on. With the random
#   base weights available offline, "--unfreeze block5" stays near chance
#   (val accuracy 6-8% after 3 epochs), which cannot show a difference),
#   WORK (scratch folder, default a temp folder, kept).
set -euo pipefail
build=${1:-build}
DATA=${DATA:-/work/shared/data/cifar20}
ARCH=${ARCH:-vgg16}
SIZE=${SIZE:-32}
EPOCHS=${EPOCHS:-10}
SEEDS=${SEEDS:-"1 2 3"}
THREADS=${THREADS:-2}
ARGS=${ARGS:-"--batchnorm --lr 0.0001"}
work=${WORK:-$(mktemp -d /tmp/ck-precision.XXXXXX)}
mkdir -p "$work"
echo "# work folder: $work; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(grep -m1 'model name' /proc/cpuinfo)"
weights=$work/w.h5
[ -f "$weights" ] || "$build/tools/ck-weights" random --arch "$ARCH" --seed 1 -o "$weights" 2>/dev/null
[ -f "$work/split/train.tsv" ] || "$build/tools/ck-split" -m "$DATA/train_master.tsv" \
    -l "$DATA/label_master.tsv" --val 0.2 --seed 1 -q -o "$work/split"
for p in fp32 bf16; do
    for s in $SEEDS; do
        log=$work/${p}_seed$s.csv
        [ -f "$log" ] && [ $(($(wc -l < "$log") - 1)) -ge "$EPOCHS" ] && continue
        start=$(date +%s)
        # shellcheck disable=SC2086
        "$build/tools/ck-finetune" --weights "$weights" --train "$work/split/train.tsv" \
            --val-manifest "$work/split/val.tsv" --images "$DATA/train" --labels "$DATA/label_master.tsv" \
            --input-size "$SIZE" --epochs "$EPOCHS" --seed "$s" -j "$THREADS" --precision "$p" $ARGS -q \
            --log "$log" -o "$work/${p}_seed$s.ckpt"
        echo "# $p seed $s: $(($(date +%s) - start)) s"
    done
done
for p in fp32 bf16; do
    for s in $SEEDS; do
        awk -F, -v p="$p" -v s="$s" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
            { l = $c["val_loss"]; a = $c["val_acc"]; if (best == "" || l < best) { best = l; ba = a } }
            END { printf "%s\t%s\t%.4f\t%.4f\t%.4f\t%.4f\n", p, s, l, a, best, ba }' "$work/${p}_seed$s.csv"
    done
done | awk -F'\t' 'BEGIN { print "precision\tseed\tfinal_val_loss\tfinal_val_acc\tbest_val_loss\tbest_val_acc" }
    { print; n[$1]++; fl[$1] += $3; fa[$1] += $4; bl[$1] += $5; ba[$1] += $6 }
    END { printf "mean gap bf16 - fp32: final val_loss %+.4f, val_acc %+.2f points; best val_loss %+.4f, val_acc %+.2f points\n",
          fl["bf16"] / n["bf16"] - fl["fp32"] / n["fp32"], 100 * (fa["bf16"] / n["bf16"] - fa["fp32"] / n["fp32"]),
          bl["bf16"] / n["bf16"] - bl["fp32"] / n["fp32"], 100 * (ba["bf16"] / n["bf16"] - ba["fp32"] / n["fp32"]) }'
