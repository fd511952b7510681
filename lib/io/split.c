/* Stratified holdout and k-fold splits (rules in ck/split.h). */
#include "ck/split.h"

#include "ck/error.h"
#include "ck/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows grouped by class: members[start[c] .. start[c+1]) in row order. */
typedef struct {
    int ncls;
    int *start;
    int *members;
} groups;

static void groups_free(groups *g)
{
    free(g->start);
    free(g->members);
}

static int group_rows(const int *cls, int n, groups *g)
{
    memset(g, 0, sizeof *g);
    if (!cls || n <= 0) {
        ck_error("split", "nothing to split");
        return -1;
    }
    int ncls = 0;
    for (int i = 0; i < n; i++) {
        if (cls[i] < 0) {
            ck_error("split", "row %d has no class", i + 1);
            return -1;
        }
        if (cls[i] >= ncls)
            ncls = cls[i] + 1;
    }
    g->ncls = ncls;
    g->start = calloc((size_t)ncls + 1, sizeof *g->start);
    g->members = malloc((size_t)n * sizeof *g->members);
    int *fill = calloc((size_t)ncls, sizeof *fill);
    if (!g->start || !g->members || !fill) {
        free(fill);
        groups_free(g);
        ck_error("split", "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        g->start[cls[i] + 1]++;
    for (int c = 0; c < ncls; c++)
        g->start[c + 1] += g->start[c];
    for (int i = 0; i < n; i++)
        g->members[g->start[cls[i]] + fill[cls[i]]++] = i;
    free(fill);
    return 0;
}

/* Shuffle each class's members with its own stream so one class's order
 * does not depend on the others' sizes. */
static void shuffle_groups(groups *g, uint64_t seed, uint64_t stream)
{
    for (int c = 0; c < g->ncls; c++) {
        ck_rng r = ck_rng_make(seed, (uint64_t)c, stream);
        ck_rng_shuffle_int(&r, g->members + g->start[c], g->start[c + 1] - g->start[c]);
    }
}

typedef struct {
    double frac;
    int cls;
} share_rem;

static int by_remainder(const void *a, const void *b)
{
    const share_rem *x = a, *y = b;
    if (x->frac != y->frac)
        return x->frac > y->frac ? -1 : 1;
    return x->cls - y->cls;
}

int ck_split_holdout(const int *cls, int n, double val_frac, uint64_t seed, unsigned char *is_val)
{
    if (!(val_frac > 0.0 && val_frac < 1.0)) {
        ck_error("split", "validation fraction must be between 0 and 1 (exclusive), not %g", val_frac);
        return -1;
    }
    groups g;
    if (group_rows(cls, n, &g) < 0)
        return -1;
    int *take = calloc((size_t)g.ncls, sizeof *take);
    share_rem *rem = malloc((size_t)g.ncls * sizeof *rem);
    if (!take || !rem) {
        free(take);
        free(rem);
        groups_free(&g);
        ck_error("split", "out of memory");
        return -1;
    }
    /* Largest share_rem: the total is round(frac * n), each class within 1
     * of its exact share. */
    long total = lround(val_frac * n), given = 0;
    for (int c = 0; c < g.ncls; c++) {
        double exact = val_frac * (g.start[c + 1] - g.start[c]);
        take[c] = (int)floor(exact);
        given += take[c];
        rem[c] = (share_rem){exact - take[c], c};
    }
    qsort(rem, (size_t)g.ncls, sizeof *rem, by_remainder);
    for (int k = 0; k < g.ncls && given < total; k++, given++)
        take[rem[k].cls]++;
    for (int c = 0; c < g.ncls; c++) {
        int nc = g.start[c + 1] - g.start[c];
        if (take[c] > nc - 1)
            take[c] = nc > 0 ? nc - 1 : 0; /* keep a training row */
    }
    shuffle_groups(&g, seed, 0);
    memset(is_val, 0, (size_t)n);
    for (int c = 0; c < g.ncls; c++)
        for (int j = 0; j < take[c]; j++)
            is_val[g.members[g.start[c] + j]] = 1;
    free(take);
    free(rem);
    groups_free(&g);
    return 0;
}

int ck_split_kfold(const int *cls, int n, int k, uint64_t seed, int *fold_of)
{
    if (k < 2 || k > n) {
        ck_error("split", "the number of folds must be between 2 and the number of rows (%d), not %d", n, k);
        return -1;
    }
    groups g;
    if (group_rows(cls, n, &g) < 0)
        return -1;
    shuffle_groups(&g, seed, 1);
    /* Continuing the round-robin across classes balances the fold sizes. */
    long dealt = 0;
    for (int c = 0; c < g.ncls; c++)
        for (int j = g.start[c]; j < g.start[c + 1]; j++)
            fold_of[g.members[j]] = (int)(dealt++ % k);
    groups_free(&g);
    return 0;
}
