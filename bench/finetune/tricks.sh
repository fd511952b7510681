#!/bin/bash
# tricks.sh — the contest tricks of docs/workflow.md measured against the
# plain recipe on one split: the same random base weights, split, epochs,
# seed and head (parity.sh's recipe), one ck-finetune run per row; prints
# the final and best (lowest val_loss) epoch's validation log loss and
# accuracy of each, and for SWA the averaged file's. Run by hand.
#
#   bench/finetune/tricks.sh [BUILD_DIR]        (default: build)
# Environment:
#   DATA     CIFAR-20 folder (default /work/shared/data/cifar20)
#   SIZE     --input-size (default 32)   EPOCHS (default 10)   SEED (default 1)
#   ARGS     the recipe (default "--batchnorm --lr 0.0001", see parity.sh)
#   ROWS     rows to run (default: all, in the order below)
#   THREADS  (default 2)   WORK (scratch folder; default a temp folder, kept;
#            a finished row in it is not run again)
set -euo pipefail
build=${1:-build}
DATA=${DATA:-/work/shared/data/cifar20}
SIZE=${SIZE:-32}
EPOCHS=${EPOCHS:-10}
SEED=${SEED:-1}
ARGS=${ARGS:-"--batchnorm --lr 0.0001"}
THREADS=${THREADS:-2}
swa_from=$((EPOCHS - EPOCHS / 4))
declare -A opts=(
    [plain]=""
    [onecycle]="--schedule onecycle"
    [ema]="--ema 0.999"
    [mixup]="--mixup 0.4"
    [cutmix]="--cutmix 1.0"
    [swa]="--swa-from $swa_from"
    [mixup+ema+onecycle]="--mixup 0.4 --ema 0.999 --schedule onecycle"
)
ROWS=${ROWS:-"plain onecycle ema mixup swa mixup+ema+onecycle cutmix"}
work=${WORK:-$(mktemp -d /tmp/ck-tricks.XXXXXX)}
mkdir -p "$work"
echo "# work folder: $work; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

[ -f "$work/w.h5" ] || "$build/tools/ck-weights" random --seed 1 -o "$work/w.h5" 2>/dev/null
[ -f "$work/split/val.tsv" ] || "$build/tools/ck-split" -m "$DATA/train_master.tsv" -l "$DATA/label_master.tsv" \
    --val 0.2 --seed 1 -q -o "$work/split"
for r in $ROWS; do
    [ -n "${opts[$r]+x}" ] || { echo "tricks.sh: unknown row '$r'" >&2; exit 2; }
    [ -f "$work/$r.csv" ] && [ $(($(wc -l < "$work/$r.csv") - 1)) -ge "$EPOCHS" ] && continue
    echo "# $r: load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%H:%M:%S)"
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$build/tools/ck-finetune" --weights "$work/w.h5" --train "$work/split/train.tsv" \
        --val-manifest "$work/split/val.tsv" --images "$DATA/train" --labels "$DATA/label_master.tsv" \
        --input-size "$SIZE" --epochs "$EPOCHS" --seed "$SEED" -j "$THREADS" $ARGS ${opts[$r]} \
        --log "$work/$r.csv" -o "$work/$r.ckpt" > "$work/$r.out" 2>&1
    echo "$(($(date +%s) - start))" > "$work/$r.seconds"
done

echo "row                  final val_loss  val_acc   best val_loss  val_acc   seconds  options"
for r in $ROWS; do
    [ -f "$work/$r.csv" ] || continue
    awk -F, -v r="$r" -v o="${opts[$r]}" -v sec="$(cat "$work/$r.seconds" 2>/dev/null || echo -)" \
        'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
         { l = $c["val_loss"]; a = $c["val_acc"]; if (best == "" || l < best) { best = l; ba = a } }
         END { printf "%-20s %14.4f  %7.4f   %13.4f  %7.4f   %7s  %s\n", r, l, a, best, ba, sec, o }' "$work/$r.csv"
    # the SWA file's figures, printed under its last epoch line
    grep -h "^SWA of epochs" "$work/$r.out" 2>/dev/null | tail -1 | sed 's/^/                     /' || true
done
echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
