#!/bin/bash
# run.sh — bench-vgg16 (ck) and peer_torch.py (PyTorch) on the same rows and
# thread count, in one run, one process per row and configuration; prints
# a table of images/s (medians), ck's GFLOP/s, the ratio ck / best PyTorch,
# and ck's peak RSS.
#
#   bench/vgg16/run.sh [BUILD_DIR]        (default: build)
# Environment: ROWS (default "fwd224b1 fwd224b16 fwd64b64 fwd32b64 ft224b16"),
#   THREADS (2), REPEATS (5), ALGOS (ck algorithms to time, "auto winograd
#   fp32"; the table shows the fastest), TORCH_PY (/usr/bin/python3),
#   TORCH_ENVS ("default tuned"), OUT (raw results file, default a temp file).
#
# PyTorch is timed in every configuration peer_torch.py knows (NCHW,
# channels_last, TorchScript-frozen) and under two environments: "default"
# and "tuned" (OpenBLAS AVX-512 kernels when the CPU has them; glibc malloc
# kept from returning memory to the OS — the first touch of fresh pages is
# very slow on these VMs —; jemalloc preloaded when installed). The table
# compares with its best.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bench=$build/bench/bench-vgg16
[ -x "$bench" ] || { echo "run.sh: $bench not found (build the bench-vgg16 target)" >&2; exit 2; }
ROWS=${ROWS:-"fwd224b1 fwd224b16 fwd64b64 fwd32b64 ft224b16"}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-5}
ALGOS=${ALGOS:-"auto winograd fp32"}
TORCH_PY=${TORCH_PY:-/usr/bin/python3}
TORCH_ENVS=${TORCH_ENVS:-"default tuned"}
raw=${OUT:-$(mktemp /tmp/ck-bench-vgg16.XXXXXX)}
: > "$raw"

# OpenBLAS 0.3.21 does not know Zen 4/5 and would pick AVX2 kernels; it
# reads OPENBLAS_CORETYPE once at load time. Only valid with AVX-512.
blas_env=()
if grep -q avx512f /proc/cpuinfo; then blas_env=(OPENBLAS_CORETYPE=SkylakeX); fi
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) avx512bf16: $(grep -q avx512_bf16 /proc/cpuinfo && echo yes || echo no)" >&2
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

torch_env() {
    case $1 in
    default) echo ;;
    tuned)
        local e="${blas_env[*]} MALLOC_ARENA_MAX=1 GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"
        local je
        je=$(ls /usr/lib/x86_64-linux-gnu/libjemalloc.so.* 2>/dev/null | head -1 || true)
        [ -n "$je" ] && e="${blas_env[*]} LD_PRELOAD=$je"
        echo "$e" ;;
    esac
}

for row in $ROWS; do
    for algo in $ALGOS; do
        env ${blas_env[@]+"${blas_env[@]}"} "$bench" --rows "$row" --algo "$algo" --threads "$THREADS" \
            --repeats "$REPEATS" 2>/dev/null | sed "s/\$/\t-/" >> "$raw" || echo "run.sh: ck $row $algo failed" >&2
    done
    if [ -x "$TORCH_PY" ] && "$TORCH_PY" -c 'import torch' 2>/dev/null; then
        for te in $TORCH_ENVS; do
            env $(torch_env "$te") "$TORCH_PY" "$here/peer_torch.py" --rows "$row" --threads "$THREADS" \
                --repeats "$REPEATS" | sed "s/\$/\t$te/" >> "$raw" || echo "run.sh: torch $row $te failed" >&2
        done
    fi
done
if grep -q '^ck' "$raw"; then
    env ${blas_env[@]+"${blas_env[@]}"} "$bench" --rows none --check 2>/dev/null >> "$raw" || true
fi
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# raw results: $raw" >&2

awk -F'\t' -v threads="$THREADS" '
$1 == "ck" { if (!($2 in ck) || $4 > ck[$2]) { ck[$2] = $4; ckalgo[$2] = $3; gf[$2] = $7; rss[$2] = $8 }
             all[$2] = all[$2] sprintf(" %s=%.2f", $3, $4) }
$1 == "torch" && $3 != "best" { if (!($2 in tb) || $4 > tb[$2]) { tb[$2] = $4; tcfg[$2] = $3 "/" $7 } }
$1 == "check" { chk = chk sprintf("  %s: %s %s\n", $3, $4, $5) }
END {
    printf("VGG16, %s threads, images/s (median)\n", threads)
    printf("%-10s %10s %10s %8s %12s %-26s %7s %8s  %s\n", "row", "ck", "algo", "GFLOP/s", "torch best", "(config/env)", "ratio", "RSS MiB", "ck per algo")
    n = split("fwd224b1 fwd224b16 fwd64b64 fwd32b64 ft224b16", order, " ")
    for (i = 1; i <= n; i++) { r = order[i]; if (!(r in ck)) continue
        ratio = (r in tb && tb[r] > 0) ? sprintf("%.2fx", ck[r] / tb[r]) : "-"
        printf("%-10s %10.2f %10s %8.0f %12s %-26s %7s %8s %s\n", r, ck[r], ckalgo[r], gf[r],
               (r in tb) ? sprintf("%.2f", tb[r]) : "-", (r in tcfg) ? tcfg[r] : "", ratio, rss[r], all[r]) }
    if (chk != "") printf("conv base features at 224, fast path vs fp32 (max|diff|/max|fp32|):\n%s", chk)
}' "$raw"
