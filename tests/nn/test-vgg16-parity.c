/* A whole VGG16 (32×32, batch 2, block5 + head trainable) against PyTorch:
 * tests/fixtures/nn/vgg16.safetensors holds the images, the head weights
 * and the reference outputs, computed by tests/reference/make_fixtures.py
 * from the weights that ck_weights_write_random_h5(path, 7, 0) writes (the
 * test regenerates that file). References are float64; tolerances: 1e-4
 * relative for activations and probabilities, 1e-3 for gradients (13
 * layers of float32 summation-order differences; entries are also judged
 * against 1% of the array's largest magnitude). */
#include "nn_util.h"

#include "ck/model.h"
#include "ck/ops.h"
#include "ck/weights.h"

#include <unistd.h>

static ck_backend *be;
static ck_st_file *fx;

static ck_model *make_model(const ck_weights *w, int train_blocks)
{
    ck_net_config c;
    ck_net_config_default(&c);
    c.input_size = 32;
    c.num_classes = 5;
    c.hidden[0] = 16;
    c.dropout = 0.0f;
    c.train_blocks = train_blocks;
    c.frozen_algo = CK_CONV_FP32;
    ck_model *m = ck_model_new(be, &c, 2);
    CHECK(m != NULL);
    OK(ck_model_load_weights(m, w));
    static const char *head[] = {"dense_1/kernel", "dense_1/bias", "predictions/kernel", "predictions/bias"};
    for (int i = 0; i < 4; i++) {
        size_t n;
        float *p = fx_f32(fx, head[i], &n);
        OK(ck_model_param_set(m, head[i], p, n));
        free(p);
    }
    return m;
}

static void compare_grad(ck_model *m, const char *param, const char *fixture)
{
    close_fx(param, ck_model_param_grad(m, ck_model_param_find(m, param)), fx, fixture, 1e-3);
}

int main(void)
{
    be = test_backend();
    fx = open_fixture("vgg16.safetensors");
    char path[64];
    snprintf(path, sizeof path, "vgg16-seed7-%d.h5", (int)getpid());
    if (ck_weights_write_random_h5(path, 7, 0)) {
        fprintf(stderr, "%s", ck_error_buffer());
        return 1;
    }
    ck_weights *w = ck_weights_load(path);
    unlink(path);
    if (!w) {
        fprintf(stderr, "%s", ck_error_buffer());
        return 1;
    }
    ck_tensor *images = fx_tensor(be, fx, "images", CK_U8);
    size_t n;
    int32_t *labels = fx_data(fx, "labels", NULL, NULL, &n);

    /* block5 trainable: features are block4_pool */
    ck_model *m = make_model(w, 1);
    float probs[10];
    OK(ck_model_forward(m, CK_FROM_INPUT, images, probs));
    float *want = fx_f32(fx, "probs", NULL);
    close_arrays("probabilities", probs, want, 10, 1e-4);
    free(want);
    ck_tensor *feat = ck_tensor_new_4d(be, CK_F32, 2, 2, 2, 512);
    OK(ck_model_features(m, images, feat));
    close_fx("block4_pool", feat, fx, "block4_pool", 1e-4);

    float loss = 0;
    OK(ck_model_zero_grad(m));
    OK(ck_model_train_step(m, CK_FROM_INPUT, images, labels, 0, &loss, NULL));
    want = fx_f32(fx, "loss", NULL);
    close_arrays("loss", &loss, want, 1, 1e-4);
    free(want);
    compare_grad(m, "predictions/kernel", "grad/predictions/kernel");
    compare_grad(m, "predictions/bias", "grad/predictions/bias");
    compare_grad(m, "dense_1/kernel", "grad/dense_1/kernel");
    compare_grad(m, "dense_1/bias", "grad/dense_1/bias");
    compare_grad(m, "block5_conv3/bias", "grad/block5_conv3/bias");
    compare_grad(m, "block5_conv1/bias", "grad/block5_conv1/bias");
    static const char *convs[] = {"block5_conv1", "block5_conv2", "block5_conv3"};
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s/kernel", convs[k]);
        ck_tensor *g = ck_model_param_grad(m, ck_model_param_find(m, name));
        double ss;
        OK(ck_sum_squares(be, g, &ss));
        snprintf(name, sizeof name, "grad/%s/kernel_sumsq", convs[k]);
        float *ref = fx_f32(fx, name, NULL), got = (float)ss;
        close_arrays(name, &got, ref, 1, 1e-3);
        free(ref);
        if (k == 1)
            continue;
        /* The [:, :, :8, :8] corner of the HWIO gradient. */
        float *all = download(g), corner[9 * 64];
        for (int t = 0; t < 9; t++)
            for (int i = 0; i < 8; i++)
                for (int o = 0; o < 8; o++)
                    corner[(t * 8 + i) * 8 + o] = all[((size_t)t * 512 + i) * 512 + o];
        snprintf(name, sizeof name, "grad/%s/kernel_corner", convs[k]);
        ref = fx_f32(fx, name, NULL);
        close_arrays(name, corner, ref, 9 * 64, 1e-3);
        free(ref);
        free(all);
    }
    ck_model_free(m);

    /* Head only: features are block5_pool; the default (fast) algorithm
     * for frozen convs stays within 1e-3 of the reference. */
    m = make_model(w, 0);
    ck_tensor *f5 = ck_tensor_new_4d(be, CK_F32, 2, 1, 1, 512);
    OK(ck_model_features(m, images, f5));
    close_fx("block5_pool", f5, fx, "block5_pool", 1e-4);
    ck_model_free(m);
    ck_net_config c;
    ck_net_config_default(&c);
    c.num_classes = 5, c.hidden[0] = 16;
    m = ck_model_new(be, &c, 2);
    OK(ck_model_load_weights(m, w));
    OK(ck_model_features(m, images, f5));
    close_fx("block5_pool (auto algorithm)", f5, fx, "block5_pool", 1e-3);
    ck_model_free(m);

    ck_tensor_free(f5);
    ck_tensor_free(feat);
    ck_tensor_free(images);
    free(labels);
    ck_weights_free(w);
    ck_st_close(fx);
    ck_backend_free(be);
    return check_report("test-vgg16-parity");
}
