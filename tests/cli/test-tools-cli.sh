#!/usr/bin/env bash
# What every tool answers the same way: --version (the version; the tools
# that compute also list the backends built in), --help (stdout, exit 0) and
# an unknown option (stderr starting with the tool's name, never the path
# it was run by; exit 2).
set -u
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
T=$(mktemp -d "${TMPDIR:-/tmp}/ck-tools-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
version=$(sed -n 's/^project(ck VERSION \([0-9.]*\).*/\1/p' "$CK_SRC/CMakeLists.txt")
[ -n "$version" ] || fail "no project version in CMakeLists.txt"

for name in ck-augment ck-eval ck-features ck-finetune ck-predict ck-split ck-synth ck-weights; do
  tool="$CK_BIN/$name"
  [ -x "$tool" ] || { fail "$name not built"; continue; }
  "$tool" --version >"$T/out" 2>"$T/err"; rc=$?
  [ $rc = 0 ] || fail "$name --version exited $rc"
  [ "$(head -n 1 "$T/out")" = "$name (ck) $version" ] || fail "$name --version: $(head -n 1 "$T/out")"
  [ -s "$T/err" ] && fail "$name --version wrote on stderr: $(cat "$T/err")"
  case $name in
  ck-features|ck-finetune|ck-predict)
    # The backends come from the backend table: cpu always, cuda when built.
    grep -Eqx 'backends: cpu( [a-z0-9]+)*' "$T/out" || fail "$name --version lists no backends: $(cat "$T/out")";;
  esac

  "$tool" --help >"$T/out" 2>"$T/err"; rc=$?
  [ $rc = 0 ] || fail "$name --help exited $rc"
  grep -q "Usage: $name" "$T/out" || fail "$name --help: no 'Usage: $name' on stdout"
  [ -s "$T/err" ] && fail "$name --help wrote on stderr: $(cat "$T/err")"

  # Run by its full path, as from a build folder.
  "$tool" --bogus >"$T/out" 2>"$T/err"; rc=$?
  [ $rc = 2 ] || fail "$name --bogus exited $rc (want 2)"
  case $(head -n 1 "$T/err") in
  "$name: "*bogus*) ;;
  *) fail "$name --bogus: stderr does not start with '$name: ' naming the option: $(cat "$T/err")";;
  esac
  [ -s "$T/out" ] && fail "$name --bogus wrote on stdout"
done

[ $fails -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "test-tools-cli: all passed"
