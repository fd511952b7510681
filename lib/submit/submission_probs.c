/* Probability arithmetic for TTA, ensembles and clipping. */
#include "ck/submission.h"

void ck_probs_accumulate(double *sum, const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sum[i] += (double)p[i];
}

void ck_probs_mean(double *sum, size_t n, int count)
{
    if (count <= 0)
        return;
    double inv = 1.0 / count;
    for (size_t i = 0; i < n; i++)
        sum[i] *= inv;
}

void ck_probs_clip(double *p, int k, double eps)
{
    double total = 0;
    for (int i = 0; i < k; i++) {
        double v = p[i];
        /* NaN compares false both ways: map it to eps, not through. */
        if (!(v >= eps))
            v = eps;
        if (v > 1 - eps)
            v = 1 - eps;
        p[i] = v;
        total += v;
    }
    for (int i = 0; i < k; i++)
        p[i] /= total;
}

int ck_probs_argmax(const double *p, int k)
{
    int best = 0;
    for (int i = 1; i < k; i++)
        if (p[i] > p[best])
            best = i;
    return best;
}
