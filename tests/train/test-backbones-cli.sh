#!/bin/bash
# Every backbone through the whole pipeline: ResNet50 (Keras v1 .h5 and
# torchvision v1.5 safetensors) and VGG19 random weights on a tiny
# synthetic contest learn with the feature cache and with on-the-fly
# augmentation, train an unfrozen ResNet stage, record arch and layout in
# the checkpoint, resume bit-exactly after SIGINT, predict with TTA, and
# average models of different backbones; a checkpoint refuses a base of
# another backbone.
. "$CK_TESTDATA/lib.sh" ck-finetune ck-predict ck-weights ck-synth ck-eval

ck-synth -o data --classes 3 --train 64 --test 8 --size 32 --seed 4 >/dev/null 2>&1 || exit 1
ck-weights random --arch resnet50 --seed 3 -o r50.h5 2>/dev/null || exit 1
ck-weights random --arch resnet50 --layout torchvision --seed 3 -o r50tv.safetensors 2>/dev/null || exit 1
ck-weights random --arch vgg19 --seed 3 -o v19.h5 2>/dev/null || exit 1
BASE="--train data/train_master.tsv --images data/train --labels data/label_master.tsv --input-size 32
      --batch 16 --threads 1 --seed 7 --batchnorm --lr 0.001 --val 0.2"

# --- every backbone learns from cached features -----------------------------
for w in r50.h5 r50tv.safetensors v19.h5; do
  ck-finetune $BASE --weights $w --epochs 4 -o $w.ckpt 2> $w.log
  check "[ \$? -eq 0 ] && [ -s $w.ckpt ]"
  check "grep -q 'Cached' $w.log"
  # the loss falls: first epoch's loss above the last one's
  first=$(grep -m1 '^Epoch 1/' $w.log | sed 's/.* loss: \([0-9.]*\) .*/\1/')
  last=$(grep '^Epoch 4/' $w.log | sed 's/.* loss: \([0-9.]*\) .*/\1/')
  check "awk 'BEGIN { exit !($last < $first) }'"
done
# the checkpoint records the backbone, its layout and the preprocessing (its
# metadata is JSON inside a JSON string: quotes are escaped)
meta() { head -c 8192 "$1" | tr -d '\\'; }
check "meta r50.h5.ckpt | grep -q '\"name\":\"resnet50\",\"layout\":\"keras\"'"
check "meta r50tv.safetensors.ckpt | grep -q '\"layout\":\"torchvision\"'"
check "meta r50tv.safetensors.ckpt | grep -q '\"kind\":\"torch\",\"order\":\"RGB\"'"
check "meta v19.h5.ckpt | grep -q '\"name\":\"vgg19\"'"

# --- conv5 trained, on-the-fly augmentation (no cache), SIGINT + resume -------
ck-finetune $BASE --weights r50.h5 --epochs 2 --unfreeze conv5 --aug flip=h -o full.ckpt 2> full.log
check "[ \$? -eq 0 ]"
CK_FAULT_SIGINT_STEP=7 ck-finetune $BASE --weights r50.h5 --epochs 2 --unfreeze conv5 --aug flip=h -o int.ckpt 2> int.log
check "[ \$? -eq 130 ] && [ -s int.last.ckpt ]"
ck-finetune --resume int.last.ckpt 2> res.log
check "[ \$? -eq 0 ] && grep -q 'Epoch 2/2' res.log"
# resumed = uninterrupted, to the byte of the predictions
ck-predict -m full.ckpt --images data/test -o a.csv 2>/dev/null
ck-predict -m int.ckpt --images data/test -o b.csv 2>/dev/null
check "[ -s a.csv ] && cmp -s a.csv b.csv"

# --- prediction: TTA, and an ensemble of different backbones ------------------
ck-predict -m r50.h5.ckpt -m v19.h5.ckpt -m r50tv.safetensors.ckpt --tta flip --images data/test \
  --order data/sample_submit.csv -o ens.csv 2> ens.log
check "[ \$? -eq 0 ] && grep -q '3 models x 2 views' ens.log"
check "ck-eval --check data/sample_submit.csv ens.csv >/dev/null"

# --- a checkpoint with another backbone's weights under its base's name is
# refused (by its sha256, before any backbone could be confused) ------------
mv r50.h5 moved.h5
ck-weights random --arch vgg16 --seed 3 -o r50.h5 2>/dev/null
ck-predict -m r50.h5.ckpt --images data/test -o x.csv 2> err.txt
check "[ \$? -eq 1 ] && [ ! -e x.csv ]"
cat err.txt
exit $((fails > 0))
