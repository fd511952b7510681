/* test-ops-graph: the graph backbones' operations on the CPU backend
 * against naive references written here (plain loops, double sums):
 * general convolutions on ResNet50's shapes (7×7/2/3 stem, 1×1/1, 1×1/2,
 * 3×3/2/1 and 3×3/1/1 through the general entry point) forward, backward
 * data and backward filter; the general max-pool with padding and ties; add;
 * batch norm on [N,H,W,C]; both preprocessing specs; shape errors. Results
 * must also be the same bytes with 1 and 2 threads.
 * Tolerance: |got - ref| <= tol · max(1, max|ref|), tol 1e-5 for the
 * fp32 GEMM paths, 1e-6 for element-wise work, 0 where nothing is summed. */
#include "nn_util.h"

#include "ck/ops.h"
#include "ck/rng.h"

static ck_backend *be, *be1; /* 2 threads, 1 thread */
static uint64_t stream;

static double *randn(size_t n, double scale)
{
    ck_rng r = ck_rng_make(0x6a9f, stream++, 0);
    double *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = (double)(float)(ck_rng_normal(&r) * scale);
    return a;
}

/* A tensor on backend b holding a (rounded to float). */
static ck_tensor *upload(ck_backend *b, const double *a, int ndim, const int *shape)
{
    ck_tensor *t = ck_tensor_new(b, CK_F32, ndim, shape);
    size_t n = ck_tensor_numel(t);
    float *f = malloc((n ? n : 1) * sizeof *f);
    for (size_t i = 0; i < n; i++)
        f[i] = (float)a[i];
    if (ck_tensor_upload(t, f, n * sizeof *f)) {
        fprintf(stderr, "upload: %s\n", ck_error_buffer());
        exit(1);
    }
    free(f);
    return t;
}

static void compare(const char *name, const ck_tensor *t, const double *ref, double tol)
{
    size_t n = ck_tensor_numel(t);
    float *got = download(t);
    double mx = 1.0, worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
        mx = fabs(ref[i]) > mx ? fabs(ref[i]) : mx;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        if (!(e <= worst)) {
            worst = e;
            at = i;
        }
    }
    int ok = worst <= tol * mx;
    check_count++;
    if (!ok) {
        check_failures++;
        fprintf(stderr, "%s: FAILED, max error %.3g at %zu (got %.9g, expected %.9g, limit %.3g)\n", name, worst, at,
                (double)got[at], ref[at], tol * mx);
    }
    free(got);
}

/* The same bytes from the 1-thread backend's twin tensor. */
static void same_bytes(const char *name, const ck_tensor *a, const ck_tensor *b)
{
    size_t n = ck_tensor_numel(a);
    float *x = download(a), *y = download(b);
    check_count++;
    if (memcmp(x, y, n * sizeof *x)) {
        check_failures++;
        fprintf(stderr, "%s: results differ between 1 and 2 threads\n", name);
    }
    free(x);
    free(y);
}

static int out_extent(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

/* ---- convolution ----------------------------------------------------------- */

typedef struct cshape {
    int n, h, w, ci, co, k, s, p;
} cshape;

#define X4(a, h, w, c, i, y, x, ch) ((((size_t)(i) * (h) + (y)) * (w) + (x)) * (c) + (ch))

static void conv_ref(const cshape *g, const double *x, const double *w, const double *b, int relu, double *y)
{
    int ho = out_extent(g->h, g->k, g->s, g->p), wo = out_extent(g->w, g->k, g->s, g->p);
    for (int i = 0; i < g->n; i++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int o = 0; o < g->co; o++) {
                    double acc = b ? b[o] : 0.0;
                    for (int ky = 0; ky < g->k; ky++)
                        for (int kx = 0; kx < g->k; kx++) {
                            int sy = oy * g->s - g->p + ky, sx = ox * g->s - g->p + kx;
                            if (sy < 0 || sy >= g->h || sx < 0 || sx >= g->w)
                                continue;
                            for (int c = 0; c < g->ci; c++)
                                acc += x[X4(x, g->h, g->w, g->ci, i, sy, sx, c)]
                                       * w[(((size_t)ky * g->k + kx) * g->ci + c) * g->co + o];
                        }
                    y[X4(y, ho, wo, g->co, i, oy, ox, o)] = relu && acc < 0 ? 0.0 : acc;
                }
}

/* dx (overwritten), dw = beta·dw + grad, db = beta·db + Σ dy. */
static void conv_back_ref(const cshape *g, const double *x, const double *w, const double *dy, double *dx,
                          double *dw, double *db, double beta)
{
    int ho = out_extent(g->h, g->k, g->s, g->p), wo = out_extent(g->w, g->k, g->s, g->p);
    size_t nx = (size_t)g->n * g->h * g->w * g->ci, nw = (size_t)g->k * g->k * g->ci * g->co;
    memset(dx, 0, nx * sizeof *dx);
    for (size_t i = 0; i < nw; i++)
        dw[i] *= beta;
    for (int o = 0; o < g->co; o++)
        db[o] *= beta;
    for (int i = 0; i < g->n; i++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int o = 0; o < g->co; o++) {
                    double gy = dy[X4(dy, ho, wo, g->co, i, oy, ox, o)];
                    db[o] += gy;
                    for (int ky = 0; ky < g->k; ky++)
                        for (int kx = 0; kx < g->k; kx++) {
                            int sy = oy * g->s - g->p + ky, sx = ox * g->s - g->p + kx;
                            if (sy < 0 || sy >= g->h || sx < 0 || sx >= g->w)
                                continue;
                            for (int c = 0; c < g->ci; c++) {
                                size_t xi = X4(x, g->h, g->w, g->ci, i, sy, sx, c);
                                size_t wi = (((size_t)ky * g->k + kx) * g->ci + c) * g->co + o;
                                dx[xi] += gy * w[wi];
                                dw[wi] += gy * x[xi];
                            }
                        }
                }
}

static void test_conv(cshape g)
{
    char name[160];
    int ho = out_extent(g.h, g.k, g.s, g.p), wo = out_extent(g.w, g.k, g.s, g.p);
    int xs[4] = {g.n, g.h, g.w, g.ci}, ws[4] = {g.k, g.k, g.ci, g.co}, ys[4] = {g.n, ho, wo, g.co}, bs[1] = {g.co};
    size_t nx = (size_t)g.n * g.h * g.w * g.ci, nw = (size_t)g.k * g.k * g.ci * g.co, ny = (size_t)g.n * ho * wo * g.co;
    double *x = randn(nx, 1.0), *w = randn(nw, 0.3), *b = randn((size_t)g.co, 0.5), *dy = randn(ny, 1.0);
    double *dw0 = randn(nw, 1.0), *db0 = randn((size_t)g.co, 1.0);
    double *ref = malloc(ny * sizeof *ref), *rdx = malloc(nx * sizeof *rdx), *rdw = malloc(nw * sizeof *rdw),
           *rdb = malloc((size_t)g.co * sizeof *rdb);
    ck_tensor *tx = upload(be, x, 4, xs), *tw = upload(be, w, 4, ws), *tb = upload(be, b, 1, bs);
    ck_tensor *tdy = upload(be, dy, 4, ys), *ty = ck_tensor_new(be, CK_F32, 4, ys), *tdx = ck_tensor_new(be, CK_F32, 4, xs);
    ck_tensor *tdw = upload(be, dw0, 4, ws), *tdb = upload(be, db0, 1, bs);
    const char *shape = name + 100;
    snprintf(name + 100, 60, "%dx%d/%d/%d %dx%dx%dx%d->%d", g.k, g.k, g.s, g.p, g.n, g.h, g.w, g.ci, g.co);

    for (int bias = 0; bias <= 1; bias++)
        for (int relu = 0; relu <= 1; relu++) {
            conv_ref(&g, x, w, bias ? b : NULL, relu, ref);
            OK(ck_conv_forward(be, tx, tw, bias ? tb : NULL, ty, g.s, g.p, relu, CK_CONV_FP32));
            snprintf(name, 100, "conv fwd bias=%d relu=%d", bias, relu);
            fprintf(stderr, "%s %s\n", name, shape);
            compare(name, ty, ref, 1e-5);
        }
    /* With a residual (ResNet's block output): relu(conv + b + r), with and
     * without bias; the 3×3 'same' shape runs as conv then add. */
    double *res = randn(ny, 1.0);
    ck_tensor *tr = upload(be, res, 4, ys);
    for (int bias = 0; bias <= 1; bias++)
        for (int relu = 0; relu <= 1; relu++) {
            conv_ref(&g, x, w, bias ? b : NULL, 0, ref);
            for (size_t i = 0; i < ny; i++) {
                ref[i] += res[i];
                ref[i] = relu && ref[i] < 0 ? 0.0 : ref[i];
            }
            OK(ck_conv_add_forward(be, tx, tw, bias ? tb : NULL, tr, ty, g.s, g.p, relu, CK_CONV_FP32));
            snprintf(name, 100, "conv+add fwd bias=%d relu=%d", bias, relu);
            fprintf(stderr, "%s %s\n", name, shape);
            compare(name, ty, ref, 1e-5);
        }
    OK(ck_conv_backward_data(be, tdy, tw, tdx, g.s, g.p));
    memcpy(rdw, dw0, nw * sizeof *rdw);
    memcpy(rdb, db0, (size_t)g.co * sizeof *rdb);
    conv_back_ref(&g, x, w, dy, rdx, rdw, rdb, 0.0);
    compare("conv bwd data", tdx, rdx, 1e-5);
    OK(ck_conv_backward_filter(be, tx, tdy, tdw, tdb, g.s, g.p, 0.0f));
    compare("conv bwd filter beta=0", tdw, rdw, 1e-5);
    compare("conv bwd bias beta=0", tdb, rdb, 1e-5);
    /* beta = 1 accumulates onto the gradient just computed */
    OK(ck_conv_backward_filter(be, tx, tdy, tdw, NULL, g.s, g.p, 1.0f));
    for (size_t i = 0; i < nw; i++)
        rdw[i] *= 2.0;
    compare("conv bwd filter beta=1", tdw, rdw, 1e-5);

    /* Threads change nothing. */
    ck_tensor *ux = upload(be1, x, 4, xs), *uw = upload(be1, w, 4, ws), *ub = upload(be1, b, 1, bs);
    ck_tensor *udy = upload(be1, dy, 4, ys), *uy = ck_tensor_new(be1, CK_F32, 4, ys),
              *udx = ck_tensor_new(be1, CK_F32, 4, xs), *udw = ck_tensor_new(be1, CK_F32, 4, ws);
    OK(ck_conv_forward(be, tx, tw, tb, ty, g.s, g.p, 1, CK_CONV_FP32));
    OK(ck_conv_forward(be1, ux, uw, ub, uy, g.s, g.p, 1, CK_CONV_FP32));
    same_bytes("conv fwd", ty, uy);
    ck_tensor *ur = upload(be1, res, 4, ys);
    OK(ck_conv_add_forward(be, tx, tw, tb, tr, ty, g.s, g.p, 1, CK_CONV_FP32));
    OK(ck_conv_add_forward(be1, ux, uw, ub, ur, uy, g.s, g.p, 1, CK_CONV_FP32));
    same_bytes("conv+add fwd", ty, uy);
    OK(ck_conv_backward_data(be1, udy, uw, udx, g.s, g.p));
    same_bytes("conv bwd data", tdx, udx);
    OK(ck_conv_backward_filter(be, tx, tdy, tdw, NULL, g.s, g.p, 0.0f));
    OK(ck_conv_backward_filter(be1, ux, udy, udw, NULL, g.s, g.p, 0.0f));
    same_bytes("conv bwd filter", tdw, udw);

    ck_tensor_free(tx), ck_tensor_free(tw), ck_tensor_free(tb), ck_tensor_free(tdy), ck_tensor_free(ty);
    ck_tensor_free(tdx), ck_tensor_free(tdw), ck_tensor_free(tdb);
    ck_tensor_free(ux), ck_tensor_free(uw), ck_tensor_free(ub), ck_tensor_free(udy), ck_tensor_free(uy);
    ck_tensor_free(udx), ck_tensor_free(udw), ck_tensor_free(tr), ck_tensor_free(ur);
    free(x), free(w), free(b), free(dy), free(dw0), free(db0), free(ref), free(rdx), free(rdw), free(rdb), free(res);
}

/* ---- max-pool and add ------------------------------------------------------ */

static void test_maxpool(int n, int h, int w, int c, int k, int s, int p, int ties)
{
    char name[128];
    int ho = out_extent(h, k, s, p), wo = out_extent(w, k, s, p);
    int xs[4] = {n, h, w, c}, ys[4] = {n, ho, wo, c};
    size_t nx = (size_t)n * h * w * c, ny = (size_t)n * ho * wo * c;
    double *x = randn(nx, 1.0), *dy = randn(ny, 1.0);
    if (ties) /* three values only, many zeros: ties in most windows */
        for (size_t i = 0; i < nx; i++)
            x[i] = x[i] < 0 ? 0.0 : x[i] < 0.8 ? 1.0 : 2.0;
    double *ry = malloc(ny * sizeof *ry), *rdx = calloc(nx, sizeof *rdx);
    for (int i = 0; i < n; i++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                for (int ch = 0; ch < c; ch++) {
                    double m = -INFINITY;
                    size_t arg = 0;
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            int sy = oy * s - p + ky, sx = ox * s - p + kx;
                            if (sy < 0 || sy >= h || sx < 0 || sx >= w)
                                continue;
                            size_t xi = X4(x, h, w, c, i, sy, sx, ch);
                            if (x[xi] > m) /* strict: the first maximum stays */
                                m = x[xi], arg = xi;
                        }
                    size_t yi = X4(y, ho, wo, c, i, oy, ox, ch);
                    ry[yi] = m;
                    rdx[arg] += dy[yi];
                }
    ck_tensor *tx = upload(be, x, 4, xs), *tdy = upload(be, dy, 4, ys), *ty = ck_tensor_new(be, CK_F32, 4, ys),
              *tdx = ck_tensor_new(be, CK_F32, 4, xs);
    snprintf(name, sizeof name, "maxpool %dx%d/%d/%d %dx%dx%dx%d ties=%d", k, k, s, p, n, h, w, c, ties);
    fprintf(stderr, "%s\n", name);
    OK(ck_maxpool_forward(be, tx, ty, k, s, p));
    compare(name, ty, ry, 0.0);
    OK(ck_maxpool_backward(be, tx, ty, tdy, tdx, k, s, p));
    compare(name, tdx, rdx, 1e-6); /* overlapping windows add up to 4 gradients */
    ck_tensor *ux = upload(be1, x, 4, xs), *udy = upload(be1, dy, 4, ys), *uy = ck_tensor_new(be1, CK_F32, 4, ys),
              *udx = ck_tensor_new(be1, CK_F32, 4, xs);
    OK(ck_maxpool_forward(be1, ux, uy, k, s, p));
    OK(ck_maxpool_backward(be1, ux, uy, udy, udx, k, s, p));
    same_bytes(name, tdx, udx);
    ck_tensor_free(tx), ck_tensor_free(tdy), ck_tensor_free(ty), ck_tensor_free(tdx);
    ck_tensor_free(ux), ck_tensor_free(udy), ck_tensor_free(uy), ck_tensor_free(udx);
    free(x), free(dy), free(ry), free(rdx);
}

static void test_add(void)
{
    int s[4] = {2, 5, 7, 9};
    size_t n = 2 * 5 * 7 * 9;
    double *a = randn(n, 1.0), *b = randn(n, 1.0), *ref = malloc(n * sizeof *ref);
    ck_tensor *ta = upload(be, a, 4, s), *tb = upload(be, b, 4, s), *ty = ck_tensor_new(be, CK_F32, 4, s);
    for (int relu = 0; relu <= 1; relu++) {
        for (size_t i = 0; i < n; i++) {
            double v = (double)((float)a[i] + (float)b[i]);
            ref[i] = relu && v < 0 ? 0.0 : v;
        }
        OK(ck_add_forward(be, ta, tb, ty, relu));
        compare(relu ? "add relu" : "add", ty, ref, 0.0);
    }
    OK(ck_add_forward(be, ta, tb, ta, 1)); /* in place: a = relu(a + b) */
    compare("add in place", ta, ref, 0.0);
    ck_tensor_free(ta), ck_tensor_free(tb), ck_tensor_free(ty);
    free(a), free(b), free(ref);
}

/* ---- batch norm on [N,H,W,C] --------------------------------------------- */

static void test_batchnorm_4d(int n, int h, int w, int c)
{
    const double momentum = 0.1, eps = 1e-5;
    int s[4] = {n, h, w, c}, cs[1] = {c};
    const long rows = (long)n * h * w;
    size_t nx = (size_t)rows * c;
    double *x = randn(nx, 2.0), *g = randn((size_t)c, 1.0), *bt = randn((size_t)c, 1.0), *dy = randn(nx, 1.0);
    double *rm = randn((size_t)c, 0.1), *rv = malloc((size_t)c * sizeof *rv), *dg0 = randn((size_t)c, 1.0),
           *db0 = randn((size_t)c, 1.0);
    for (int j = 0; j < c; j++) {
        x[j] += 3.0; /* a mean far from 0 in some channels */
        rv[j] = 1.0 + 0.01 * j;
    }
    double *mean = calloc((size_t)c, sizeof *mean), *var = calloc((size_t)c, sizeof *var);
    double *ry = malloc(nx * sizeof *ry), *rdx = malloc(nx * sizeof *rdx);
    double *rrm = malloc((size_t)c * sizeof *rrm), *rrv = malloc((size_t)c * sizeof *rrv),
           *rinv = malloc((size_t)c * sizeof *rinv);
    double *rdg = malloc((size_t)c * sizeof *rdg), *rdb = malloc((size_t)c * sizeof *rdb);
    for (long i = 0; i < rows; i++)
        for (int j = 0; j < c; j++)
            mean[j] += x[i * c + j] / (double)rows;
    for (long i = 0; i < rows; i++)
        for (int j = 0; j < c; j++)
            var[j] += (x[i * c + j] - mean[j]) * (x[i * c + j] - mean[j]) / (double)rows;
    for (int j = 0; j < c; j++) {
        rinv[j] = 1.0 / sqrt(var[j] + eps);
        rrm[j] = (1 - momentum) * rm[j] + momentum * mean[j];
        rrv[j] = (1 - momentum) * rv[j] + momentum * var[j] * (double)rows / (double)(rows - 1);
    }
    for (long i = 0; i < rows; i++)
        for (int j = 0; j < c; j++)
            ry[i * c + j] = g[j] * (x[i * c + j] - mean[j]) * rinv[j] + bt[j];

    ck_tensor *tx = upload(be, x, 4, s), *tg = upload(be, g, 1, cs), *tbt = upload(be, bt, 1, cs);
    ck_tensor *trm = upload(be, rm, 1, cs), *trv = upload(be, rv, 1, cs), *tdy = upload(be, dy, 4, s);
    ck_tensor *tsm = ck_tensor_new(be, CK_F32, 1, cs), *tsi = ck_tensor_new(be, CK_F32, 1, cs);
    ck_tensor *ty = ck_tensor_new(be, CK_F32, 4, s), *tdx = ck_tensor_new(be, CK_F32, 4, s);
    ck_tensor *tdg = upload(be, dg0, 1, cs), *tdb = upload(be, db0, 1, cs);
    fprintf(stderr, "batchnorm %dx%dx%dx%d\n", n, h, w, c);
    OK(ck_batchnorm_forward(be, tx, tg, tbt, trm, trv, tsm, tsi, ty, 1, (float)momentum, (float)eps));
    compare("bn 4-D train y", ty, ry, 1e-5);
    compare("bn 4-D running mean", trm, rrm, 1e-6);
    compare("bn 4-D running var", trv, rrv, 1e-6);
    compare("bn 4-D saved mean", tsm, mean, 1e-6);
    compare("bn 4-D saved invstd", tsi, rinv, 1e-6);

    /* backward against x̂ from the reference statistics */
    for (int acc = 0; acc <= 1; acc++) {
        for (int j = 0; j < c; j++) {
            double sdy = 0, sdyx = 0;
            for (long i = 0; i < rows; i++) {
                double xh = (x[i * c + j] - mean[j]) * rinv[j];
                sdy += dy[i * c + j];
                sdyx += dy[i * c + j] * xh;
            }
            for (long i = 0; i < rows; i++) {
                double xh = (x[i * c + j] - mean[j]) * rinv[j];
                rdx[i * c + j] = g[j] * rinv[j] / (double)rows * ((double)rows * dy[i * c + j] - sdy - xh * sdyx);
            }
            rdg[j] = (acc ? rdg[j] : 0.0) + sdyx;
            rdb[j] = (acc ? rdb[j] : 0.0) + sdy;
        }
        OK(ck_batchnorm_backward(be, tx, tdy, tg, tsm, tsi, tdx, tdg, tdb, (float)acc));
        compare("bn 4-D dx", tdx, rdx, 1e-5);
        compare("bn 4-D dgamma", tdg, rdg, 1e-5);
        compare("bn 4-D dbeta", tdb, rdb, 1e-5);
    }

    /* inference: the running statistics just updated */
    for (long i = 0; i < rows; i++)
        for (int j = 0; j < c; j++)
            ry[i * c + j] = g[j] * (x[i * c + j] - rrm[j]) / sqrt(rrv[j] + eps) + bt[j];
    OK(ck_batchnorm_forward(be, tx, tg, tbt, trm, trv, NULL, NULL, ty, 0, (float)momentum, (float)eps));
    compare("bn 4-D inference y", ty, ry, 1e-5);

    /* one thread: the same bytes */
    ck_tensor *ux = upload(be1, x, 4, s), *ug = upload(be1, g, 1, cs), *ubt = upload(be1, bt, 1, cs);
    ck_tensor *urm = upload(be1, rm, 1, cs), *urv = upload(be1, rv, 1, cs), *udy = upload(be1, dy, 4, s);
    ck_tensor *usm = ck_tensor_new(be1, CK_F32, 1, cs), *usi = ck_tensor_new(be1, CK_F32, 1, cs);
    ck_tensor *uy = ck_tensor_new(be1, CK_F32, 4, s), *udx = ck_tensor_new(be1, CK_F32, 4, s);
    OK(ck_batchnorm_forward(be, tx, tg, tbt, trm, trv, tsm, tsi, ty, 1, (float)momentum, (float)eps));
    OK(ck_batchnorm_forward(be1, ux, ug, ubt, urm, urv, usm, usi, uy, 1, (float)momentum, (float)eps));
    same_bytes("bn 4-D y", ty, uy);
    OK(ck_batchnorm_backward(be, tx, tdy, tg, tsm, tsi, tdx, NULL, NULL, 0.0f));
    OK(ck_batchnorm_backward(be1, ux, udy, ug, usm, usi, udx, NULL, NULL, 0.0f));
    same_bytes("bn 4-D dx", tdx, udx);

    ck_tensor_free(tx), ck_tensor_free(tg), ck_tensor_free(tbt), ck_tensor_free(trm), ck_tensor_free(trv);
    ck_tensor_free(tdy), ck_tensor_free(tsm), ck_tensor_free(tsi), ck_tensor_free(ty), ck_tensor_free(tdx);
    ck_tensor_free(tdg), ck_tensor_free(tdb);
    ck_tensor_free(ux), ck_tensor_free(ug), ck_tensor_free(ubt), ck_tensor_free(urm), ck_tensor_free(urv);
    ck_tensor_free(udy), ck_tensor_free(usm), ck_tensor_free(usi), ck_tensor_free(uy), ck_tensor_free(udx);
    free(x), free(g), free(bt), free(dy), free(rm), free(rv), free(dg0), free(db0), free(mean), free(var);
    free(ry), free(rdx), free(rrm), free(rrv), free(rinv), free(rdg), free(rdb);
}

/* ---- preprocessing --------------------------------------------------------- */

static void test_preprocess(void)
{
    enum { N = 2, H = 3, W = 5 };
    int s[4] = {N, H, W, 3};
    uint8_t px[N * H * W * 3];
    for (int i = 0; i < N * H * W * 3; i++)
        px[i] = (uint8_t)(i * 53 + 7);
    px[0] = 0, px[1] = 255;
    ck_tensor *rgb = ck_tensor_new(be, CK_U8, 4, s), *out = ck_tensor_new(be, CK_F32, 4, s);
    OK(ck_tensor_upload(rgb, px, sizeof px));
    double ref[N * H * W * 3];
    ck_preprocess_spec spec;

    /* Keras caffe: BGR minus the ImageNet mean, unscaled. */
    OK(ck_preprocess_spec_of("caffe", &spec));
    const double mean_bgr[3] = {103.939, 116.779, 123.68};
    for (int i = 0; i < N * H * W; i++)
        for (int c = 0; c < 3; c++)
            ref[3 * i + c] = (double)px[3 * i + 2 - c] - mean_bgr[c];
    OK(ck_preprocess(be, rgb, &spec, out));
    compare("preprocess caffe", out, ref, 1e-6);

    /* torchvision: RGB, (x/255 - mean) / std. */
    OK(ck_preprocess_spec_of("torch", &spec));
    const double mean[3] = {0.485, 0.456, 0.406}, std[3] = {0.229, 0.224, 0.225};
    for (int i = 0; i < N * H * W; i++)
        for (int c = 0; c < 3; c++)
            ref[3 * i + c] = ((double)px[3 * i + c] / 255.0 - mean[c]) / std[c];
    OK(ck_preprocess(be, rgb, &spec, out));
    compare("preprocess torch", out, ref, 1e-6);

    CHECK(ck_preprocess_spec_of("tf", &spec) == -1 && strstr(ck_error_buffer(), "tf"));
    ck_error_clear();
    ck_tensor_free(rgb), ck_tensor_free(out);
}

/* ---- errors -------------------------------------------------------------- */

static void test_errors(void)
{
    ck_tensor *x = ck_tensor_new_4d(be, CK_F32, 2, 9, 9, 4), *w = ck_tensor_new_4d(be, CK_F32, 3, 3, 4, 8);
    ck_tensor *bad = ck_tensor_new_4d(be, CK_F32, 2, 4, 4, 8); /* 3×3/2/1 of 9×9 is 5×5 */
    ck_tensor *good = ck_tensor_new_4d(be, CK_F32, 2, 5, 5, 8);
    OK(ck_tensor_fill(x, 1.0f));
    OK(ck_tensor_fill(w, 0.5f));
    CHECK(ck_conv_forward(be, x, w, NULL, bad, 2, 1, 0, CK_CONV_AUTO) == -1);
    CHECK(strstr(ck_error_buffer(), "conv_forward") && strstr(ck_error_buffer(), "y has shape [2,4,4,8]")
          && strstr(ck_error_buffer(), "to be 5"));
    fprintf(stderr, "expected error: %s\n", ck_error_buffer());
    ck_error_clear();
    OK(ck_conv_forward(be, x, w, NULL, good, 2, 1, 0, CK_CONV_AUTO));
    /* a residual of another shape, or in the output's memory */
    ck_tensor *r = ck_tensor_new_4d(be, CK_F32, 2, 5, 5, 4);
    OK(ck_tensor_fill(r, 1.0f));
    CHECK(ck_conv_add_forward(be, x, w, NULL, r, good, 2, 1, 0, CK_CONV_AUTO) == -1);
    CHECK(strstr(ck_error_buffer(), "conv_add_forward") && strstr(ck_error_buffer(), "residual"));
    fprintf(stderr, "expected error: %s\n", ck_error_buffer());
    ck_error_clear();
    CHECK(ck_conv_add_forward(be, x, w, NULL, good, good, 2, 1, 0, CK_CONV_AUTO) == -1);
    CHECK(strstr(ck_error_buffer(), "must not overlap"));
    ck_error_clear();
    ck_tensor_free(r);
    /* a window of padding only has no maximum (PyTorch refuses too) */
    ck_tensor *p = ck_tensor_new_4d(be, CK_F32, 2, 5, 5, 4);
    CHECK(ck_maxpool_forward(be, x, p, 3, 2, 2) == -1 && strstr(ck_error_buffer(), "padding"));
    ck_error_clear();
    ck_tensor_free(x), ck_tensor_free(w), ck_tensor_free(bad), ck_tensor_free(good), ck_tensor_free(p);
}

int main(void)
{
    be = ck_backend_new("cpu", 2);
    be1 = ck_backend_new("cpu", 1);
    if (!be || !be1) {
        fprintf(stderr, "cpu backend: %s\n", ck_error_buffer());
        return 1;
    }
    const cshape convs[] = {
        {2, 15, 15, 3, 8, 7, 2, 3},  /* ResNet stem, odd size */
        {2, 16, 16, 3, 4, 7, 2, 3},  /* stem, even size */
        {2, 9, 9, 16, 24, 1, 1, 0},  /* 1×1 */
        {3, 9, 7, 16, 8, 1, 2, 0},   /* 1×1 stride 2 (projection shortcut) */
        {2, 7, 7, 8, 12, 1, 2, 0},   /* ... of an odd size */
        {2, 15, 15, 8, 12, 3, 2, 1}, /* torchvision v1.5's 3×3/2 */
        {1, 8, 8, 6, 5, 3, 2, 1},
        {2, 7, 7, 8, 12, 3, 1, 1},   /* 3×3 'same' via the general entry point */
        {1, 6, 5, 5, 7, 5, 3, 2},    /* anything else */
        {1, 5, 5, 4, 3, 1, 1, 1},    /* a padded 1×1 */
        {2, 121, 121, 128, 4, 3, 2, 1}, /* im2col in several chunks */
        {2, 4, 4, 64, 200, 1, 1, 0},  /* few rows, many columns: column blocks (with a remainder) */
        {2, 8, 8, 32, 144, 3, 2, 1},  /* ... through im2col */
    };
    for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++)
        test_conv(convs[i]);
    for (int ties = 0; ties <= 1; ties++) {
        test_maxpool(2, 15, 15, 5, 3, 2, 1, ties); /* ResNet's stem pool, odd */
        test_maxpool(2, 8, 10, 19, 3, 2, 1, ties); /* even, channels over a 16-block */
        test_maxpool(1, 7, 7, 3, 2, 2, 0, ties);   /* 2×2 on an odd size: the general kernel */
        test_maxpool(2, 8, 8, 3, 2, 2, 0, ties);   /* 2×2 even: maxpool2 */
        test_maxpool(1, 9, 9, 4, 3, 1, 1, ties);   /* stride 1: windows overlap a lot */
    }
    test_add();
    test_batchnorm_4d(2, 7, 9, 20);
    test_batchnorm_4d(3, 15, 15, 33);
    test_preprocess();
    test_errors();
    ck_backend_free(be);
    ck_backend_free(be1);
    return check_report("test-ops-graph");
}
