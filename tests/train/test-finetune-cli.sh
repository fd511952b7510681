#!/bin/bash
# ck-finetune end to end on a tiny synthetic contest with random base
# weights: learns, writes checkpoints/curves, usage errors exit 2, bad
# inputs exit 1 naming the file, --summary totals, SIGINT -> 130 + resume.
. "$CK_TESTDATA/lib.sh" ck-finetune ck-weights

# 3 classes of noisy solid colours (red, green, blue), 32x32 PPM (text)
# images that libvips reads: separable even by a random-weight VGG16.
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
# BASE without --train for the runs on other manifests (a second --train
# would add a training set).
BASE="--weights w.h5 --images $D/train --labels $D/label_master.tsv --input-size 32 --batch 16 --threads 1 --seed 7 --conv-algo fp32"
COMMON="--train $D/train_master.tsv $BASE"

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
check "awk -v a=$best 'BEGIN {exit !(a >= 0.95)}'"
check "[ -z \"\$(ls | grep '\.tmp\.')\" ]"
# the best checkpoint is the epoch with the lowest val_loss
bestep=$(awk -F, 'NR>1 && (m=="" || $4<m) {m=$4; e=$1} END {print e}' epochs.csv)
check "grep -q \"Epoch $bestep/8.*\\*\$\" train.log"

# --- k-fold, cached augmented views, schedule, PNG-free plot, val manifest --
ck-finetune $COMMON --epochs 2 --folds 4 --fold 1 --aug flip=h,rotate=10 --aug-views 2 \
  --schedule cosine --warmup 1 --class-weight auto --label-smoothing 0.1 --optimizer sgd --nesterov -o k.ckpt 2> k.log
check "[ \$? -eq 0 ] && grep -q 'fold 1 of 4' k.log && grep -q 'Cached 168 feature maps' k.log"
ck-finetune $COMMON --epochs 1 --val-manifest $D/train_master.tsv --aug flip=h -o v.ckpt 2> v.log
check "[ \$? -eq 0 ] && grep -q 'validating on 96' v.log && grep -q 'no feature cache' v.log"

# --- divergence: exit 1, clear message, nothing written ----------------------
ck-finetune $COMMON --epochs 2 --optimizer sgd --lr 1e30 -o nan.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'diverged' err.txt && [ ! -e nan.ckpt ]"

# --- folder-per-class input ----------------------------------------------------
mkdir -p folders/red folders/green folders/blue
tail -n +2 $D/train_master.tsv | head -48 | while IFS=$'\t' read f l; do
  case $l in 0) c=red;; 1) c=green;; *) c=blue;; esac
  cp $D/train/$f folders/$c/
done
ck-finetune --weights w.h5 --train folders/ --conv-algo fp32 --input-size 32 --batch 16 --epochs 1 -q -o f.ckpt
check "[ \$? -eq 0 ] && [ -s f.ckpt ]"

# --- usage errors: exit 2 ---------------------------------------------------
ck-finetune --bogus 2> err.txt; check "[ \$? -eq 2 ] && grep -q \"Try 'ck-finetune --help'\" err.txt"
ck-finetune $COMMON --input-size 40 -o x.ckpt 2> err.txt; check "[ \$? -eq 2 ] && grep -q 'input-size' err.txt"
ck-finetune $COMMON --lr abc -o x.ckpt 2> err.txt; check "[ \$? -eq 2 ] && grep -q 'lr' err.txt"
ck-finetune $COMMON --unfreeze block4 -o x.ckpt 2> err.txt; check "[ \$? -eq 2 ] && grep -q 'top ones' err.txt"
ck-finetune --weights w.h5 --train $D/train_master.tsv 2> err.txt; check "[ \$? -eq 2 ] && grep -q -- '-o' err.txt"
ck-finetune --help > help.txt; check "[ \$? -eq 0 ] && grep -q 'EXIT\|Exit status' help.txt"

# --- bad inputs: exit 1 naming the file --------------------------------------
printf 'file_name\tlabel_id\ntrain_000.ppm\t0\ntrain_001.ppm\t7\n' > badlabel.tsv
ck-finetune $BASE --train badlabel.tsv -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'badlabel.tsv:3' err.txt && grep -q \"unknown label '7'\" err.txt"
printf 'file_name\tlabel_id\ntrain_000.ppm\t0\nnothere.png\t1\n' > missing.tsv
ck-finetune $BASE --train missing.tsv -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'missing.tsv:3' err.txt && grep -q 'nothere.png' err.txt"
printf 'file_name\tlabel_id\n' > empty.tsv
ck-finetune $BASE --train empty.tsv -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'empty.tsv' err.txt"
cp $D/train/train_002.ppm keep.ppm; : > $D/train/train_002.ppm
ck-finetune $COMMON --epochs 1 -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'train_master.tsv:4' err.txt && grep -q 'train_002.ppm.*0 bytes' err.txt"
cp keep.ppm $D/train/train_002.ppm
echo 'P3 not really' > $D/train/train_003.ppm
ck-finetune $COMMON --epochs 1 --cache none -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'train_003.ppm' err.txt"
cat err.txt
cp keep.ppm $D/train/train_003.ppm
head -c 100000 w.h5 > trunc.h5
ck-finetune $COMMON --weights trunc.h5 -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'trunc.h5' err.txt"
cat err.txt
check "[ ! -e x.ckpt ]"

# --- summary ---------------------------------------------------------------------
ck-finetune --summary --weights w.h5 --labels $D/label_master.tsv --head none > sum.txt
check "[ \$? -eq 0 ] && grep -q '14,714,688' sum.txt"
cat sum.txt | tail -5
# The backbone is the one the file holds: Keras' counts, BN statistics included.
ck-weights random --arch resnet50 --seed 2 -o r50.h5 2>/dev/null
ck-finetune --summary --weights r50.h5 --labels $D/label_master.tsv --head none > sum.txt
check "[ \$? -eq 0 ] && grep -q 'Model: \"resnet50\"' sum.txt && grep -q 'Non-trainable params: 23,587,712' sum.txt"
ck-finetune --summary --weights r50.h5 --labels $D/label_master.tsv --head none --unfreeze conv5 > sum.txt
check "[ \$? -eq 0 ] && grep -q 'conv5_block3_3_bn (BatchNormalization)' sum.txt && ! grep -q 'Non-trainable params: 23,587,712' sum.txt"
ck-weights random --arch vgg19 --seed 2 -o v19.h5 2>/dev/null
ck-finetune --summary --weights v19.h5 --labels $D/label_master.tsv --head none > sum.txt
check "[ \$? -eq 0 ] && grep -q 'Non-trainable params: 20,024,384' sum.txt"
rm -f r50.h5 v19.h5

# --- SIGINT: exit 130, resumable, no temporaries -----------------------------
# The test hook raises SIGINT after optimizer step 7: 77 training images in
# batches of 16 are 5 steps an epoch, so mid-way through epoch 2.
CK_FAULT_SIGINT_STEP=7 ck-finetune $COMMON --epochs 3 --cache none --progress -o int.ckpt 2> int.log
rc=$?
tail -2 int.log
check "[ $rc -eq 130 ]"
check "[ -s int.last.ckpt ] && grep -q -- '--resume int.last.ckpt' int.log"
check "grep -q 'Interrupted after epoch 1 and a partial epoch' int.log"
check "[ -z \"\$(ls | grep '\.tmp\.')\" ]"
ck-finetune --resume int.last.ckpt 2> res.log
rc=$?
cat res.log
check "[ $rc -eq 0 ] && grep -q 'Resuming int.last.ckpt after epoch 1 and a partial epoch (optimizer step 7)' res.log"
check "grep -q 'Epoch 3/3' res.log"

# --- bounded counts and checked values: usage errors (exit 2) -----------------
ck-finetune $COMMON --threads 100000 -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q -- '--threads 100000: the limit is' err.txt"
ck-finetune $COMMON --loader-threads 100000 -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q -- '--loader-threads 100000: the limit is' err.txt"
ck-finetune $COMMON --momentum -5 -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q -- '--momentum: -5 is not in' err.txt"
ck-finetune $COMMON --aug bogus -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q 'bogus' err.txt"
ck-finetune $COMMON --device bogus -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q -- \"--device: 'bogus'\" err.txt"
ck-finetune $COMMON --gpus 0,,1 -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q -- \"--gpus: '0,,1'\" err.txt"
ck-finetune $COMMON --max-pixels -3 -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q -- '--max-pixels' err.txt"
check "[ ! -e x.ckpt ]"
# --max-pixels applies to the training images (32x32 = 1024 pixels).
ck-finetune $COMMON --epochs 1 --max-pixels 1000 -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'train_0.*ppm: 32x32 is 1024 pixels, over the limit of 1000' err.txt"

# --- degenerate data: errors and warnings ------------------------------------
# A class of the label file without training images: a warning naming it.
cp $D/label_master.tsv labels4.tsv; printf '3\tyellow\n' >> labels4.tsv
ck-finetune $COMMON --labels labels4.tsv --epochs 1 --val 0 -q -o x4.ckpt 2> err.txt
check "[ \$? -eq 0 ] && grep -q \"warning: class 'yellow' (id 3) has no training images\" err.txt"
# One class of images and a 20-class label file: an error before training.
awk 'NR == 1 || $2 == 0' $D/train_master.tsv > one.tsv
awk 'BEGIN { print "label_id\tlabel_name"; for (i = 0; i < 20; i++) print i "\tc" i }' > labels20.tsv
ck-finetune $BASE --train one.tsv --labels labels20.tsv --epochs 1 -o x1.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q \"one.tsv: every image is in class 'c0' but labels20.tsv has 20 classes\" err.txt && [ ! -e x1.ckpt ]"
# --val-manifest equal to --train: a warning (the run above, v.log).
check "grep -q 'warning: --val-manifest .* is the training manifest' v.log"
# A FIFO in a class folder: skipped with a warning, no hang.
mkfifo folders/red/fifo.ppm
timeout 300 ck-finetune --weights w.h5 --train folders/ --conv-algo fp32 --input-size 32 --batch 16 --epochs 1 -q \
  -o ff.ckpt 2> err.txt
check "[ \$? -eq 0 ] && grep -q 'skipped 1 entry that is not a regular file (first: folders/red/fifo.ppm)' err.txt"
rm -f folders/red/fifo.ppm
# Resuming on changed training data: refused, with the counts.
cp $D/train_master.tsv m2.tsv
ck-finetune $BASE --train m2.tsv --epochs 1 -q -o r.ckpt 2> /dev/null
check "[ \$? -eq 0 ] && [ -s r.last.ckpt ]"
head -n -3 $D/train_master.tsv > m2.tsv
ck-finetune --resume r.last.ckpt --epochs 2 -q 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'm2.tsv: the training data changed since the checkpoint was saved (96 rows then, 93 now)' err.txt"
cp $D/train_master.tsv m2.tsv
ck-finetune --resume r.last.ckpt --epochs 2 -q 2> err.txt
check "[ \$? -eq 0 ]"

exit $((fails > 0))
