/* Every CPU (or CK_TEST_DEVICE) operation against PyTorch references in
 * tests/fixtures/nn/layers.safetensors (made by tests/reference/
 * make_fixtures.py; references computed in float64). Tolerance: 1e-4
 * relative to each value plus 1e-6 of the array's largest magnitude. */
#include "nn_util.h"

#include "ck/ops.h"
#include "ck/rng.h"

#define RTOL 1e-4

static ck_backend *be;
static ck_st_file *fx;

static ck_tensor *in(const char *name) { return fx_tensor(be, fx, name, CK_F32); }

static void test_conv(void)
{
    ck_tensor *x = in("conv/x"), *w = in("conv/w"), *b = in("conv/b"), *dy = in("conv/dy");
    ck_tensor *y = like(be, dy, CK_F32), *dx = like(be, x, CK_F32), *dw = like(be, w, CK_F32), *db = like(be, b, CK_F32);
    const ck_conv_algo algos[] = {CK_CONV_FP32, CK_CONV_AUTO, CK_CONV_WINOGRAD};
    for (int a = 0; a < 3; a++) {
        OK(ck_conv3x3_forward(be, x, w, b, y, 0, algos[a]));
        close_fx(ck_conv_algo_name(algos[a]), y, fx, "conv/y", RTOL);
        OK(ck_conv3x3_forward(be, x, w, b, y, 1, algos[a]));
        close_fx("conv relu", y, fx, "conv/y_relu", RTOL);
    }
    OK(ck_conv3x3_backward_data(be, dy, w, dx));
    close_fx("conv dx", dx, fx, "conv/dx", RTOL);
    OK(ck_conv3x3_backward_filter(be, x, dy, dw, db, 0.0f));
    close_fx("conv dw", dw, fx, "conv/dw", RTOL);
    close_fx("conv db", db, fx, "conv/db", RTOL);
    /* beta = 1 accumulates: twice the gradient. */
    OK(ck_conv3x3_backward_filter(be, x, dy, dw, db, 1.0f));
    OK(ck_scale(be, dw, 0.5f));
    OK(ck_scale(be, db, 0.5f));
    close_fx("conv dw accumulated", dw, fx, "conv/dw", RTOL);
    close_fx("conv db accumulated", db, fx, "conv/db", RTOL);
    /* Shape errors are caught before the backend. */
    ck_error_clear();
    CHECK(ck_conv3x3_forward(be, x, w, b, dx, 0, CK_CONV_FP32) == -1);
    CHECK(strstr(ck_error_buffer(), "kernel") != NULL);
    ck_error_clear();
    ck_tensor *tensors[] = {x, w, b, dy, y, dx, dw, db};
    for (int i = 0; i < 8; i++)
        ck_tensor_free(tensors[i]);

    x = in("conv3/x"), w = in("conv3/w"), b = in("conv3/b");
    ck_tensor *y3 = ck_tensor_new_4d(be, CK_F32, 1, 4, 4, 8);
    OK(ck_conv3x3_forward(be, x, w, b, y3, 1, CK_CONV_FP32));
    close_fx("conv 3 channels", y3, fx, "conv3/y", RTOL);
    ck_tensor_free(x), ck_tensor_free(w), ck_tensor_free(b), ck_tensor_free(y3);
}

static void test_pools(void)
{
    ck_tensor *x = in("maxpool/x"), *dy = in("maxpool/dy");
    ck_tensor *y = like(be, dy, CK_F32), *dx = like(be, x, CK_F32);
    OK(ck_maxpool2_forward(be, x, y));
    close_fx("maxpool y", y, fx, "maxpool/y", RTOL);
    OK(ck_maxpool2_backward(be, x, y, dy, dx));
    close_fx("maxpool dx (first max wins)", dx, fx, "maxpool/dx", RTOL);
    ck_tensor_free(x), ck_tensor_free(dy), ck_tensor_free(y), ck_tensor_free(dx);

    x = in("gap/x"), dy = in("gap/dy");
    y = like(be, dy, CK_F32), dx = like(be, x, CK_F32);
    OK(ck_avgpool_global_forward(be, x, y));
    close_fx("gap y", y, fx, "gap/y", RTOL);
    OK(ck_avgpool_global_backward(be, dy, dx));
    close_fx("gap dx", dx, fx, "gap/dx", RTOL);
    ck_tensor_free(x), ck_tensor_free(dy), ck_tensor_free(y), ck_tensor_free(dx);
}

static void test_dense(void)
{
    ck_tensor *x = in("dense/x"), *w = in("dense/w"), *b = in("dense/b"), *dy = in("dense/dy");
    ck_tensor *y = like(be, dy, CK_F32), *dx = like(be, x, CK_F32), *dw = like(be, w, CK_F32), *db = like(be, b, CK_F32);
    OK(ck_dense_forward(be, x, w, b, y));
    close_fx("dense y", y, fx, "dense/y", RTOL);
    OK(ck_dense_backward(be, x, w, dy, dx, dw, db, 0.0f));
    close_fx("dense dx", dx, fx, "dense/dx", RTOL);
    close_fx("dense dw", dw, fx, "dense/dw", RTOL);
    close_fx("dense db", db, fx, "dense/db", RTOL);
    ck_tensor *tensors[] = {x, w, b, dy, y, dx, dw, db};
    for (int i = 0; i < 8; i++)
        ck_tensor_free(tensors[i]);
}

static void test_xent(void)
{
    ck_tensor *z = in("xent/logits"), *cw = in("xent/weights");
    ck_tensor *labels = fx_tensor(be, fx, "xent/labels", CK_I32);
    ck_tensor *p = like(be, z, CK_F32), *dz = like(be, z, CK_F32);
    OK(ck_softmax_forward(be, z, p));
    close_fx("softmax", p, fx, "xent/probs", RTOL);
    struct { const char *tag; int weighted; float smooth; } cases[] = {
        {"plain", 0, 0.0f}, {"w", 1, 0.0f}, {"s", 0, 0.1f}, {"ws", 1, 0.2f}};
    for (int i = 0; i < 4; i++) {
        char name[64];
        float loss = -1.0f;
        int correct = -1;
        OK(ck_softmax_xent(be, z, labels, cases[i].weighted ? cw : NULL, cases[i].smooth, p, dz, &loss, &correct));
        snprintf(name, sizeof name, "xent/%s/loss", cases[i].tag);
        float *want = fx_f32(fx, name, NULL);
        close_arrays(name, &loss, want, 1, RTOL);
        free(want);
        snprintf(name, sizeof name, "xent/%s/dlogits", cases[i].tag);
        close_fx(name, dz, fx, name, RTOL);
        close_fx("xent probs", p, fx, "xent/probs", RTOL);
        CHECK(correct >= 0 && correct <= 6);
    }
    /* Out-of-range label: a clear error. */
    int32_t bad[6] = {0, 1, 2, 3, 4, 5};
    OK(ck_tensor_upload(labels, bad, sizeof bad));
    ck_error_clear();
    CHECK(ck_softmax_xent(be, z, labels, NULL, 0.0f, p, dz, NULL, NULL) == -1);
    CHECK(strstr(ck_error_buffer(), "label 5") != NULL);
    ck_error_clear();
    ck_tensor_free(z), ck_tensor_free(cw), ck_tensor_free(labels), ck_tensor_free(p), ck_tensor_free(dz);
}

static void test_bn(void)
{
    ck_tensor *x = in("bn/x"), *g = in("bn/gamma"), *b = in("bn/beta"), *dy = in("bn/dy");
    ck_tensor *rm = in("bn/rm"), *rv = in("bn/rv");
    ck_tensor *sm = like(be, g, CK_F32), *si = like(be, g, CK_F32), *y = like(be, x, CK_F32);
    ck_tensor *dx = like(be, x, CK_F32), *dg = like(be, g, CK_F32), *db = like(be, g, CK_F32);
    OK(ck_batchnorm_forward(be, x, g, b, rm, rv, sm, si, y, 1, 0.1f, 1e-3f));
    close_fx("bn train y", y, fx, "bn/y", RTOL);
    close_fx("bn running mean", rm, fx, "bn/rm_new", RTOL);
    close_fx("bn running var (unbiased)", rv, fx, "bn/rv_new", RTOL);
    OK(ck_batchnorm_backward(be, x, dy, g, sm, si, dx, dg, db, 0.0f));
    close_fx("bn dx", dx, fx, "bn/dx", RTOL);
    close_fx("bn dgamma", dg, fx, "bn/dgamma", RTOL);
    close_fx("bn dbeta", db, fx, "bn/dbeta", RTOL);
    ck_tensor_free(rm), ck_tensor_free(rv);
    rm = in("bn/rm"), rv = in("bn/rv");
    OK(ck_batchnorm_forward(be, x, g, b, rm, rv, NULL, NULL, y, 0, 0.1f, 1e-3f));
    close_fx("bn eval y", y, fx, "bn/y_eval", RTOL);
    ck_tensor *tensors[] = {x, g, b, dy, rm, rv, sm, si, y, dx, dg, db};
    for (int i = 0; i < 12; i++)
        ck_tensor_free(tensors[i]);
}

static void test_dropout(void)
{
    ck_tensor *x = in("dropout/x"), *dy = in("dropout/dy");
    ck_tensor *y = like(be, x, CK_F32), *dx = like(be, x, CK_F32), *mask = like(be, x, CK_U8);
    OK(ck_dropout_forward(be, x, y, mask, 0.3f, 0x123456789ABCDEFull, 7));
    size_t n;
    uint8_t *want = fx_data(fx, "dropout/mask", NULL, NULL, &n);
    uint8_t got[64];
    OK(ck_tensor_download(mask, got, n));
    CHECK(memcmp(got, want, n) == 0); /* the documented Philox formula */
    free(want);
    close_fx("dropout y", y, fx, "dropout/y", RTOL);
    OK(ck_dropout_backward(be, dy, mask, dx, 0.3f));
    close_fx("dropout dx", dx, fx, "dropout/dx", RTOL);
    /* In place, and a different step gives a different mask. */
    OK(ck_dropout_forward(be, x, x, mask, 0.3f, 0x123456789ABCDEFull, 7));
    close_fx("dropout in place", x, fx, "dropout/y", RTOL);
    uint8_t other[64];
    ck_tensor *x2 = in("dropout/x");
    OK(ck_dropout_forward(be, x2, y, mask, 0.3f, 0x123456789ABCDEFull, 8));
    OK(ck_tensor_download(mask, other, n));
    CHECK(memcmp(got, other, n) != 0);
    ck_tensor_free(x), ck_tensor_free(x2), ck_tensor_free(dy), ck_tensor_free(y), ck_tensor_free(dx);
    ck_tensor_free(mask);
}

static void test_optim(void)
{
    static const char *names[] = {"sgd", "sgd_mom", "sgd_nesterov", "sgd_wd", "adam", "adam_wd", "adamw", "rmsprop"};
    for (int c = 0; c < 8; c++) {
        ck_tensor *p = in("optim/p0"), *s0 = like(be, p, CK_F32), *s1 = like(be, p, CK_F32);
        OK(ck_tensor_fill(s0, 0.0f));
        OK(ck_tensor_fill(s1, 0.0f));
        for (int k = 1; k <= 2; k++) {
            ck_tensor *g = in(k == 1 ? "optim/g1" : "optim/g2");
            switch (c) {
            case 0: OK(ck_sgd_update(be, p, g, NULL, 0.1f, 0.0f, 0, 0.0f)); break;
            case 1: OK(ck_sgd_update(be, p, g, s0, 0.1f, 0.9f, 0, 0.0f)); break;
            case 2: OK(ck_sgd_update(be, p, g, s0, 0.1f, 0.9f, 1, 0.0f)); break;
            case 3: OK(ck_sgd_update(be, p, g, s0, 0.1f, 0.9f, 0, 0.01f)); break;
            case 4: OK(ck_adam_update(be, p, g, s0, s1, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0, k)); break;
            case 5: OK(ck_adam_update(be, p, g, s0, s1, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, 0, k)); break;
            case 6: OK(ck_adam_update(be, p, g, s0, s1, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, 1, k)); break;
            case 7: OK(ck_rmsprop_update(be, p, g, s0, 0.01f, 0.9f, 1e-7f, 0.01f)); break;
            }
            char name[64];
            snprintf(name, sizeof name, "optim/%s/p%d", names[c], k);
            close_fx(name, p, fx, name, RTOL);
            ck_tensor_free(g);
        }
        ck_tensor_free(p), ck_tensor_free(s0), ck_tensor_free(s1);
    }
}

static void test_utils(void)
{
    float h[5] = {1, -2, 3, 0.5f, 0};
    ck_tensor *t = ck_tensor_new_1d(be, CK_F32, 5), *u = ck_tensor_new_1d(be, CK_F32, 5);
    OK(ck_tensor_upload(t, h, sizeof h));
    OK(ck_tensor_fill(u, 1.0f));
    OK(ck_axpy(be, 2.0f, t, u));
    OK(ck_scale(be, u, 0.5f));
    float got[5];
    OK(ck_tensor_download(u, got, sizeof got));
    for (int i = 0; i < 5; i++)
        CHECK_CLOSE(got[i], 0.5f + h[i], 1e-6, 1e-7);
    double ss = 0;
    OK(ck_sum_squares(be, t, &ss));
    CHECK_CLOSE(ss, 1 + 4 + 9 + 0.25, 1e-12, 0);
    h[2] = NAN;
    OK(ck_tensor_upload(t, h, sizeof h));
    OK(ck_sum_squares(be, t, &ss));
    CHECK(isnan(ss));
    /* Caffe preprocessing: RGB bytes -> BGR minus the mean. */
    uint8_t rgb[2 * 1 * 1 * 3] = {10, 20, 30, 255, 0, 128};
    ck_tensor *img = ck_tensor_new_4d(be, CK_U8, 2, 1, 1, 3), *pre = ck_tensor_new_4d(be, CK_F32, 2, 1, 1, 3);
    ck_preprocess_spec caffe;
    OK(ck_preprocess_spec_of("caffe", &caffe));
    OK(ck_tensor_upload(img, rgb, sizeof rgb));
    OK(ck_preprocess(be, img, &caffe, pre));
    float pv[6];
    OK(ck_tensor_download(pre, pv, sizeof pv));
    CHECK_CLOSE(pv[0], 30 - 103.939, 1e-6, 1e-5);
    CHECK_CLOSE(pv[2], 10 - 123.68, 1e-6, 1e-5);
    CHECK_CLOSE(pv[3], 128 - 103.939, 1e-6, 1e-5);
    CHECK_CLOSE(pv[5], 255 - 123.68, 1e-6, 1e-5);
    ck_tensor_free(t), ck_tensor_free(u), ck_tensor_free(img), ck_tensor_free(pre);
}

int main(void)
{
    be = test_backend();
    fx = open_fixture("layers.safetensors");
    test_conv();
    test_pools();
    test_dense();
    test_xent();
    test_bn();
    test_dropout();
    test_optim();
    test_utils();
    ck_st_close(fx);
    ck_backend_free(be);
    return check_report("test-ops-parity");
}
