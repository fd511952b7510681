/* The learning-rate range test (Smith 2015, as fastai's lr_find): lr
 * rising exponentially step by step, the loss smoothed, the steepest
 * descent suggested. The steps are the training loop's (trainer.c). */
#include "trainer_internal.h"
#include "ck/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LR_FIRST 1e-7
#define LR_LAST 10.0
#define BETA 0.98
#define EXPLODE 4.0

void ck_lr_find_result_clear(ck_lr_find_result *r)
{
    if (!r)
        return;
    free(r->lr);
    free(r->loss);
    free(r->smooth);
    memset(r, 0, sizeof *r);
}

int ck_lr_find_suggest(const double *lr, const double *smooth, int n, double *suggested)
{
    /* As fastai: the first tenth (the bias-corrected average of a few
     * noisy losses) and the last 5 points (the explosion) are left out. */
    int best = -1, first = n / 10, last = n - 5;
    double g_best = 0;
    for (int i = first; i + 1 < last; i++) {
        double dx = log(lr[i + 1]) - log(lr[i]);
        if (!(dx > 0) || !isfinite(smooth[i]) || !isfinite(smooth[i + 1]))
            continue;
        double g = (smooth[i + 1] - smooth[i]) / dx;
        if (g < g_best) {
            g_best = g;
            best = i;
        }
    }
    if (best < 0) {
        ck_error("lr-find", "the smoothed loss never fell over the %d steps (the first tenth and the last 5 "
                 "left out): no suggestion; try more --find-lr-steps or check the data and options", n);
        return -1;
    }
    *suggested = sqrt(lr[best] * lr[best + 1]);
    return 0;
}

int lrfind_start(trainer *t, ck_lr_find_result *r)
{
    memset(r, 0, sizeof *r);
    int n = t->o->find_lr_steps;
    r->lr = malloc(sizeof *r->lr * (size_t)n);
    r->loss = malloc(sizeof *r->loss * (size_t)n);
    r->smooth = malloc(sizeof *r->smooth * (size_t)n);
    r->suggested = NAN;
    if (!r->lr || !r->loss || !r->smooth) {
        ck_lr_find_result_clear(r);
        ck_error("lr-find", "out of memory");
        return -1;
    }
    t->find = r;
    t->find_steps = n;
    t->find_avg = 0;
    t->find_min = INFINITY;
    return 0;
}

double lrfind_lr(const trainer *t)
{
    return LR_FIRST * pow(LR_LAST / LR_FIRST, (double)t->find->n / (t->find_steps - 1));
}

int lrfind_record(trainer *t, double lr, double loss)
{
    ck_lr_find_result *r = t->find;
    int k = r->n;
    t->find_avg = BETA * t->find_avg + (1 - BETA) * loss;
    double s = t->find_avg / (1 - pow(BETA, k + 1));
    r->lr[k] = lr;
    r->loss[k] = loss;
    r->smooth[k] = s;
    r->n = k + 1;
    if (s < t->find_min)
        t->find_min = s;
    return r->n >= t->find_steps || !isfinite(s) || s > EXPLODE * t->find_min;
}

static int draw_lr(const char *svg, const void *data)
{
    return ck_curves_write_lr_svg(svg, data, "ck-finetune learning-rate range test");
}

int lrfind_finish(trainer *t)
{
    ck_lr_find_result *r = t->find;
    if (ck_lr_find_suggest(r->lr, r->smooth, r->n, &r->suggested) != 0)
        return -1;
    if (t->msg)
        fprintf(t->msg, "Learning-rate range test: %d steps, lr %.3g to %.3g%s; smoothed loss lowest %.4f\n", r->n,
                r->lr[0], r->lr[r->n - 1], r->n < t->find_steps ? " (stopped: the loss exploded)" : "",
                t->find_min);
    if (!t->o->plot || !*t->o->plot)
        return 0;
    return trainer_plot(t->o->plot, draw_lr, r);
}
