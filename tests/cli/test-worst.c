/* ck/worst.h: the ranking of wrong rows, whatever their arrival order. */
#include "check.h"

#include "ck/error.h"
#include "ck/metrics.h"
#include "ck/worst.h"

#include <math.h>
#include <stddef.h>

int main(void)
{
    /* 2 classes, truth 0 everywhere; p[0] sets the loss -log p[0]. Rows 1
     * and 4 are right (p[0] >= .5, and a tie goes to class 0); the wrong
     * ones, by loss: 5 (.05), 3 (.1), 6 (.1, tie: after 3), 0 (.3), 2 (.4). */
    const double p0[7] = {.3, .9, .4, .1, .5, .05, .1};
    ck_worst *w = ck_worst_new(3, 2, 1e-15);
    CHECK(w != NULL);
    CHECK(ck_worst_count(w) == 0 && ck_worst_get(w, 0) == NULL);
    for (int i = 0; i < 7; i++) {
        double p[2] = {p0[i], 1 - p0[i]};
        CHECK(ck_worst_add(w, i, 0, p) == 0);
    }
    const int want[3] = {5, 3, 6};
    CHECK(ck_worst_count(w) == 3);
    for (int k = 0; k < 3; k++) {
        const ck_worst_row *r = ck_worst_get(w, k);
        CHECK(r->index == want[k] && r->truth == 0 && r->predicted == 1);
        CHECK_CLOSE(r->prob, 1 - p0[want[k]], 0, 1e-15);
        CHECK_CLOSE(r->loss, -log(p0[want[k]]), 1e-12, 0);
    }
    CHECK(ck_worst_get(w, 3) == NULL);
    /* The same rows backwards: the same ranking (the worst arrive when the
     * list is full and push the others down). */
    ck_worst *b = ck_worst_new(3, 2, 1e-15);
    CHECK(b != NULL);
    for (int i = 6; i >= 0; i--) {
        double p[2] = {p0[i], 1 - p0[i]};
        CHECK(ck_worst_add(b, i, 0, p) == 0);
    }
    for (int k = 0; k < 3; k++)
        CHECK(ck_worst_get(b, k)->index == want[k]);
    /* A truth out of range is an error; so are empty sizes. */
    double p[2] = {.5, .5};
    CHECK(ck_worst_add(w, 9, 2, p) == -1 && ck_worst_count(w) == 3);
    CHECK(ck_worst_new(0, 2, 1e-15) == NULL && ck_worst_new(1, 0, 1e-15) == NULL);
    /* The loss is the metrics' own, clipping included. */
    double q[3] = {0, .6, .4};
    CHECK_CLOSE(ck_metrics_row_loss(q, 3, 0, 1e-15), -log(1e-15 / (1 + 1e-15)), 1e-12, 0);
    ck_worst_free(w);
    ck_worst_free(b);
    ck_worst_free(NULL);
    ck_error_clear();
    return check_report("test-worst");
}
