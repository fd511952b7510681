/* Stratified holdout and k-fold: exact per-class counts, coverage,
 * determinism by seed. */
#include "check.h"

#include "ck/error.h"
#include "ck/rng.h"
#include "ck/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NCLS = 13 };

/* Uneven classes, including sizes 1 and 2, interleaved rows. */
static int make_classes(int *cls)
{
    static const int size[NCLS] = {1, 2, 3, 5, 7, 10, 11, 20, 33, 50, 64, 99, 150};
    int n = 0;
    for (int c = 0; c < NCLS; c++)
        for (int j = 0; j < size[c]; j++)
            cls[n++] = c;
    ck_rng r = ck_rng_make(99, 0, 0);
    ck_rng_shuffle_int(&r, cls, n);
    return n;
}

static void test_holdout(void)
{
    int cls[1000];
    int n = make_classes(cls);
    const double fracs[] = {0.1, 0.2, 0.25, 0.3, 0.5, 0.9};
    for (size_t f = 0; f < sizeof fracs / sizeof *fracs; f++) {
        unsigned char a[1000], b[1000], other[1000];
        CHECK(ck_split_holdout(cls, n, fracs[f], 42, a) == 0);
        CHECK(ck_split_holdout(cls, n, fracs[f], 42, b) == 0);
        CHECK(ck_split_holdout(cls, n, fracs[f], 43, other) == 0);
        CHECK(memcmp(a, b, (size_t)n) == 0);
        CHECK(memcmp(a, other, (size_t)n) != 0);
        int val[NCLS] = {0}, size[NCLS] = {0}, total = 0;
        for (int i = 0; i < n; i++) {
            size[cls[i]]++;
            val[cls[i]] += a[i];
            total += a[i];
        }
        int capped = 0;
        for (int c = 0; c < NCLS; c++) {
            double exact = fracs[f] * size[c];
            CHECK(fabs(val[c] - exact) <= 1.0);
            if (size[c] >= 2)
                CHECK(val[c] <= size[c] - 1);
            else
                CHECK(val[c] == 0);
            capped += size[c] == 1 || ceil(exact) >= size[c];
        }
        /* The total is round(frac * n) unless a cap took rows back. */
        if (!capped)
            CHECK(total == lround(fracs[f] * n));
        CHECK(abs(total - (int)lround(fracs[f] * n)) <= NCLS);
    }
    unsigned char v[4];
    int two[4] = {0, 0, 1, 1};
    CHECK(ck_split_holdout(two, 4, 0.5, 1, v) == 0 && v[0] + v[1] == 1 && v[2] + v[3] == 1);
    CHECK(ck_split_holdout(two, 4, 0.0, 1, v) < 0);
    CHECK(ck_split_holdout(two, 4, 1.0, 1, v) < 0);
    int neg[2] = {0, -1};
    CHECK(ck_split_holdout(neg, 2, 0.5, 1, v) < 0);
    CHECK(strstr(ck_error_buffer(), "row 2 has no class") != NULL);
    ck_error_clear();
}

static void test_kfold(void)
{
    int cls[1000];
    int n = make_classes(cls);
    for (int k = 2; k <= 7; k++) {
        int a[1000], b[1000], other[1000];
        CHECK(ck_split_kfold(cls, n, k, 5, a) == 0);
        CHECK(ck_split_kfold(cls, n, k, 5, b) == 0);
        CHECK(ck_split_kfold(cls, n, k, 6, other) == 0);
        CHECK(memcmp(a, b, (size_t)n * sizeof *a) == 0);
        CHECK(memcmp(a, other, (size_t)n * sizeof *a) != 0);
        int per[NCLS][8] = {{0}}, size[NCLS] = {0}, fold[8] = {0};
        for (int i = 0; i < n; i++) {
            CHECK(a[i] >= 0 && a[i] < k); /* every row in exactly one fold */
            per[cls[i]][a[i]]++;
            size[cls[i]]++;
            fold[a[i]]++;
        }
        int lo = n, hi = 0;
        for (int f = 0; f < k; f++) {
            lo = fold[f] < lo ? fold[f] : lo;
            hi = fold[f] > hi ? fold[f] : hi;
        }
        CHECK(hi - lo <= 1);
        for (int c = 0; c < NCLS; c++)
            for (int f = 0; f < k; f++) {
                CHECK(per[c][f] == size[c] / k || per[c][f] == (size[c] + k - 1) / k);
                if (size[c] >= 2)
                    CHECK(size[c] - per[c][f] >= 1); /* a training row in every fold */
            }
    }
    int two[3] = {0, 0, 1}, out[3];
    CHECK(ck_split_kfold(two, 3, 1, 1, out) < 0);
    CHECK(ck_split_kfold(two, 3, 4, 1, out) < 0);
    ck_error_clear();
}

int main(void)
{
    test_holdout();
    test_kfold();
    return check_report("test-split");
}
