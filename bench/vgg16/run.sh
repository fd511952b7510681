#!/bin/bash
# run.sh — bench-vgg16 (ck) against its peers on the same rows, network and
# thread count, in one run, one process per row and configuration; prints a
# table of images/s (medians), ck's GFLOP/s and share of this CPU's peak,
# the ratio ck / best peer, and ck's peak RSS.
#
#   bench/vgg16/run.sh [BUILD_DIR]        (default: build)
# Environment: ARCH (vgg16 | vgg19 | resnet50; default vgg16), LAYOUT (the
#   weights layout ck runs: default torchvision for resnet50 — v1.5, what
#   torchvision's resnet50 is — and keras for VGG, where both are the same
#   network), ROWS (default "fwd224b1 fwd224b16 fwd64b64 fwd32b64
#   ft224b16"), THREADS (2), REPEATS (5), ALGOS (ck algorithms to time;
#   default "auto winograd fp32", plus bf16 on CPUs with AVX512_BF16; the
#   table shows the fastest and each), TORCH_PY (/usr/bin/python3),
#   TORCH_ENVS ("default tuned"), PEERS_PY (the venv python with openvino
#   and onnxruntime, default /tmp/ck-peers/bin/python), OUT (raw results
#   file, default a temp file).
#
# ck loads a random weights file of ARCH/LAYOUT made by ck-weights (values
# do not change the speed; frozen BN is folded as for real files).
#
# Peers:
#  - PyTorch (peer_torch.py), all rows, in every configuration it knows
#    (NCHW, channels_last, TorchScript-frozen) and under two environments:
#    "default" and "tuned" (OpenBLAS AVX-512 kernels when the CPU has them;
#    glibc malloc kept from returning memory to the OS — the first touch of
#    fresh pages is very slow on these VMs —; jemalloc preloaded when
#    installed). The best counts.
#  - OpenVINO (bf16 where the CPU has AVX512_BF16, and f32) and ONNX Runtime
#    (f32) on the forward rows (peer_onnx.py), from the ONNX export of the
#    same conv base made here by PyTorch. Optional: without PEERS_PY their
#    columns say "missing". Make the venv once with
#      python3 -m venv /tmp/ck-peers && /tmp/ck-peers/bin/pip install openvino onnxruntime
# Interpreter start-up, model compilation and warm-up are never timed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bench=$build/bench/bench-vgg16
[ -x "$bench" ] || { echo "run.sh: $bench not found (build the bench-vgg16 target)" >&2; exit 2; }
ARCH=${ARCH:-vgg16}
case $ARCH in
resnet50) LAYOUT=${LAYOUT:-torchvision} ;;
vgg16 | vgg19) LAYOUT=${LAYOUT:-keras} ;;
*) echo "run.sh: ARCH must be vgg16, vgg19 or resnet50" >&2; exit 2 ;;
esac
ROWS=${ROWS:-"fwd224b1 fwd224b16 fwd64b64 fwd32b64 ft224b16"}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-5}
has_bf16=no
grep -q avx512_bf16 /proc/cpuinfo && has_bf16=yes
ALGOS=${ALGOS:-"auto winograd fp32$([ $has_bf16 = yes ] && echo " bf16")"}
TORCH_PY=${TORCH_PY:-/usr/bin/python3}
TORCH_ENVS=${TORCH_ENVS:-"default tuned"}
PEERS_PY=${PEERS_PY:-/tmp/ck-peers/bin/python}
raw=${OUT:-$(mktemp /tmp/ck-bench-$ARCH.XXXXXX)}
: > "$raw"
work=$(mktemp -d /tmp/ck-bench-work.XXXXXX)
trap 'rm -rf "$work"' EXIT

# OpenBLAS 0.3.21 does not know Zen 4/5 and would pick AVX2 kernels; it
# reads OPENBLAS_CORETYPE once at load time. Only valid with AVX-512, and
# only when the user has not chosen one.
blas_env=()
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    blas_env=(OPENBLAS_CORETYPE="$OPENBLAS_CORETYPE")
elif grep -q avx512f /proc/cpuinfo; then
    blas_env=(OPENBLAS_CORETYPE=SkylakeX)
fi
lscpu | awk -F: '/^Model name|^CPU family|^Model:/ { gsub(/^ +/, "", $2); printf("# %s: %s\n", $1, $2) }' >&2
echo "# avx512_bf16: $has_bf16, amx_bf16: $(grep -q amx_bf16 /proc/cpuinfo && echo yes || echo no)" >&2
echo "# $ARCH ($LAYOUT layout), threads $THREADS, repeats $REPEATS${blas_env[0]+, ${blas_env[0]}}" >&2
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

weights=()
if "$build/tools/ck-weights" random --seed 1 --arch "$ARCH" --layout "$LAYOUT" -o "$work/weights" >/dev/null 2>"$work/w.err"; then
    weights=(--weights "$work/weights")
else
    echo "# ck-weights random --arch $ARCH --layout $LAYOUT failed ($(head -1 "$work/w.err")): ck runs its seeded initial weights (same network, same speed)" >&2
fi

have_torch=no
[ -x "$TORCH_PY" ] && "$TORCH_PY" -c 'import torch, torchvision' 2>/dev/null && have_torch=yes
have_onnx=no
if [ $have_torch = yes ] && [ -x "$PEERS_PY" ] && "$PEERS_PY" -c 'import openvino, onnxruntime' 2>/dev/null; then
    have_onnx=yes
    echo "# peers: $("$PEERS_PY" -c 'import openvino, onnxruntime; print("openvino", openvino.__version__.split("-")[0], "onnxruntime", onnxruntime.__version__)')," \
        "torch $("$TORCH_PY" -c 'import torch; print(torch.__version__)')" >&2
else
    echo "# openvino / onnxruntime columns missing: no $PEERS_PY with both (see the header of $0)" >&2
fi

env ${blas_env[@]+"${blas_env[@]}"} "$bench" --peak --rows none --threads "$THREADS" 2>/dev/null >> "$raw" || true
for row in $ROWS; do
    for algo in $ALGOS; do
        env ${blas_env[@]+"${blas_env[@]}"} "$bench" --arch "$ARCH" --layout "$LAYOUT" ${weights[@]+"${weights[@]}"} \
            --rows "$row" --algo "$algo" --threads "$THREADS" --repeats "$REPEATS" 2>"$work/ck.err" |
            sed "s/\$/\t-/" >> "$raw"
        [ "${PIPESTATUS[0]}" = 0 ] || echo "run.sh: ck $row $algo failed: $(tail -1 "$work/ck.err")" >&2
    done
    if [ $have_torch = yes ]; then
        for te in $TORCH_ENVS; do
            env $(torch_env "$te") "$TORCH_PY" "$here/peer_torch.py" --arch "$ARCH" --rows "$row" --threads "$THREADS" \
                --repeats "$REPEATS" | sed "s/\$/\t$te/" >> "$raw" || echo "run.sh: torch $row $te failed" >&2
        done
    fi
    if [ $have_onnx = yes ] && [ "${row#fwd}" != "$row" ]; then
        "$TORCH_PY" "$here/peer_torch.py" --arch "$ARCH" --rows "$row" --export-onnx "$work" 2>/dev/null &&
            "$PEERS_PY" "$here/peer_onnx.py" --onnx "$work" --arch "$ARCH" --rows "$row" --threads "$THREADS" \
                --repeats "$REPEATS" 2>>"$work/onnx.err" >> "$raw" || echo "run.sh: openvino/onnxruntime $row failed" >&2
        rm -f "$work"/*.onnx
    fi
done
if grep -q '^ck' "$raw"; then
    env ${blas_env[@]+"${blas_env[@]}"} "$bench" --arch "$ARCH" --layout "$LAYOUT" ${weights[@]+"${weights[@]}"} \
        --rows none --check 2>/dev/null >> "$raw" || true
fi
[ -s "$work/onnx.err" ] && grep '^# openvino' "$work/onnx.err" | sort -u | sed 's/openvino [^ ]* /openvino /' >&2
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# raw results: $raw" >&2

awk -F'\t' -v threads="$THREADS" -v arch="$ARCH" -v layout="$LAYOUT" -v onnx="$have_onnx" '
function cell(v, c) { return v == "" ? (onnx == "yes" ? "-" : "missing") : sprintf("%.2f %s", v, c) }
$1 == "peak" { peak[$2] = $3 }
$1 == "ck" { if (!($2 in ck) || $4 > ck[$2]) { ck[$2] = $4; ckalgo[$2] = $3; gf[$2] = $7; rss[$2] = $8 }
             if ($3 != "bf16" && (!($2 in ck32) || $4 > ck32[$2])) ck32[$2] = $4
             all[$2] = all[$2] sprintf(" %s=%.2f", $3, $4) }
$1 == "torch" && $3 != "best" { if (!($2 in tb) || $4 > tb[$2]) { tb[$2] = $4; tcfg[$2] = $3 "/" $7 } }
$1 ~ /^(openvino_bf16|openvino_f32|onnxruntime)$/ {
    k = $1 SUBSEP $2
    if (!(k in pv) || $4 > pv[k]) { pv[k] = $4; pcfg[k] = $3 } }
$1 == "check" { chk = chk sprintf("  %s %s: %s %s\n", $2, $3, $4, $5) }
END {
    printf("%s (%s layout), %s threads, images/s (median)", arch, layout, threads)
    if ("fp32" in peak) printf("; peaks measured by bench-vgg16 --peak: fp32 %.0f, bf16 %s GFLOP/s", peak["fp32"],
                               ("bf16" in peak) ? sprintf("%.0f", peak["bf16"]) : "-")
    printf("\n%-10s %-18s %7s %6s %-28s %-22s %-22s %-12s %-14s %6s %8s %8s  %s\n", "row", "ck (algo)", "GFLOP/s",
           "%peak", "torch best (config/env)", "openvino bf16", "openvino f32", "onnxruntime", "best peer",
           "ck/best", "f32 ratio", "RSS MiB", "ck per algo")
    n = split("fwd224b1 fwd224b16 fwd64b64 fwd32b64 ft224b16", order, " ")
    for (i = 1; i <= n; i++) { r = order[i]; if (!(r in ck)) continue
        best = (r in tb) ? tb[r] : 0; bname = "torch"
        best32 = best
        if (pv["openvino_bf16", r] > best) { best = pv["openvino_bf16", r]; bname = "openvino bf16" }
        if (pv["openvino_f32", r] > best) { best = pv["openvino_f32", r]; bname = "openvino f32" }
        if (pv["onnxruntime", r] > best) { best = pv["onnxruntime", r]; bname = "onnxruntime" }
        if (pv["openvino_f32", r] > best32) best32 = pv["openvino_f32", r]
        if (pv["onnxruntime", r] > best32) best32 = pv["onnxruntime", r]
        pk = (ckalgo[r] == "bf16") ? peak["bf16"] : peak["fp32"]
        printf("%-10s %-18s %7.0f %6s %-28s %-22s %-22s %-12s %-14s %6s %8s %8s %s\n", r,
               sprintf("%.2f (%s)", ck[r], ckalgo[r]), gf[r], pk > 0 ? sprintf("%.0f%%", 100 * gf[r] / pk) : "-",
               (r in tb) ? sprintf("%.2f %s", tb[r], tcfg[r]) : "-",
               r ~ /^ft/ ? "n/a" : cell(pv["openvino_bf16", r], pcfg["openvino_bf16", r]),
               r ~ /^ft/ ? "n/a" : cell(pv["openvino_f32", r], pcfg["openvino_f32", r]),
               r ~ /^ft/ ? "n/a" : cell(pv["onnxruntime", r], ""), best > 0 ? bname : "-",
               best > 0 ? sprintf("%.2fx", ck[r] / best) : "-",
               (best32 > 0 && (r in ck32)) ? sprintf("%.2fx", ck32[r] / best32) : "-", rss[r], all[r]) }
    printf("ck/best: ck at its fastest algorithm / the fastest peer configuration; f32 ratio: ck without bf16 /\n")
    printf("the fastest f32 peer. GFLOP/s: direct-convolution FLOPs (bench-vgg16 --flops), so Winograd can pass\n")
    printf("the fp32 peak; %%peak uses the bf16 peak for the bf16 algorithm.\n")
    if (chk != "") printf("conv base features at 224 (batch 1) and 32 px (batch 16), fast path vs fp32 (max|diff|/max|fp32|):\n%s", chk)
}' "$raw"
