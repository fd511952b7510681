#!/usr/bin/env bash
# Check ck on a GPU machine from a bundle made by scripts/gpu-bundle.sh:
# the CPU-vs-CUDA operation tests, an end-to-end contest run on the GPU
# (synthetic data, random weights) beside the same run on the CPU, and the
# GPU benchmark against PyTorch (bench/vgg16/run-gpu.sh).
#
#   scripts/gpu-check.sh BUNDLE.tar.xz [LOGDIR]     (run from the repo root)
# Environment: STEPS ("tests e2e bench sanitize"), REPEATS (bench, 10).
# Exit status: 0 all passed, 77 no usable GPU, 1 a failure.
set -uo pipefail
bundle=${1:?usage: scripts/gpu-check.sh BUNDLE.tar.xz [LOGDIR]}
logs=${2:-gpu-check-logs}
STEPS=${STEPS:-"tests e2e bench sanitize"}
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)
root=$(mktemp -d /tmp/ck-gpu.XXXXXX)
tar -xJf "$bundle" -C "$root" || exit 1
bin=$root/bin
t0=$(date +%s)
step() { printf '\n=== [%4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

# The machine's cuBLAS, cuDNN and NCCL: the CUDA toolkit's, or the ones
# inside Python wheels (PyTorch's nvidia-* packages), those first: they are
# usually the newer, and PyTorch, the peer, uses them.
libdirs=$(find /usr/local /usr/lib /opt -maxdepth 9 \
    \( -name 'libcudnn.so.9' -o -name 'libcublas.so.13' -o -name 'libnccl.so.2' \) 2>/dev/null |
    xargs -r -n1 dirname | awk '{ print (/site-packages/ ? 0 : 1) "\t" $0 }' | sort -s -k1,1 | cut -f2 |
    awk '!seen[$0]++' | paste -sd: -)
export TORCH_LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
export LD_LIBRARY_PATH=$root/lib${libdirs:+:$libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-8}
nvidia-smi -L 2>&1 || true
echo "library folders: $libdirs"
missing=$(for p in "$bin"/*; do ldd "$p" | grep 'not found'; done | sort -u)
[ -z "$missing" ] || { echo "gpu-check: libraries not found:"; echo "$missing"; exit 1; }
rc=0
fail() { echo "gpu-check: FAILED: $*"; rc=1; }
# run NAME CMD...: output to LOGDIR/NAME.log, its last lines and the time shown
run() {
    local name=$1 s=$SECONDS st
    shift
    "$@" > "$logs/$name.log" 2>&1
    st=$?
    tail -n "${TAIL:-4}" "$logs/$name.log"
    echo "($name: $(( SECONDS - s )) s, status $st)"
    [ "$st" = 0 ] || [ "$st" = 77 ] || fail "$name"
}
# maxdiff A.csv B.csv LIMIT LABEL: largest |p_a - p_b| over two submissions
maxdiff() {
    paste -d, "$1" "$2" | awk -F, -v lim="$3" -v what="$4" '{ h = NF / 2; for (i = 2; i <= h; i++) {
        d = $i - $(i + h); if (d < 0) d = -d; if (d > m) m = d } }
        END { printf("%s: max |p_cuda - p_cpu| = %.2e (limit %g)\n", what, m, lim); exit !(m <= lim) }' ||
        fail "$4: CUDA and CPU predictions differ"
}

if [[ " $STEPS " == *" tests "* ]]; then
    step "test-backend-ops (CPU vs CUDA, every operation and a whole model)"
    "$bin/test-backend-ops" 2>&1 | tee "$logs/test-backend-ops.log"
    st=${PIPESTATUS[0]}
    [ "$st" = 77 ] && { echo "gpu-check: no usable GPU"; exit 77; }
    [ "$st" = 0 ] || fail "test-backend-ops ($st)"
    for t in test-cuda-nodevice test-dp-cpu; do
        [ -x "$bin/$t" ] || continue
        step "$t"
        TAIL=1 run "$t" "$bin/$t"
    done
fi

if [[ " $STEPS " == *" e2e "* ]]; then
    w=$root/e2e
    mkdir -p "$w"
    step "e2e: synthetic contest (2000 train, 400 test, 32 px) and random weights"
    run synth "$bin/ck-synth" -o "$w/data" --train 2000 --test 400 --seed 1
    run weights "$bin/ck-weights" random --seed 1 -o "$w/vgg16.h5"
    common=(--weights "$w/vgg16.h5" --train "$w/data/train_master.tsv" --images "$w/data/train"
            --labels "$w/data/label_master.tsv" --input-size 64 --epochs 4 --batchnorm --lr 0.0001 --seed 1)
    for dev in cuda cpu; do
        step "e2e: ck-finetune --device $dev (head on cached features, 4 epochs at 64 px)"
        TAIL=6 run "finetune-$dev" "$bin/ck-finetune" "${common[@]}" --device "$dev" \
            -o "$w/head-$dev.ckpt" --log "$w/head-$dev.csv"
    done
    for lt in 0 2; do
        step "e2e: ck-finetune --device cuda at 224 px, --loader-threads $lt (0: automatic)"
        TAIL=2 run "finetune-cuda-224-lt$lt" "$bin/ck-finetune" "${common[@]}" --input-size 224 --epochs 2 \
            --device cuda --loader-threads "$lt" -o "$w/head224.ckpt"
    done
    step "e2e: ck-finetune --device cuda --unfreeze block5 --aug (2 epochs, no cache below block5)"
    run finetune-block5 "$bin/ck-finetune" "${common[@]}" --epochs 2 --unfreeze block5 --aug flip=h,crop=0.9:1 \
        --device cuda -o "$w/b5.ckpt"
    step "e2e: ck-finetune --gpus 0 (data-parallel path, NCCL, one GPU)"
    run finetune-gpus0 "$bin/ck-finetune" "${common[@]}" --epochs 2 --gpus 0 -o "$w/dp.ckpt"
    for dev in cuda cpu; do
        step "e2e: ck-predict --device $dev, ck-eval"
        TAIL=2 run "predict-$dev" "$bin/ck-predict" -m "$w/head-cuda.ckpt" --images "$w/data/test" --tta flip \
            --device "$dev" -o "$w/sub-$dev.csv"
        TAIL=1 run "eval-$dev" "$bin/ck-eval" --truth "$w/data/test_labels.tsv" --summary "$w/sub-$dev.csv"
        TAIL=1 run "predict-$dev-fp32" env CK_CUDA_TF32=0 "$bin/ck-predict" -m "$w/head-cuda.ckpt" \
            --images "$w/data/test" --conv-algo fp32 --device "$dev" -o "$w/sub-$dev-fp32.csv"
    done
    step "e2e: one checkpoint predicted on CUDA and on the CPU"
    maxdiff "$w/sub-cuda-fp32.csv" "$w/sub-cpu-fp32.csv" 1e-4 "fp32, TF32 off"
    maxdiff "$w/sub-cuda.csv" "$w/sub-cpu.csv" 3e-2 "default (GPU: bf16 base)"
    cp "$w"/head-*.csv "$logs/" 2>/dev/null
fi

if [[ " $STEPS " == *" bench "* ]]; then
    step "bench: bench/vgg16/run-gpu.sh"
    REPEATS=${REPEATS:-10} OUT="$logs/bench-gpu.raw" bench/vgg16/run-gpu.sh "$bin/bench-vgg16" 2>&1 |
        tee "$logs/bench-gpu.txt"
fi

if [[ " $STEPS " == *" sanitize "* ]] && command -v compute-sanitizer >/dev/null; then
    step "compute-sanitizer memcheck: test-backend-ops"
    timeout 100 compute-sanitizer --tool memcheck --error-exitcode 9 "$bin/test-backend-ops" \
        > "$logs/sanitize.log" 2>&1
    st=$?
    tail -4 "$logs/sanitize.log"
    [ "$st" = 0 ] || [ "$st" = 124 ] || fail "compute-sanitizer ($st)"
fi
step "done (status $rc)"
exit "$rc"
