/* ck/optim.h: optimizer state enumeration and exact resume, and the
 * learning-rate schedules (constant, step, cosine with warm-up, plateau
 * with state save/restore, one-cycle with its momentum), and the weights'
 * exponential moving average. */
#include "nn_util.h"

#include "ck/optim.h"

static ck_backend *be;

static ck_model *tiny_model(void) { return nn_tiny_head(be, 0.2f, 0, 5); }
static ck_tensor *features(void) { return nn_tiny_features(be); }

static void run_steps(ck_model *m, ck_optim *o, const ck_tensor *x, int from, int to)
{
    int32_t labels[4] = {0, 2, 1, 2};
    for (int s = from; s < to; s++) {
        OK(ck_model_zero_grad(m));
        OK(ck_model_train_step(m, CK_FROM_FEATURES, x, labels, (uint32_t)s, NULL, NULL));
        OK(ck_optim_step(o, 1e-2f));
    }
}

/* Copy every trainable parameter and optimizer state from (ma, oa) to (mb, ob). */
static void transfer(ck_model *ma, ck_optim *oa, ck_model *mb, ck_optim *ob)
{
    for (int i = 0; i < ck_model_param_count(ma); i++) {
        if (ck_model_param_kind(ma, i) == CK_PARAM_FROZEN)
            continue;
        size_t n = ck_tensor_numel(ck_model_param(ma, i));
        float *p = malloc(n * sizeof(float));
        OK(ck_model_param_get(ma, ck_model_param_name(ma, i), p, n));
        OK(ck_model_param_set(mb, ck_model_param_name(ma, i), p, n));
        free(p);
    }
    for (int i = 0; i < ck_optim_state_count(oa); i++) {
        size_t n = ck_tensor_numel(ck_optim_state(oa, i));
        float *p = malloc(n * sizeof(float));
        OK(ck_optim_state_get(oa, ck_optim_state_name(oa, i), p, n));
        OK(ck_optim_state_set(ob, ck_optim_state_name(oa, i), p, n));
        free(p);
    }
    ck_optim_set_steps(ob, ck_optim_steps(oa));
}

static void test_resume(ck_optim_kind kind)
{
    ck_optim_config oc;
    ck_optim_config_default(&oc, kind);
    oc.weight_decay = 1e-3f;
    oc.nesterov = kind == CK_OPT_SGD;
    ck_tensor *x = features();
    ck_model *ma = tiny_model(), *mb = tiny_model();
    ck_optim *oa = ck_optim_new(ma, &oc), *ob = ck_optim_new(mb, &oc);
    int per = kind == CK_OPT_ADAM || kind == CK_OPT_ADAMW ? 2 : 1;
    CHECK(ck_optim_state_count(oa) == per * 4);
    CHECK(strcmp(ck_optim_state_name(oa, 0), per == 2 ? "dense_1/kernel/m" : kind == CK_OPT_SGD
                                                              ? "dense_1/kernel/velocity"
                                                              : "dense_1/kernel/sq") == 0);
    run_steps(ma, oa, x, 0, 3);
    transfer(ma, oa, mb, ob);
    run_steps(ma, oa, x, 3, 6);
    run_steps(mb, ob, x, 3, 6);
    const char *name = "predictions/kernel";
    float pa[8 * 3], pb[8 * 3];
    OK(ck_model_param_get(ma, name, pa, 24));
    OK(ck_model_param_get(mb, name, pb, 24));
    CHECK(memcmp(pa, pb, sizeof pa) == 0); /* bit-for-bit resume */
    CHECK(ck_optim_steps(ob) == 6);
    CHECK(ck_optim_state_set(ob, "nope", pa, 1) == -1);
    ck_error_clear();
    ck_optim_free(oa), ck_optim_free(ob), ck_model_free(ma), ck_model_free(mb);
    ck_tensor_free(x);
}

static void test_schedules(void)
{
    ck_lr_config c;
    ck_lr_config_default(&c, CK_LR_STEP);
    c.lr = 0.1f, c.step_epochs = 2, c.gamma = 0.5f;
    ck_lr_schedule *s = ck_lr_new(&c);
    CHECK_CLOSE(ck_lr_get(s, 0.0), 0.1, 1e-6, 0);
    CHECK_CLOSE(ck_lr_get(s, 1.9), 0.1, 1e-6, 0);
    CHECK_CLOSE(ck_lr_get(s, 2.0), 0.05, 1e-6, 0);
    CHECK_CLOSE(ck_lr_get(s, 5.5), 0.025, 1e-6, 0);
    ck_lr_free(s);

    ck_lr_config_default(&c, CK_LR_COSINE);
    c.lr = 1.0f, c.epochs = 12, c.warmup_epochs = 2, c.min_lr = 0.1f;
    s = ck_lr_new(&c);
    CHECK_CLOSE(ck_lr_get(s, 1.0), 0.5, 1e-6, 0);   /* half-way through warm-up */
    CHECK_CLOSE(ck_lr_get(s, 2.0), 1.0, 1e-6, 0);
    CHECK_CLOSE(ck_lr_get(s, 7.0), 0.55, 1e-6, 0);  /* mid-cosine: (1+0.1)/2 */
    CHECK_CLOSE(ck_lr_get(s, 12.0), 0.1, 1e-6, 0);
    CHECK_CLOSE(ck_lr_get(s, 30.0), 0.1, 1e-6, 0);
    CHECK(ck_lr_observe(s, 1.0) == 0);
    ck_lr_free(s);

    ck_lr_config_default(&c, CK_LR_PLATEAU);
    c.lr = 1.0f, c.factor = 0.5f, c.patience = 2, c.min_lr = 0.2f;
    s = ck_lr_new(&c);
    CHECK(ck_lr_observe(s, 1.0) == 0);
    CHECK(ck_lr_observe(s, 0.9) == 0);  /* improvement */
    CHECK(ck_lr_observe(s, 0.95) == 0); /* bad 1 */
    ck_lr_state st;
    ck_lr_get_state(s, &st);
    CHECK(st.bad_epochs == 1 && st.best == 0.9 && st.lr == 1.0);
    CHECK(ck_lr_observe(s, 0.9) == 1);  /* bad 2: reduce */
    CHECK_CLOSE(ck_lr_get(s, 4.0), 0.5, 1e-6, 0);
    /* Restore into a fresh schedule and continue identically. */
    ck_lr_get_state(s, &st);
    ck_lr_schedule *s2 = ck_lr_new(&c);
    ck_lr_set_state(s2, &st);
    CHECK_CLOSE(ck_lr_get(s2, 0.0), 0.5, 1e-6, 0);
    CHECK(ck_lr_observe(s2, 1.0) == 0 && ck_lr_observe(s2, 1.0) == 1);
    CHECK_CLOSE(ck_lr_get(s2, 0.0), 0.25, 1e-6, 0);
    CHECK(ck_lr_observe(s2, 1.0) == 0 && ck_lr_observe(s2, 1.0) == 1);
    CHECK_CLOSE(ck_lr_get(s2, 0.0), 0.2, 1e-6, 0); /* floor */
    CHECK(ck_lr_observe(s2, 1.0) == 0 && ck_lr_observe(s2, 1.0) == 0);
    CHECK(ck_lr_observe(s2, NAN) == 0);
    ck_lr_free(s), ck_lr_free(s2);

    ck_lr_kind k;
    CHECK(ck_lr_kind_parse("cosine", &k) == 0 && k == CK_LR_COSINE);
    CHECK(ck_lr_kind_parse("linear", &k) == -1);
    ck_optim_kind ok;
    CHECK(ck_optim_kind_parse("adamw", &ok) == 0 && ok == CK_OPT_ADAMW);
    CHECK(ck_optim_kind_parse("lamb", &ok) == -1);
    ck_lr_config_default(&c, CK_LR_COSINE);
    c.warmup_epochs = 40;
    CHECK(ck_lr_new(&c) == NULL);
    ck_error_clear();
}

/* fastai's one-cycle, written out as in its docs: a cosine from lo to hi is
 * lo + (hi - lo)·(1 - cos(π·p))/2. */
static double cos_ramp(double lo, double hi, double p) { return lo + (hi - lo) * (1.0 - cos(M_PI * p)) / 2.0; }

static void onecycle_sequence(float lr, int epochs, float warmup, double w)
{
    ck_lr_config c;
    ck_lr_config_default(&c, CK_LR_ONECYCLE);
    c.lr = lr, c.epochs = epochs, c.warmup_epochs = warmup;
    ck_lr_schedule *s = ck_lr_new(&c);
    CHECK(s != NULL);
    if (!s)
        return;
    /* Every step of a run with 7 batches per epoch. */
    for (int i = 0; i <= epochs * 7; i++) {
        double e = i / 7.0, want, want_mom;
        if (e < w) {
            want = cos_ramp(lr / 25.0, lr, e / w);
            want_mom = cos_ramp(0.95, 0.85, e / w);
        } else {
            want = cos_ramp(lr, lr / 1e4, (e - w) / (epochs - w));
            want_mom = cos_ramp(0.85, 0.95, (e - w) / (epochs - w));
        }
        float mom = -1;
        CHECK_CLOSE(ck_lr_get(s, e), want, 1e-6, 0);
        CHECK(ck_lr_momentum(s, e, &mom) == 1);
        CHECK_CLOSE(mom, want_mom, 1e-6, 0);
    }
    /* The landmarks: lr/25 and 0.95 at the start, the peak and 0.85 at the
     * end of the warm-up, lr/1e4 and 0.95 at the end (and after it). */
    float mom;
    CHECK_CLOSE(ck_lr_get(s, 0.0), lr / 25.0, 1e-6, 0);
    CHECK_CLOSE(ck_lr_get(s, w), lr, 1e-6, 0);
    CHECK(ck_lr_momentum(s, w, &mom) == 1 && fabsf(mom - 0.85f) < 1e-6f);
    CHECK_CLOSE(ck_lr_get(s, (double)epochs), lr / 1e4, 1e-6, 0);
    CHECK_CLOSE(ck_lr_get(s, epochs + 3.0), lr / 1e4, 1e-6, 0);
    CHECK(ck_lr_momentum(s, epochs + 3.0, &mom) == 1 && fabsf(mom - 0.95f) < 1e-6f);
    ck_lr_free(s);
}

static void test_onecycle(void)
{
    onecycle_sequence(0.1f, 8, 0, 2.0);   /* default warm-up: a quarter of the run */
    onecycle_sequence(3e-3f, 5, 1.5f, 1.5); /* --warmup sets it */
    ck_lr_kind k;
    CHECK(ck_lr_kind_parse("onecycle", &k) == 0 && k == CK_LR_ONECYCLE);
    /* Other schedules leave the momentum alone. */
    ck_lr_config c;
    ck_lr_config_default(&c, CK_LR_COSINE);
    ck_lr_schedule *s = ck_lr_new(&c);
    float mom = -1;
    CHECK(ck_lr_momentum(s, 1.0, &mom) == 0 && mom == -1);
    ck_lr_free(s);
    ck_lr_config_default(&c, CK_LR_ONECYCLE);
    c.epochs = 4, c.warmup_epochs = 4;
    CHECK(ck_lr_new(&c) == NULL);
    ck_error_clear();
}

/* ck_optim_set_momentum takes effect: an optimizer created with momentum
 * (beta1) 0.9 and set to 0.6 steps exactly like one created with 0.6. */
static void test_set_momentum(ck_optim_kind kind)
{
    ck_optim_config oc;
    ck_optim_config_default(&oc, kind);
    ck_tensor *x = features();
    ck_model *ma = tiny_model(), *mb = tiny_model();
    ck_optim *oa = ck_optim_new(ma, &oc);
    if (kind == CK_OPT_SGD)
        oc.momentum = 0.6f;
    else
        oc.beta1 = 0.6f;
    ck_optim *ob = ck_optim_new(mb, &oc);
    OK(ck_optim_set_momentum(oa, 0.6f));
    run_steps(ma, oa, x, 0, 3);
    run_steps(mb, ob, x, 0, 3);
    float pa[8 * 3], pb[8 * 3];
    OK(ck_model_param_get(ma, "predictions/kernel", pa, 24));
    OK(ck_model_param_get(mb, "predictions/kernel", pb, 24));
    CHECK(memcmp(pa, pb, sizeof pa) == 0);
    CHECK(ck_optim_set_momentum(oa, 1.0f) == -1);
    ck_error_clear();
    ck_optim_free(oa), ck_optim_free(ob), ck_model_free(ma), ck_model_free(mb);
    /* Plain SGD has no velocity to cycle. */
    if (kind == CK_OPT_SGD) {
        oc.momentum = 0;
        ck_model *m = tiny_model();
        ck_optim *o = ck_optim_new(m, &oc);
        CHECK(ck_optim_set_momentum(o, 0.9f) == -1);
        ck_error_clear();
        ck_optim_free(o), ck_model_free(m);
    }
    ck_tensor_free(x);
}

/* Host copy of every non-frozen parameter, concatenated. */
static size_t weights_host(ck_model *m, double *out)
{
    size_t k = 0;
    for (int i = 0; i < ck_model_param_count(m); i++) {
        if (ck_model_param_kind(m, i) == CK_PARAM_FROZEN)
            continue;
        size_t n = ck_tensor_numel(ck_model_param(m, i));
        float *p = malloc(n * sizeof *p);
        OK(ck_model_param_get(m, ck_model_param_name(m, i), p, n));
        for (size_t j = 0; j < n; j++)
            out[k++] = p[j];
        free(p);
    }
    return k;
}

/* The EMA after K steps equals the average computed by hand from the
 * weights after each step, BN moving statistics included; swapping twice
 * gives the model's weights back bit for bit. */
static void test_ema(void)
{
    ck_model *m = nn_tiny_head(be, 0, 1, 9);
    ck_optim_config oc;
    ck_optim_config_default(&oc, CK_OPT_SGD);
    ck_optim *o = ck_optim_new(m, &oc);
    const float d = 0.75f;
    ck_ema *e = ck_ema_new(m, d);
    CHECK(e != NULL && ck_ema_decay(e) == d);
    ck_tensor *x = features();
    enum { MAXW = 8192 };
    static double w[MAXW], avg[MAXW], got[MAXW];
    size_t n = weights_host(m, avg); /* the average starts as the weights */
    CHECK(n > 512 * 8 && n < MAXW);
    for (int k = 0; k < 5; k++) {
        run_steps(m, o, x, k, k + 1);
        OK(ck_ema_update(e));
        weights_host(m, w);
        for (size_t j = 0; j < n; j++)
            avg[j] = d * avg[j] + (1.0 - d) * w[j];
    }
    /* The averages, read back through a swap. */
    OK(ck_ema_swap(e));
    CHECK(weights_host(m, got) == n);
    double worst = 0;
    int moved = 0;
    for (size_t j = 0; j < n; j++) {
        worst = fmax(worst, fabs(got[j] - avg[j]) / fmax(fabs(avg[j]), 1e-3));
        moved += got[j] != w[j];
    }
    CHECK(worst < 1e-5);
    CHECK(moved > (int)n / 2); /* the average is not the weights */
    /* ck_ema_average holds the trained weights now; swap back exactly. */
    int bn = ck_model_param_find(m, "batch_normalization_1/moving_mean");
    CHECK(bn >= 0 && ck_ema_average(e, bn) != NULL);
    CHECK(ck_ema_average(e, 0) == NULL); /* frozen block1_conv1/kernel */
    OK(ck_ema_swap(e));
    weights_host(m, got);
    CHECK(memcmp(got, w, n * sizeof *w) == 0);
    CHECK(ck_ema_new(m, 1.0f) == NULL);
    ck_error_clear();
    ck_ema_free(e), ck_ema_free(NULL);
    ck_optim_free(o), ck_model_free(m), ck_tensor_free(x);
}

int main(void)
{
    be = test_backend();
    test_resume(CK_OPT_SGD);
    test_resume(CK_OPT_ADAM);
    test_resume(CK_OPT_ADAMW);
    test_resume(CK_OPT_RMSPROP);
    test_schedules();
    test_onecycle();
    test_set_momentum(CK_OPT_SGD);
    test_set_momentum(CK_OPT_ADAM);
    test_ema();
    ck_backend_free(be);
    return check_report("test-optim");
}
