# tests/lib.sh — the common start of the shell tests. Source it with the
# tools the test runs:
#     . "$CK_TESTDATA/lib.sh" ck-finetune ck-weights
# A tool missing from the build is a failure, never a skip. Afterwards the
# working directory is $T, a scratch folder removed at exit; `check COND`
# evaluates COND and on failure prints it and sets fail=1 (the test ends
# with `exit $fail`).
set -u
for tool in "$@"; do
  command -v "$tool" >/dev/null || { echo "FAILED: $tool not found (tools folder: ${CK_BIN:-unset})"; exit 1; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
fail=0
check() { if ! eval "$1"; then echo "FAILED: $1"; fail=1; fi; }
