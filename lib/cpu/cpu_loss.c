/* Softmax, softmax cross-entropy (torch.nn.CrossEntropyLoss semantics) and
 * input preprocessing on the CPU. */
#include "cpu_kernels.h"

#include "ck/error.h"

#include <math.h>

/* log-softmax of one row in double: lp[j] = (z[j] - max) - log Σ exp(z - max),
 * in that order: max + log Σ first rounds log Σ away when |max| is huge
 * (logits of 3e38 gave rows of 0s and two 1s). */
static void log_softmax_row(const float *z, int c, double *lp)
{
    double mx = z[0];
    for (int j = 1; j < c; j++)
        mx = z[j] > mx ? z[j] : mx;
    double s = 0.0;
    for (int j = 0; j < c; j++)
        s += exp((double)z[j] - mx);
    double ls = log(s);
    for (int j = 0; j < c; j++)
        lp[j] = ((double)z[j] - mx) - ls;
}

int ck_cpu_softmax_forward(ck_backend *be, const ck_tensor *logits, ck_tensor *probs)
{
    const int n = logits->shape[0], c = logits->shape[1];
    const float *z = logits->data;
    float *p = probs->data;
    double *lp = ck_cpu_scratch(be, 0, (size_t)c * sizeof(double));
    if (!lp)
        return -1;
    for (int i = 0; i < n; i++) {
        log_softmax_row(z + (long)i * c, c, lp);
        for (int j = 0; j < c; j++)
            p[(long)i * c + j] = (float)exp(lp[j]);
    }
    return 0;
}

/* With w_c the class weights (1 when absent), y_i the labels, ε the
 * smoothing and C the classes, torch computes
 *   L = [ (1-ε) Σ_i w_{y_i}·(-log p_{i,y_i}) + ε/C Σ_i Σ_c w_c·(-log p_{i,c}) ] / Σ_i w_{y_i}
 * and so dL/dz_{ij} = [ (1-ε) w_{y_i} (p_ij - [j=y_i]) + ε/C (p_ij Σ_c w_c - w_j) ] / Σ_i w_{y_i}. */
int ck_cpu_softmax_xent(ck_backend *be, const ck_tensor *logits, const ck_tensor *labels,
                        const ck_tensor *class_weights, float smoothing, ck_tensor *probs,
                        ck_tensor *dlogits, float *loss, int *correct)
{
    const int n = logits->shape[0], c = logits->shape[1];
    const float *z = logits->data;
    const int32_t *y = labels->data;
    const float *cw = class_weights ? class_weights->data : NULL;
    float *p = probs->data;
    double *lp = ck_cpu_scratch(be, 0, (size_t)c * sizeof(double));
    if (!lp)
        return -1;
    for (int i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= c) {
            ck_error("softmax_xent", "label %d of row %d is outside [0,%d)", y[i], i, c);
            return -1;
        }
    const double eps = smoothing;
    double wsum_all = 0.0; /* Σ_c w_c */
    for (int j = 0; j < c; j++)
        wsum_all += cw ? cw[j] : 1.0;
    double num = 0.0, den = 0.0;
    int right = 0;
    for (int i = 0; i < n; i++) {
        const float *zi = z + (long)i * c;
        float *pi = p + (long)i * c;
        int yi = y[i];
        log_softmax_row(zi, c, lp);
        double wy = cw ? cw[yi] : 1.0, smooth = 0.0;
        int arg = 0;
        for (int j = 0; j < c; j++) {
            pi[j] = (float)exp(lp[j]);
            smooth -= (cw ? cw[j] : 1.0) * lp[j];
            if (zi[j] > zi[arg])
                arg = j;
        }
        num += (1.0 - eps) * wy * -lp[yi] + eps / c * smooth;
        den += wy;
        right += arg == yi;
    }
    if (loss)
        *loss = den > 0.0 ? (float)(num / den) : 0.0f;
    if (correct)
        *correct = right;
    if (dlogits) {
        float *d = dlogits->data;
        double inv = den > 0.0 ? 1.0 / den : 0.0;
        for (int i = 0; i < n; i++) {
            int yi = y[i];
            double wy = cw ? cw[yi] : 1.0;
            for (int j = 0; j < c; j++) {
                double pj = p[(long)i * c + j];
                double g = (1.0 - eps) * wy * (pj - (j == yi)) + eps / c * (pj * wsum_all - (cw ? cw[j] : 1.0));
                d[(long)i * c + j] = (float)(g * inv);
            }
        }
    }
    return 0;
}

int ck_cpu_preprocess(ck_backend *be, const ck_tensor *rgb, const ck_preprocess_spec *p, ck_tensor *out)
{
    const long pixels = (long)ck_tensor_numel(rgb) / 3;
    const uint8_t *in = rgb->data;
    float *o = out->data;
    const int s0 = p->bgr ? 2 : 0, s2 = 2 - s0;
    const float m0 = p->mean[0], m1 = p->mean[1], m2 = p->mean[2];
    const float k0 = p->scale[0], k1 = p->scale[1], k2 = p->scale[2];
#pragma omp parallel for num_threads(be->threads) if (pixels * 3 > CK_CPU_PAR_MIN) schedule(static)
    for (long i = 0; i < pixels; i++) {
        o[3 * i + 0] = ((float)in[3 * i + s0] - m0) * k0;
        o[3 * i + 1] = ((float)in[3 * i + 1] - m1) * k1;
        o[3 * i + 2] = ((float)in[3 * i + s2] - m2) * k2;
    }
    return 0;
}
