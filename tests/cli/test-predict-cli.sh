#!/usr/bin/env bash
# ck-predict's command line: ordering, formats, shards, missing images, exit
# codes. Fixtures (tiny He-initialised checkpoints, synthetic PNGs) come from
# the test-predict C test, which also checks the numbers against the library.
. "$CK_TESTDATA/lib.sh" ck-predict

fixtures="$CK_BIN/../tests/test-predict"
[ -x "$fixtures" ] || { echo "FAIL: $fixtures not built (a missing tool is a failure)" >&2; exit 1; }
"$fixtures" --fixtures "$T" || { echo "cannot make fixtures"; exit 1; }
P="ck-predict -j 1"

# Usage errors: exit 2 and a hint.
expect 0 ck-predict --help
has "$out" "Usage: ck-predict"
expect 2 ck-predict --images "$T/test" -o "$T/x.csv"
has "$err" "Try 'ck-predict --help'"
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --format bogus
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --shard 2/2
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --tta rotate
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --clip 0.7
expect 2 ck-predict --merge "$T/x.csv"
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --conv-algo fast
has "$err" "--conv-algo must be"
# Pseudo-label manifests (checked byte for byte in test-predict).
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.tsv" --min-prob 0.9
has "$err" "--min-prob goes with --format manifest"
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.tsv" --format manifest --min-prob 1.5
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.tsv" --format manifest --shard 0/2
expect 0 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/all.tsv" --format manifest
[ "$(head -1 "$T/all.tsv")" = "$(printf 'file_name\tlabel_id')" ] && [ "$(wc -l <"$T/all.tsv")" = 8 ] ||
  fail "manifest without --min-prob: every row: $(cat "$T/all.tsv")"
has "$err" "7 of 7 rows"

# Without --order: every image, natural order.
expect 0 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/nat.csv"
[ "$(cut -d, -f1 "$T/nat.csv" | tr '\n' ' ')" = "t_1.png t_2.png t_3.png t_4.png t_5.png t_10.png t_20.png " ] ||
  fail "natural order: $(cut -d, -f1 "$T/nat.csv" | tr '\n' ' ')"
# With --order: the sample's rows and order; the checker agrees.
expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" -o "$T/sub.csv"
cmp -s <(cut -d, -f1 "$T/sub.csv") <(cut -d, -f1 "$T/sample.csv") || fail "rows not in sample order"
[ "$(awk -F, '{print NF}' "$T/sub.csv" | sort -u)" = "4" ] || fail "expected 4 columns"
expect 0 ck-eval --check "$T/sample.csv" "$T/sub.csv"
has "$out" "OK: 7 rows"
expect 0 ck-eval --truth "$T/truth.tsv" --summary "$T/sub.csv"
has "$out" "rows=7"
# --conv-algo overrides the checkpoint's algorithm: bf16 rounds, so the
# probabilities move a little but not much.
expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" --conv-algo bf16 -o "$T/bf16.csv"
paste -d, "$T/sub.csv" "$T/bf16.csv" | awk -F, '{ h = NF / 2; for (i = 2; i <= h; i++) { d = $i - $(i + h);
    if (d < 0) d = -d; if (d > m) m = d } } END { exit !(m < 0.05) }' || fail "--conv-algo bf16: probabilities far off"

# Same rows, other formats: label ids / names, header, tab, precision, clip.
expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" --format label -o "$T/lab.csv"
cmp -s <(cut -d, -f1 "$T/lab.csv") <(cut -d, -f1 "$T/sample.csv") || fail "label rows"
# The label is the arg-max of the probabilities.
awk -F, '{b=2; for (i=3;i<=NF;i++) if ($i>$b) b=i; print $1 "," b-2}' "$T/sub.csv" >"$T/argmax.csv"
cmp -s "$T/lab.csv" "$T/argmax.csv" || fail "labels are not the arg-max: $(paste -d' ' "$T/lab.csv" "$T/argmax.csv")"
expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" --format label --label-names --header \
  -o "$T/names.csv"
[ "$(head -1 "$T/names.csv")" = "file_name,label_name" ] || fail "label header: $(head -1 "$T/names.csv")"
tail -n +2 "$T/names.csv" | cut -d, -f2 | grep -qvE '^(red|green|blue)$' && fail "class names: $(cat "$T/names.csv")"
expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" --header --sep tab --precision 3 \
  -o "$T/wide.tsv"
[ "$(head -1 "$T/wide.tsv")" = "$(printf 'file_name\tred\tgreen\tblue')" ] || fail "probs header"
tail -n +2 "$T/wide.tsv" | cut -f2- | tr '\t' '\n' | grep -qvE '^0\.[0-9]{1,3}$|^[01]$' && fail "precision 3: $(cat "$T/wide.tsv")"
expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" --clip 0.34 -o "$T/clip.csv"
# Clipped to [0.34, 0.66], then each row divided by its sum.
awk -F, 'NR == FNR {
    s = 0; for (i = 2; i <= NF; i++) { v = $i; if (v < 0.34) v = 0.34; if (v > 0.66) v = 0.66; c[FNR, i] = v; s += v }
    for (i = 2; i <= NF; i++) c[FNR, i] /= s; next }
  { for (i = 2; i <= NF; i++) { d = $i - c[FNR, i]; if (d < -2e-6 || d > 2e-6) bad = 1 } }
  END { exit bad }' "$T/sub.csv" "$T/clip.csv" || fail "clip: $(paste -d' ' "$T/sub.csv" "$T/clip.csv")"
# A sample with a header gives its header (and separator) to the output.
{ printf 'id,red,green,blue\n'; sed 's/\.png,/,/' "$T/sample.csv"; } >"$T/kaggle.csv"
expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/kaggle.csv" -o "$T/k.csv"
[ "$(head -1 "$T/k.csv")" = "id,red,green,blue" ] || fail "sample header: $(head -1 "$T/k.csv")"
[ "$(sed -n 2p "$T/k.csv" | cut -d, -f1)" = "t_20" ] || fail "ids without extension: $(sed -n 2p "$T/k.csv")"
expect 0 ck-eval --check "$T/kaggle.csv" "$T/k.csv"
# The sample goes through the one table reader: CRLF, blank lines and a
# pipe give the same rows; a ragged sample is an error naming its line.
{ printf '\r\n'; sed 's/$/\r/;3a\\' "$T/sample.csv"; } >"$T/crlf.csv"
expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order <(cat "$T/crlf.csv") -o "$T/crlf_sub.csv"
cmp -s "$T/crlf_sub.csv" "$T/sub.csv" || fail "CRLF/blank-line sample: $(head -3 "$T/crlf_sub.csv")"
{ head -2 "$T/sample.csv"; printf 'x.png,0.5\n'; } >"$T/ragged.csv"
expect 1 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/ragged.csv" -o "$T/r.csv"
has "$err" "ragged.csv:3: expected 4 fields, found 2"

# Shards merged back equal the unsharded output, byte for byte with --batch 1
# (BLAS sums in an order that depends on a batch's row count, so with larger
# batches the last digit may differ: checked numerically below).
expect 0 $P -b 1 -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" -o "$T/b1.csv"
for i in 0 1 2; do
  expect 0 $P -b 1 -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" --shard $i/3 -o "$T/s$i.shard"
done
head -1 "$T/s1.shard" | grep -qx '#ck-shard 1/3 rows=7' || fail "shard header: $(head -1 "$T/s1.shard")"
expect 0 ck-predict --merge "$T/merged.csv" "$T/s2.shard" "$T/s0.shard" "$T/s1.shard"
cmp -s "$T/merged.csv" "$T/b1.csv" || fail "merged shards differ from the unsharded output"
for i in 0 1; do
  expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" --shard $i/2 -o "$T/d$i.shard"
done
expect 0 ck-predict --merge "$T/merged2.csv" "$T/d0.shard" "$T/d1.shard"
cmp -s <(cut -d, -f1 "$T/merged2.csv") <(cut -d, -f1 "$T/sub.csv") || fail "merged rows"
paste -d, "$T/merged2.csv" "$T/sub.csv" | awk -F, '{ for (i = 2; i <= 4; i++) { d = $i - $(i + 4); if (d < -1e-5 || d > 1e-5) bad = 1 } }
  END { exit bad }' || fail "merged (default batch) far from unsharded: $(paste "$T/merged2.csv" "$T/sub.csv")"
expect 1 ck-predict --merge "$T/m2.csv" "$T/s0.shard" "$T/s2.shard"
has "$err" "rows missing"
[ -e "$T/m2.csv" ] && fail "merge with a missing shard wrote output"
expect 1 ck-predict --merge "$T/m2.csv" "$T/s0.shard" "$T/s1.shard" "$T/s1.shard" "$T/s2.shard"
has "$err" "duplicate row"

# Ensembles need the same classes.
expect 1 $P -m "$T/a.ckpt" -m "$T/other.ckpt" --images "$T/test" -o "$T/e.csv"
has "$err" "differ in class 2 ('blue' vs 'cyan')"
[ -e "$T/e.csv" ] && fail "failed ensemble wrote output"

# Missing and unreadable images: error naming the image, nothing written,
# an existing output left alone; --allow-missing writes uniform rows.
cp "$T/sub.csv" "$T/keep.csv"
mv "$T/test/t_3.png" "$T/t_3.png.away"
expect 1 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" -o "$T/keep.csv"
has "$err" "image 't_3.png' not found"
cmp -s "$T/keep.csv" "$T/sub.csv" || fail "failed run changed the existing output"
expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" --allow-missing -o "$T/allow.csv"
has "$err" "warning: image 't_3.png' not found"
grep -qx 't_3.png,0.333333,0.333333,0.333333' "$T/allow.csv" || fail "uniform row: $(cat "$T/allow.csv")"
mv "$T/t_3.png.away" "$T/test/t_3.png"
: >"$T/test/t_4.png"
expect 1 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" -o "$T/c.csv"
has "$err" "t_4.png"
[ -e "$T/c.csv" ] && fail "unreadable image: output written"
expect 0 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/sample.csv" --allow-missing -o "$T/c.csv"
has "$err" "t_4.png"
grep -qx 't_4.png,0.333333,0.333333,0.333333' "$T/c.csv" || fail "uniform row for unreadable image"
expect 1 $P -m "$T/nope.ckpt" --images "$T/test" -o "$T/c2.csv"
has "$err" "nope.ckpt"
echo garbage >"$T/bad.ckpt"
expect 1 $P -m "$T/bad.ckpt" --images "$T/test" -o "$T/c2.csv"
has "$err" "bad.ckpt"

# Counts are bounded (100000 threads crashed the OpenMP runtime, 100000
# loaders allocated gigabytes): usage errors before any work.
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --threads 100000
has "$err" "--threads: '100000' is not a number from 0 to"
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --loaders 100000
has "$err" "--loaders"
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --batch 1000000
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --device bogus
has "$err" "--device must be"
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --max-pixels 0
expect 2 $P -m "$T/a.ckpt" --images "$T/test" -o "$T/x.csv" --max-pixels 1e9
[ -e "$T/x.csv" ] && fail "usage error: output written"

# A model of 3 classes asked to fill a 20-class sample: an error naming both.
awk -F, '{ printf "%s", $1; for (i = 1; i <= 20; i++) printf ",0.05"; print "" }' "$T/sample.csv" >"$T/wide.csv"
expect 1 $P -m "$T/a.ckpt" --images "$T/test" --order "$T/wide.csv" -o "$T/w.csv"
has "$err" "wide.csv has 20 probability columns but $T/a.ckpt has 3 classes"
[ -e "$T/w.csv" ] && fail "class count mismatch: output written"

# A FIFO named like an image in the scanned folder: skipped with a warning,
# never opened (it would block forever).
mkdir "$T/fifo"
cp "$T/test/t_1.png" "$T/test/t_2.png" "$T/fifo/"
mkfifo "$T/fifo/t_3.png"
expect 0 timeout 120 $P -m "$T/a.ckpt" --images "$T/fifo" -o "$T/f.csv"
has "$err" "skipping $T/fifo/t_3.png: not a regular file"
[ "$(cut -d, -f1 "$T/f.csv" | tr '\n' ' ')" = "t_1.png t_2.png " ] || fail "FIFO row: $(cat "$T/f.csv")"
# Named by the sample, it is no image file, not a hang.
printf 't_1.png,0,0,0\nt_3.png,0,0,0\n' >"$T/fifo-sample.csv"
expect 1 timeout 120 $P -m "$T/a.ckpt" --images "$T/fifo" --order "$T/fifo-sample.csv" -o "$T/f2.csv"
has "$err" "t_3.png"

[ $fails -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "test-predict-cli: all passed"
