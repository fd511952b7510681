/* VGG16 + head: construction, parameters, initialisation, base weights.
 * Running the model is in model_run.c, the summary in model_summary.c. */
#include "model_internal.h"

#include "ck/error.h"
#include "ck/rng.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D "model"

static const int block_convs[5] = {2, 2, 3, 3, 3};
static const int block_channels[5] = {64, 128, 256, 512, 512};

void ck_net_config_default(ck_net_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->input_size = 32;
    cfg->num_classes = 20;
    cfg->pool = CK_POOL_FLATTEN;
    cfg->num_hidden = 1;
    cfg->hidden[0] = 256;
    cfg->dropout = 0.5f;
    cfg->batchnorm = 0;
    cfg->bn_momentum = 0.01f;
    cfg->bn_eps = 1e-3f;
    cfg->train_blocks = 0;
    cfg->frozen_algo = CK_CONV_AUTO;
    cfg->seed = 0;
}

int ck_head_pool_parse(const char *s, ck_head_pool *out)
{
    if (s && strcmp(s, "flatten") == 0) {
        *out = CK_POOL_FLATTEN;
        return 0;
    }
    if (s && (strcmp(s, "avg") == 0 || strcmp(s, "gap") == 0)) {
        *out = CK_POOL_AVG;
        return 0;
    }
    ck_error(D, "unknown pooling '%s' (expected flatten or avg)", s ? s : "");
    return -1;
}

const char *ck_head_pool_name(ck_head_pool p)
{
    return p == CK_POOL_AVG ? "avg" : "flatten";
}

static int check_config(const ck_net_config *c, int max_batch)
{
    if (c->input_size < 32 || c->input_size > 2048 || c->input_size % 32) {
        ck_error(D, "input size %d must be a multiple of 32 between 32 and 2048", c->input_size);
        return -1;
    }
    if (c->num_classes < 2 || c->num_classes > 100000) {
        ck_error(D, "number of classes %d must be at least 2", c->num_classes);
        return -1;
    }
    if (c->pool != CK_POOL_FLATTEN && c->pool != CK_POOL_AVG) {
        ck_error(D, "bad pooling %d", (int)c->pool);
        return -1;
    }
    if (c->num_hidden < 0 || c->num_hidden > CK_MAX_HIDDEN) {
        ck_error(D, "%d hidden layers (0..%d allowed)", c->num_hidden, CK_MAX_HIDDEN);
        return -1;
    }
    for (int i = 0; i < c->num_hidden; i++)
        if (c->hidden[i] < 1 || c->hidden[i] > 1 << 20) {
            ck_error(D, "hidden layer %d has width %d", i + 1, c->hidden[i]);
            return -1;
        }
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f)) {
        ck_error(D, "dropout rate %g outside [0,1)", c->dropout);
        return -1;
    }
    if (c->batchnorm && (!(c->bn_eps > 0.0f) || !(c->bn_momentum >= 0.0f && c->bn_momentum <= 1.0f))) {
        ck_error(D, "bad batch-norm momentum %g or eps %g", c->bn_momentum, c->bn_eps);
        return -1;
    }
    if (c->train_blocks < 0 || c->train_blocks > 5) {
        ck_error(D, "trainable conv blocks %d (0..5 allowed)", c->train_blocks);
        return -1;
    }
    if (c->frozen_algo < CK_CONV_AUTO || c->frozen_algo > CK_CONV_BF16) {
        ck_error(D, "bad convolution algorithm %d", (int)c->frozen_algo);
        return -1;
    }
    if (max_batch < 1) {
        ck_error(D, "maximum batch %d must be at least 1", max_batch);
        return -1;
    }
    return 0;
}

size_t ck_model_layer_numel(const layer *l)
{
    return (size_t)l->h * l->w * l->c;
}

static layer *add_layer(ck_model *m, layer_type type, int spatial, int h, int w, int c, const char *fmt, ...)
    CK_PRINTF(7, 8);

static layer *add_layer(ck_model *m, layer_type type, int spatial, int h, int w, int c, const char *fmt, ...)
{
    layer *l = &m->layers[m->nlayers++];
    memset(l, 0, sizeof *l);
    l->type = type;
    l->spatial = spatial;
    l->h = h;
    l->w = w;
    l->c = c;
    l->param0 = m->nparams;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->name, sizeof l->name, fmt, ap);
    va_end(ap);
    return l;
}

static int add_param(ck_model *m, layer *l, const char *suffix, ck_param_kind kind, int is_kernel, int ndim,
                     const int *shape)
{
    param *p = &m->params[m->nparams++];
    snprintf(p->name, sizeof p->name, "%s/%s", l->name, suffix);
    p->kind = kind;
    p->is_kernel = is_kernel;
    p->pending_init = 1;
    p->t = ck_tensor_new(m->be, CK_F32, ndim, shape);
    if (!p->t)
        return -1;
    if (kind == CK_PARAM_TRAINABLE) {
        p->g = ck_tensor_new(m->be, CK_F32, ndim, shape);
        if (!p->g || ck_tensor_fill(p->g, 0.0f))
            return -1;
    }
    l->nparams++;
    return 0;
}

/* The layer list and parameter table (no activation buffers yet). */
static int build_layers(ck_model *m)
{
    const ck_net_config *c = &m->cfg;
    int s = c->input_size, ch = 3;
    const int first_trainable_block = 6 - c->train_blocks; /* 1-based */
    for (int b = 0; b < 5; b++) {
        int frozen = b + 1 < first_trainable_block;
        ck_param_kind kind = frozen ? CK_PARAM_FROZEN : CK_PARAM_TRAINABLE;
        for (int k = 0; k < block_convs[b]; k++) {
            int co = block_channels[b];
            layer *l = add_layer(m, L_CONV, 1, s, s, co, "block%d_conv%d", b + 1, k + 1);
            l->relu = 1;
            l->frozen = frozen;
            int ks[4] = {3, 3, ch, co};
            if (add_param(m, l, "kernel", kind, 1, 4, ks) || add_param(m, l, "bias", kind, 0, 1, &co))
                return -1;
            ch = co;
        }
        s /= 2;
        layer *l = add_layer(m, L_MAXPOOL, 1, s, s, ch, "block%d_pool", b + 1);
        l->frozen = frozen;
    }
    int features = s * s * ch;
    if (c->pool == CK_POOL_AVG) {
        layer *l = add_layer(m, L_GAP, 0, 1, 1, ch, "global_average_pooling2d");
        l->frozen = c->train_blocks == 0;
        features = ch;
    } else {
        add_layer(m, L_FLATTEN, 0, 1, 1, features, "flatten");
    }
    int dropouts = 0;
    if (c->num_hidden == 0 && c->dropout > 0.0f) {
        layer *l = add_layer(m, L_DROPOUT, 0, 1, 1, features, "dropout");
        l->dropout_id = ++dropouts;
    }
    int in = features;
    for (int k = 0; k < c->num_hidden; k++) {
        int out = c->hidden[k];
        layer *l = add_layer(m, L_DENSE, 0, 1, 1, out, "dense_%d", k + 1);
        l->relu = !c->batchnorm;
        int ks[2] = {in, out};
        if (add_param(m, l, "kernel", CK_PARAM_TRAINABLE, 1, 2, ks)
            || add_param(m, l, "bias", CK_PARAM_TRAINABLE, 0, 1, &out))
            return -1;
        if (c->batchnorm) {
            l = add_layer(m, L_BN, 0, 1, 1, out, "batch_normalization_%d", k + 1);
            if (add_param(m, l, "gamma", CK_PARAM_TRAINABLE, 0, 1, &out)
                || add_param(m, l, "beta", CK_PARAM_TRAINABLE, 0, 1, &out)
                || add_param(m, l, "moving_mean", CK_PARAM_STATE, 0, 1, &out)
                || add_param(m, l, "moving_variance", CK_PARAM_STATE, 0, 1, &out))
                return -1;
            add_layer(m, L_RELU, 0, 1, 1, out, "activation_%d", k + 1);
        }
        if (c->dropout > 0.0f) {
            l = add_layer(m, L_DROPOUT, 0, 1, 1, out, "dropout_%d", k + 1);
            l->dropout_id = ++dropouts;
        }
        in = out;
    }
    layer *l = add_layer(m, L_DENSE, 0, 1, 1, c->num_classes, "predictions");
    int ks[2] = {in, c->num_classes};
    if (add_param(m, l, "kernel", CK_PARAM_TRAINABLE, 1, 2, ks)
        || add_param(m, l, "bias", CK_PARAM_TRAINABLE, 0, 1, &c->num_classes))
        return -1;

    m->feat_layer = -1;
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].frozen)
            m->feat_layer = i;
    m->first_param_layer = m->nlayers - 1;
    for (int i = m->feat_layer + 1; i < m->nlayers; i++)
        if (m->layers[i].nparams) {
            m->first_param_layer = i;
            break;
        }
    return 0;
}

static ck_tensor *new_batch_tensor(ck_model *m, ck_dtype dt, const layer *l)
{
    if (l->spatial)
        return ck_tensor_new_4d(m->be, dt, m->max_batch, l->h, l->w, l->c);
    return ck_tensor_new_2d(m->be, dt, m->max_batch, l->c);
}

/* Which frozen layers hand bf16 activations to the next one: on a backend
 * that keeps them (bf16_act) with frozen_algo bf16 or auto, every conv and
 * max-pool whose consumer takes bf16 too — a conv takes any mix, a
 * max-pool only its own dtype. The features (last frozen output) stay f32,
 * so everything after them is unchanged. */
static void plan_bf16_activations(ck_model *m)
{
    int on = m->be->bf16_act && (m->cfg.frozen_algo == CK_CONV_BF16 || m->cfg.frozen_algo == CK_CONV_AUTO);
    for (int i = m->feat_layer; i >= 0; i--) {
        layer *l = &m->layers[i];
        const layer *next = i < m->feat_layer ? &m->layers[i + 1] : NULL;
        l->act_bf16 = on && next && (l->type == L_CONV || l->type == L_MAXPOOL)
                      && (next->type == L_CONV || (next->type == L_MAXPOOL && next->act_bf16));
    }
}

/* Activation and gradient buffers, allocated once for max_batch. */
static int alloc_buffers(ck_model *m)
{
    plan_bf16_activations(m);
    const int nb = m->max_batch, s = m->cfg.input_size;
    m->input = ck_tensor_new_4d(m->be, CK_F32, nb, s, s, 3);
    if (!m->input)
        return -1;
    size_t ping = 0, grad = (size_t)m->cfg.num_classes;
    for (int i = 0; i < m->nlayers; i++) {
        layer *l = &m->layers[i];
        size_t n = ck_model_layer_numel(l);
        if (l->frozen) {
            ping = n > ping ? n : ping;
            continue;
        }
        grad = n > grad ? n : grad;
        if (l->type != L_FLATTEN && !(l->y = new_batch_tensor(m, CK_F32, l)))
            return -1;
        if (l->type == L_DROPOUT && !(l->mask = new_batch_tensor(m, CK_U8, l)))
            return -1;
        if (l->type == L_BN && (!(l->save_mean = ck_tensor_new_1d(m->be, CK_F32, l->c))
                                || !(l->save_invstd = ck_tensor_new_1d(m->be, CK_F32, l->c))))
            return -1;
    }
    size_t feat = ck_model_feature_numel(m);
    grad = feat > grad ? feat : grad;
    for (int k = 0; k < 2; k++) {
        if (ping && !(m->ping[k] = ck_tensor_new_1d(m->be, CK_F32, (int)(ping * nb))))
            return -1;
        if (!(m->grad[k] = ck_tensor_new_1d(m->be, CK_F32, (int)(grad * nb))))
            return -1;
    }
    if (!(m->featbuf = ck_tensor_new_1d(m->be, CK_F32, (int)(feat * nb)))
        || !(m->probs = ck_tensor_new_2d(m->be, CK_F32, nb, m->cfg.num_classes))
        || !(m->labels = ck_tensor_new_1d(m->be, CK_I32, nb)))
        return -1;
    return 0;
}

/* He-uniform convs (Keras he_uniform: U(±sqrt(6/fan_in)), the variance of
 * He-normal at a quarter of the cost: 4 values per Philox block, which
 * matters for 14.7 M weights every time a model is built), Glorot-uniform
 * dense kernels (Keras' default), zero biases, BN identity. Element i of
 * parameter p uses word i%4 of ck_philox_at(seed', p, i/4, 0): the same
 * values at any thread count. */
static int init_param(ck_model *m, int i)
{
    const uint64_t seed = m->cfg.seed ^ 0x6b61696d696e6974ull; /* distinct from dropout's */
    param *p = &m->params[i];
    size_t n = ck_tensor_numel(p->t);
    const char *slash = strrchr(p->name, '/');
    if (!p->is_kernel) {
        float v = strcmp(slash, "/gamma") == 0 || strcmp(slash, "/moving_variance") == 0 ? 1.0f : 0.0f;
        if (ck_tensor_fill(p->t, v))
            return -1;
        p->pending_init = 0;
        return 0;
    }
    float *host = malloc(n * sizeof(float));
    if (!host) {
        ck_error(D, "out of memory initialising %s", p->name);
        return -1;
    }
    int conv = ck_tensor_ndim(p->t) == 4;
    int fan_in = conv ? 9 * ck_tensor_dim(p->t, 2) : ck_tensor_dim(p->t, 0);
    int fan_out = conv ? 9 * ck_tensor_dim(p->t, 3) : ck_tensor_dim(p->t, 1);
    const float limit = (float)(conv ? sqrt(6.0 / fan_in) : sqrt(6.0 / (fan_in + fan_out)));
    const long groups = (long)((n + 3) / 4);
#pragma omp parallel for num_threads(m->be->threads) schedule(static)
    for (long g = 0; g < groups; g++) {
        uint32_t r[4];
        ck_philox_at(seed, (uint32_t)i, (uint32_t)g, 0, r);
        for (int k = 0; k < 4 && (size_t)(4 * g + k) < n; k++)
            host[4 * g + k] = limit * (2.0f * ck_u32_to_unit(r[k]) - 1.0f);
    }
    int rc = ck_tensor_upload(p->t, host, n * sizeof(float));
    free(host);
    if (rc)
        return -1;
    p->pending_init = 0;
    return 0;
}

int ck_model_init_pending(ck_model *m)
{
    for (int i = 0; i < m->nparams; i++)
        if (m->params[i].pending_init && init_param(m, i))
            return -1;
    return 0;
}

ck_model *ck_model_new(ck_backend *be, const ck_net_config *cfg, int max_batch)
{
    if (!be || !cfg) {
        ck_error(D, "no backend or configuration");
        return NULL;
    }
    if (check_config(cfg, max_batch))
        return NULL;
    ck_model *m = calloc(1, sizeof *m);
    if (!m) {
        ck_error(D, "out of memory");
        return NULL;
    }
    m->be = be;
    m->cfg = *cfg;
    m->max_batch = max_batch;
    /* Parameters are initialised lazily (ck_model_init_pending). */
    if (build_layers(m) || alloc_buffers(m)) {
        ck_model_free(m);
        return NULL;
    }
    return m;
}

void ck_model_free(ck_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nparams; i++) {
        ck_tensor_free(m->params[i].t);
        ck_tensor_free(m->params[i].g);
    }
    for (int i = 0; i < m->nlayers; i++) {
        ck_tensor_free(m->layers[i].y);
        ck_tensor_free(m->layers[i].mask);
        ck_tensor_free(m->layers[i].save_mean);
        ck_tensor_free(m->layers[i].save_invstd);
    }
    for (int k = 0; k < 2; k++) {
        ck_tensor_free(m->ping[k]);
        ck_tensor_free(m->grad[k]);
    }
    ck_tensor_free(m->input);
    ck_tensor_free(m->featbuf);
    ck_tensor_free(m->probs);
    ck_tensor_free(m->labels);
    ck_tensor_free(m->class_weights);
    free(m);
}

const ck_net_config *ck_model_config(const ck_model *m) { return &m->cfg; }
ck_backend *ck_model_backend(const ck_model *m) { return m->be; }

/* ---- parameters ---------------------------------------------------------- */

int ck_model_param_count(const ck_model *m) { return m->nparams; }

static const param *param_at(const ck_model *m, int i)
{
    return i >= 0 && i < m->nparams ? &m->params[i] : NULL;
}

const char *ck_model_param_name(const ck_model *m, int i)
{
    const param *p = param_at(m, i);
    return p ? p->name : NULL;
}

ck_param_kind ck_model_param_kind(const ck_model *m, int i)
{
    const param *p = param_at(m, i);
    return p ? p->kind : CK_PARAM_FROZEN;
}

int ck_model_param_trainable(const ck_model *m, int i)
{
    const param *p = param_at(m, i);
    return p && p->kind == CK_PARAM_TRAINABLE;
}

ck_tensor *ck_model_param(ck_model *m, int i)
{
    const param *p = param_at(m, i);
    /* The caller may read it: give it its initial values first. */
    if (p && p->pending_init && init_param(m, i))
        return NULL;
    return p ? p->t : NULL;
}

ck_tensor *ck_model_param_grad(ck_model *m, int i)
{
    const param *p = param_at(m, i);
    return p ? p->g : NULL;
}

int ck_model_param_find(const ck_model *m, const char *name)
{
    for (int i = 0; name && i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return i;
    return -1;
}

static const param *param_named(const ck_model *m, const char *name, size_t n)
{
    int i = ck_model_param_find(m, name);
    if (i < 0) {
        ck_error(D, "no parameter named '%s'", name ? name : "");
        return NULL;
    }
    const param *p = &m->params[i];
    if (ck_tensor_numel(p->t) != n) {
        ck_error(D, "%s has %zu values, not %zu", name, ck_tensor_numel(p->t), n);
        return NULL;
    }
    return p;
}

int ck_model_param_set(ck_model *m, const char *name, const float *data, size_t n)
{
    param *p = (param *)param_named(m, name, n);
    if (!p || ck_tensor_upload(p->t, data, n * sizeof(float)))
        return -1;
    p->pending_init = 0; /* fully overwritten */
    return 0;
}

int ck_model_param_get(const ck_model *m, const char *name, float *data, size_t n)
{
    const param *p = param_named(m, name, n);
    if (p && p->pending_init && init_param((ck_model *)m, (int)(p - m->params)))
        return -1;
    return p ? ck_tensor_download(p->t, data, n * sizeof(float)) : -1;
}

void ck_model_param_totals(const ck_model *m, long long *total, long long *trainable, long long *non_trainable)
{
    long long t = 0, tr = 0;
    for (int i = 0; i < m->nparams; i++) {
        long long n = (long long)ck_tensor_numel(m->params[i].t);
        t += n;
        if (m->params[i].kind == CK_PARAM_TRAINABLE)
            tr += n;
    }
    if (total)
        *total = t;
    if (trainable)
        *trainable = tr;
    if (non_trainable)
        *non_trainable = t - tr;
}

/* ---- base weights ---------------------------------------------------------- */

static void fmt_shape(char *buf, size_t n, int ndim, const int *shape)
{
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, i ? ",%d" : "%d", shape[i]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

int ck_model_load_base(ck_model *m, ck_tensor_source src, void *ctx, const char *what)
{
    if (!what)
        what = "the weights";
    /* Check every tensor before copying any, so a bad file changes nothing. */
    const float *data[CK_MODEL_MAX_PARAMS] = {0};
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < m->nparams; i++) {
            const param *p = &m->params[i];
            if (strncmp(p->name, "block", 5) != 0)
                continue;
            if (pass == 1) {
                if (ck_tensor_upload(p->t, data[i], ck_tensor_nbytes(p->t)))
                    return -1;
                m->params[i].pending_init = 0;
                continue;
            }
            int ndim = 0, shape[4] = {0};
            data[i] = src(ctx, p->name, &ndim, shape);
            if (!data[i]) {
                ck_error(D, "%s: missing in %s", p->name, what);
                return -1;
            }
            const ck_tensor *t = p->t;
            int ok = ndim == ck_tensor_ndim(t);
            for (int d = 0; ok && d < ndim; d++)
                ok = shape[d] == ck_tensor_dim(t, d);
            if (!ok) {
                char got[64], want[64];
                fmt_shape(got, sizeof got, ndim < 0 || ndim > 4 ? 0 : ndim, shape);
                fmt_shape(want, sizeof want, t->ndim, t->shape);
                ck_error(D, "%s: shape %s in %s, expected %s", p->name, got, what, want);
                return -1;
            }
        }
    }
    return 0;
}
