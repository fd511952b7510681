/* Learning-rate schedules (ck/optim.h). */
#include "ck/optim.h"

#include "ck/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define D "lr"

struct ck_lr_schedule {
    ck_lr_config cfg;
    ck_lr_state st;
};

static const char *const kind_names[] = {"constant", "step", "cosine", "plateau", "onecycle"};

int ck_lr_kind_parse(const char *s, ck_lr_kind *out)
{
    for (int k = 0; s && k < 5; k++)
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (ck_lr_kind)k;
            return 0;
        }
    ck_error(D, "unknown schedule '%s' (expected constant, step, cosine, plateau or onecycle)", s ? s : "");
    return -1;
}

void ck_lr_config_default(ck_lr_config *cfg, ck_lr_kind kind)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->lr = 1e-3f;
    cfg->step_epochs = 10;
    cfg->gamma = 0.1f;
    cfg->epochs = 30;
    cfg->warmup_epochs = 0.0f;
    cfg->min_lr = 0.0f;
    cfg->factor = 0.1f;
    cfg->patience = 3;
    cfg->threshold = 1e-4f;
    cfg->cooldown = 0;
    cfg->div_start = 25.0f;
    cfg->div_final = 1e4f;
    cfg->mom_max = 0.95f;
    cfg->mom_min = 0.85f;
}

ck_lr_schedule *ck_lr_new(const ck_lr_config *cfg)
{
    const ck_lr_config *c = cfg;
    if (!c || c->kind < CK_LR_CONSTANT || c->kind > CK_LR_ONECYCLE) {
        ck_error(D, "bad schedule");
        return NULL;
    }
    if (!(c->lr > 0.0f) || !(c->min_lr >= 0.0f) || !(c->warmup_epochs >= 0.0f)) {
        ck_error(D, "bad learning rate %g, min_lr %g or warm-up %g", c->lr, c->min_lr, c->warmup_epochs);
        return NULL;
    }
    if (c->kind == CK_LR_STEP && (c->step_epochs < 1 || !(c->gamma > 0.0f))) {
        ck_error(D, "step schedule needs step_epochs >= 1 and gamma > 0");
        return NULL;
    }
    if (c->kind == CK_LR_COSINE && (c->epochs < 1 || c->warmup_epochs >= (float)c->epochs)) {
        ck_error(D, "cosine schedule needs epochs >= 1 and a warm-up shorter than the run");
        return NULL;
    }
    if (c->kind == CK_LR_ONECYCLE &&
        (c->epochs < 1 || c->warmup_epochs >= (float)c->epochs || !(c->div_start >= 1.0f) ||
         !(c->div_final >= 1.0f) || !(c->mom_min >= 0.0f && c->mom_min <= c->mom_max && c->mom_max < 1.0f))) {
        ck_error(D, "one-cycle schedule needs epochs >= 1, a warm-up shorter than the run, divisors >= 1 "
                 "and 0 <= mom_min <= mom_max < 1");
        return NULL;
    }
    if (c->kind == CK_LR_PLATEAU && (!(c->factor > 0.0f && c->factor < 1.0f) || c->patience < 0 || c->cooldown < 0)) {
        ck_error(D, "plateau schedule needs 0 < factor < 1, patience >= 0, cooldown >= 0");
        return NULL;
    }
    ck_lr_schedule *s = calloc(1, sizeof *s);
    if (!s) {
        ck_error(D, "out of memory");
        return NULL;
    }
    s->cfg = *c;
    s->st.lr = c->lr;
    s->st.best = INFINITY;
    return s;
}

void ck_lr_free(ck_lr_schedule *s) { free(s); }

/* From a at p = 0 to b at p = 1 along half a cosine (fastai's SchedCos). */
static double cos_between(double a, double b, double p)
{
    if (p > 1)
        p = 1;
    return b + (a - b) * 0.5 * (1.0 + cos(M_PI * p));
}

/* One-cycle: the warm-up length and the position in the current phase. */
static int onecycle_phase(const ck_lr_config *c, double epoch, double *p)
{
    double w = c->warmup_epochs > 0 ? c->warmup_epochs : 0.25 * c->epochs;
    if (epoch < w) {
        *p = epoch / w;
        return 0;
    }
    *p = (epoch - w) / ((double)c->epochs - w);
    return 1;
}

float ck_lr_get(const ck_lr_schedule *s, double epoch)
{
    const ck_lr_config *c = &s->cfg;
    if (epoch < 0)
        epoch = 0;
    if (c->kind == CK_LR_PLATEAU)
        return (float)s->st.lr;
    if (c->kind == CK_LR_ONECYCLE) {
        double p;
        if (onecycle_phase(c, epoch, &p) == 0)
            return (float)cos_between(c->lr / c->div_start, c->lr, p);
        return (float)cos_between(c->lr, c->lr / c->div_final, p);
    }
    /* Linear warm-up towards lr; the floor keeps the very first steps from
     * being wasted with a rate of exactly 0. */
    double w = c->warmup_epochs;
    if (w > 0 && epoch < w)
        return (float)(c->lr * fmax(epoch / w, 1e-3));
    switch (c->kind) {
    case CK_LR_STEP:
        return (float)(c->lr * pow(c->gamma, floor(epoch / c->step_epochs)));
    case CK_LR_COSINE: {
        double t = (epoch - w) / ((double)c->epochs - w);
        if (t > 1)
            t = 1;
        return (float)(c->min_lr + (c->lr - c->min_lr) * 0.5 * (1.0 + cos(M_PI * t)));
    }
    default:
        return c->lr;
    }
}

int ck_lr_momentum(const ck_lr_schedule *s, double epoch, float *mom)
{
    const ck_lr_config *c = &s->cfg;
    if (c->kind != CK_LR_ONECYCLE)
        return 0;
    double p;
    if (epoch < 0)
        epoch = 0;
    if (onecycle_phase(c, epoch, &p) == 0)
        *mom = (float)cos_between(c->mom_max, c->mom_min, p);
    else
        *mom = (float)cos_between(c->mom_min, c->mom_max, p);
    return 1;
}

int ck_lr_observe(ck_lr_schedule *s, double metric)
{
    const ck_lr_config *c = &s->cfg;
    if (c->kind != CK_LR_PLATEAU)
        return 0;
    ck_lr_state *st = &s->st;
    /* Keras ReduceLROnPlateau (mode min), with min_delta replaced by a
     * relative threshold; a NaN metric is never an improvement. */
    if (st->cooldown_left > 0) {
        st->cooldown_left--;
        st->bad_epochs = 0;
    }
    if (metric < st->best * (1.0 - c->threshold) || (isinf(st->best) && st->best > 0 && metric < INFINITY)) {
        st->best = metric;
        st->bad_epochs = 0;
        return 0;
    }
    if (st->cooldown_left > 0)
        return 0;
    if (++st->bad_epochs < c->patience)
        return 0;
    st->bad_epochs = 0;
    if (st->lr <= c->min_lr)
        return 0;
    st->lr = fmax(st->lr * c->factor, c->min_lr);
    st->cooldown_left = c->cooldown;
    return 1;
}

void ck_lr_get_state(const ck_lr_schedule *s, ck_lr_state *st) { *st = s->st; }
void ck_lr_set_state(ck_lr_schedule *s, const ck_lr_state *st) { s->st = *st; }
