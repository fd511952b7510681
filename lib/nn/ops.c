/* The public operations of ck/ops.h: validate once, then dispatch through
 * the backend's table (so CPU and CUDA kernels see only valid calls). */
#include "backend_impl.h"

#include "ck/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define D "ops"

static void shape_str(const ck_tensor *t, char *buf, size_t n)
{
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->ndim && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, i ? ",%d" : "%d", t->shape[i]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

static int need(ck_backend *be, const char *op, const char *what, const ck_tensor *t, ck_dtype dt)
{
    if (!t) {
        ck_error(D, "%s: %s is missing", op, what);
        return -1;
    }
    if (t->be != be) {
        ck_error(D, "%s: %s lives on another backend", op, what);
        return -1;
    }
    if (t->dtype != dt) {
        ck_error(D, "%s: %s is %s, expected %s", op, what, ck_dtype_name(t->dtype), ck_dtype_name(dt));
        return -1;
    }
    return 0;
}

static int need_ndim(const char *op, const char *what, const ck_tensor *t, int ndim)
{
    if (t->ndim != ndim) {
        char s[64];
        shape_str(t, s, sizeof s);
        ck_error(D, "%s: %s has shape %s, expected %d dimensions", op, what, s, ndim);
        return -1;
    }
    return 0;
}

static int need_dim(const char *op, const char *what, const ck_tensor *t, int i, int value)
{
    if (t->shape[i] != value) {
        char s[64];
        shape_str(t, s, sizeof s);
        ck_error(D, "%s: %s has shape %s, expected dimension %d to be %d", op, what, s, i, value);
        return -1;
    }
    return 0;
}

static int same_shape(const char *op, const char *wa, const ck_tensor *a, const char *wb, const ck_tensor *b)
{
    if (a->ndim != b->ndim || memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof(int))) {
        char sa[64], sb[64];
        shape_str(a, sa, sizeof sa);
        shape_str(b, sb, sizeof sb);
        ck_error(D, "%s: %s %s and %s %s differ in shape", op, wa, sa, wb, sb);
        return -1;
    }
    return 0;
}

static int same_numel(const char *op, const char *wa, const ck_tensor *a, const char *wb, const ck_tensor *b)
{
    if (ck_tensor_numel(a) != ck_tensor_numel(b)) {
        ck_error(D, "%s: %s has %zu elements, %s has %zu", op, wa, ck_tensor_numel(a), wb, ck_tensor_numel(b));
        return -1;
    }
    return 0;
}

/* A 1-D F32 vector of length n (used for biases and BN parameters). */
static int need_vec(ck_backend *be, const char *op, const char *what, const ck_tensor *t, int n)
{
    if (need(be, op, what, t, CK_F32) || need_ndim(op, what, t, 1) || need_dim(op, what, t, 0, n))
        return -1;
    return 0;
}

/* Outputs get a new version before the kernel runs (see struct ck_tensor):
 * done here, once for every backend, so no kernel can forget it. NULL
 * entries (optional outputs) are skipped. */
static void wrote(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        ck_tensor *t = va_arg(ap, ck_tensor *);
        if (t)
            ck_tensor_touch(t);
    }
    va_end(ap);
}

/* ---- convolution --------------------------------------------------------- */

/* f32, or also bf16 where the operation takes bf16 activations. */
static int need_act(ck_backend *be, const char *op, const char *what, const ck_tensor *t, int bf16_ok)
{
    if (bf16_ok && t && t->dtype == CK_BF16)
        return need(be, op, what, t, CK_BF16);
    return need(be, op, what, t, CK_F32);
}

/* bf16_ok: the weights, x and y may be bf16 (the forward of frozen layers,
 * whose activations a GPU keeps in bf16 between layers). */
static int check_conv(ck_backend *be, const char *op, const ck_tensor *x, const ck_tensor *w,
                      const ck_tensor *y, int bf16_ok)
{
    if (need_act(be, op, "x", x, bf16_ok) || need_act(be, op, "y", y, bf16_ok) || need_ndim(op, "x", x, 4)
        || need_ndim(op, "y", y, 4))
        return -1;
    if (!w || w->be != be) {
        ck_error(D, "%s: kernel is missing or on another backend", op);
        return -1;
    }
    if (w->dtype != CK_F32 && !(bf16_ok && w->dtype == CK_BF16)) {
        ck_error(D, "%s: kernel is %s, expected f32", op, ck_dtype_name(w->dtype));
        return -1;
    }
    if (need_ndim(op, "kernel", w, 4) || need_dim(op, "kernel", w, 0, 3) || need_dim(op, "kernel", w, 1, 3)
        || need_dim(op, "kernel", w, 2, x->shape[3]) || need_dim(op, "kernel", w, 3, y->shape[3]))
        return -1;
    for (int i = 0; i < 3; i++)
        if (need_dim(op, "y", y, i, x->shape[i]))
            return -1;
    if (x->data == y->data) {
        ck_error(D, "%s: input and output must not overlap", op);
        return -1;
    }
    return 0;
}

int ck_conv3x3_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,
                       ck_tensor *y, int relu, ck_conv_algo algo)
{
    const char *op = "conv3x3_forward";
    if (check_conv(be, op, x, w, y, algo == CK_CONV_BF16 || algo == CK_CONV_AUTO))
        return -1;
    if (b && need_vec(be, op, "bias", b, y->shape[3]))
        return -1;
    if (algo < CK_CONV_AUTO || algo > CK_CONV_BF16) {
        ck_error(D, "%s: bad algorithm %d", op, (int)algo);
        return -1;
    }
    wrote(1, y);
    return be->ops->conv3x3_forward(be, x, w, b, y, relu, algo);
}

int ck_conv3x3_backward_data(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx)
{
    if (check_conv(be, "conv3x3_backward_data", dx, w, dy, 0))
        return -1;
    wrote(1, dx);
    return be->ops->conv3x3_backward_data(be, dy, w, dx);
}

int ck_conv3x3_backward_filter(ck_backend *be, const ck_tensor *x, const ck_tensor *dy, ck_tensor *dw,
                               ck_tensor *db, float beta)
{
    const char *op = "conv3x3_backward_filter";
    if (check_conv(be, op, x, dw, dy, 0))
        return -1;
    if (db && need_vec(be, op, "bias grad", db, dy->shape[3]))
        return -1;
    wrote(2, dw, db);
    return be->ops->conv3x3_backward_filter(be, x, dy, dw, db, beta);
}

/* ---- general convolution ------------------------------------------------- */

/* Output extent of a k-wide window at stride s with pad p on both sides
 * (floor, like PyTorch); < 1 when the padded input is narrower than k. */
static int out_extent(int in, int k, int s, int p) { return in + 2 * p < k ? 0 : (in + 2 * p - k) / s + 1; }

static int check_geometry(const char *op, int k, int stride, int pad, const ck_tensor *x)
{
    if (k < 1 || stride < 1 || pad < 0) {
        ck_error(D, "%s: bad window %d, stride %d or padding %d", op, k, stride, pad);
        return -1;
    }
    if (out_extent(x->shape[1], k, stride, pad) < 1 || out_extent(x->shape[2], k, stride, pad) < 1) {
        ck_error(D, "%s: a %d×%d input padded by %d is smaller than the %d×%d window", op, x->shape[1],
                 x->shape[2], pad, k, k);
        return -1;
    }
    return 0;
}

/* x [N,H,W,Ci], w [k,k,Ci,Co], y [N,Ho,Wo,Co], all F32. */
static int check_conv_general(ck_backend *be, const char *op, const ck_tensor *x, const ck_tensor *w,
                              const ck_tensor *y, int stride, int pad)
{
    if (need(be, op, "x", x, CK_F32) || need(be, op, "y", y, CK_F32) || need(be, op, "kernel", w, CK_F32)
        || need_ndim(op, "x", x, 4) || need_ndim(op, "y", y, 4) || need_ndim(op, "kernel", w, 4))
        return -1;
    const int k = w->shape[0];
    if (need_dim(op, "kernel", w, 1, k) || need_dim(op, "kernel", w, 2, x->shape[3]) || check_geometry(op, k, stride, pad, x))
        return -1;
    if (need_dim(op, "y", y, 0, x->shape[0]) || need_dim(op, "y", y, 1, out_extent(x->shape[1], k, stride, pad))
        || need_dim(op, "y", y, 2, out_extent(x->shape[2], k, stride, pad)) || need_dim(op, "y", y, 3, w->shape[3]))
        return -1;
    if (x->data == y->data) {
        ck_error(D, "%s: input and output must not overlap", op);
        return -1;
    }
    return 0;
}

/* The 3×3 'same' shape keeps its own kernels (Winograd, bf16). */
static int is_conv3x3(const ck_tensor *w, int stride, int pad)
{
    return w && w->ndim == 4 && w->shape[0] == 3 && w->shape[1] == 3 && stride == 1 && pad == 1;
}

int ck_conv_add_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,
                        const ck_tensor *r, ck_tensor *y, int stride, int pad, int relu, ck_conv_algo algo)
{
    const char *op = r ? "conv_add_forward" : "conv_forward";
    if (r && (need(be, op, "residual", r, CK_F32) || need(be, op, "y", y, CK_F32) || same_shape(op, "residual", r, "y", y)))
        return -1;
    if (r && r->data == y->data) {
        ck_error(D, "%s: the residual and the output must not overlap", op);
        return -1;
    }
    if (is_conv3x3(w, stride, pad)) {
        if (!r)
            return ck_conv3x3_forward(be, x, w, b, y, relu, algo);
        return ck_conv3x3_forward(be, x, w, b, y, 0, algo) || ck_add_forward(be, y, r, y, relu) ? -1 : 0;
    }
    if (check_conv_general(be, op, x, w, y, stride, pad)
        || (b && need_vec(be, op, "bias", b, y->shape[3])))
        return -1;
    wrote(1, y);
    return be->ops->conv_forward(be, x, w, b, r, y, stride, pad, relu);
}

int ck_conv_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b, ck_tensor *y,
                    int stride, int pad, int relu, ck_conv_algo algo)
{
    return ck_conv_add_forward(be, x, w, b, NULL, y, stride, pad, relu, algo);
}

int ck_conv_backward_data(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx, int stride, int pad)
{
    if (is_conv3x3(w, stride, pad))
        return ck_conv3x3_backward_data(be, dy, w, dx);
    if (check_conv_general(be, "conv_backward_data", dx, w, dy, stride, pad))
        return -1;
    wrote(1, dx);
    return be->ops->conv_backward_data(be, dy, w, dx, stride, pad);
}

int ck_conv_backward_filter(ck_backend *be, const ck_tensor *x, const ck_tensor *dy, ck_tensor *dw, ck_tensor *db,
                            int stride, int pad, float beta)
{
    const char *op = "conv_backward_filter";
    if (is_conv3x3(dw, stride, pad))
        return ck_conv3x3_backward_filter(be, x, dy, dw, db, beta);
    if (check_conv_general(be, op, x, dw, dy, stride, pad))
        return -1;
    if (db && need_vec(be, op, "bias grad", db, dy->shape[3]))
        return -1;
    wrote(2, dw, db);
    return be->ops->conv_backward_filter(be, x, dy, dw, db, stride, pad, beta);
}

/* ---- element-wise and pooling ------------------------------------------- */

int ck_relu_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    const char *op = "relu_forward";
    if (need(be, op, "x", x, CK_F32) || need(be, op, "y", y, CK_F32) || same_numel(op, "x", x, "y", y))
        return -1;
    wrote(1, y);
    return be->ops->relu_forward(be, x, y);
}

int ck_relu_backward(ck_backend *be, const ck_tensor *y, const ck_tensor *dy, ck_tensor *dx)
{
    const char *op = "relu_backward";
    if (need(be, op, "y", y, CK_F32) || need(be, op, "dy", dy, CK_F32) || need(be, op, "dx", dx, CK_F32)
        || same_numel(op, "y", y, "dy", dy) || same_numel(op, "dy", dy, "dx", dx))
        return -1;
    wrote(1, dx);
    return be->ops->relu_backward(be, y, dy, dx);
}

int ck_round_bf16(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    const char *op = "round_bf16";
    if (need(be, op, "x", x, CK_F32) || need(be, op, "y", y, CK_F32) || same_numel(op, "x", x, "y", y))
        return -1;
    wrote(1, y);
    return be->ops->round_bf16(be, x, y);
}

int ck_add_forward(ck_backend *be, const ck_tensor *a, const ck_tensor *b, ck_tensor *y, int relu)
{
    const char *op = "add_forward";
    if (need(be, op, "a", a, CK_F32) || need(be, op, "b", b, CK_F32) || need(be, op, "y", y, CK_F32)
        || same_shape(op, "a", a, "b", b) || same_shape(op, "a", a, "y", y))
        return -1;
    wrote(1, y);
    return be->ops->add_forward(be, a, b, y, relu);
}

static int check_pool(ck_backend *be, const char *op, const ck_tensor *x, const ck_tensor *y, int bf16_ok)
{
    if (need_act(be, op, "x", x, bf16_ok) || need(be, op, "y", y, x ? x->dtype : CK_F32) || need_ndim(op, "x", x, 4)
        || need_ndim(op, "y", y, 4))
        return -1;
    if (x->shape[1] % 2 || x->shape[2] % 2) {
        ck_error(D, "%s: height and width must be even (got %d×%d)", op, x->shape[1], x->shape[2]);
        return -1;
    }
    if (need_dim(op, "y", y, 0, x->shape[0]) || need_dim(op, "y", y, 1, x->shape[1] / 2)
        || need_dim(op, "y", y, 2, x->shape[2] / 2) || need_dim(op, "y", y, 3, x->shape[3]))
        return -1;
    return 0;
}

int ck_maxpool2_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    if (check_pool(be, "maxpool2_forward", x, y, 1))
        return -1;
    wrote(1, y);
    return be->ops->maxpool2_forward(be, x, y);
}

int ck_maxpool2_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *y, const ck_tensor *dy,
                         ck_tensor *dx)
{
    const char *op = "maxpool2_backward";
    if (check_pool(be, op, x, y, 0) || need(be, op, "dy", dy, CK_F32) || need(be, op, "dx", dx, CK_F32)
        || same_shape(op, "dy", dy, "y", y) || same_shape(op, "dx", dx, "x", x))
        return -1;
    wrote(1, dx);
    return be->ops->maxpool2_backward(be, x, y, dy, dx);
}

/* x [N,H,W,C] -> y [N,Ho,Wo,C], F32. */
static int check_pool_general(ck_backend *be, const char *op, const ck_tensor *x, const ck_tensor *y, int k,
                              int stride, int pad)
{
    if (need(be, op, "x", x, CK_F32) || need(be, op, "y", y, CK_F32) || need_ndim(op, "x", x, 4)
        || need_ndim(op, "y", y, 4) || check_geometry(op, k, stride, pad, x))
        return -1;
    if (2 * pad > k) {
        /* PyTorch's rule: a window made only of padding would have no max. */
        ck_error(D, "%s: padding %d is more than half the %d×%d window", op, pad, k, k);
        return -1;
    }
    if (need_dim(op, "y", y, 0, x->shape[0]) || need_dim(op, "y", y, 1, out_extent(x->shape[1], k, stride, pad))
        || need_dim(op, "y", y, 2, out_extent(x->shape[2], k, stride, pad)) || need_dim(op, "y", y, 3, x->shape[3]))
        return -1;
    return 0;
}

/* 2×2/2 on even sizes keeps its own kernels (and their BF16). */
static int is_pool2(const ck_tensor *x, int k, int stride, int pad)
{
    return k == 2 && stride == 2 && pad == 0 && x && x->ndim == 4 && x->shape[1] % 2 == 0 && x->shape[2] % 2 == 0;
}

int ck_maxpool_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y, int k, int stride, int pad)
{
    if (is_pool2(x, k, stride, pad))
        return ck_maxpool2_forward(be, x, y);
    if (check_pool_general(be, "maxpool_forward", x, y, k, stride, pad))
        return -1;
    wrote(1, y);
    return be->ops->maxpool_forward(be, x, y, k, stride, pad);
}

int ck_maxpool_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *y, const ck_tensor *dy, ck_tensor *dx,
                        int k, int stride, int pad)
{
    const char *op = "maxpool_backward";
    if (is_pool2(x, k, stride, pad))
        return ck_maxpool2_backward(be, x, y, dy, dx);
    if (check_pool_general(be, op, x, y, k, stride, pad) || need(be, op, "dy", dy, CK_F32)
        || need(be, op, "dx", dx, CK_F32) || same_shape(op, "dy", dy, "y", y) || same_shape(op, "dx", dx, "x", x))
        return -1;
    wrote(1, dx);
    return be->ops->maxpool_backward(be, x, y, dy, dx, k, stride, pad);
}

static int check_gap(ck_backend *be, const char *op, const ck_tensor *x, const ck_tensor *y)
{
    if (need(be, op, "x", x, CK_F32) || need(be, op, "y", y, CK_F32) || need_ndim(op, "x", x, 4)
        || need_ndim(op, "y", y, 2) || need_dim(op, "y", y, 0, x->shape[0]) || need_dim(op, "y", y, 1, x->shape[3]))
        return -1;
    return 0;
}

int ck_avgpool_global_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    if (check_gap(be, "avgpool_global_forward", x, y))
        return -1;
    wrote(1, y);
    return be->ops->avgpool_global_forward(be, x, y);
}

int ck_avgpool_global_backward(ck_backend *be, const ck_tensor *dy, ck_tensor *dx)
{
    if (check_gap(be, "avgpool_global_backward", dx, dy))
        return -1;
    wrote(1, dx);
    return be->ops->avgpool_global_backward(be, dy, dx);
}

/* ---- dense ---------------------------------------------------------------- */

/* x is [N,K] or [N,...] read as [N, rest]. */
static int check_dense(ck_backend *be, const char *op, const ck_tensor *x, const ck_tensor *w, const ck_tensor *y)
{
    if (need(be, op, "x", x, CK_F32) || need(be, op, "kernel", w, CK_F32) || need(be, op, "y", y, CK_F32)
        || need_ndim(op, "kernel", w, 2) || need_ndim(op, "y", y, 2))
        return -1;
    size_t feat = 1;
    for (int i = 1; i < x->ndim; i++)
        feat *= (size_t)x->shape[i];
    if (feat != (size_t)w->shape[0]) {
        char s[64];
        shape_str(x, s, sizeof s);
        ck_error(D, "%s: input %s has %zu features, kernel expects %d", op, s, feat, w->shape[0]);
        return -1;
    }
    if (need_dim(op, "y", y, 0, x->shape[0]) || need_dim(op, "y", y, 1, w->shape[1]))
        return -1;
    return 0;
}

int ck_dense_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b, ck_tensor *y)
{
    const char *op = "dense_forward";
    if (check_dense(be, op, x, w, y) || (b && need_vec(be, op, "bias", b, w->shape[1])))
        return -1;
    if (x->data == y->data) {
        ck_error(D, "%s: input and output must not overlap", op);
        return -1;
    }
    wrote(1, y);
    return be->ops->dense_forward(be, x, w, b, y);
}

int ck_dense_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *dy,
                      ck_tensor *dx, ck_tensor *dw, ck_tensor *db, float beta)
{
    const char *op = "dense_backward";
    if (check_dense(be, op, x, w, dy))
        return -1;
    if (dx && (need(be, op, "dx", dx, CK_F32) || same_numel(op, "dx", dx, "x", x)))
        return -1;
    if (dw && (need(be, op, "dw", dw, CK_F32) || same_shape(op, "dw", dw, "kernel", w)))
        return -1;
    if (db && need_vec(be, op, "bias grad", db, w->shape[1]))
        return -1;
    wrote(3, dx, dw, db);
    return be->ops->dense_backward(be, x, w, dy, dx, dw, db, beta);
}

/* ---- dropout, batch norm ------------------------------------------------- */

static int check_rate(const char *op, float rate)
{
    if (!(rate >= 0.0f && rate < 1.0f)) {
        ck_error(D, "%s: rate %g outside [0,1)", op, rate);
        return -1;
    }
    return 0;
}

int ck_dropout_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y, ck_tensor *mask, float rate,
                       uint64_t seed, uint32_t step)
{
    const char *op = "dropout_forward";
    if (need(be, op, "x", x, CK_F32) || need(be, op, "y", y, CK_F32) || need(be, op, "mask", mask, CK_U8)
        || same_numel(op, "x", x, "y", y) || same_numel(op, "x", x, "mask", mask) || check_rate(op, rate))
        return -1;
    wrote(2, y, mask);
    return be->ops->dropout_forward(be, x, y, mask, rate, seed, step);
}

int ck_dropout_backward(ck_backend *be, const ck_tensor *dy, const ck_tensor *mask, ck_tensor *dx, float rate)
{
    const char *op = "dropout_backward";
    if (need(be, op, "dy", dy, CK_F32) || need(be, op, "dx", dx, CK_F32) || need(be, op, "mask", mask, CK_U8)
        || same_numel(op, "dy", dy, "dx", dx) || same_numel(op, "dy", dy, "mask", mask) || check_rate(op, rate))
        return -1;
    wrote(1, dx);
    return be->ops->dropout_backward(be, dy, mask, dx, rate);
}

/* [N,C] (the head) or [N,H,W,C] (a backbone stage): channels last. */
static int need_bn_ndim(const char *op, const ck_tensor *x)
{
    if (x->ndim != 2 && x->ndim != 4) {
        char sh[64];
        shape_str(x, sh, sizeof sh);
        ck_error(D, "%s: x has shape %s, expected [N,C] or [N,H,W,C]", op, sh);
        return -1;
    }
    return 0;
}

int ck_batchnorm_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *gamma, const ck_tensor *beta_,
                         ck_tensor *running_mean, ck_tensor *running_var, ck_tensor *save_mean,
                         ck_tensor *save_invstd, ck_tensor *y, int training, float momentum, float eps)
{
    const char *op = "batchnorm_forward";
    if (need(be, op, "x", x, CK_F32) || need_bn_ndim(op, x) || need(be, op, "y", y, CK_F32)
        || same_shape(op, "x", x, "y", y))
        return -1;
    int c = x->shape[x->ndim - 1];
    if (need_vec(be, op, "gamma", gamma, c) || need_vec(be, op, "beta", beta_, c)
        || need_vec(be, op, "running mean", running_mean, c) || need_vec(be, op, "running var", running_var, c))
        return -1;
    if (training) {
        if ((save_mean && need_vec(be, op, "saved mean", save_mean, c))
            || (save_invstd && need_vec(be, op, "saved invstd", save_invstd, c)))
            return -1;
        if (c > 0 && ck_tensor_numel(x) / (size_t)c < 2) {
            /* PyTorch refuses too: the variance of one value is undefined. */
            ck_error(D, "%s: training needs more than 1 value per channel (got %zu)", op,
                     ck_tensor_numel(x) / (size_t)c);
            return -1;
        }
    }
    if (!(eps > 0.0f) || !(momentum >= 0.0f && momentum <= 1.0f)) {
        ck_error(D, "%s: bad eps %g or momentum %g", op, eps, momentum);
        return -1;
    }
    wrote(5, y, save_mean, save_invstd, training ? running_mean : NULL, training ? running_var : NULL);
    return be->ops->batchnorm_forward(be, x, gamma, beta_, running_mean, running_var, save_mean, save_invstd,
                                      y, training, momentum, eps);
}

int ck_batchnorm_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *dy, const ck_tensor *gamma,
                          const ck_tensor *save_mean, const ck_tensor *save_invstd, ck_tensor *dx,
                          ck_tensor *dgamma, ck_tensor *dbeta, float beta)
{
    const char *op = "batchnorm_backward";
    if (need(be, op, "x", x, CK_F32) || need_bn_ndim(op, x) || need(be, op, "dy", dy, CK_F32)
        || same_shape(op, "dy", dy, "x", x))
        return -1;
    int c = x->shape[x->ndim - 1];
    if (need_vec(be, op, "gamma", gamma, c) || need_vec(be, op, "saved mean", save_mean, c)
        || need_vec(be, op, "saved invstd", save_invstd, c))
        return -1;
    if ((dx && (need(be, op, "dx", dx, CK_F32) || same_shape(op, "dx", dx, "x", x)))
        || (dgamma && need_vec(be, op, "dgamma", dgamma, c)) || (dbeta && need_vec(be, op, "dbeta", dbeta, c)))
        return -1;
    wrote(3, dx, dgamma, dbeta);
    return be->ops->batchnorm_backward(be, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, beta);
}

/* ---- softmax, loss, preprocessing --------------------------------------- */

int ck_softmax_forward(ck_backend *be, const ck_tensor *logits, ck_tensor *probs)
{
    const char *op = "softmax_forward";
    if (need(be, op, "logits", logits, CK_F32) || need_ndim(op, "logits", logits, 2)
        || need(be, op, "probs", probs, CK_F32) || same_shape(op, "probs", probs, "logits", logits))
        return -1;
    if (logits->shape[1] < 1) {
        ck_error(D, "%s: no classes", op);
        return -1;
    }
    wrote(1, probs);
    return be->ops->softmax_forward(be, logits, probs);
}

int ck_softmax_xent(ck_backend *be, const ck_tensor *logits, const ck_tensor *labels,
                    const ck_tensor *class_weights, float smoothing, ck_tensor *probs, ck_tensor *dlogits,
                    float *loss, int *correct)
{
    const char *op = "softmax_xent";
    if (need(be, op, "logits", logits, CK_F32) || need_ndim(op, "logits", logits, 2)
        || need(be, op, "probs", probs, CK_F32) || same_shape(op, "probs", probs, "logits", logits))
        return -1;
    if (logits->shape[1] < 1) {
        ck_error(D, "%s: no classes", op);
        return -1;
    }
    if (need(be, op, "labels", labels, CK_I32) || need_ndim(op, "labels", labels, 1)
        || need_dim(op, "labels", labels, 0, logits->shape[0]))
        return -1;
    if (class_weights && need_vec(be, op, "class weights", class_weights, logits->shape[1]))
        return -1;
    if (dlogits && (need(be, op, "dlogits", dlogits, CK_F32) || same_shape(op, "dlogits", dlogits, "logits", logits)))
        return -1;
    if (!(smoothing >= 0.0f && smoothing < 1.0f)) {
        ck_error(D, "%s: label smoothing %g outside [0,1)", op, smoothing);
        return -1;
    }
    /* Labels are validated by the backend (they may live on a device). */
    wrote(2, probs, dlogits);
    return be->ops->softmax_xent(be, logits, labels, class_weights, smoothing, probs, dlogits, loss, correct);
}

int ck_preprocess_spec_of(const char *kind, ck_preprocess_spec *out)
{
    if (kind && !strcmp(kind, "caffe")) {
        *out = (ck_preprocess_spec){1, {103.939f, 116.779f, 123.68f}, {1.0f, 1.0f, 1.0f}};
        return 0;
    }
    if (kind && !strcmp(kind, "torch")) {
        /* torchvision's Normalize on x/255, folded into one multiply. */
        static const double mean[3] = {0.485, 0.456, 0.406}, std[3] = {0.229, 0.224, 0.225};
        out->bgr = 0;
        for (int c = 0; c < 3; c++) {
            out->mean[c] = (float)(255.0 * mean[c]);
            out->scale[c] = (float)(1.0 / (255.0 * std[c]));
        }
        return 0;
    }
    ck_error(D, "unknown preprocessing '%s' (expected caffe or torch)", kind ? kind : "(null)");
    return -1;
}

int ck_preprocess(ck_backend *be, const ck_tensor *rgb, const ck_preprocess_spec *p, ck_tensor *out)
{
    const char *op = "preprocess";
    if (!p) {
        ck_error(D, "%s: no preprocessing spec", op);
        return -1;
    }
    if (need(be, op, "rgb", rgb, CK_U8) || need(be, op, "out", out, CK_F32) || need_ndim(op, "rgb", rgb, 4)
        || need_dim(op, "rgb", rgb, 3, 3) || same_shape(op, "out", out, "rgb", rgb))
        return -1;
    wrote(1, out);
    return be->ops->preprocess(be, rgb, p, out);
}

/* ---- optimizers and utilities -------------------------------------------- */

static int check_update(ck_backend *be, const char *op, const ck_tensor *p, const ck_tensor *g,
                        const char *sname, const ck_tensor *s)
{
    if (need(be, op, "param", p, CK_F32) || need(be, op, "grad", g, CK_F32) || same_numel(op, "param", p, "grad", g))
        return -1;
    if (sname && (need(be, op, sname, s, CK_F32) || same_numel(op, "param", p, sname, s)))
        return -1;
    return 0;
}

int ck_sgd_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *velocity, float lr,
                  float momentum, int nesterov, float weight_decay)
{
    if (check_update(be, "sgd_update", param, grad, momentum != 0.0f ? "velocity" : NULL, velocity))
        return -1;
    wrote(2, param, velocity);
    return be->ops->sgd_update(be, param, grad, velocity, lr, momentum, nesterov, weight_decay);
}

int ck_adam_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *m, ck_tensor *v, float lr,
                   float beta1, float beta2, float eps, float weight_decay, int decoupled, long t)
{
    const char *op = "adam_update";
    if (check_update(be, op, param, grad, "m", m) || check_update(be, op, param, grad, "v", v))
        return -1;
    if (t < 1) {
        ck_error(D, "%s: step %ld must be >= 1", op, t);
        return -1;
    }
    wrote(3, param, m, v);
    return be->ops->adam_update(be, param, grad, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, t);
}

int ck_rmsprop_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *sq, float lr, float rho,
                      float eps, float weight_decay)
{
    if (check_update(be, "rmsprop_update", param, grad, "square average", sq))
        return -1;
    wrote(2, param, sq);
    return be->ops->rmsprop_update(be, param, grad, sq, lr, rho, eps, weight_decay);
}

int ck_scale(ck_backend *be, ck_tensor *t, float a)
{
    if (need(be, "scale", "t", t, CK_F32))
        return -1;
    wrote(1, t);
    return be->ops->scale(be, t, a);
}

int ck_axpy(ck_backend *be, float a, const ck_tensor *x, ck_tensor *y)
{
    if (need(be, "axpy", "x", x, CK_F32) || need(be, "axpy", "y", y, CK_F32) || same_numel("axpy", "x", x, "y", y))
        return -1;
    wrote(1, y);
    return be->ops->axpy(be, a, x, y);
}

int ck_sum_squares(ck_backend *be, const ck_tensor *t, double *out)
{
    if (need(be, "sum_squares", "t", t, CK_F32))
        return -1;
    return be->ops->sum_squares(be, t, out);
}
