/* .npy files: the writer's bytes equal numpy.save's (fixtures from
 * tests/reference/make_npy_fixtures.py), the reader reads them back, and
 * every refusal says why. */
#include "check.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/npy.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/ck-test-npy-XXXXXX";
static char fixtures[512];

static const char *fixture(const char *name)
{
    static char path[2][600];
    static int k;
    char *p = path[k++ % 2];
    snprintf(p, 600, "%s/%s", fixtures, name);
    return p;
}

/* k/4 - 1, as the fixtures hold. */
static float value(size_t k) { return (float)k / 4.0f - 1.0f; }

static int fails_with(const void *got, const char *want)
{
    const char *e = ck_error_buffer();
    int ok = got == NULL && strstr(e, want) != NULL;
    if (!ok)
        fprintf(stderr, "expected error containing '%s', got %s: '%s'\n", want, got ? "success" : "error", e);
    ck_error_clear();
    return ok;
}

/* Write the array of `shape` in pieces of `step` elements; compare the
 * file with numpy's and read it back. */
static void same_as_numpy(const char *name, int ndim, const int64_t *shape, size_t step)
{
    size_t n = 0, count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (size_t)shape[i];
    char out[600];
    snprintf(out, sizeof out, "%s/%s", tmpdir, name);
    float *v = malloc((count ? count : 1) * sizeof *v);
    for (size_t k = 0; k < count; k++)
        v[k] = value(k);
    ck_npy_writer *w = ck_npy_create(out, ndim, shape, 0);
    CHECK(w != NULL);
    for (size_t k = 0; w && k < count; k += step)
        CHECK(ck_npy_write(w, v + k, count - k < step ? count - k : step) == 0);
    CHECK(w && ck_npy_commit(w) == 0);

    size_t got_n, want_n;
    char *got = ck_read_file(out, &got_n), *want = ck_read_file(fixture(name), &want_n);
    CHECK(got && want && got_n == want_n && memcmp(got, want, want_n) == 0);
    if (!got || !want || got_n != want_n || memcmp(got, want, want_n))
        fprintf(stderr, "%s: %zu bytes written, numpy wrote %zu\n", name, got_n, want_n);

    char head[256];
    long hlen = ck_npy_header(head, sizeof head, ndim, shape);
    CHECK(hlen > 0 && hlen % 64 == 0 && want && want_n == (size_t)hlen + 4 * count &&
          memcmp(head, want, (size_t)hlen) == 0);
    CHECK(hlen > 0 && head[hlen - 1] == '\n');

    ck_npy *a = ck_npy_read(fixture(name));
    CHECK(a && a->ndim == ndim && a->count == count);
    for (int i = 0; a && i < ndim; i++)
        CHECK(a->shape[i] == shape[i]);
    for (size_t k = 0; a && k < count; k++)
        n += a->data[k] == v[k];
    CHECK(n == count);
    ck_npy_free(a);
    free(got);
    free(want);
    free(v);
}

static void writer_errors(void)
{
    int64_t shape[2] = {2, 3};
    float row[4] = {1, 2, 3, 4};
    char out[600];
    snprintf(out, sizeof out, "%s/short.npy", tmpdir);

    /* Too few rows: nothing is left, not even a header. */
    ck_npy_writer *w = ck_npy_create(out, 2, shape, 0);
    CHECK(w && ck_npy_write(w, row, 3) == 0);
    CHECK(w && ck_npy_commit(w) == -1 && strstr(ck_error_buffer(), "3 of the shape's 6 elements"));
    CHECK(!ck_file_exists(out));
    ck_error_clear();

    /* Too many elements: refused, and the writer can still be abandoned. */
    w = ck_npy_create(out, 2, shape, 0);
    CHECK(w && ck_npy_write(w, row, 4) == 0);
    CHECK(w && ck_npy_write(w, row, 3) == -1 && strstr(ck_error_buffer(), "1 more elements"));
    ck_npy_abort(w);
    CHECK(!ck_file_exists(out));
    ck_error_clear();

    CHECK(fails_with(ck_npy_create("-", 2, shape, 0), "standard output"));
    CHECK(fails_with(ck_npy_create(out, 2, shape, CK_OUT_STDOUT), "standard output"));
    int64_t neg[2] = {2, -1};
    CHECK(fails_with(ck_npy_create(out, 2, neg, 0), "bad array shape"));
    CHECK(fails_with(ck_npy_create(out, CK_NPY_MAX_DIMS + 1, neg, 0), "bad array shape"));
    char small[32];
    CHECK(ck_npy_header(small, sizeof small, 2, shape) == -1 && strstr(ck_error_buffer(), "too small"));
    ck_error_clear();

    /* The widest header fits the documented 256 bytes. */
    int64_t big[CK_NPY_MAX_DIMS];
    for (int i = 0; i < CK_NPY_MAX_DIMS; i++)
        big[i] = 0x7fffffffffffffffLL;
    big[0] = 0; /* the count must not overflow */
    char head[256];
    CHECK(ck_npy_header(head, sizeof head, CK_NPY_MAX_DIMS, big) == 256);

    /* A failing disk (the fault hook, docs/outputs.md): error, no file. */
    int64_t wide[2] = {4, 4096};
    float *zeros = calloc(4 * 4096, sizeof *zeros);
    setenv("CK_FAULT_WRITE", "1:ENOSPC", 1);
    w = ck_npy_create(out, 2, wide, 0);
    int rc = !w;
    for (int r = 0; r < 4 && !rc; r++)
        rc = ck_npy_write(w, zeros + r * 4096, 4096);
    rc = rc ? (ck_npy_abort(w), -1) : ck_npy_commit(w);
    unsetenv("CK_FAULT_WRITE");
    CHECK(rc == -1 && !ck_file_exists(out));
    ck_error_clear();
    free(zeros);
}

/* A header built by hand around `dict` (format 1.0), with `data` bytes. */
static ck_npy *parse_dict(const char *dict, size_t data)
{
    static char buf[1024];
    size_t len = strlen(dict);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)len;
    buf[9] = 0;
    memcpy(buf + 10, dict, len);
    memset(buf + 10 + len, 0, data);
    return ck_npy_parse(buf, 10 + len + data, "x.npy");
}

static void reader(void)
{
    /* Format 2.0: the same array. */
    ck_npy *a = ck_npy_read(fixture("f4_3x4_v2.npy"));
    CHECK(a && a->ndim == 2 && a->shape[0] == 3 && a->shape[1] == 4 && a->data[11] == value(11));
    ck_npy_free(a);

    CHECK(fails_with(ck_npy_read(fixture("f8_3x4.npy")), "element type '<f8': only float32"));
    CHECK(fails_with(ck_npy_read(fixture("f4_3x4_fortran.npy")), "Fortran-order"));

    size_t n;
    char *good = ck_read_file(fixture("f4_3x4.npy"), &n);
    CHECK(fails_with(ck_npy_parse(good, n - 1, "t.npy"), "t.npy: 47 bytes of data where the shape needs 48"));
    char *more = malloc(n + 1);
    memcpy(more, good, n);
    more[n] = 0;
    CHECK(fails_with(ck_npy_parse(more, n + 1, "t.npy"), "49 bytes of data"));
    CHECK(fails_with(ck_npy_parse(good, 60, "t.npy"), "truncated header"));
    CHECK(fails_with(ck_npy_parse(good, 5, "t.npy"), "not a .npy file"));
    memcpy(more, good, n);
    more[6] = 4;
    CHECK(fails_with(ck_npy_parse(more, n, "t.npy"), "format version 4.0"));
    more[0] = 'x';
    CHECK(fails_with(ck_npy_parse(more, n, "t.npy"), "not a .npy file"));
    free(more);
    free(good);

    /* Keys in any order, double quotes, no trailing comma: numpy takes them. */
    a = parse_dict("{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f4\"}", 8);
    CHECK(a && a->ndim == 1 && a->shape[0] == 2 && a->count == 2);
    ck_npy_free(a);
    a = parse_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L), }\n", 8);
    CHECK(a && a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 1);
    ck_npy_free(a);

    static const char *const malformed[] = {
        "{'descr': '<f4', 'fortran_order': False}",                              /* no shape */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }",              /* an int */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",       /* extra key */
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x",           /* junk after */
        "{'descr': '<f\\4', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)",
        "",
    };
    for (size_t k = 0; k < sizeof malformed / sizeof *malformed; k++) {
        ck_npy *bad = parse_dict(malformed[k], 8);
        int ok = bad == NULL && *ck_error_buffer();
        if (!ok)
            fprintf(stderr, "accepted: %s\n", malformed[k]);
        CHECK(ok);
        ck_npy_free(bad);
        ck_error_clear();
    }
    CHECK(fails_with(ck_npy_read("/nonexistent/x.npy"), "/nonexistent/x.npy"));
}

int main(void)
{
    const char *src = getenv("CK_TESTDATA");
    snprintf(fixtures, sizeof fixtures, "%s/fixtures/npy", src ? src : "tests");
    if (!mkdtemp(tmpdir))
        return 1;
    int64_t s2[2] = {3, 4}, s4[4] = {2, 3, 3, 2}, s1[1] = {5}, s0[2] = {0, 7};
    same_as_numpy("f4_3x4.npy", 2, s2, 4);        /* row by row */
    same_as_numpy("f4_2x3x3x2.npy", 4, s4, 7);    /* pieces across rows */
    same_as_numpy("f4_5.npy", 1, s1, 1);
    same_as_numpy("f4_scalar.npy", 0, NULL, 1);
    same_as_numpy("f4_0x7.npy", 2, s0, 1);
    writer_errors();
    reader();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return check_report("test-npy");
}
