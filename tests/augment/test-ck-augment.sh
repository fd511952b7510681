#!/bin/bash
# ck-augment end to end: usage errors, determinism across -j, bad inputs,
# manifests in and out, the stdin/stdout filter, --dry-run.
set -u
fail=0
check() { # check "what" command...
    if ! "${@:2}"; then echo "FAIL: $1" >&2; fail=1; fi
}
T=$(mktemp -d "${TMPDIR:-/tmp}/ck-augment-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

# Input images: text PPMs drawn by awk, converted to PNG by the tool itself
# (identity spec, -o - filter mode).
ppm() { # ppm NAME W H SEED
    awk -v w="$2" -v h="$3" -v s="$4" 'BEGIN {
        printf "P3\n%d %d\n255\n", w, h
        for (y = 0; y < h; y++) for (x = 0; x < w; x++)
            printf "%d %d %d\n", (x*9+s*31)%256, (y*7+s*17)%256, (x*y+s*5)%256 }' > "$1"
}
mkdir -p in ppm
for i in 0 1 2 3 4 5; do ppm ppm/train_0000$i.ppm 24 20 $i; done
ck-augment -q -o - ppm/train_00000.ppm > in/train_00000.png || { echo "FAIL: cannot make inputs" >&2; exit 1; }
ck-augment -q --format png -o conv ppm/*.ppm > /dev/null || { echo "FAIL: cannot make inputs" >&2; exit 1; }
for i in 1 2 3 4 5; do mv conv/train_0000${i}_aug00.png in/train_0000$i.png; done
check "filter == batch" cmp in/train_00000.png conv/train_00000_aug00.png
check "filter output is a PNG" test "$(head -c 4 in/train_00000.png | od -An -c | tr -d ' ')" = "211PNG"

# --help, usage errors
check "--help exits 0 on stdout" bash -c 'ck-augment --help | grep -q "^Usage: ck-augment"'
ck-augment --bogus 2> err; rc=$?
check "unknown option exits 2" test $rc = 2
check "usage hint" grep -q "Try 'ck-augment --help'" err
ck-augment --aug 'rotate=15,flp=h' -o out in/train_00000.png 2> err; rc=$?
check "bad spec exits 2" test $rc = 2
check "bad spec names the token" grep -q "flp=h" err
ck-augment -o out 2> err; rc=$?
check "no input exits 2" test $rc = 2
ck-augment -n 0 -o out in/train_00000.png 2> err; rc=$?
check "bad -n exits 2" test $rc = 2

# Same seed -> same bytes at -j1 and -j2; another seed differs.
SPEC=crop=0.7:1,rotate=15,flip=h,shift=0.1,erase=0.5,erase-fill=noise
check "-j1 run" ck-augment -q --aug $SPEC -n 3 --seed 5 -j1 -o j1 in/*.png > j1.txt
check "-j2 run" ck-augment -q --aug $SPEC -n 3 --seed 5 -j2 -o j2 in/*.png > j2.txt
check "18 outputs" test "$(ls j1 | wc -l)" = 18
check "-j1 == -j2 bytes" diff -r j1 j2
check "-j1 == -j2 manifest" cmp j1.txt j2.txt
check "names" test -f j1/train_00003_aug02.png
check "-j2 other seed" ck-augment -q --aug $SPEC -n 3 --seed 6 -j2 -o s6 in/*.png > /dev/null
check "other seed differs" bash -c '! cmp -s j1/train_00000_aug00.png s6/train_00000_aug00.png'
# Seed is announced on stderr unless -q.
ck-augment --rotate 5 -o s7 in/train_00000.png > /dev/null 2> err
check "seed printed" grep -q "seed 1," err

# Bad inputs: reported by name, skipped, exit 1; good files still written.
: > in/empty.png
head -c 60 in/train_00001.png > in/trunc.png
echo "not an image" > in/text.png
ck-augment -q --rotate 10 -o bad -j2 in/train_00000.png in/empty.png in/trunc.png \
    in/text.png in/missing.png in/train_00002.png > bad.txt 2> err; rc=$?
check "bad inputs exit 1" test $rc = 1
for f in empty.png trunc.png text.png missing.png; do
    check "error names $f" grep -q "in/$f" err
done
check "0-byte message" grep -q "0-byte" err
check "good files written" test -f bad/train_00000_aug00.png -a -f bad/train_00002_aug00.png
check "bad files not written" test ! -e bad/empty_aug00.png -a ! -e bad/trunc_aug00.png
check "manifest lists good files only" test "$(cat bad.txt)" = "$(printf 'train_00000_aug00.png\ntrain_00002_aug00.png')"
check "no temporaries left" bash -c '! ls bad | grep -q tmp'
rm in/empty.png in/trunc.png in/text.png

# The list of outputs is a one-column table: a name with a comma is quoted
# so that it reads back as one file.
mkdir -p odd && cp in/train_00000.png "odd/a,b.png"
check "odd name run" bash -c 'ck-augment -q -o oddout "odd/a,b.png" > odd.txt'
check "odd name quoted" test "$(cat odd.txt)" = '"a,b_aug00.png"'
check "odd name reads back" ck-augment -q -m odd.txt --images oddout -o odd2 > /dev/null
check "odd name written" test -f "odd2/a,b_aug00_aug00.png"

# Manifest in -> manifest out: TSV with header keeps its header and labels.
printf 'file_name\tlabel_id\ntrain_00000.png\t3\ntrain_00001.png\t7\n' > m.tsv
check "tsv run" ck-augment -q -m m.tsv --images in -n 2 --include-original --flip h -o tsv > out.tsv
check "tsv header kept" test "$(head -1 out.tsv)" = "$(printf 'file_name\tlabel_id')"
check "tsv rows" test "$(tail -n +2 out.tsv | tr '\t' ' ' | tr '\n' ';')" = \
    "train_00000.png 3;train_00000_aug00.png 3;train_00000_aug01.png 3;train_00001.png 7;train_00001_aug00.png 7;train_00001_aug01.png 7;"
check "original written" test -f tsv/train_00000.png
# CSV without header stays CSV without header; --by-class makes folders;
# the manifest may come from stdin.
printf 'train_00002.png,cat\ntrain_00003.png,dog\n' > m.csv
check "csv run" bash -c 'ck-augment -q -m - --images in --by-class --rotate 3 -o cls < m.csv > out.csv'
check "csv rows" test "$(cat out.csv | tr '\n' ';')" = "cat/train_00002_aug00.png,cat;dog/train_00003_aug00.png,dog;"
check "class folders" test -f cls/cat/train_00002_aug00.png -a -f cls/dog/train_00003_aug00.png

# Output size and format.
check "size + jpg" ck-augment -q --size 40x30 --format jpg --quality 80 --aug crop=0.5:1 -o big in/train_00004.png > /dev/null
check "jpeg magic" test "$(head -c 3 big/train_00004_aug00.jpg | od -An -tx1 | tr -d ' ')" = "ffd8ff"
check "dry-run size" bash -c "ck-augment -q --size 40x30 --dry-run in/train_00004.png | grep -q '\"out\":\[40,30\]'"
# PNG IHDR: width and height at bytes 16..23.
check "png size" ck-augment -q --size 50x10 -o sz in/train_00005.png > /dev/null
check "png is 50x10" test "$(head -c 24 sz/train_00005_aug00.png | tail -c 8 | od -An -tx1 | tr -d ' ')" = "000000320000000a"

# Filter: stdin -> stdout, format by --format.
check "filter stdin" bash -c 'ck-augment -q --rotate 20 --format webp -o - - < in/train_00000.png > f.webp'
check "webp magic" test "$(head -c 4 f.webp)" = "RIFF"
check "filter rejects -n" bash -c 'ck-augment -o - -n 2 - < in/train_00000.png > /dev/null 2>&1; test $? = 2'

# --dry-run: one JSON line per copy, nothing written.
check "dry-run" bash -c "ck-augment -q --aug $SPEC -n 4 --dry-run -o dry in/train_0000[01].png > dry.txt"
check "dry-run lines" test "$(grep -c '^{\"file\":' dry.txt)" = 8
check "dry-run writes nothing" test ! -e dry/train_00000_aug00.png

exit $fail
