#!/bin/bash
# examples/contest.mk end to end on a tiny synthetic contest with random
# weights, with the pseudo-label round (PSEUDO) and the trick variables:
# the joined manifests, the second-round models, the submission made from
# them, and a changed PSEUDO redoing only the round.
. "$CK_TESTDATA/lib.sh" ck-synth ck-weights ck-split ck-finetune ck-predict ck-eval make

ck-synth -o data -c 3 -n 48 -t 12 -S 32 -j 1 >/dev/null 2>&1 || exit 1
ck-weights random --seed 5 -o w.h5 >/dev/null 2>&1 || exit 1
# With 3 classes the top probability is always >= 1/3: PSEUDO=0.3 keeps
# every test row, whatever the random model predicts.
run() {
  make -f "$CK_SRC/examples/contest.mk" DATA=data CK="$CK_BIN" WORK=work SUBMISSIONS=subs WEIGHTS=w.h5 \
    FOLDS=2 EPOCHS=1 INPUT_SIZE=32 BATCH=16 THREADS=1 TTA=none TRAIN_AUG= \
    SCHEDULE=onecycle EMA=0.9 MIXUP=0.4 FINETUNE_OPTS=--conv-algo=fp32 "$@"
}
run PSEUDO=0.3 > make.log 2>&1
rc=$?
check "[ $rc -eq 0 ]" || cat make.log
check "[ \$(wc -l < work/pseudo.tsv) -eq 13 ] && head -n 1 work/pseudo.tsv | grep -q '^file_name	label_id$'"
for i in 0 1; do
  # The fold's training rows, then the 12 test rows as an extra set.
  check "grep -q -- '--train work/split/fold${i}_train.tsv .*--images data/train --train work/pseudo.tsv --images data/test .*-o work/models-pseudo/fold$i.ckpt' make.log"
  check "[ -s work/models/fold$i.ckpt ] && [ -s work/models-pseudo/fold$i.ckpt ] && [ -s work/models-pseudo/fold$i.csv ]"
done
check "[ \$(grep -c 'Training on 36 images, validating on 24 (work/split/fold[01]_val.tsv)' make.log) -eq 2 ]"
check "[ \$(grep -c 'ck-finetune .*--schedule onecycle --ema 0.9 --mixup 0.4 ' make.log) -eq 4 ]"
check "grep -q 'ck-predict -m work/models-pseudo/fold0.ckpt -m work/models-pseudo/fold1.ckpt --images data/test' make.log"
check "grep -q 'ck-predict -m work/models-pseudo/fold0.ckpt --images data/train --order work/split/fold0_val.tsv' make.log"
check "grep -q '^submission: .*OK: 12 rows' make.log && grep -q '^pseudo-labels: *12 test rows' make.log"

# Another threshold redoes the pseudo-labels and the second round only.
run PSEUDO=0.31 > make2.log 2>&1
check "[ \$? -eq 0 ]" || cat make2.log
check "! grep -q 'ck-finetune .*-o work/models/fold' make2.log && ! grep -q 'ck-split' make2.log"
check "grep -q 'min-prob 0.31 -o work/pseudo.tsv' make2.log && [ \$(grep -c 'ck-finetune .*-o work/models-pseudo/' make2.log) -eq 2 ]"
# Without PSEUDO the first round's models predict again.
run > make3.log 2>&1
check "[ \$? -eq 0 ] && grep -q 'ck-predict -m work/models/fold0.ckpt -m work/models/fold1.ckpt --images data/test' make3.log"
check "! grep -q 'ck-finetune' make3.log && ! grep -q 'pseudo' make3.log"

[ $fails -eq 0 ] && echo "test-contest-pseudo: all passed"
exit $((fails > 0))
