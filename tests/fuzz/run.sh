#!/usr/bin/env bash
# Run the libFuzzer targets of a -DCK_FUZZ=ON build, each for a bounded time,
# starting from its seed corpus; exit 1 on any finding (crash, leak,
# sanitizer report, timeout, out-of-memory). See docs/fuzzing.md.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]   (TARGET: table, json, ...; default all but h5)
# New inputs go to a scratch corpus (not the repository); findings are
# written to $CK_FUZZ_OUT (default BUILD_DIR/fuzz-findings) as crash-*,
# leak-*, timeout-*, oom-*.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
secs=${2:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
# Without TARGETs: every target but h5. libhdf5 1.10.8 itself crashes on
# some corrupt files (a wild memcpy in its attribute decoder; reproducer in
# tests/fuzz/libhdf5-crashes/, docs/fuzzing.md), so a timed fuzz-h5 run
# fails on libhdf5's bugs, not ck's. Name it to run it.
if [ ${#targets[@]} -eq 0 ]; then
  targets=()
  for d in "$here"/corpus/*/; do
    t=$(basename "$d")
    [ "$t" = h5 ] || targets+=("$t")
  done
fi
out=${CK_FUZZ_OUT:-$build/fuzz-findings}
mkdir -p "$out"
# libvips/glib/HDF5 keep global caches until exit (the same list as CI's
# sanitizer job).
# A single allocation over 2 GB is a finding (-malloc_limit_mb) except in
# fuzz-h5, where it fails (NULL) as on a machine without that much memory.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=2048:suppressions=$here/asan.supp}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/../../.ci/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export VIPS_WARNING=0 OMP_WAIT_POLICY=passive OPENBLAS_NUM_THREADS=1
failed=()
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/fuzz-$t
  [ -x "$bin" ] || { echo "fuzz: $bin not built (cmake -DCK_FUZZ=ON, target fuzz)" >&2; exit 1; }
  limits=(-rss_limit_mb=2048 -malloc_limit_mb=2048)
  # libhdf5 (not ck) allocates what a corrupt object header claims, several
  # GB for a 13 KB file: it gets NULL and reports a corrupt file.
  [ "$t" = h5 ] && limits=(-rss_limit_mb=2048 -malloc_limit_mb=65536)
  scratch=$(mktemp -d)
  echo "== fuzz-$t (${secs}s)"
  if "$bin" -max_total_time="$secs" "${limits[@]}" -timeout=10 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/$t-" \
       "$scratch" "$here/corpus/$t" 2> "$out/$t.log"; then
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|#[0-9]+ *DONE)' "$out/$t.log" || true
  else
    tail -n 60 "$out/$t.log"
    failed+=("$t")
  fi
  rm -rf "$scratch"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]} (inputs in $out)" >&2
  exit 1
fi
