#!/bin/bash
# ck-augment end to end: usage errors, determinism across -j, bad inputs,
# manifests in and out, the stdin/stdout filter, --dry-run.
. "$CK_TESTDATA/lib.sh" ck-augment

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
ck-augment -q -o - ppm/train_00000.ppm > in/train_00000.png || { fail "cannot make inputs"; exit 1; }
ck-augment -q --format png -o conv ppm/*.ppm > /dev/null || { fail "cannot make inputs"; exit 1; }
for i in 1 2 3 4 5; do mv conv/train_0000${i}_aug00.png in/train_0000$i.png; done
ok "filter == batch" cmp in/train_00000.png conv/train_00000_aug00.png
ok "filter output is a PNG" test "$(head -c 4 in/train_00000.png | od -An -c | tr -d ' ')" = "211PNG"

# --help, usage errors
ok "--help exits 0 on stdout" bash -c 'ck-augment --help | grep -q "^Usage: ck-augment"'
ck-augment --bogus 2> err; rc=$?
ok "unknown option exits 2" test $rc = 2
ok "usage hint" grep -q "Try 'ck-augment --help'" err
ck-augment --aug 'rotate=15,flp=h' -o out in/train_00000.png 2> err; rc=$?
ok "bad spec exits 2" test $rc = 2
ok "bad spec names the token" grep -q "flp=h" err
ck-augment -o out 2> err; rc=$?
ok "no input exits 2" test $rc = 2
ck-augment -n 0 -o out in/train_00000.png 2> err; rc=$?
ok "bad -n exits 2" test $rc = 2

# Same seed -> same bytes at -j1 and -j2; another seed differs.
SPEC=crop=0.7:1,rotate=15,flip=h,shift=0.1,erase=0.5,erase-fill=noise
ok "-j1 run" ck-augment -q --aug $SPEC -n 3 --seed 5 -j1 -o j1 in/*.png > j1.txt
ok "-j2 run" ck-augment -q --aug $SPEC -n 3 --seed 5 -j2 -o j2 in/*.png > j2.txt
ok "18 outputs" test "$(ls j1 | wc -l)" = 18
ok "-j1 == -j2 bytes" diff -r j1 j2
ok "-j1 == -j2 manifest" cmp j1.txt j2.txt
ok "names" test -f j1/train_00003_aug02.png
ok "-j2 other seed" ck-augment -q --aug $SPEC -n 3 --seed 6 -j2 -o s6 in/*.png > /dev/null
ok "other seed differs" bash -c '! cmp -s j1/train_00000_aug00.png s6/train_00000_aug00.png'
# Seed is announced on stderr unless -q.
ck-augment --rotate 5 -o s7 in/train_00000.png > /dev/null 2> err
ok "seed printed" grep -q "seed 1," err

# Bad inputs: reported by name, skipped, exit 1; good files still written.
: > in/empty.png
head -c 60 in/train_00001.png > in/trunc.png
echo "not an image" > in/text.png
ck-augment -q --rotate 10 -o bad -j2 in/train_00000.png in/empty.png in/trunc.png \
    in/text.png in/missing.png in/train_00002.png > bad.txt 2> err; rc=$?
ok "bad inputs exit 1" test $rc = 1
for f in empty.png trunc.png text.png missing.png; do
    ok "error names $f" grep -q "in/$f" err
done
ok "0-byte message" grep -q "0-byte" err
ok "good files written" test -f bad/train_00000_aug00.png -a -f bad/train_00002_aug00.png
ok "bad files not written" test ! -e bad/empty_aug00.png -a ! -e bad/trunc_aug00.png
ok "manifest lists good files only" test "$(cat bad.txt)" = "$(printf 'train_00000_aug00.png\ntrain_00002_aug00.png')"
ok "no temporaries left" bash -c '! ls bad | grep -q tmp'
rm in/empty.png in/trunc.png in/text.png

# The list of outputs is a one-column table: a name with a comma is quoted
# so that it reads back as one file.
mkdir -p odd && cp in/train_00000.png "odd/a,b.png"
ok "odd name run" bash -c 'ck-augment -q -o oddout "odd/a,b.png" > odd.txt'
ok "odd name quoted" test "$(cat odd.txt)" = '"a,b_aug00.png"'
ok "odd name reads back" ck-augment -q -m odd.txt --images oddout -o odd2 > /dev/null
ok "odd name written" test -f "odd2/a,b_aug00_aug00.png"

# Manifest in -> manifest out: TSV with header keeps its header and labels.
printf 'file_name\tlabel_id\ntrain_00000.png\t3\ntrain_00001.png\t7\n' > m.tsv
ok "tsv run" ck-augment -q -m m.tsv --images in -n 2 --include-original --flip h -o tsv > out.tsv
ok "tsv header kept" test "$(head -1 out.tsv)" = "$(printf 'file_name\tlabel_id')"
ok "tsv rows" test "$(tail -n +2 out.tsv | tr '\t' ' ' | tr '\n' ';')" = \
    "train_00000.png 3;train_00000_aug00.png 3;train_00000_aug01.png 3;train_00001.png 7;train_00001_aug00.png 7;train_00001_aug01.png 7;"
ok "original written" test -f tsv/train_00000.png
# CSV without header stays CSV without header; --by-class makes folders;
# the manifest may come from stdin.
printf 'train_00002.png,cat\ntrain_00003.png,dog\n' > m.csv
ok "csv run" bash -c 'ck-augment -q -m - --images in --by-class --rotate 3 -o cls < m.csv > out.csv'
ok "csv rows" test "$(cat out.csv | tr '\n' ';')" = "cat/train_00002_aug00.png,cat;dog/train_00003_aug00.png,dog;"
ok "class folders" test -f cls/cat/train_00002_aug00.png -a -f cls/dog/train_00003_aug00.png

# Output size and format.
ok "size + jpg" ck-augment -q --size 40x30 --format jpg --quality 80 --aug crop=0.5:1 -o big in/train_00004.png > /dev/null
ok "jpeg magic" test "$(head -c 3 big/train_00004_aug00.jpg | od -An -tx1 | tr -d ' ')" = "ffd8ff"
ok "dry-run size" bash -c "ck-augment -q --size 40x30 --dry-run in/train_00004.png | grep -q '\"out\":\[40,30\]'"
# PNG IHDR: width and height at bytes 16..23.
ok "png size" ck-augment -q --size 50x10 -o sz in/train_00005.png > /dev/null
ok "png is 50x10" test "$(head -c 24 sz/train_00005_aug00.png | tail -c 8 | od -An -tx1 | tr -d ' ')" = "000000320000000a"

# Filter: stdin -> stdout, format by --format.
ok "filter stdin" bash -c 'ck-augment -q --rotate 20 --format webp -o - - < in/train_00000.png > f.webp'
ok "webp magic" test "$(head -c 4 f.webp)" = "RIFF"
ok "filter rejects -n" bash -c 'ck-augment -o - -n 2 - < in/train_00000.png > /dev/null 2>&1; test $? = 2'

# --dry-run: one JSON line per copy, nothing written.
ok "dry-run" bash -c "ck-augment -q --aug $SPEC -n 4 --dry-run -o dry in/train_0000[01].png > dry.txt"
ok "dry-run lines" test "$(grep -c '^{\"file\":' dry.txt)" = 8
ok "dry-run writes nothing" test ! -e dry/train_00000_aug00.png

# Image bombs are refused from their header, quickly and without the
# gigabytes they ask for: a tiny JPEG claiming 65000x65000, a valid
# 60000x60000 1-bit PNG (zeros deflate to almost nothing), an SVG named .png.
# ulimit -v proves no large allocation (not under ASan: it reserves shadow
# memory up front).
mkdir -p bomb
ck-augment -q --format jpg -o bomb in/train_00000.png > /dev/null || fail "jpeg for the bomb"
perl -e 'local $/; my $j = <STDIN>; $j =~ s/\xff\xc0(..)(.)..../"\xff\xc0$1$2" . pack("nn", 65000, 65000)/se
           or die "no SOF0\n"; print $j' < bomb/train_00000_aug00.jpg > bomb/big.jpg
perl -MCompress::Zlib -e '
    my ($w, $h) = (60000, 60000);
    sub chunk { my ($t, $d) = @_; pack("N", length $d) . $t . $d . pack("N", crc32($t . $d)) }
    my ($z, $st) = deflateInit(-Level => Z_BEST_COMPRESSION);
    my ($out, $left, $zeros) = ("", (1 + int(($w + 7) / 8)) * $h, "\0" x (1 << 22));
    while ($left > 0) {
        my $n = $left < length $zeros ? $left : length $zeros;
        my ($o) = $z->deflate(substr($zeros, 0, $n)); $out .= $o; $left -= $n;
    }
    my ($o) = $z->flush(); $out .= $o;
    print "\x89PNG\r\n\x1a\n", chunk("IHDR", pack("NNCCCCC", $w, $h, 1, 0, 0, 0, 0)),
          chunk("IDAT", $out), chunk("IEND", "")' > bomb/big.png
printf '<svg xmlns="http://www.w3.org/2000/svg" width="60000" height="60000"><rect width="60000" height="60000"/></svg>' \
    > bomb/vector.png
ok "png bomb is small" test "$(wc -c < bomb/big.png)" -lt 3000000
limit=
[ -n "${CK_SANITIZED:-}" ] || ldd "$(command -v ck-augment)" 2>/dev/null | grep -q libasan ||
    limit="ulimit -v 2000000;"
for f in big.jpg big.png vector.png; do
    bash -c "$limit timeout 60 ck-augment -q -j1 -o bomb-out bomb/$f" > /dev/null 2> err; rc=$?
    ok "$f refused (exit 1, not killed)" test $rc = 1
    ok "$f: message names the file" grep -q "bomb/$f" err
    case $f in
        vector.png) ok "$f: not a raster loader" grep -q "svgload files are not read" err ;;
        *) ok "$f: over the pixel limit" grep -q "pixels, over the limit of 100000000" err ;;
    esac
done
ok "no output for bombs" test ! -e bomb-out/big_aug00.png
# The limit can be raised and lowered: an option, or CK_MAX_PIXELS.
ck-augment -q --max-pixels 100 -o lim in/train_00000.png > /dev/null 2> err; rc=$?
ok "--max-pixels 100 refuses a 24x20 image" test $rc = 1
ok "--max-pixels message" grep -q "24x20 is 480 pixels, over the limit of 100" err
CK_MAX_PIXELS=100 ck-augment -q -o lim in/train_00000.png > /dev/null 2> err; rc=$?
ok "CK_MAX_PIXELS=100 refuses" test $rc = 1
ok "CK_MAX_PIXELS=100 --max-pixels 480 reads it" bash -c 'CK_MAX_PIXELS=100 ck-augment -q --max-pixels 480 -o lim in/train_00000.png > /dev/null'
CK_MAX_PIXELS=abc ck-augment -q -o lim in/train_00000.png > /dev/null 2> err; rc=$?
ok "bad CK_MAX_PIXELS is an error" test $rc = 1
ok "bad CK_MAX_PIXELS named" grep -q "CK_MAX_PIXELS: 'abc'" err
ck-augment --max-pixels 0 -o lim in/train_00000.png > /dev/null 2> err; rc=$?
ok "--max-pixels 0 is a usage error" test $rc = 2

# A FIFO among the inputs: "not a regular file", no hang; the others done.
mkfifo in-fifo.png
timeout 60 ck-augment -q -o fifo-out in/train_00001.png in-fifo.png > fifo.txt 2> err; rc=$?
ok "FIFO input: exit 1, not a hang" test $rc = 1
ok "FIFO input: not a regular file" grep -q "in-fifo.png: not a regular file" err
ok "FIFO input: the other image done" test -f fifo-out/train_00001_aug00.png

# Counts are bounded: 100000 threads is a usage error.
ck-augment -j 100000 -o t in/train_00000.png > /dev/null 2> err; rc=$?
ok "-j 100000 exits 2" test $rc = 2
ok "-j 100000 names the limit" grep -q "threads: '100000' is not a number from 1 to" err

# Messages: the tool's own errors are not prefixed twice.
ck-augment -q --by-class -o bc in/train_00000.png > /dev/null 2> err
ok "no doubled prefix" bash -c '! grep -q "ck-augment: ck-augment:" err'
ok "by-class message" grep -q "^ck-augment: --by-class needs" err
# A full standard output is an error with a message.
if [ -w /dev/full ]; then
    ck-augment -q -o full in/train_00000.png > /dev/full 2> err; rc=$?
    ok "stdout full: exit 1" test $rc = 1
    ok "stdout full: message" grep -q "ck-augment: cannot write the list of outputs to standard output: No space" err
fi
# The plain list quotes names the way the manifest writer does.
cp in/train_00002.png "$(printf 'new\nline.png')"
ck-augment -q -o nl "$(printf 'new\nline.png')" > nl.txt
ok "name with a newline quoted" test "$(cat nl.txt)" = "$(printf '"new\nline_aug00.png"')"

exit $((fails > 0))
