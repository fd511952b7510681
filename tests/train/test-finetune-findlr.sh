#!/bin/bash
# ck-finetune --find-lr end to end on a tiny ck-synth contest with random
# base weights: prints a suggestion in a sensible range on stdout, writes
# the plot (SVG, and PNG where libvips renders SVG), no checkpoint; usage
# errors exit 2.
. "$CK_TESTDATA/lib.sh" ck-finetune ck-weights ck-synth

ck-synth -o d -c 3 -n 96 -t 4 >/dev/null 2>&1 || { echo "FAILED: ck-synth"; exit 1; }
ck-weights random --seed 5 -o w.h5 >/dev/null 2>&1 || { echo "FAILED: ck-weights"; exit 1; }
# Batch norm and no dropout: a loss smooth enough that its steepest fall
# is the real one on 96 images.
COMMON="--weights w.h5 --train d/train_master.tsv --images d/train --labels d/label_master.tsv --input-size 32
  --batch 16 --val 0 --threads 1 --conv-algo fp32 --batchnorm --dropout 0"

ck-finetune $COMMON --find-lr --plot lr.svg > out.txt 2> err.txt
rc=$?
cat out.txt err.txt
check "[ $rc -eq 0 ]"
check "[ \$(wc -l < out.txt) -eq 1 ] && grep -Eq '^suggested lr: [0-9.e+-]+$' out.txt"
lr=$(sed -n 's/^suggested lr: //p' out.txt)
# Adam on a separable head: the loss falls fastest between 1e-4 and 0.1
check "awk -v x='$lr' 'BEGIN {exit !(x >= 1e-4 && x <= 0.1)}'"
check "grep -q 'Learning-rate range test: [0-9]* steps, lr 1e-07 to' err.txt"
check "grep -q '<svg' lr.svg && grep -q 'learning rate (log scale)' lr.svg && grep -q 'suggested' lr.svg"
check "[ -z \"\$(ls | grep -E '\.ckpt|\.tmp\.')\" ]"
# --find-lr-steps, and the same suggestion again (seeded)
ck-finetune $COMMON --find-lr --find-lr-steps 30 -q > out30.txt
check "[ \$? -eq 0 ] && grep -q '^suggested lr: ' out30.txt"
ck-finetune $COMMON --find-lr -q > again.txt
check "cmp -s out.txt again.txt"
# PNG when this libvips renders SVG (the learning curves' rule)
ck-finetune $COMMON --find-lr -q --plot lr.png > /dev/null 2> png.err
if [ $? -eq 0 ]; then
  check "[ -s lr.svg ] && [ \"\$(head -c 4 lr.png | tail -c 3)\" = PNG ]"
else
  check "grep -q 'cannot load SVG' png.err"
fi

# --- usage errors: exit 2 --------------------------------------------------
ck-finetune $COMMON --find-lr --find-lr-steps 3 2> err.txt; check "[ \$? -eq 2 ] && grep -q 'find-lr-steps' err.txt"
ck-finetune --resume x.ckpt --find-lr 2> err.txt; check "[ \$? -eq 2 ] && grep -q 'not with --resume' err.txt"
ck-finetune --weights w.h5 --find-lr 2> err.txt; check "[ \$? -eq 2 ] && grep -q -- '--train' err.txt"
ck-finetune --help | grep -q -- '--find-lr-steps'; check "[ \$? -eq 0 ]"
exit $((fails > 0))
