/* Exponential moving average of a model's trained weights (ck/optim.h). */
#include "ck/optim.h"

#include "ck/error.h"
#include "ck/ops.h"

#include <stdlib.h>

#define D "ema"

struct ck_ema {
    ck_model *model;
    float decay;
    ck_tensor **avg; /* per model parameter; NULL for frozen ones */
};

static ck_tensor *like(ck_backend *be, const ck_tensor *t)
{
    int shape[CK_MAX_DIMS];
    for (int d = 0; d < ck_tensor_ndim(t); d++)
        shape[d] = ck_tensor_dim(t, d);
    return ck_tensor_new(be, CK_F32, ck_tensor_ndim(t), shape);
}

ck_ema *ck_ema_new(ck_model *m, float decay)
{
    if (!m || !(decay > 0.0f && decay < 1.0f)) {
        ck_error(D, "EMA decay %g is not in (0,1)", decay);
        return NULL;
    }
    ck_ema *e = calloc(1, sizeof *e);
    if (e)
        e->avg = calloc((size_t)ck_model_param_count(m) + 1, sizeof *e->avg);
    if (!e || !e->avg) {
        free(e);
        ck_error(D, "out of memory");
        return NULL;
    }
    e->model = m;
    e->decay = decay;
    for (int i = 0; i < ck_model_param_count(m); i++) {
        if (ck_model_param_kind(m, i) == CK_PARAM_FROZEN)
            continue;
        const ck_tensor *p = ck_model_param(m, i);
        if (!(e->avg[i] = like(ck_model_backend(m), p)) || ck_tensor_copy(e->avg[i], p) != 0) {
            ck_ema_free(e);
            return NULL;
        }
    }
    return e;
}

void ck_ema_free(ck_ema *e)
{
    if (!e)
        return;
    for (int i = 0; i < ck_model_param_count(e->model); i++)
        ck_tensor_free(e->avg[i]);
    free(e->avg);
    free(e);
}

float ck_ema_decay(const ck_ema *e) { return e->decay; }

int ck_ema_update(ck_ema *e)
{
    return ck_ema_accumulate(e, e->decay);
}

int ck_ema_accumulate(ck_ema *e, float decay)
{
    if (!(decay >= 0.0f && decay < 1.0f)) {
        ck_error(D, "average weight %g is not in [0,1)", decay);
        return -1;
    }
    ck_backend *be = ck_model_backend(e->model);
    for (int i = 0; i < ck_model_param_count(e->model); i++)
        if (e->avg[i] && (ck_scale(be, e->avg[i], decay) != 0 ||
                          ck_axpy(be, 1.0f - decay, ck_model_param(e->model, i), e->avg[i]) != 0))
            return -1;
    return 0;
}

int ck_ema_swap(ck_ema *e)
{
    for (int i = 0; i < ck_model_param_count(e->model); i++) {
        if (!e->avg[i])
            continue;
        ck_tensor *p = ck_model_param(e->model, i);
        ck_tensor *tmp = like(ck_model_backend(e->model), p);
        int rc = !tmp || ck_tensor_copy(tmp, p) != 0 || ck_tensor_copy(p, e->avg[i]) != 0 ||
                 ck_tensor_copy(e->avg[i], tmp) != 0;
        ck_tensor_free(tmp);
        if (rc)
            return -1;
    }
    return 0;
}

const ck_tensor *ck_ema_average(const ck_ema *e, int param)
{
    return param >= 0 && param < ck_model_param_count(e->model) ? e->avg[param] : NULL;
}

int ck_ema_set(ck_ema *e, int param, const float *data, size_t n)
{
    ck_tensor *t = param >= 0 && param < ck_model_param_count(e->model) ? e->avg[param] : NULL;
    if (!t || ck_tensor_numel(t) != n) {
        ck_error(D, "parameter %d is not averaged or does not have %zu values", param, n);
        return -1;
    }
    return ck_tensor_upload(t, data, n * sizeof(float));
}
