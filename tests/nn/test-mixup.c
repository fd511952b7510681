/* ck_model_train_step_mix: mixup's loss on a tiny batch equals the
 * cross-entropy against the mixed (soft, summing to one) targets computed
 * by hand from the probabilities, and its gradient is the same mix of the
 * two labels' gradients, with label smoothing and class weights too. */
#include "nn_util.h"

#include "ck/train.h"

/* By hand, for 4 rows of 3 classes: soft targets t = lam·e_a + (1-lam)·e_b,
 * which must sum to 1, and the mean over rows of -Σ_c t_c·log p_c. */
static double mixed_ce(const float *p, const int32_t *a, const int32_t *b, double lam)
{
    double want = 0;
    for (int i = 0; i < 4; i++) {
        double t[3] = {0, 0, 0}, sum = 0;
        t[a[i]] += lam;
        t[b[i]] += 1 - lam;
        for (int c = 0; c < 3; c++) {
            want -= t[c] * log((double)p[3 * i + c]);
            sum += t[c];
        }
        CHECK_CLOSE(sum, 1.0, 1e-12, 0);
    }
    return want / 4;
}

static ck_backend *be;

enum { NK = 8 * 3 };

/* Loss and predictions/kernel gradient of one step (plain when b is NULL). */
static float step(ck_model *m, const ck_tensor *x, const int32_t *a, const int32_t *b, float lam, float *grad)
{
    float loss = NAN;
    int correct = -1;
    OK(ck_model_zero_grad(m));
    if (b)
        OK(ck_model_train_step_mix(m, CK_FROM_FEATURES, x, a, b, lam, 0, &loss, &correct));
    else
        OK(ck_model_train_step(m, CK_FROM_FEATURES, x, a, 0, &loss, &correct));
    CHECK(correct >= 0 && correct <= 4);
    int i = ck_model_param_find(m, "predictions/kernel");
    OK(ck_tensor_download(ck_model_param_grad(m, i), grad, NK * sizeof(float)));
    return loss;
}

static void test_mix(float smoothing, const float *class_w)
{
    ck_model *m = nn_tiny_head(be, 0, 0, 3); /* no dropout: training and inference passes agree */
    ck_tensor *x = nn_tiny_features(be);
    OK(ck_model_set_loss(m, smoothing, class_w));
    const int32_t a[4] = {0, 2, 1, 2}, b[4] = {1, 0, 1, 0};
    const float lam = 0.7f;
    float gm[NK], ga[NK], gb[NK];
    float lm = step(m, x, a, b, lam, gm);
    float la = step(m, x, a, NULL, 0, ga);
    float lb = step(m, x, b, NULL, 0, gb);
    CHECK_CLOSE(lm, lam * la + (1 - lam) * lb, 1e-6, 0);
    for (int k = 0; k < NK; k++)
        CHECK_CLOSE(gm[k], lam * ga[k] + (1 - lam) * gb[k], 1e-5, 1e-9);
    if (smoothing == 0 && !class_w) {
        float p[4 * 3];
        OK(ck_model_forward(m, CK_FROM_FEATURES, x, p));
        double want = mixed_ce(p, a, b, lam);
        CHECK_CLOSE(lm, want, 1e-5, 0);
        /* lam = 1 is the plain step. */
        float g1[NK];
        CHECK(step(m, x, a, b, 1.0f, g1) == la);
        CHECK(memcmp(g1, ga, sizeof g1) == 0);
        CHECK(ck_model_train_step_mix(m, CK_FROM_FEATURES, x, a, b, 1.5f, 0, NULL, NULL) == -1);
        ck_error_clear();
    }
    ck_tensor_free(x);
    ck_model_free(m);
}

/* CutMix's box: inside the image, its area is 1 - lam of it, and the
 * pasted images hold exactly a share lam of their own pixels. */
static void test_cutmix_box(void)
{
    enum { H = 7, W = 9, N = 3 };
    ck_rng r = ck_rng_make(5, 0, 0);
    const int perm[N] = {2, 0, 1};
    int clipped = 0, empty = 0;
    for (int it = 0; it < 2000; it++) {
        int box[4];
        double lam = ck_cutmix_box(&r, it % 2 ? 1.0 : 0.3, H, W, box);
        CHECK(box[0] >= 0 && box[0] <= box[2] && box[2] <= H && box[1] >= 0 && box[1] <= box[3] && box[3] <= W);
        CHECK(lam >= 0 && lam <= 1);
        int area = (box[2] - box[0]) * (box[3] - box[1]);
        CHECK_CLOSE(lam, 1.0 - (double)area / (H * W), 1e-12, 0);
        empty += area == 0;
        clipped += box[0] == 0 || box[1] == 0 || box[2] == H || box[3] == W;
        uint8_t src[N * H * W * 2], dst[N * H * W * 2];
        for (int i = 0; i < N * H * W * 2; i++)
            src[i] = (uint8_t)(i / (H * W * 2)); /* every element of image j is j */
        ck_cutmix_paste(dst, src, 1, N, H, W, 2, perm, box);
        for (int j = 0; j < N; j++) {
            int own = 0;
            for (int i = 0; i < H * W * 2; i++)
                own += dst[j * H * W * 2 + i] == j;
            CHECK_CLOSE((double)own / (H * W * 2), lam, 1e-12, 0);
            CHECK(own == H * W * 2 || dst[j * H * W * 2 + box[0] * W * 2 + box[1] * 2] == perm[j]);
        }
    }
    CHECK(clipped > 100 && empty < 2000);
}

/* The CutMix step's loss: the features of nn_tiny_features seen as
 * 16×32 images of one channel, a box pasted from the partners, and the
 * cross-entropy against soft targets lam·e_a + (1-lam)·e_b by hand. */
static void test_cutmix_loss(void)
{
    ck_model *m = nn_tiny_head(be, 0, 0, 3);
    ck_tensor *x = nn_tiny_features(be);
    float f[4 * 512], mixed[4 * 512], p[4 * 3];
    OK(ck_tensor_download(x, f, sizeof f));
    const int32_t a[4] = {0, 2, 1, 2};
    const int perm[4] = {1, 3, 0, 2};
    int32_t b[4];
    for (int j = 0; j < 4; j++)
        b[j] = a[perm[j]];
    ck_rng r = ck_rng_make(11, 0, 0);
    int box[4];
    double lam = 1;
    while (lam > 0.9 || lam < 0.1) /* a box that matters */
        lam = ck_cutmix_box(&r, 1.0, 16, 32, box);
    ck_cutmix_paste(mixed, f, sizeof(float), 4, 16, 32, 1, perm, box);
    OK(ck_tensor_upload(x, mixed, sizeof mixed));
    OK(ck_model_forward(m, CK_FROM_FEATURES, x, p));
    double want = mixed_ce(p, a, b, lam);
    float loss = NAN;
    OK(ck_model_zero_grad(m));
    OK(ck_model_train_step_mix(m, CK_FROM_FEATURES, x, a, b, (float)lam, 0, &loss, NULL));
    CHECK_CLOSE(loss, want, 1e-5, 0);
    ck_tensor_free(x);
    ck_model_free(m);
}

int main(void)
{
    be = test_backend();
    test_mix(0, NULL);
    const float w[3] = {0.5f, 2.0f, 1.0f};
    test_mix(0.1f, w);
    test_cutmix_box();
    test_cutmix_loss();
    ck_backend_free(be);
    return check_report("test-mixup");
}
