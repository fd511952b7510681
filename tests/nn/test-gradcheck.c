/* Finite-difference checks of every backward operation: for a layer
 * y = f(x, w) and a fixed random r, L = Σ y·r (accumulated in double) and
 * dL/dx must match what the backward op computes from dy = r. Central
 * differences with h = 1e-2 on float32 forward passes; tolerance 2e-2
 * relative (plus 1% of the gradient's scale) — loose enough for float32
 * forward noise, tight enough to catch any wrong index or missing term. */
#include "nn_util.h"

#include "ck/ops.h"
#include "ck/rng.h"

static ck_backend *be;
static ck_rng rng;

static ck_tensor *rand_tensor(int ndim, const int *shape, float scale)
{
    ck_tensor *t = ck_tensor_new(be, CK_F32, ndim, shape);
    size_t n = ck_tensor_numel(t);
    float *h = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        h[i] = (float)(scale * ck_rng_normal(&rng));
    ck_tensor_upload(t, h, n * sizeof(float));
    free(h);
    return t;
}

/* Σ a·b in double. */
static double dot(const ck_tensor *a, const ck_tensor *b)
{
    float *x = download(a), *y = download(b);
    double s = 0;
    for (size_t i = 0; i < ck_tensor_numel(a); i++)
        s += (double)x[i] * y[i];
    free(x), free(y);
    return s;
}

typedef double (*loss_fn)(void);

/* Compare the analytic gradient `grad` of the loss w.r.t. `var` with
 * central differences at (up to) 24 spread-out elements. */
static void fd_check(const char *what, ck_tensor *var, const ck_tensor *grad, loss_fn f)
{
    const double h = 1e-2;
    size_t n = ck_tensor_numel(var);
    float *host = download(var), *an = download(grad);
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(an[i]));
    size_t stride = n > 24 ? n / 24 : 1;
    float num[32], ana[32];
    int k = 0;
    for (size_t i = (n > 24 ? stride / 2 : 0); i < n && k < 24; i += stride, k++) {
        float v = host[i];
        host[i] = v + (float)h;
        ck_tensor_upload(var, host, n * sizeof(float));
        double lp = f();
        host[i] = v - (float)h;
        ck_tensor_upload(var, host, n * sizeof(float));
        double lm = f();
        host[i] = v;
        ck_tensor_upload(var, host, n * sizeof(float));
        num[k] = (float)((lp - lm) / (2 * h));
        ana[k] = an[i];
    }
    /* Judge against the whole gradient's scale, not just the sample's. */
    num[k] = ana[k] = (float)scale;
    close_arrays(what, ana, num, (size_t)k + 1, 2e-2);
    free(host), free(an);
}

/* ---- conv ---- */
static ck_tensor *cx, *cw, *cb, *cy, *cr;
static int crelu, cstride, cpad;
static double conv_loss(void)
{
    ck_conv_forward(be, cx, cw, cb, cy, cstride, cpad, crelu, CK_CONV_FP32);
    return dot(cy, cr);
}

/* k×k / stride / pad (3, 1, 1: the 3×3 kernels; others: the general ones). */
static void check_conv(int relu, int k, int stride, int pad)
{
    int ho = (5 + 2 * pad - k) / stride + 1, wo = (4 + 2 * pad - k) / stride + 1;
    int xs[4] = {2, 5, 4, 3}, ws[4] = {k, k, 3, 4}, ys[4] = {2, ho, wo, 4};
    cx = rand_tensor(4, xs, 1), cw = rand_tensor(4, ws, 0.5f), cb = rand_tensor(1, &ws[3], 0.5f);
    cy = rand_tensor(4, ys, 1), cr = rand_tensor(4, ys, 1);
    crelu = relu, cstride = stride, cpad = pad;
    ck_tensor *dx = like(be, cx, CK_F32), *dw = like(be, cw, CK_F32), *db = like(be, cb, CK_F32);
    ck_tensor *g = like(be, cy, CK_F32);
    conv_loss();
    OK(relu ? ck_relu_backward(be, cy, cr, g) : ck_tensor_copy(g, cr));
    OK(ck_conv_backward_data(be, g, cw, dx, stride, pad));
    OK(ck_conv_backward_filter(be, cx, g, dw, db, stride, pad, 0.0f));
    char name[64];
    snprintf(name, sizeof name, "conv %dx%d/%d/%d%s dx", k, k, stride, pad, relu ? "+relu" : "");
    fd_check(name, cx, dx, conv_loss);
    snprintf(name, sizeof name, "conv %dx%d/%d/%d%s dw", k, k, stride, pad, relu ? "+relu" : "");
    fd_check(name, cw, dw, conv_loss);
    snprintf(name, sizeof name, "conv %dx%d/%d/%d%s db", k, k, stride, pad, relu ? "+relu" : "");
    fd_check(name, cb, db, conv_loss);
    ck_tensor *all[] = {cx, cw, cb, cy, cr, dx, dw, db, g};
    for (int i = 0; i < 9; i++)
        ck_tensor_free(all[i]);
}

/* ---- pools ---- */
static ck_tensor *px, *py, *pr;
static double maxpool_loss(void)
{
    ck_maxpool2_forward(be, px, py);
    return dot(py, pr);
}
static double maxpool_general_loss(void)
{
    ck_maxpool_forward(be, px, py, 3, 2, 1);
    return dot(py, pr);
}
static double gap_loss(void)
{
    ck_avgpool_global_forward(be, px, py);
    return dot(py, pr);
}

static void check_pools(void)
{
    int xs[4] = {2, 4, 6, 3}, ys[4] = {2, 2, 3, 3};
    px = rand_tensor(4, xs, 1), py = rand_tensor(4, ys, 1), pr = rand_tensor(4, ys, 1);
    ck_tensor *dx = like(be, px, CK_F32);
    maxpool_loss();
    OK(ck_maxpool2_backward(be, px, py, pr, dx));
    fd_check("maxpool dx", px, dx, maxpool_loss);
    ck_tensor_free(py), ck_tensor_free(pr);
    int ps[4] = {2, 2, 3, 3}; /* 3×3/2/1, overlapping windows */
    py = rand_tensor(4, ps, 1), pr = rand_tensor(4, ps, 1);
    maxpool_general_loss();
    OK(ck_maxpool_backward(be, px, py, pr, dx, 3, 2, 1));
    fd_check("maxpool 3x3/2/1 dx", px, dx, maxpool_general_loss);
    ck_tensor_free(py), ck_tensor_free(pr);
    int gs[2] = {2, 3};
    py = rand_tensor(2, gs, 1), pr = rand_tensor(2, gs, 1);
    gap_loss();
    OK(ck_avgpool_global_backward(be, pr, dx));
    fd_check("gap dx", px, dx, gap_loss);
    ck_tensor_free(px), ck_tensor_free(py), ck_tensor_free(pr), ck_tensor_free(dx);
}

/* ---- dense (4-D input: the flatten case) ---- */
static ck_tensor *dx_in, *dw_, *db_, *dy_out, *dr;
static double dense_loss(void)
{
    ck_dense_forward(be, dx_in, dw_, db_, dy_out);
    return dot(dy_out, dr);
}

static void check_dense(void)
{
    int xs[4] = {3, 2, 2, 2}, ws[2] = {8, 5}, ys[2] = {3, 5};
    dx_in = rand_tensor(4, xs, 1), dw_ = rand_tensor(2, ws, 1), db_ = rand_tensor(1, &ws[1], 1);
    dy_out = rand_tensor(2, ys, 1), dr = rand_tensor(2, ys, 1);
    ck_tensor *gx = like(be, dx_in, CK_F32), *gw = like(be, dw_, CK_F32), *gb = like(be, db_, CK_F32);
    OK(ck_dense_backward(be, dx_in, dw_, dr, gx, gw, gb, 0.0f));
    fd_check("dense dx", dx_in, gx, dense_loss);
    fd_check("dense dw", dw_, gw, dense_loss);
    fd_check("dense db", db_, gb, dense_loss);
    ck_tensor *all[] = {dx_in, dw_, db_, dy_out, dr, gx, gw, gb};
    for (int i = 0; i < 8; i++)
        ck_tensor_free(all[i]);
}

/* ---- batch norm (training mode) ---- */
static ck_tensor *bx, *bg, *bb, *brm, *brv, *bsm, *bsi, *by, *br;
static double bn_loss(void)
{
    ck_batchnorm_forward(be, bx, bg, bb, brm, brv, bsm, bsi, by, 1, 0.1f, 1e-3f);
    return dot(by, br);
}

/* [6,4], or [2,3,2,4] (statistics over N·H·W). */
static void check_bn(int ndim)
{
    int xs2[2] = {6, 4}, xs4[4] = {2, 3, 2, 4}, c = 4;
    const int *xs = ndim == 4 ? xs4 : xs2;
    bx = rand_tensor(ndim, xs, 2), bg = rand_tensor(1, &c, 1), bb = rand_tensor(1, &c, 1);
    brm = rand_tensor(1, &c, 1), brv = rand_tensor(1, &c, 1), bsm = rand_tensor(1, &c, 1);
    bsi = rand_tensor(1, &c, 1), by = rand_tensor(ndim, xs, 1), br = rand_tensor(ndim, xs, 1);
    ck_tensor *gx = like(be, bx, CK_F32), *gg = like(be, bg, CK_F32), *gb = like(be, bb, CK_F32);
    bn_loss();
    OK(ck_batchnorm_backward(be, bx, br, bg, bsm, bsi, gx, gg, gb, 0.0f));
    fd_check(ndim == 4 ? "batchnorm 4-D dx" : "batchnorm dx", bx, gx, bn_loss);
    fd_check(ndim == 4 ? "batchnorm 4-D dgamma" : "batchnorm dgamma", bg, gg, bn_loss);
    fd_check(ndim == 4 ? "batchnorm 4-D dbeta" : "batchnorm dbeta", bb, gb, bn_loss);
    ck_tensor *all[] = {bx, bg, bb, brm, brv, bsm, bsi, by, br, gx, gg, gb};
    for (int i = 0; i < 12; i++)
        ck_tensor_free(all[i]);
}

/* ---- softmax cross-entropy, weights + smoothing ---- */
static ck_tensor *sz, *slab, *scw, *sp;
static float ssmooth;
static double xent_loss(void)
{
    float l;
    ck_softmax_xent(be, sz, slab, scw, ssmooth, sp, NULL, &l, NULL);
    return l;
}

static void check_xent(void)
{
    int zs[2] = {5, 4}, c = 4;
    sz = rand_tensor(2, zs, 2), sp = like(be, sz, CK_F32);
    scw = ck_tensor_new_1d(be, CK_F32, c);
    float w[4] = {0.5f, 2.0f, 1.0f, 0.25f};
    ck_tensor_upload(scw, w, sizeof w);
    slab = ck_tensor_new_1d(be, CK_I32, 5);
    int32_t l[5] = {0, 3, 1, 1, 2};
    ck_tensor_upload(slab, l, sizeof l);
    ck_tensor *dz = like(be, sz, CK_F32);
    for (int k = 0; k < 2; k++) {
        ssmooth = k ? 0.15f : 0.0f;
        OK(ck_softmax_xent(be, sz, slab, scw, ssmooth, sp, dz, NULL, NULL));
        fd_check(k ? "xent dlogits (weights, smoothing)" : "xent dlogits (weights)", sz, dz, xent_loss);
    }
    ck_tensor_free(sz), ck_tensor_free(sp), ck_tensor_free(scw), ck_tensor_free(slab), ck_tensor_free(dz);
}

/* ---- dropout with its mask fixed (same seed and step) ---- */
static ck_tensor *ox, *oy, *om, *orr;
static double dropout_loss(void)
{
    ck_dropout_forward(be, ox, oy, om, 0.4f, 99, 1);
    return dot(oy, orr);
}

static void check_dropout(void)
{
    int s = 40;
    ox = rand_tensor(1, &s, 1), oy = rand_tensor(1, &s, 1), orr = rand_tensor(1, &s, 1);
    om = ck_tensor_new_1d(be, CK_U8, s);
    ck_tensor *gx = like(be, ox, CK_F32);
    dropout_loss();
    OK(ck_dropout_backward(be, orr, om, gx, 0.4f));
    fd_check("dropout dx", ox, gx, dropout_loss);
    ck_tensor_free(ox), ck_tensor_free(oy), ck_tensor_free(orr), ck_tensor_free(om), ck_tensor_free(gx);
}

int main(void)
{
    be = test_backend();
    rng = ck_rng_make(12345, 0, 0);
    check_conv(0, 3, 1, 1);
    check_conv(1, 3, 1, 1);
    check_conv(0, 7, 2, 3); /* ResNet's stem */
    check_conv(1, 1, 2, 0); /* projection shortcut */
    check_conv(0, 1, 1, 0);
    check_conv(1, 3, 2, 1); /* torchvision v1.5's strided 3×3 */
    check_pools();
    check_dense();
    check_bn(2);
    check_bn(4);
    check_xent();
    check_dropout();
    ck_backend_free(be);
    return check_report("test-gradcheck");
}
