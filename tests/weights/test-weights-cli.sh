#!/bin/bash
# ck-weights: usage errors, random → info → verify → convert, bad files.
set -u
fails=0
check() { # check DESCRIPTION COMMAND...: the command must succeed
    local what=$1; shift
    if ! "$@"; then echo "FAIL: $what" >&2; fails=$((fails + 1)); fi
}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

ck-weights --help >help.txt; check "--help exits 0" test $? -eq 0
check "--help has EXIT STATUS" grep -q "Exit status" help.txt
check "--help lists the commands" grep -q "convert IN OUT.safetensors" help.txt
for args in "" "bogus" "random" "random -o x.h5" "random --seed x -o x.h5" "random --seed -1 -o x.h5" \
            "info" "info a b" "verify" "convert a" "info --seed 1 a" "--nope" \
            "random --arch vgg11 --seed 1 -o x.h5" "random --layout caffe --seed 1 -o x.h5" \
            "random --arch resnet50 --top --seed 1 -o x.h5" "info --arch vgg19 a" "info --layout keras a" \
            "verify --arch vgg11 a"; do
    ck-weights $args >out.txt 2>err.txt
    st=$?
    check "'ck-weights $args' exits 2 (got $st)" test $st -eq 2
    check "'ck-weights $args' says Try" grep -q "Try 'ck-weights --help'" err.txt
done

ck-weights random --seed 3 -o r.h5 2>err.txt; check "random exits 0" test $? -eq 0
check "random warns" grep -q "RANDOM" err.txt
ck-weights info r.h5 >info.txt 2>err.txt; check "info exits 0" test $? -eq 0
check "info: origin" grep -q "^origin: RANDOM (seed 3)" info.txt
check "info: format" grep -q "^format: hdf5" info.txt
check "info: tensors" grep -q "^tensors: 26" info.txt
check "info: shape" grep -qE "block5_conv3/kernel +\[3,3,512,512\]" info.txt
check "info: parameters" grep -q "^parameters: 14714688" info.txt
check "info: preprocessing" grep -q "^preprocessing: caffe" info.txt
check "info: loud warning" grep -q "WARNING: r.h5 holds RANDOM weights" err.txt
sha=$(sha256sum r.h5 | cut -d' ' -f1)
check "info: sha256" grep -q "^sha256: $sha" info.txt

ck-weights verify r.h5 >out.txt 2>err.txt; st=$?
check "verify of a random file exits 1 (got $st)" test $st -eq 1
check "verify says why" grep -q "NOT an official file: its size, sha256 and md5 match none" err.txt
ck-weights verify --arch vgg16 r.h5 >out.txt 2>err.txt; st=$?
check "verify --arch vgg16 of a random file exits 1 (got $st)" test $st -eq 1
check "verify --arch says why" grep -q "NOT the official file: size differs" err.txt

ck-weights convert r.h5 r.safetensors 2>err.txt; check "convert exits 0" test $? -eq 0
ck-weights info r.safetensors >info2.txt 2>/dev/null; check "info safetensors exits 0" test $? -eq 0
check "converted: format" grep -q "^format: safetensors" info2.txt
check "converted: still random" grep -q "^origin: RANDOM (seed 3)" info2.txt
check "converted: same tensors" diff <(grep -E '^  ' info.txt) <(grep -E '^  ' info2.txt)

# Every architecture and layout: written, recognised by info, converted
# with arch and layout kept.
for arch in vgg16 vgg19 resnet50; do
    for layout in keras torchvision; do
        f=$arch-$layout.w
        ck-weights random --arch $arch --layout $layout --seed 4 -o $f 2>err.txt
        check "random $arch $layout exits 0" test $? -eq 0
        check "random $arch $layout says what" grep -q "RANDOM $arch weights, $layout layout (seed 4)" err.txt
        ck-weights info $f >info.txt 2>err.txt; check "info $arch $layout exits 0" test $? -eq 0
        check "info $arch $layout: arch" grep -q "^arch: $arch\$" info.txt
        check "info $arch $layout: layout" grep -q "^layout: $layout\$" info.txt
        check "info $arch $layout: md5" grep -q "^md5: $(md5sum $f | cut -d' ' -f1)\$" info.txt
        check "info $arch $layout: warns $arch" grep -q "NOT the ImageNet-pretrained $arch" err.txt
        ck-weights convert $f c.safetensors 2>/dev/null; check "convert $arch $layout exits 0" test $? -eq 0
        ck-weights info c.safetensors >info2.txt 2>/dev/null
        check "converted $arch $layout: same arch and layout" \
            diff <(grep -E '^(arch|layout|preprocessing|origin|tensors|parameters):' info.txt) \
                 <(grep -E '^(arch|layout|preprocessing|origin|tensors|parameters):' info2.txt)
        rm -f $f c.safetensors
    done
done
ck-weights random --arch resnet50 --seed 2 -o r50.h5 2>/dev/null
ck-weights info r50.h5 >info.txt 2>/dev/null
check "resnet50 keras: 318 tensors" grep -q "^tensors: 318" info.txt
check "resnet50 keras: parameters" grep -q "^parameters: 23587712" info.txt
check "resnet50 keras: BN" grep -qE "conv5_block3_3_bn/moving_variance +\[2048\]" info.txt
check "resnet50 keras: caffe" grep -q "^preprocessing: caffe" info.txt
ck-weights verify --arch resnet50 r50.h5 >out.txt 2>err.txt; st=$?
check "verify --arch resnet50 of a random file exits 1 (got $st)" test $st -eq 1
check "verify --arch resnet50 says md5" grep -q "NOT the official file: md5 differs" err.txt
rm -f r50.h5

head -c 1000 r.h5 >cut.h5
for f in cut.h5 missing.h5 /dev/null; do
    ck-weights info "$f" >out.txt 2>err.txt; st=$?
    check "info $f exits 1 (got $st)" test $st -eq 1
    check "info $f names the file" grep -qF "$f" err.txt
done
ck-weights convert r.h5 no-such-dir/x.safetensors 2>err.txt; st=$?
check "convert into a missing folder: usage error before any work" test $st -eq 2
check "the error names the folder" grep -q no-such-dir err.txt
check "no temporary left behind" test -z "$(ls | grep tmp)"

# A file on which libhdf5 1.10 itself crashes (found by fuzz-h5): an error
# naming the file, never a crash.
ck-weights info "$src/fuzz/libhdf5-crashes/segv-attr-decode-memcpy.h5" >out.txt 2>err.txt
st=$?
check "libhdf5-crashing file exits 1 (got $st)" test $st -eq 1
check "libhdf5-crashing file: error names it" grep -q "segv-attr-decode-memcpy.h5: corrupt HDF5" err.txt

[ $fails -eq 0 ] && echo "test-weights-cli: all passed" >&2
exit $((fails > 0))
