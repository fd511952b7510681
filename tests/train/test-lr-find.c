/* The learning-rate range test: the suggestion is the steepest descent of
 * a synthetic smoothed loss curve (its known point, the noisy start and
 * the explosion left out); ck_train_find_lr's record follows the
 * documented rates, smoothing and stop rule, suggests from it, writes
 * the log-axis plot and no checkpoint. */
#include "check.h"
#include "train_fixture.h"

#include <math.h>
#include <sys/stat.h>

/* 100 rates as the finder's, and a loss 2 - tanh(ln(lr/c)): steepest
 * against ln(lr) at lr = c, which is the geometric middle of steps 49 and
 * 50 for c = 1e-3 (log10 lr_k = -7 + 8k/99). */
static void synthetic(double *lr, double *loss, int n, double c)
{
    for (int k = 0; k < n; k++) {
        lr[k] = 1e-7 * pow(1e8, (double)k / (n - 1));
        loss[k] = 2 - tanh(log(lr[k] / c));
    }
}

static void test_suggest(void)
{
    double lr[100], loss[100], s = 0;
    synthetic(lr, loss, 100, 1e-3);
    CHECK(ck_lr_find_suggest(lr, loss, 100, &s) == 0);
    CHECK_CLOSE(s, 1e-3, 1e-9, 0);

    /* Off-centre: the steepest segment is the one holding c, 10^-1.5 lies
     * between steps 68 and 69 (log10 lr = -1.505... and -1.424...). */
    synthetic(lr, loss, 100, pow(10, -1.5));
    CHECK(ck_lr_find_suggest(lr, loss, 100, &s) == 0);
    CHECK_CLOSE(s, sqrt(lr[68] * lr[69]), 1e-12, 0);

    /* A steeper fall in the first tenth (the noisy start) and in the last
     * 5 points does not count. */
    synthetic(lr, loss, 100, 1e-3);
    loss[3] -= 5;
    loss[97] -= 50;
    CHECK(ck_lr_find_suggest(lr, loss, 100, &s) == 0);
    CHECK_CLOSE(s, 1e-3, 1e-9, 0);

    /* Never falling: an error, no suggestion. */
    for (int k = 0; k < 100; k++)
        loss[k] = 1 + k;
    s = -1;
    CHECK(ck_lr_find_suggest(lr, loss, 100, &s) == -1 && s == -1 && strstr(ck_error_buffer(), "never fell"));
    ck_error_clear();
    CHECK(ck_lr_find_suggest(lr, loss, 3, &s) == -1);
    ck_error_clear();
}

static void test_run(fixture *fx)
{
    char *plot = ck_path_join(fx->dir, "lr.svg"), *out = ck_path_join(fx->dir, "never.ckpt");
    ck_train_options o;
    fixture_options(fx, &o, NULL);
    ck_train_options_set(&o, "output", NULL);
    ck_train_options_set(&o, "find-lr", "1");
    ck_train_options_set(&o, "find-lr-steps", "40");
    ck_train_options_set(&o, "val", "0");
    ck_train_options_set(&o, "batchnorm", "1");
    ck_train_options_set(&o, "dropout", "0");
    ck_train_options_set(&o, "plot", plot);
    ck_train_io io = {0};
    ck_lr_find_result r;
    int rc = ck_train_find_lr(&o, &io, &r);
    if (rc != 0)
        fprintf(stderr, "%s", ck_error_buffer());
    CHECK(rc == 0 && r.n >= 2 && r.n <= 40);
    double lo = INFINITY;
    for (int k = 0; rc == 0 && k < r.n; k++) {
        CHECK_CLOSE(r.lr[k], 1e-7 * pow(1e8, k / 39.0), 1e-12, 0);
        /* fastai's smoothing with bias correction, by hand */
        double avg = 0;
        for (int j = 0; j <= k; j++)
            avg = 0.98 * avg + 0.02 * r.loss[j];
        CHECK_CLOSE(r.smooth[k], avg / (1 - pow(0.98, k + 1)), 1e-9, 0);
        /* it goes on while the smoothed loss stays within 4x its minimum */
        if (k + 1 < r.n)
            CHECK(isfinite(r.smooth[k]) && r.smooth[k] <= 4 * fmin(lo, r.smooth[k]));
        lo = fmin(lo, r.smooth[k]);
    }
    if (rc == 0 && r.n < 40)
        CHECK(!isfinite(r.smooth[r.n - 1]) || r.smooth[r.n - 1] > 4 * lo);
    double s = 0;
    CHECK(rc == 0 && ck_lr_find_suggest(r.lr, r.smooth, r.n, &s) == 0 && s == r.suggested);
    CHECK(r.suggested > 1e-7 && r.suggested < 10);
    char *svg = ck_read_file(plot, NULL);
    CHECK(svg && strstr(svg, "<svg") && strstr(svg, "learning rate (log scale)") && strstr(svg, ">1e-07<") &&
          strstr(svg, ">1e+01<") && strstr(svg, "suggested"));
    free(svg);
    struct stat st;
    CHECK(stat(out, &st) != 0);
    ck_lr_find_result_clear(&r);
    ck_lr_find_result_clear(&r);

    /* -o is not needed, but the options are still checked */
    ck_train_options_set(&o, "find-lr-steps", "5");
    CHECK(ck_train_find_lr(&o, &io, &r) == -1 && strstr(ck_error_buffer(), "--find-lr-steps") && r.n == 0);
    ck_error_clear();
    ck_train_options_clear(&o);
    free(plot);
    free(out);
}

int main(void)
{
    test_suggest();
    fixture fx;
    if (fixture_make(&fx, 3, 12, 1) != 0) {
        fprintf(stderr, "fixture: %s", ck_error_buffer());
        return 1;
    }
    test_run(&fx);
    fixture_free(&fx);
    return check_report("test-lr-find");
}
