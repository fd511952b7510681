#!/bin/bash
# ck-split from the command line: outputs, styles, determinism, exit codes.
. "$CK_TESTDATA/lib.sh" ck-split

# A SIGNATE-style table: 3 classes of 10, 20 and 30 rows.
{
    printf 'file_name\tlabel_id\n'
    for i in $(seq 0 59); do
        if [ $i -lt 10 ]; then c=0; elif [ $i -lt 30 ]; then c=1; else c=2; fi
        printf 'train_%05d.png\t%d\n' $i $c
    done
} > "$T/train_master.tsv"
printf 'label_id\tlabel_name\n0\tzero\n1\tone\n2\ttwo\n' > "$T/label_master.tsv"

expect 0 ck-split -m "$T/train_master.tsv" --val 0.3 --seed 5 -o "$T/a"
ok "holdout files" test -s "$T/a/train.tsv" -a -s "$T/a/val.tsv"
ok "header kept" test "$(head -1 "$T/a/val.tsv")" = "$(printf 'file_name\tlabel_id')"
ok "val rows" test "$(tail -n +2 "$T/a/val.tsv" | wc -l)" = 18
ok "train rows" test "$(tail -n +2 "$T/a/train.tsv" | wc -l)" = 42
ok "stratified" test "$(tail -n +2 "$T/a/val.tsv" | cut -f2 | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')" = "0:3 1:6 2:9 "
ok "disjoint and complete" test "$(tail -q -n +2 "$T/a/train.tsv" "$T/a/val.tsv" | sort | uniq | wc -l)" = 60

# Same seed, same split; another seed, another split.
expect 0 ck-split -m "$T/train_master.tsv" --val 0.3 --seed 5 -o "$T/b" -q
ok "deterministic" cmp -s "$T/a/val.tsv" "$T/b/val.tsv"
expect 0 ck-split -m "$T/train_master.tsv" --val 0.3 --seed 6 -o "$T/c" -q
ok "seed matters" not cmp -s "$T/a/val.tsv" "$T/c/val.tsv"

# Per-class table on stderr, with names from --labels.
ck-split -m "$T/train_master.tsv" -l "$T/label_master.tsv" --val 0.3 -o "$T/d" 2>"$T/table" >"$T/stdout"
ok "counts table" grep -q '^2 two  *30  *21  *9$' "$T/table"
ok "total line" grep -q '^total  *60  *42  *18$' "$T/table"
ok "nothing on stdout" test ! -s "$T/stdout"

# k-fold: every row in exactly one validation file.
expect 0 ck-split -m "$T/train_master.tsv" --folds 4 -o "$T/k" -q
ok "fold files" test -s "$T/k/fold3_train.tsv" -a -s "$T/k/fold3_val.tsv"
ok "folds cover all" test "$(tail -q -n +2 "$T"/k/fold?_val.tsv | sort -u | wc -l)" = 60
ok "folds disjoint" test "$(tail -q -n +2 "$T"/k/fold?_val.tsv | wc -l)" = 60
ok "fold sizes" test "$(tail -n +2 "$T/k/fold0_train.tsv" | wc -l)" = 45

# CSV without header stays CSV without header.
tail -n +2 "$T/train_master.tsv" | tr '\t' ',' > "$T/plain.csv"
expect 0 ck-split -m "$T/plain.csv" --val 0.5 -o "$T/e" -q
ok "csv output" test -s "$T/e/val.csv"
ok "no header" grep -q '^train_[0-9]*\.png,[0-2]$' <(head -1 "$T/e/val.csv")

# Folder-per-class input.
mkdir -p "$T/tree/cat" "$T/tree/dog"
for i in 1 2 3 4; do : > "$T/tree/cat/c$i.png"; : > "$T/tree/dog/d$i.png"; done
expect 0 ck-split -m "$T/tree" --val 0.5 -o "$T/f" -q
ok "folders" test "$(tail -n +2 "$T/f/val.tsv" | cut -f2 | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" = "2 2 "

# Errors: usage -> 2, runtime -> 1 with the file named.
expect 0 ck-split --help
ok "help mentions EXIT" sh -c "ck-split --help | grep -q 'Exit status'"
expect 2 ck-split
expect 2 ck-split -m "$T/train_master.tsv"
expect 2 ck-split -m "$T/train_master.tsv" -o "$T/x" --val 1.5
expect 2 ck-split -m "$T/train_master.tsv" -o "$T/x" --val 0.3 --folds 3
expect 2 ck-split -m "$T/train_master.tsv" -o "$T/x" --folds 1
expect 2 ck-split -m "$T/train_master.tsv" -o "$T/x" --bogus
expect 2 ck-split -m "$T/train_master.tsv" -o "$T/x" extra
ok "usage hint" grep -q "Try 'ck-split --help'" "$T/err"
expect 1 ck-split -m "$T/missing.tsv" -o "$T/x"
ok "names missing file" grep -q 'missing.tsv' "$T/err"
printf 'file_name\tlabel_id\na.png\t1\nb.png\n' > "$T/bad.tsv"
expect 1 ck-split -m "$T/bad.tsv" -o "$T/x"
ok "names line" grep -q 'bad.tsv:3: expected 2 fields, found 1' "$T/err"
printf 'file_name\tlabel_id\na.png\t1\nb.png\t7\n' > "$T/unk.tsv"
expect 1 ck-split -m "$T/unk.tsv" -l "$T/label_master.tsv" -o "$T/x"
ok "unknown label" grep -q "unk.tsv:3: unknown label '7'" "$T/err"
ok "nothing half-written" test ! -e "$T/x/train.tsv"

exit $((fails > 0))
