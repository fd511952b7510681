#!/usr/bin/env bash
# ck-eval end to end on hand-computed cases: scores, formats, --check, exit codes.
. "$CK_TESTDATA/lib.sh" ck-eval


printf 'file_name\tlabel_id\na.png\t0\nb.png\t1\nc.png\t2\nd.png\t2\n' >"$T/truth.tsv"
printf 'label_id\tlabel_name\n0\tcat\n1\tdog\n2\teel\n' >"$T/labels.tsv"
# Hand-computed: log loss = (-ln .7 - ln .3 - ln .8 - ln(1e-15/(1+1e-15)))/4
# = 9.080642; predicted 0,0,2,0: accuracy 2/4; truth always in the top 3.
printf 'a.png,0.7,0.2,0.1\nb.png,0.5,0.3,0.2\nc.png,0.1,0.1,0.8\nd.png,0.6,0.4,0\n' >"$T/sub.csv"

expect 0 ck-eval --help
has "$out" "Usage: ck-eval"
expect 2 ck-eval
has "$err" "Try 'ck-eval --help'"
expect 2 ck-eval --bogus "$T/sub.csv"
has "$err" "Try 'ck-eval --help'"
expect 2 ck-eval --truth "$T/truth.tsv" --check "$T/sub.csv" "$T/sub.csv"
expect 2 ck-eval --truth "$T/truth.tsv" --eps 2 "$T/sub.csv"

expect 0 ck-eval --truth "$T/truth.tsv" --summary "$T/sub.csv"
[ "$out" = "logloss=9.080642 accuracy=0.500000 top5=1.000000 rows=4" ] || fail "summary: $out"
expect 0 ck-eval --truth "$T/truth.tsv" --summary --top 1 --eps 1e-6 "$T/sub.csv"
[ "$out" = "logloss=3.899826 accuracy=0.500000 top1=0.500000 rows=4" ] || fail "summary eps 1e-6: $out"

expect 0 ck-eval --truth "$T/truth.tsv" --labels "$T/labels.tsv" --confusion-csv "$T/cm.csv" \
  --confusion "$T/cm.svg" "$T/sub.csv"
has "$out" "log loss:        9.080642"
has "$out" "accuracy:        0.500000  (2/4)"
has "$out" "top-5 accuracy:  1.000000"
# class 0: precision 1/3, recall 1, F1 .5; class 2: 1, .5, .6667
has "$out" "  0 cat         0.3333    1.0000    0.5000        1"
has "$out" "  2 eel         1.0000    0.5000    0.6667        2"
printf 'truth\\predicted,cat,dog,eel\ncat,1,0,0\ndog,1,0,0\neel,1,0,1\n' >"$T/cm.want"
cmp -s "$T/cm.csv" "$T/cm.want" || fail "confusion csv: $(cat "$T/cm.csv")"
grep -q '</svg>' "$T/cm.svg" || fail "svg not written"

# Label submissions, by id and by name (with the label table), any row order.
printf 'file_name,label\nd.png,2\na.png,0\nb.png,0\nc.png,2\n' >"$T/lab.csv"
expect 0 ck-eval --truth "$T/truth.tsv" --summary "$T/lab.csv"
[ "$out" = "logloss=nan accuracy=0.750000 top5=nan rows=4" ] || fail "label summary: $out"
printf 'a.png,cat\nb.png,eel\nc.png,eel\nd.png,eel\n' >"$T/names.csv"
expect 0 ck-eval --truth "$T/truth.tsv" --labels "$T/labels.tsv" "$T/names.csv"
has "$out" "log loss:        n/a (label submission)"
has "$out" "(3/4)"
# Truth given by class names.
printf 'file,label\na.png,cat\nb.png,dog\nc.png,eel\nd.png,eel\n' >"$T/truth-names.csv"
expect 0 ck-eval --truth "$T/truth-names.csv" --labels "$T/labels.tsv" --summary "$T/sub.csv"
has "$out" "logloss=9.080642 accuracy=0.500000"

# Runtime errors name the file (and line): exit 1.
expect 1 ck-eval --truth "$T/nope.tsv" "$T/sub.csv"
has "$err" "nope.tsv"
printf 'a.png,0.7,0.2,0.1\nb.png,0.5,0.3,0.2\nc.png,0.1,0.1,0.8\n' >"$T/short.csv"
expect 1 ck-eval --truth "$T/truth.tsv" "$T/short.csv"
has "$err" "1 of the 4 rows"
has "$err" "'d.png', line 5"
printf 'a.png,0.7,0.2,0.1\nb.png,0.5,0.3,zz\n' >"$T/bad.csv"
expect 1 ck-eval --truth "$T/truth.tsv" "$T/bad.csv"
has "$err" "bad.csv:2: column 4: 'zz'"
printf 'file_name\tlabel_id\na.png\t7\n' >"$T/truth7.tsv"
expect 1 ck-eval --truth "$T/truth7.tsv" --labels "$T/labels.tsv" "$T/sub.csv"
has "$err" "truth7.tsv:2: unknown label '7'"

# --check against a sample submission.
printf 'a.png,0.25,0.25,0.5\nb.png,0.25,0.25,0.5\nc.png,0.25,0.25,0.5\nd.png,0.25,0.25,0.5\n' >"$T/sample.csv"
expect 0 ck-eval --check "$T/sample.csv" "$T/sub.csv"
[ "$out" = "OK: 4 rows" ] || fail "check ok: $out"
printf 'a.png,0.7,0.2,0.1\nc.png,0.1,0.1,0.8\nb.png,0.5,0.3,0.3\nd.png,0.6,0.4,nan\n' >"$T/bad2.csv"
expect 1 ck-eval --check "$T/sample.csv" "$T/bad2.csv"
has "$out" "bad2.csv:2: rows are not in the sample's order"
has "$out" "bad2.csv:3: probabilities sum to 1.1, not 1"
has "$out" "bad2.csv:4: column 4: NaN"
has "$out" "FAILED: 3 problem(s)"
expect 0 ck-eval --check "$T/sample.csv" --tolerance 0.2 "$T/sub.csv"
expect 1 ck-eval --check "$T/nope.csv" "$T/sub.csv"
has "$err" "nope.csv"
# Through the one table reader: CRLF, blank lines, a ragged row, each at its
# line; a pipe works as a file; a folder is refused by name.
printf 'a.png,0.7,0.2,0.1\r\n\r\nb.png,0.5,0.3,0.2,0\r\n  \r\nc.png,0.1,0.1,0.8\r\nd.png,0.6,0.4,0\r\n' >"$T/crlf.csv"
expect 1 ck-eval --check "$T/sample.csv" "$T/crlf.csv"
has "$out" "crlf.csv:2: empty line"
has "$out" "crlf.csv:3: 5 columns, expected 4"
has "$out" "crlf.csv:4: empty line"
has "$out" "FAILED: 3 problem(s)"
expect 0 ck-eval --check <(cat "$T/sample.csv") "$T/sub.csv"
expect 1 ck-eval --check "$T/sample.csv" "$T"
has "$err" "not a regular file"

# Hex floats are numbers to strtod but to no contest scorer.
printf 'a.png,0x1.99p-5,0.9,0x1.99p-5\nb.png,0.25,0.25,0.5\nc.png,0.25,0.25,0.5\nd.png,0.25,0.25,0.5\n' >"$T/hex.csv"
expect 1 ck-eval --check "$T/sample.csv" "$T/hex.csv"
has "$out" "hex.csv:1: column 2: '0x1.99p-5' is not a plain decimal number"
expect 1 ck-eval --truth "$T/truth.tsv" --summary "$T/hex.csv"
has "$err" "hex.csv:1: column 2: '0x1.99p-5'"
printf 'a.png,1e-1,0.8,.1\nb.png,0.25,0.25,0.5\nc.png,0.25,0.25,5E-1\nd.png,+0.25,0.25,0.5\n' >"$T/exp.csv"
expect 0 ck-eval --check "$T/sample.csv" "$T/exp.csv"

# Without --labels the truth defines the classes: a predicted id beyond
# them is an error naming the row, not a 100- or 30001-class report.
printf 'file_name,label\na.png,0\nb.png,99\nc.png,2\nd.png,2\n' >"$T/lab99.csv"
expect 1 ck-eval --truth "$T/truth.tsv" --summary "$T/lab99.csv"
has "$err" "lab99.csv:3: label 99 is not a class of"
printf 'a.png,0\nb.png,1\nc.png,2\nd.png,30000\n' >"$T/lab30000.csv"
expect 1 timeout 60 ck-eval --truth "$T/truth.tsv" "$T/lab30000.csv"
has "$err" "lab30000.csv:4: label 30000"

# --worst: wrong rows only, highest loss first, equal losses in truth order.
# Losses: d -ln(1e-15/(1+1e-15)) = 34.538776, b -ln .3, e -ln .3 (tie,
# after b), f -ln .4 = 0.916291; a and c are right and left out.
printf 'file_name\tlabel_id\na.png\t0\nb.png\t1\nc.png\t2\nd.png\t2\ne.png\t1\nf.png\t0\n' >"$T/wtruth.tsv"
printf 'a.png,0.7,0.2,0.1\nb.png,0.5,0.3,0.2\nc.png,0.1,0.1,0.8\nd.png,0.6,0.4,0\n''e.png,0.2,0.3,0.5\nf.png,0.4,0.6,0\n' >"$T/wsub.csv"
expect 0 ck-eval --truth "$T/wtruth.tsv" --labels "$T/labels.tsv" --summary --worst 3 "$T/wsub.csv"
printf 'logloss=6.407139 accuracy=0.333333 top5=1.000000 rows=6\n\nfile\ttrue\tpredicted\tprob\tloss\n''d.png\teel\tcat\t0.600000\t34.538776\nb.png\tdog\tcat\t0.500000\t1.203973\n''e.png\tdog\teel\t0.500000\t1.203973\n' >"$T/worst.want"
cmp -s "$T/out" "$T/worst.want" || fail "--worst 3: $(cat "$T/out")"
# More than there are wrong rows: all four; ids without --labels.
expect 0 ck-eval --truth "$T/wtruth.tsv" --summary --worst 10 "$T/wsub.csv"
[ "$(tail -n 4 "$T/out" | cut -f 1-3 | tr '\t\n' ',,')" = "d.png,2,0,b.png,1,0,e.png,1,2,f.png,0,1," ] ||
  fail "--worst 10: $(cat "$T/out")"
expect 1 ck-eval --truth "$T/truth.tsv" --worst 2 "$T/lab.csv"
has "$err" "--worst needs probabilities"
expect 2 ck-eval --truth "$T/wtruth.tsv" --sheet "$T/s.png" --images "$T" "$T/wsub.csv"
has "$err" "give --worst"
expect 2 ck-eval --truth "$T/wtruth.tsv" --worst 2 --sheet "$T/s.png" "$T/wsub.csv"
has "$err" "--sheet and --images go together"
expect 2 ck-eval --truth "$T/wtruth.tsv" --worst 2 --sheet "$T/s.svg" --images "$T" "$T/wsub.csv"
has "$err" "unknown image extension"
expect 2 ck-eval --check "$T/sample.csv" --worst 2 "$T/wsub.csv"

# The contact sheet: 3 wrong rows of real images on a 2-column grid of
# 128-pixel tiles with 44-pixel captions, 4 pixels apart: 260 x 348.
ck-synth -o "$T/syn" -c 3 -n 3 -t 5 -S 24 -j 1 >/dev/null 2>&1 || fail "ck-synth"
printf 'test_00000.png,0.1,0.2,0.7\ntest_00001.png,0.3,0.3,0.4\ntest_00002.png,0.9,0.05,0.05\n''test_00003.png,0.05,0.9,0.05\ntest_00004.png,0.2,0.6,0.2\n' >"$T/syn.csv"
syn_eval() {
  expect "$1" ck-eval --truth "$T/syn/test_labels.tsv" --labels "$T/syn/label_master.tsv" --summary --worst 3 \
    --sheet "$T/sheet.png" --images "$T/syn/test" "$T/syn.csv"
}
# PNG width and height: big-endian words at bytes 16 and 20.
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%dx%d", $3 * 256 + $4, $7 * 256 + $8 }'; }
wrong=$(awk -F'\t' 'NR > 1 { print }' "$T/syn/test_labels.tsv" |
  awk -F'\t' '{ split("2 2 0 1 1", p, " "); if (p[NR] != $2) n++ } END { print n }')
[ "$wrong" = 3 ] || fail "synthetic truth changed: $wrong wrong rows (want 3)"
syn_eval 0
[ "$(png_size "$T/sheet.png")" = 260x348 ] || fail "sheet size $(png_size "$T/sheet.png")"
[ -z "$err" ] || fail "sheet stderr: $err"
[ "$(tail -n 3 "$T/out" | cut -f 1)" = "$(printf 'test_00003.png\ntest_00000.png\ntest_00001.png')" ] ||
  fail "sheet rows: $(cat "$T/out")"
# A sheet over the pixel limit is refused before anything is drawn.
rm -f "$T/sheet.png"
CK_MAX_PIXELS=90479 syn_eval 1
has "$err" "260x348 is over the pixel limit of 90479"
[ ! -e "$T/sheet.png" ] || fail "sheet written over the pixel limit"
CK_MAX_PIXELS=90480 syn_eval 0
# Without fonts: the images alone (260 x 260), said once on stderr.
echo '<?xml version="1.0"?><fontconfig></fontconfig>' >"$T/nofonts.conf"
FONTCONFIG_FILE="$T/nofonts.conf" syn_eval 0
[ "$(png_size "$T/sheet.png")" = 260x260 ] || fail "no-font sheet size $(png_size "$T/sheet.png")"
has "$err" "no fonts for the captions"
# A missing image is an error naming it, and no sheet is left behind.
rm -f "$T/sheet.png" "$T/syn/test/test_00000.png"
syn_eval 1
has "$err" "test_00000.png"
[ ! -e "$T/sheet.png" ] || fail "sheet written despite a missing image"

[ $fails -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "test-eval: all passed"
