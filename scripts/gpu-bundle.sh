#!/usr/bin/env bash
# Pack a built tree's programs with the shared libraries they need into one
# relocatable tarball, for a GPU machine that has the NVIDIA driver and CUDA
# libraries but none of ck's Debian packages (libvips, OpenBLAS, HDF5, ...).
#
#   scripts/gpu-bundle.sh [BUILD] [OUT.tar.xz]   (default: build, ck-bundle.tar.xz)
#
# The tarball holds bin/ (the tools, bench-vgg16 and the cuda/nn tests) and
# lib/. Left out, because the GPU machine must provide its own: glibc and
# the C++ runtime (the machine's are newer, and binaries built on an older
# glibc run there), the driver (libcuda), and cuBLAS, cuDNN and NCCL (large,
# and tied to the driver and toolkit there). libcudart is small and goes in.
# Unpack it and run with scripts/gpu-check.sh, which finds the machine's
# cuDNN, cuBLAS and NCCL (also inside PyTorch's wheels).
set -euo pipefail
build=${1:-build}
out=${2:-ck-bundle.tar.xz}
[ -d "$build/tools" ] || { echo "gpu-bundle: $build/tools not found (build first)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/lib"
progs=("$build"/tools/ck-* "$build"/bench/bench-vgg16)
for t in test-backend-ops test-cuda-nodevice test-dp-cpu; do
    [ -x "$build/tests/$t" ] && progs+=("$build/tests/$t")
done
for p in "${progs[@]}"; do
    [ -f "$p" ] && [ -x "$p" ] && cp "$p" "$tmp/bin/"
done
skip='^(linux-vdso|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|ld-linux|libresolv|libstdc\+\+|libgcc_s|libcuda\.so|libcublas|libcudnn|libnccl)'
for p in "$tmp"/bin/*; do
    ldd "$p" | awk '$3 ~ /^\// { print $1, $3 }'
done | sort -u | while read -r name path; do
    if [[ $name =~ $skip ]]; then continue; fi
    cp -L "$path" "$tmp/lib/$name"
done
tar -C "$tmp" -cf - bin lib | xz -T0 -6 > "$out.tmp"
mv "$out.tmp" "$out"
echo "gpu-bundle: $out ($(du -h "$out" | cut -f1); $(ls "$tmp/bin" | wc -l) programs, $(ls "$tmp/lib" | wc -l) libraries)" >&2
