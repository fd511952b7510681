#!/usr/bin/env bash
# Tools without a network link no network: ck-eval (submissions, tables),
# ck-split and ck-synth need neither OpenBLAS nor the model code. ck-predict
# is the control that the checks see a network where there is one.
set -u
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
for cmd in readelf nm; do
  command -v $cmd >/dev/null || { echo "FAIL: $cmd (binutils) is needed" >&2; exit 1; }
done
blas() { readelf -d "$1" | grep NEEDED | grep -qi 'openblas'; }
model() { nm "$1" | grep -Eq ' [TtDdBbRr] ck_(model|backend|tensor|cpu)_'; }

for name in ck-eval ck-split ck-synth; do
  tool="$CK_BIN/$name"
  [ -x "$tool" ] || { fail "$name not built"; continue; }
  blas "$tool" && fail "$name links OpenBLAS: $(readelf -d "$tool" | grep -i openblas)"
  model "$tool" && fail "$name contains network code: $(nm "$tool" | grep -E ' ck_(model|backend|tensor|cpu)_' | head -3)"
done
[ -x "$CK_BIN/ck-predict" ] || fail "ck-predict not built"
blas "$CK_BIN/ck-predict" || fail "control: ck-predict shows no OpenBLAS"
model "$CK_BIN/ck-predict" || fail "control: ck-predict shows no model code"

[ $fails -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "test-tool-links: all passed"
