#!/bin/bash
# run.sh — wall time of the same 10-epoch fine-tuning run in ck-finetune
# (frozen-feature cache: the VGG16 base runs once) and in PyTorch; prints
# both times and the ratio.
#
#   bench/finetune/run.sh [BUILD_DIR]          (default: build)
# Environment:
#   BASE         how PyTorch runs the frozen base (peer_torch.py --base):
#                once (default): computed once, as ck's cache does: the
#                like-for-like comparison; every: recomputed for every batch
#                of every epoch, validation too, as Keras' model.fit does
#   DATA         CIFAR-20 folder (default /work/shared/data/cifar20): train/,
#                train_master.tsv, label_master.tsv
#   SIZE         --input-size (default 64)      EPOCHS (default 10)
#   THREADS      compute threads of both (default 2)
#   TORCH_EPOCHS time only this many PyTorch epochs and extrapolate to EPOCHS
#                (default: all; with BASE=every the PyTorch run is long: about
#                EPOCHS × 3 min at 64 on 2 idle cores). The output says when
#                it extrapolates.
#   TORCH_PY     (default /usr/bin/python3)     WORK (scratch folder, default
#                a temp folder, removed)
# Both tools get the same weights file (ck-weights random --seed 1), the same
# manifests (ck-split --val 0.2 --seed 1) and the same recipe (ck-finetune's
# defaults: head 256, dropout 0.5, Adam lr 1e-3, batch 32). Only the times
# matter here; the accuracy parity is checked by parity.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
DATA=${DATA:-/work/shared/data/cifar20}
SIZE=${SIZE:-64}
EPOCHS=${EPOCHS:-10}
THREADS=${THREADS:-2}
BASE=${BASE:-once}
case $BASE in once|every) ;; *) echo "run.sh: BASE must be once or every" >&2; exit 2;; esac
TORCH_EPOCHS=${TORCH_EPOCHS:-$EPOCHS}
TORCH_PY=${TORCH_PY:-/usr/bin/python3}
for t in ck-finetune ck-split ck-weights; do
    [ -x "$build/tools/$t" ] || { echo "run.sh: $build/tools/$t not found (build it)" >&2; exit 2; }
done
work=${WORK:-$(mktemp -d /tmp/ck-bench-finetune.XXXXXX)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"

# OpenBLAS 0.3.21 picks AVX2 kernels on Zen 4/5; SkylakeX only with AVX-512.
blas_env=()
if grep -q avx512f /proc/cpuinfo; then blas_env=(OPENBLAS_CORETYPE=SkylakeX); fi
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores, avx512f: ${blas_env[*]:+yes}${blas_env[*]:-no}"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

"$build/tools/ck-weights" random --seed 1 -o "$work/w.h5" 2>/dev/null
"$build/tools/ck-split" -m "$DATA/train_master.tsv" -l "$DATA/label_master.tsv" --val 0.2 --seed 1 \
    -q -o "$work/split"

now() { date +%s.%N; }
t0=$(now)
env ${blas_env[@]+"${blas_env[@]}"} "$build/tools/ck-finetune" --weights "$work/w.h5" \
    --train "$work/split/train.tsv" --val-manifest "$work/split/val.tsv" --images "$DATA/train" \
    --labels "$DATA/label_master.tsv" --input-size "$SIZE" --epochs "$EPOCHS" --seed 1 -j "$THREADS" \
    --log "$work/ck.csv" -o "$work/ck.ckpt" 2>&1 | grep -v '^Epoch [0-9]*/[0-9]*$' | sed 's/^/ck: /'
t1=$(now)
ck_s=$(echo "$t1 - $t0" | bc)
echo "# load average between: $(cut -d' ' -f1-3 /proc/loadavg)"

# PyTorch at its best: glibc malloc kept from returning memory to the OS (the
# first touch of fresh pages is very slow on these VMs; see bench/vgg16).
torch_env=(MALLOC_ARENA_MAX=1 GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736)
env ${blas_env[@]+"${blas_env[@]}"} "${torch_env[@]}" "$TORCH_PY" "$here/peer_torch.py" --weights "$work/w.h5" \
    --train "$work/split/train.tsv" --val "$work/split/val.tsv" --images "$DATA/train" \
    --labels "$DATA/label_master.tsv" --input-size "$SIZE" --epochs "$EPOCHS" --seed 1 \
    --threads "$THREADS" --base "$BASE" --channels-last --time-epochs "$TORCH_EPOCHS" \
    | tee "$work/torch.out" | sed 's/^/torch: /'
torch_s=$(awk -F'\t' '$1=="total_seconds"{t=$2} $1=="extrapolated_seconds"{t=$2} END{print t}' "$work/torch.out")
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

note=""
[ "$TORCH_EPOCHS" -lt "$EPOCHS" ] && note=" (EXTRAPOLATED: $TORCH_EPOCHS of $EPOCHS epochs timed, ×$EPOCHS/$TORCH_EPOCHS)"
printf 'ck-finetune  %d epochs at %d: %.1f s\n' "$EPOCHS" "$SIZE" "$ck_s"
printf 'PyTorch      %d epochs at %d (base %s): %.1f s%s\n' "$EPOCHS" "$SIZE" "$BASE" "$torch_s" "$note"
printf 'ratio PyTorch / ck: %.2fx\n' "$(echo "$torch_s / $ck_s" | bc -l)"
