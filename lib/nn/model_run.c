/* Running the model: forward (inference / training), loss, backward, and
 * the buffer pools that hold frozen activations and gradients. */
#include "model_internal.h"

#include "ck/error.h"
#include "ck/ops.h"

#include <math.h>
#include <string.h>

#define D "model"

/* Dropout layer k draws from its own stream of Philox keys (splitmix64 of
 * seed and k), so two dropout layers never share a mask. */
static uint64_t dropout_seed(uint64_t seed, int k)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t)(k + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ck_model_feature_shape(const ck_model *m, int shape[3])
{
    if (m->feat_layer < 0) {
        shape[0] = shape[1] = m->cfg.input_size;
        shape[2] = 3;
        return;
    }
    const layer *l = &m->layers[m->feat_layer];
    shape[0] = l->h;
    shape[1] = l->w;
    shape[2] = l->c;
}

size_t ck_model_feature_numel(const ck_model *m)
{
    int s[3];
    ck_model_feature_shape(m, s);
    return (size_t)s[0] * s[1] * s[2];
}

const char *ck_model_feature_layer(const ck_model *m)
{
    return m->feat_layer < 0 ? "input" : m->layers[m->feat_layer].name;
}

const ck_tensor *ck_model_probs(const ck_model *m) { return m->probs; }

/* t as layer l's output for n samples, in dtype dt (the frozen activation
 * buffers hold f32 or bf16 layer by layer, see act_bf16). */
static int shape_as_layer(ck_tensor *t, const layer *l, int n, ck_dtype dt)
{
    if (l->spatial) {
        int s[4] = {n, l->h, l->w, l->c};
        return ck_tensor_retype(t, dt, 4, s);
    }
    int s[2] = {n, l->c};
    return ck_tensor_retype(t, dt, 2, s);
}

static int shape_like(ck_tensor *t, const ck_tensor *ref)
{
    return ck_tensor_reshape(t, ck_tensor_ndim(ref), ref->shape);
}

static int check_batch(const ck_model *m, const ck_tensor *x)
{
    if (!x) {
        ck_error(D, "no input");
        return -1;
    }
    if (ck_tensor_backend(x) != m->be) {
        ck_error(D, "the input lives on another backend than the model");
        return -1;
    }
    int n = ck_tensor_dim(x, 0);
    if (n < 1 || n > m->max_batch) {
        ck_error(D, "batch of %d samples (the model was built for 1..%d)", n, m->max_batch);
        return -1;
    }
    return 0;
}

/* The preprocessed input: x itself when F32, else x run through the
 * weights' preprocessing (caffe or torch) into m->input. */
static const ck_tensor *prepare_input(ck_model *m, const ck_tensor *x)
{
    const int s = m->cfg.input_size, n = ck_tensor_dim(x, 0);
    if (ck_tensor_ndim(x) != 4 || ck_tensor_dim(x, 1) != s || ck_tensor_dim(x, 2) != s || ck_tensor_dim(x, 3) != 3) {
        ck_error(D, "input batch must be [n,%d,%d,3]", s, s);
        return NULL;
    }
    if (ck_tensor_dtype(x) == CK_F32)
        return x;
    if (ck_tensor_dtype(x) != CK_U8) {
        ck_error(D, "input batch must be u8 pixels or f32, not %s", ck_dtype_name(ck_tensor_dtype(x)));
        return NULL;
    }
    if (ck_tensor_set_batch(m->input, n) || ck_preprocess(m->be, x, &m->pre, m->input))
        return NULL;
    return m->input;
}

/* Features given by the caller: F32 used as is, BF16 converted. */
static const ck_tensor *prepare_features(ck_model *m, const ck_tensor *x)
{
    const int n = ck_tensor_dim(x, 0);
    const size_t want = ck_model_feature_numel(m);
    if (ck_tensor_numel(x) != want * (size_t)n) {
        int s[3];
        ck_model_feature_shape(m, s);
        ck_error(D, "features batch must be [n,%d,%d,%d] (output of %s)", s[0], s[1], s[2],
                 ck_model_feature_layer(m));
        return NULL;
    }
    ck_dtype dt = ck_tensor_dtype(x);
    if (dt != CK_F32 && dt != CK_BF16 && dt != CK_F16) {
        ck_error(D, "features must be f32 or bf16, not %s", ck_dtype_name(dt));
        return NULL;
    }
    int s[3];
    ck_model_feature_shape(m, s);
    int shape[4] = {n, s[0], s[1], s[2]};
    if (ck_tensor_reshape(m->featbuf, 4, shape))
        return NULL;
    if (dt == CK_F32 && ck_tensor_ndim(x) == 4)
        return x;
    /* Different dtype or a flat layout: copy into the model's own buffer. */
    if (ck_tensor_copy(m->featbuf, x))
        return NULL;
    return m->featbuf;
}

static ck_tensor *P(ck_model *m, const layer *l, int k)
{
    return m->params[l->param0 + k].t;
}

/* ---- buffer pools --------------------------------------------------------- */

ck_tensor *ck_model_pool_get(ck_model *m, buf_pool *p)
{
    for (int k = 0; k < p->n; k++)
        if (!p->busy[k]) {
            p->busy[k] = 1;
            return p->buf[k];
        }
    if (p->n == CK_MODEL_MAX_BUFS) {
        ck_error(D, "more than %d live buffers", CK_MODEL_MAX_BUFS);
        return NULL;
    }
    ck_tensor *t = ck_tensor_new_1d(m->be, CK_F32, (int)p->numel);
    if (!t)
        return NULL;
    p->buf[p->n] = t;
    p->busy[p->n++] = 1;
    return t;
}

void ck_model_pool_put(buf_pool *p, const ck_tensor *t)
{
    for (int k = 0; k < p->n; k++)
        if (p->buf[k] == t)
            p->busy[k] = 0;
}

static void pool_reset(buf_pool *p)
{
    memset(p->busy, 0, sizeof p->busy);
}

/* The layer whose buffer holds layer i's output (aliases share it). */
static int owner(const ck_model *m, int i)
{
    while (i >= 0 && m->layers[i].alias)
        i = m->layers[i].in0;
    return i;
}

/* ---- forward ---------------------------------------------------------------- */

/* Layer i's input k (0 or 1) in the current run: the trained part starts
 * from the features (computed or given), the frozen part from x_in. */
static const ck_tensor *input_of(const ck_model *m, int i, int k)
{
    const int p = k ? m->layers[i].in1 : m->layers[i].in0;
    if (!m->layers[i].frozen && p <= m->feat_layer)
        return m->feat_out;
    return p < 0 ? m->x_in : m->out[p];
}

/* A trained conv or dense layer under bf16 precision (cfg.precision):
 * y = bf16(conv(bf16(x), bf16(w)) + b), a product of two bf16 values being
 * exact in fp32 and the sums fp32. The rounded x lives in a gradient buffer
 * (all free during the forward) and is made again in backward rather than
 * kept per layer; the rounded kernel is l->wr, which backward reuses. A
 * fused ReLU commutes with the rounding. */
static int forward_bf16(ck_model *m, const layer *l, const ck_tensor *in, ck_tensor *y)
{
    ck_backend *be = m->be;
    ck_tensor *xr = ck_model_pool_get(m, &m->grads);
    if (!xr)
        return -1;
    const ck_tensor *b = l->nparams > 1 ? P(m, l, 1) : NULL;
    int rc = shape_like(xr, in) || ck_round_bf16(be, in, xr) || ck_round_bf16(be, P(m, l, 0), l->wr);
    if (!rc)
        rc = l->type == L_CONV ? ck_conv_forward(be, xr, l->wr, b, y, l->stride, l->pad, l->relu, CK_CONV_FP32)
                               : ck_dense_forward(be, xr, l->wr, b, y);
    if (!rc)
        rc = ck_round_bf16(be, y, y);
    ck_model_pool_put(&m->grads, xr);
    return rc ? -1 : 0;
}

/* Run layer i into y (NULL for layers that need none); records m->out[i]. */
static int run_layer(ck_model *m, int i, ck_tensor *y, const ck_tensor *in, const ck_tensor *in1, int training,
                     uint32_t step)
{
    layer *l = &m->layers[i];
    ck_backend *be = m->be;
    const int n = ck_tensor_dim(in, 0);
    if (y && shape_as_layer(y, l, n, l->act_bf16 ? CK_BF16 : l->frozen ? CK_F32 : ck_tensor_dtype(y)))
        return -1;
    int rc = 0;
    switch (l->type) {
    case L_CONV: {
        if (l->wr) {
            rc = forward_bf16(m, l, in, y);
            break;
        }
        ck_conv_algo algo = l->frozen ? m->cfg.frozen_algo : CK_CONV_FP32;
        const ck_tensor *w = l->fold >= 0 ? l->wf : P(m, l, 0);
        const ck_tensor *b = l->fold >= 0 ? l->bf : l->nparams > 1 ? P(m, l, 1) : NULL;
        rc = ck_conv_add_forward(be, in, w, b, in1, y, l->stride, l->pad, l->relu, algo); /* in1: fuse_add */
        break;
    }
    case L_MAXPOOL:
        rc = ck_maxpool_forward(be, in, y, l->k, l->stride, l->pad);
        break;
    case L_ADD:
        rc = ck_add_forward(be, in, in1, y, l->relu);
        break;
    case L_GAP:
        rc = ck_avgpool_global_forward(be, in, y);
        break;
    case L_FLATTEN:
        m->out[i] = in; /* free in NHWC: dense reads [n,h,w,c] as [n,h·w·c] */
        return 0;
    case L_DROPOUT:
        if (!training) {
            m->out[i] = in;
            return 0;
        }
        if (ck_tensor_reshape(l->mask, ck_tensor_ndim(y), y->shape))
            return -1;
        rc = ck_dropout_forward(be, in, y, l->mask, m->cfg.dropout, dropout_seed(m->cfg.seed, l->dropout_id), step);
        break;
    case L_DENSE:
        rc = l->wr ? forward_bf16(m, l, in, y) : ck_dense_forward(be, in, P(m, l, 0), P(m, l, 1), y);
        if (!rc && l->relu)
            rc = ck_relu_forward(be, y, y);
        break;
    case L_BN:
        rc = ck_batchnorm_forward(be, in, P(m, l, 0), P(m, l, 1), P(m, l, 2), P(m, l, 3), l->save_mean,
                                  l->save_invstd, y, training && !l->frozen, l->bn_momentum, l->bn_eps);
        break;
    case L_RELU:
        rc = ck_relu_forward(be, in, y);
        break;
    }
    if (rc)
        return -1;
    m->out[i] = y;
    return 0;
}

/* Frozen layers 0..last in inference mode through the activation pool: a
 * buffer goes back to the pool once its last reader has run. dry: plan
 * only (the pool grows to what the schedule needs; nothing is computed). */
static int run_frozen_to(ck_model *m, const ck_tensor *input, int last, int dry)
{
    int left[CK_MODEL_MAX_LAYERS] = {0};
    for (int j = 0; j <= last; j++) {
        const layer *l = &m->layers[j];
        if (l->alias)
            continue;
        if (l->in0 >= 0)
            left[owner(m, l->in0)]++;
        if (l->in1 >= 0)
            left[owner(m, l->in1)]++;
    }
    if (last >= 0)
        left[owner(m, last)]++; /* the result outlives the run */
    pool_reset(&m->acts);
    m->x_in = input;
    int rc = 0;
    for (int j = 0; j <= last && !rc; j++) {
        const layer *l = &m->layers[j];
        if (l->alias) {
            m->out[j] = m->out[l->in0];
            continue;
        }
        ck_tensor *y = ck_model_pool_get(m, &m->acts);
        if (!y) {
            rc = -1;
            break;
        }
        if (dry)
            m->out[j] = y;
        else
            rc = run_layer(m, j, y, input_of(m, j, 0), l->in1 >= 0 ? input_of(m, j, 1) : NULL, 0, 0);
        for (int k = 0; k < 2 && !rc; k++) {
            int p = k ? l->in1 : l->in0;
            if (p >= 0 && --left[owner(m, p)] == 0)
                ck_model_pool_put(&m->acts, m->out[owner(m, p)]);
        }
    }
    if (!rc)
        m->feat_out = last >= 0 ? m->out[last] : input;
    return rc;
}

static int run_frozen(ck_model *m, const ck_tensor *x)
{
    if (ck_model_init_pending(m))
        return -1;
    const ck_tensor *in = prepare_input(m, x);
    if (!in)
        return -1;
    return run_frozen_to(m, in, m->feat_layer, 0);
}

/* Forward to the logits (the output of the last layer). */
static int run_forward(ck_model *m, ck_model_start from, const ck_tensor *x, int training, uint32_t step)
{
    if (check_batch(m, x) || ck_model_init_pending(m))
        return -1;
    if (from == CK_FROM_INPUT) {
        if (run_frozen(m, x))
            return -1;
    } else if (from == CK_FROM_FEATURES) {
        if (!(m->feat_out = prepare_features(m, x)))
            return -1;
    } else {
        ck_error(D, "bad start %d", (int)from);
        return -1;
    }
    /* Nothing of a previous backward is live: the bf16 forward borrows these. */
    pool_reset(&m->grads);
    for (int i = m->feat_layer + 1; i < m->nlayers; i++) {
        const layer *l = &m->layers[i];
        if (run_layer(m, i, l->y, input_of(m, i, 0), l->in1 >= 0 ? input_of(m, i, 1) : NULL, training, step))
            return -1;
    }
    return 0;
}

static const ck_tensor *logits_of(const ck_model *m)
{
    return m->out[m->nlayers - 1];
}

int ck_model_features(ck_model *m, const ck_tensor *x, ck_tensor *features)
{
    if (check_batch(m, x))
        return -1;
    if (!features || ck_tensor_backend(features) != m->be) {
        ck_error(D, "features tensor missing or on another backend");
        return -1;
    }
    int s[3];
    ck_model_feature_shape(m, s);
    int shape[4] = {ck_tensor_dim(x, 0), s[0], s[1], s[2]};
    if (ck_tensor_reshape(features, 4, shape)) {
        ck_error(D, "the features tensor is too small for %d samples of %s", shape[0], ck_model_feature_layer(m));
        return -1;
    }
    if (run_frozen(m, x))
        return -1;
    return ck_tensor_copy(features, m->feat_out);
}

/* Layer j's own value exists at inference unless folding or fusion merged
 * it into a neighbour; *instead names the layer that holds the value
 * computed in its place (the last alias of the buffer j's value is in). */
static int computed(const ck_model *m, int j, int *instead)
{
    const int p = owner(m, j);
    *instead = p;
    for (int i = p + 1; i < m->nlayers; i++)
        if (m->layers[i].alias && owner(m, i) == p)
            *instead = i;
    return *instead == j;
}

int ck_model_run_to(ck_model *m, const ck_tensor *x, int layer_index, ck_tensor *out)
{
    if (check_batch(m, x))
        return -1;
    if (layer_index < 0 || layer_index > m->base_end) {
        ck_error(D, "layer %d is not a backbone layer (0..%d)", layer_index, m->base_end);
        return -1;
    }
    const layer *l = &m->layers[layer_index];
    if (!l->frozen) {
        ck_error(D, "%s is trained: features come from frozen layers only", l->name);
        return -1;
    }
    int instead;
    if (!computed(m, layer_index, &instead)) {
        ck_error(D, "%s is not computed on its own at inference (batch norm, residual add and ReLU are "
                    "folded into the convolution); its nearest computed value is %s", l->name, m->layers[instead].name);
        return -1;
    }
    if (!out || ck_tensor_backend(out) != m->be) {
        ck_error(D, "output tensor missing or on another backend");
        return -1;
    }
    int shape[4] = {ck_tensor_dim(x, 0), l->h, l->w, l->c};
    if (ck_tensor_reshape(out, 4, shape)) {
        ck_error(D, "the output tensor is too small for %d samples of %s", shape[0], l->name);
        return -1;
    }
    if (ck_model_init_pending(m))
        return -1;
    const ck_tensor *in = prepare_input(m, x);
    if (!in || run_frozen_to(m, in, layer_index, 0))
        return -1;
    return ck_tensor_copy(out, m->out[layer_index]);
}

int ck_model_forward(ck_model *m, ck_model_start from, const ck_tensor *x, float *probs_host)
{
    if (run_forward(m, from, x, 0, 0))
        return -1;
    const ck_tensor *z = logits_of(m);
    if (shape_like(m->probs, z) || ck_softmax_forward(m->be, z, m->probs))
        return -1;
    if (probs_host)
        return ck_tensor_download(m->probs, probs_host, ck_tensor_nbytes(m->probs));
    return 0;
}

int ck_model_set_loss(ck_model *m, float label_smoothing, const float *class_weights)
{
    if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f)) {
        ck_error(D, "label smoothing %g outside [0,1)", label_smoothing);
        return -1;
    }
    m->smoothing = label_smoothing;
    ck_tensor_free(m->class_weights);
    m->class_weights = NULL;
    if (!class_weights)
        return 0;
    for (int j = 0; j < m->cfg.num_classes; j++)
        if (!(class_weights[j] >= 0.0f) || !isfinite(class_weights[j])) {
            ck_error(D, "class weight %d is %g (must be finite and >= 0)", j, class_weights[j]);
            return -1;
        }
    m->class_weights = ck_tensor_new_1d(m->be, CK_F32, m->cfg.num_classes);
    if (!m->class_weights)
        return -1;
    return ck_tensor_upload(m->class_weights, class_weights, (size_t)m->cfg.num_classes * sizeof(float));
}

static int loss_of(ck_model *m, const int32_t *labels, ck_tensor *dlogits, float *loss, int *correct)
{
    const ck_tensor *z = logits_of(m);
    const int n = ck_tensor_dim(z, 0);
    if (!labels) {
        ck_error(D, "no labels");
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= m->cfg.num_classes) {
            ck_error(D, "label %d of sample %d is outside [0,%d)", labels[i], i, m->cfg.num_classes);
            return -1;
        }
    if (ck_tensor_set_batch(m->labels, n) || ck_tensor_upload(m->labels, labels, (size_t)n * sizeof(int32_t))
        || shape_like(m->probs, z) || (dlogits && shape_like(dlogits, z)))
        return -1;
    float l = 0.0f;
    int c = 0;
    if (ck_softmax_xent(m->be, z, m->labels, m->class_weights, m->smoothing, m->probs, dlogits, &l, &c))
        return -1;
    if (loss)
        *loss = l;
    if (correct)
        *correct = c;
    return 0;
}

int ck_model_eval_step(ck_model *m, ck_model_start from, const ck_tensor *x, const int32_t *labels, float *loss,
                       int *correct)
{
    if (run_forward(m, from, x, 0, 0))
        return -1;
    return loss_of(m, labels, NULL, loss, correct);
}

/* ---- backward --------------------------------------------------------------- */

/* Where the gradient of layer p's output goes: p's own gradient buffer on
 * the first contribution (*scratch = NULL), else a scratch buffer the
 * caller adds in afterwards (a block's input feeds both its branches). */
static ck_tensor *grad_target(ck_model *m, int p, ck_tensor **scratch, int dry)
{
    *scratch = NULL;
    ck_tensor *t = ck_model_pool_get(m, &m->grads);
    if (!t)
        return NULL;
    if (m->gout[p])
        *scratch = t;
    else
        m->gout[p] = t;
    if (!dry && shape_like(t, m->out[p]))
        return NULL;
    return t;
}

/* Backward of a trained conv or dense layer under bf16 precision: dy
 * rounded in place (g is this layer's own), dx = bf16(conv_bwd_data(dy_r,
 * w_r)), dW and db summed in fp32 from x_r and dy_r into the fp32
 * gradients. xr: a free buffer for the rounded input. */
static int backward_bf16(ck_model *m, const layer *l, const ck_tensor *in, ck_tensor *xr, ck_tensor *g,
                         ck_tensor *dx, ck_tensor *dw, ck_tensor *db)
{
    ck_backend *be = m->be;
    if (shape_like(xr, in) || ck_round_bf16(be, in, xr) || ck_round_bf16(be, g, g))
        return -1;
    int rc;
    if (l->type == L_CONV) {
        rc = ck_conv_backward_filter(be, xr, g, dw, db, l->stride, l->pad, 1.0f);
        if (!rc && dx)
            rc = ck_conv_backward_data(be, g, l->wr, dx, l->stride, l->pad);
    } else {
        rc = ck_dense_backward(be, xr, l->wr, g, dx, dw, db, 1.0f);
    }
    if (!rc && dx)
        rc = ck_round_bf16(be, dx, dx);
    return rc ? -1 : 0;
}

/* Backward from dlogits (in gout of the last layer) down to the first layer
 * with parameters; gradients are added to the parameters' grad tensors.
 * dry: plan the gradient pool only. */
static int run_backward(ck_model *m, int dry)
{
    ck_backend *be = m->be;
    for (int i = m->nlayers - 1; i >= m->first_param_layer; i--) {
        layer *l = &m->layers[i];
        ck_tensor *g = m->gout[i];
        if (!g)
            continue; /* nothing trained reads it */
        const ck_tensor *in = dry ? NULL : input_of(m, i, 0), *out = m->out[i];
        ck_tensor *dw = l->nparams ? m->params[l->param0].g : NULL;
        ck_tensor *db = l->nparams > 1 ? m->params[l->param0 + 1].g : NULL;
        /* dx[k]: where input k's gradient is written (its own buffer, or a
         * scratch to add into it afterwards) */
        ck_tensor *dx[2] = {NULL, NULL}, *scr[2] = {NULL, NULL};
        int src[2] = {-1, -1};
        for (int k = 0; k < (l->type == L_ADD ? 2 : 1); k++) {
            src[k] = k ? l->in1 : l->in0;
            if (src[k] >= m->first_param_layer && !(dx[k] = grad_target(m, src[k], &scr[k], dry)))
                return -1;
        }
        ck_tensor *d0 = dx[0], *d1 = dx[1];
        /* bf16 precision: the rounded input again (see forward_bf16) */
        ck_tensor *xr = NULL;
        if (l->wr && !(xr = ck_model_pool_get(m, &m->grads)))
            return -1;
        int rc = 0;
        if (!dry) {
            switch (l->type) {
            case L_CONV:
                if (l->relu)
                    rc = ck_relu_backward(be, out, g, g);
                if (!rc && l->wr) {
                    rc = backward_bf16(m, l, in, xr, g, d0, dw, db);
                } else if (!rc) {
                    rc = ck_conv_backward_filter(be, in, g, dw, db, l->stride, l->pad, 1.0f);
                    if (!rc && d0)
                        rc = ck_conv_backward_data(be, g, P(m, l, 0), d0, l->stride, l->pad);
                }
                break;
            case L_MAXPOOL:
                if (d0)
                    rc = ck_maxpool_backward(be, in, out, g, d0, l->k, l->stride, l->pad);
                break;
            case L_ADD:
                if (l->relu)
                    rc = ck_relu_backward(be, out, g, g);
                if (!rc && d0)
                    rc = ck_tensor_copy(d0, g);
                if (!rc && d1)
                    rc = ck_tensor_copy(d1, g);
                break;
            case L_GAP:
                if (d0)
                    rc = ck_avgpool_global_backward(be, g, d0);
                break;
            case L_FLATTEN:
                if (d0)
                    rc = ck_tensor_copy(d0, g);
                break;
            case L_DROPOUT:
                if (d0)
                    rc = ck_dropout_backward(be, g, l->mask, d0, m->cfg.dropout);
                break;
            case L_DENSE:
                if (l->relu)
                    rc = ck_relu_backward(be, out, g, g);
                if (!rc)
                    rc = l->wr ? backward_bf16(m, l, in, xr, g, d0, dw, db)
                               : ck_dense_backward(be, in, P(m, l, 0), g, d0, dw, db, 1.0f);
                break;
            case L_BN:
                rc = ck_batchnorm_backward(be, in, g, P(m, l, 0), l->save_mean, l->save_invstd, d0, dw, db, 1.0f);
                break;
            case L_RELU:
                if (d0)
                    rc = ck_relu_backward(be, out, g, d0);
                break;
            }
            for (int k = 0; k < 2 && !rc; k++)
                if (scr[k])
                    rc = ck_axpy(be, 1.0f, scr[k], m->gout[src[k]]);
        }
        for (int k = 0; k < 2; k++)
            if (scr[k])
                ck_model_pool_put(&m->grads, scr[k]);
        if (xr)
            ck_model_pool_put(&m->grads, xr);
        ck_model_pool_put(&m->grads, g);
        m->gout[i] = NULL;
        if (rc)
            return -1;
    }
    return 0;
}

/* A fresh backward pass: every gradient buffer free, dlogits taken. */
static ck_tensor *begin_backward(ck_model *m, int dry)
{
    pool_reset(&m->grads);
    memset(m->gout, 0, sizeof m->gout);
    ck_tensor *g = ck_model_pool_get(m, &m->grads);
    m->gout[m->nlayers - 1] = g;
    if (g && !dry && shape_like(g, logits_of(m)))
        return NULL;
    return g;
}

int ck_model_plan_buffers(ck_model *m)
{
    if (m->feat_layer >= 0 && run_frozen_to(m, m->input, m->feat_layer, 1))
        return -1;
    if (!begin_backward(m, 1))
        return -1;
    ck_tensor *mix = ck_model_pool_get(m, &m->grads); /* mixup's second dlogits */
    if (!mix)
        return -1;
    ck_model_pool_put(&m->grads, mix);
    return run_backward(m, 1);
}

int ck_model_train_step(ck_model *m, ck_model_start from, const ck_tensor *x, const int32_t *labels,
                        uint32_t step, float *loss, int *correct)
{
    if (run_forward(m, from, x, 1, step))
        return -1;
    ck_tensor *g = begin_backward(m, 0);
    if (!g || loss_of(m, labels, g, loss, correct))
        return -1;
    return run_backward(m, 0);
}

int ck_model_train_step_mix(ck_model *m, ck_model_start from, const ck_tensor *x, const int32_t *labels,
                            const int32_t *labels_b, float lam, uint32_t step, float *loss, int *correct)
{
    if (!(lam >= 0.0f && lam <= 1.0f)) {
        ck_error(D, "mixup weight %g is not in [0,1]", lam);
        return -1;
    }
    float la = 0.0f, lb = 0.0f;
    if (run_forward(m, from, x, 1, step))
        return -1;
    /* The loss is linear in the targets: d = lam·d_a + (1-lam)·d_b. */
    ck_tensor *ga = begin_backward(m, 0), *gb = ga ? ck_model_pool_get(m, &m->grads) : NULL;
    if (!gb || loss_of(m, labels_b, gb, &lb, NULL) || loss_of(m, labels, ga, &la, correct)
        || ck_scale(m->be, ga, lam) || ck_axpy(m->be, 1.0f - lam, gb, ga))
        return -1;
    ck_model_pool_put(&m->grads, gb);
    if (loss)
        *loss = lam * la + (1.0f - lam) * lb;
    return run_backward(m, 0);
}

int ck_model_zero_grad(ck_model *m)
{
    for (int i = 0; i < m->nparams; i++)
        if (m->params[i].g && ck_tensor_fill(m->params[i].g, 0.0f))
            return -1;
    return 0;
}

int ck_model_scale_grad(ck_model *m, float a)
{
    for (int i = 0; i < m->nparams; i++)
        if (m->params[i].g && ck_scale(m->be, m->params[i].g, a))
            return -1;
    return 0;
}
