# tests/lib.sh — the common start of the shell tests. Source it with the
# tools the test runs:
#     . "$CK_TESTDATA/lib.sh" ck-finetune ck-weights
# A tool missing from the build is a failure, never a skip. Afterwards the
# working directory is $T, a scratch folder removed at exit, and:
#   check COND        evaluate COND; on failure print it and count it
#   ok WHAT CMD…      run CMD (no eval); on failure count a failure named WHAT
#   not CMD…          run CMD and succeed when it fails (for ok)
#   expect CODE CMD…  run CMD, keep its stdout/stderr in $out/$err (and
#                     $T/out, $T/err), count a wrong exit status
#   has TEXT PART     count TEXT not containing PART
#   fail MESSAGE      count a failure
# The test ends with `exit $((fails > 0))`.
set -u
for tool in "$@"; do
  command -v "$tool" >/dev/null || { echo "FAILED: $tool not found (tools folder: ${CK_BIN:-unset})"; exit 1; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
fails=0
fail() { echo "FAILED: $*" >&2; fails=$((fails + 1)); }
check() { eval "$1" || fail "$1"; }
ok() { local what=$1; shift; "$@" || fail "$what"; }
not() { ! "$@"; }
expect() {
  local want=$1; shift
  "$@" >"$T/out" 2>"$T/err"; local got=$?
  out=$(cat "$T/out"); err=$(cat "$T/err")
  [ "$got" = "$want" ] || fail "exit $got (want $want): $*; stderr: $err"
}
has() { case "$1" in *"$2"*) ;; *) fail "expected '$2' in: $1";; esac; }
