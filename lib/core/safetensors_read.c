/* safetensors reader with a strict header check (see ck/safetensors.h). */
#define _GNU_SOURCE
#include "ck/safetensors.h"
#include "ck/error.h"
#include "ck/json.h"
#include "json_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct st_info {
    char *name;
    ck_st_dtype dtype;
    int ndim;
    int64_t shape[CK_ST_MAX_DIMS];
    int64_t count;
    uint64_t begin, end;
} st_info;

struct ck_st_file {
    char *path;
    unsigned char *base; /* whole file */
    size_t size;
    int mapped;
    const unsigned char *data; /* data section */
    uint64_t data_size;
    st_info *t; /* in offset order */
    int n;
    int *by_name; /* indices sorted by name */
    char **mkey, **mval;
    int nmeta;
};

#define ERR(f, ...) st_error(f, __VA_ARGS__)

CK_PRINTF(2, 3) static void st_error(const ck_st_file *f, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ck_error("safetensors", "%s: %s", f->path, msg);
}

void ck_st_close(ck_st_file *f)
{
    if (!f)
        return;
    if (f->base) {
        if (f->mapped)
            munmap(f->base, f->size);
        else
            free(f->base);
    }
    for (int k = 0; k < f->n; k++)
        free(f->t[k].name);
    for (int k = 0; k < f->nmeta; k++) {
        free(f->mkey[k]);
        free(f->mval[k]);
    }
    free(f->t);
    free(f->by_name);
    free(f->mkey);
    free(f->mval);
    free(f->path);
    free(f);
}

static int parse_metadata(ck_st_file *f, const ck_json *m)
{
    if (ck_json_type_of(m) != CK_JSON_OBJECT) {
        ERR(f, "\"__metadata__\" is not an object");
        return -1;
    }
    int n = ck_json_size(m);
    f->mkey = calloc((size_t)n + 1, sizeof *f->mkey);
    f->mval = calloc((size_t)n + 1, sizeof *f->mval);
    if (!f->mkey || !f->mval) {
        ERR(f, "out of memory");
        return -1;
    }
    for (int k = 0; k < n; k++) {
        const char *key = ck_json_key_at(m, k);
        const ck_json *v = ck_json_at(m, k);
        if (ck_json_type_of(v) != CK_JSON_STRING) {
            ERR(f, "metadata \"%s\" is not a string", key);
            return -1;
        }
        if (strlen(key) != ck_json_key_len_at(m, k) || strlen(ck_json_string(v)) != ck_json_string_len(v)) {
            ERR(f, "metadata \"%s\" contains a NUL character", key);
            return -1;
        }
        f->mkey[k] = strdup(key);
        f->mval[k] = strdup(ck_json_string(v));
        f->nmeta = k + 1;
        if (!f->mkey[k] || !f->mval[k]) {
            ERR(f, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int parse_u64(const ck_json *v, uint64_t *out)
{
    int64_t x;
    if (!ck_json_int64(v, &x) || x < 0)
        return -1;
    *out = (uint64_t)x;
    return 0;
}

static int parse_tensor(ck_st_file *f, const char *name, const ck_json *e, st_info *t)
{
    if (ck_json_type_of(e) != CK_JSON_OBJECT) {
        ERR(f, "tensor \"%s\": entry is not an object", name);
        return -1;
    }
    for (int k = 0; k < ck_json_size(e); k++) {
        const char *key = ck_json_key_at(e, k);
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets")) {
            ERR(f, "tensor \"%s\": unknown field \"%s\"", name, key);
            return -1;
        }
    }
    const ck_json *dt = ck_json_get(e, "dtype");
    const ck_json *sh = ck_json_get(e, "shape");
    const ck_json *off = ck_json_get(e, "data_offsets");
    if (!dt || !sh || !off) {
        ERR(f, "tensor \"%s\": missing \"%s\"", name, !dt ? "dtype" : !sh ? "shape" : "data_offsets");
        return -1;
    }
    int d = ck_st_dtype_parse(ck_json_string(dt));
    if (d < 0) {
        ERR(f, "tensor \"%s\": unknown dtype %s", name, ck_json_string(dt) ? ck_json_string(dt) : "(not a string)");
        return -1;
    }
    t->dtype = (ck_st_dtype)d;
    if (ck_json_type_of(sh) != CK_JSON_ARRAY || ck_json_size(sh) > CK_ST_MAX_DIMS) {
        ERR(f, "tensor \"%s\": shape is not a list of at most %d dimensions", name, CK_ST_MAX_DIMS);
        return -1;
    }
    t->ndim = ck_json_size(sh);
    uint64_t bytes = ck_st_dtype_size(t->dtype), count = 1;
    for (int k = 0; k < t->ndim; k++) {
        uint64_t dim;
        if (parse_u64(ck_json_at(sh, k), &dim) < 0) {
            ERR(f, "tensor \"%s\": shape[%d] is not a non-negative integer", name, k);
            return -1;
        }
        if (dim && (count > (uint64_t)INT64_MAX / dim || bytes > UINT64_MAX / dim)) {
            ERR(f, "tensor \"%s\": shape overflows", name);
            return -1;
        }
        count *= dim;
        bytes *= dim;
        t->shape[k] = (int64_t)dim;
    }
    t->count = (int64_t)count;
    if (ck_json_type_of(off) != CK_JSON_ARRAY || ck_json_size(off) != 2 ||
        parse_u64(ck_json_at(off, 0), &t->begin) < 0 || parse_u64(ck_json_at(off, 1), &t->end) < 0) {
        ERR(f, "tensor \"%s\": data_offsets is not [begin, end] of non-negative integers", name);
        return -1;
    }
    if (t->begin > t->end) {
        ERR(f, "tensor \"%s\": data_offsets begin %llu > end %llu", name, (unsigned long long)t->begin,
            (unsigned long long)t->end);
        return -1;
    }
    if (t->end > f->data_size) {
        ERR(f, "tensor \"%s\": data_offsets end %llu is past the end of the data (%llu bytes; file truncated?)",
            name, (unsigned long long)t->end, (unsigned long long)f->data_size);
        return -1;
    }
    if (t->end - t->begin != bytes) {
        ERR(f, "tensor \"%s\": %s shape needs %llu bytes but data_offsets span %llu", name,
            ck_st_dtype_name(t->dtype), (unsigned long long)bytes, (unsigned long long)(t->end - t->begin));
        return -1;
    }
    return 0;
}

static int by_offset(const void *a, const void *b)
{
    const st_info *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int by_name_ctx(const void *a, const void *b, void *ctx)
{
    const st_info *t = ctx;
    return strcmp(t[*(const int *)a].name, t[*(const int *)b].name);
}

/* Sorted by offset, tensors must tile [0, data_size) exactly. */
static int check_tiling(ck_st_file *f)
{
    qsort(f->t, (size_t)f->n, sizeof *f->t, by_offset);
    uint64_t at = 0;
    for (int k = 0; k < f->n; k++) {
        const st_info *t = &f->t[k];
        if (t->begin < at) {
            ERR(f, "tensor \"%s\" overlaps tensor \"%s\" (bytes %llu..%llu)", t->name, f->t[k - 1].name,
                (unsigned long long)t->begin, (unsigned long long)at);
            return -1;
        }
        if (t->begin > at) {
            ERR(f, "gap of %llu bytes before tensor \"%s\" (the data section must be fully used)",
                (unsigned long long)(t->begin - at), t->name);
            return -1;
        }
        at = t->end;
    }
    if (at != f->data_size) {
        ERR(f, "%llu bytes after the last tensor are not used by any tensor",
            (unsigned long long)(f->data_size - at));
        return -1;
    }
    return 0;
}

static int parse_header(ck_st_file *f)
{
    if (f->size < 8) {
        ERR(f, "file too short (%zu bytes) to be safetensors", f->size);
        return -1;
    }
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = (hlen << 8) | f->base[b];
    if (hlen == 0) {
        ERR(f, "header length is 0");
        return -1;
    }
    if (hlen > CK_ST_MAX_HEADER) {
        ERR(f, "header length %llu is larger than the limit (%llu): not a safetensors file?",
            (unsigned long long)hlen, (unsigned long long)CK_ST_MAX_HEADER);
        return -1;
    }
    if (hlen > f->size - 8) {
        ERR(f, "header length %llu is past the end of the file (%zu bytes; truncated?)",
            (unsigned long long)hlen, f->size);
        return -1;
    }
    const char *htext = (const char *)f->base + 8;
    if (htext[0] != '{') {
        ERR(f, "header does not start with '{'");
        return -1;
    }
    f->data = f->base + 8 + hlen;
    f->data_size = f->size - 8 - hlen;

    size_t wl = strlen(f->path) + 16;
    char *what = malloc(wl);
    if (!what) {
        ERR(f, "out of memory");
        return -1;
    }
    snprintf(what, wl, "%s (header)", f->path);
    ck_json *root = ck_json_parse(htext, (size_t)hlen, what);
    free(what);
    if (!root)
        return -1;
    int rc = -1;
    if (ck_json_type_of(root) != CK_JSON_OBJECT) {
        ERR(f, "header is not a JSON object");
        goto out;
    }
    int n = ck_json_size(root);
    f->t = calloc((size_t)n + 1, sizeof *f->t);
    f->by_name = calloc((size_t)n + 1, sizeof *f->by_name);
    if (!f->t || !f->by_name) {
        ERR(f, "out of memory");
        goto out;
    }
    for (int k = 0; k < n; k++) {
        const char *name = ck_json_key_at(root, k);
        const ck_json *e = ck_json_at(root, k);
        if (strcmp(name, "__metadata__") == 0) {
            if (parse_metadata(f, e) < 0)
                goto out;
            continue;
        }
        if (!*name || strlen(name) != ck_json_key_len_at(root, k)) {
            ERR(f, "tensor %d has an empty name or one with a NUL character", k);
            goto out;
        }
        st_info *t = &f->t[f->n];
        if (parse_tensor(f, name, e, t) < 0)
            goto out;
        t->name = strdup(name);
        if (!t->name) {
            ERR(f, "out of memory");
            goto out;
        }
        f->n++;
    }
    if (check_tiling(f) < 0)
        goto out;
    for (int k = 0; k < f->n; k++)
        f->by_name[k] = k;
    qsort_r(f->by_name, (size_t)f->n, sizeof *f->by_name, by_name_ctx, f->t);
    rc = 0;
out:
    ck_json_free(root);
    return rc;
}

static ck_st_file *file_new(const char *path)
{
    ck_st_file *f = calloc(1, sizeof *f);
    if (f)
        f->path = strdup(path ? path : "<memory>");
    if (!f || !f->path) {
        free(f);
        ck_error("safetensors", "out of memory");
        return NULL;
    }
    return f;
}

ck_st_file *ck_st_open(const char *path)
{
    ck_st_file *f = file_new(path);
    if (!f)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ck_error_system(errno, "safetensors", "cannot open %s", path);
        ck_st_close(f);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ck_error("safetensors", "%s: not a regular file", path);
        close(fd);
        ck_st_close(f);
        return NULL;
    }
    f->size = (size_t)st.st_size;
    if (f->size > 0) {
        void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            ck_error_system(errno, "safetensors", "cannot map %s", path);
            close(fd);
            ck_st_close(f);
            return NULL;
        }
        f->base = m;
        f->mapped = 1;
    }
    close(fd);
    if (parse_header(f) < 0) {
        ck_st_close(f);
        return NULL;
    }
    return f;
}

ck_st_file *ck_st_open_memory(const void *data, size_t n, const char *what)
{
    ck_st_file *f = file_new(what);
    if (!f)
        return NULL;
    f->base = malloc(n ? n : 1);
    if (!f->base) {
        ck_error("safetensors", "%s: out of memory", f->path);
        ck_st_close(f);
        return NULL;
    }
    if (n)
        memcpy(f->base, data, n);
    f->size = n;
    if (parse_header(f) < 0) {
        ck_st_close(f);
        return NULL;
    }
    return f;
}

const char *ck_st_path(const ck_st_file *f)
{
    return f ? f->path : NULL;
}

int ck_st_count(const ck_st_file *f)
{
    return f ? f->n : 0;
}

const char *ck_st_name(const ck_st_file *f, int i)
{
    return f && i >= 0 && i < f->n ? f->t[i].name : NULL;
}

int ck_st_tensor_at(const ck_st_file *f, int i, ck_st_tensor *out)
{
    if (!f || i < 0 || i >= f->n)
        return 0;
    const st_info *t = &f->t[i];
    memset(out, 0, sizeof *out);
    out->name = t->name;
    out->dtype = t->dtype;
    out->ndim = t->ndim;
    memcpy(out->shape, t->shape, sizeof t->shape);
    out->count = t->count;
    out->data = f->data + t->begin;
    out->nbytes = (size_t)(t->end - t->begin);
    return 1;
}

int ck_st_find(const ck_st_file *f, const char *name, ck_st_tensor *out)
{
    if (!f || !name)
        return 0;
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(name, f->t[f->by_name[mid]].name);
        if (c == 0)
            return ck_st_tensor_at(f, f->by_name[mid], out);
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return 0;
}

const char *ck_st_metadata(const ck_st_file *f, const char *key)
{
    if (!f || !key)
        return NULL;
    for (int k = 0; k < f->nmeta; k++)
        if (strcmp(f->mkey[k], key) == 0)
            return f->mval[k];
    return NULL;
}

int ck_st_metadata_count(const ck_st_file *f)
{
    return f ? f->nmeta : 0;
}
