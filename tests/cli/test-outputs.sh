#!/bin/bash
# Outputs from the command line (docs/outputs.md): empty paths are usage
# errors; outputs never overwrite the run's inputs (exit 2 naming both
# options, before any work); symlinks, FIFOs, devices and '-' are written
# into, not replaced; stale temporaries are cleaned; one ck-augment per
# output folder; CK_FAULT_WRITE leaves the previous file intact.
. "$CK_TESTDATA/lib.sh" ck-synth ck-augment ck-split ck-eval ck-predict ck-finetune ck-weights

ck-synth -o d -c 3 -n 12 -t 4 2>/dev/null || { fail "ck-synth"; exit 1; }
img=d/train/train_00000.png
echo weights > w.h5
echo model > m.ckpt
cp d/sample_submit.csv sample.csv

# --- empty paths: usage errors, nothing written to / or . ---------------------
expect 2 ck-synth -o ''
expect 2 ck-augment -o '' $img
expect 2 ck-split -m d/train_master.tsv -o ''
expect 2 ck-split -m '' -o s
expect 2 ck-eval -t d/test_labels.tsv -s sample.csv --confusion-csv ''
expect 2 ck-eval -t '' -s sample.csv
expect 2 ck-predict -m m.ckpt -i d/test -o ''
expect 2 ck-predict -m '' -i d/test -o p.csv
expect 2 ck-finetune --weights w.h5 --train d/train_master.tsv -o ''
expect 2 ck-finetune --weights '' --train d/train_master.tsv -o x.ckpt
expect 2 ck-finetune --weights w.h5 --train d/train_master.tsv --log '' -o x.ckpt
expect 2 ck-finetune --weights w.h5 --train d/train_master.tsv --nccl-id-file '' -o x.ckpt
expect 2 ck-finetune --resume ''
expect 2 ck-weights random -o ''
expect 2 ck-weights info ''
ok "nothing written for ''" test ! -e train -a ! -e train.tsv -a ! -e x.ckpt

# --- outputs onto inputs: exit 2 naming both options, input untouched ---------
expect 2 ck-finetune --weights w.h5 --train d/train_master.tsv -o w.h5
has "$err" "-o w.h5 is the input --weights w.h5"
ok "weights kept" test "$(cat w.h5)" = weights
expect 2 ck-finetune --weights w.h5 --train d/train_master.tsv --log d/train_master.tsv -o x.ckpt
has "$err" "--log d/train_master.tsv is the input --train"
ln -s w.h5 w-link.h5
expect 2 ck-finetune --weights w-link.h5 --train d/train_master.tsv -o ./w.h5
has "$err" "--weights w-link.h5"
cp d/label_master.tsv cache.bin
expect 2 ck-finetune --weights w.h5 --train d/train_master.tsv --cache disk:cache.bin -o x.ckpt
has "$err" "cache.bin"
ok "cache file kept" cmp -s cache.bin d/label_master.tsv
expect 2 ck-predict -m m.ckpt -i d/test --order sample.csv -o sample.csv
has "$err" "-o sample.csv is the input --order sample.csv"
ok "sample kept" cmp -s sample.csv d/sample_submit.csv
expect 2 ck-predict -m m.ckpt -i d/test -o m.ckpt
has "$err" "is the input -m m.ckpt"
cp -r d/train src
sum_before=$(cat src/*.png | md5sum)
expect 2 ck-augment -m d/train_master.tsv --images src --include-original -o src
has "$err" "is the input --manifest"
ok "source images kept" test "$(cat src/*.png | md5sum)" = "$sum_before"
expect 2 ck-eval -t d/test_labels.tsv -s sample.csv --confusion-csv d/test_labels.tsv
has "$err" "is the input --truth"
expect 2 ck-weights convert w.h5 w.h5
has "$err" "OUT w.h5 is the input IN w.h5"
expect 2 ck-split -m d/train_master.tsv -o d/train_master.tsv
check "grep -q -- 'not a folder\|is not a folder\|Not a directory' err"

# --- special targets are written into ------------------------------------------
EV="ck-eval -t d/test_labels.tsv -s sample.csv"
expect 0 $EV --confusion-csv -
ok "'-' is stdout" grep -q '^truth' out
ok "no file named -" test ! -e ./-
expect 0 $EV --confusion-csv /dev/null
ok "/dev/null stays a device" test -c /dev/null
if [ -e /dev/full ]; then
    expect 1 $EV --confusion-csv /dev/full
    ok "/dev/full stays a device" test -c /dev/full
fi
echo old > real.csv
ln -s real.csv link.csv
expect 0 $EV --confusion-csv link.csv
ok "symlink kept" test -L link.csv
ok "target written" grep -q '^truth' real.csv
mkfifo fifo
cat fifo > from-fifo &
reader=$!
expect 0 $EV --confusion-csv fifo
wait $reader
ok "FIFO reader got the matrix" grep -q '^truth' from-fifo
ok "FIFO kept" test -p fifo
expect 2 $EV --confusion-csv d
has "$err" "is a folder"
expect 2 ck-finetune --weights w.h5 --train d/train_master.tsv -o -
has "$err" "standard output"

# --- stale temporaries of the same output are removed, and said so -------------
echo stale > c.csv.tmp.a1b2c3
echo fresh > c.csv.tmp.d4e5f6
touch -d '2 hours ago' c.csv.tmp.a1b2c3
expect 0 $EV --confusion-csv c.csv
has "$err" "removed 1 stale temporary file of c.csv"
ok "stale one gone" test ! -e c.csv.tmp.a1b2c3
ok "fresh one kept (another run may be writing it)" test -e c.csv.tmp.d4e5f6
rm -f c.csv.tmp.d4e5f6

# ck-finetune removes what a killed run left while writing its checkpoints.
echo stale > x.ckpt.tmp.0a1b2c
echo stale > x.last.ckpt.tmp.0a1b2c
touch -d '2 hours ago' x.ckpt.tmp.0a1b2c x.last.ckpt.tmp.0a1b2c
ck-finetune --weights w.h5 --train d/train_master.tsv --images d/train -o x.ckpt >out 2>err
has "$(cat err)" "removed 2 stale temporary files of x.ckpt"
ok "checkpoint temporaries gone" test ! -e x.ckpt.tmp.0a1b2c -a ! -e x.last.ckpt.tmp.0a1b2c

# --- one ck-augment per output folder -------------------------------------------
mkdir -p aug
exec 9>aug/.ck-lock
flock -n 9 || fail "could not take the lock"
expect 1 ck-augment -m d/train_master.tsv --images d/train -o aug -q
has "$err" "being written by another run"
exec 9>&-
expect 0 ck-augment -m d/train_master.tsv --images d/train -o aug -q
ok "written once the lock is free" test -s aug/train_00000_aug00.png

# --- a failed write (disk full) keeps the previous file, leaves nothing ----------
cp c.csv c.before
CK_FAULT_WRITE=1:ENOSPC $EV --confusion-csv c.csv >out 2>err
ok "fault: exit 1" test $? = 1
has "$(cat err)" "No space left on device"
ok "fault: previous file intact" cmp -s c.csv c.before
ok "fault: no temporary" test -z "$(ls -a | grep '\.tmp\.')"

# --- class names that JSON cannot hold fail before any image is decoded ----------
printf 'label_id\tlabel_name\n0\tzero\n1\tun\xe9\n2\ttwo\n' > latin1.tsv
expect 1 ck-finetune --weights w.h5 --train d/train_master.tsv --images d/train --labels latin1.tsv -o u.ckpt
has "$err" "latin1.tsv:3: class name is not valid UTF-8"
cp d/train_master.tsv "$(printf 'caf\xe9.tsv')"
expect 2 ck-finetune --weights w.h5 --train "$(printf 'caf\xe9.tsv')" --images d/train -o u.ckpt
has "$err" "--train: the value is not valid UTF-8"
ok "no checkpoint" test ! -e u.ckpt

exit $((fails > 0))
