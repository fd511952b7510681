/* tests/check.h — a tiny assertion helper shared by the C tests.
 * CHECK keeps going after a failure so one run shows every broken case;
 * check_report() prints a summary and returns the exit status. */
#ifndef CK_TEST_CHECK_H
#define CK_TEST_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                              \
    do {                                                                         \
        check_count++;                                                           \
        if (!(cond)) {                                                           \
            check_failures++;                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

/* |a-b| <= atol + rtol·|b| */
#define CHECK_CLOSE(a, b, rtol, atol)                                            \
    do {                                                                         \
        double ca_ = (double)(a), cb_ = (double)(b);                             \
        check_count++;                                                           \
        if (!(fabs(ca_ - cb_) <= (atol) + (rtol)*fabs(cb_))) {                   \
            check_failures++;                                                    \
            fprintf(stderr, "%s:%d: CHECK_CLOSE failed: %s=%.9g vs %s=%.9g\n",   \
                    __FILE__, __LINE__, #a, ca_, #b, cb_);                       \
        }                                                                        \
    } while (0)

static inline int check_report(const char *name)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
