/* Dropout and batch normalisation ([N,C], the head's optional BN).
 * Both follow the CPU twin (lib/cpu/cpu_layers.c) formula for formula:
 * dropout masks come from the same Philox call so they match bit for bit,
 * and batch statistics are accumulated in double, one thread per channel,
 * over rows in order. */
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

/* One thread per channel j; rows are read with stride c, which coalesces
 * across the threads of a warp (adjacent channels). */
__global__ void k_bn_forward(const float *x, const float *g, const float *bt, float *rm, float *rv, float *smean,
                             float *sinv, float *y, long n, long c, int training, float momentum, float eps)
{
    long j = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (j >= c)
        return;
    float mean, invstd;
    if (training) {
        double sum = 0.0, sq = 0.0;
        for (long i = 0; i < n; i++)
            sum += x[i * c + j];
        sum /= (double)n;
        for (long i = 0; i < n; i++) {
            double dv = x[i * c + j] - sum;
            sq += dv * dv;
        }
        double var = sq / (double)n;
        mean = (float)sum;
        invstd = (float)(1.0 / sqrt(var + eps));
        double unbiased = n > 1 ? sq / (double)(n - 1) : var;
        rm[j] = (float)((1.0 - momentum) * rm[j] + momentum * sum);
        rv[j] = (float)((1.0 - momentum) * rv[j] + momentum * unbiased);
        if (smean)
            smean[j] = mean;
        if (sinv)
            sinv[j] = invstd;
    } else {
        mean = rm[j];
        invstd = (float)(1.0 / sqrt((double)rv[j] + eps));
    }
    for (long i = 0; i < n; i++)
        y[i * c + j] = g[j] * (x[i * c + j] - mean) * invstd + bt[j];
}

__global__ void k_bn_backward(const float *x, const float *dy, const float *gm, const float *mean,
                              const float *invstd, float *dx, float *dg, float *dbt, long n, long c, float beta)
{
    long j = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (j >= c)
        return;
    double sdy = 0.0, sdyx = 0.0;
    for (long i = 0; i < n; i++) {
        double xh = (double)(x[i * c + j] - mean[j]) * invstd[j];
        sdy += dy[i * c + j];
        sdyx += dy[i * c + j] * xh;
    }
    if (dx)
        for (long i = 0; i < n; i++) {
            double xh = (double)(x[i * c + j] - mean[j]) * invstd[j];
            dx[i * c + j] = (float)((double)gm[j] * invstd[j] / (double)n * ((double)n * dy[i * c + j] - sdy - xh * sdyx));
        }
    if (dg)
        dg[j] = (float)((beta == 0.0f ? 0.0 : (double)beta * dg[j]) + sdyx);
    if (dbt)
        dbt[j] = (float)((beta == 0.0f ? 0.0 : (double)beta * dbt[j]) + sdy);
}

int ck_cuda_batchnorm_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *gamma, const ck_tensor *beta_,
                              ck_tensor *running_mean, ck_tensor *running_var, ck_tensor *save_mean,
                              ck_tensor *save_invstd, ck_tensor *y, int training, float momentum, float eps)
{
    CK_ON_DEVICE(be);
    long n = x->shape[0], c = x->shape[1];
    if (c == 0 || (n == 0 && !training))
        return 0;
    k_bn_forward<<<(unsigned)((c + TPB - 1) / TPB), TPB, 0, ck_cu(be)->stream>>>(
        (const float *)x->data, (const float *)gamma->data, (const float *)beta_->data, (float *)running_mean->data,
        (float *)running_var->data, save_mean ? (float *)save_mean->data : NULL,
        save_invstd ? (float *)save_invstd->data : NULL, (float *)y->data, n, c, training, momentum, eps);
    CK_LAUNCHED("batchnorm");
    return 0;
}

int ck_cuda_batchnorm_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *dy, const ck_tensor *gamma,
                               const ck_tensor *save_mean, const ck_tensor *save_invstd, ck_tensor *dx,
                               ck_tensor *dgamma, ck_tensor *dbeta, float beta)
{
    CK_ON_DEVICE(be);
    long n = x->shape[0], c = x->shape[1];
    if (c == 0)
        return 0;
    k_bn_backward<<<(unsigned)((c + TPB - 1) / TPB), TPB, 0, ck_cu(be)->stream>>>(
        (const float *)x->data, (const float *)dy->data, (const float *)gamma->data, (const float *)save_mean->data,
        (const float *)save_invstd->data, dx ? (float *)dx->data : NULL, dgamma ? (float *)dgamma->data : NULL,
        dbeta ? (float *)dbeta->data : NULL, n, c, beta);
    CK_LAUNCHED("batchnorm_backward");
    return 0;
}
