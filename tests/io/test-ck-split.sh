#!/bin/bash
# ck-split from the command line: outputs, styles, determinism, exit codes.
set -u
fail=0
t=$(mktemp -d /tmp/ck-test-split-XXXXXX)
trap 'rm -rf "$t"' EXIT
not() { ! "$@"; }
check() { # description, then the command
    local what=$1; shift
    if ! "$@"; then echo "FAIL: $what" >&2; fail=1; fi
}
status() { # expected status, then the command (output discarded)
    local want=$1; shift
    "$@" >/dev/null 2>"$t/err"; local got=$?
    if [ "$got" != "$want" ]; then echo "FAIL: '$*' exited $got, expected $want" >&2; cat "$t/err" >&2; fail=1; fi
}

# A SIGNATE-style table: 3 classes of 10, 20 and 30 rows.
{
    printf 'file_name\tlabel_id\n'
    for i in $(seq 0 59); do
        if [ $i -lt 10 ]; then c=0; elif [ $i -lt 30 ]; then c=1; else c=2; fi
        printf 'train_%05d.png\t%d\n' $i $c
    done
} > "$t/train_master.tsv"
printf 'label_id\tlabel_name\n0\tzero\n1\tone\n2\ttwo\n' > "$t/label_master.tsv"

status 0 ck-split -m "$t/train_master.tsv" --val 0.3 --seed 5 -o "$t/a"
check "holdout files" test -s "$t/a/train.tsv" -a -s "$t/a/val.tsv"
check "header kept" test "$(head -1 "$t/a/val.tsv")" = "$(printf 'file_name\tlabel_id')"
check "val rows" test "$(tail -n +2 "$t/a/val.tsv" | wc -l)" = 18
check "train rows" test "$(tail -n +2 "$t/a/train.tsv" | wc -l)" = 42
check "stratified" test "$(tail -n +2 "$t/a/val.tsv" | cut -f2 | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')" = "0:3 1:6 2:9 "
check "disjoint and complete" test "$(tail -q -n +2 "$t/a/train.tsv" "$t/a/val.tsv" | sort | uniq | wc -l)" = 60

# Same seed, same split; another seed, another split.
status 0 ck-split -m "$t/train_master.tsv" --val 0.3 --seed 5 -o "$t/b" -q
check "deterministic" cmp -s "$t/a/val.tsv" "$t/b/val.tsv"
status 0 ck-split -m "$t/train_master.tsv" --val 0.3 --seed 6 -o "$t/c" -q
check "seed matters" not cmp -s "$t/a/val.tsv" "$t/c/val.tsv"

# Per-class table on stderr, with names from --labels.
ck-split -m "$t/train_master.tsv" -l "$t/label_master.tsv" --val 0.3 -o "$t/d" 2>"$t/table" >"$t/stdout"
check "counts table" grep -q '^2 two  *30  *21  *9$' "$t/table"
check "total line" grep -q '^total  *60  *42  *18$' "$t/table"
check "nothing on stdout" test ! -s "$t/stdout"

# k-fold: every row in exactly one validation file.
status 0 ck-split -m "$t/train_master.tsv" --folds 4 -o "$t/k" -q
check "fold files" test -s "$t/k/fold3_train.tsv" -a -s "$t/k/fold3_val.tsv"
check "folds cover all" test "$(tail -q -n +2 "$t"/k/fold?_val.tsv | sort -u | wc -l)" = 60
check "folds disjoint" test "$(tail -q -n +2 "$t"/k/fold?_val.tsv | wc -l)" = 60
check "fold sizes" test "$(tail -n +2 "$t/k/fold0_train.tsv" | wc -l)" = 45

# CSV without header stays CSV without header.
tail -n +2 "$t/train_master.tsv" | tr '\t' ',' > "$t/plain.csv"
status 0 ck-split -m "$t/plain.csv" --val 0.5 -o "$t/e" -q
check "csv output" test -s "$t/e/val.csv"
check "no header" grep -q '^train_[0-9]*\.png,[0-2]$' <(head -1 "$t/e/val.csv")

# Folder-per-class input.
mkdir -p "$t/tree/cat" "$t/tree/dog"
for i in 1 2 3 4; do : > "$t/tree/cat/c$i.png"; : > "$t/tree/dog/d$i.png"; done
status 0 ck-split -m "$t/tree" --val 0.5 -o "$t/f" -q
check "folders" test "$(tail -n +2 "$t/f/val.tsv" | cut -f2 | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" = "2 2 "

# Errors: usage -> 2, runtime -> 1 with the file named.
status 0 ck-split --help
check "help mentions EXIT" sh -c "ck-split --help | grep -q 'Exit status'"
status 2 ck-split
status 2 ck-split -m "$t/train_master.tsv"
status 2 ck-split -m "$t/train_master.tsv" -o "$t/x" --val 1.5
status 2 ck-split -m "$t/train_master.tsv" -o "$t/x" --val 0.3 --folds 3
status 2 ck-split -m "$t/train_master.tsv" -o "$t/x" --folds 1
status 2 ck-split -m "$t/train_master.tsv" -o "$t/x" --bogus
status 2 ck-split -m "$t/train_master.tsv" -o "$t/x" extra
check "usage hint" grep -q "Try 'ck-split --help'" "$t/err"
status 1 ck-split -m "$t/missing.tsv" -o "$t/x"
check "names missing file" grep -q 'missing.tsv' "$t/err"
printf 'file_name\tlabel_id\na.png\t1\nb.png\n' > "$t/bad.tsv"
status 1 ck-split -m "$t/bad.tsv" -o "$t/x"
check "names line" grep -q 'bad.tsv:3: expected 2 fields, found 1' "$t/err"
printf 'file_name\tlabel_id\na.png\t1\nb.png\t7\n' > "$t/unk.tsv"
status 1 ck-split -m "$t/unk.tsv" -l "$t/label_master.tsv" -o "$t/x"
check "unknown label" grep -q "unk.tsv:3: unknown label '7'" "$t/err"
check "nothing half-written" test ! -e "$t/x/train.tsv"

exit $fail
