/* Dropout and batch normalisation ([N,C], the head's optional BN, or
 * [N,H,W,C] read as [N·H·W, C] rows, a backbone's BN). Both follow the CPU
 * twin (lib/cpu/cpu_layers.c) formula for formula: dropout masks come from
 * the same Philox call so they match bit for bit, and batch statistics are
 * accumulated in double. */
#include "cuda_internal.h"

#include "ck/rng.h"

#define TPB 256

/* One Philox block decides elements 4g..4g+3: keep when u >= rate. */
__global__ void k_dropout(const float *x, float *y, uint8_t *mask, size_t n, float rate, float scale, uint64_t seed,
                          uint32_t step)
{
    size_t groups = (n + 3) / 4;
    for (size_t g = blockIdx.x * (size_t)blockDim.x + threadIdx.x; g < groups; g += (size_t)gridDim.x * blockDim.x) {
        uint32_t r[4];
        ck_philox_at(seed, step, (uint32_t)g, 0, r);
        for (int k = 0; k < 4 && 4 * g + k < n; k++) {
            size_t i = 4 * g + k;
            int keep = ck_u32_to_unit(r[k]) >= rate;
            mask[i] = (uint8_t)keep;
            y[i] = keep ? x[i] * scale : 0.0f;
        }
    }
}

__global__ void k_dropout_back(const float *dy, const uint8_t *mask, float *dx, size_t n, float scale)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}

int ck_cuda_dropout_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y, ck_tensor *mask, float rate,
                            uint64_t seed, uint32_t step)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(x);
    if (n == 0)
        return 0;
    const float scale = 1.0f / (1.0f - rate);
    k_dropout<<<ck_cu_blocks((n + 3) / 4, TPB), TPB, 0, ck_cu(be)->stream>>>(
        (const float *)x->data, (float *)y->data, (uint8_t *)mask->data, n, rate, scale, seed, step);
    CK_LAUNCHED("dropout");
    return 0;
}

int ck_cuda_dropout_backward(ck_backend *be, const ck_tensor *dy, const ck_tensor *mask, ck_tensor *dx, float rate)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(dy);
    if (n == 0)
        return 0;
    const float scale = 1.0f / (1.0f - rate);
    k_dropout_back<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>(
        (const float *)dy->data, (const uint8_t *)mask->data, (float *)dx->data, n, scale);
    CK_LAUNCHED("dropout_backward");
    return 0;
}

/* ---- batch norm ----------------------------------------------------------
 * Statistics per channel over up to millions of rows: blocks of 32
 * channels × 8 row lanes each sum one fixed slice of rows (partial sums in
 * double, lanes combined in order), then one thread per channel adds the
 * slices in order. The slicing depends only on the shape: the same sums on
 * every run. Passes: Σx (mean), Σ(x-mean)² (variance, two-pass like the
 * CPU), Σdy and Σdy·x̂ (backward). */

#define BN_CH 32
#define BN_LANES 8
#define BN_SLICE_ROWS 512
#define BN_MAX_SLICES 1024

enum { BN_SUM = 0, BN_SQDEV = 1, BN_BACK = 2 };

static int bn_slices(long n)
{
    long s = (n + BN_SLICE_ROWS - 1) / BN_SLICE_ROWS;
    return s < 1 ? 1 : s > BN_MAX_SLICES ? BN_MAX_SLICES : (int)s;
}

/* part[(slice·c + j)·2 + {0,1}] = the slice's sums for channel j. */
__global__ void k_bn_partial(const float *x, const float *dy, const double *mean_d, const float *mean,
                             const float *invstd, double *part, long n, long c, int slices, int mode)
{
    __shared__ double sa[BN_LANES][BN_CH], sb[BN_LANES][BN_CH];
    long j = blockIdx.x * (long)BN_CH + threadIdx.x;
    int slice = blockIdx.y, lane = threadIdx.y;
    long per = (n + slices - 1) / slices, r0 = slice * per, r1 = r0 + per < n ? r0 + per : n;
    double a = 0.0, b = 0.0;
    if (j < c)
        for (long i = r0 + lane; i < r1; i += BN_LANES) {
            float v = x[i * c + j];
            if (mode == BN_SUM) {
                a += v;
            } else if (mode == BN_SQDEV) {
                double dv = v - mean_d[j];
                a += dv * dv;
            } else {
                double xh = (double)(v - mean[j]) * invstd[j];
                a += dy[i * c + j];
                b += dy[i * c + j] * xh;
            }
        }
    sa[lane][threadIdx.x] = a;
    sb[lane][threadIdx.x] = b;
    __syncthreads();
    if (lane == 0 && j < c) {
        for (int l = 1; l < BN_LANES; l++) {
            a += sa[l][threadIdx.x];
            b += sb[l][threadIdx.x];
        }
        part[((long)slice * c + j) * 2] = a;
        part[((long)slice * c + j) * 2 + 1] = b;
    }
}

/* tot[j·2 + {0,1}] = Σ over slices, in order. */
__global__ void k_bn_total(const double *part, double *tot, long c, int slices)
{
    long j = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (j >= c)
        return;
    double a = 0.0, b = 0.0;
    for (int s = 0; s < slices; s++) {
        a += part[((long)s * c + j) * 2];
        b += part[((long)s * c + j) * 2 + 1];
    }
    tot[j * 2] = a;
    tot[j * 2 + 1] = b;
}

__global__ void k_bn_mean(const double *tot, double *mean_d, long n, long c)
{
    long j = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (j < c)
        mean_d[j] = tot[j * 2] / (double)n;
}

/* Batch statistics -> mean/invstd (ms), running stats, saved copies. */
__global__ void k_bn_stats(const double *mean_d, const double *tot, float *ms, float *rm, float *rv, float *smean,
                           float *sinv, long n, long c, float momentum, float eps)
{
    long j = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (j >= c)
        return;
    double sq = tot[j * 2], var = sq / (double)n;
    float mean = (float)mean_d[j], invstd = (float)(1.0 / sqrt(var + eps));
    double unbiased = n > 1 ? sq / (double)(n - 1) : var;
    rm[j] = (float)((1.0 - momentum) * rm[j] + momentum * mean_d[j]);
    rv[j] = (float)((1.0 - momentum) * rv[j] + momentum * unbiased);
    ms[j] = mean;
    ms[c + j] = invstd;
    if (smean)
        smean[j] = mean;
    if (sinv)
        sinv[j] = invstd;
}

__global__ void k_bn_running(const float *rm, const float *rv, float *ms, long c, float eps)
{
    long j = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (j >= c)
        return;
    ms[j] = rm[j];
    ms[c + j] = (float)(1.0 / sqrt((double)rv[j] + eps));
}

__global__ void k_bn_apply(const float *x, const float *g, const float *bt, const float *ms, float *y, size_t total,
                           long c)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        long j = (long)(i % c);
        /* Rounded step by step like the CPU's float expression. */
        y[i] = __fadd_rn(__fmul_rn(__fmul_rn(g[j], __fsub_rn(x[i], ms[j])), ms[c + j]), bt[j]);
    }
}

__global__ void k_bn_dx(const float *x, const float *dy, const float *gm, const float *mean, const float *invstd,
                        const double *tot, float *dx, size_t total, long n, long c)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        long j = (long)(i % c);
        double xh = (double)(x[i] - mean[j]) * invstd[j];
        dx[i] = (float)((double)gm[j] * invstd[j] / (double)n * ((double)n * dy[i] - tot[j * 2] - xh * tot[j * 2 + 1]));
    }
}

__global__ void k_bn_params(const double *tot, float *dg, float *dbt, long c, float beta)
{
    long j = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (j >= c)
        return;
    if (dg)
        dg[j] = (float)((beta == 0.0f ? 0.0 : (double)beta * dg[j]) + tot[j * 2 + 1]);
    if (dbt)
        dbt[j] = (float)((beta == 0.0f ? 0.0 : (double)beta * dbt[j]) + tot[j * 2]);
}

/* Channels last; n rows of c. */
static void bn_rows(const ck_tensor *x, long *n, long *c)
{
    *c = x->shape[x->ndim - 1];
    *n = *c ? (long)(ck_cu_numel(x) / (size_t)*c) : 0;
}

/* The partial and total sums of one pass into tot (2·c doubles). */
static int bn_pass(ck_backend *be, const float *x, const float *dy, const double *mean_d, const float *mean,
                   const float *invstd, double *part, double *tot, long n, long c, int mode)
{
    cudaStream_t st = ck_cu(be)->stream;
    int slices = bn_slices(n);
    dim3 grid((unsigned)((c + BN_CH - 1) / BN_CH), (unsigned)slices), block(BN_CH, BN_LANES);
    k_bn_partial<<<grid, block, 0, st>>>(x, dy, mean_d, mean, invstd, part, n, c, slices, mode);
    CK_LAUNCHED("batchnorm partial sums");
    k_bn_total<<<(unsigned)((c + TPB - 1) / TPB), TPB, 0, st>>>(part, tot, c, slices);
    CK_LAUNCHED("batchnorm sums");
    return 0;
}

int ck_cuda_batchnorm_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *gamma, const ck_tensor *beta_,
                              ck_tensor *running_mean, ck_tensor *running_var, ck_tensor *save_mean,
                              ck_tensor *save_invstd, ck_tensor *y, int training, float momentum, float eps)
{
    CK_ON_DEVICE(be);
    cudaStream_t st = ck_cu(be)->stream;
    long n, c;
    bn_rows(x, &n, &c);
    if (c == 0 || (n == 0 && !training))
        return 0;
    /* scratch: partial sums, then per channel tot (2c), mean (c) doubles */
    size_t np = (size_t)bn_slices(n) * c * 2;
    double *part = (double *)ck_cu_scratch(be, CK_CU_PARTIAL, (np + 3 * (size_t)c) * sizeof(double));
    float *ms = (float *)ck_cu_scratch(be, CK_CU_ROWS, 2 * (size_t)c * sizeof(float));
    if (!part || !ms)
        return -1;
    double *tot = part + np, *mean_d = tot + 2 * c;
    unsigned cb = (unsigned)((c + TPB - 1) / TPB);
    const float *xp = (const float *)x->data;
    if (training) {
        if (bn_pass(be, xp, NULL, NULL, NULL, NULL, part, tot, n, c, BN_SUM))
            return -1;
        k_bn_mean<<<cb, TPB, 0, st>>>(tot, mean_d, n, c);
        CK_LAUNCHED("batchnorm mean");
        if (bn_pass(be, xp, NULL, mean_d, NULL, NULL, part, tot, n, c, BN_SQDEV))
            return -1;
        k_bn_stats<<<cb, TPB, 0, st>>>(mean_d, tot, ms, (float *)running_mean->data, (float *)running_var->data,
                                       save_mean ? (float *)save_mean->data : NULL,
                                       save_invstd ? (float *)save_invstd->data : NULL, n, c, momentum, eps);
        CK_LAUNCHED("batchnorm statistics");
    } else {
        k_bn_running<<<cb, TPB, 0, st>>>((const float *)running_mean->data, (const float *)running_var->data, ms, c,
                                         eps);
        CK_LAUNCHED("batchnorm running statistics");
    }
    size_t total = (size_t)n * c;
    if (total == 0)
        return 0;
    k_bn_apply<<<ck_cu_blocks(total, TPB), TPB, 0, st>>>(xp, (const float *)gamma->data, (const float *)beta_->data,
                                                         ms, (float *)y->data, total, c);
    CK_LAUNCHED("batchnorm");
    return 0;
}

int ck_cuda_batchnorm_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *dy, const ck_tensor *gamma,
                               const ck_tensor *save_mean, const ck_tensor *save_invstd, ck_tensor *dx,
                               ck_tensor *dgamma, ck_tensor *dbeta, float beta)
{
    CK_ON_DEVICE(be);
    cudaStream_t st = ck_cu(be)->stream;
    long n, c;
    bn_rows(x, &n, &c);
    if (c == 0)
        return 0;
    size_t np = (size_t)bn_slices(n) * c * 2;
    double *part = (double *)ck_cu_scratch(be, CK_CU_PARTIAL, (np + 2 * (size_t)c) * sizeof(double));
    if (!part)
        return -1;
    double *tot = part + np;
    const float *xp = (const float *)x->data, *g = (const float *)dy->data;
    const float *mean = (const float *)save_mean->data, *invstd = (const float *)save_invstd->data;
    if (bn_pass(be, xp, g, NULL, mean, invstd, part, tot, n, c, BN_BACK))
        return -1;
    size_t total = (size_t)n * c;
    if (dx && total) {
        k_bn_dx<<<ck_cu_blocks(total, TPB), TPB, 0, st>>>(xp, g, (const float *)gamma->data, mean, invstd, tot,
                                                          (float *)dx->data, total, n, c);
        CK_LAUNCHED("batchnorm_backward dx");
    }
    k_bn_params<<<(unsigned)((c + TPB - 1) / TPB), TPB, 0, st>>>(tot, dgamma ? (float *)dgamma->data : NULL,
                                                                 dbeta ? (float *)dbeta->data : NULL, c, beta);
    CK_LAUNCHED("batchnorm_backward parameters");
    return 0;
}
