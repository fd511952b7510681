/* Optimizer updates with torch.optim semantics, element-wise, the same
 * float expressions as the CPU twin (lib/cpu/cpu_update.c). nvcc may fuse
 * a·b + c into one FMA where gcc does not, so results can differ from the
 * CPU in the last bit; the comparison tests allow for that. */
#include "cuda_internal.h"

#include <math.h>

#define TPB 256
#define LOOP(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

__global__ void k_sgd(float *p, const float *g, float *v, size_t n, float lr, float momentum, int nesterov, float wd)
{
    LOOP(i, n)
    {
        float gi = g[i] + wd * p[i];
        if (momentum != 0.0f) {
            v[i] = momentum * v[i] + gi;
            gi = nesterov ? gi + momentum * v[i] : v[i];
        }
        p[i] -= lr * gi;
    }
}

__global__ void k_adam(float *p, const float *g, float *m, float *v, size_t n, float step_size, float bc2_sqrt,
                       float beta1, float beta2, float eps, float decay, float l2)
{
    LOOP(i, n)
    {
        float pi = p[i] * decay;
        float gi = g[i] + l2 * pi;
        m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
        v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] = pi - step_size * m[i] / denom;
    }
}

__global__ void k_rmsprop(float *p, const float *g, float *s, size_t n, float lr, float rho, float eps, float wd)
{
    LOOP(i, n)
    {
        float gi = g[i] + wd * p[i];
        s[i] = rho * s[i] + (1.0f - rho) * gi * gi;
        p[i] -= lr * gi / (sqrtf(s[i]) + eps);
    }
}

int ck_cuda_sgd_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *velocity, float lr,
                       float momentum, int nesterov, float weight_decay)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(param);
    if (n == 0)
        return 0;
    k_sgd<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>(
        (float *)param->data, (const float *)grad->data, velocity ? (float *)velocity->data : NULL, n, lr,
        velocity ? momentum : 0.0f, nesterov, weight_decay);
    CK_LAUNCHED("sgd_update");
    return 0;
}

int ck_cuda_adam_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *m, ck_tensor *v,
                        float lr, float beta1, float beta2, float eps, float weight_decay, int decoupled, long t)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(param);
    if (n == 0)
        return 0;
    /* Bias corrections on the host, exactly as the CPU computes them. */
    const float bc1 = (float)(1.0 - pow(beta1, (double)t));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(beta2, (double)t));
    const float step_size = lr / bc1;
    const float decay = decoupled ? 1.0f - lr * weight_decay : 1.0f;
    const float l2 = decoupled ? 0.0f : weight_decay;
    k_adam<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>((float *)param->data, (const float *)grad->data,
                                                                (float *)m->data, (float *)v->data, n, step_size,
                                                                bc2_sqrt, beta1, beta2, eps, decay, l2);
    CK_LAUNCHED("adam_update");
    return 0;
}

int ck_cuda_rmsprop_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *sq, float lr,
                           float rho, float eps, float weight_decay)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(param);
    if (n == 0)
        return 0;
    k_rmsprop<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>((float *)param->data, (const float *)grad->data,
                                                                   (float *)sq->data, n, lr, rho, eps, weight_decay);
    CK_LAUNCHED("rmsprop_update");
    return 0;
}
