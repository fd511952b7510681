#!/bin/bash
# pretrained/fetch.sh: verification, the Keras cache, download (file://),
# mismatch, offline status 3 and --fallback-random. Never uses the network.
. "$CK_TESTDATA/lib.sh" ck-weights
fetch=$CK_SRC/pretrained/fetch.sh
name=vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
mkdir -p home/.keras/models out
export HOME=$T/home
unset KERAS_HOME

# A stand-in for the official file, with the expected identity overridden.
head -c 5000 /dev/urandom >fake.h5
head -c 5000 /dev/urandom >other.h5
export CK_VGG16_NOTOP_SIZE=5000
export CK_VGG16_NOTOP_SHA256=$(sha256sum fake.h5 | cut -d' ' -f1)
export CK_VGG16_NOTOP_URL=http://127.0.0.1:9/$name   # refused at once: "offline"
export CK_WEIGHTS=$CK_BIN/ck-weights
o=out/vgg16_notop.h5

sh "$fetch" --help >help.txt; ok "--help exits 0" test $? -eq 0
ok "--help documents status 3" grep -q "^  3  offline" help.txt
sh "$fetch" --bogus 2>err.txt; st=$?
ok "bad option exits 2 (got $st)" test $st -eq 2
ok "bad option says Try" grep -q "Try 'fetch.sh --help'" err.txt

# Offline, nothing cached.
sh "$fetch" -o $o >stdout.txt 2>err.txt; st=$?
ok "offline exits 3 (got $st)" test $st -eq 3
ok "offline message" grep -q "offline" err.txt
ok "offline: no output" test ! -e $o
ok "offline: no temporary" test -z "$(ls out)"

# Offline with a fallback.
sh "$fetch" -o $o --fallback-random --seed 5 >stdout.txt 2>err.txt; st=$?
ok "fallback exits 3 (got $st)" test $st -eq 3
ok "fallback file" test -f out/vgg16_random_seed5.h5
ok "fallback path on stdout" test "$(cat stdout.txt)" = "out/vgg16_random_seed5.h5"
ok "fallback warning" grep -q "WARNING: using RANDOM weights" err.txt
"$CK_WEIGHTS" info out/vgg16_random_seed5.h5 2>/dev/null | grep -q "^origin: RANDOM (seed 5)"
ok "fallback file is marked random" test $? -eq 0
rm -f out/vgg16_random_seed5.h5

# A cached copy that does not verify is ignored.
cp other.h5 home/.keras/models/$name
sh "$fetch" -o $o 2>err.txt; st=$?
ok "bad cache ignored, offline exits 3 (got $st)" test $st -eq 3
ok "bad cache reported" grep -q "ignoring .*does not verify" err.txt

# A verified cached copy is copied.
cp fake.h5 home/.keras/models/$name
sh "$fetch" -o $o >stdout.txt 2>err.txt; st=$?
ok "cache exits 0 (got $st)" test $st -eq 0
ok "cache copied" cmp -s fake.h5 $o
ok "cache: path on stdout" test "$(cat stdout.txt)" = "$o"
rm home/.keras/models/$name

# An existing verified file is kept.
sh "$fetch" -o $o 2>err.txt; st=$?
ok "existing verified exits 0 (got $st)" test $st -eq 0
ok "existing verified reported" grep -q "already present and verified" err.txt

# The download path needs curl (wget cannot read file:// URLs): without it
# this test fails rather than skipping the download checks.
ok "curl is installed (scripts/install-deps.sh)" command -v curl
if command -v curl >/dev/null 2>&1; then
    # Download (file:// URL): an existing bad file is replaced.
    cp other.h5 $o
    CK_VGG16_NOTOP_URL=file://$T/fake.h5 sh "$fetch" -o $o 2>err.txt; st=$?
    ok "download exits 0 (got $st)" test $st -eq 0
    ok "download installed" cmp -s fake.h5 $o
    # A download that does not verify is not installed.
    rm -f $o
    CK_VGG16_NOTOP_URL=file://$T/other.h5 sh "$fetch" -o $o 2>err.txt; st=$?
    ok "mismatch exits 1 (got $st)" test $st -eq 1
    ok "mismatch reported" grep -q "sha256 .*expected" err.txt
    ok "mismatch: nothing installed" test -z "$(ls out)"
    # Size is checked too.
    head -c 10 fake.h5 >short.h5
    CK_VGG16_NOTOP_URL=file://$T/short.h5 sh "$fetch" -o $o 2>err.txt; st=$?
    ok "short download exits 1 (got $st)" test $st -eq 1
    ok "short download reported" grep -q "size 10 bytes, expected 5000" err.txt
fi

# ResNet50 (VGG19 alike): verified by md5 (Keras publishes no sha256 or
# size), its own names, random fallback of its own architecture.
rname=resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5
export CK_RESNET50_NOTOP_MD5=$(md5sum fake.h5 | cut -d' ' -f1)
export CK_RESNET50_NOTOP_URL=http://127.0.0.1:9/$rname
r=out/resnet50_notop.h5
sh "$fetch" --arch resnet9 -o $r 2>err.txt; st=$?
ok "bad --arch exits 2 (got $st)" test $st -eq 2
sh "$fetch" --arch resnet50 -o $r --fallback-random --seed 2 >stdout.txt 2>err.txt; st=$?
ok "resnet50 offline fallback exits 3 (got $st)" test $st -eq 3
ok "resnet50 fallback path on stdout" test "$(cat stdout.txt)" = "out/resnet50_random_seed2.h5"
"$CK_WEIGHTS" info out/resnet50_random_seed2.h5 2>/dev/null | grep -q "^arch: resnet50"
ok "resnet50 fallback file is a resnet50" test $? -eq 0
rm -f out/resnet50_random_seed2.h5
cp other.h5 home/.keras/models/$rname
sh "$fetch" --arch resnet50 -o $r 2>err.txt; st=$?
ok "resnet50 bad cache: offline exits 3 (got $st)" test $st -eq 3
ok "resnet50 bad cache: md5 reported" grep -q "md5 .*expected $CK_RESNET50_NOTOP_MD5" err.txt
cp fake.h5 home/.keras/models/$rname
sh "$fetch" --arch resnet50 -o $r >stdout.txt 2>err.txt; st=$?
ok "resnet50 cache by md5 exits 0 (got $st)" test $st -eq 0
ok "resnet50 cache copied" cmp -s fake.h5 $r
rm -f home/.keras/models/$rname $r
if command -v curl >/dev/null 2>&1; then
    CK_RESNET50_NOTOP_URL=file://$T/fake.h5 sh "$fetch" --arch resnet50 -o $r 2>err.txt; st=$?
    ok "resnet50 download exits 0 (got $st)" test $st -eq 0
    ok "resnet50 download installed" cmp -s fake.h5 $r
    rm -f $r
    CK_RESNET50_NOTOP_URL=file://$T/other.h5 sh "$fetch" --arch resnet50 -o $r 2>err.txt; st=$?
    ok "resnet50 mismatch exits 1 (got $st)" test $st -eq 1
    ok "resnet50 mismatch: md5 reported" grep -q "md5 .*expected" err.txt
    ok "resnet50 mismatch: nothing installed" test ! -e $r
fi
# The real identities, as published by Keras.
grep -q "MD5=\${CK_RESNET50_NOTOP_MD5:-4d473c1dd8becc155b73f8504c6f6626}" "$fetch"
ok "fetch.sh has ResNet50's md5" test $? -eq 0
grep -q "MD5=\${CK_VGG19_NOTOP_MD5:-253f8cb515780f3b799900260a226db6}" "$fetch"
ok "fetch.sh has VGG19's md5" test $? -eq 0

[ "$fails" -eq 0 ] && echo "test-weights-fetch: all passed" >&2
exit $((fails > 0))
