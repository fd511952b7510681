/* Optimizers over a model's trainable parameters (ck/optim.h). */
#include "ck/optim.h"

#include "ck/error.h"
#include "ck/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D "optim"

typedef struct slot {
    char name[80];
    int param;        /* model parameter index */
    ck_tensor *t;
} slot;

struct ck_optim {
    ck_model *model;
    ck_optim_config cfg;
    long steps;
    int nslots, per_param; /* state tensors per trainable parameter */
    slot *slots;
};

static const char *const kind_names[] = {"sgd", "adam", "adamw", "rmsprop"};

const char *ck_optim_kind_name(ck_optim_kind k)
{
    return k >= CK_OPT_SGD && k <= CK_OPT_RMSPROP ? kind_names[k] : "?";
}

int ck_optim_kind_parse(const char *s, ck_optim_kind *out)
{
    for (int k = 0; s && k < 4; k++)
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (ck_optim_kind)k;
            return 0;
        }
    ck_error(D, "unknown optimizer '%s' (expected sgd, adam, adamw or rmsprop)", s ? s : "");
    return -1;
}

void ck_optim_config_default(ck_optim_config *cfg, ck_optim_kind kind)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->momentum = kind == CK_OPT_SGD ? 0.9f : 0.0f;
    cfg->beta1 = 0.9f;
    cfg->beta2 = 0.999f;
    cfg->eps = 1e-8f;
    cfg->rho = 0.99f;
    cfg->weight_decay = kind == CK_OPT_ADAMW ? 0.01f : 0.0f;
    cfg->decay_all = 1;
}

static int slots_for(ck_optim_kind k, float momentum, const char **names)
{
    switch (k) {
    case CK_OPT_SGD:
        names[0] = "velocity";
        return momentum != 0.0f;
    case CK_OPT_ADAM:
    case CK_OPT_ADAMW:
        names[0] = "m";
        names[1] = "v";
        return 2;
    case CK_OPT_RMSPROP:
        names[0] = "sq";
        return 1;
    }
    return 0;
}

static int check_config(const ck_optim_config *c)
{
    if (c->kind < CK_OPT_SGD || c->kind > CK_OPT_RMSPROP) {
        ck_error(D, "bad optimizer kind %d", (int)c->kind);
        return -1;
    }
    if (!(c->weight_decay >= 0.0f) || !(c->momentum >= 0.0f && c->momentum < 1.0f)) {
        ck_error(D, "bad weight decay %g or momentum %g", c->weight_decay, c->momentum);
        return -1;
    }
    if (c->nesterov && c->kind == CK_OPT_SGD && c->momentum == 0.0f) {
        ck_error(D, "Nesterov momentum needs a momentum > 0");
        return -1;
    }
    if ((c->kind == CK_OPT_ADAM || c->kind == CK_OPT_ADAMW)
        && !(c->beta1 >= 0.0f && c->beta1 < 1.0f && c->beta2 >= 0.0f && c->beta2 < 1.0f)) {
        ck_error(D, "Adam betas (%g, %g) must be in [0,1)", c->beta1, c->beta2);
        return -1;
    }
    if (c->kind == CK_OPT_RMSPROP && !(c->rho >= 0.0f && c->rho < 1.0f)) {
        ck_error(D, "RMSprop rho %g must be in [0,1)", c->rho);
        return -1;
    }
    if (c->kind != CK_OPT_SGD && !(c->eps > 0.0f)) {
        ck_error(D, "eps %g must be > 0", c->eps);
        return -1;
    }
    return 0;
}

ck_optim *ck_optim_new(ck_model *m, const ck_optim_config *cfg)
{
    if (!m || !cfg) {
        ck_error(D, "no model or configuration");
        return NULL;
    }
    if (check_config(cfg))
        return NULL;
    ck_optim *o = calloc(1, sizeof *o);
    if (!o) {
        ck_error(D, "out of memory");
        return NULL;
    }
    o->model = m;
    o->cfg = *cfg;
    const char *names[2];
    o->per_param = slots_for(cfg->kind, cfg->momentum, names);
    int trainable = 0;
    for (int i = 0; i < ck_model_param_count(m); i++)
        trainable += ck_model_param_trainable(m, i);
    o->slots = calloc((size_t)(trainable * o->per_param) + 1, sizeof *o->slots);
    if (!o->slots) {
        free(o);
        ck_error(D, "out of memory");
        return NULL;
    }
    for (int i = 0; i < ck_model_param_count(m); i++) {
        if (!ck_model_param_trainable(m, i))
            continue;
        const ck_tensor *p = ck_model_param(m, i);
        for (int k = 0; k < o->per_param; k++) {
            slot *s = &o->slots[o->nslots++];
            snprintf(s->name, sizeof s->name, "%s/%s", ck_model_param_name(m, i), names[k]);
            s->param = i;
            int shape[CK_MAX_DIMS];
            for (int d = 0; d < ck_tensor_ndim(p); d++)
                shape[d] = ck_tensor_dim(p, d);
            s->t = ck_tensor_new(ck_model_backend(m), CK_F32, ck_tensor_ndim(p), shape);
            if (!s->t || ck_tensor_fill(s->t, 0.0f)) {
                ck_optim_free(o);
                return NULL;
            }
        }
    }
    return o;
}

void ck_optim_free(ck_optim *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->nslots; i++)
        ck_tensor_free(o->slots[i].t);
    free(o->slots);
    free(o);
}

const ck_optim_config *ck_optim_get_config(const ck_optim *o) { return &o->cfg; }

/* Keras convention, optional: no decay on biases and BN parameters. */
static float decay_for(const ck_optim *o, int param)
{
    if (o->cfg.decay_all)
        return o->cfg.weight_decay;
    const char *name = ck_model_param_name(o->model, param);
    const char *slash = strrchr(name, '/');
    return slash && strcmp(slash, "/kernel") == 0 ? o->cfg.weight_decay : 0.0f;
}

int ck_optim_step(ck_optim *o, float lr)
{
    ck_model *m = o->model;
    ck_backend *be = ck_model_backend(m);
    const ck_optim_config *c = &o->cfg;
    long t = o->steps + 1;
    int si = 0;
    for (int i = 0; i < ck_model_param_count(m); i++) {
        if (!ck_model_param_trainable(m, i))
            continue;
        ck_tensor *p = ck_model_param(m, i);
        const ck_tensor *g = ck_model_param_grad(m, i);
        ck_tensor *s0 = o->per_param > 0 ? o->slots[si].t : NULL;
        ck_tensor *s1 = o->per_param > 1 ? o->slots[si + 1].t : NULL;
        si += o->per_param;
        float wd = decay_for(o, i);
        int rc = 0;
        switch (c->kind) {
        case CK_OPT_SGD:
            rc = ck_sgd_update(be, p, g, s0, lr, c->momentum, c->nesterov, wd);
            break;
        case CK_OPT_ADAM:
        case CK_OPT_ADAMW:
            rc = ck_adam_update(be, p, g, s0, s1, lr, c->beta1, c->beta2, c->eps, wd, c->kind == CK_OPT_ADAMW, t);
            break;
        case CK_OPT_RMSPROP:
            rc = ck_rmsprop_update(be, p, g, s0, lr, c->rho, c->eps, wd);
            break;
        }
        if (rc)
            return -1;
    }
    o->steps = t;
    return 0;
}

int ck_optim_set_momentum(ck_optim *o, float momentum)
{
    if (!(momentum >= 0.0f && momentum < 1.0f)) {
        ck_error(D, "momentum %g is not in [0,1)", momentum);
        return -1;
    }
    switch (o->cfg.kind) {
    case CK_OPT_SGD:
        if (o->per_param == 0) {
            ck_error(D, "SGD without momentum has no velocity to cycle (create it with a momentum > 0)");
            return -1;
        }
        o->cfg.momentum = momentum;
        break;
    case CK_OPT_ADAM:
    case CK_OPT_ADAMW:
        o->cfg.beta1 = momentum;
        break;
    case CK_OPT_RMSPROP:
        break;
    }
    return 0;
}

long ck_optim_steps(const ck_optim *o) { return o->steps; }
void ck_optim_set_steps(ck_optim *o, long steps) { o->steps = steps; }
int ck_optim_state_count(const ck_optim *o) { return o->nslots; }

const char *ck_optim_state_name(const ck_optim *o, int i)
{
    return i >= 0 && i < o->nslots ? o->slots[i].name : NULL;
}

ck_tensor *ck_optim_state(ck_optim *o, int i)
{
    return i >= 0 && i < o->nslots ? o->slots[i].t : NULL;
}

static ck_tensor *state_named(const ck_optim *o, const char *name, size_t n)
{
    for (int i = 0; name && i < o->nslots; i++)
        if (strcmp(o->slots[i].name, name) == 0) {
            if (ck_tensor_numel(o->slots[i].t) != n) {
                ck_error(D, "%s has %zu values, not %zu", name, ck_tensor_numel(o->slots[i].t), n);
                return NULL;
            }
            return o->slots[i].t;
        }
    ck_error(D, "no optimizer state named '%s'", name ? name : "");
    return NULL;
}

int ck_optim_state_set(ck_optim *o, const char *name, const float *data, size_t n)
{
    ck_tensor *t = state_named(o, name, n);
    return t ? ck_tensor_upload(t, data, n * sizeof(float)) : -1;
}

int ck_optim_state_get(const ck_optim *o, const char *name, float *data, size_t n)
{
    const ck_tensor *t = state_named(o, name, n);
    return t ? ck_tensor_download(t, data, n * sizeof(float)) : -1;
}
