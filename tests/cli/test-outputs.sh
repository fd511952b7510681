#!/bin/bash
# Outputs from the command line (docs/outputs.md): empty paths are usage
# errors; outputs never overwrite the run's inputs (exit 2 naming both
# options, before any work); symlinks, FIFOs, devices and '-' are written
# into, not replaced; stale temporaries are cleaned; one ck-augment per
# output folder; CK_FAULT_WRITE leaves the previous file intact.
set -u
for tool in ck-synth ck-augment ck-split ck-eval ck-predict ck-finetune ck-weights; do
    command -v $tool >/dev/null || { echo "FAIL: $tool not built" >&2; exit 1; }
done
fail=0
t=$(mktemp -d /tmp/ck-test-outputs-XXXXXX)
trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
check() { # description, then the command
    local what=$1; shift
    if ! "$@"; then echo "FAIL: $what" >&2; fail=1; fi
}
status() { # expected status, then the command (stdout to out, stderr to err)
    local want=$1; shift
    "$@" >out 2>err; local got=$?
    if [ "$got" != "$want" ]; then echo "FAIL: '$*' exited $got, expected $want" >&2; cat err >&2; fail=1; fi
}
says() { grep -q -- "$1" err || { echo "FAIL: stderr lacks '$1':" >&2; cat err >&2; fail=1; }; }

ck-synth -o d -c 3 -n 12 -t 4 2>/dev/null || { echo "FAIL: ck-synth" >&2; exit 1; }
img=d/train/train_00000.png
echo weights > w.h5
echo model > m.ckpt
cp d/sample_submit.csv sample.csv

# --- empty paths: usage errors, nothing written to / or . ---------------------
status 2 ck-synth -o ''
status 2 ck-augment -o '' $img
status 2 ck-split -m d/train_master.tsv -o ''
status 2 ck-split -m '' -o s
status 2 ck-eval -t d/test_labels.tsv -s sample.csv --confusion-csv ''
status 2 ck-eval -t '' -s sample.csv
status 2 ck-predict -m m.ckpt -i d/test -o ''
status 2 ck-predict -m '' -i d/test -o p.csv
status 2 ck-finetune --weights w.h5 --train d/train_master.tsv -o ''
status 2 ck-finetune --weights '' --train d/train_master.tsv -o x.ckpt
status 2 ck-finetune --weights w.h5 --train d/train_master.tsv --log '' -o x.ckpt
status 2 ck-finetune --weights w.h5 --train d/train_master.tsv --nccl-id-file '' -o x.ckpt
status 2 ck-finetune --resume ''
status 2 ck-weights random -o ''
status 2 ck-weights info ''
check "nothing written for ''" test ! -e train -a ! -e train.tsv -a ! -e x.ckpt

# --- outputs onto inputs: exit 2 naming both options, input untouched ---------
status 2 ck-finetune --weights w.h5 --train d/train_master.tsv -o w.h5
says "-o w.h5 is the input --weights w.h5"
check "weights kept" test "$(cat w.h5)" = weights
status 2 ck-finetune --weights w.h5 --train d/train_master.tsv --log d/train_master.tsv -o x.ckpt
says "--log d/train_master.tsv is the input --train"
ln -s w.h5 w-link.h5
status 2 ck-finetune --weights w-link.h5 --train d/train_master.tsv -o ./w.h5
says "--weights w-link.h5"
cp d/label_master.tsv cache.bin
status 2 ck-finetune --weights w.h5 --train d/train_master.tsv --cache disk:cache.bin -o x.ckpt
says "cache.bin"
check "cache file kept" cmp -s cache.bin d/label_master.tsv
status 2 ck-predict -m m.ckpt -i d/test --order sample.csv -o sample.csv
says "-o sample.csv is the input --order sample.csv"
check "sample kept" cmp -s sample.csv d/sample_submit.csv
status 2 ck-predict -m m.ckpt -i d/test -o m.ckpt
says "is the input -m m.ckpt"
cp -r d/train src
sum_before=$(cat src/*.png | md5sum)
status 2 ck-augment -m d/train_master.tsv --images src --include-original -o src
says "is the input --manifest"
check "source images kept" test "$(cat src/*.png | md5sum)" = "$sum_before"
status 2 ck-eval -t d/test_labels.tsv -s sample.csv --confusion-csv d/test_labels.tsv
says "is the input --truth"
status 2 ck-weights convert w.h5 w.h5
says "OUT w.h5 is the input IN w.h5"
status 2 ck-split -m d/train_master.tsv -o d/train_master.tsv
says "not a folder\|is not a folder\|Not a directory"

# --- special targets are written into ------------------------------------------
EV="ck-eval -t d/test_labels.tsv -s sample.csv"
status 0 $EV --confusion-csv -
check "'-' is stdout" grep -q '^truth' out
check "no file named -" test ! -e ./-
status 0 $EV --confusion-csv /dev/null
check "/dev/null stays a device" test -c /dev/null
if [ -e /dev/full ]; then
    status 1 $EV --confusion-csv /dev/full
    check "/dev/full stays a device" test -c /dev/full
fi
echo old > real.csv
ln -s real.csv link.csv
status 0 $EV --confusion-csv link.csv
check "symlink kept" test -L link.csv
check "target written" grep -q '^truth' real.csv
mkfifo fifo
cat fifo > from-fifo &
reader=$!
status 0 $EV --confusion-csv fifo
wait $reader
check "FIFO reader got the matrix" grep -q '^truth' from-fifo
check "FIFO kept" test -p fifo
status 2 $EV --confusion-csv d
says "is a folder"
status 2 ck-finetune --weights w.h5 --train d/train_master.tsv -o -
says "standard output"

# --- stale temporaries of the same output are removed, and said so -------------
echo stale > c.csv.tmp.a1b2c3
echo fresh > c.csv.tmp.d4e5f6
touch -d '2 hours ago' c.csv.tmp.a1b2c3
status 0 $EV --confusion-csv c.csv
says "removed 1 stale temporary file of c.csv"
check "stale one gone" test ! -e c.csv.tmp.a1b2c3
check "fresh one kept (another run may be writing it)" test -e c.csv.tmp.d4e5f6
rm -f c.csv.tmp.d4e5f6

# ck-finetune removes what a killed run left while writing its checkpoints.
echo stale > x.ckpt.tmp.0a1b2c
echo stale > x.last.ckpt.tmp.0a1b2c
touch -d '2 hours ago' x.ckpt.tmp.0a1b2c x.last.ckpt.tmp.0a1b2c
ck-finetune --weights w.h5 --train d/train_master.tsv --images d/train -o x.ckpt >out 2>err
says "removed 2 stale temporary files of x.ckpt"
check "checkpoint temporaries gone" test ! -e x.ckpt.tmp.0a1b2c -a ! -e x.last.ckpt.tmp.0a1b2c

# --- one ck-augment per output folder -------------------------------------------
mkdir -p aug
exec 9>aug/.ck-lock
flock -n 9 || echo "FAIL: could not take the lock" >&2
status 1 ck-augment -m d/train_master.tsv --images d/train -o aug -q
says "being written by another run"
exec 9>&-
status 0 ck-augment -m d/train_master.tsv --images d/train -o aug -q
check "written once the lock is free" test -s aug/train_00000_aug00.png

# --- a failed write (disk full) keeps the previous file, leaves nothing ----------
cp c.csv c.before
CK_FAULT_WRITE=1:ENOSPC $EV --confusion-csv c.csv >out 2>err
check "fault: exit 1" test $? = 1
says "No space left on device"
check "fault: previous file intact" cmp -s c.csv c.before
check "fault: no temporary" test -z "$(ls -a | grep '\.tmp\.')"

# --- class names that JSON cannot hold fail before any image is decoded ----------
printf 'label_id\tlabel_name\n0\tzero\n1\tun\xe9\n2\ttwo\n' > latin1.tsv
status 1 ck-finetune --weights w.h5 --train d/train_master.tsv --images d/train --labels latin1.tsv -o u.ckpt
says "latin1.tsv:3: class name is not valid UTF-8"
cp d/train_master.tsv "$(printf 'caf\xe9.tsv')"
status 2 ck-finetune --weights w.h5 --train "$(printf 'caf\xe9.tsv')" --images d/train -o u.ckpt
says "--train: the value is not valid UTF-8"
check "no checkpoint" test ! -e u.ckpt

exit $fail
