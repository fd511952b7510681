#!/bin/bash
# parity.sh — training parity of ck-finetune with PyTorch: the same weights
# file, the same manifests, the same sample order (peer_torch.py reproduces
# ck's Philox shuffle of each epoch exactly), the same head, optimizer and
# hyper-parameters; prints validation log loss and accuracy of both, per seed
# and averaged. Run by hand (needs /usr/bin/python3 with torch 1.13 + h5py).
#
#   bench/finetune/parity.sh [BUILD_DIR]        (default: build)
# Environment:
#   DATA     CIFAR-20 folder (default /work/shared/data/cifar20)
#   ARCH     the backbone: vgg16 (default) or resnet50; the weights file is
#            ck-weights random --arch ARCH --seed 1, the frozen base is the
#            whole conv base (ck-finetune's default --features)
#   LAYOUT   keras (default: .h5, caffe preprocessing) or torchvision
#            (resnet50 only: .safetensors, torch preprocessing)
#   SIZE     --input-size (default 32)   EPOCHS (default 10)
#   SEEDS    seeds, one run each in both tools (default "1 2 3"): --seed of
#            ck-finetune = order + init + dropout; the same seed in PyTorch
#            gives the same order, its own init and dropout masks
#   ARGS     extra ck-finetune options of the recipe (default
#            "--batchnorm --lr 0.0001"); PYARGS the same for peer_torch.py
#            (default ARGS: it takes the same --batchnorm, --lr, --schedule
#            onecycle, --ema and --mixup), e.g.
#            ARGS="--batchnorm --lr 0.0001 --mixup 0.4". Why not ck's defaults:
#            with random base weights (no official file offline) the default
#            head (no BN, lr 1e-3) does not learn at all in either tool (val
#            accuracy 5% = chance), which proves nothing.
#   TORCH_SEEDS  PyTorch's seeds (default SEEDS): more are cheap, its frozen
#            features are computed once
#   TORCH_FEATURES  a file for PyTorch's frozen features (default none):
#            computed once, then loaded by every run with the same weights
#            seed, ARCH, LAYOUT, split and SIZE (e.g. several ARGS' WORKs)
#   THREADS  (default 2)   WORK (scratch folder; default a temp folder, kept;
#            the finished runs in it are kept: a new WORK for new ARGS)
# PyTorch computes the frozen base once and trains every seed's head on it
# (as ck's feature cache does); this changes only the time, not the numbers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
DATA=${DATA:-/work/shared/data/cifar20}
SIZE=${SIZE:-32}
EPOCHS=${EPOCHS:-10}
SEEDS=${SEEDS:-"1 2 3"}
TORCH_SEEDS=${TORCH_SEEDS:-$SEEDS}
ARGS=${ARGS:-"--batchnorm --lr 0.0001"}
PYARGS=${PYARGS:-$ARGS}
THREADS=${THREADS:-2}
TORCH_PY=${TORCH_PY:-/usr/bin/python3}
# OpenMP threads (ck's and torch's) sleep at barriers instead of spinning:
# on the shared 2 cores (load 10-20) spinning took ~80% of both tools' CPU
# time (perf record), i.e. ~5x slower runs; the figures do not depend on it.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
work=${WORK:-$(mktemp -d /tmp/ck-parity.XXXXXX)}
mkdir -p "$work"
echo "# work folder: $work; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

ARCH=${ARCH:-vgg16}
LAYOUT=${LAYOUT:-keras}
weights=$work/w.h5
[ "$LAYOUT" = torchvision ] && weights=$work/w.safetensors
# One WORK per backbone: a kept file of another one would be reused.
if [ -f "$weights" ]; then
    info=$("$build/tools/ck-weights" info "$weights")  # (no pipe into grep -q: pipefail)
    grep -qx "arch: $ARCH" <<< "$info" ||
        { echo "parity.sh: $weights in WORK is not $ARCH: use a new WORK" >&2; exit 2; }
else
    "$build/tools/ck-weights" random --arch "$ARCH" --layout "$LAYOUT" --seed 1 -o "$weights" 2>/dev/null
fi
"$build/tools/ck-split" -m "$DATA/train_master.tsv" -l "$DATA/label_master.tsv" --val 0.2 --seed 1 \
    -q -o "$work/split"
common=(--images "$DATA/train" --labels "$DATA/label_master.tsv" --input-size "$SIZE" --epochs "$EPOCHS")

for s in $SEEDS; do
    # a finished run in WORK is kept: its log has EPOCHS rows
    [ -f "$work/ck_seed$s.csv" ] && [ $(($(wc -l < "$work/ck_seed$s.csv") - 1)) -ge "$EPOCHS" ] && continue
    # shellcheck disable=SC2086
    "$build/tools/ck-finetune" --weights "$weights" --train "$work/split/train.tsv" \
        --val-manifest "$work/split/val.tsv" "${common[@]}" --seed "$s" -j "$THREADS" $ARGS -q \
        --log "$work/ck_seed$s.csv" -o "$work/ck_seed$s.ckpt"
done
# a finished PyTorch run of the same seeds in WORK is kept too
# shellcheck disable=SC2086
if ! grep -q '^total_seconds' "$work/torch.out" 2>/dev/null ||
    [ "$(awk -F'\t' '$1 == "seed" { printf "%s,", $2 }' "$work/torch.out")" != "$(echo $TORCH_SEEDS | tr ' ' ,)," ]; then
    "$TORCH_PY" "$here/peer_torch.py" --weights "$weights" --arch "$ARCH" --layout "$LAYOUT" --train "$work/split/train.tsv" \
        --val "$work/split/val.tsv" "${common[@]}" --seeds "$(echo $TORCH_SEEDS | tr ' ' ,)" \
        --threads "$THREADS" --base once ${TORCH_FEATURES:+--features "$TORCH_FEATURES"} $PYARGS \
        > "$work/torch.out"
fi

# Final epoch and best epoch (lowest val_loss, what -o keeps) of each run.
{
    for s in $SEEDS; do
        awk -F, -v s="$s" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
            { l = $c["val_loss"]; a = $c["val_acc"]; if (best == "" || l < best) { best = l; ba = a } }
            END { printf "ck\t%s\t%.4f\t%.4f\t%.4f\t%.4f\n", s, l, a, best, ba }' "$work/ck_seed$s.csv"
    done
    awk -F'\t' '$1 == "seed" { if (s != "") printf "torch\t%s\t%.4f\t%.4f\t%.4f\t%.4f\n", s, l, a, best, ba
                               s = $2; best = "" }
        $1 == "epoch" { l = $5; a = $6; if (best == "" || l < best) { best = l; ba = a } }
        END { printf "torch\t%s\t%.4f\t%.4f\t%.4f\t%.4f\n", s, l, a, best, ba }' "$work/torch.out"
} > "$work/summary.tsv"
echo "tool   seed  final val_loss  val_acc   best val_loss  val_acc"
awk -F'\t' '{ printf "%-6s %-5s %14s  %7s   %13s  %7s\n", $1, $2, $3, $4, $5, $6
              n[$1]++; fl[$1] += $3; fa[$1] += $4; bl[$1] += $5; ba[$1] += $6 }
    END { for (t in n) { ml[t] = fl[t] / n[t]; ma[t] = fa[t] / n[t]; mb[t] = bl[t] / n[t]; mba[t] = ba[t] / n[t]
                         printf "%-6s %-5s %14.4f  %7.4f   %13.4f  %7.4f\n", t, "mean", ml[t], ma[t], mb[t], mba[t] }
          printf "gap ck - torch (means): final val_loss %+.4f, val_acc %+.2f points; best val_loss %+.4f, val_acc %+.2f points\n",
                 ml["ck"] - ml["torch"], 100 * (ma["ck"] - ma["torch"]), mb["ck"] - mb["torch"], 100 * (mba["ck"] - mba["torch"]) }' \
    "$work/summary.tsv"
echo "# goal: |val_acc gap| <= 1 point, |val_loss gap| <= 0.03; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
