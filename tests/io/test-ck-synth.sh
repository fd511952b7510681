#!/bin/bash
# ck-synth: SIGNATE layout, counts, determinism by seed and -j, folders layout.
. "$CK_TESTDATA/lib.sh" ck-synth ck-split

expect 0 ck-synth -o "$T/a" --classes 5 --train 50 --test 20 --seed 3 -j 1
ok "train images" test "$(ls "$T/a/train" | wc -l)" = 50
ok "test images" test "$(ls "$T/a/test" | wc -l)" = 20
ok "first/last names" test -s "$T/a/train/train_00000.png" -a -s "$T/a/train/train_00049.png" -a -s "$T/a/test/test_00019.png"
ok "png signature" test "$(head -c 8 "$T/a/train/train_00000.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
ok "train_master header" test "$(head -1 "$T/a/train_master.tsv")" = "$(printf 'file_name\tlabel_id')"
ok "train_master rows" test "$(wc -l < "$T/a/train_master.tsv")" = 51
ok "balanced" test "$(tail -n +2 "$T/a/train_master.tsv" | cut -f2 | sort | uniq -c | awk '{print $1}' | sort -u)" = 10
ok "label_master" test "$(sed -n 2p "$T/a/label_master.tsv")" = "$(printf '0\tred_circle_plain')"
ok "label_master rows" test "$(wc -l < "$T/a/label_master.tsv")" = 6
ok "test_labels" test "$(wc -l < "$T/a/test_labels.tsv")" = 21
ok "sample_submit no header" test "$(head -1 "$T/a/sample_submit.csv")" = "test_00000.png,0.2,0.2,0.2,0.2,0.2"
ok "sample_submit rows" test "$(wc -l < "$T/a/sample_submit.csv")" = 20
ok "no leftovers" test -z "$(find "$T/a" -name '*.tmp*')"

# The tables read back with ck-split (and the labels match label_master).
expect 0 ck-split -m "$T/a/train_master.tsv" -l "$T/a/label_master.tsv" --val 0.2 -o "$T/split" -q

# Same seed: same bytes at any -j; another seed: other images.
expect 0 ck-synth -o "$T/b" --classes 5 --train 50 --test 20 --seed 3 -j 3
ok "same bytes at -j 3" diff -r "$T/a" "$T/b"
expect 0 ck-synth -o "$T/c" --classes 5 --train 50 --test 20 --seed 4
ok "seed matters" not cmp -s "$T/a/train/train_00000.png" "$T/c/train/train_00000.png"

# Folder-per-class layout.
expect 0 ck-synth -o "$T/f" --classes 3 --train 12 --test 3 --layout folders --size 16
ok "class folders" test "$(ls "$T/f/train" | tr '\n' ' ')" = "orange_square_stripes red_circle_plain yellow_triangle_checks "
ok "images in folders" test "$(find "$T/f/train" -name '*.png' | wc -l)" = 12
ok "no train_master" test ! -e "$T/f/train_master.tsv"
ok "test labels are names" grep -q 'red_circle_plain' "$T/f/test_labels.tsv"
expect 0 ck-split -m "$T/f/train" --folds 2 -o "$T/fsplit" -q

# Errors.
expect 1 ck-synth -o "$T/a" --train 1 --test 1
ok "refuses non-empty" grep -q 'not empty' "$T/err"
expect 0 ck-synth -o "$T/a" --train 1 --test 1 --classes 5 --seed 3 --force
expect 2 ck-synth
expect 2 ck-synth -o "$T/z" --classes 0
expect 2 ck-synth -o "$T/z" --classes 281
expect 2 ck-synth -o "$T/z" --size 4
expect 2 ck-synth -o "$T/z" --layout zip
expect 2 ck-synth -o "$T/z" --nope
ok "usage hint" grep -q "Try 'ck-synth --help'" "$T/err"
expect 0 ck-synth --help
expect 1 ck-synth -o /proc/ck-synth-cannot --train 2 --test 0
exit $((fails > 0))
