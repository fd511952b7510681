/* NumPy .npy float32 arrays: the streaming writer and the reader (ck/npy.h). */
#include "ck/npy.h"

#include "ck/error.h"
#include "ck/fs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define ALIGN 64 /* numpy's ARRAY_ALIGN: the data of numpy.save starts here */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define CK_NPY_SWAP 1
#else
#define CK_NPY_SWAP 0
#endif

/* Elements of a shape; -1 when the count or its bytes overflow size_t. */
static int shape_count(int ndim, const int64_t *shape, size_t *count)
{
    size_t c = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return -1;
        if (shape[i] && c > SIZE_MAX / 4 / (uint64_t)shape[i])
            return -1;
        c *= (size_t)shape[i];
    }
    *count = c;
    return 0;
}

long ck_npy_header(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t count;
    if (ndim < 0 || ndim > CK_NPY_MAX_DIMS || (ndim && !shape) || shape_count(ndim, shape, &count)) {
        ck_error("npy", "bad array shape (%d dimensions)", ndim);
        return -1;
    }
    /* The dict exactly as numpy.lib.format writes it (repr of a tuple:
     * "(n,)" for one dimension, "()" for none). */
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%s), }", ndim == 1 ? "," : "");
    /* magic + version + uint16 length + dict + spaces + '\n' */
    size_t total = (size_t)(MAGIC_LEN + 2 + 2 + len + 1);
    total = (total + ALIGN - 1) / ALIGN * ALIGN;
    if (total > cap) {
        ck_error("npy", "header buffer too small (%zu bytes, %zu needed)", cap, total);
        return -1;
    }
    size_t hlen = total - (MAGIC_LEN + 4);
    memcpy(buf, MAGIC, MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', total - 10 - (size_t)len - 1);
    buf[total - 1] = '\n';
    return (long)total;
}

/* ---- writer -------------------------------------------------------------- */

struct ck_npy_writer {
    ck_atomic_file *f;
    size_t count, written;
    char path[];
};

ck_npy_writer *ck_npy_create(const char *path, int ndim, const int64_t *shape, unsigned flags)
{
    if (!path || strcmp(path, "-") == 0 || (flags & CK_OUT_STDOUT)) {
        ck_error("npy", "a .npy file cannot go to standard output (numpy.load needs a file it can seek in)");
        return NULL;
    }
    char head[256];
    long hlen = ck_npy_header(head, sizeof head, ndim, shape);
    if (hlen < 0)
        return NULL;
    ck_npy_writer *w = calloc(1, sizeof *w + strlen(path) + 1);
    if (!w) {
        ck_error("npy", "out of memory");
        return NULL;
    }
    shape_count(ndim, shape, &w->count);
    strcpy(w->path, path);
    w->f = ck_atomic_open(path, flags);
    if (!w->f || ck_atomic_put(w->f, head, (size_t)hlen)) {
        ck_npy_abort(w);
        return NULL;
    }
    return w;
}

int ck_npy_write(ck_npy_writer *w, const float *data, size_t count)
{
    if (count > w->count - w->written) {
        ck_error("npy", "%s: %zu more elements than the shape's %zu", w->path, count - (w->count - w->written),
                 w->count);
        return -1;
    }
#if CK_NPY_SWAP
    uint32_t chunk[1024];
    for (size_t i = 0; i < count;) {
        size_t k = count - i < 1024 ? count - i : 1024;
        for (size_t j = 0; j < k; j++) {
            uint32_t u;
            memcpy(&u, data + i + j, 4);
            chunk[j] = __builtin_bswap32(u);
        }
        if (ck_atomic_put(w->f, chunk, k * 4))
            return -1;
        i += k;
    }
#else
    if (count && ck_atomic_put(w->f, data, count * sizeof *data))
        return -1;
#endif
    w->written += count;
    return 0;
}

int ck_npy_commit(ck_npy_writer *w)
{
    if (w->written != w->count) {
        ck_error("npy", "%s: %zu of the shape's %zu elements written: not saved", w->path, w->written, w->count);
        ck_npy_abort(w);
        return -1;
    }
    int rc = ck_atomic_commit(w->f);
    free(w);
    return rc;
}

void ck_npy_abort(ck_npy_writer *w)
{
    if (!w)
        return;
    ck_atomic_abort(w->f);
    free(w);
}

/* ---- reader -------------------------------------------------------------- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int take(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A Python string literal without escapes ('...' or "..."): 0 and its
 * text in out, or -1. */
static int string_lit(cursor *c, char *out, size_t cap)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -1;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap)
            return -1;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return -1;
    c->p++;
    out[n] = 0;
    return 0;
}

static int word(cursor *c, const char *w)
{
    skip_space(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* A shape tuple: "()", "(n,)", "(n, m)", "(n, m,)"; Python 2's "3L" too. */
static int shape_tuple(cursor *c, int *ndim, int64_t *shape)
{
    if (!take(c, '('))
        return -1;
    *ndim = 0;
    if (take(c, ')'))
        return 0;
    for (;;) {
        skip_space(c);
        int64_t v = 0;
        int digits = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return -1;
            v = v * 10 + (*c->p++ - '0');
            digits++;
        }
        if (!digits || *ndim == CK_NPY_MAX_DIMS)
            return -1;
        if (c->p < c->end && *c->p == 'L')
            c->p++;
        shape[(*ndim)++] = v;
        int comma = take(c, ',');
        if (take(c, ')'))
            return *ndim == 1 && !comma ? -1 : 0; /* "(3)" is an int, not a tuple */
        if (!comma)
            return -1;
    }
}

/* The header dict: exactly descr, fortran_order and shape, in any order. */
static int parse_dict(const char *text, size_t len, const char *name, ck_npy *a)
{
    cursor c = {text, text + len};
    int seen = 0; /* bits: descr, fortran_order, shape */
    if (!take(&c, '{'))
        goto bad;
    while (!take(&c, '}')) {
        char key[32], val[32];
        if (string_lit(&c, key, sizeof key) || !take(&c, ':'))
            goto bad;
        if (strcmp(key, "descr") == 0 && !(seen & 1)) {
            if (string_lit(&c, val, sizeof val))
                goto bad;
            /* numpy spells little-endian float32 '<f4' and nothing else */
            if (strcmp(val, "<f4") != 0) {
                ck_error("npy", "%s: element type '%s': only float32 ('<f4') is read", name, val);
                return -1;
            }
            seen |= 1;
        } else if (strcmp(key, "fortran_order") == 0 && !(seen & 2)) {
            if (word(&c, "True")) {
                ck_error("npy", "%s: Fortran-order arrays are not read (save a C-order array)", name);
                return -1;
            }
            if (!word(&c, "False"))
                goto bad;
            seen |= 2;
        } else if (strcmp(key, "shape") == 0 && !(seen & 4)) {
            if (shape_tuple(&c, &a->ndim, a->shape))
                goto bad;
            seen |= 4;
        } else {
            goto bad;
        }
        if (!take(&c, ',')) {
            if (!take(&c, '}'))
                goto bad;
            break;
        }
    }
    skip_space(&c);
    if (seen != 7 || c.p != c.end)
        goto bad;
    return 0;
bad:
    ck_error("npy", "%s: malformed header (expected {'descr': '<f4', 'fortran_order': False, 'shape': (...)})",
             name);
    return -1;
}

ck_npy *ck_npy_parse(const void *bytes, size_t len, const char *name)
{
    const unsigned char *b = bytes;
    ck_npy *a = calloc(1, sizeof *a);
    if (!a) {
        ck_error("npy", "out of memory");
        return NULL;
    }
    if (len < 10 || memcmp(b, MAGIC, MAGIC_LEN) != 0) {
        ck_error("npy", "%s: not a .npy file (no \\x93NUMPY magic)", name);
        goto fail;
    }
    if (b[6] < 1 || b[6] > 3 || b[7] != 0) {
        ck_error("npy", "%s: .npy format version %d.%d (1.0, 2.0 and 3.0 are read)", name, b[6], b[7]);
        goto fail;
    }
    /* 1.0: uint16 header length; 2.0 and 3.0 (UTF-8 header): uint32. */
    size_t pre = b[6] == 1 ? 10 : 12;
    if (len < pre) {
        ck_error("npy", "%s: truncated header", name);
        goto fail;
    }
    size_t hlen = b[6] == 1 ? (size_t)b[8] | (size_t)b[9] << 8
                            : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    if (hlen > len - pre) {
        ck_error("npy", "%s: truncated header (%zu bytes announced, %zu there)", name, hlen, len - pre);
        goto fail;
    }
    if (parse_dict((const char *)b + pre, hlen, name, a))
        goto fail;
    if (shape_count(a->ndim, a->shape, &a->count)) {
        ck_error("npy", "%s: shape too large", name);
        goto fail;
    }
    size_t off = pre + hlen, have = len - off;
    if (have != a->count * 4) {
        ck_error("npy", "%s: %zu bytes of data where the shape needs %zu", name, have, a->count * 4);
        goto fail;
    }
    a->data = malloc(a->count ? a->count * 4 : 1);
    if (!a->data) {
        ck_error("npy", "%s: out of memory", name);
        goto fail;
    }
    for (size_t i = 0; i < a->count; i++) {
        const unsigned char *q = b + off + 4 * i;
        uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        memcpy(a->data + i, &u, 4);
    }
    return a;
fail:
    ck_npy_free(a);
    return NULL;
}

ck_npy *ck_npy_read(const char *path)
{
    size_t n;
    char *buf = ck_read_file(path, &n);
    if (!buf)
        return NULL;
    ck_npy *a = ck_npy_parse(buf, n, path);
    free(buf);
    return a;
}

void ck_npy_free(ck_npy *a)
{
    if (!a)
        return;
    free(a->data);
    free(a);
}
