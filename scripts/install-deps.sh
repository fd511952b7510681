#!/usr/bin/env bash
# Install the Debian packages ck needs to build, if any are missing.
# Usage: scripts/install-deps.sh [--python] [--fuzz]   (--python adds the peers
# used by bench/ and tests/reference/: python3-torch, python3-torchvision,
# python3-h5py; --fuzz adds clang, libFuzzer's runtime and clang's OpenMP
# for the -DCK_FUZZ=ON build, docs/fuzzing.md)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libvips-dev libpng-dev libopenblas-dev libcsv-dev libhdf5-dev libssl-dev curl ca-certificates)
for arg in "$@"; do
  case "$arg" in
    --python) pkgs+=(python3-torch python3-torchvision python3-h5py python3-pil python3-numpy) ;;
    --fuzz) pkgs+=(clang libclang-rt-dev libomp-dev) ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
