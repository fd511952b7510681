/* CPU kernels of the element-wise and small layers: ReLU, bf16 rounding, add, max-pool
 * (2×2 and general), global average pool, dense, dropout, batch norm. Loops over the batch or
 * rows run on the backend's OpenMP threads; dense uses OpenBLAS GEMMs. */
#include "cpu_kernels.h"
#include "ck/dtype.h"

#include "ck/rng.h"

#include <math.h>
#include <string.h>

int ck_cpu_relu_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    const float *a = x->data;
    float *b = y->data;
    long n = (long)ck_tensor_numel(x);
#pragma omp parallel for num_threads(be->threads) if (n > CK_CPU_PAR_MIN) schedule(static)
    for (long i = 0; i < n; i++)
        b[i] = a[i] > 0.0f ? a[i] : 0.0f;
    return 0;
}

int ck_cpu_relu_backward(ck_backend *be, const ck_tensor *y, const ck_tensor *dy, ck_tensor *dx)
{
    const float *v = y->data, *g = dy->data;
    float *d = dx->data;
    long n = (long)ck_tensor_numel(y);
#pragma omp parallel for num_threads(be->threads) if (n > CK_CPU_PAR_MIN) schedule(static)
    for (long i = 0; i < n; i++)
        d[i] = v[i] > 0.0f ? g[i] : 0.0f;
    return 0;
}

int ck_cpu_round_bf16(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    const float *a = x->data;
    float *b = y->data;
    long n = (long)ck_tensor_numel(x);
#pragma omp parallel for num_threads(be->threads) if (n > CK_CPU_PAR_MIN) schedule(static)
    for (long i = 0; i < n; i++)
        b[i] = ck_bf16_to_f32(ck_f32_to_bf16(a[i]));
    return 0;
}

/* 2×2 max-pool for element type T, compared as floats through VAL: the
 * maximum is stored as found, so bf16 is exact too. One definition for
 * both dtypes; for f32 VAL is the identity and the loop vectorises as
 * before. */
#define F32_VAL(v) (v)
#define MAXPOOL2_FORWARD(NAME, T, VAL)                                                                  \
    static int NAME(ck_backend *be, const ck_tensor *x, ck_tensor *y)                                  \
    {                                                                                                  \
        const int n = x->shape[0], h = x->shape[1], w = x->shape[2], c = x->shape[3];                  \
        const int oh = h / 2, ow = w / 2;                                                              \
        const T *in = x->data;                                                                         \
        T *out = y->data;                                                                              \
        long rows = (long)n * oh;                                                                      \
        _Pragma("omp parallel for num_threads(be->threads) if (rows * ow * c > CK_CPU_PAR_MIN) schedule(static)") \
        for (long r = 0; r < rows; r++) {                                                              \
            long img = r / oh;                                                                         \
            int oy = (int)(r % oh);                                                                    \
            const T *r0 = in + ((img * h + 2 * oy) * (long)w) * c, *r1 = r0 + (long)w * c;             \
            T *o = out + r * ow * (long)c;                                                             \
            for (int ox = 0; ox < ow; ox++) {                                                          \
                const T *a = r0 + 2L * ox * c, *b = a + c, *cc = r1 + 2L * ox * c, *d = cc + c;        \
                T *oo = o + (long)ox * c;                                                              \
                for (int j = 0; j < c; j++) {                                                          \
                    T m = a[j];                                                                        \
                    m = VAL(b[j]) > VAL(m) ? b[j] : m;                                                 \
                    m = VAL(cc[j]) > VAL(m) ? cc[j] : m;                                               \
                    m = VAL(d[j]) > VAL(m) ? d[j] : m;                                                 \
                    oo[j] = m;                                                                         \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        return 0;                                                                                      \
    }

MAXPOOL2_FORWARD(maxpool2_forward_f32, float, F32_VAL)
MAXPOOL2_FORWARD(maxpool2_forward_bf16, uint16_t, ck_bf16_to_f32)

int ck_cpu_maxpool2_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    return x->dtype == CK_BF16 ? maxpool2_forward_bf16(be, x, y) : maxpool2_forward_f32(be, x, y);
}

int ck_cpu_maxpool2_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *y,
                             const ck_tensor *dy, ck_tensor *dx)
{
    const int n = x->shape[0], h = x->shape[1], w = x->shape[2], c = x->shape[3];
    const int oh = h / 2, ow = w / 2;
    const float *in = x->data, *out = y->data, *g = dy->data;
    float *d = dx->data;
    long rows = (long)n * oh;
    /* Every dx element is written (windows do not overlap): the first
     * element equal to the max, in row-major window order, gets dy. */
#pragma omp parallel for num_threads(be->threads) if (rows * ow * c > CK_CPU_PAR_MIN) schedule(static)
    for (long r = 0; r < rows; r++) {
        long img = r / oh;
        int oy = (int)(r % oh);
        long off0 = ((img * h + 2 * oy) * (long)w) * c, off1 = off0 + (long)w * c;
        for (int ox = 0; ox < ow; ox++) {
            long o = (r * ow + ox) * (long)c;
            long ia = off0 + 2L * ox * c, ib = ia + c, ic = off1 + 2L * ox * c, id = ic + c;
            for (int j = 0; j < c; j++) {
                float m = out[o + j], gv = g[o + j];
                int ta = in[ia + j] == m;
                int tb = !ta && in[ib + j] == m;
                int tc = !ta && !tb && in[ic + j] == m;
                int td = !ta && !tb && !tc;
                d[ia + j] = ta ? gv : 0.0f;
                d[ib + j] = tb ? gv : 0.0f;
                d[ic + j] = tc ? gv : 0.0f;
                d[id + j] = td ? gv : 0.0f;
            }
        }
    }
    return 0;
}

int ck_cpu_add_forward(ck_backend *be, const ck_tensor *a, const ck_tensor *b, ck_tensor *y, int relu)
{
    const float *p = a->data, *q = b->data;
    float *o = y->data;
    long n = (long)ck_tensor_numel(a);
    if (relu) {
#pragma omp parallel for num_threads(be->threads) if (n > CK_CPU_PAR_MIN) schedule(static)
        for (long i = 0; i < n; i++) {
            float v = p[i] + q[i];
            o[i] = v > 0.0f ? v : 0.0f;
        }
    } else {
#pragma omp parallel for num_threads(be->threads) if (n > CK_CPU_PAR_MIN) schedule(static)
        for (long i = 0; i < n; i++)
            o[i] = p[i] + q[i];
    }
    return 0;
}

/* The part of a k-wide window starting at o0 (may be negative: padding)
 * that lies inside [0, n): offsets [*lo, *hi). */
static void window_clip(int o0, int k, int n, int *lo, int *hi)
{
    *lo = o0 < 0 ? -o0 : 0;
    *hi = o0 + k > n ? n - o0 : k;
}

/* General max-pool: padding never wins (only real elements are compared;
 * ops.c ensures every window holds one), ties keep the first element in
 * row-major window order like maxpool2. */
int ck_cpu_maxpool_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y, int k, int stride, int pad)
{
    const int n = x->shape[0], h = x->shape[1], w = x->shape[2], c = x->shape[3];
    const int oh = y->shape[1], ow = y->shape[2];
    const float *in = x->data;
    float *out = y->data;
    long rows = (long)n * oh;
#pragma omp parallel for num_threads(be->threads) if (rows * ow * c * k > CK_CPU_PAR_MIN) schedule(static)
    for (long r = 0; r < rows; r++) {
        long img = r / oh;
        int y0 = (int)(r % oh) * stride - pad, ylo, yhi;
        window_clip(y0, k, h, &ylo, &yhi);
        for (int ox = 0; ox < ow; ox++) {
            int x0 = ox * stride - pad, xlo, xhi;
            window_clip(x0, k, w, &xlo, &xhi);
            float *o = out + (r * ow + ox) * (long)c;
            int first = 1;
            for (int ky = ylo; ky < yhi; ky++)
                for (int kx = xlo; kx < xhi; kx++) {
                    const float *src = in + ((img * h + y0 + ky) * (long)w + x0 + kx) * c;
                    if (first)
                        memcpy(o, src, (size_t)c * sizeof(float));
                    else
                        for (int j = 0; j < c; j++)
                            o[j] = src[j] > o[j] ? src[j] : o[j];
                    first = 0;
                }
        }
    }
    return 0;
}

/* Windows overlap (3×3/2), so threads own (image, 16-channel block) pairs
 * and walk the windows in order: no races, one summation order. */
int ck_cpu_maxpool_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *y, const ck_tensor *dy,
                            ck_tensor *dx, int k, int stride, int pad)
{
    const int n = x->shape[0], h = x->shape[1], w = x->shape[2], c = x->shape[3];
    const int oh = y->shape[1], ow = y->shape[2];
    const float *in = x->data, *out = y->data, *g = dy->data;
    float *d = dx->data;
    const long nx = (long)n * h * w * c;
#pragma omp parallel for num_threads(be->threads) if (nx > CK_CPU_PAR_MIN) schedule(static)
    for (long i = 0; i < nx; i++)
        d[i] = 0.0f;
    const int cblocks = (c + 15) / 16;
    const long tasks = (long)n * cblocks;
#pragma omp parallel for num_threads(be->threads) if ((long)oh * ow * c * k * k * n > CK_CPU_PAR_MIN) schedule(static)
    for (long t = 0; t < tasks; t++) {
        const long img = t / cblocks;
        const int c0 = (int)(t % cblocks) * 16, nc = c - c0 < 16 ? c - c0 : 16;
        for (int oy = 0; oy < oh; oy++) {
            int y0 = oy * stride - pad, ylo, yhi;
            window_clip(y0, k, h, &ylo, &yhi);
            for (int ox = 0; ox < ow; ox++) {
                int x0 = ox * stride - pad, xlo, xhi;
                window_clip(x0, k, w, &xlo, &xhi);
                long o = ((img * oh + oy) * (long)ow + ox) * c + c0;
                int done[16] = {0};
                for (int ky = ylo; ky < yhi; ky++)
                    for (int kx = xlo; kx < xhi; kx++) {
                        long at = ((img * h + y0 + ky) * (long)w + x0 + kx) * c + c0;
                        for (int j = 0; j < nc; j++)
                            if (!done[j] && in[at + j] == out[o + j]) {
                                d[at + j] += g[o + j];
                                done[j] = 1;
                            }
                    }
            }
        }
    }
    return 0;
}

int ck_cpu_avgpool_global_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    const int n = x->shape[0], hw = x->shape[1] * x->shape[2], c = x->shape[3];
    const float *in = x->data;
    float *out = y->data;
#pragma omp parallel for num_threads(be->threads) if ((long)n * hw * c > CK_CPU_PAR_MIN) schedule(static)
    for (int i = 0; i < n; i++) {
        const float *p = in + (long)i * hw * c;
        float *o = out + (long)i * c;
        for (int j = 0; j < c; j++)
            o[j] = 0.0f;
        for (int k = 0; k < hw; k++)
            for (int j = 0; j < c; j++)
                o[j] += p[(long)k * c + j];
        for (int j = 0; j < c; j++)
            o[j] /= (float)hw;
    }
    return 0;
}

int ck_cpu_avgpool_global_backward(ck_backend *be, const ck_tensor *dy, ck_tensor *dx)
{
    const int n = dx->shape[0], hw = dx->shape[1] * dx->shape[2], c = dx->shape[3];
    const float *g = dy->data;
    float *d = dx->data;
    const float s = 1.0f / (float)hw;
#pragma omp parallel for num_threads(be->threads) if ((long)n * hw * c > CK_CPU_PAR_MIN) schedule(static)
    for (int i = 0; i < n; i++)
        for (int k = 0; k < hw; k++)
            for (int j = 0; j < c; j++)
                d[((long)i * hw + k) * c + j] = g[(long)i * c + j] * s;
    return 0;
}

int ck_cpu_dense_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                         const ck_tensor *b, ck_tensor *y)
{
    const long n = x->shape[0], k = w->shape[0], m = w->shape[1];
    float *out = y->data;
    if (b) {
        /* Start from the bias so the GEMM adds into it (beta = 1): one pass. */
        const float *bias = b->data;
        for (long i = 0; i < n; i++)
            memcpy(out + i * m, bias, (size_t)m * sizeof(float));
    }
    ck_cpu_sgemm(be, 0, 0, n, m, k, 1.0f, x->data, k, w->data, m, b ? 1.0f : 0.0f, out, m);
    return 0;
}

int ck_cpu_dense_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                          const ck_tensor *dy, ck_tensor *dx, ck_tensor *dw, ck_tensor *db, float beta)
{
    const long n = x->shape[0], k = w->shape[0], m = w->shape[1];
    if (dw)
        ck_cpu_sgemm(be, 1, 0, k, m, n, 1.0f, x->data, k, dy->data, m, beta, dw->data, m);
    if (db)
        ck_cpu_colsum(be, dy->data, n, m, beta, db->data);
    if (dx)
        ck_cpu_sgemm(be, 0, 1, n, k, m, 1.0f, dy->data, m, w->data, m, 0.0f, dx->data, k);
    return 0;
}

int ck_cpu_dropout_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y, ck_tensor *mask,
                           float rate, uint64_t seed, uint32_t step)
{
    const float *in = x->data;
    float *out = y->data;
    uint8_t *mk = mask->data;
    const long n = (long)ck_tensor_numel(x);
    const float scale = 1.0f / (1.0f - rate);
    const long groups = (n + 3) / 4;
    /* One Philox block gives the 4 decisions of elements 4g..4g+3. */
#pragma omp parallel for num_threads(be->threads) if (n > CK_CPU_PAR_MIN) schedule(static)
    for (long g = 0; g < groups; g++) {
        uint32_t r[4];
        ck_philox_at(seed, step, (uint32_t)g, 0, r);
        for (int k = 0; k < 4 && 4 * g + k < n; k++) {
            long i = 4 * g + k;
            int keep = ck_u32_to_unit(r[k]) >= rate;
            mk[i] = (uint8_t)keep;
            out[i] = keep ? in[i] * scale : 0.0f;
        }
    }
    return 0;
}

int ck_cpu_dropout_backward(ck_backend *be, const ck_tensor *dy, const ck_tensor *mask,
                            ck_tensor *dx, float rate)
{
    const float *g = dy->data;
    const uint8_t *mk = mask->data;
    float *d = dx->data;
    const long n = (long)ck_tensor_numel(dy);
    const float scale = 1.0f / (1.0f - rate);
#pragma omp parallel for num_threads(be->threads) if (n > CK_CPU_PAR_MIN) schedule(static)
    for (long i = 0; i < n; i++)
        d[i] = mk[i] ? g[i] * scale : 0.0f;
    return 0;
}

/* Batch norm over rows of C channels: [N,C], or [N,H,W,C] read as
 * [N·H·W, C]. Threads own blocks of 16 channels (one cache line) and walk
 * all rows, so every statistic is summed in one fixed order (in double)
 * whatever the thread count, and [N,C] gives the same bits as a
 * single-threaded loop. */
#define BN_BLOCK 16

int ck_cpu_batchnorm_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *gamma,
                             const ck_tensor *beta_, ck_tensor *running_mean, ck_tensor *running_var,
                             ck_tensor *save_mean, ck_tensor *save_invstd, ck_tensor *y,
                             int training, float momentum, float eps)
{
    const long c = x->shape[x->ndim - 1], n = c ? (long)(ck_tensor_numel(x) / (size_t)c) : 0;
    const float *in = x->data, *g = gamma->data, *bt = beta_->data;
    float *rm = running_mean->data, *rv = running_var->data, *out = y->data;
    float *sm = training && save_mean ? save_mean->data : NULL;
    float *si = training && save_invstd ? save_invstd->data : NULL;
    const long blocks = (c + BN_BLOCK - 1) / BN_BLOCK;
#pragma omp parallel for num_threads(be->threads) if (n * c > CK_CPU_PAR_MIN) schedule(static)
    for (long bl = 0; bl < blocks; bl++) {
        const long j0 = bl * BN_BLOCK, nc = c - j0 < BN_BLOCK ? c - j0 : BN_BLOCK;
        float mean[BN_BLOCK], invstd[BN_BLOCK];
        if (training) {
            double sum[BN_BLOCK] = {0}, sq[BN_BLOCK] = {0};
            for (long i = 0; i < n; i++)
                for (long j = 0; j < nc; j++)
                    sum[j] += in[i * c + j0 + j];
            for (long j = 0; j < nc; j++)
                sum[j] /= (double)n;
            for (long i = 0; i < n; i++)
                for (long j = 0; j < nc; j++) {
                    double dv = in[i * c + j0 + j] - sum[j];
                    sq[j] += dv * dv;
                }
            for (long j = 0; j < nc; j++) {
                double var = sq[j] / (double)n;
                mean[j] = (float)sum[j];
                invstd[j] = (float)(1.0 / sqrt(var + eps));
                double unbiased = n > 1 ? sq[j] / (double)(n - 1) : var;
                rm[j0 + j] = (float)((1.0 - momentum) * rm[j0 + j] + momentum * sum[j]);
                rv[j0 + j] = (float)((1.0 - momentum) * rv[j0 + j] + momentum * unbiased);
                if (sm)
                    sm[j0 + j] = mean[j];
                if (si)
                    si[j0 + j] = invstd[j];
            }
        } else {
            for (long j = 0; j < nc; j++) {
                mean[j] = rm[j0 + j];
                invstd[j] = (float)(1.0 / sqrt((double)rv[j0 + j] + eps));
            }
        }
        for (long i = 0; i < n; i++)
            for (long j = 0; j < nc; j++)
                out[i * c + j0 + j] = g[j0 + j] * (in[i * c + j0 + j] - mean[j]) * invstd[j] + bt[j0 + j];
    }
    return 0;
}

int ck_cpu_batchnorm_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *dy,
                              const ck_tensor *gamma, const ck_tensor *save_mean,
                              const ck_tensor *save_invstd, ck_tensor *dx, ck_tensor *dgamma,
                              ck_tensor *dbeta, float beta)
{
    const long c = x->shape[x->ndim - 1], n = c ? (long)(ck_tensor_numel(x) / (size_t)c) : 0;
    const float *in = x->data, *g = dy->data, *gm = gamma->data;
    const float *mean = save_mean->data, *invstd = save_invstd->data;
    float *d = dx ? dx->data : NULL, *dg = dgamma ? dgamma->data : NULL, *dbt = dbeta ? dbeta->data : NULL;
    const long blocks = (c + BN_BLOCK - 1) / BN_BLOCK;
#pragma omp parallel for num_threads(be->threads) if (n * c > CK_CPU_PAR_MIN) schedule(static)
    for (long bl = 0; bl < blocks; bl++) {
        const long j0 = bl * BN_BLOCK, nc = c - j0 < BN_BLOCK ? c - j0 : BN_BLOCK;
        double sdy[BN_BLOCK] = {0}, sdyx[BN_BLOCK] = {0}; /* Σ dy, Σ dy·x̂ */
        for (long i = 0; i < n; i++)
            for (long j = 0; j < nc; j++) {
                long at = i * c + j0 + j;
                double xh = (double)(in[at] - mean[j0 + j]) * invstd[j0 + j];
                sdy[j] += g[at];
                sdyx[j] += g[at] * xh;
            }
        if (d)
            for (long i = 0; i < n; i++)
                for (long j = 0; j < nc; j++) {
                    long at = i * c + j0 + j;
                    double xh = (double)(in[at] - mean[j0 + j]) * invstd[j0 + j];
                    d[at] = (float)((double)gm[j0 + j] * invstd[j0 + j] / (double)n
                                    * ((double)n * g[at] - sdy[j] - xh * sdyx[j]));
                }
        for (long j = 0; j < nc; j++) {
            if (dg)
                dg[j0 + j] = (float)((beta == 0.0f ? 0.0 : (double)beta * dg[j0 + j]) + sdyx[j]);
            if (dbt)
                dbt[j0 + j] = (float)((beta == 0.0f ? 0.0 : (double)beta * dbt[j0 + j]) + sdy[j]);
        }
    }
    return 0;
}
