#!/bin/bash
# ck-synth: SIGNATE layout, counts, determinism by seed and -j, folders layout.
set -u
fail=0
t=$(mktemp -d /tmp/ck-test-synth-XXXXXX)
trap 'rm -rf "$t"' EXIT
not() { ! "$@"; }
check() {
    local what=$1; shift
    if ! "$@"; then echo "FAIL: $what" >&2; fail=1; fi
}
status() {
    local want=$1; shift
    "$@" >/dev/null 2>"$t/err"; local got=$?
    if [ "$got" != "$want" ]; then echo "FAIL: '$*' exited $got, expected $want" >&2; cat "$t/err" >&2; fail=1; fi
}

status 0 ck-synth -o "$t/a" --classes 5 --train 50 --test 20 --seed 3 -j 1
check "train images" test "$(ls "$t/a/train" | wc -l)" = 50
check "test images" test "$(ls "$t/a/test" | wc -l)" = 20
check "first/last names" test -s "$t/a/train/train_00000.png" -a -s "$t/a/train/train_00049.png" -a -s "$t/a/test/test_00019.png"
check "png signature" test "$(head -c 8 "$t/a/train/train_00000.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
check "train_master header" test "$(head -1 "$t/a/train_master.tsv")" = "$(printf 'file_name\tlabel_id')"
check "train_master rows" test "$(wc -l < "$t/a/train_master.tsv")" = 51
check "balanced" test "$(tail -n +2 "$t/a/train_master.tsv" | cut -f2 | sort | uniq -c | awk '{print $1}' | sort -u)" = 10
check "label_master" test "$(sed -n 2p "$t/a/label_master.tsv")" = "$(printf '0\tred_circle_plain')"
check "label_master rows" test "$(wc -l < "$t/a/label_master.tsv")" = 6
check "test_labels" test "$(wc -l < "$t/a/test_labels.tsv")" = 21
check "sample_submit no header" test "$(head -1 "$t/a/sample_submit.csv")" = "test_00000.png,0.2,0.2,0.2,0.2,0.2"
check "sample_submit rows" test "$(wc -l < "$t/a/sample_submit.csv")" = 20
check "no leftovers" test -z "$(find "$t/a" -name '*.tmp*')"

# The tables read back with ck-split (and the labels match label_master).
status 0 ck-split -m "$t/a/train_master.tsv" -l "$t/a/label_master.tsv" --val 0.2 -o "$t/split" -q

# Same seed: same bytes at any -j; another seed: other images.
status 0 ck-synth -o "$t/b" --classes 5 --train 50 --test 20 --seed 3 -j 3
check "same bytes at -j 3" diff -r "$t/a" "$t/b"
status 0 ck-synth -o "$t/c" --classes 5 --train 50 --test 20 --seed 4
check "seed matters" not cmp -s "$t/a/train/train_00000.png" "$t/c/train/train_00000.png"

# Folder-per-class layout.
status 0 ck-synth -o "$t/f" --classes 3 --train 12 --test 3 --layout folders --size 16
check "class folders" test "$(ls "$t/f/train" | tr '\n' ' ')" = "orange_square_stripes red_circle_plain yellow_triangle_checks "
check "images in folders" test "$(find "$t/f/train" -name '*.png' | wc -l)" = 12
check "no train_master" test ! -e "$t/f/train_master.tsv"
check "test labels are names" grep -q 'red_circle_plain' "$t/f/test_labels.tsv"
status 0 ck-split -m "$t/f/train" --folds 2 -o "$t/fsplit" -q

# Errors.
status 1 ck-synth -o "$t/a" --train 1 --test 1
check "refuses non-empty" grep -q 'not empty' "$t/err"
status 0 ck-synth -o "$t/a" --train 1 --test 1 --classes 5 --seed 3 --force
status 2 ck-synth
status 2 ck-synth -o "$t/z" --classes 0
status 2 ck-synth -o "$t/z" --classes 281
status 2 ck-synth -o "$t/z" --size 4
status 2 ck-synth -o "$t/z" --layout zip
status 2 ck-synth -o "$t/z" --nope
check "usage hint" grep -q "Try 'ck-synth --help'" "$t/err"
status 0 ck-synth --help
status 1 ck-synth -o /proc/ck-synth-cannot --train 2 --test 0
exit $fail
