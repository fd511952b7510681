/* A backbone (ck/arch.h) + head: construction, parameters, initialisation,
 * base weights, batch-norm folding. Running the model is in model_run.c,
 * the summary in model_summary.c. */
#include "model_internal.h"

#include "ck/error.h"
#include "ck/rng.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D "model"

void ck_net_config_default(ck_net_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->arch = CK_ARCH_VGG16;
    cfg->layout = CK_LAYOUT_KERAS;
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
    cfg->precision = CK_PRECISION_FP32;
    cfg->seed = 0;
}

int ck_precision_parse(const char *s, ck_precision *out)
{
    if (s && strcmp(s, "fp32") == 0) {
        *out = CK_PRECISION_FP32;
        return 0;
    }
    if (s && strcmp(s, "bf16") == 0) {
        *out = CK_PRECISION_BF16;
        return 0;
    }
    ck_error(D, "unknown precision '%s' (expected fp32 or bf16)", s ? s : "");
    return -1;
}

const char *ck_precision_name(ck_precision p)
{
    return p == CK_PRECISION_BF16 ? "bf16" : "fp32";
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
    if ((int)c->arch < 0 || c->arch >= CK_ARCH_COUNT || (c->layout != CK_LAYOUT_KERAS && c->layout != CK_LAYOUT_TORCHVISION)) {
        ck_error(D, "bad architecture %d or layout %d", (int)c->arch, (int)c->layout);
        return -1;
    }
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
        ck_error(D, "trainable stages %d (0..5 allowed)", c->train_blocks);
        return -1;
    }
    if (c->frozen_algo < CK_CONV_AUTO || c->frozen_algo > CK_CONV_BF16) {
        ck_error(D, "bad convolution algorithm %d", (int)c->frozen_algo);
        return -1;
    }
    if (c->precision != CK_PRECISION_FP32 && c->precision != CK_PRECISION_BF16) {
        ck_error(D, "bad precision %d", (int)c->precision);
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
    l->in0 = m->nlayers - 2; /* the previous layer unless the caller rewires it */
    l->in1 = -1;
    l->fold = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->name, sizeof l->name, fmt, ap);
    va_end(ap);
    return l;
}

static int add_param(ck_model *m, layer *l, const char *suffix, ck_param_kind kind, int is_kernel, int ndim,
                     const int *shape)
{
    if (m->nparams >= CK_MODEL_MAX_PARAMS) {
        ck_error(D, "too many parameters");
        return -1;
    }
    param *p = &m->params[m->nparams++];
    snprintf(p->name, sizeof p->name, "%s/%s", l->name, suffix);
    p->layer = (int)(l - m->layers);
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

static const char *const bn_params[4] = {"gamma", "beta", "moving_mean", "moving_variance"};

/* The backbone's nodes become layers 0..n-1 (same indices, so the arch's
 * producer indices are layer indices). */
static int build_base(ck_model *m)
{
    const ck_net_config *c = &m->cfg;
    ck_arch_node nodes[CK_ARCH_MAX_NODES];
    const int n = ck_arch_nodes(c->arch, c->layout, nodes, CK_ARCH_MAX_NODES);
    if (n < 0)
        return -1;
    const int first_trainable_stage = 6 - c->train_blocks;
    for (int i = 0; i < n; i++) {
        const ck_arch_node *d = &nodes[i];
        const layer *src = d->in0 >= 0 ? &m->layers[d->in0] : NULL;
        int h = src ? src->h : c->input_size, w = src ? src->w : c->input_size;
        if (d->type == CK_NODE_CONV || d->type == CK_NODE_MAXPOOL) {
            h = (h + 2 * d->pad - d->k) / d->stride + 1;
            w = (w + 2 * d->pad - d->k) / d->stride + 1;
        }
        static const layer_type types[] = {[CK_NODE_CONV] = L_CONV, [CK_NODE_BN] = L_BN, [CK_NODE_RELU] = L_RELU,
                                           [CK_NODE_MAXPOOL] = L_MAXPOOL, [CK_NODE_ADD] = L_ADD};
        layer *l = add_layer(m, types[d->type], 1, h, w, d->cout, "%s", d->name);
        if (h < 1 || w < 1) {
            ck_error(D, "input size %d is too small for %s (%s)", c->input_size, ck_arch_name(c->arch), d->name);
            return -1;
        }
        l->in0 = d->in0;
        l->in1 = d->in1;
        l->k = d->k;
        l->stride = d->stride;
        l->pad = d->pad;
        l->relu = d->relu;
        l->base = 1;
        l->frozen = d->stage < first_trainable_stage;
        const ck_param_kind kind = l->frozen ? CK_PARAM_FROZEN : CK_PARAM_TRAINABLE;
        if (d->type == CK_NODE_CONV) {
            int ks[4] = {d->k, d->k, d->cin, d->cout};
            if (add_param(m, l, "kernel", kind, 1, 4, ks) || (d->bias && add_param(m, l, "bias", kind, 0, 1, &d->cout)))
                return -1;
        } else if (d->type == CK_NODE_BN) {
            /* Keras' BatchNormalization(momentum=0.99), PyTorch convention. */
            l->bn_eps = ck_arch_bn_eps(c->arch, c->layout);
            l->bn_momentum = 0.01f;
            for (int k = 0; k < 4; k++)
                if (add_param(m, l, bn_params[k], k < 2 ? kind : l->frozen ? CK_PARAM_FROZEN : CK_PARAM_STATE, 0, 1,
                              &d->cout))
                    return -1;
        }
    }
    m->base_end = n - 1;
    return 0;
}

/* The layer that computes layer i's output, through aliases (folded BN,
 * fused ReLU or add), or NULL when one on the way has another reader. */
static layer *sole_producer(ck_model *m, int i)
{
    layer *q = &m->layers[i];
    while (q->alias) {
        if (q->consumers != 1)
            return NULL;
        q = &m->layers[q->in0];
    }
    return q->consumers == 1 ? q : NULL;
}

/* An add whose later input is a frozen conv (through its folded BN) read by
 * nothing else: the conv takes the other input's producer as its residual
 * (ck_conv_add_forward) and the add becomes an alias of it. That producer
 * runs before the conv, so the residual is ready when the conv runs. */
static void fuse_add(ck_model *m, int i)
{
    layer *l = &m->layers[i];
    const int late = l->in1 > l->in0 ? 1 : 0, in = late ? l->in1 : l->in0;
    int other = late ? l->in0 : l->in1;
    while (m->layers[other].alias) /* the layer that computes it */
        other = m->layers[other].in0;
    layer *q = sole_producer(m, in);
    if (!q || q->type != L_CONV || !q->frozen || q->relu || q->in1 >= 0 || q - m->layers < other)
        return;
    q->in1 = other;
    l->in0 = in;
    l->in1 = -1;
    l->alias = 1;
}

/* Frozen layers that need no work of their own: a BN right after its conv
 * is folded into the conv's kernel and bias, an add into the conv computing
 * one of its inputs (fuse_add), a ReLU into its producer (conv or add)
 * when nothing else reads the producer's output. */
static void plan_fusion(ck_model *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        const layer *l = &m->layers[i];
        if (l->in0 >= 0)
            m->layers[l->in0].consumers++;
        if (l->in1 >= 0)
            m->layers[l->in1].consumers++;
    }
    for (int i = 0; i <= m->base_end; i++) {
        layer *l = &m->layers[i];
        if (!l->frozen || l->in0 < 0)
            continue;
        layer *p = &m->layers[l->in0];
        if (l->type == L_BN && p->type == L_CONV && p->frozen && p->consumers == 1 && p->fold < 0) {
            p->fold = i;
            l->alias = 1;
        } else if (l->type == L_ADD && l->in1 >= 0) {
            fuse_add(m, i);
        } else if (l->type == L_RELU && p->frozen) {
            layer *q = sole_producer(m, l->in0);
            if (q && (q->type == L_CONV || q->type == L_ADD) && !q->relu) {
                q->relu = 1;
                l->alias = 1;
            }
        }
    }
}

/* The layer list and parameter table (no activation buffers yet). */
static int build_layers(ck_model *m)
{
    const ck_net_config *c = &m->cfg;
    if (build_base(m))
        return -1;
    const layer *top = &m->layers[m->base_end];
    const int s = top->h, ch = top->c;
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
            l->bn_eps = c->bn_eps;
            l->bn_momentum = c->bn_momentum;
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
    plan_fusion(m);
    for (int i = 0; i < m->nlayers; i++) {
        layer *l = &m->layers[i];
        if (l->fold >= 0 && (!(l->wf = ck_tensor_new(m->be, CK_F32, 4, m->params[l->param0].t->shape))
                             || !(l->bf = ck_tensor_new_1d(m->be, CK_F32, l->c))))
            return -1;
    }
    m->folds_stale = 1;
    return 0;
}

static ck_tensor *new_batch_tensor(ck_model *m, ck_dtype dt, const layer *l)
{
    if (l->spatial)
        return ck_tensor_new_4d(m->be, dt, m->max_batch, l->h, l->w, l->c);
    return ck_tensor_new_2d(m->be, dt, m->max_batch, l->c);
}

static int is_conv3x3(const layer *l)
{
    return l->type == L_CONV && l->k == 3 && l->stride == 1 && l->pad == 1;
}

static int is_pool2(const layer *l)
{
    return l->type == L_MAXPOOL && l->k == 2 && l->stride == 2 && l->pad == 0;
}

/* Which frozen layers hand bf16 activations to the next one: on a backend
 * that keeps them (bf16_act) with frozen_algo bf16 or auto, every 3×3 conv
 * and 2×2 max-pool whose only consumer, the next layer, takes bf16 too — a
 * 3×3 conv takes any mix, a max-pool only its own dtype. The features
 * (last frozen output) stay f32, so everything after them is unchanged. */
static void plan_bf16_activations(ck_model *m)
{
    int on = m->be->bf16_act && (m->cfg.frozen_algo == CK_CONV_BF16 || m->cfg.frozen_algo == CK_CONV_AUTO);
    for (int i = m->feat_layer; i >= 0; i--) {
        layer *l = &m->layers[i];
        const layer *next = i < m->feat_layer ? &m->layers[i + 1] : NULL;
        l->act_bf16 = on && next && next->in0 == i && l->consumers == 1 && !l->alias && !next->alias
                      && (is_conv3x3(l) || is_pool2(l)) && (is_conv3x3(next) || (is_pool2(next) && next->act_bf16));
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
    size_t act = 0, grad = (size_t)m->cfg.num_classes;
    for (int i = 0; i < m->nlayers; i++) {
        layer *l = &m->layers[i];
        size_t n = ck_model_layer_numel(l);
        if (l->frozen) {
            act = n > act ? n : act;
            continue;
        }
        grad = n > grad ? n : grad;
        if (l->type != L_FLATTEN && !(l->y = new_batch_tensor(m, CK_F32, l)))
            return -1;
        if (l->type == L_DROPOUT && !(l->mask = new_batch_tensor(m, CK_U8, l)))
            return -1;
        /* bf16 precision: the rounded kernel, remade by every forward */
        if ((l->type == L_CONV || l->type == L_DENSE) && m->cfg.precision == CK_PRECISION_BF16) {
            const ck_tensor *k = m->params[l->param0].t;
            if (!(l->wr = ck_tensor_new(m->be, CK_F32, ck_tensor_ndim(k), k->shape)))
                return -1;
        }
        if (l->type == L_BN && (!(l->save_mean = ck_tensor_new_1d(m->be, CK_F32, l->c))
                                || !(l->save_invstd = ck_tensor_new_1d(m->be, CK_F32, l->c))))
            return -1;
    }
    size_t feat = ck_model_feature_numel(m);
    grad = feat > grad ? feat : grad;
    m->acts.numel = act * (size_t)nb;
    m->grads.numel = grad * (size_t)nb;
    if (!(m->featbuf = ck_tensor_new_1d(m->be, CK_F32, (int)(feat * nb)))
        || !(m->probs = ck_tensor_new_2d(m->be, CK_F32, nb, m->cfg.num_classes))
        || !(m->labels = ck_tensor_new_1d(m->be, CK_I32, nb)))
        return -1;
    return ck_model_plan_buffers(m);
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
    int area = conv ? ck_tensor_dim(p->t, 0) * ck_tensor_dim(p->t, 1) : 1;
    int fan_in = conv ? area * ck_tensor_dim(p->t, 2) : ck_tensor_dim(p->t, 0);
    int fan_out = conv ? area * ck_tensor_dim(p->t, 3) : ck_tensor_dim(p->t, 1);
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

/* Frozen conv + BN as one conv: with s = gamma/sqrt(var + eps),
 * kernel' = kernel·s (per output channel), bias' = (bias - mean)·s + beta. */
static int fold_bn(ck_model *m, layer *l)
{
    const layer *bn = &m->layers[l->fold];
    const ck_tensor *k = m->params[l->param0].t;
    const size_t nk = ck_tensor_numel(k);
    const int co = l->c;
    float *w = malloc(nk * sizeof(float)), *st = malloc(6 * (size_t)co * sizeof(float));
    if (!w || !st) {
        free(w);
        free(st);
        ck_error(D, "out of memory folding %s into %s", bn->name, l->name);
        return -1;
    }
    float *b = st, *g = st + co, *be = st + 2 * co, *mean = st + 3 * co, *var = st + 4 * co, *sc = st + 5 * co;
    int rc = ck_tensor_download(k, w, nk * sizeof(float));
    if (!rc && l->nparams > 1)
        rc = ck_tensor_download(m->params[l->param0 + 1].t, b, (size_t)co * sizeof(float));
    else
        memset(b, 0, (size_t)co * sizeof(float));
    for (int q = 0; q < 4 && !rc; q++)
        rc = ck_tensor_download(m->params[bn->param0 + q].t, st + (size_t)(q + 1) * co, (size_t)co * sizeof(float));
    if (!rc) {
        for (int j = 0; j < co; j++) {
            sc[j] = (float)(g[j] / sqrt((double)var[j] + bn->bn_eps));
            b[j] = (b[j] - mean[j]) * sc[j] + be[j];
        }
        for (size_t i = 0; i < nk; i++)
            w[i] *= sc[i % (size_t)co];
        rc = ck_tensor_upload(l->wf, w, nk * sizeof(float));
        if (!rc)
            rc = ck_tensor_upload(l->bf, b, (size_t)co * sizeof(float));
    }
    free(w);
    free(st);
    return rc;
}

int ck_model_init_pending(ck_model *m)
{
    for (int i = 0; i < m->nparams; i++)
        if (m->params[i].pending_init && init_param(m, i))
            return -1;
    if (m->folds_stale) {
        for (int i = 0; i < m->nlayers; i++)
            if (m->layers[i].fold >= 0 && fold_bn(m, &m->layers[i]))
                return -1;
        m->folds_stale = 0;
    }
    return 0;
}

static int preprocess_of(ck_model *m)
{
    return ck_preprocess_spec_of(ck_arch_preprocessing(m->cfg.arch, m->cfg.layout), &m->pre);
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
    if (preprocess_of(m) || build_layers(m) || alloc_buffers(m)) {
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
        ck_tensor_free(m->layers[i].wf);
        ck_tensor_free(m->layers[i].bf);
        ck_tensor_free(m->layers[i].wr);
    }
    for (int k = 0; k < m->acts.n; k++)
        ck_tensor_free(m->acts.buf[k]);
    for (int k = 0; k < m->grads.n; k++)
        ck_tensor_free(m->grads.buf[k]);
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
    if (p->kind == CK_PARAM_FROZEN)
        m->folds_stale = 1;
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

int ck_model_check_arch(const ck_model *m, ck_arch a, ck_layout l, const char *what)
{
    const ck_net_config *c = &m->cfg;
    /* VGG's two layouts differ only in preprocessing, which the model takes
     * from its own config: the layout must still match so that it is right. */
    if (a != c->arch || l != c->layout) {
        ck_error(D, "%s holds %s weights (%s layout); the model is %s (%s layout)", what ? what : "the weights",
                 ck_arch_name(a), ck_layout_name(l), ck_arch_name(c->arch), ck_layout_name(c->layout));
        return -1;
    }
    return 0;
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
            if (!m->layers[p->layer].base)
                continue;
            if (pass == 1) {
                if (ck_tensor_upload(p->t, data[i], ck_tensor_nbytes(p->t)))
                    return -1;
                m->params[i].pending_init = 0;
                m->folds_stale = 1;
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

/* ---- layers ---------------------------------------------------------------- */

int ck_model_layer_count(const ck_model *m) { return m->nlayers; }

const char *ck_model_layer_name(const ck_model *m, int i)
{
    return i >= 0 && i < m->nlayers ? m->layers[i].name : NULL;
}

int ck_model_layer_find(const ck_model *m, const char *name)
{
    for (int i = 0; name && i < m->nlayers; i++)
        if (strcmp(m->layers[i].name, name) == 0)
            return i;
    return -1;
}

int ck_model_layer_shape(const ck_model *m, int i, int shape[3])
{
    if (i < 0 || i >= m->nlayers) {
        ck_error(D, "no layer %d (the model has %d)", i, m->nlayers);
        return -1;
    }
    const layer *l = &m->layers[i];
    shape[0] = l->h;
    shape[1] = l->w;
    shape[2] = l->c;
    return 0;
}

int ck_model_base_end(const ck_model *m) { return m->base_end; }
