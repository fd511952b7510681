#!/bin/bash
# ck-finetune end to end on a tiny synthetic contest with random base
# weights: learns, writes checkpoints/curves, usage errors exit 2, bad
# inputs exit 1 naming the file, --summary totals, SIGINT -> 130 + resume.
set -u
command -v ck-finetune >/dev/null || { echo "ck-finetune not built"; exit 77; }
command -v ck-synth >/dev/null && command -v ck-weights >/dev/null || { echo "needs ck-synth, ck-weights"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail=0
check() { if ! eval "$1"; then echo "FAILED: $1"; fail=1; fi; }

ck-synth -o syn --classes 3 --train 96 --test 6 --size 32 --seed 3 -j 2 || exit 1
ck-weights random --seed 5 -o w.h5 >/dev/null 2>&1 || exit 1
D=syn
COMMON="--weights w.h5 --train $D/train_master.tsv --images $D/train --labels $D/label_master.tsv --input-size 32 --batch 16 --threads 1 --seed 7"

# --- learns ------------------------------------------------------------------
ck-finetune $COMMON --epochs 8 --lr 0.001 --val 0.25 --log epochs.csv --plot curves.svg -o model.ckpt 2> train.log
rc=$?
cat train.log
check "[ $rc -eq 0 ]"
check "[ -s model.ckpt ] && [ -s model.last.ckpt ]"
check "grep -q '^epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds$' epochs.csv"
check "[ \$(wc -l < epochs.csv) -eq 9 ]"
check "grep -q '<svg' curves.svg && grep -q 'validation' curves.svg"
check "grep -q 'Epoch 8/8' train.log"
check "grep -q 'Feature cache: epoch 1 took' train.log"
best=$(awk -F, 'NR>1 && $5>m {m=$5} END {print m+0}' epochs.csv)
echo "best val_acc $best"
check "awk -v a=$best 'BEGIN {exit !(a >= 0.8)}'"
check "[ -z \"\$(ls | grep '\.tmp\.')\" ]"

# --- folder-per-class input ----------------------------------------------------
mkdir -p folders
for f in $(tail -n +2 $D/train_master.tsv | head -48 | cut -f1); do
  l=$(grep -P "^$f\t" $D/train_master.tsv | cut -f2)
  mkdir -p folders/c$l && cp $D/train/$f folders/c$l/
done
ck-finetune --weights w.h5 --train folders/ --input-size 32 --batch 16 --epochs 1 -q -o f.ckpt
check "[ \$? -eq 0 ] && [ -s f.ckpt ]"

# --- usage errors: exit 2 ---------------------------------------------------
ck-finetune --bogus 2> err.txt; check "[ \$? -eq 2 ] && grep -q \"Try 'ck-finetune --help'\" err.txt"
ck-finetune $COMMON --input-size 40 -o x.ckpt 2> err.txt; check "[ \$? -eq 2 ] && grep -q 'input-size' err.txt"
ck-finetune $COMMON --lr abc -o x.ckpt 2> err.txt; check "[ \$? -eq 2 ] && grep -q 'lr' err.txt"
ck-finetune $COMMON --unfreeze block4 -o x.ckpt 2> err.txt; check "[ \$? -eq 2 ] && grep -q 'top ones' err.txt"
ck-finetune --weights w.h5 --train $D/train_master.tsv 2> err.txt; check "[ \$? -eq 2 ] && grep -q -- '-o' err.txt"
ck-finetune --help > help.txt; check "[ \$? -eq 0 ] && grep -q 'EXIT\|Exit status' help.txt"

# --- bad inputs: exit 1 naming the file --------------------------------------
printf 'file_name\tlabel_id\ntrain_00000.png\t0\ntrain_00001.png\t7\n' > badlabel.tsv
ck-finetune $COMMON --train badlabel.tsv -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'badlabel.tsv:3' err.txt && grep -q \"unknown label '7'\" err.txt"
printf 'file_name\tlabel_id\ntrain_00000.png\t0\nnothere.png\t1\n' > missing.tsv
ck-finetune $COMMON --train missing.tsv -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'missing.tsv:3' err.txt && grep -q 'nothere.png' err.txt"
printf 'file_name\tlabel_id\n' > empty.tsv
ck-finetune $COMMON --train empty.tsv -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'empty.tsv' err.txt"
cp $D/train/train_00002.png keep.png; : > $D/train/train_00002.png
ck-finetune $COMMON --epochs 1 -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'train_00002.png' err.txt"
cp keep.png $D/train/train_00002.png
head -c 100000 w.h5 > trunc.h5
ck-finetune $COMMON --weights trunc.h5 -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'trunc.h5' err.txt"
cat err.txt
check "[ ! -e x.ckpt ]"

# --- summary ---------------------------------------------------------------------
ck-finetune --summary --weights w.h5 --labels $D/label_master.tsv --head none > sum.txt
check "[ \$? -eq 0 ] && grep -q '14,714,688' sum.txt"
cat sum.txt | tail -5

# --- SIGINT: exit 130, resumable, no temporaries -----------------------------
ck-finetune $COMMON --epochs 400 --cache none --progress -o int.ckpt 2> int.log &
pid=$!
for i in $(seq 1 600); do [ -e int.last.ckpt ] && break; sleep 0.1; done
sleep 0.3
kill -INT $pid
wait $pid
rc=$?
tail -2 int.log
check "[ $rc -eq 130 ]"
check "[ -s int.last.ckpt ] && grep -q -- '--resume int.last.ckpt' int.log"
check "[ -z \"\$(ls | grep '\.tmp\.')\" ]"
done_ep=$(sed -n 's/.*Interrupted after epoch \([0-9]*\).*/\1/p' int.log)
check "[ -n '$done_ep' ]"
ck-finetune --resume int.last.ckpt --epochs $((done_ep + 1)) 2> res.log
rc=$?
cat res.log
check "[ $rc -eq 0 ] && grep -q 'Resuming int.last.ckpt' res.log && grep -q \"Epoch $((done_ep + 1))/$((done_ep + 1))\" res.log"

exit $fail
