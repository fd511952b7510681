/* Softmax and softmax cross-entropy (torch.nn.CrossEntropyLoss with class
 * weights and label smoothing, mean reduction), mirroring the CPU twin
 * (lib/cpu/cpu_loss.c): per-row log-softmax in double, the same formulas,
 * and the batch sums done on the host in row order so the loss does not
 * depend on scheduling. With w_c the class weights (1 when absent), ε the
 * smoothing and C the classes:
 *   L = [ (1-ε) Σ_i w_{y_i}·(-log p_{i,y_i}) + ε/C Σ_i Σ_c w_c·(-log p_{i,c}) ] / Σ_i w_{y_i}
 *   dL/dz_ij = [ (1-ε) w_{y_i} (p_ij - [j=y_i]) + ε/C (p_ij Σ_c w_c - w_j) ] / Σ_i w_{y_i}
 * One thread per row: heads have ≤ a few hundred rows and classes, so
 * these kernels are launch-bound, not bandwidth-bound. */
#include "cuda_internal.h"

#include <stdlib.h>
#include <string.h>

#define TPB 128

/* Writes probs for row i and *mx = max z; returns log Σ exp(z - max). The
 * log-probability is (z - max) - log Σ, in that order: max + log Σ first
 * rounds log Σ away when |max| is huge (3e38: two 1s in a row). */
__device__ static double row_softmax(const float *z, float *p, int c, double *mx_out)
{
    double mx = z[0];
    for (int j = 1; j < c; j++)
        mx = z[j] > mx ? z[j] : mx;
    double s = 0.0;
    for (int j = 0; j < c; j++)
        s += exp((double)z[j] - mx);
    double ls = log(s);
    for (int j = 0; j < c; j++)
        p[j] = (float)exp(((double)z[j] - mx) - ls);
    *mx_out = mx;
    return ls;
}

__global__ void k_softmax(const float *z, float *p, int n, int c)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    double mx;
    if (i < n)
        row_softmax(z + (size_t)i * c, p + (size_t)i * c, c, &mx);
}

/* Per row: num[i] = (1-ε)·w_y·(-lp_y) + ε/C·Σ_c w_c·(-lp_c), wy[i] = w_y,
 * flag[i] = 1 when argmax == label, 2 when the label is out of range. */
__global__ void k_xent_rows(const float *z, const int32_t *y, const float *cw, float eps, float *p, int n, int c,
                            double *num, double *wy, int *flag)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    const float *zi = z + (size_t)i * c;
    float *pi = p + (size_t)i * c;
    int yi = y[i];
    double mx, ls = row_softmax(zi, pi, c, &mx);
    if (yi < 0 || yi >= c) {
        num[i] = 0.0;
        wy[i] = 0.0;
        flag[i] = 2;
        return;
    }
    double smooth = 0.0;
    int arg = 0;
    for (int j = 0; j < c; j++) {
        double lp = ((double)zi[j] - mx) - ls;
        smooth -= (cw ? cw[j] : 1.0) * lp;
        if (zi[j] > zi[arg])
            arg = j;
    }
    double w = cw ? cw[yi] : 1.0;
    num[i] = (1.0 - (double)eps) * w * -(((double)zi[yi] - mx) - ls) + (double)eps / c * smooth;
    wy[i] = w;
    flag[i] = arg == yi;
}

/* Gradient rows; the denominator Σ_i w_{y_i} is re-summed by every thread
 * in row order (n is small) so no host round trip is needed. */
__global__ void k_xent_grad(const float *p, const int32_t *y, const float *cw, float eps, const double *wy, int n,
                            int c, float *d)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    double den = 0.0;
    for (int r = 0; r < n; r++)
        den += wy[r];
    double inv = den > 0.0 ? 1.0 / den : 0.0;
    double wsum_all = 0.0;
    for (int j = 0; j < c; j++)
        wsum_all += cw ? cw[j] : 1.0;
    int yi = y[i];
    double w = (yi >= 0 && yi < c) ? (cw ? cw[yi] : 1.0) : 0.0;
    const float *pi = p + (size_t)i * c;
    float *di = d + (size_t)i * c;
    for (int j = 0; j < c; j++) {
        double pj = pi[j];
        double g = (1.0 - (double)eps) * w * (pj - (j == yi)) + (double)eps / c * (pj * wsum_all - (cw ? cw[j] : 1.0));
        di[j] = (float)(g * inv);
    }
}

int ck_cuda_softmax_forward(ck_backend *be, const ck_tensor *logits, ck_tensor *probs)
{
    CK_ON_DEVICE(be);
    int n = logits->shape[0], c = logits->shape[1];
    if (n == 0 || c == 0)
        return 0;
    k_softmax<<<(n + TPB - 1) / TPB, TPB, 0, ck_cu(be)->stream>>>((const float *)logits->data, (float *)probs->data,
                                                                  n, c);
    CK_LAUNCHED("softmax");
    return 0;
}

int ck_cuda_softmax_xent(ck_backend *be, const ck_tensor *logits, const ck_tensor *labels,
                         const ck_tensor *class_weights, float smoothing, ck_tensor *probs, ck_tensor *dlogits,
                         float *loss, int *correct)
{
    CK_ON_DEVICE(be);
    ck_cuda *cu = ck_cu(be);
    int n = logits->shape[0], c = logits->shape[1];
    if (n == 0 || c == 0) {
        if (loss)
            *loss = 0.0f;
        if (correct)
            *correct = 0;
        return 0;
    }
    size_t per_row = 2 * sizeof(double) + sizeof(int);
    char *rows = (char *)ck_cu_scratch(be, CK_CU_ROWS, (size_t)n * per_row);
    if (!rows)
        return -1;
    double *num = (double *)rows, *wy = num + n;
    int *flag = (int *)(wy + n);
    const float *cw = class_weights ? (const float *)class_weights->data : NULL;
    unsigned grid = (unsigned)((n + TPB - 1) / TPB);
    k_xent_rows<<<grid, TPB, 0, cu->stream>>>((const float *)logits->data, (const int32_t *)labels->data, cw,
                                              smoothing, (float *)probs->data, n, c, num, wy, flag);
    CK_LAUNCHED("softmax_xent");
    if (dlogits) {
        k_xent_grad<<<grid, TPB, 0, cu->stream>>>((const float *)probs->data, (const int32_t *)labels->data, cw,
                                                  smoothing, wy, n, c, (float *)dlogits->data);
        CK_LAUNCHED("softmax_xent gradient");
    }
    /* The loss is a host value anyway, and labels must be validated. */
    char *host = (char *)malloc((size_t)n * per_row);
    if (!host) {
        ck_error("cuda", "out of memory");
        return -1;
    }
    if (be->ops->download(be, host, rows, (size_t)n * per_row) != 0) {
        free(host);
        return -1;
    }
    const double *hnum = (const double *)host, *hwy = hnum + n;
    const int *hflag = (const int *)(hwy + n);
    double snum = 0.0, sden = 0.0;
    int right = 0;
    for (int i = 0; i < n; i++) {
        if (hflag[i] == 2) {
            int32_t bad = 0;
            (void)be->ops->download(be, &bad, (const int32_t *)labels->data + i, sizeof bad);
            free(host);
            ck_error("softmax_xent", "label %d of row %d is outside [0,%d)", bad, i, c);
            return -1;
        }
        snum += hnum[i];
        sden += hwy[i];
        right += hflag[i] == 1;
    }
    free(host);
    if (loss)
        *loss = sden > 0.0 ? (float)(snum / sden) : 0.0f;
    if (correct)
        *correct = right;
    return 0;
}
