/* Optimizer updates (torch.optim semantics) and vector utilities on the CPU.
 * Element-wise, so results do not depend on the thread count. */
#include "cpu_kernels.h"

#include <math.h>

#define PAR(n) num_threads(be->threads) if ((n) > CK_CPU_PAR_MIN) schedule(static)

int ck_cpu_sgd_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *velocity,
                      float lr, float momentum, int nesterov, float weight_decay)
{
    float *p = param->data, *v = velocity ? velocity->data : NULL;
    const float *g = grad->data;
    const long n = (long)ck_tensor_numel(param);
#pragma omp parallel for PAR(n)
    for (long i = 0; i < n; i++) {
        float gi = g[i] + weight_decay * p[i];
        if (momentum != 0.0f) {
            v[i] = momentum * v[i] + gi;
            gi = nesterov ? gi + momentum * v[i] : v[i];
        }
        p[i] -= lr * gi;
    }
    return 0;
}

int ck_cpu_adam_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *m,
                       ck_tensor *v, float lr, float beta1, float beta2, float eps,
                       float weight_decay, int decoupled, long t)
{
    float *p = param->data, *mm = m->data, *vv = v->data;
    const float *g = grad->data;
    const long n = (long)ck_tensor_numel(param);
    /* torch: step_size = lr / bc1; denom = sqrt(v) / sqrt(bc2) + eps */
    const float bc1 = (float)(1.0 - pow(beta1, (double)t));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(beta2, (double)t));
    const float step_size = lr / bc1;
    const float decay = decoupled ? 1.0f - lr * weight_decay : 1.0f;
    const float l2 = decoupled ? 0.0f : weight_decay;
#pragma omp parallel for PAR(n)
    for (long i = 0; i < n; i++) {
        float pi = p[i] * decay;
        float gi = g[i] + l2 * pi;
        mm[i] = beta1 * mm[i] + (1.0f - beta1) * gi;
        vv[i] = beta2 * vv[i] + (1.0f - beta2) * gi * gi;
        float denom = sqrtf(vv[i]) / bc2_sqrt + eps;
        p[i] = pi - step_size * mm[i] / denom;
    }
    return 0;
}

int ck_cpu_rmsprop_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *sq,
                          float lr, float rho, float eps, float weight_decay)
{
    float *p = param->data, *s = sq->data;
    const float *g = grad->data;
    const long n = (long)ck_tensor_numel(param);
#pragma omp parallel for PAR(n)
    for (long i = 0; i < n; i++) {
        float gi = g[i] + weight_decay * p[i];
        s[i] = rho * s[i] + (1.0f - rho) * gi * gi;
        p[i] -= lr * gi / (sqrtf(s[i]) + eps);
    }
    return 0;
}

int ck_cpu_scale(ck_backend *be, ck_tensor *t, float a)
{
    float *p = t->data;
    const long n = (long)ck_tensor_numel(t);
#pragma omp parallel for PAR(n)
    for (long i = 0; i < n; i++)
        p[i] *= a;
    return 0;
}

int ck_cpu_axpy(ck_backend *be, float a, const ck_tensor *x, ck_tensor *y)
{
    const float *xs = x->data;
    float *ys = y->data;
    const long n = (long)ck_tensor_numel(x);
#pragma omp parallel for PAR(n)
    for (long i = 0; i < n; i++)
        ys[i] += a * xs[i];
    return 0;
}

int ck_cpu_sum_squares(ck_backend *be, const ck_tensor *t, double *out)
{
    /* Fixed blocks summed in order: the same result at any thread count. */
    enum { BLOCK = 4096 };
    const float *p = t->data;
    const long n = (long)ck_tensor_numel(t);
    const long blocks = (n + BLOCK - 1) / BLOCK;
    double *part = ck_cpu_scratch(be, 0, (size_t)(blocks ? blocks : 1) * sizeof(double));
    if (!part)
        return -1;
#pragma omp parallel for PAR(n)
    for (long b = 0; b < blocks; b++) {
        long i1 = (b + 1) * BLOCK < n ? (b + 1) * BLOCK : n;
        double s = 0.0;
        for (long i = b * BLOCK; i < i1; i++)
            s += (double)p[i] * p[i];
        part[b] = s;
    }
    double s = 0.0;
    for (long b = 0; b < blocks; b++)
        s += part[b];
    *out = s;
    return 0;
}
