#!/usr/bin/env bash
# Build the numeric core with the CUDA backend on a bare GPU machine and run
# the CPU-vs-CUDA comparison (and the other core/cuda tests).
#
#   tests/cuda/run-on-gpu.sh [build-folder]      (default: build-gpu)
#
# Needs only gcc, cmake >= 3.18, OpenBLAS (libopenblas-dev or a
# find_library-able libopenblas), OpenMP, and CUDA with cuBLAS and cuDNN 9
# (NCCL optional). -DCK_WITH_IO=OFF leaves out libvips/libcsv/libhdf5, and
# only the C tests that need nothing else are built (core, nn, cuda areas).
# Exit status: 0 all passed, 77 no usable GPU, 1 a failure.
# The benchmark (bench/vgg16 --device cuda) needs the full build.
# Not a ctest test itself (the name does not start with test-).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build-gpu}

for tool in cmake gcc; do
    command -v "$tool" >/dev/null || { echo "run-on-gpu: $tool not found" >&2; exit 1; }
done
NVCC=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[ -x "$NVCC" ] || { echo "run-on-gpu: nvcc not found (set CUDACXX)" >&2; exit 1; }
command -v nvidia-smi >/dev/null && nvidia-smi -L || echo "run-on-gpu: nvidia-smi not found" >&2

# Compute capability of GPU 0 for SASS (e.g. 90 on H100); default 80;90.
ARCH=""
if command -v nvidia-smi >/dev/null; then
    ARCH=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
fi
ARCH=${ARCH:-"80;90"}

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCK_WITH_IO=OFF -DCK_CUDA=ON \
    -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DCK_WERROR=ON
# Explicit targets: with CK_WITH_IO=OFF tests/CMakeLists.txt only defines
# the core, nn and cuda areas, but some nn tests read HDF5 weights.
TARGETS=(test-backend-ops test-cuda-nodevice test-dp-cpu)
for t in tests/core/test-*.c; do
    [ -e "$t" ] && TARGETS+=("$(basename "$t" .c)")
done
cmake --build "$BUILD" -j "$(nproc)" --target "${TARGETS[@]}"

export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-4}
echo "== test-backend-ops"
rc=0
"$BUILD/tests/test-backend-ops" || rc=$?
if [ "$rc" = 77 ]; then
    echo "run-on-gpu: test-backend-ops skipped: no usable GPU" >&2
    exit 77
fi
echo "== the other core and cuda tests"
(cd "$BUILD" && ctest --output-on-failure -R '^(core|cuda)/' -E 'test-backend-ops') || rc=1
exit "$rc"
