/* The most confidently wrong rows (see ck/worst.h). */
#include "ck/worst.h"

#include "ck/error.h"
#include "ck/metrics.h"

#include <stdlib.h>

struct ck_worst {
    int cap, count, nclass;
    double eps;
    ck_worst_row *rows; /* sorted, worst first */
};

ck_worst *ck_worst_new(int n, int nclass, double eps)
{
    if (n < 1 || nclass < 1) {
        ck_error("worst", "invalid size (%d rows, %d classes)", n, nclass);
        return NULL;
    }
    ck_worst *w = calloc(1, sizeof *w);
    if (w)
        w->rows = calloc((size_t)n, sizeof *w->rows);
    if (!w || !w->rows) {
        ck_worst_free(w);
        ck_error("worst", "out of memory");
        return NULL;
    }
    w->cap = n;
    w->nclass = nclass;
    w->eps = eps;
    return w;
}

void ck_worst_free(ck_worst *w)
{
    if (!w)
        return;
    free(w->rows);
    free(w);
}

static int ranks_before(const ck_worst_row *a, const ck_worst_row *b)
{
    return a->loss > b->loss || (a->loss == b->loss && a->index < b->index);
}

int ck_worst_add(ck_worst *w, int index, int truth, const double *p)
{
    if (truth < 0 || truth >= w->nclass) {
        ck_error("worst", "label %d out of range (%d classes)", truth, w->nclass);
        return -1;
    }
    int best = 0;
    for (int i = 1; i < w->nclass; i++)
        if (p[i] > p[best])
            best = i;
    if (best == truth)
        return 0;
    ck_worst_row r = {index, truth, best, p[best], ck_metrics_row_loss(p, w->nclass, truth, w->eps)};
    int at = w->count < w->cap ? w->count++ : w->cap;
    /* Insertion into the sorted list; the last row falls off when full. */
    while (at > 0 && ranks_before(&r, &w->rows[at - 1])) {
        if (at < w->cap)
            w->rows[at] = w->rows[at - 1];
        at--;
    }
    if (at < w->cap)
        w->rows[at] = r;
    return 0;
}

int ck_worst_count(const ck_worst *w)
{
    return w->count;
}

const ck_worst_row *ck_worst_get(const ck_worst *w, int k)
{
    return k >= 0 && k < w->count ? &w->rows[k] : NULL;
}
