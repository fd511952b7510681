#!/usr/bin/env bash
# The installed kit: `cmake --install` into a temporary prefix gives the
# tools, the man pages, libck.so (with a SONAME) and libck.a, the headers
# with <ck/ck.h>, and ck.pc; a C program built with pkg-config against the
# shared and against the static library calls ck_version() and real work.
set -u
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
build=$(cd "$CK_BIN/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/ck-install-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cmake --install "$build" --prefix "$T/prefix" >"$T/install.log" 2>&1 || { cat "$T/install.log" >&2; exit 1; }
P=$T/prefix
version=$(sed -n 's/^project(ck VERSION \([0-9.]*\).*/\1/p' "$CK_SRC/CMakeLists.txt")

pc=$(find "$P" -name ck.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no ck.pc installed" >&2; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
for f in bin/ck-predict bin/ck-eval share/man/man1/ck-predict.1 include/ck/ck.h include/ck/predict.h include/ck/version.h; do
  [ -e "$P/$f" ] || fail "not installed: $f"
done
[ -e "$libdir/libck.a" ] || fail "no libck.a in $libdir"
[ -e "$libdir/libck.so" ] || fail "no libck.so in $libdir"
soname=$(readelf -d "$libdir/libck.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libck.so.${version%%.*}" ] || fail "SONAME '$soname', want libck.so.${version%%.*}"
# Every public header is in the umbrella header.
for h in "$CK_SRC"/lib/include/ck/*.h; do
  b=$(basename "$h")
  [ "$b" = ck.h ] || grep -q "#include \"ck/$b\"" "$P/include/ck/ck.h" || fail "<ck/ck.h> misses ck/$b"
done

export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --modversion ck)" = "$version" ] || fail "pkg-config --modversion ck: $(pkg-config --modversion ck)"
cat >"$T/use.c" <<'C'
#include <ck/ck.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    (void)argc;
    if (strcmp(ck_version(), CK_EXPECT_VERSION) != 0 || ck_image_init(argv[0]) != 0)
        return 1;
    ck_backend *be = ck_backend_new("cpu", 1);
    ck_tensor *t = be ? ck_tensor_new_1d(be, CK_F32, 4) : NULL;
    float v[4] = {0};
    int ok = t && ck_tensor_fill(t, 2.5f) == 0 && ck_tensor_download(t, v, sizeof v) == 0 && v[3] == 2.5f;
    printf("ck %s, backend %s, tensor %s\n", ck_version(), ck_backend_kind(0), ok ? "ok" : "failed");
    ck_tensor_free(t);
    ck_backend_free(be);
    return ok ? 0 : 1;
}
C
cflags="-std=c11 -Wall -Werror ${CK_CFLAGS:-} -DCK_EXPECT_VERSION=\"$version\""
# shellcheck disable=SC2046,SC2086
cc $cflags "$T/use.c" -o "$T/use-shared" $(pkg-config --cflags --libs ck) 2>"$T/cc.log" ||
  fail "cannot build against libck.so: $(cat "$T/cc.log")"
if [ -x "$T/use-shared" ]; then
  readelf -d "$T/use-shared" | grep NEEDED | grep -q "libck.so.${version%%.*}" || fail "use-shared does not need libck.so"
  out=$(LD_LIBRARY_PATH="$libdir" "$T/use-shared") || fail "use-shared failed: $out"
  [ "$out" = "ck $version, backend cpu, tensor ok" ] || fail "use-shared printed: $out"
fi
# Static: libck.a and the private dependencies from ck.pc.
libs=$(pkg-config --static --libs ck | sed 's/-lck\b/-l:libck.a/')
# shellcheck disable=SC2046,SC2086
cc $cflags "$T/use.c" -o "$T/use-static" $(pkg-config --cflags ck) $libs 2>"$T/cc.log" ||
  fail "cannot build against libck.a: $(cat "$T/cc.log")"
if [ -x "$T/use-static" ]; then
  readelf -d "$T/use-static" | grep NEEDED | grep -q libck && fail "use-static needs libck.so"
  out=$("$T/use-static") || fail "use-static failed: $out"
  [ "$out" = "ck $version, backend cpu, tensor ok" ] || fail "use-static printed: $out"
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "test-install: all passed"
