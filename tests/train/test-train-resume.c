/* Training is reproducible: 4 epochs == 2 epochs + resume 2 (bit for bit),
 * at 1 or 2 loader threads, also after a SIGINT mid-epoch or between
 * epochs (CK_FAULT_SIGINT_STEP), also with --ema and a one-cycle schedule
 * (averages, trained weights and momentum), and with --cutmix, --mixup,
 * --mix-prob and --swa-from (the SWA file too); the feature cache gives the
 * same model as recomputing. */
#include "check.h"
#include "train_fixture.h"

#include "ck/checkpoint.h"
#include "ck/safetensors.h"
#include "ck/train.h"

#include <math.h>
#include <signal.h>

static fixture fx;

static void base_options(ck_train_options *o, const char *out, int epochs, const char *cache, int lthreads)
{
    char buf[32];
    fixture_options(&fx, o, out);
    snprintf(buf, sizeof buf, "%d", epochs);
    ck_train_options_set(o, "epochs", buf);
    ck_train_options_set(o, "val", "0.25");
    ck_train_options_set(o, "cache", cache);
    snprintf(buf, sizeof buf, "%d", lthreads);
    ck_train_options_set(o, "loader-threads", buf);
}

static char *path_in(const char *name)
{
    return ck_path_join(fx.dir, name);
}

/* Largest relative difference of the per-epoch losses in two checkpoints'
 * histories (-1 when the histories differ in length). */
static double history_diff(const char *a, const char *b)
{
    ck_checkpoint *ca = ck_checkpoint_load(a), *cb = ck_checkpoint_load(b);
    double worst = -1;
    if (ca && cb) {
        const ck_json *ha = ck_json_get(ck_checkpoint_state(ca), "history");
        const ck_json *hb = ck_json_get(ck_checkpoint_state(cb), "history");
        if (ck_json_size(ha) == ck_json_size(hb) && ck_json_size(ha) > 0) {
            worst = 0;
            const char *keys[] = {"train_loss", "val_loss", "train_acc", "val_acc"};
            for (int i = 0; i < ck_json_size(ha); i++)
                for (int k = 0; k < 4; k++) {
                    double x = ck_json_number(ck_json_get(ck_json_at(ha, i), keys[k]), NAN);
                    double y = ck_json_number(ck_json_get(ck_json_at(hb, i), keys[k]), NAN);
                    worst = fmax(worst, fabs(x - y) / fmax(fabs(y), 1e-3));
                }
        }
    }
    ck_checkpoint_free(ca);
    ck_checkpoint_free(cb);
    return worst;
}

/* Max |a-b| over the tensors of two checkpoints (-1 when they differ in
 * names/shapes); *bitwise = 1 when every byte is equal. */
static double compare(const char *a, const char *b, int *bitwise)
{
    ck_st_file *fa = ck_st_open(a), *fb = ck_st_open(b);
    double worst = -1;
    *bitwise = 0;
    if (!fa || !fb || ck_st_count(fa) != ck_st_count(fb))
        goto done;
    worst = 0;
    *bitwise = 1;
    for (int i = 0; i < ck_st_count(fa); i++) {
        ck_st_tensor ta, tb;
        ck_st_tensor_at(fa, i, &ta);
        if (!ck_st_find(fb, ta.name, &tb) || tb.nbytes != ta.nbytes) {
            worst = -1;
            goto done;
        }
        if (memcmp(ta.data, tb.data, ta.nbytes) != 0)
            *bitwise = 0;
        const float *x = ta.data, *y = tb.data;
        for (int64_t k = 0; k < ta.count; k++)
            worst = fmax(worst, fabs((double)x[k] - y[k]));
    }
done:
    ck_st_close(fa);
    ck_st_close(fb);
    return worst;
}

static int run(ck_train_options *o, const ck_checkpoint *resume, volatile sig_atomic_t *stop)
{
    return fixture_run(o, resume, stop);
}

static int resume_to(const char *ckpt, int epochs, int lthreads)
{
    return fixture_resume(ckpt, epochs, lthreads);
}

/* --ema and a one-cycle SGD schedule, for the runs that set with_tricks;
 * 2: CutMix or mixup of the images on 70% of the batches and SWA too. */
static int with_tricks;

static void set_tricks(ck_train_options *o)
{
    ck_train_options_set(o, "ema", "0.9");
    ck_train_options_set(o, "schedule", "onecycle");
    ck_train_options_set(o, "optimizer", "sgd");
    ck_train_options_set(o, "lr", "0.01");
    if (with_tricks > 1) {
        ck_train_options_set(o, "cutmix", "1");
        ck_train_options_set(o, "mixup", "0.4");
        ck_train_options_set(o, "mix-prob", "0.7");
        ck_train_options_set(o, "swa-from", "1");
    }
}

/* The uninterrupted reference run with the tricks of `level`. */
static void tricks_reference(int level, const char *ref)
{
    ck_train_options o;
    with_tricks = level;
    base_options(&o, ref, 3, "none", 2);
    ck_train_options_set(&o, "aug", "flip=h,shift=2");
    set_tricks(&o);
    CHECK(run(&o, NULL, NULL) == 0);
    ck_train_options_clear(&o);
}

/* What a tool's SIGINT handler does: ask the loop to stop. */
static volatile sig_atomic_t stop_flag;

static void on_sigint(int sig)
{
    stop_flag = sig;
}

/* Train 3 epochs with CK_FAULT_SIGINT_STEP=step: the run must stop with
 * CK_TRAIN_INTERRUPTED after `epoch` epochs and `batch` batches, then
 * resume to the same bits as the uninterrupted reference. */
static void interrupt_and_resume(const char *intr, const char *intr_last, const char *ref_last, long step,
                                 int epoch, int batch)
{
    ck_train_options o;
    char k[32];
    int bit;
    snprintf(k, sizeof k, "%ld", step);
    setenv("CK_FAULT_SIGINT_STEP", k, 1);
    stop_flag = 0;
    base_options(&o, intr, 3, "none", 2);
    ck_train_options_set(&o, "aug", "flip=h,shift=2");
    if (with_tricks)
        set_tricks(&o);
    int rc = run(&o, NULL, &stop_flag);
    ck_train_options_clear(&o);
    unsetenv("CK_FAULT_SIGINT_STEP");
    CHECK(stop_flag == SIGINT);
    CHECK(rc == CK_TRAIN_INTERRUPTED);
    ck_checkpoint *c = ck_checkpoint_load(intr_last);
    CHECK(c != NULL);
    if (c) {
        double b = ck_json_number(ck_json_get(ck_checkpoint_state(c), "batch"), -1);
        fprintf(stderr, "SIGINT at step %ld: saved after epoch %d, batch %g, optimizer step %lld\n", step,
                ck_checkpoint_epoch(c), b, ck_checkpoint_optimizer_step(c));
        CHECK(ck_checkpoint_epoch(c) == epoch && b == batch && ck_checkpoint_optimizer_step(c) == step);
    }
    ck_checkpoint_free(c);
    /* the interrupted run is behind the reference... */
    CHECK(compare(ref_last, intr_last, &bit) > 0);
    /* ...and catches up exactly */
    CHECK(resume_to(intr_last, 3, 2) == 0);
    CHECK(compare(ref_last, intr_last, &bit) == 0);
    CHECK(bit == 1);
    if (with_tricks > 1) {
        char *a = path_in("ref.swa.ckpt"), *b = path_in("int.swa.ckpt");
        CHECK(compare(a, b, &bit) == 0);
        CHECK(bit == 1);
        free(a);
        free(b);
    }
}

int main(void)
{
    if (fixture_make(&fx, 3, 12, 1) != 0) {
        fprintf(stderr, "fixture: %s", ck_error_buffer());
        return 1;
    }
    ck_train_options o;
    char *ref = path_in("ref.ckpt"), *ref_last = path_in("ref.last.ckpt");
    char *two = path_in("two.ckpt"), *two_last = path_in("two.last.ckpt");
    char *intr = path_in("int.ckpt"), *intr_last = path_in("int.last.ckpt");
    char *cached = path_in("cached.ckpt"), *cached_last = path_in("cached.last.ckpt");
    int bit;

    /* Reference: 3 epochs, augmentation on the fly (no cache), 2 loader threads. */
    base_options(&o, ref, 3, "none", 2);
    ck_train_options_set(&o, "aug", "flip=h,shift=2");
    CHECK(run(&o, NULL, NULL) == 0);
    ck_train_options_clear(&o);

    /* 1 epoch with 1 loader thread, then resume to 3. */
    base_options(&o, two, 1, "none", 1);
    ck_train_options_set(&o, "aug", "flip=h,shift=2");
    CHECK(run(&o, NULL, NULL) == 0);
    ck_train_options_clear(&o);
    CHECK(resume_to(two_last, 3, 1) == 0);
    CHECK(compare(ref_last, two_last, &bit) == 0);
    CHECK(bit == 1);

    /* Interrupted (SIGINT through the test hook) mid-epoch and between
     * epochs, then resumed. 27 training images in batches of 8: 4 steps
     * an epoch. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    interrupt_and_resume(intr, intr_last, ref_last, 6, 1, 2);
    interrupt_and_resume(intr, intr_last, ref_last, 4, 1, 0);

    /* The same with --ema and one-cycle: the checkpoints hold the averages
     * and, as "trained/...", the weights training goes on from. */
    tricks_reference(1, ref);
    interrupt_and_resume(intr, intr_last, ref_last, 6, 1, 2);
    interrupt_and_resume(intr, intr_last, ref_last, 4, 1, 0);
    tricks_reference(2, ref);
    interrupt_and_resume(intr, intr_last, ref_last, 6, 1, 2);
    interrupt_and_resume(intr, intr_last, ref_last, 9, 2, 1);
    with_tricks = 0;

    /* Feature cache vs recomputing the frozen part: the same training (up
     * to the summation order of GEMMs over other batch compositions, which
     * Adam's normalised steps can amplify in single weights: compare the
     * losses and accuracies of every epoch, and the weights loosely). */
    base_options(&o, ref, 2, "none", 2);
    CHECK(run(&o, NULL, NULL) == 0);
    ck_train_options_clear(&o);
    base_options(&o, cached, 2, "memory", 2);
    CHECK(run(&o, NULL, NULL) == 0);
    ck_train_options_clear(&o);
    double d = compare(ref_last, cached_last, &bit);
    double h = history_diff(ref_last, cached_last);
    fprintf(stderr, "cache vs no cache: max |weight diff| %g (bitwise %d), losses/accuracies rel. diff %g\n", d, bit, h);
    CHECK(d >= 0 && d < 1e-2);
    CHECK(h >= 0 && h < 1e-3);
    /* fp16 disk cache: close, not equal. */
    char *disk = path_in("feat.cache"), spec[400];
    snprintf(spec, sizeof spec, "disk:%s", disk);
    base_options(&o, cached, 2, spec, 2);
    ck_train_options_set(&o, "cache-fp16", "1");
    CHECK(run(&o, NULL, NULL) == 0);
    ck_train_options_clear(&o);
    CHECK(!ck_file_exists(disk));
    d = compare(ref_last, cached_last, &bit);
    h = history_diff(ref_last, cached_last);
    fprintf(stderr, "fp16 disk cache vs no cache: max |weight diff| %g, losses rel. diff %g\n", d, h);
    CHECK(d >= 0);
    CHECK(h >= 0 && h < 0.05);

    free(disk);
    free(ref);
    free(ref_last);
    free(two);
    free(two_last);
    free(intr);
    free(intr_last);
    free(cached);
    free(cached_last);
    fixture_free(&fx);
    return check_report("test-train-resume");
}
