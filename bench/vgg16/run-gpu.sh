#!/bin/bash
# run-gpu.sh — the GPU rows of bench-vgg16 (ck, --device cuda) and of
# peer_torch.py (PyTorch, --device cuda) in one run; prints images/s
# (medians) and the ratios ck / PyTorch, like for like and best for best.
#
#   bench/vgg16/run-gpu.sh [BENCH_VGG16]     (default: build/bench/bench-vgg16)
# Environment: ARCH (vgg16 | vgg19 | resnet50; vgg16), LAYOUT (as run.sh:
#   torchvision for resnet50, keras for VGG), ROWS ("fwd224b64 fwd224b256
#   ft224b64"), REPEATS (10),
#   TORCH_PY (python3), TORCH_LD_LIBRARY_PATH (LD_LIBRARY_PATH for PyTorch
#   only, when ck's differs: PyTorch refuses a cuDNN older than its own),
#   OUT (raw results file, default a temp file).
#
# ck runs each row with --algo fp32 (TF32 tensor cores; CK_CUDA_TF32=0 for
# plain fp32) and --algo bf16 (frozen convolutions in bf16, trained ones
# TF32). PyTorch runs TF32 (NCHW and channels_last) and bf16 autocast
# (channels_last; for the fine-tuning step also autocast of the frozen
# blocks only, which is what ck's bf16 does), cudnn.benchmark on.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${1:-build/bench/bench-vgg16}
[ -x "$bench" ] || { echo "run-gpu.sh: $bench not found" >&2; exit 2; }
ARCH=${ARCH:-vgg16}
case $ARCH in resnet50) LAYOUT=${LAYOUT:-torchvision} ;; *) LAYOUT=${LAYOUT:-keras} ;; esac
net=(--arch "$ARCH" --layout "$LAYOUT")
ROWS=${ROWS:-"fwd224b64 fwd224b256 ft224b64"}
REPEATS=${REPEATS:-10}
TORCH_PY=${TORCH_PY:-python3}
raw=${OUT:-$(mktemp /tmp/ck-bench-gpu.XXXXXX)}
: > "$raw"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader >&2 || true

for row in $ROWS; do
    for algo in fp32 bf16; do
        "$bench" "${net[@]}" --device cuda --rows "$row" --algo "$algo" --repeats "$REPEATS" --warmup 2 >> "$raw" \
            || echo "run-gpu.sh: ck $row $algo failed" >&2
    done
    # bf16 convolutions with f32 activations between layers (what ck did
    # before it kept them in bf16): shows what that is worth
    CK_CUDA_BF16_ACT=0 "$bench" "${net[@]}" --device cuda --rows "$row" --algo bf16 --repeats "$REPEATS" --warmup 2 |
        sed 's/\tbf16\t/\tbf16-f32act\t/' >> "$raw" || echo "run-gpu.sh: ck $row bf16 f32act failed" >&2
    if env ${TORCH_LD_LIBRARY_PATH+LD_LIBRARY_PATH="$TORCH_LD_LIBRARY_PATH"} "$TORCH_PY" -c \
        'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
        env ${TORCH_LD_LIBRARY_PATH+LD_LIBRARY_PATH="$TORCH_LD_LIBRARY_PATH"} "$TORCH_PY" "$here/peer_torch.py" \
            --arch "$ARCH" --device cuda --rows "$row" --repeats "$REPEATS" --warmup 3 >> "$raw" \
            || echo "run-gpu.sh: torch $row failed" >&2
    else
        echo "run-gpu.sh: no PyTorch with CUDA at $TORCH_PY: ck only" >&2
    fi
done
# Accuracy of the bf16 base against true fp32 (TF32 off) at 224.
CK_CUDA_TF32=0 "$bench" "${net[@]}" --device cuda --rows none --check >> "$raw" || echo "run-gpu.sh: --check failed" >&2
echo "# raw results: $raw" >&2

awk -F'\t' -v arch="$ARCH" '
$1 == "ck" { k = $3 == "fp32" ? "tf32" : $3; ck[$2, k] = $4; tf[$2, k] = $7 / 1000; rows[$2] = 1 }
$1 == "torch" && $3 != "best" { k = $3 ~ /^bf16/ ? "bf16" : "tf32"
    if (!(($2, k) in tb) || $4 > tb[$2, k]) { tb[$2, k] = $4; tc[$2, k] = $3 } }
$1 == "check" { chk = chk sprintf("  %s: %s %s\n", $3, $4, $5) }
function v(a) { return a ? sprintf("%.0f", a) : "-" }
END {
    printf("%s on the GPU,", arch)
    printf(" images/s (median); ck TFLOP/s in direct-convolution FLOPs\n")
    printf("%-11s %8s %8s %12s %8s %8s %7s %7s  %s\n", "row", "ck tf32", "ck bf16", "bf16 f32act",
           "pt tf32", "pt bf16", "tf32 x", "best x", "(ck bf16 TFLOP/s; PyTorch configs)")
    n = split("fwd224b64 fwd224b256 ft224b64", order, " ")
    for (i = 1; i <= n; i++) { r = order[i]; if (!(r in rows)) continue
        c1 = ck[r, "tf32"]; c2 = ck[r, "bf16"]; c3 = ck[r, "bf16-f32act"]; t1 = tb[r, "tf32"]; t2 = tb[r, "bf16"]
        bc = c1 > c2 ? c1 : c2; bt = t1 > t2 ? t1 : t2
        printf("%-11s %8s %8s %12s %8s %8s %7s %7s  (%.0f; %s, %s)\n", r, v(c1), v(c2), v(c3), v(t1), v(t2),
               t1 ? sprintf("%.2f", c1 / t1) : "-", bt ? sprintf("%.2f", bc / bt) : "-", tf[r, "bf16"],
               tc[r, "tf32"], tc[r, "bf16"]) }
    if (chk != "") printf("conv base features at 224 against fp32 with TF32 off (max|diff|/max|fp32|):\n%s", chk)
}' "$raw"
