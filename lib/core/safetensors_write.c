/* safetensors writer (see ck/safetensors.h). */
#include "ck/safetensors.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct st_entry {
    char *name;
    ck_st_dtype dtype;
    int ndim;
    int64_t shape[CK_ST_MAX_DIMS];
    const void *data;
    void *owned;
    size_t nbytes;
} st_entry;

struct ck_st_writer {
    st_entry *t;
    int n, cap;
    char **mkey, **mval;
    int nmeta, capmeta;
};

ck_st_writer *ck_st_writer_new(void)
{
    ck_st_writer *w = calloc(1, sizeof *w);
    if (!w)
        ck_error("safetensors", "out of memory");
    return w;
}

void ck_st_writer_free(ck_st_writer *w)
{
    if (!w)
        return;
    for (int k = 0; k < w->n; k++) {
        free(w->t[k].name);
        free(w->t[k].owned);
    }
    for (int k = 0; k < w->nmeta; k++) {
        free(w->mkey[k]);
        free(w->mval[k]);
    }
    free(w->t);
    free(w->mkey);
    free(w->mval);
    free(w);
}

/* product(shape) × size, or -1 on overflow. */
static int tensor_bytes(ck_st_dtype dtype, int ndim, const int64_t *shape, size_t *out)
{
    uint64_t n = ck_st_dtype_size(dtype);
    for (int k = 0; k < ndim; k++) {
        uint64_t d = (uint64_t)shape[k];
        if (d && n > UINT64_MAX / d)
            return -1;
        n *= d;
    }
    if (n > SIZE_MAX)
        return -1;
    *out = (size_t)n;
    return 0;
}

static int add(ck_st_writer *w, const char *name, ck_st_dtype dtype, int ndim, const int64_t *shape,
               const void *data, int copy)
{
    if (!w)
        return -1;
    if (!name || !*name) {
        ck_error("safetensors", "writer: empty tensor name");
        return -1;
    }
    if (strcmp(name, "__metadata__") == 0) {
        ck_error("safetensors", "writer: \"__metadata__\" is reserved, not a tensor name");
        return -1;
    }
    if ((unsigned)dtype >= CK_ST_DTYPE_COUNT || ndim < 0 || ndim > CK_ST_MAX_DIMS || (ndim && !shape)) {
        ck_error("safetensors", "writer: tensor \"%s\": bad dtype or rank", name);
        return -1;
    }
    for (int k = 0; k < ndim; k++)
        if (shape[k] < 0) {
            ck_error("safetensors", "writer: tensor \"%s\": negative dimension", name);
            return -1;
        }
    for (int k = 0; k < w->n; k++)
        if (strcmp(w->t[k].name, name) == 0) {
            ck_error("safetensors", "writer: tensor \"%s\" added twice", name);
            return -1;
        }
    st_entry e = {0};
    e.dtype = dtype;
    e.ndim = ndim;
    for (int k = 0; k < ndim; k++)
        e.shape[k] = shape[k];
    if (tensor_bytes(dtype, ndim, shape, &e.nbytes) < 0) {
        ck_error("safetensors", "writer: tensor \"%s\": size overflows", name);
        return -1;
    }
    if (e.nbytes && !data) {
        ck_error("safetensors", "writer: tensor \"%s\": no data", name);
        return -1;
    }
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        st_entry *t = realloc(w->t, (size_t)cap * sizeof *t);
        if (!t) {
            ck_error("safetensors", "out of memory");
            return -1;
        }
        w->t = t;
        w->cap = cap;
    }
    e.name = strdup(name);
    if (copy && e.nbytes) {
        e.owned = malloc(e.nbytes);
        if (e.owned)
            memcpy(e.owned, data, e.nbytes);
    }
    if (!e.name || (copy && e.nbytes && !e.owned)) {
        free(e.name);
        free(e.owned);
        ck_error("safetensors", "writer: tensor \"%s\": out of memory", name);
        return -1;
    }
    e.data = copy ? e.owned : data;
    w->t[w->n++] = e;
    return 0;
}

int ck_st_writer_add(ck_st_writer *w, const char *name, ck_st_dtype dtype, int ndim,
                     const int64_t *shape, const void *data)
{
    return add(w, name, dtype, ndim, shape, data, 0);
}

int ck_st_writer_add_copy(ck_st_writer *w, const char *name, ck_st_dtype dtype, int ndim,
                          const int64_t *shape, const void *data)
{
    return add(w, name, dtype, ndim, shape, data, 1);
}

int ck_st_writer_set_metadata(ck_st_writer *w, const char *key, const char *value)
{
    if (!w)
        return -1;
    if (!key || !value) {
        ck_error("safetensors", "writer: NULL metadata key or value");
        return -1;
    }
    char *v = strdup(value);
    if (!v) {
        ck_error("safetensors", "out of memory");
        return -1;
    }
    for (int k = 0; k < w->nmeta; k++)
        if (strcmp(w->mkey[k], key) == 0) {
            free(w->mval[k]);
            w->mval[k] = v;
            return 0;
        }
    if (w->nmeta == w->capmeta) {
        int cap = w->capmeta ? 2 * w->capmeta : 8;
        char **a = realloc(w->mkey, (size_t)cap * sizeof *a);
        if (a)
            w->mkey = a;
        char **b = a ? realloc(w->mval, (size_t)cap * sizeof *b) : NULL;
        if (b)
            w->mval = b;
        if (!a || !b) {
            free(v);
            ck_error("safetensors", "out of memory");
            return -1;
        }
        w->capmeta = cap;
    }
    w->mkey[w->nmeta] = strdup(key);
    if (!w->mkey[w->nmeta]) {
        free(v);
        ck_error("safetensors", "out of memory");
        return -1;
    }
    w->mval[w->nmeta++] = v;
    return 0;
}

/* Larger elements first, insertion order within a size: every tensor then
 * starts at a multiple of its element size, with no padding between. */
static int *layout_order(const ck_st_writer *w)
{
    int *order = malloc((size_t)(w->n ? w->n : 1) * sizeof *order);
    if (!order)
        return NULL;
    int k = 0;
    for (size_t size = 8; size >= 1; size /= 2)
        for (int i = 0; i < w->n; i++)
            if (ck_st_dtype_size(w->t[i].dtype) == size)
                order[k++] = i;
    return order;
}

static char *build_header(const ck_st_writer *w, const int *order, size_t *len)
{
    ck_json_writer *j = ck_json_writer_new(0);
    if (!j)
        return NULL;
    ck_json_begin_object(j);
    if (w->nmeta) {
        ck_json_key(j, "__metadata__");
        ck_json_begin_object(j);
        for (int k = 0; k < w->nmeta; k++)
            ck_json_kv_string(j, w->mkey[k], w->mval[k]);
        ck_json_end_object(j);
    }
    uint64_t off = 0;
    for (int k = 0; k < w->n; k++) {
        const st_entry *e = &w->t[order[k]];
        ck_json_key(j, e->name);
        ck_json_begin_object(j);
        ck_json_kv_string(j, "dtype", ck_st_dtype_name(e->dtype));
        ck_json_key(j, "shape");
        ck_json_begin_array(j);
        for (int d = 0; d < e->ndim; d++)
            ck_json_write_int(j, e->shape[d]);
        ck_json_end_array(j);
        ck_json_key(j, "data_offsets");
        ck_json_begin_array(j);
        ck_json_write_int(j, (int64_t)off);
        ck_json_write_int(j, (int64_t)(off + e->nbytes));
        ck_json_end_array(j);
        ck_json_end_object(j);
        off += e->nbytes;
    }
    ck_json_end_object(j);
    size_t n;
    const char *text = ck_json_writer_text(j, &n);
    char *out = NULL;
    if (text) {
        size_t padded = (n + 7) / 8 * 8;
        out = malloc(padded + 1);
        if (out) {
            memcpy(out, text, n);
            memset(out + n, ' ', padded - n);
            out[padded] = '\0';
            *len = padded;
        } else {
            ck_error("safetensors", "out of memory");
        }
    }
    ck_json_writer_free(j);
    return out;
}

int ck_st_writer_write(ck_st_writer *w, const char *path)
{
    if (!w)
        return -1;
    int *order = layout_order(w);
    if (!order) {
        ck_error("safetensors", "%s: out of memory", path);
        return -1;
    }
    size_t hlen = 0;
    char *header = build_header(w, order, &hlen);
    if (!header) {
        free(order);
        ck_error("safetensors", "%s: cannot build the header", path);
        return -1;
    }
    ck_atomic_file *af = ck_atomic_open(path, CK_OUT_SYNC);
    if (!af) {
        free(order);
        free(header);
        return -1;
    }
    FILE *fp = ck_atomic_stream(af);
    unsigned char le[8];
    for (int b = 0; b < 8; b++)
        le[b] = (unsigned char)((uint64_t)hlen >> (8 * b));
    int ok = fwrite(le, 1, 8, fp) == 8 && fwrite(header, 1, hlen, fp) == hlen;
    for (int k = 0; ok && k < w->n; k++) {
        const st_entry *e = &w->t[order[k]];
        if (e->nbytes && fwrite(e->data, 1, e->nbytes, fp) != e->nbytes)
            ok = 0;
    }
    int err = errno;
    free(order);
    free(header);
    if (!ok) {
        ck_error_system(err, "safetensors", "cannot write %s", path);
        ck_atomic_abort(af);
        return -1;
    }
    return ck_atomic_commit(af);
}
