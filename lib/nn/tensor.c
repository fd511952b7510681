/* Tensors: shape bookkeeping here, memory through the backend's table. */
#include "backend_impl.h"

#include "ck/error.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t version_counter;

void ck_tensor_touch(ck_tensor *t)
{
    t->version = (uint64_t)atomic_fetch_add_explicit(&version_counter, 1, memory_order_relaxed) + 1;
}

static size_t shape_numel(int ndim, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    return n;
}

static int check_shape(int ndim, const int *shape)
{
    if (ndim < 1 || ndim > CK_MAX_DIMS) {
        ck_error("tensor", "bad number of dimensions %d (1..%d)", ndim, CK_MAX_DIMS);
        return -1;
    }
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) {
            ck_error("tensor", "negative dimension %d", shape[i]);
            return -1;
        }
    return 0;
}

ck_tensor *ck_tensor_new(ck_backend *be, ck_dtype dtype, int ndim, const int *shape)
{
    if (!be) {
        ck_error("tensor", "no backend");
        return NULL;
    }
    if (check_shape(ndim, shape))
        return NULL;
    ck_tensor *t = calloc(1, sizeof *t);
    if (!t) {
        ck_error("tensor", "out of memory");
        return NULL;
    }
    t->be = be;
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof(int));
    t->capacity = shape_numel(ndim, shape) * ck_dtype_size(dtype);
    /* Zero-size tensors still get a valid pointer so kernels need no
     * special case. */
    t->data = be->ops->alloc(be, t->capacity ? t->capacity : 64);
    if (!t->data) {
        free(t);
        return NULL;
    }
    ck_tensor_touch(t);
    return t;
}

ck_tensor *ck_tensor_new_1d(ck_backend *be, ck_dtype dtype, int d0)
{
    return ck_tensor_new(be, dtype, 1, &d0);
}

ck_tensor *ck_tensor_new_2d(ck_backend *be, ck_dtype dtype, int d0, int d1)
{
    int s[2] = {d0, d1};
    return ck_tensor_new(be, dtype, 2, s);
}

ck_tensor *ck_tensor_new_4d(ck_backend *be, ck_dtype dtype, int n, int h, int w, int c)
{
    int s[4] = {n, h, w, c};
    return ck_tensor_new(be, dtype, 4, s);
}

void ck_tensor_free(ck_tensor *t)
{
    if (!t)
        return;
    if (t->be->ops->forget)
        t->be->ops->forget(t->be, t);
    t->be->ops->free(t->be, t->data);
    free(t);
}

ck_backend *ck_tensor_backend(const ck_tensor *t) { return t->be; }
ck_dtype ck_tensor_dtype(const ck_tensor *t) { return t->dtype; }
int ck_tensor_ndim(const ck_tensor *t) { return t->ndim; }

int ck_tensor_dim(const ck_tensor *t, int i)
{
    if (i < 0)
        i += t->ndim;
    return i >= 0 && i < t->ndim ? t->shape[i] : 1;
}

size_t ck_tensor_numel(const ck_tensor *t) { return shape_numel(t->ndim, t->shape); }
size_t ck_tensor_nbytes(const ck_tensor *t) { return ck_tensor_numel(t) * ck_dtype_size(t->dtype); }

int ck_tensor_reshape(ck_tensor *t, int ndim, const int *shape)
{
    if (check_shape(ndim, shape))
        return -1;
    size_t need = shape_numel(ndim, shape) * ck_dtype_size(t->dtype);
    if (need > t->capacity) {
        ck_error("tensor", "reshape needs %zu bytes, tensor holds %zu", need, t->capacity);
        return -1;
    }
    /* Same bytes, other meaning: caches keyed on the version must not
     * match (a [3,3,32,64] kernel read as [3,3,64,32]). */
    if (ndim != t->ndim || memcmp(shape, t->shape, (size_t)ndim * sizeof(int)))
        ck_tensor_touch(t);
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof(int));
    return 0;
}

int ck_tensor_retype(ck_tensor *t, ck_dtype dt, int ndim, const int *shape)
{
    if (t->dtype == dt)
        return ck_tensor_reshape(t, ndim, shape);
    ck_dtype old = t->dtype;
    t->dtype = dt;
    if (ck_tensor_reshape(t, ndim, shape)) {
        t->dtype = old;
        return -1;
    }
    ck_tensor_touch(t); /* same bytes, other meaning */
    return 0;
}

int ck_tensor_set_batch(ck_tensor *t, int n)
{
    int s[CK_MAX_DIMS];
    memcpy(s, t->shape, sizeof s);
    s[0] = n;
    return ck_tensor_reshape(t, t->ndim, s);
}

static int check_range(const ck_tensor *t, size_t offset, size_t nbytes, const char *what)
{
    if (offset > t->capacity || nbytes > t->capacity - offset
        || offset + nbytes > ck_tensor_nbytes(t)) {
        ck_error("tensor", "%s of %zu bytes at offset %zu outside a tensor of %zu bytes", what,
                 nbytes, offset, ck_tensor_nbytes(t));
        return -1;
    }
    return 0;
}

int ck_tensor_upload(ck_tensor *t, const void *host, size_t nbytes)
{
    if (nbytes != ck_tensor_nbytes(t)) {
        ck_error("tensor", "upload of %zu bytes into a tensor of %zu bytes", nbytes, ck_tensor_nbytes(t));
        return -1;
    }
    ck_tensor_touch(t);
    return t->be->ops->upload(t->be, t->data, host, nbytes);
}

int ck_tensor_download(const ck_tensor *t, void *host, size_t nbytes)
{
    if (nbytes != ck_tensor_nbytes(t)) {
        ck_error("tensor", "download of %zu bytes from a tensor of %zu bytes", nbytes, ck_tensor_nbytes(t));
        return -1;
    }
    return t->be->ops->download(t->be, host, t->data, nbytes);
}

int ck_tensor_upload_at(ck_tensor *t, size_t offset, const void *host, size_t nbytes)
{
    if (check_range(t, offset, nbytes, "upload"))
        return -1;
    ck_tensor_touch(t);
    return t->be->ops->upload(t->be, (char *)t->data + offset, host, nbytes);
}

int ck_tensor_download_at(const ck_tensor *t, size_t offset, void *host, size_t nbytes)
{
    if (check_range(t, offset, nbytes, "download"))
        return -1;
    return t->be->ops->download(t->be, host, (const char *)t->data + offset, nbytes);
}

int ck_tensor_fill(ck_tensor *t, float value)
{
    if (value != 0.0f && (t->dtype == CK_U8 || t->dtype == CK_I32)) {
        ck_error("tensor", "fill of an integer (%s) tensor with %g", ck_dtype_name(t->dtype), value);
        return -1;
    }
    ck_tensor_touch(t);
    return t->be->ops->fill(t->be, t, value);
}

static int is_float(ck_dtype d) { return d == CK_F32 || d == CK_BF16 || d == CK_F16; }

int ck_tensor_copy(ck_tensor *dst, const ck_tensor *src)
{
    if (dst->be != src->be) {
        ck_error("tensor", "copy between tensors of different backends");
        return -1;
    }
    if (ck_tensor_numel(dst) != ck_tensor_numel(src)) {
        ck_error("tensor", "copy of %zu elements into a tensor of %zu", ck_tensor_numel(src),
                 ck_tensor_numel(dst));
        return -1;
    }
    if (dst->dtype != src->dtype && !(is_float(dst->dtype) && is_float(src->dtype))) {
        ck_error("tensor", "cannot convert %s to %s", ck_dtype_name(src->dtype), ck_dtype_name(dst->dtype));
        return -1;
    }
    ck_tensor_touch(dst);
    return dst->be->ops->copy(dst->be, dst, src);
}
