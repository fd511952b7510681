/* Running the model: forward (inference / training), loss, backward. */
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

/* Give t the shape [n, per-sample shape of l]. */
/* t as layer l's output for n samples, in dtype dt (the frozen ping
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

/* The preprocessed input: x itself when F32, else x run through the caffe
 * preprocessing into m->input. */
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
    /* Keras' VGG16 preprocess_input ("caffe"): BGR minus the ImageNet mean. */
    ck_preprocess_spec spec;
    if (ck_preprocess_spec_of("caffe", &spec) || ck_tensor_set_batch(m->input, n)
        || ck_preprocess(m->be, x, &spec, m->input))
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

/* Run layer i on `in`; records m->out[i]. */
static int run_layer(ck_model *m, int i, const ck_tensor *in, int training, uint32_t step)
{
    layer *l = &m->layers[i];
    ck_backend *be = m->be;
    const int n = ck_tensor_dim(in, 0);
    ck_tensor *y = l->frozen ? m->ping[i % 2] : l->y;
    if (y && shape_as_layer(y, l, n, l->act_bf16 ? CK_BF16 : l->frozen ? CK_F32 : ck_tensor_dtype(y)))
        return -1;
    int rc = 0;
    switch (l->type) {
    case L_CONV: {
        ck_conv_algo algo = l->frozen ? m->cfg.frozen_algo : CK_CONV_FP32;
        rc = ck_conv3x3_forward(be, in, P(m, l, 0), P(m, l, 1), y, 1, algo);
        break;
    }
    case L_MAXPOOL:
        rc = ck_maxpool2_forward(be, in, y);
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
        rc = ck_dense_forward(be, in, P(m, l, 0), P(m, l, 1), y);
        if (!rc && l->relu)
            rc = ck_relu_forward(be, y, y);
        break;
    case L_BN:
        rc = ck_batchnorm_forward(be, in, P(m, l, 0), P(m, l, 1), P(m, l, 2), P(m, l, 3), l->save_mean,
                                  l->save_invstd, y, training, m->cfg.bn_momentum, m->cfg.bn_eps);
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

static int run_frozen(ck_model *m, const ck_tensor *x)
{
    if (ck_model_init_pending(m))
        return -1;
    const ck_tensor *cur = prepare_input(m, x);
    if (!cur)
        return -1;
    for (int i = 0; i <= m->feat_layer; i++) {
        if (run_layer(m, i, cur, 0, 0))
            return -1;
        cur = m->out[i];
    }
    m->feat_out = cur;
    return 0;
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
    const ck_tensor *cur = m->feat_out;
    for (int i = m->feat_layer + 1; i < m->nlayers; i++) {
        if (run_layer(m, i, cur, training, step))
            return -1;
        cur = m->out[i];
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

/* Backward from dlogits (in grad[0]) down to the first layer with
 * parameters; gradients are added to the parameters' grad tensors. */
static int run_backward(ck_model *m)
{
    ck_backend *be = m->be;
    ck_tensor *g = m->grad[0], *other = m->grad[1];
    for (int i = m->nlayers - 1; i >= m->first_param_layer; i--) {
        layer *l = &m->layers[i];
        const ck_tensor *in = i == m->feat_layer + 1 ? m->feat_out : m->out[i - 1];
        const ck_tensor *out = m->out[i];
        const int need_dx = i > m->first_param_layer;
        int swap = 0, rc = 0;
        ck_tensor *dw = l->nparams ? m->params[l->param0].g : NULL;
        ck_tensor *db = l->nparams > 1 ? m->params[l->param0 + 1].g : NULL;
        if (need_dx && shape_like(other, in))
            return -1;
        switch (l->type) {
        case L_CONV:
            rc = ck_relu_backward(be, out, g, g);
            if (!rc)
                rc = ck_conv3x3_backward_filter(be, in, g, dw, db, 1.0f);
            if (!rc && need_dx) {
                rc = ck_conv3x3_backward_data(be, g, P(m, l, 0), other);
                swap = 1;
            }
            break;
        case L_MAXPOOL:
            rc = ck_maxpool2_backward(be, in, out, g, other);
            swap = 1;
            break;
        case L_GAP:
            rc = ck_avgpool_global_backward(be, g, other);
            swap = 1;
            break;
        case L_FLATTEN:
            rc = shape_like(g, in);
            break;
        case L_DROPOUT:
            rc = ck_dropout_backward(be, g, l->mask, g, m->cfg.dropout);
            break;
        case L_DENSE:
            if (l->relu)
                rc = ck_relu_backward(be, out, g, g);
            if (!rc)
                rc = ck_dense_backward(be, in, P(m, l, 0), g, need_dx ? other : NULL, dw, db, 1.0f);
            swap = need_dx;
            break;
        case L_BN:
            rc = ck_batchnorm_backward(be, in, g, P(m, l, 0), l->save_mean, l->save_invstd, other, dw, db, 1.0f);
            swap = 1;
            break;
        case L_RELU:
            rc = ck_relu_backward(be, out, g, g);
            break;
        }
        if (rc)
            return -1;
        if (swap) {
            ck_tensor *t = g;
            g = other;
            other = t;
        }
    }
    return 0;
}

int ck_model_train_step(ck_model *m, ck_model_start from, const ck_tensor *x, const int32_t *labels,
                        uint32_t step, float *loss, int *correct)
{
    if (run_forward(m, from, x, 1, step))
        return -1;
    if (loss_of(m, labels, m->grad[0], loss, correct))
        return -1;
    return run_backward(m);
}

int ck_model_train_step_mix(ck_model *m, ck_model_start from, const ck_tensor *x, const int32_t *labels,
                            const int32_t *labels_b, float lam, uint32_t step, float *loss, int *correct)
{
    if (!(lam >= 0.0f && lam <= 1.0f)) {
        ck_error(D, "mixup weight %g is not in [0,1]", lam);
        return -1;
    }
    float la = 0.0f, lb = 0.0f;
    /* The loss is linear in the targets: d = lam·d_a + (1-lam)·d_b, with
     * grad[1] (free until the backward pass) holding d_b. */
    if (run_forward(m, from, x, 1, step) || loss_of(m, labels_b, m->grad[1], &lb, NULL) ||
        loss_of(m, labels, m->grad[0], &la, correct) || ck_scale(m->be, m->grad[0], lam) ||
        ck_axpy(m->be, 1.0f - lam, m->grad[1], m->grad[0]))
        return -1;
    if (loss)
        *loss = lam * la + (1.0f - lam) * lb;
    return run_backward(m);
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
