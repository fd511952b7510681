/* The graph backbones (ResNet50, VGG19): parameter counts as Keras reports
 * them, the summary, frozen batch norm folded into the convs giving the
 * same values as batch norm run on its own, finite-difference gradients of
 * a trained ResNet stage, the buffer pools' sizes, and ck_model_run_to's
 * refusals. PyTorch references are in test-backbones-reference. */
#include "nn_util.h"

#include "model_internal.h"

#include "ck/model.h"
#include "ck/rng.h"

static ck_backend *be;

static ck_net_config config(ck_arch a, ck_layout l, int size, int train_blocks)
{
    ck_net_config c;
    ck_net_config_default(&c);
    c.arch = a;
    c.layout = l;
    c.input_size = size;
    c.num_classes = 4;
    c.pool = CK_POOL_AVG;
    c.num_hidden = 0;
    c.dropout = 0.0f;
    c.train_blocks = train_blocks;
    c.seed = 5;
    return c;
}

static void test_counts(void)
{
    static const struct {
        ck_arch a;
        ck_layout l;
        long long base;
    } want[] = {{CK_ARCH_RESNET50, CK_LAYOUT_KERAS, 23587712},
                {CK_ARCH_RESNET50, CK_LAYOUT_TORCHVISION, 23561152},
                {CK_ARCH_VGG19, CK_LAYOUT_KERAS, 20024384},
                {CK_ARCH_VGG16, CK_LAYOUT_TORCHVISION, 14714688}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        ck_net_config c = config(want[k].a, want[k].l, 224, 0);
        ck_model *m = ck_model_new(be, &c, 1);
        CHECK(m != NULL);
        if (!m)
            continue;
        long long total, tr, non;
        ck_model_param_totals(m, &total, &tr, &non);
        CHECK(non == want[k].base);
        CHECK(tr == 4 * (c.arch == CK_ARCH_RESNET50 ? 2048 : 512) + 4);
        ck_model_free(m);
    }
    ck_net_config c = config(CK_ARCH_RESNET50, CK_LAYOUT_KERAS, 224, 0);
    ck_model *m = ck_model_new(be, &c, 1);
    char *s = summary_text(m);
    CHECK(strstr(s, "Model: \"resnet50\"") != NULL);
    CHECK(strstr(s, " conv1_conv (Conv2D)         (None, 112, 112, 64)      9472") != NULL);
    CHECK(strstr(s, " conv1_bn (BatchNormalization) (None, 112, 112, 64)      256") != NULL);
    CHECK(strstr(s, " pool1_pool (MaxPooling2D)   (None, 56, 56, 64)        0") != NULL);
    CHECK(strstr(s, " conv2_block1_add (Add)      (None, 56, 56, 256)       0") != NULL);
    CHECK(strstr(s, " conv5_block3_out (Activation) (None, 7, 7, 2048)        0") != NULL);
    CHECK(strstr(s, "Non-trainable params: 23,587,712\n") != NULL);
    free(s);
    /* conv5 trained: its convs and BN scales train, the moving statistics
     * are state, everything below stays frozen. */
    CHECK(ck_model_base_end(m) == 171);
    ck_model_free(m);
    c.train_blocks = 1;
    m = ck_model_new(be, &c, 1);
    int i = ck_model_param_find(m, "conv5_block1_0_conv/kernel");
    CHECK(i >= 0 && ck_model_param_trainable(m, i));
    i = ck_model_param_find(m, "conv5_block3_3_bn/moving_variance");
    CHECK(i >= 0 && ck_model_param_kind(m, i) == CK_PARAM_STATE);
    i = ck_model_param_find(m, "conv4_block6_3_bn/gamma");
    CHECK(i >= 0 && ck_model_param_kind(m, i) == CK_PARAM_FROZEN);
    CHECK(strcmp(ck_model_feature_layer(m), "conv4_block6_out") == 0);
    int fs[3];
    ck_model_feature_shape(m, fs);
    CHECK(fs[0] == 14 && fs[1] == 14 && fs[2] == 1024);
    ck_model_free(m);
}

/* Sane random values for every parameter: He-like kernels, BN statistics
 * away from the identity so folding is exercised. */
static void randomize(ck_model *m, uint64_t seed)
{
    ck_rng rng = ck_rng_make(seed, 0, 0);
    for (int i = 0; i < ck_model_param_count(m); i++) {
        const char *name = ck_model_param_name(m, i);
        ck_tensor *t = ck_model_param(m, i);
        size_t n = ck_tensor_numel(t);
        float *h = malloc(n * sizeof(float));
        double fan = ck_tensor_ndim(t) == 4 ? (double)ck_tensor_dim(t, 0) * ck_tensor_dim(t, 1) * ck_tensor_dim(t, 2)
                                            : ck_tensor_ndim(t) == 2 ? ck_tensor_dim(t, 0) : 1;
        const char *suffix = strrchr(name, '/') + 1;
        for (size_t k = 0; k < n; k++) {
            double u = ck_rng_uniform(&rng);
            if (!strcmp(suffix, "kernel"))
                h[k] = (float)(sqrt(2.0 / fan) * ck_rng_normal(&rng));
            else if (!strcmp(suffix, "gamma") || !strcmp(suffix, "moving_variance"))
                h[k] = (float)(0.5 + u);
            else
                h[k] = (float)(0.4 * u - 0.2);
        }
        CHECK(ck_model_param_set(m, name, h, n) == 0);
        free(h);
    }
}

static void copy_params(const ck_model *from, ck_model *to)
{
    for (int i = 0; i < ck_model_param_count(from); i++) {
        const char *name = ck_model_param_name(from, i);
        size_t n = ck_tensor_numel(((ck_model *)from)->params[i].t);
        float *h = malloc(n * sizeof(float));
        CHECK(ck_model_param_get(from, name, h, n) == 0);
        CHECK(ck_model_param_set(to, name, h, n) == 0);
        free(h);
    }
}

static ck_tensor *images(int n, int s, uint64_t seed)
{
    ck_tensor *x = ck_tensor_new_4d(be, CK_U8, n, s, s, 3);
    size_t len = (size_t)n * s * s * 3;
    uint8_t *h = malloc(len);
    ck_rng rng = ck_rng_make(seed, 0, 0);
    for (size_t i = 0; i < len; i++)
        h[i] = (uint8_t)(ck_rng_u32(&rng) & 255);
    ck_tensor_upload(x, h, len);
    free(h);
    return x;
}

/* Frozen BN folded into the convs (train_blocks 0) against BN run as its
 * own layer in inference mode (train_blocks 5, nothing folded). */
static void test_fold(ck_layout layout)
{
    const int S = 64, n = 2;
    ck_net_config cf = config(CK_ARCH_RESNET50, layout, S, 0), cu = config(CK_ARCH_RESNET50, layout, S, 5);
    ck_model *frozen = ck_model_new(be, &cf, n), *open = ck_model_new(be, &cu, n);
    CHECK(frozen && open);
    randomize(frozen, 77);
    copy_params(frozen, open);
    ck_tensor *x = images(n, S, 3);
    const int end = ck_model_base_end(frozen);
    ck_tensor *got = ck_tensor_new_4d(be, CK_F32, n, 2, 2, 2048);
    CHECK(ck_model_run_to(frozen, x, end, got) == 0);
    CHECK(ck_model_forward(open, CK_FROM_INPUT, x, NULL) == 0);
    float *a = download(got), *b = download(open->out[end]);
    double scale = 0, err = 0;
    for (size_t i = 0; i < ck_tensor_numel(got); i++) {
        scale = fmax(scale, fabs(b[i]));
        err = fmax(err, fabs(a[i] - b[i]));
    }
    fprintf(stderr, "fold (%s): max|folded - unfolded| / max = %.3g\n", ck_layout_name(layout), err / scale);
    CHECK(scale > 0 && err / scale < 2e-5);
    free(a), free(b);
    ck_tensor_free(got);
    ck_tensor_free(x);
    ck_model_free(frozen);
    ck_model_free(open);
}

static ck_model *grad_model;
static ck_tensor *grad_x;
static const int32_t grad_labels[2] = {1, 3};

static double train_loss(void)
{
    float loss = 0.0f;
    CHECK(ck_model_train_step(grad_model, CK_FROM_INPUT, grad_x, grad_labels, 0, &loss, NULL) == 0);
    return loss;
}

/* conv5 trained with batch statistics: analytic gradients against central
 * differences of the training loss (the moving statistics it updates do
 * not enter that loss). */
static void test_stage_gradients(ck_layout layout)
{
    ck_net_config c = config(CK_ARCH_RESNET50, layout, 64, 1);
    grad_model = ck_model_new(be, &c, 2);
    randomize(grad_model, 91);
    grad_x = images(2, 64, 8);
    static const char *names[] = {"conv5_block1_1_conv/kernel", "conv5_block1_2_conv/kernel",
                                  "conv5_block1_0_conv/kernel", "conv5_block3_3_bn/gamma", "conv5_block2_2_bn/beta",
                                  "predictions/kernel"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int i = ck_model_param_find(grad_model, names[k]);
        CHECK(i >= 0);
        ck_tensor *p = ck_model_param(grad_model, i), *g = ck_model_param_grad(grad_model, i);
        size_t n = ck_tensor_numel(p);
        CHECK(ck_model_zero_grad(grad_model) == 0);
        train_loss();
        float *an = download(g), *host = download(p);
        /* the largest-gradient elements: a clear signal above float noise */
        size_t best[3] = {0, 0, 0};
        for (size_t e = 0; e < n; e++)
            for (int r = 0; r < 3; r++)
                if (fabs(an[e]) > fabs(an[best[r]])) {
                    for (int q = 2; q > r; q--)
                        best[q] = best[q - 1];
                    best[r] = e;
                    break;
                }
        for (int r = 0; r < 3; r++) {
            size_t e = best[r];
            const float v = host[e], h = 2e-3f * fmaxf(1.0f, fabsf(v));
            host[e] = v + h;
            ck_tensor_upload(p, host, n * sizeof(float));
            double lp = train_loss();
            host[e] = v - h;
            ck_tensor_upload(p, host, n * sizeof(float));
            double lm = train_loss();
            host[e] = v;
            ck_tensor_upload(p, host, n * sizeof(float));
            double num = (lp - lm) / (2.0 * h);
            if (fabs(num - an[e]) > 0.03 * fabs(an[e]) + 1e-4)
                fprintf(stderr, "%s[%zu]: analytic %.6g numeric %.6g\n", names[k], e, an[e], num);
            CHECK_CLOSE(an[e], num, 0.03, 1e-4);
        }
        free(an), free(host);
    }
    ck_tensor_free(grad_x);
    ck_model_free(grad_model);
}

static void test_pools_and_layers(void)
{
    ck_net_config c = config(CK_ARCH_RESNET50, CK_LAYOUT_KERAS, 32, 1);
    ck_model *m = ck_model_new(be, &c, 2);
    /* a block's input, its branch and the shortcut: few live buffers */
    CHECK(m->acts.n >= 2 && m->acts.n <= 4);
    CHECK(m->grads.n >= 2 && m->grads.n <= 6);
    ck_model_free(m);
    c.train_blocks = 0;
    m = ck_model_new(be, &c, 2);
    ck_tensor *x = images(2, 32, 1), *out = ck_tensor_new_4d(be, CK_F32, 2, 16, 16, 64);
    int i = ck_model_layer_find(m, "conv1_conv");
    CHECK(i == 0 && ck_model_run_to(m, x, i, out) == -1);
    CHECK(strstr(ck_error_buffer(), "conv1_relu") != NULL);
    i = ck_model_layer_find(m, "conv1_relu");
    CHECK(i == 2 && ck_model_run_to(m, x, i, out) == 0);
    int s[3];
    CHECK(ck_model_layer_shape(m, i, s) == 0 && s[0] == 16 && s[1] == 16 && s[2] == 64);
    float *h = download(out);
    int negative = 0;
    for (size_t k = 0; k < ck_tensor_numel(out); k++)
        negative += h[k] < 0.0f;
    CHECK(negative == 0); /* the fused ReLU ran */
    free(h);
    CHECK(ck_model_run_to(m, x, ck_model_base_end(m) + 1, out) == -1);
    CHECK(ck_model_layer_find(m, "no_such_layer") == -1);
    ck_tensor_free(x);
    ck_tensor_free(out);
    ck_model_free(m);
}

int main(void)
{
    be = test_backend();
    test_counts();
    test_pools_and_layers();
    test_fold(CK_LAYOUT_KERAS);
    test_fold(CK_LAYOUT_TORCHVISION);
    test_stage_gradients(CK_LAYOUT_KERAS);
    test_stage_gradients(CK_LAYOUT_TORCHVISION);
    ck_backend_free(be);
    return check_report("test-model-graph");
}
