#!/bin/bash
# ck-finetune with --train/--images given twice: the second set joins the
# training rows (the log counts them), never the validation split (the
# folds of the first set are those of a run without it); pairing errors
# are usage errors.
. "$CK_TESTDATA/lib.sh" ck-finetune ck-weights ck-synth

ck-synth -o a -c 3 -n 24 -t 2 >/dev/null 2>&1 || { echo "FAILED: ck-synth"; exit 1; }
ck-synth -o b -c 3 -n 12 -t 2 --seed 9 >/dev/null 2>&1 || { echo "FAILED: ck-synth"; exit 1; }
ck-weights random --seed 5 -o w.h5 >/dev/null 2>&1 || { echo "FAILED: ck-weights"; exit 1; }
C="--weights w.h5 --labels a/label_master.tsv --input-size 32 --batch 16 --threads 1 --conv-algo fp32 --epochs 1"
A="--train a/train_master.tsv --images a/train"
AB="--train a/train_master.tsv --train b/train_master.tsv --images a/train --images b/train"

ck-finetune $C $A --folds 4 --fold 1 --log one.csv -o one.ckpt 2> one.log
check "[ \$? -eq 0 ] && grep -q 'Training on 18 images, validating on 6 (fold 1 of 4)' one.log"
ck-finetune $C $AB --folds 4 --fold 1 -o two.ckpt 2> two.log
cat two.log
check "[ \$? -eq 0 ] && grep -q 'Training set 2: b/train_master.tsv, 12 rows' two.log"
check "grep -q 'Training on 30 images, validating on 6 (fold 1 of 4)' two.log"
# holdout: the second set only trains
ck-finetune $C $AB --val 0.25 -o h.ckpt 2> h.log
check "[ \$? -eq 0 ] && grep -q 'Training on 30 images, validating on 6' h.log"
# a row of the second set with a label outside the label list: names the file
printf 'file_name\tlabel_id\n%s\t7\n' "$(ls b/train | head -1)" > bad.tsv
ck-finetune $C $A --train bad.tsv --images b/train -o x.ckpt 2> err.txt
check "[ \$? -eq 1 ] && grep -q 'bad.tsv' err.txt"

# --- pairing errors: exit 2 --------------------------------------------------
ck-finetune $C $A --train b/train_master.tsv -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q 'given 2 and 1 times' err.txt"
ck-finetune $C $A --images b/train -o x.ckpt 2> err.txt
check "[ \$? -eq 2 ] && grep -q 'given 1 and 2 times' err.txt"
check "[ ! -e x.ckpt ]"
exit $((fails > 0))
