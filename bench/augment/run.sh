#!/bin/bash
# ck-augment vs torchvision+PIL on the same pipeline:
#   crop+resize (area 0.8-1), rotate ±15, horizontal flip, shift ±10%,
#   random erasing p=0.5; one output per input.
# (a) 32×32 PNGs (CIFAR) -> PNG, (b) generated 256×256 JPEGs -> 224 JPEG q90,
# each on 1 and 2 threads (peer: 1 and 2 processes), median of REPEAT runs.
# Two wall-clock ratios: whole commands timed (process start-up included:
# for the peer, Python and import torch/torchvision in each worker), and
# "no start-up" for both: the peer's processing loop alone (its
# loop_seconds: first image to last image) against ck's command less the
# same command on one image (ck's start-up).
#
#   bench/augment/run.sh [BUILD_DIR]
# Environment: DATA (folder of 32×32 PNGs, default the shared CIFAR-20
# train folder), N32 (2000), N256 (300), REPEAT (3), PYTHON (/usr/bin/python3),
# WORK (scratch folder, default a temporary one).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../../build}
CK=$BUILD/tools/ck-augment
DATA=${DATA:-/work/shared/data/cifar20/train}
N32=${N32:-2000}
N256=${N256:-300}
REPEAT=${REPEAT:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
# AVX-512 OpenBLAS kernels only where the CPU has AVX-512.
if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}; fi
[ -x "$CK" ] || { echo "run.sh: $CK not built" >&2; exit 1; }
[ -d "$DATA" ] || { echo "run.sh: no data folder $DATA (set DATA)" >&2; exit 1; }
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ck-bench-augment.XXXXXX")}
trap 'rm -rf "$WORK"' EXIT

ls "$DATA" | grep '\.png$' | sort | head -n "$N32" > "$WORK/list32.txt"
echo "making $N256 256×256 JPEGs..." >&2
"$PYTHON" "$HERE/peer_torchvision.py" --make-jpegs "$WORK/jpeg" --from "$DATA" --count "$N256"
ls "$WORK/jpeg" | sort > "$WORK/list256.txt"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# timed FILE CMD...: append "wall cpu" (cpu = user + sys of the command and
# its children): on a shared machine the CPU figure is the steadier one.
timed() {
    local out=$1; shift
    /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@"
    awk '{printf "%s %s\n", $1, $2 + $3}' "$WORK/time.txt" >> "$out"
}

# run_case NAME LIST IMAGES N CK_ARGS PEER_ARGS
run_case() {
    local name=$1 list=$2 images=$3 n=$4 ckargs=$5 peerargs=$6
    for t in 1 2; do
        : > "$WORK/ck.t"; : > "$WORK/ck1.t"; : > "$WORK/peer.t"; : > "$WORK/peer.loop"
        head -n 1 "$list" > "$WORK/one.txt"
        for r in $(seq "$REPEAT"); do
            for l in "$list" "$WORK/one.txt"; do
                rm -rf "$WORK/out"
                timed "$WORK/$([ "$l" = "$list" ] && echo ck || echo ck1).t" "$CK" -q -j "$t" -m "$l" \
                    --images "$images" -o "$WORK/out" --aug crop=0.8:1,rotate=15,flip=h,shift=0.1,erase=0.5 \
                    $ckargs > /dev/null
            done
            rm -rf "$WORK/out"
            timed "$WORK/peer.t" "$PYTHON" "$HERE/peer_torchvision.py" --list "$list" \
                --images "$images" --out "$WORK/out" --procs "$t" $peerargs > "$WORK/peer.out"
            awk -F'\t' '$1 == "loop_seconds" {print $2}' "$WORK/peer.out" >> "$WORK/peer.loop"
        done
        local ckw=$(cut -d' ' -f1 "$WORK/ck.t" | median) ckc=$(cut -d' ' -f2 "$WORK/ck.t" | median)
        local pw=$(cut -d' ' -f1 "$WORK/peer.t" | median) pc=$(cut -d' ' -f2 "$WORK/peer.t" | median)
        local pl=$(median < "$WORK/peer.loop") ck1=$(cut -d' ' -f1 "$WORK/ck1.t" | median)
        [ -n "$pl" ] || { echo "run.sh: the peer printed no loop_seconds" >&2; exit 1; }
        awk -v name="$name" -v t="$t" -v n="$n" -v ckw="$ckw" -v ckc="$ckc" -v pw="$pw" -v pc="$pc" -v pl="$pl" \
            -v ckl="$(awk -v a="$ckw" -v b="$ck1" 'BEGIN {print (a - b > 0.001) ? a - b : 0.001}')" 'BEGIN {
            printf "%-28s %d thr | wall img/s: ck %7.0f  peer %7.0f  ratio %5.2f | no start-up: ck %7.0f  peer %7.0f  ratio %5.2f | img per CPU-s: ck %7.0f  peer %7.0f  ratio %5.2f\n",
                name, t, n/ckw, n/pw, pw/ckw, n/ckl, n/pl, pl/ckl, n/ckc, n/pc, pc/ckc }'
    done
}

echo "ck-augment: $CK; $(nproc) CPUs; median of $REPEAT runs (load: $(cut -d' ' -f1-3 /proc/loadavg))"
run_case "32x32 PNG -> PNG ($N32)" "$WORK/list32.txt" "$DATA" "$N32" "" "--size 32"
run_case "256 JPEG -> 224 JPEG ($N256)" "$WORK/list256.txt" "$WORK/jpeg" "$N256" \
    "--size 224x224 --format jpg --quality 90" "--size 224 --format jpg --quality 90"
