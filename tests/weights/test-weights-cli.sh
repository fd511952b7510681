#!/bin/bash
# ck-weights: usage errors, random → info → verify → convert, bad files.
. "$CK_TESTDATA/lib.sh" ck-weights

ck-weights --help >help.txt; ok "--help exits 0" test $? -eq 0
ok "--help has EXIT STATUS" grep -q "Exit status" help.txt
ok "--help lists the commands" grep -q "convert IN OUT.safetensors" help.txt
for args in "" "bogus" "random" "random -o x.h5" "random --seed x -o x.h5" "random --seed -1 -o x.h5" \
            "info" "info a b" "verify" "convert a" "info --seed 1 a" "--nope" \
            "random --arch vgg11 --seed 1 -o x.h5" "random --layout caffe --seed 1 -o x.h5" \
            "random --arch resnet50 --top --seed 1 -o x.h5" "info --arch vgg19 a" "info --layout keras a" \
            "verify --arch vgg11 a"; do
    ck-weights $args >out.txt 2>err.txt
    st=$?
    ok "'ck-weights $args' exits 2 (got $st)" test $st -eq 2
    ok "'ck-weights $args' says Try" grep -q "Try 'ck-weights --help'" err.txt
done

ck-weights random --seed 3 -o r.h5 2>err.txt; ok "random exits 0" test $? -eq 0
ok "random warns" grep -q "RANDOM" err.txt
ck-weights info r.h5 >info.txt 2>err.txt; ok "info exits 0" test $? -eq 0
ok "info: origin" grep -q "^origin: RANDOM (seed 3)" info.txt
ok "info: format" grep -q "^format: hdf5" info.txt
ok "info: tensors" grep -q "^tensors: 26" info.txt
ok "info: shape" grep -qE "block5_conv3/kernel +\[3,3,512,512\]" info.txt
ok "info: parameters" grep -q "^parameters: 14714688" info.txt
ok "info: preprocessing" grep -q "^preprocessing: caffe" info.txt
ok "info: loud warning" grep -q "WARNING: r.h5 holds RANDOM weights" err.txt
sha=$(sha256sum r.h5 | cut -d' ' -f1)
ok "info: sha256" grep -q "^sha256: $sha" info.txt

ck-weights verify r.h5 >out.txt 2>err.txt; st=$?
ok "verify of a random file exits 1 (got $st)" test $st -eq 1
ok "verify says why" grep -q "NOT an official file: its size, sha256 and md5 match none" err.txt
ck-weights verify --arch vgg16 r.h5 >out.txt 2>err.txt; st=$?
ok "verify --arch vgg16 of a random file exits 1 (got $st)" test $st -eq 1
ok "verify --arch says why" grep -q "NOT the official file: size differs" err.txt

ck-weights convert r.h5 r.safetensors 2>err.txt; ok "convert exits 0" test $? -eq 0
ck-weights info r.safetensors >info2.txt 2>/dev/null; ok "info safetensors exits 0" test $? -eq 0
ok "converted: format" grep -q "^format: safetensors" info2.txt
ok "converted: still random" grep -q "^origin: RANDOM (seed 3)" info2.txt
ok "converted: same tensors" diff <(grep -E '^  ' info.txt) <(grep -E '^  ' info2.txt)

# Every architecture and layout: written, recognised by info, converted
# with arch and layout kept.
for arch in vgg16 vgg19 resnet50; do
    for layout in keras torchvision; do
        f=$arch-$layout.w
        ck-weights random --arch $arch --layout $layout --seed 4 -o $f 2>err.txt
        ok "random $arch $layout exits 0" test $? -eq 0
        ok "random $arch $layout says what" grep -q "RANDOM $arch weights, $layout layout (seed 4)" err.txt
        ck-weights info $f >info.txt 2>err.txt; ok "info $arch $layout exits 0" test $? -eq 0
        ok "info $arch $layout: arch" grep -q "^arch: $arch\$" info.txt
        ok "info $arch $layout: layout" grep -q "^layout: $layout\$" info.txt
        ok "info $arch $layout: md5" grep -q "^md5: $(md5sum $f | cut -d' ' -f1)\$" info.txt
        ok "info $arch $layout: warns $arch" grep -q "NOT the ImageNet-pretrained $arch" err.txt
        ck-weights convert $f c.safetensors 2>/dev/null; ok "convert $arch $layout exits 0" test $? -eq 0
        ck-weights info c.safetensors >info2.txt 2>/dev/null
        ok "converted $arch $layout: same arch and layout" \
            diff <(grep -E '^(arch|layout|preprocessing|origin|tensors|parameters):' info.txt) \
                 <(grep -E '^(arch|layout|preprocessing|origin|tensors|parameters):' info2.txt)
        rm -f $f c.safetensors
    done
done
ck-weights random --arch resnet50 --seed 2 -o r50.h5 2>/dev/null
ck-weights info r50.h5 >info.txt 2>/dev/null
ok "resnet50 keras: 318 tensors" grep -q "^tensors: 318" info.txt
ok "resnet50 keras: parameters" grep -q "^parameters: 23587712" info.txt
ok "resnet50 keras: BN" grep -qE "conv5_block3_3_bn/moving_variance +\[2048\]" info.txt
ok "resnet50 keras: caffe" grep -q "^preprocessing: caffe" info.txt
ck-weights verify --arch resnet50 r50.h5 >out.txt 2>err.txt; st=$?
ok "verify --arch resnet50 of a random file exits 1 (got $st)" test $st -eq 1
ok "verify --arch resnet50 says md5" grep -q "NOT the official file: md5 differs" err.txt
rm -f r50.h5

head -c 1000 r.h5 >cut.h5
for f in cut.h5 missing.h5 /dev/null; do
    ck-weights info "$f" >out.txt 2>err.txt; st=$?
    ok "info $f exits 1 (got $st)" test $st -eq 1
    ok "info $f names the file" grep -qF "$f" err.txt
done
ck-weights convert r.h5 no-such-dir/x.safetensors 2>err.txt; st=$?
ok "convert into a missing folder: usage error before any work" test $st -eq 2
ok "the error names the folder" grep -q no-such-dir err.txt
ok "no temporary left behind" test -z "$(ls | grep tmp)"

# A file on which libhdf5 1.10 itself crashes (found by fuzz-h5): an error
# naming the file, never a crash.
ck-weights info "$CK_TESTDATA/fuzz/libhdf5-crashes/segv-attr-decode-memcpy.h5" >out.txt 2>err.txt
st=$?
ok "libhdf5-crashing file exits 1 (got $st)" test $st -eq 1
ok "libhdf5-crashing file: error names it" grep -q "segv-attr-decode-memcpy.h5: corrupt HDF5" err.txt

[ "$fails" -eq 0 ] && echo "test-weights-cli: all passed" >&2
exit $((fails > 0))
