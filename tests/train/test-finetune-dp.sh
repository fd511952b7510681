#!/bin/bash
# Data-parallel ck-finetune (--gpus) on CPU replicas ("cpu,cpu", the
# testing aid): the same code as on GPUs but the in-process all-reduce.
# Without dropout, the split batch gives the single-replica gradient up to
# rounding, so the learning curves must agree closely and reach the same
# accuracy; cached and uncached inputs, uneven and empty shards, class
# weights, exact resume; --gpus 0 without a usable GPU exits 1; bad placements exit 2.
. "$CK_TESTDATA/lib.sh" ck-finetune ck-weights

# 3 classes of noisy solid colours (as test-finetune-cli.sh).
D=data
mkdir -p $D/train
awk -v dir=$D 'BEGIN {
  srand(42); print "file_name\tlabel_id" > dir "/train_master.tsv"
  split("200 40 40 40 200 40 40 40 200", col, " ")
  for (i = 0; i < 96; i++) {
    c = i % 3; f = sprintf("train_%03d.ppm", i); p = dir "/train/" f
    printf "P3\n32 32\n255\n" > p
    for (y = 0; y < 32; y++) for (x = 0; x < 32; x++) {
      for (k = 1; k <= 3; k++) { v = col[c*3+k] + int(rand()*60) - 30; printf "%d ", (v < 0 ? 0 : v) > p }
      printf "\n" > p
    }
    close(p); printf "%s\t%d\n", f, c > dir "/train_master.tsv"
  } }' || exit 1
printf 'label_id\tlabel_name\n0\tred\n1\tgreen\n2\tblue\n' > $D/label_master.tsv
ck-weights random --seed 5 -o w.h5 >/dev/null 2>&1 || exit 1
# Batch 15 over 2 replicas: shards of 8 and 7; the last batch of the 72
# training rows has 12. No dropout: masks differ per replica by design.
COMMON="--weights w.h5 --train $D/train_master.tsv --images $D/train --labels $D/label_master.tsv --input-size 32
  --batch 15 --threads 1 --seed 7 --conv-algo fp32 --val 0.25 --dropout 0 -q"

# Column c of every epoch agrees within tol·max(1,|x|) between two CSVs.
agree() {
  awk -F, -v c=$3 -v tol=$4 'NR == FNR { if (FNR > 1) a[FNR] = $c; next }
    FNR > 1 { n++; d = $c - a[FNR]; d = d < 0 ? -d : d; m = $c < 0 ? -$c : $c; m = m < 1 ? 1 : m
              if (!(FNR in a) || d > tol * m) { print "epoch " FNR - 1 ": " a[FNR] " vs " $c; bad = 1 } }
    END { exit bad || n == 0 }' "$1" "$2"
}

# --- cached features: single replica vs 2 replicas --------------------------
ck-finetune $COMMON --epochs 6 --log single.csv -o single.ckpt
check "[ \$? -eq 0 ]"
ck-finetune $COMMON --epochs 6 --gpus cpu,cpu --log dp.csv -o dp.ckpt 2> dp.log
check "[ \$? -eq 0 ] && [ -s dp.ckpt ] && [ -s dp.last.ckpt ]"
paste -d' ' single.csv dp.csv
check "agree single.csv dp.csv 2 1e-3"   # train loss, every epoch
# The first epoch: same global batches, same gradients up to rounding.
check "awk -F, 'NR == FNR && FNR == 2 { a = \$2 } NR > FNR && FNR == 2 { d = (\$2 - a) / a; exit !(d < 1e-5 && d > -1e-5) }' single.csv dp.csv"
check "agree single.csv dp.csv 3 1e-6"   # train accuracy
check "agree single.csv dp.csv 5 1e-6"   # val accuracy
best=$(awk -F, 'NR>1 && $5>m {m=$5} END {print m+0}' dp.csv)
echo "best val_acc with 2 replicas: $best"
check "awk -v a=$best 'BEGIN {exit !(a >= 0.95)}'"
check "[ -z \"\$(ls | grep '\.tmp\.')\" ]"

# --- exact resume with replicas: 3 epochs, then 3 more = 6 at once -----------
ck-finetune $COMMON --epochs 3 --gpus cpu,cpu -o half.ckpt
ck-finetune --resume half.last.ckpt --epochs 6 --gpus cpu,cpu -q --log resumed.csv -o half.ckpt
check "[ \$? -eq 0 ] && agree dp.csv resumed.csv 2 0 && agree dp.csv resumed.csv 4 0"

# --- uncached (images every step), 4 replicas, class weights on an
# unbalanced subset: 79 rows in batches of 13 give shards of 4,3,3,3 and a
# last batch of 1, which leaves 3 shards empty ------------------------------
head -n 80 $D/train_master.tsv > unbalanced.tsv
UNC="--weights w.h5 --train unbalanced.tsv --images $D/train --labels $D/label_master.tsv --input-size 32
  --batch 13 --threads 1 --seed 7 --conv-algo fp32 --val 0 --dropout 0 -q --cache none --class-weight auto --epochs 1"
ck-finetune $UNC --log u1.csv -o u1.ckpt
ck-finetune $UNC --gpus cpu,cpu,cpu,cpu --log u4.csv -o u4.ckpt
check "[ \$? -eq 0 ] && [ -s u4.ckpt ] && agree u1.csv u4.csv 2 1e-5 && agree u1.csv u4.csv 3 1e-6"

# --- no usable GPU: runtime error, exit 1, clear message ---------------------
ck-finetune $COMMON --epochs 1 --gpus 0 -o g.ckpt 2> gpu.txt
rc=$?
cat gpu.txt
if [ $rc -eq 0 ]; then
  echo "a GPU is usable here: skipping the no-GPU check"
else
  check "[ $rc -eq 1 ] && grep -qi 'cuda' gpu.txt && grep -q -- '--gpus 0' gpu.txt && [ ! -e g.ckpt ]"
  ck-finetune $COMMON --epochs 1 --gpus all -o g.ckpt 2> gpu.txt
  check "[ \$? -eq 1 ] && grep -q 'no usable CUDA device' gpu.txt"
fi

# --- placement usage errors: exit 2 ------------------------------------------
ck-finetune $COMMON --gpus cpu --nodes 2 -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q 'nccl-id-file' err.txt"
ck-finetune $COMMON --gpus cpu --nodes 2 --node-rank 2 --nccl-id-file id -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q 'node-rank' err.txt"
ck-finetune $COMMON --gpus cpu,,cpu -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q -- \"--gpus: 'cpu,,cpu'\" err.txt"
ck-finetune --help | grep -q -- '--gpus'
check "[ \$? -eq 0 ]"

exit $((fails > 0))
