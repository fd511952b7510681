/* Training tricks through ck_train_run: --schedule onecycle shows in the
 * lr column of --log as the formula says; --ema validates (and picks the
 * best checkpoint) with the averaged weights without changing training,
 * and the checkpoint holds the averages plus the trained weights; --mixup
 * changes training, resumes bit for bit and needs the feature cache; so
 * does --cutmix, which turns the cache off. */
#include "check.h"
#include "train_fixture.h"

#include "ck/checkpoint.h"
#include "ck/safetensors.h"
#include "ck/train.h"

#include <math.h>

static fixture fx;

static void options(ck_train_options *o, const char *out, const char *epochs, const char *val)
{
    fixture_options(&fx, o, out);
    ck_train_options_set(o, "epochs", epochs);
    ck_train_options_set(o, "val", val);
}

static int run(ck_train_options *o)
{
    int rc = fixture_run(o, NULL, NULL);
    ck_train_options_clear(o);
    return rc;
}

static double cos_ramp(double lo, double hi, double p) { return lo + (hi - lo) * (1.0 - cos(M_PI * p)) / 2.0; }

/* 36 images, no validation, batches of 8: 5 steps an epoch; the log's lr
 * is the rate of each epoch's last step, at epoch e - 1 + 4/5. */
static void test_onecycle_log(void)
{
    char *out = ck_path_join(fx.dir, "oc.ckpt"), *log = ck_path_join(fx.dir, "oc.csv");
    ck_train_options o;
    options(&o, out, "4", "0");
    ck_train_options_set(&o, "schedule", "onecycle");
    ck_train_options_set(&o, "optimizer", "sgd");
    ck_train_options_set(&o, "lr", "0.02");
    ck_train_options_set(&o, "log", log);
    CHECK(run(&o) == 0);
    FILE *f = fopen(log, "r");
    CHECK(f != NULL);
    char line[256];
    int rows = 0;
    while (f && fgets(line, sizeof line, f)) {
        int e;
        double lr;
        if (sscanf(line, "%d,%*[^,],%*[^,],,,%lf", &e, &lr) != 2)
            continue;
        double pos = e - 1 + 4.0 / 5.0, w = 1.0; /* warm-up: a quarter of 4 epochs */
        double want = pos < w ? cos_ramp(0.02 / 25, 0.02, pos / w) : cos_ramp(0.02, 0.02 / 1e4, (pos - w) / (4 - w));
        CHECK_CLOSE(lr, want, 1e-5, 0);
        rows++;
    }
    CHECK(rows == 4);
    if (f)
        fclose(f);
    /* SGD without momentum has nothing to cycle. */
    options(&o, out, "4", "0");
    ck_train_options_set(&o, "schedule", "onecycle");
    ck_train_options_set(&o, "optimizer", "sgd");
    ck_train_options_set(&o, "momentum", "0");
    CHECK(ck_train_options_check(&o) == -1 && strstr(ck_error_buffer(), "onecycle"));
    ck_error_clear();
    ck_train_options_clear(&o);
    free(out);
    free(log);
}

static double hist(const ck_checkpoint *c, int i, const char *key)
{
    return ck_json_number(ck_json_get(ck_json_at(ck_json_get(ck_checkpoint_state(c), "history"), i), key), NAN);
}

/* Max |a - b| of tensor `a` in file fa and `b` in fb; -1 when either is missing. */
static double tensor_diff(const char *fa, const char *a, const char *fb, const char *b)
{
    ck_st_file *x = ck_st_open(fa), *y = ck_st_open(fb);
    ck_st_tensor ta, tb;
    double worst = -1;
    if (x && y && ck_st_find(x, a, &ta) && ck_st_find(y, b, &tb) && ta.count == tb.count) {
        worst = 0;
        for (int64_t k = 0; k < ta.count; k++)
            worst = fmax(worst, fabs((double)((const float *)ta.data)[k] - ((const float *)tb.data)[k]));
    }
    ck_st_close(x);
    ck_st_close(y);
    return worst;
}

static void test_ema(void)
{
    char *plain = ck_path_join(fx.dir, "plain.ckpt"), *avg = ck_path_join(fx.dir, "ema.ckpt");
    ck_train_options o;
    options(&o, plain, "2", "0.25");
    ck_train_options_set(&o, "lr", "0.001");
    CHECK(run(&o) == 0);
    /* A decay this close to 1 keeps the averages near the initial weights:
     * the validation loss barely moves while the trained weights learn. */
    options(&o, avg, "2", "0.25");
    ck_train_options_set(&o, "lr", "0.001");
    ck_train_options_set(&o, "ema", "0.9999");
    CHECK(run(&o) == 0);
    ck_checkpoint *a = ck_checkpoint_load(plain), *b = ck_checkpoint_load(avg);
    CHECK(a && b);
    if (a && b) {
        /* Training itself is the same run. */
        CHECK(hist(a, 0, "train_loss") == hist(b, 0, "train_loss"));
        CHECK(hist(a, 1, "train_loss") == hist(b, 1, "train_loss"));
        double da = fabs(hist(a, 1, "val_loss") - hist(a, 0, "val_loss"));
        double db = fabs(hist(b, 1, "val_loss") - hist(b, 0, "val_loss"));
        fprintf(stderr, "val_loss change over epoch 2: %g plain, %g with --ema 0.9999\n", da, db);
        CHECK(da > 1e-3 && db < 0.05 * da);
    }
    ck_checkpoint_free(a);
    ck_checkpoint_free(b);
    /* The trained weights are the plain run's; the names hold the averages. */
    char *plain_last = ck_train_last_path(plain), *avg_last = ck_train_last_path(avg);
    CHECK(tensor_diff(plain_last, "predictions/kernel", avg_last, "trained/predictions/kernel") == 0);
    CHECK(tensor_diff(plain_last, "predictions/kernel", avg_last, "predictions/kernel") > 1e-4);
    CHECK(tensor_diff(plain_last, "trained/predictions/kernel", plain_last, "predictions/kernel") == -1);
    /* Prediction builds the model with the averages. */
    ck_checkpoint *c = ck_checkpoint_load(avg_last);
    ck_backend *be = ck_backend_new("cpu", 1);
    ck_model *m = c && be ? ck_checkpoint_build_model(c, be, NULL, 4) : NULL;
    CHECK(m != NULL);
    float k[32 * 3], want[32 * 3];
    ck_st_file *st = ck_st_open(avg_last);
    ck_st_tensor t;
    if (m && st && ck_st_find(st, "predictions/kernel", &t) && t.count == 96) {
        memcpy(want, t.data, sizeof want);
        CHECK(ck_model_param_get(m, "predictions/kernel", k, 96) == 0 && memcmp(k, want, sizeof k) == 0);
    } else {
        CHECK(!"predictions/kernel readable");
    }
    ck_st_close(st);
    ck_model_free(m);
    ck_backend_free(be);
    ck_checkpoint_free(c);
    options(&o, avg, "2", "0.25");
    ck_train_options_set(&o, "ema", "1");
    CHECK(ck_train_options_check(&o) == -1 && strstr(ck_error_buffer(), "--ema"));
    ck_error_clear();
    ck_train_options_clear(&o);
    free(plain), free(avg), free(plain_last), free(avg_last);
}

static void test_mixup(void)
{
    char *plain = ck_path_join(fx.dir, "plain.ckpt"), *mix = ck_path_join(fx.dir, "mix.ckpt");
    char *one = ck_path_join(fx.dir, "mix1.ckpt");
    ck_train_options o;
    options(&o, mix, "2", "0.25");
    ck_train_options_set(&o, "lr", "0.001");
    ck_train_options_set(&o, "mixup", "0.4");
    CHECK(run(&o) == 0);
    ck_checkpoint *a = ck_checkpoint_load(plain), *b = ck_checkpoint_load(mix);
    CHECK(a && b && hist(a, 0, "train_loss") != hist(b, 0, "train_loss"));
    ck_checkpoint_free(a);
    ck_checkpoint_free(b);
    /* 1 epoch, then resumed to 2: the same bits (lam and pairs come from
     * the seed and the optimizer step). */
    options(&o, one, "1", "0.25");
    ck_train_options_set(&o, "lr", "0.001");
    ck_train_options_set(&o, "mixup", "0.4");
    CHECK(run(&o) == 0);
    char *one_last = ck_train_last_path(one), *mix_last = ck_train_last_path(mix);
    CHECK(fixture_resume(one_last, 2, 0) == 0);
    CHECK(tensor_diff(mix_last, "predictions/kernel", one_last, "predictions/kernel") == 0);
    CHECK(tensor_diff(mix_last, "dense_1/kernel", one_last, "dense_1/kernel") == 0);
    /* Without the cache there are no features to mix. */
    options(&o, one, "1", "0.25");
    ck_train_options_set(&o, "mixup", "0.4");
    ck_train_options_set(&o, "cache", "none");
    ck_train_io io = {0};
    CHECK(ck_train_run(&o, &io) == -1 && strstr(ck_error_buffer(), "--mixup"));
    ck_error_clear();
    ck_train_options_clear(&o);
    free(plain), free(mix), free(one), free(one_last), free(mix_last);
}

/* --cutmix (alone, and with --mixup on the images and --mix-prob) changes
 * training, resumes bit for bit, and turns the cache off with a note. */
static void test_cutmix(const char *mixup, const char *prob)
{
    char *plain = ck_path_join(fx.dir, "plain.ckpt"), *cut = ck_path_join(fx.dir, "cut.ckpt");
    char *one = ck_path_join(fx.dir, "cut1.ckpt");
    ck_train_options o;
    options(&o, cut, "2", "0.25");
    ck_train_options_set(&o, "lr", "0.001");
    ck_train_options_set(&o, "cutmix", "1");
    ck_train_options_set(&o, "mixup", mixup);
    ck_train_options_set(&o, "mix-prob", prob);
    ck_train_options_set(&o, "progress", "0"); /* the notes, no bar: msg is no terminal */
    FILE *msg = tmpfile();
    ck_train_io io = {.msg = msg};
    CHECK(ck_train_run(&o, &io) == 0);
    free(io.summary);
    ck_train_options_clear(&o);
    char text[4096] = "";
    if (msg) {
        rewind(msg);
        text[fread(text, 1, sizeof text - 1, msg)] = '\0';
        fclose(msg);
    }
    CHECK(strstr(text, "no feature cache: --cutmix") && strstr(text, "CutMix:"));
    ck_checkpoint *a = ck_checkpoint_load(plain), *b = ck_checkpoint_load(cut);
    CHECK(a && b && hist(a, 0, "train_loss") != hist(b, 0, "train_loss"));
    ck_checkpoint_free(a);
    ck_checkpoint_free(b);
    options(&o, one, "1", "0.25");
    ck_train_options_set(&o, "lr", "0.001");
    ck_train_options_set(&o, "cutmix", "1");
    ck_train_options_set(&o, "mixup", mixup);
    ck_train_options_set(&o, "mix-prob", prob);
    CHECK(run(&o) == 0);
    char *one_last = ck_train_last_path(one), *cut_last = ck_train_last_path(cut);
    CHECK(fixture_resume(one_last, 2, 0) == 0);
    CHECK(tensor_diff(cut_last, "predictions/kernel", one_last, "predictions/kernel") == 0);
    CHECK(tensor_diff(cut_last, "dense_1/kernel", one_last, "dense_1/kernel") == 0);
    free(plain), free(cut), free(one), free(one_last), free(cut_last);
}

/* n floats of tensor `name` in file `path` into out; 0 when found. */
static int tensor_get(const char *path, const char *name, float *out, int64_t n)
{
    ck_st_file *f = ck_st_open(path);
    ck_st_tensor t;
    int rc = f && ck_st_find(f, name, &t) && t.count == n ? 0 : -1;
    if (rc == 0)
        memcpy(out, t.data, sizeof *out * (size_t)n);
    ck_st_close(f);
    return rc;
}

/* --swa-from 2 over 3 epochs: OUT.swa.ckpt holds the mean of the weights
 * (BN moving statistics too) at the end of epochs 2 and 3, and a run
 * stopped after epoch 2 and resumed writes the same bits. */
static void test_swa(void)
{
    char *full = ck_path_join(fx.dir, "swa.ckpt"), *part = ck_path_join(fx.dir, "swa2.ckpt");
    ck_train_options o;
    for (int k = 0; k < 2; k++) {
        options(&o, k ? part : full, k ? "2" : "3", "0.25");
        ck_train_options_set(&o, "lr", "0.001");
        ck_train_options_set(&o, "batchnorm", "1");
        ck_train_options_set(&o, "swa-from", "2");
        CHECK(run(&o) == 0);
    }
    char *full_last = ck_train_last_path(full), *part_last = ck_train_last_path(part);
    char *full_swa = ck_train_swa_path(full), *part_swa = ck_train_swa_path(part);
    CHECK(strstr(full_swa, "swa.swa.ckpt") != NULL);
    const char *names[2] = {"predictions/kernel", "batch_normalization_1/moving_mean"};
    const int64_t sizes[2] = {32 * 3, 32};
    float w2[2][96] = {{0}}, w3[2][96] = {{0}}, avg[2][96] = {{0}};
    /* After epoch 2 the average is epoch 2's weights. */
    for (int i = 0; i < 2; i++) {
        CHECK(tensor_get(part_last, names[i], w2[i], sizes[i]) == 0);
        CHECK(tensor_get(part_swa, names[i], avg[i], sizes[i]) == 0);
        CHECK(memcmp(w2[i], avg[i], sizeof(float) * (size_t)sizes[i]) == 0);
    }
    CHECK(fixture_resume(part_last, 3, 0) == 0);
    double moved = 0;
    for (int i = 0; i < 2; i++) {
        CHECK(tensor_get(full_last, names[i], w3[i], sizes[i]) == 0);
        CHECK(tensor_get(full_swa, names[i], avg[i], sizes[i]) == 0);
        for (int64_t k = 0; k < sizes[i]; k++) {
            double want = ((double)w2[i][k] + w3[i][k]) / 2;
            CHECK_CLOSE(avg[i][k], want, 1e-6, 1e-9);
            moved = fmax(moved, fabs((double)w3[i][k] - w2[i][k]));
        }
        CHECK(tensor_diff(full_swa, names[i], part_swa, names[i]) == 0);
        CHECK(tensor_diff(full_last, names[i], part_last, names[i]) == 0);
    }
    CHECK(moved > 1e-4);
    /* The SWA file predicts with the average and has no optimizer state;
     * the run's checkpoints, which carry swa/ tensors, still build. */
    ck_backend *be = ck_backend_new("cpu", 1);
    const char *files[3] = {full_swa, full, full_last};
    for (int f = 0; f < 3; f++) {
        ck_checkpoint *c = ck_checkpoint_load(files[f]);
        CHECK(c != NULL && (f > 0 || ck_checkpoint_optimizer_step(c) == 0));
        ck_model *m = c && be ? ck_checkpoint_build_model(c, be, NULL, 4) : NULL;
        float k[96];
        CHECK(m && ck_model_param_get(m, "predictions/kernel", k, 96) == 0);
        CHECK(f > 0 || memcmp(k, avg[0], sizeof k) == 0);
        ck_model_free(m);
        ck_checkpoint_free(c);
    }
    ck_backend_free(be);
    options(&o, full, "3", "0.25");
    ck_train_options_set(&o, "swa-from", "4");
    CHECK(ck_train_options_check(&o) == -1 && strstr(ck_error_buffer(), "--swa-from"));
    ck_error_clear();
    ck_train_options_clear(&o);
    free(full), free(part), free(full_last), free(part_last), free(full_swa), free(part_swa);
}

static void test_mix_options(void)
{
    ck_train_options o;
    options(&o, "x.ckpt", "1", "0");
    ck_train_options_set(&o, "mix-prob", "0.5");
    CHECK(ck_train_options_check(&o) == -1 && strstr(ck_error_buffer(), "--mix-prob"));
    ck_error_clear();
    ck_train_options_set(&o, "cutmix", "1");
    CHECK(ck_train_options_check(&o) == 0);
    ck_train_options_set(&o, "mix-prob", "0");
    CHECK(ck_train_options_check(&o) == -1 && strstr(ck_error_buffer(), "--mix-prob"));
    ck_error_clear();
    ck_train_options_set(&o, "mix-prob", "1");
    ck_train_options_set(&o, "cutmix", "-1");
    CHECK(ck_train_options_check(&o) == -1 && strstr(ck_error_buffer(), "--cutmix"));
    ck_error_clear();
    ck_train_options_clear(&o);
}

int main(void)
{
    if (fixture_make(&fx, 3, 12, 1) != 0) {
        fprintf(stderr, "fixture: %s", ck_error_buffer());
        return 1;
    }
    test_onecycle_log();
    test_ema();
    test_mixup();
    test_cutmix("0", "1");
    test_cutmix("0.4", "0.5");
    test_mix_options();
    test_swa();
    fixture_free(&fx);
    return check_report("test-train-tricks");
}
