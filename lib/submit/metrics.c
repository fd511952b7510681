/* Classification metrics (see ck/metrics.h for the conventions). */
#include "ck/metrics.h"

#include "ck/error.h"

#include <math.h>
#include <stdlib.h>

struct ck_metrics {
    int nclass;
    double eps;
    long count, count_probs;
    long correct;
    double nll; /* sum of -log p[truth] */
    long *rank_hist; /* rank of the truth among the probabilities */
    long *confusion;
};

ck_metrics *ck_metrics_new(int nclass)
{
    if (nclass < 1) {
        ck_error("metrics", "invalid number of classes %d", nclass);
        return NULL;
    }
    ck_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        ck_error("metrics", "out of memory");
        return NULL;
    }
    m->nclass = nclass;
    m->eps = 1e-15;
    m->rank_hist = calloc((size_t)nclass, sizeof *m->rank_hist);
    m->confusion = calloc((size_t)nclass * (size_t)nclass, sizeof *m->confusion);
    if (!m->rank_hist || !m->confusion) {
        ck_metrics_free(m);
        ck_error("metrics", "out of memory");
        return NULL;
    }
    return m;
}

void ck_metrics_free(ck_metrics *m)
{
    if (!m)
        return;
    free(m->rank_hist);
    free(m->confusion);
    free(m);
}

void ck_metrics_set_eps(ck_metrics *m, double eps)
{
    m->eps = eps;
}

int ck_metrics_nclass(const ck_metrics *m)
{
    return m->nclass;
}

int ck_metrics_add_label(ck_metrics *m, int truth, int predicted)
{
    if (truth < 0 || truth >= m->nclass || predicted < 0 || predicted >= m->nclass) {
        ck_error("metrics", "label out of range (truth %d, predicted %d, %d classes)", truth, predicted, m->nclass);
        return -1;
    }
    m->count++;
    m->correct += truth == predicted;
    m->confusion[(size_t)truth * (size_t)m->nclass + (size_t)predicted]++;
    return 0;
}

static double clip(double v, double eps)
{
    if (!(v >= eps))
        v = eps;
    return v > 1 - eps ? 1 - eps : v;
}

double ck_metrics_row_loss(const double *p, int nclass, int truth, double eps)
{
    double sum = 0;
    for (int i = 0; i < nclass; i++)
        sum += clip(p[i], eps);
    return -log(clip(p[truth], eps) / sum);
}

int ck_metrics_add_probs(ck_metrics *m, int truth, const double *p)
{
    int k = m->nclass, best = 0, rank = 0;
    if (truth < 0 || truth >= k) {
        ck_error("metrics", "label %d out of range (%d classes)", truth, k);
        return -1;
    }
    for (int i = 0; i < k; i++) {
        if (p[i] > p[best])
            best = i;
        if (p[i] > p[truth] || (p[i] == p[truth] && i < truth))
            rank++;
    }
    m->nll += ck_metrics_row_loss(p, k, truth, m->eps);
    m->rank_hist[rank]++;
    m->count_probs++;
    return ck_metrics_add_label(m, truth, best);
}

long ck_metrics_count(const ck_metrics *m)
{
    return m->count;
}

double ck_metrics_log_loss(const ck_metrics *m)
{
    return m->count_probs ? m->nll / (double)m->count_probs : NAN;
}

double ck_metrics_accuracy(const ck_metrics *m)
{
    return m->count ? (double)m->correct / (double)m->count : NAN;
}

long ck_metrics_correct(const ck_metrics *m)
{
    return m->correct;
}

double ck_metrics_top_k(const ck_metrics *m, int k)
{
    if (!m->count_probs)
        return NAN;
    long hit = 0;
    for (int r = 0; r < k && r < m->nclass; r++)
        hit += m->rank_hist[r];
    return (double)hit / (double)m->count_probs;
}

const long *ck_metrics_confusion(const ck_metrics *m)
{
    return m->confusion;
}

ck_class_scores ck_metrics_class(const ck_metrics *m, int k)
{
    ck_class_scores s = {0};
    int n = m->nclass;
    long tp = m->confusion[(size_t)k * (size_t)n + (size_t)k];
    for (int j = 0; j < n; j++) {
        s.support += m->confusion[(size_t)k * (size_t)n + (size_t)j];
        s.predicted += m->confusion[(size_t)j * (size_t)n + (size_t)k];
    }
    s.precision = s.predicted ? (double)tp / (double)s.predicted : 0;
    s.recall = s.support ? (double)tp / (double)s.support : 0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    return s;
}

ck_class_scores ck_metrics_macro(const ck_metrics *m)
{
    ck_class_scores mean = {0};
    int used = 0;
    for (int k = 0; k < m->nclass; k++) {
        ck_class_scores s = ck_metrics_class(m, k);
        if (!s.support && !s.predicted)
            continue;
        used++;
        mean.precision += s.precision;
        mean.recall += s.recall;
        mean.f1 += s.f1;
        mean.support += s.support;
        mean.predicted += s.predicted;
    }
    if (used) {
        mean.precision /= used;
        mean.recall /= used;
        mean.f1 /= used;
    }
    return mean;
}
