/* test-backend-ops: every operation, forward and backward, on the CPU
 * backend (the reference) and on CUDA with the same random inputs, compared
 * element by element (ggml's test-backend-ops idea). Skips (exit 77)
 * without a usable GPU.
 *
 * Tolerances: |gpu - cpu| <= tol · max(1, max|cpu|) per element, with
 *   exact (tol 0, bytes compared): dropout masks, preprocessing,
 *     max pooling, ReLU, dtype conversions, rounding to bf16, fill;
 *   1e-5: element-wise float work (optimizers, BN, softmax, pooling means),
 *     where only FMA contraction and exp/log differ;
 *   1e-4: convolutions and GEMMs in fp32 (summation order differs);
 *   3e-2: the bf16 convolution (also with bf16 activations in and out),
 *     the model with the GPU's bf16 activations against fp32, and the
 *     training step under bf16 precision (a sum on either side of a bf16
 *     rounding midpoint moves a rounded value by one bf16 step);
 *   1e-3: a whole VGG16 (13 convolutions deep) and its training step
 *     (gradients relative to their own scale, not to 1).
 * TF32 is switched off (CK_CUDA_TF32=0) so fp32 really is fp32.
 * Inputs are tie-free where ties matter (max pooling: distinct values). */
#include "check.h"

#include "ck/backend.h"
#include "ck/error.h"
#include "ck/model.h"
#include "ck/ops.h"
#include "ck/optim.h"
#include "ck/rng.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ck_backend *cpu, *gpu;
static uint64_t seed_counter;

typedef struct pair {
    ck_tensor *c, *g;
} pair;

static void die(const char *what)
{
    fprintf(stderr, "test-backend-ops: %s: %s", what, ck_error_buffer());
    exit(1);
}

static size_t numel(int ndim, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    return n;
}

/* A tensor on both backends holding the same bytes. */
static pair pair_new(ck_dtype dt, int ndim, const int *shape, const void *host)
{
    pair p = {ck_tensor_new(cpu, dt, ndim, shape), ck_tensor_new(gpu, dt, ndim, shape)};
    if (!p.c || !p.g)
        die("tensor_new");
    if (host) {
        size_t nb = ck_tensor_nbytes(p.c);
        if (ck_tensor_upload(p.c, host, nb) || ck_tensor_upload(p.g, host, nb))
            die("upload");
    } else if (ck_tensor_fill(p.c, 0.0f) || ck_tensor_fill(p.g, 0.0f)) {
        die("fill");
    }
    return p;
}

static void pair_free(pair p)
{
    ck_tensor_free(p.c);
    ck_tensor_free(p.g);
}

static float *randn(size_t n, float scale)
{
    ck_rng r = ck_rng_make(0x5eed, seed_counter++, 0);
    float *a = malloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = (float)ck_rng_normal(&r) * scale;
    return a;
}

/* Distinct values (a shuffled ramp): no ties anywhere. */
static float *distinct(size_t n)
{
    ck_rng r = ck_rng_make(0xd15, seed_counter++, 0);
    int *perm = malloc(n * sizeof *perm);
    float *a = malloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++)
        perm[i] = (int)i;
    ck_rng_shuffle_int(&r, perm, (int)n);
    for (size_t i = 0; i < n; i++)
        a[i] = ((float)perm[i] - (float)n / 2) / (float)n * 8.0f;
    free(perm);
    return a;
}

static pair pair_randn(int ndim, const int *shape, float scale)
{
    float *h = randn(numel(ndim, shape), scale);
    pair p = pair_new(CK_F32, ndim, shape, h);
    free(h);
    return p;
}

/* Compare the two copies; tol 0 means identical bytes. The error limit is
 * tol · max(floor, max|cpu|). */
static void compare_floor(const char *name, pair p, double tol, double floor)
{
    size_t nb = ck_tensor_nbytes(p.c), n = ck_tensor_numel(p.c);
    unsigned char *a = malloc(nb ? nb : 1), *b = malloc(nb ? nb : 1);
    if (ck_tensor_download(p.c, a, nb) || ck_tensor_download(p.g, b, nb))
        die("download");
    check_count++;
    if (tol == 0.0 || ck_tensor_dtype(p.c) != CK_F32) {
        int same = memcmp(a, b, nb) == 0;
        if (!same)
            check_failures++;
        fprintf(stderr, "%-40s %s (exact)\n", name, same ? "ok" : "FAILED");
    } else {
        const float *x = (const float *)a, *y = (const float *)b;
        double mx = floor, worst = 0.0;
        size_t at = 0;
        for (size_t i = 0; i < n; i++)
            mx = fabs(x[i]) > mx ? fabs(x[i]) : mx;
        int ok = 1;
        for (size_t i = 0; i < n; i++) {
            double e = fabs((double)x[i] - (double)y[i]);
            if (!(e <= worst) || isnan(y[i])) {
                worst = isnan(y[i]) ? INFINITY : e;
                at = i;
            }
        }
        ok = worst <= tol * mx;
        if (!ok)
            check_failures++;
        fprintf(stderr, "%-40s %s (max err %.3g at %zu: cpu %.7g gpu %.7g, limit %.3g)\n", name, ok ? "ok" : "FAILED",
                worst, at, n ? x[at] : 0.0, n ? y[at] : 0.0, tol * mx);
    }
    free(a);
    free(b);
}

static void compare(const char *name, pair p, double tol) { compare_floor(name, p, tol, 1.0); }

#define RUN(call_cpu, call_gpu)                                                  \
    do {                                                                         \
        if ((call_cpu) != 0)                                                     \
            die("cpu " #call_cpu);                                               \
        if ((call_gpu) != 0)                                                     \
            die("gpu " #call_gpu);                                               \
    } while (0)

static void test_conv(int n, int h, int w, int ci, int co)
{
    char name[96];
    int xs[4] = {n, h, w, ci}, ws[4] = {3, 3, ci, co}, ys[4] = {n, h, w, co}, bs[1] = {co};
    pair x = pair_randn(4, xs, 1.0f), wt = pair_randn(4, ws, 0.3f), b = pair_randn(1, bs, 0.5f);
    pair y = pair_new(CK_F32, 4, ys, NULL), dy = pair_randn(4, ys, 1.0f);
    pair dx = pair_new(CK_F32, 4, xs, NULL), dw = pair_randn(4, ws, 1.0f), db = pair_randn(1, bs, 1.0f);
    for (int relu = 0; relu <= 1; relu++) {
        RUN(ck_conv3x3_forward(cpu, x.c, wt.c, b.c, y.c, relu, CK_CONV_FP32),
            ck_conv3x3_forward(gpu, x.g, wt.g, b.g, y.g, relu, CK_CONV_FP32));
        snprintf(name, sizeof name, "conv fwd %dx%dx%dx%d->%d relu=%d", n, h, w, ci, co, relu);
        compare(name, y, 1e-4);
    }
    /* bf16 path: against the CPU's fp32 result. */
    RUN(ck_conv3x3_forward(cpu, x.c, wt.c, b.c, y.c, 1, CK_CONV_FP32),
        ck_conv3x3_forward(gpu, x.g, wt.g, b.g, y.g, 1, CK_CONV_BF16));
    snprintf(name, sizeof name, "conv fwd bf16 %dx%dx%dx%d->%d", n, h, w, ci, co);
    compare(name, y, 3e-2);
    pair wb = pair_new(CK_BF16, 4, ws, NULL);
    RUN(ck_tensor_copy(wb.c, wt.c), ck_tensor_copy(wb.g, wt.g));
    RUN(ck_conv3x3_forward(cpu, x.c, wb.c, b.c, y.c, 1, CK_CONV_BF16),
        ck_conv3x3_forward(gpu, x.g, wb.g, b.g, y.g, 1, CK_CONV_BF16));
    snprintf(name, sizeof name, "conv fwd bf16 weights %dx%dx%dx%d->%d", n, h, w, ci, co);
    compare(name, y, 3e-2);
    pair_free(wb);

    /* bf16 activations (what the model passes between frozen layers on the
     * GPU): bf16 x in, bf16 y out, compared after widening; then max-pool
     * on the same bf16 values on both sides, which must be exact. */
    pair x16 = pair_new(CK_BF16, 4, xs, NULL), y16 = pair_new(CK_BF16, 4, ys, NULL);
    pair yw = pair_new(CK_F32, 4, ys, NULL);
    RUN(ck_tensor_copy(x16.c, x.c), ck_tensor_copy(x16.g, x.g));
    RUN(ck_conv3x3_forward(cpu, x16.c, wt.c, b.c, y16.c, 1, CK_CONV_BF16),
        ck_conv3x3_forward(gpu, x16.g, wt.g, b.g, y16.g, 1, CK_CONV_BF16));
    RUN(ck_tensor_copy(yw.c, y16.c), ck_tensor_copy(yw.g, y16.g));
    snprintf(name, sizeof name, "conv fwd bf16 activations %dx%dx%dx%d->%d", n, h, w, ci, co);
    compare(name, yw, 3e-2);
    RUN(ck_conv3x3_forward(cpu, x.c, wt.c, b.c, y.c, 1, CK_CONV_FP32),
        ck_conv3x3_forward(gpu, x.g, wt.g, b.g, y16.g, 1, CK_CONV_AUTO));
    RUN(ck_tensor_copy(yw.c, y.c), ck_tensor_copy(yw.g, y16.g));
    snprintf(name, sizeof name, "conv fwd auto f32->bf16 %dx%dx%dx%d->%d", n, h, w, ci, co);
    compare(name, yw, 3e-2);
    if (h % 2 == 0 && w % 2 == 0) {
        size_t nb = ck_tensor_nbytes(y16.c);
        void *hy = malloc(nb);
        if (ck_tensor_download(y16.c, hy, nb) || ck_tensor_upload(y16.g, hy, nb))
            die("bf16 copy");
        free(hy);
        int ps[4] = {n, h / 2, w / 2, co};
        pair p16 = pair_new(CK_BF16, 4, ps, NULL);
        RUN(ck_maxpool2_forward(cpu, y16.c, p16.c), ck_maxpool2_forward(gpu, y16.g, p16.g));
        snprintf(name, sizeof name, "maxpool fwd bf16 %dx%dx%dx%d", n, h, w, co);
        compare(name, p16, 0);
        pair_free(p16);
    }
    pair_free(x16), pair_free(y16), pair_free(yw);

    RUN(ck_conv3x3_backward_data(cpu, dy.c, wt.c, dx.c), ck_conv3x3_backward_data(gpu, dy.g, wt.g, dx.g));
    snprintf(name, sizeof name, "conv bwd data %dx%dx%dx%d->%d", n, h, w, ci, co);
    compare(name, dx, 1e-4);
    for (int acc = 0; acc <= 1; acc++) {
        RUN(ck_conv3x3_backward_filter(cpu, x.c, dy.c, dw.c, db.c, (float)acc),
            ck_conv3x3_backward_filter(gpu, x.g, dy.g, dw.g, db.g, (float)acc));
        snprintf(name, sizeof name, "conv bwd filter beta=%d %dx%dx%dx%d->%d", acc, n, h, w, ci, co);
        compare(name, dw, 1e-4);
        snprintf(name, sizeof name, "conv bwd bias beta=%d", acc);
        compare(name, db, 1e-4);
    }
    pair_free(x), pair_free(wt), pair_free(b), pair_free(y), pair_free(dy), pair_free(dx), pair_free(dw),
        pair_free(db);
}

static void test_relu_pool(void)
{
    int xs[4] = {2, 6, 8, 5}, ps[4] = {2, 3, 4, 5}, gs[2] = {2, 5};
    size_t nx = numel(4, xs);
    float *hx = distinct(nx);
    pair x = pair_new(CK_F32, 4, xs, hx), y = pair_new(CK_F32, 4, xs, NULL), dy = pair_randn(4, xs, 1.0f);
    pair dx = pair_new(CK_F32, 4, xs, NULL);
    free(hx);
    RUN(ck_relu_forward(cpu, x.c, y.c), ck_relu_forward(gpu, x.g, y.g));
    compare("relu fwd", y, 0);
    RUN(ck_relu_backward(cpu, y.c, dy.c, dx.c), ck_relu_backward(gpu, y.g, dy.g, dx.g));
    compare("relu bwd", dx, 0);

    pair py = pair_new(CK_F32, 4, ps, NULL), pdy = pair_randn(4, ps, 1.0f);
    RUN(ck_maxpool2_forward(cpu, x.c, py.c), ck_maxpool2_forward(gpu, x.g, py.g));
    compare("maxpool2 fwd", py, 0);
    RUN(ck_maxpool2_backward(cpu, x.c, py.c, pdy.c, dx.c), ck_maxpool2_backward(gpu, x.g, py.g, pdy.g, dx.g));
    compare("maxpool2 bwd", dx, 0);

    pair gy = pair_new(CK_F32, 2, gs, NULL), gdy = pair_randn(2, gs, 1.0f);
    RUN(ck_avgpool_global_forward(cpu, x.c, gy.c), ck_avgpool_global_forward(gpu, x.g, gy.g));
    compare("avgpool global fwd", gy, 1e-5);
    RUN(ck_avgpool_global_backward(cpu, gdy.c, dx.c), ck_avgpool_global_backward(gpu, gdy.g, dx.g));
    compare("avgpool global bwd", dx, 1e-5);
    pair_free(x), pair_free(y), pair_free(dy), pair_free(dx), pair_free(py), pair_free(pdy), pair_free(gy),
        pair_free(gdy);
}

/* Rounding to bf16 is bit-exact: specials (signed zeros, infinities, NaNs
 * with payloads, ties, the largest float, subnormals) and values over the
 * whole exponent range, out of place and in place. */
static void test_round_bf16(void)
{
    static const uint32_t special[] = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u,
                                       0xffc00001u, 0x7f800001u, 0x7fa5a5a5u, 0x3f808000u, 0x3f818000u,
                                       0x3f808001u, 0xbf818000u, 0x7f7fffffu, 0x00000001u, 0x00018000u,
                                       0x007fffffu, 0x80008000u};
    const int ns = (int)(sizeof special / sizeof special[0]), n = 100003;
    float *h = randn((size_t)n, 1.0f);
    for (int i = 0; i < n; i++)
        h[i] = i < ns ? 0.0f : ldexpf(h[i], i % 200 - 100);
    memcpy(h, special, sizeof special);
    int xs[1] = {n};
    pair x = pair_new(CK_F32, 1, xs, h), y = pair_new(CK_F32, 1, xs, NULL);
    RUN(ck_round_bf16(cpu, x.c, y.c), ck_round_bf16(gpu, x.g, y.g));
    compare("round bf16", y, 0);
    RUN(ck_round_bf16(cpu, x.c, x.c), ck_round_bf16(gpu, x.g, x.g));
    compare("round bf16 in place", x, 0);
    free(h);
    pair_free(x), pair_free(y);
}

static void test_dense(void)
{
    /* 4-D input read as [N, H·W·C] */
    int xs[4] = {5, 2, 3, 7}, ws[2] = {42, 33}, ys[2] = {5, 33}, bs[1] = {33};
    pair x = pair_randn(4, xs, 1.0f), w = pair_randn(2, ws, 0.2f), b = pair_randn(1, bs, 1.0f);
    pair y = pair_new(CK_F32, 2, ys, NULL), dy = pair_randn(2, ys, 1.0f);
    pair dx = pair_new(CK_F32, 4, xs, NULL), dw = pair_randn(2, ws, 1.0f), db = pair_randn(1, bs, 1.0f);
    RUN(ck_dense_forward(cpu, x.c, w.c, b.c, y.c), ck_dense_forward(gpu, x.g, w.g, b.g, y.g));
    compare("dense fwd", y, 1e-4);
    RUN(ck_dense_forward(cpu, x.c, w.c, NULL, y.c), ck_dense_forward(gpu, x.g, w.g, NULL, y.g));
    compare("dense fwd no bias", y, 1e-4);
    for (int acc = 0; acc <= 1; acc++) {
        RUN(ck_dense_backward(cpu, x.c, w.c, dy.c, dx.c, dw.c, db.c, (float)acc),
            ck_dense_backward(gpu, x.g, w.g, dy.g, dx.g, dw.g, db.g, (float)acc));
        compare(acc ? "dense bwd dx (beta=1)" : "dense bwd dx", dx, 1e-4);
        compare(acc ? "dense bwd dw (beta=1)" : "dense bwd dw", dw, 1e-4);
        compare(acc ? "dense bwd db (beta=1)" : "dense bwd db", db, 1e-4);
    }
    RUN(ck_dense_backward(cpu, x.c, w.c, dy.c, NULL, dw.c, NULL, 0.0f),
        ck_dense_backward(gpu, x.g, w.g, dy.g, NULL, dw.g, NULL, 0.0f));
    compare("dense bwd dw only", dw, 1e-4);
    pair_free(x), pair_free(w), pair_free(b), pair_free(y), pair_free(dy), pair_free(dx), pair_free(dw),
        pair_free(db);
}

static void test_dropout(void)
{
    int s[2] = {7, 37}; /* odd count: a partial Philox group at the end */
    pair x = pair_randn(2, s, 1.0f), y = pair_new(CK_F32, 2, s, NULL), m = pair_new(CK_U8, 2, s, NULL);
    pair dy = pair_randn(2, s, 1.0f), dx = pair_new(CK_F32, 2, s, NULL);
    RUN(ck_dropout_forward(cpu, x.c, y.c, m.c, 0.3f, 1234, 17), ck_dropout_forward(gpu, x.g, y.g, m.g, 0.3f, 1234, 17));
    compare("dropout mask", m, 0);
    compare("dropout fwd", y, 1e-6);
    RUN(ck_dropout_backward(cpu, dy.c, m.c, dx.c, 0.3f), ck_dropout_backward(gpu, dy.g, m.g, dx.g, 0.3f));
    compare("dropout bwd", dx, 1e-6);
    pair_free(x), pair_free(y), pair_free(m), pair_free(dy), pair_free(dx);
}

static void test_batchnorm(void)
{
    int s[2] = {9, 70}, c[1] = {70};
    pair x = pair_randn(2, s, 2.0f), g = pair_randn(1, c, 1.0f), bt = pair_randn(1, c, 1.0f);
    float *ones = malloc(70 * sizeof(float));
    for (int i = 0; i < 70; i++)
        ones[i] = 1.0f + 0.01f * i;
    pair rm = pair_randn(1, c, 0.1f), rv = pair_new(CK_F32, 1, c, ones);
    free(ones);
    pair sm = pair_new(CK_F32, 1, c, NULL), si = pair_new(CK_F32, 1, c, NULL), y = pair_new(CK_F32, 2, s, NULL);
    pair dy = pair_randn(2, s, 1.0f), dx = pair_new(CK_F32, 2, s, NULL), dg = pair_randn(1, c, 1.0f),
         db = pair_randn(1, c, 1.0f);
    RUN(ck_batchnorm_forward(cpu, x.c, g.c, bt.c, rm.c, rv.c, sm.c, si.c, y.c, 1, 0.1f, 1e-3f),
        ck_batchnorm_forward(gpu, x.g, g.g, bt.g, rm.g, rv.g, sm.g, si.g, y.g, 1, 0.1f, 1e-3f));
    compare("batchnorm fwd train", y, 1e-5);
    compare("batchnorm running mean", rm, 1e-5);
    compare("batchnorm running var", rv, 1e-5);
    compare("batchnorm saved invstd", si, 1e-5);
    RUN(ck_batchnorm_backward(cpu, x.c, dy.c, g.c, sm.c, si.c, dx.c, dg.c, db.c, 1.0f),
        ck_batchnorm_backward(gpu, x.g, dy.g, g.g, sm.g, si.g, dx.g, dg.g, db.g, 1.0f));
    compare("batchnorm bwd dx", dx, 1e-5);
    compare("batchnorm bwd dgamma", dg, 1e-5);
    compare("batchnorm bwd dbeta", db, 1e-5);
    RUN(ck_batchnorm_forward(cpu, x.c, g.c, bt.c, rm.c, rv.c, NULL, NULL, y.c, 0, 0.1f, 1e-3f),
        ck_batchnorm_forward(gpu, x.g, g.g, bt.g, rm.g, rv.g, NULL, NULL, y.g, 0, 0.1f, 1e-3f));
    compare("batchnorm fwd inference", y, 1e-5);
    pair_free(x), pair_free(g), pair_free(bt), pair_free(rm), pair_free(rv), pair_free(sm), pair_free(si),
        pair_free(y), pair_free(dy), pair_free(dx), pair_free(dg), pair_free(db);
}

/* The graph backbones' general convolutions (strided, 1×1, 7×7; bias
 * NULL or not), through the public entry point on both backends. */
static void test_conv_general(int n, int h, int w, int ci, int co, int k, int stride, int pad, int bias)
{
    char name[128];
    int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
    int xs[4] = {n, h, w, ci}, ws[4] = {k, k, ci, co}, ys[4] = {n, ho, wo, co}, bs[1] = {co};
    pair x = pair_randn(4, xs, 1.0f), wt = pair_randn(4, ws, 0.3f), b = pair_randn(1, bs, 0.5f);
    pair y = pair_new(CK_F32, 4, ys, NULL), dy = pair_randn(4, ys, 1.0f);
    pair dx = pair_new(CK_F32, 4, xs, NULL), dw = pair_randn(4, ws, 1.0f), db = pair_randn(1, bs, 1.0f);
    for (int relu = 0; relu <= 1; relu++) {
        RUN(ck_conv_forward(cpu, x.c, wt.c, bias ? b.c : NULL, y.c, stride, pad, relu, CK_CONV_FP32),
            ck_conv_forward(gpu, x.g, wt.g, bias ? b.g : NULL, y.g, stride, pad, relu, CK_CONV_FP32));
        snprintf(name, sizeof name, "conv %dx%d/%d/%d fwd %dx%dx%dx%d->%d bias=%d relu=%d", k, k, stride, pad, n, h, w,
                 ci, co, bias, relu);
        compare(name, y, 1e-4);
        /* with a residual: relu(conv + b + r) */
        RUN(ck_conv_add_forward(cpu, x.c, wt.c, bias ? b.c : NULL, dy.c, y.c, stride, pad, relu, CK_CONV_FP32),
            ck_conv_add_forward(gpu, x.g, wt.g, bias ? b.g : NULL, dy.g, y.g, stride, pad, relu, CK_CONV_FP32));
        snprintf(name, sizeof name, "conv+add %dx%d/%d/%d fwd %dx%dx%dx%d->%d bias=%d relu=%d", k, k, stride, pad, n,
                 h, w, ci, co, bias, relu);
        compare(name, y, 1e-4);
    }
    RUN(ck_conv_backward_data(cpu, dy.c, wt.c, dx.c, stride, pad),
        ck_conv_backward_data(gpu, dy.g, wt.g, dx.g, stride, pad));
    snprintf(name, sizeof name, "conv %dx%d/%d/%d bwd data %dx%dx%dx%d", k, k, stride, pad, n, h, w, ci);
    compare(name, dx, 1e-4);
    for (int acc = 0; acc <= 1; acc++) {
        RUN(ck_conv_backward_filter(cpu, x.c, dy.c, dw.c, bias ? db.c : NULL, stride, pad, (float)acc),
            ck_conv_backward_filter(gpu, x.g, dy.g, dw.g, bias ? db.g : NULL, stride, pad, (float)acc));
        snprintf(name, sizeof name, "conv %dx%d/%d/%d bwd filter beta=%d %dx%dx%dx%d", k, k, stride, pad, acc, n, h,
                 w, ci);
        compare(name, dw, 1e-4);
        if (bias)
            compare("conv general bwd bias", db, 1e-4);
    }
    pair_free(x), pair_free(wt), pair_free(b), pair_free(y), pair_free(dy), pair_free(dx), pair_free(dw),
        pair_free(db);
}

/* add (in place too) and the general max-pool, odd sizes and padding:
 * exact on both sides (same values compared, same gradient sums). */
static void test_add_pool(int n, int h, int w, int c, int k, int stride, int pad)
{
    char name[96];
    int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
    int xs[4] = {n, h, w, c}, ys[4] = {n, ho, wo, c};
    float *hx = distinct(numel(4, xs));
    pair x = pair_new(CK_F32, 4, xs, hx), a = pair_randn(4, xs, 1.0f), y = pair_new(CK_F32, 4, ys, NULL);
    pair dy = pair_randn(4, ys, 1.0f), dx = pair_new(CK_F32, 4, xs, NULL), s = pair_new(CK_F32, 4, xs, NULL);
    free(hx);
    RUN(ck_add_forward(cpu, x.c, a.c, s.c, 1), ck_add_forward(gpu, x.g, a.g, s.g, 1));
    compare("add relu", s, 0);
    RUN(ck_add_forward(cpu, a.c, x.c, a.c, 0), ck_add_forward(gpu, a.g, x.g, a.g, 0));
    compare("add in place", a, 0);
    RUN(ck_maxpool_forward(cpu, x.c, y.c, k, stride, pad), ck_maxpool_forward(gpu, x.g, y.g, k, stride, pad));
    snprintf(name, sizeof name, "maxpool %dx%d/%d/%d fwd %dx%dx%dx%d", k, k, stride, pad, n, h, w, c);
    compare(name, y, 0);
    RUN(ck_maxpool_backward(cpu, x.c, y.c, dy.c, dx.c, k, stride, pad),
        ck_maxpool_backward(gpu, x.g, y.g, dy.g, dx.g, k, stride, pad));
    snprintf(name, sizeof name, "maxpool %dx%d/%d/%d bwd %dx%dx%dx%d", k, k, stride, pad, n, h, w, c);
    compare(name, dx, 0);
    /* Ties (a ReLU'd input: many zeros) go to the first maximal element. */
    RUN(ck_relu_forward(cpu, a.c, s.c), ck_relu_forward(gpu, a.g, s.g));
    RUN(ck_maxpool_forward(cpu, s.c, y.c, k, stride, pad), ck_maxpool_forward(gpu, s.g, y.g, k, stride, pad));
    RUN(ck_maxpool_backward(cpu, s.c, y.c, dy.c, dx.c, k, stride, pad),
        ck_maxpool_backward(gpu, s.g, y.g, dy.g, dx.g, k, stride, pad));
    compare("maxpool bwd with ties", dx, 0);
    pair_free(x), pair_free(a), pair_free(y), pair_free(dy), pair_free(dx), pair_free(s);
}

/* Batch norm over [N,H,W,C] (statistics over N·H·W rows per channel). */
static void test_batchnorm_4d(int n, int h, int w, int c)
{
    int s[4] = {n, h, w, c}, cs[1] = {c};
    pair x = pair_randn(4, s, 2.0f), g = pair_randn(1, cs, 1.0f), bt = pair_randn(1, cs, 1.0f);
    float *ones = malloc((size_t)c * sizeof(float));
    for (int i = 0; i < c; i++)
        ones[i] = 1.0f + 0.01f * i;
    pair rm = pair_randn(1, cs, 0.1f), rv = pair_new(CK_F32, 1, cs, ones);
    free(ones);
    pair sm = pair_new(CK_F32, 1, cs, NULL), si = pair_new(CK_F32, 1, cs, NULL), y = pair_new(CK_F32, 4, s, NULL);
    pair dy = pair_randn(4, s, 1.0f), dx = pair_new(CK_F32, 4, s, NULL), dg = pair_randn(1, cs, 1.0f),
         db = pair_randn(1, cs, 1.0f);
    RUN(ck_batchnorm_forward(cpu, x.c, g.c, bt.c, rm.c, rv.c, sm.c, si.c, y.c, 1, 0.1f, 1e-5f),
        ck_batchnorm_forward(gpu, x.g, g.g, bt.g, rm.g, rv.g, sm.g, si.g, y.g, 1, 0.1f, 1e-5f));
    compare("batchnorm 4-D fwd train", y, 1e-5);
    compare("batchnorm 4-D running mean", rm, 1e-5);
    compare("batchnorm 4-D running var", rv, 1e-5);
    compare("batchnorm 4-D saved mean", sm, 1e-5);
    compare("batchnorm 4-D saved invstd", si, 1e-5);
    for (int acc = 0; acc <= 1; acc++) {
        RUN(ck_batchnorm_backward(cpu, x.c, dy.c, g.c, sm.c, si.c, dx.c, dg.c, db.c, (float)acc),
            ck_batchnorm_backward(gpu, x.g, dy.g, g.g, sm.g, si.g, dx.g, dg.g, db.g, (float)acc));
        compare("batchnorm 4-D bwd dx", dx, 1e-5);
        compare("batchnorm 4-D bwd dgamma", dg, 1e-5);
        compare("batchnorm 4-D bwd dbeta", db, 1e-5);
    }
    RUN(ck_batchnorm_forward(cpu, x.c, g.c, bt.c, rm.c, rv.c, NULL, NULL, y.c, 0, 0.1f, 1e-5f),
        ck_batchnorm_forward(gpu, x.g, g.g, bt.g, rm.g, rv.g, NULL, NULL, y.g, 0, 0.1f, 1e-5f));
    compare("batchnorm 4-D fwd inference", y, 1e-5);
    pair_free(x), pair_free(g), pair_free(bt), pair_free(rm), pair_free(rv), pair_free(sm), pair_free(si),
        pair_free(y), pair_free(dy), pair_free(dx), pair_free(dg), pair_free(db);
}

static void test_softmax(void)
{
    enum { N = 11, C = 20 };
    int s[2] = {N, C}, cs[1] = {C}, ls[1] = {N};
    pair z = pair_randn(2, s, 3.0f), p = pair_new(CK_F32, 2, s, NULL), d = pair_new(CK_F32, 2, s, NULL);
    int32_t lab[N];
    for (int i = 0; i < N; i++)
        lab[i] = (i * 7) % C;
    pair l = pair_new(CK_I32, 1, ls, lab);
    float cwh[C];
    for (int j = 0; j < C; j++)
        cwh[j] = 0.5f + 0.1f * j;
    pair cw = pair_new(CK_F32, 1, cs, cwh);
    RUN(ck_softmax_forward(cpu, z.c, p.c), ck_softmax_forward(gpu, z.g, p.g));
    compare("softmax", p, 1e-5);
    for (int variant = 0; variant < 4; variant++) {
        int weighted = variant & 1;
        float smooth = variant & 2 ? 0.1f : 0.0f;
        float lc = 0, lg = 0;
        int cc = -1, cg = -2;
        RUN(ck_softmax_xent(cpu, z.c, l.c, weighted ? cw.c : NULL, smooth, p.c, d.c, &lc, &cc),
            ck_softmax_xent(gpu, z.g, l.g, weighted ? cw.g : NULL, smooth, p.g, d.g, &lg, &cg));
        char name[64];
        snprintf(name, sizeof name, "xent probs w=%d ls=%.1f", weighted, smooth);
        compare(name, p, 1e-5);
        snprintf(name, sizeof name, "xent dlogits w=%d ls=%.1f", weighted, smooth);
        compare(name, d, 1e-5);
        CHECK_CLOSE(lg, lc, 1e-5, 1e-6);
        CHECK(cg == cc);
    }
    /* A bad label is an error on both backends. */
    lab[3] = C;
    if (ck_tensor_upload(l.g, lab, sizeof lab))
        die("upload");
    float lg;
    CHECK(ck_softmax_xent(gpu, z.g, l.g, NULL, 0.0f, p.g, d.g, &lg, NULL) == -1);
    CHECK(strstr(ck_error_buffer(), "label") != NULL);
    ck_error_clear();
    pair_free(z), pair_free(p), pair_free(d), pair_free(l), pair_free(cw);
}

/* Huge logits (a head bias of 3e38): both backends give finite
 * probabilities that sum to 1, ties split evenly, and agree. */
static void test_softmax_huge(void)
{
    enum { N = 3, C = 4 };
    const float big = 3e38f;
    float zh[N * C] = {big, big, 0, 0, -big, 1, 2, 3, FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX};
    int32_t lab[N] = {0, 3, 2};
    int s[2] = {N, C}, ls[1] = {N};
    pair z = pair_new(CK_F32, 2, s, zh), p = pair_new(CK_F32, 2, s, NULL), d = pair_new(CK_F32, 2, s, NULL);
    pair l = pair_new(CK_I32, 1, ls, lab);
    RUN(ck_softmax_forward(cpu, z.c, p.c), ck_softmax_forward(gpu, z.g, p.g));
    compare("softmax huge", p, 1e-5);
    float ph[N * C];
    if (ck_tensor_download(p.g, ph, sizeof ph))
        die("download");
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int j = 0; j < C; j++) {
            CHECK(isfinite(ph[i * C + j]));
            sum += ph[i * C + j];
        }
        CHECK_CLOSE(sum, 1.0, 1e-6, 1e-6);
    }
    CHECK_CLOSE(ph[0], 0.5, 1e-6, 1e-6);
    float lc = 0, lg = 0;
    int cc = -1, cg = -2;
    RUN(ck_softmax_xent(cpu, z.c, l.c, NULL, 0.1f, p.c, d.c, &lc, &cc),
        ck_softmax_xent(gpu, z.g, l.g, NULL, 0.1f, p.g, d.g, &lg, &cg));
    compare("xent huge probs", p, 1e-5);
    compare("xent huge dlogits", d, 1e-5);
    CHECK(isfinite(lg));
    CHECK_CLOSE(lg, lc, 1e-5, 1e-6);
    pair_free(z), pair_free(p), pair_free(d), pair_free(l);
}

static void test_preprocess(void)
{
    int s[4] = {3, 5, 7, 3};
    size_t n = numel(4, s);
    unsigned char *px = malloc(n);
    for (size_t i = 0; i < n; i++)
        px[i] = (unsigned char)(i * 37 + 11);
    pair rgb = pair_new(CK_U8, 4, s, px), out = pair_new(CK_F32, 4, s, NULL);
    free(px);
    const char *kinds[2] = {"caffe", "torch"};
    for (int k = 0; k < 2; k++) {
        ck_preprocess_spec spec;
        char name[64];
        if (ck_preprocess_spec_of(kinds[k], &spec))
            die("spec");
        RUN(ck_preprocess(cpu, rgb.c, &spec, out.c), ck_preprocess(gpu, rgb.g, &spec, out.g));
        snprintf(name, sizeof name, "preprocess %s", kinds[k]);
        compare(name, out, 0);
    }
    pair_free(rgb), pair_free(out);
}

static void test_optim(void)
{
    int s[1] = {1001};
    pair p = pair_randn(1, s, 1.0f), g = pair_randn(1, s, 1.0f), a = pair_randn(1, s, 0.1f);
    float *pos = randn(1001, 0.1f);
    for (int i = 0; i < 1001; i++)
        pos[i] = fabsf(pos[i]);
    pair b = pair_new(CK_F32, 1, s, pos);
    free(pos);
    for (int k = 0; k < 3; k++) {
        RUN(ck_sgd_update(cpu, p.c, g.c, a.c, 0.1f, 0.9f, k == 1, k == 2 ? 1e-2f : 0.0f),
            ck_sgd_update(gpu, p.g, g.g, a.g, 0.1f, 0.9f, k == 1, k == 2 ? 1e-2f : 0.0f));
        compare("sgd param", p, 1e-5);
        compare("sgd velocity", a, 1e-5);
    }
    RUN(ck_sgd_update(cpu, p.c, g.c, NULL, 0.1f, 0.0f, 0, 0.0f), ck_sgd_update(gpu, p.g, g.g, NULL, 0.1f, 0.0f, 0, 0.0f));
    compare("sgd plain", p, 1e-5);
    for (int t = 1; t <= 3; t++) {
        int decoupled = t == 3;
        RUN(ck_adam_update(cpu, p.c, g.c, a.c, b.c, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled, t),
            ck_adam_update(gpu, p.g, g.g, a.g, b.g, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled, t));
        compare(decoupled ? "adamw param" : "adam param", p, 1e-5);
        compare("adam m", a, 1e-5);
        compare("adam v", b, 1e-5);
    }
    RUN(ck_rmsprop_update(cpu, p.c, g.c, b.c, 1e-2f, 0.9f, 1e-7f, 1e-3f),
        ck_rmsprop_update(gpu, p.g, g.g, b.g, 1e-2f, 0.9f, 1e-7f, 1e-3f));
    compare("rmsprop param", p, 1e-5);
    compare("rmsprop sq", b, 1e-5);
    RUN(ck_scale(cpu, p.c, -0.7f), ck_scale(gpu, p.g, -0.7f));
    compare("scale", p, 1e-6);
    RUN(ck_axpy(cpu, 0.3f, g.c, p.c), ck_axpy(gpu, 0.3f, g.g, p.g));
    compare("axpy", p, 1e-6);
    double sc = 0, sg = 0;
    RUN(ck_sum_squares(cpu, p.c, &sc), ck_sum_squares(gpu, p.g, &sg));
    CHECK_CLOSE(sg, sc, 1e-6, 0);
    pair_free(p), pair_free(g), pair_free(a), pair_free(b);
}

static void test_memory(void)
{
    /* Larger than the pinned staging buffers (8 MB) and not a multiple. */
    int s[1] = {5 * 1024 * 1024 + 3};
    float *h = randn((size_t)s[0], 1.0f), *back = malloc((size_t)s[0] * sizeof(float));
    ck_tensor *t = ck_tensor_new(gpu, CK_F32, 1, s);
    if (!t || ck_tensor_upload(t, h, (size_t)s[0] * 4) || ck_tensor_download(t, back, (size_t)s[0] * 4))
        die("large round trip");
    CHECK(memcmp(h, back, (size_t)s[0] * 4) == 0);
    float part[3] = {1, 2, 3}, got[3];
    if (ck_tensor_upload_at(t, 4 * 1000, part, sizeof part) || ck_tensor_download_at(t, 4 * 999, got, sizeof got))
        die("partial copies");
    CHECK(got[0] == h[999] && got[1] == 1 && got[2] == 2);
    ck_tensor_free(t);
    free(h);
    free(back);

    /* Conversions and fill in every float dtype. */
    int v[1] = {777};
    pair f = pair_randn(1, v, 100.0f);
    ck_dtype dts[2] = {CK_BF16, CK_F16};
    for (int i = 0; i < 2; i++) {
        pair lo = pair_new(dts[i], 1, v, NULL), back2 = pair_new(CK_F32, 1, v, NULL);
        RUN(ck_tensor_copy(lo.c, f.c), ck_tensor_copy(lo.g, f.g));
        compare(i ? "copy f32->f16" : "copy f32->bf16", lo, 0);
        RUN(ck_tensor_copy(back2.c, lo.c), ck_tensor_copy(back2.g, lo.g));
        compare(i ? "copy f16->f32" : "copy bf16->f32", back2, 0);
        RUN(ck_tensor_fill(lo.c, 1.5f), ck_tensor_fill(lo.g, 1.5f));
        compare("fill low precision", lo, 0);
        pair_free(lo), pair_free(back2);
    }
    RUN(ck_tensor_fill(f.c, -2.25f), ck_tensor_fill(f.g, -2.25f));
    compare("fill f32", f, 0);
    pair_free(f);
}

/* The whole model on both backends: same config and seed give the same
 * initial weights; then the frozen part's features, one training step
 * (block5 and a BN head trainable, dropout on: the masks are the same
 * function of seed and step on both), every trainable gradient, and the
 * weights after an SGD step. */
/* One training step on both backends from zeroed gradients: the losses
 * within tol (relative, at least 1 absolute), and, if asked, the same count
 * of correct predictions. */
static void step_loss(const char *what, ck_model *mc, ck_model *mg, pair x, int32_t *labels, double tol,
                      int same_correct)
{
    float lc = 0, lg = 0;
    int cc = 0, cg = 0;
    RUN(ck_model_zero_grad(mc), ck_model_zero_grad(mg));
    RUN(ck_model_train_step(mc, CK_FROM_INPUT, x.c, labels, 3, &lc, &cc),
        ck_model_train_step(mg, CK_FROM_INPUT, x.g, labels, 3, &lg, &cg));
    check_count++;
    int ok = fabs((double)lc - lg) <= tol * fmax(1.0, fabs(lc)) && (!same_correct || cc == cg);
    check_failures += !ok;
    fprintf(stderr, "%-40s %s (cpu %.6f / %d correct, gpu %.6f / %d)\n", what, ok ? "ok" : "FAILED", lc, cc, lg, cg);
}

static void test_model(void)
{
    char name[96];
    const int n = 4, s = 32;
    ck_net_config cfg;
    ck_net_config_default(&cfg);
    cfg.input_size = s;
    cfg.num_classes = 5;
    cfg.train_blocks = 1;
    cfg.batchnorm = 1;
    cfg.frozen_algo = CK_CONV_FP32;
    cfg.seed = 7;
    ck_model *mc = ck_model_new(cpu, &cfg, n), *mg = ck_model_new(gpu, &cfg, n);
    if (!mc || !mg)
        die("vgg16_new");
    int xs[4] = {n, s, s, 3}, fs[4] = {n, 0, 0, 0};
    pair x = pair_randn(4, xs, 50.0f);
    ck_model_feature_shape(mc, fs + 1);
    pair f = pair_new(CK_F32, 4, fs, NULL);
    RUN(ck_model_features(mc, x.c, f.c), ck_model_features(mg, x.g, f.g));
    compare("model features (blocks 1-4)", f, 1e-3);

    int32_t labels[4] = {0, 3, 1, 4};
    step_loss("model train step loss", mc, mg, x, labels, 1e-3, 1);
    int np = ck_model_param_count(mc);
    /* Gradients are small: each is judged against its own largest element,
     * or 1e-3 of the largest of all when smaller (a bias feeding a BN has
     * a zero gradient up to rounding noise). */
    double gmax = 0;
    for (int i = 0; i < np; i++) {
        if (!ck_model_param_trainable(mc, i))
            continue;
        ck_tensor *g = ck_model_param_grad(mc, i);
        size_t ng = ck_tensor_numel(g);
        float *h = malloc(ng * sizeof *h);
        if (!h || ck_tensor_download(g, h, ng * sizeof *h))
            die("download grad");
        for (size_t k = 0; k < ng; k++)
            gmax = fmax(gmax, fabs(h[k]));
        free(h);
    }
    for (int i = 0; i < np; i++) {
        if (!ck_model_param_trainable(mc, i))
            continue;
        pair g = {ck_model_param_grad(mc, i), ck_model_param_grad(mg, i)};
        snprintf(name, sizeof name, "grad %s", ck_model_param_name(mc, i));
        compare_floor(name, g, 1e-3, 1e-3 * gmax);
    }
    ck_optim_config oc;
    ck_optim_config_default(&oc, CK_OPT_SGD);
    oc.momentum = 0.9f;
    ck_optim *oc_c = ck_optim_new(mc, &oc), *oc_g = ck_optim_new(mg, &oc);
    if (!oc_c || !oc_g)
        die("optim_new");
    RUN(ck_optim_step(oc_c, 0.01f), ck_optim_step(oc_g, 0.01f));
    for (int i = 0; i < np; i++) {
        if (!ck_model_param_trainable(mc, i))
            continue;
        pair p = {ck_model_param(mc, i), ck_model_param(mg, i)};
        snprintf(name, sizeof name, "after sgd %s", ck_model_param_name(mc, i));
        compare(name, p, 1e-4);
    }
    ck_optim_free(oc_c);
    ck_optim_free(oc_g);
    ck_model_free(mc);
    ck_model_free(mg);

    /* frozen_algo auto: the GPU runs the frozen base in bf16 with bf16
     * activations between layers, the CPU in fp32: within bf16 rounding. */
    cfg.frozen_algo = CK_CONV_AUTO;
    mc = ck_model_new(cpu, &cfg, n);
    mg = ck_model_new(gpu, &cfg, n);
    if (!mc || !mg)
        die("vgg16_new");
    RUN(ck_model_features(mc, x.c, f.c), ck_model_features(mg, x.g, f.g));
    compare("model features, GPU bf16 activations", f, 3e-2);
    step_loss("model step loss, GPU bf16 activations", mc, mg, x, labels, 3e-2, 0);
    ck_model_free(mc);
    ck_model_free(mg);

    /* bf16 precision for the trained layers (block5 and the head): the
     * same composition of operations on both backends. */
    cfg.frozen_algo = CK_CONV_FP32;
    cfg.precision = CK_PRECISION_BF16;
    mc = ck_model_new(cpu, &cfg, n);
    mg = ck_model_new(gpu, &cfg, n);
    if (!mc || !mg)
        die("vgg16_new");
    step_loss("model step loss, bf16 precision", mc, mg, x, labels, 3e-2, 0);
    for (int i = 0; i < np; i++) {
        if (!ck_model_param_trainable(mc, i))
            continue;
        pair g = {ck_model_param_grad(mc, i), ck_model_param_grad(mg, i)};
        snprintf(name, sizeof name, "bf16 grad %s", ck_model_param_name(mc, i));
        compare_floor(name, g, 3e-2, 3e-2 * gmax);
    }
    pair_free(f);
    pair_free(x);
    ck_model_free(mc);
    ck_model_free(mg);
}

int main(void)
{
    if (!ck_cuda_available()) {
        fprintf(stderr, "test-backend-ops: skipped: %s\n",
                ck_cuda_built() ? "no usable CUDA device" : "ck was built without CUDA");
        return 77;
    }
    /* Plain fp32 on the GPU, so that only summation order differs. */
    setenv("CK_CUDA_TF32", "0", 1);
    cpu = ck_backend_new("cpu", 0);
    gpu = ck_backend_new("cuda:0", 0);
    if (!cpu || !gpu)
        die("backend_new");
    fprintf(stderr, "comparing %s with %s\n", ck_backend_name(gpu), ck_backend_name(cpu));

    test_conv(2, 8, 8, 3, 16);   /* first VGG layer shape (3 input channels) */
    test_conv(3, 6, 10, 16, 32); /* non-square, batch 3 */
    test_conv(1, 4, 4, 64, 8);   /* more inputs than outputs */
    /* ResNet50's shapes: the stem, 1×1 (strided too), v1.5's 3×3/2, and
     * 3×3/1/1 through the general entry; odd sizes, batch > 1. */
    test_conv_general(2, 15, 15, 3, 8, 7, 2, 3, 0);
    test_conv_general(2, 9, 9, 16, 24, 1, 1, 0, 1);
    test_conv_general(3, 9, 7, 16, 8, 1, 2, 0, 0);
    test_conv_general(2, 15, 15, 8, 12, 3, 2, 1, 1);
    test_conv_general(2, 7, 7, 8, 12, 3, 1, 1, 0);
    test_conv_general(1, 6, 6, 5, 7, 5, 3, 2, 1);
    test_relu_pool();
    test_round_bf16();
    test_add_pool(2, 15, 15, 19, 3, 2, 1);
    test_add_pool(3, 8, 10, 16, 3, 2, 1);
    test_add_pool(1, 7, 7, 33, 2, 2, 0);
    test_batchnorm_4d(2, 7, 9, 70);
    test_batchnorm_4d(4, 56, 56, 3); /* many rows per channel: several slices */
    test_dense();
    test_dropout();
    test_batchnorm();
    test_softmax();
    test_softmax_huge();
    test_preprocess();
    test_optim();
    test_memory();
    test_model();

    ck_backend_free(gpu);
    ck_backend_free(cpu);
    return check_report("test-backend-ops");
}
