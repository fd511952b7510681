#!/bin/sh
# fetch.sh — get an official Keras notop weights file, verified: VGG16 (the
# default; size and sha256), VGG19 or ResNet50 (--arch; md5, the one digest
# Keras publishes for them).
#
# Order: an existing verified OUT is kept; else a verified copy in the Keras
# cache (~/.keras/models, or $KERAS_HOME/models) is copied; else the file is
# downloaded with curl (or wget) to a temporary file beside OUT, checked
# and renamed into place. Nothing half-written is left.
#
# Exit status:
#   0  OUT holds the verified official file
#   1  error: the download does not match the official size/digest, OUT
#      cannot be written, ck-weights not found for --fallback-random
#   2  usage error
#   3  offline: the download failed (no network, proxy, server error).
#      With --fallback-random a seeded random file has been written as well
#      (its path printed on stdout); it is NOT pretrained.
#
# Test hooks (for the test suite only, never needed otherwise):
#   CK_VGG16_NOTOP_URL, CK_VGG16_NOTOP_SIZE, CK_VGG16_NOTOP_SHA256,
#   CK_VGG19_NOTOP_URL, CK_VGG19_NOTOP_MD5, CK_RESNET50_NOTOP_URL,
#   CK_RESNET50_NOTOP_MD5 override the source and the expected identity;
#   CK_WEIGHTS names the ck-weights binary used for --fallback-random.
set -u

KERAS_APPS=https://storage.googleapis.com/tensorflow/keras-applications
prog=fetch.sh
here=$(cd "$(dirname "$0")" && pwd)
arch=vgg16
out=
fallback=0
seed=1

# The official file of an architecture: NAME, URL, and SIZE/SHA256/MD5
# (empty when Keras does not publish it).
set_arch() {
    SIZE= SHA256= MD5=
    case $1 in
    vgg16)
        NAME=vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
        URL=${CK_VGG16_NOTOP_URL:-$KERAS_APPS/vgg16/$NAME}
        SIZE=${CK_VGG16_NOTOP_SIZE:-58889256}
        SHA256=${CK_VGG16_NOTOP_SHA256:-bfe5187d0a272bed55ba430631598124cff8e880b98d38c9e56c8d66032abdc1} ;;
    vgg19)
        NAME=vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5
        URL=${CK_VGG19_NOTOP_URL:-$KERAS_APPS/vgg19/$NAME}
        MD5=${CK_VGG19_NOTOP_MD5:-253f8cb515780f3b799900260a226db6} ;;
    resnet50)
        NAME=resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5
        URL=${CK_RESNET50_NOTOP_URL:-$KERAS_APPS/resnet/$NAME}
        MD5=${CK_RESNET50_NOTOP_MD5:-4d473c1dd8becc155b73f8504c6f6626} ;;
    *) return 1 ;;
    esac
}
set_arch vgg16

usage() {
    cat <<EOF
Usage: $prog [--arch A] [-o OUT] [--fallback-random] [--seed S]
Download an official Keras notop weights file and verify it: VGG16
($NAME, size $SIZE bytes,
sha256 $SHA256), VGG19 or ResNet50 (by md5).

      --arch=A         vgg16 (default), vgg19 or resnet50
  -o, --output=OUT     where to put the file (default: $here/A_notop.h5)
      --fallback-random  when offline, also write seeded random weights
                       A_random_seedS.h5 beside OUT (via ck-weights random)
      --seed=S         seed for --fallback-random (default 1)
  -h, --help           display this help and exit

A verified OUT is reused; a verified copy in ~/.keras/models is copied.

Exit status:
  0  OUT holds the verified official file
  1  error (download does not verify, cannot write, ck-weights not found)
  2  usage error
  3  offline: download failed (with --fallback-random the random file was
     written too; it is NOT pretrained and gives low scores)
EOF
}

usage_error() {
    echo "$prog: $1" >&2
    echo "Try '$prog --help' for more information." >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --arch) [ $# -ge 2 ] || usage_error "option '$1' requires an argument"; arch=$2; shift ;;
    --arch=*) arch=${1#*=} ;;
    -o | --output) [ $# -ge 2 ] || usage_error "option '$1' requires an argument"; out=$2; shift ;;
    --output=*) out=${1#*=} ;;
    --fallback-random) fallback=1 ;;
    --seed) [ $# -ge 2 ] || usage_error "option '$1' requires an argument"; seed=$2; shift ;;
    --seed=*) seed=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unrecognized argument '$1'" ;;
    esac
    shift
done
case $seed in '' | *[!0-9]*) usage_error "invalid seed '$seed'" ;; esac
set_arch "$arch" || usage_error "invalid --arch '$arch' (vgg16, vgg19 or resnet50)"
[ -n "$out" ] || out=$here/${arch}_notop.h5

# verify FILE: 0 when size, sha256 and md5 match (each when published);
# the reason on stderr otherwise.
verify() {
    [ -f "$1" ] || return 1
    if [ -n "$SIZE" ]; then
        got_size=$(wc -c <"$1" | tr -d ' ')
        if [ "$got_size" != "$SIZE" ]; then
            echo "$prog: $1: size $got_size bytes, expected $SIZE" >&2
            return 1
        fi
    fi
    if [ -n "$SHA256" ]; then
        got_sha=$(sha256sum "$1" | cut -d' ' -f1)
        if [ "$got_sha" != "$SHA256" ]; then
            echo "$prog: $1: sha256 $got_sha, expected $SHA256" >&2
            return 1
        fi
    fi
    if [ -n "$MD5" ]; then
        got_md5=$(md5sum "$1" | cut -d' ' -f1)
        if [ "$got_md5" != "$MD5" ]; then
            echo "$prog: $1: md5 $got_md5, expected $MD5" >&2
            return 1
        fi
    fi
    return 0
}

tmp=
cleanup() { [ -n "$tmp" ] && rm -f "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

outdir=$(dirname "$out")
mkdir -p "$outdir" || { echo "$prog: cannot create $outdir" >&2; exit 1; }
new_tmp() {
    tmp=$(mktemp "$out.tmp.XXXXXX") || { echo "$prog: cannot write in $outdir" >&2; exit 1; }
}
install_tmp() {
    chmod 644 "$tmp" && mv -f "$tmp" "$out" || { echo "$prog: cannot write $out" >&2; exit 1; }
    tmp=
    echo "$prog: $out: OK (official $NAME)" >&2
    echo "$out"
    exit 0
}

if [ -e "$out" ]; then
    if verify "$out"; then
        echo "$prog: $out: already present and verified" >&2
        echo "$out"
        exit 0
    fi
    echo "$prog: $out does not verify: fetching it again" >&2
fi

cache=${KERAS_HOME:-${HOME:-/nonexistent}/.keras}/models/$NAME
if [ -f "$cache" ]; then
    if verify "$cache"; then
        new_tmp
        cp "$cache" "$tmp" || { echo "$prog: cannot copy $cache" >&2; exit 1; }
        echo "$prog: copied from the Keras cache $cache" >&2
        install_tmp
    fi
    echo "$prog: ignoring $cache (does not verify)" >&2
fi

new_tmp
echo "$prog: downloading $URL" >&2
if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 2 --connect-timeout 20 -sS -o "$tmp" "$URL"
    st=$?
elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$tmp" "$URL"
    st=$?
else
    echo "$prog: neither curl nor wget is installed" >&2
    st=127
fi

if [ "$st" -eq 0 ]; then
    if verify "$tmp"; then
        install_tmp
    fi
    echo "$prog: the downloaded file is not the official one: not installed" >&2
    exit 1
fi

rm -f "$tmp"
tmp=
cat >&2 <<EOF
$prog: cannot download $URL (offline?).
$prog: Put $NAME in ~/.keras/models/ or at $out
$prog: and run this again, or use --fallback-random to train from random weights.
EOF
if [ "$fallback" -eq 1 ]; then
    ckw=${CK_WEIGHTS:-}
    [ -n "$ckw" ] || ckw=$(command -v ck-weights 2>/dev/null)
    [ -n "$ckw" ] || ckw=$here/../build/tools/ck-weights
    if [ ! -x "$ckw" ]; then
        echo "$prog: ck-weights not found (build ck, put it on PATH or set CK_WEIGHTS)" >&2
        exit 1
    fi
    rnd=$outdir/${arch}_random_seed$seed.h5
    "$ckw" random --arch "$arch" --seed "$seed" -o "$rnd" || exit 1
    cat >&2 <<EOF

  ************************************************************************
  *  WARNING: using RANDOM weights ($rnd).
  *  They are NOT the ImageNet-pretrained $arch: fine-tuning from them
  *  gives much lower scores. Fetch the real file when you are online.
  ************************************************************************

EOF
    echo "$rnd"
fi
exit 3
