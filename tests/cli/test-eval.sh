#!/usr/bin/env bash
# ck-eval end to end on hand-computed cases: scores, formats, --check, exit codes.
set -u
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# expect CODE CMD...: run, keep stdout/stderr in $out/$err, check the exit code.
expect() {
  local want=$1; shift
  "$@" >"$T/out" 2>"$T/err"; local got=$?
  out=$(cat "$T/out"); err=$(cat "$T/err")
  [ "$got" = "$want" ] || fail "exit $got (want $want): $*; stderr: $err"
}
has() { case "$1" in *"$2"*) ;; *) fail "expected '$2' in: $1";; esac; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ck-eval-test.XXXXXX")
trap 'rm -rf "$T"' EXIT

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

[ $fails -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "test-eval: all passed"
