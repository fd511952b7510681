/* The training loop: epochs of shuffled batches, validation, checkpoints,
 * curves, early stopping, interruption and resume. */
#include "trainer_internal.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/image.h"
#include "ck/progress.h"
#include "ck/rng.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Streams of ck_rng_make(seed, ., stream) used here, apart from the
 * augmentation's (seed, image, epoch or view). */
#define STREAM_ORDER 0x6f726465u /* "orde" */
#define STREAM_VIEW 0x76696577u  /* "view" */
#define STREAM_MIX 0x6d697875u   /* "mixu" */
#define STREAM_MIXSEL 0x6d697873u /* "mixs" */

static int stopped(const trainer *t)
{
    /* Several nodes stop together, on the request agreed at the last step. */
    if (trainer_dp_multinode(t))
        return t->stop_seen;
    return t->io->stop && *t->io->stop;
}

/* Sample order of an epoch: a pure function of (seed, epoch). */
static void epoch_order(const trainer *t, int epoch, int *order)
{
    for (int i = 0; i < t->ntrain; i++)
        order[i] = i;
    ck_rng r = ck_rng_make((uint64_t)t->o->seed, (uint64_t)epoch, STREAM_ORDER);
    ck_rng_shuffle_int(&r, order, t->ntrain);
}

static long train_slot(const trainer *t, int row, int epoch)
{
    int v = 0;
    if (t->views > 1) {
        ck_rng r = ck_rng_make((uint64_t)t->o->seed, (uint64_t)ck_dataset_item_id(t->train, row),
                               STREAM_VIEW + (uint64_t)epoch);
        v = (int)ck_rng_below(&r, (uint32_t)t->views);
    }
    return (long)row * t->views + v;
}

static long val_slot(const trainer *t, int row)
{
    return (long)t->ntrain * t->views + row;
}

static int upload_rgb(trainer *t, const uint8_t *rgb, int n)
{
    int S = t->cfg.input_size;
    if (ck_tensor_set_batch(t->x, n) != 0)
        return -1;
    return ck_tensor_upload(t->x, rgb, (size_t)n * S * S * 3);
}

/* One pass of the loader over a dataset storing frozen features in slots. */
static int extract_pass(trainer *t, ck_loader *l, int n, int augment, uint64_t copy, long base,
                        int stride, ck_progress *bar)
{
    int *order = malloc(sizeof *order * (size_t)n);
    if (!order) {
        ck_error("train", "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++)
        order[i] = i;
    int rc = ck_loader_start(l, order, n, augment, copy);
    free(order);
    if (rc != 0)
        return -1;
    const ck_batch *b;
    while ((b = ck_loader_next(l))) {
        if (stopped(t)) {
            ck_loader_release(l, b);
            return 1;
        }
        /* In chunks of t->mb: a replica holds a shard of the batch. */
        size_t px = (size_t)t->cfg.input_size * t->cfg.input_size * 3;
        for (int off = 0; off < b->n; off += t->mb) {
            int k = b->n - off < t->mb ? b->n - off : t->mb;
            if (upload_rgb(t, b->rgb + px * off, k) != 0 || ck_model_features(t->m, t->x, t->feat) != 0 ||
                ck_tensor_download(t->feat, t->feat_host + t->fnumel * off, ck_tensor_nbytes(t->feat)) != 0) {
                ck_loader_release(l, b);
                return -1;
            }
        }
        for (int j = 0; j < b->n; j++)
            if (ck_fcache_put(t->cache, base + (long)b->rows[j] * stride, 1, t->feat_host + (size_t)j * t->fnumel) != 0) {
                ck_loader_release(l, b);
                return -1;
            }
        ck_progress_add(bar, b->n);
        ck_loader_release(l, b);
    }
    return ck_loader_failed(l) ? -1 : 0;
}

/* Compute the frozen part once for every training view and validation
 * image, in a fixed order and batch size, so the cached values do not
 * depend on when they were computed (resume stays exact). */
static int extract_features(trainer *t)
{
    double t0 = ck_time_now();
    long total = (long)t->ntrain * t->views + t->nval;
    ck_progress *bar = ck_progress_new(stderr, "Caching features", total, t->bar_mode);
    int rc = 0;
    for (int v = 0; v < t->views && rc == 0; v++) {
        /* slot = row·views + v */
        rc = extract_pass(t, t->ltrain, t->ntrain, t->aug != NULL, (uint64_t)v, v, t->views, bar);
    }
    if (rc == 0 && t->val)
        rc = extract_pass(t, t->lval, t->nval, 0, 0, val_slot(t, 0), 1, bar);
    /* An interruption here leaves nothing to save but the run's position. */
    ck_progress_finish(bar, NULL);
    ck_progress_free(bar);
    t->extract_s = ck_time_now() - t0;
    if (rc == 0 && t->msg)
        fprintf(t->msg, "Cached %ld feature maps (%s, %zu values each) in %.1f s: %.1f MB %s%s\n", total,
                ck_model_feature_layer(t->m), t->fnumel, t->extract_s, (double)ck_fcache_bytes(t->cache) / 1e6,
                strncmp(t->o->cache, "disk:", 5) ? "in memory" : "on disk", t->o->cache_fp16 ? " (fp16)" : "");
    return rc;
}

/* Features and labels of a batch of rows from the cache into t->feat_host,
 * t->labels_host. */
static int gather_host(trainer *t, const int *rows, int n, int epoch, int train)
{
    for (int j = 0; j < n; j++) {
        long slot = train ? train_slot(t, rows[j], epoch) : val_slot(t, rows[j]);
        if (ck_fcache_get(t->cache, slot, 1, t->feat_host + (size_t)j * t->fnumel) != 0)
            return -1;
        t->labels_host[j] = ck_dataset_class(train ? t->train : t->val, rows[j]);
    }
    return 0;
}

typedef enum mix_kind { MIX_NONE, MIX_MIXUP, MIX_CUTMIX } mix_kind;

/* What this step's batch gets: --mix-prob, and one of mixup and CutMix,
 * 50/50, when both are on; from (seed, optimizer step), on a stream of its
 * own so that the draws of the mix itself do not depend on the choice. */
static mix_kind mix_choice(const trainer *t)
{
    const ck_train_options *o = t->o;
    if (!(o->mixup > 0) && !(o->cutmix > 0))
        return MIX_NONE;
    ck_rng r = ck_rng_make((uint64_t)o->seed, (uint64_t)ck_optim_steps(t->opt), STREAM_MIXSEL);
    if (o->mix_prob < 1 && !(ck_rng_uniform_double(&r) < o->mix_prob))
        return MIX_NONE;
    if (o->mixup > 0 && o->cutmix > 0)
        return ck_rng_below(&r, 2) ? MIX_CUTMIX : MIX_MIXUP;
    return o->cutmix > 0 ? MIX_CUTMIX : MIX_MIXUP;
}

/* The generator of this step's mix: lam, the box, the partners. */
static ck_rng mix_rng(const trainer *t)
{
    return ck_rng_make((uint64_t)t->o->seed, (uint64_t)ck_optim_steps(t->opt), STREAM_MIX);
}

/* Mixup's lam ~ Beta(A, A) folded to >= 0.5 (as fastai, so that a row's
 * own label dominates). */
static float mixup_lam(ck_rng *r, double alpha)
{
    double lam = ck_rng_beta(r, alpha, alpha);
    return (float)(lam < 0.5 ? 1.0 - lam : lam);
}

/* The partner of row j (a shuffle of the batch) into t->mix_perm, its
 * label into t->labels_b. */
static void mix_partners(trainer *t, ck_rng *r, const int32_t *labels, int n)
{
    for (int j = 0; j < n; j++)
        t->mix_perm[j] = j;
    ck_rng_shuffle_int(r, t->mix_perm, n);
    for (int j = 0; j < n; j++)
        t->labels_b[j] = labels[t->mix_perm[j]];
}

/* Mixup of the gathered batch into t->mix_host: row j becomes
 * lam·row j + (1-lam)·row perm(j). */
static void mix_batch(trainer *t, int n)
{
    ck_rng r = mix_rng(t);
    float a = mixup_lam(&r, t->o->mixup);
    mix_partners(t, &r, t->labels_host, n);
    for (int j = 0; j < n; j++) {
        const float *x = t->feat_host + (size_t)j * t->fnumel, *y = t->feat_host + (size_t)t->mix_perm[j] * t->fnumel;
        float *out = t->mix_host + (size_t)j * t->fnumel;
        for (size_t k = 0; k < t->fnumel; k++)
            out[k] = a * x[k] + (1.0f - a) * y[k];
    }
    t->mix_lam = a;
}

/* Without the cache (--cutmix): the batch's images mixed into t->mix_rgb
 * (mixup's blend rounded to 8 bits), or rgb itself when this batch is not
 * mixed. */
static const uint8_t *mix_images(trainer *t, const uint8_t *rgb, const int32_t *labels, int n)
{
    mix_kind k = t->mix_rgb ? mix_choice(t) : MIX_NONE;
    t->mixed = k != MIX_NONE;
    if (!t->mixed)
        return rgb;
    int S = t->cfg.input_size;
    size_t px = (size_t)S * S * 3;
    ck_rng r = mix_rng(t);
    if (k == MIX_CUTMIX) {
        int box[4];
        t->mix_lam = (float)ck_cutmix_box(&r, t->o->cutmix, S, S, box);
        mix_partners(t, &r, labels, n);
        ck_cutmix_paste(t->mix_rgb, rgb, 1, n, S, S, 3, t->mix_perm, box);
        return t->mix_rgb;
    }
    float a = mixup_lam(&r, t->o->mixup);
    mix_partners(t, &r, labels, n);
    for (int j = 0; j < n; j++) {
        const uint8_t *x = rgb + px * j, *y = rgb + px * t->mix_perm[j];
        for (size_t i = 0; i < px; i++)
            t->mix_rgb[px * j + i] = (uint8_t)lrintf(a * x[i] + (1.0f - a) * y[i]);
    }
    t->mix_lam = a;
    return t->mix_rgb;
}

/* ... and on into t->feat (mixed, for training under --mixup). */
static int gather_features(trainer *t, const int *rows, int n, int epoch, int train)
{
    if (gather_host(t, rows, n, epoch, train) != 0)
        return -1;
    t->mixed = train && t->mix_host && mix_choice(t) == MIX_MIXUP;
    if (t->mixed)
        mix_batch(t, n);
    if (ck_tensor_set_batch(t->feat, n) != 0)
        return -1;
    return ck_tensor_upload(t->feat, t->mixed ? t->mix_host : t->feat_host, sizeof(float) * t->fnumel * (size_t)n);
}

/* The schedule's position at batch b of epoch (1-based): fractional epochs. */
static double position(int epoch, int b, int nb)
{
    return (double)(epoch - 1) + (double)b / nb;
}

static double lr_at(const trainer *t, int epoch, int b, int nb)
{
    return ck_lr_get(t->sched, position(epoch, b, nb));
}

/* A one-cycle schedule moves the momentum (beta1) of every replica. */
static int cycle_momentum(trainer *t, int epoch, int b, int nb)
{
    float mom;
    if (!ck_lr_momentum(t->sched, position(epoch, b, nb), &mom))
        return 0;
    int n = t->dp ? ck_dp_replicas(t->dp) : 1;
    for (int r = 0; r < n; r++)
        if (ck_optim_set_momentum(t->dp ? t->dp_opt[r] : t->opt, mom) != 0)
            return -1;
    return 0;
}

static void metrics_text(char *buf, size_t n, double loss, double acc)
{
    snprintf(buf, n, "loss: %.4f - acc: %.4f", loss, acc);
}

/* Test hook (docs/finetune.md): CK_FAULT_SIGINT_STEP=K raises SIGINT once
 * optimizer step K is done, so tests reach the interrupt and resume paths
 * deterministically. */
static void fault_sigint(const trainer *t)
{
    const char *k = getenv("CK_FAULT_SIGINT_STEP");
    if (k && *k && strtol(k, NULL, 10) == ck_optim_steps(t->opt))
        raise(SIGINT);
}

/* One training step on a batch already on the backend (x), or with --gpus
 * on the host (host: pixels or features), split over the replicas. */
static int step(trainer *t, ck_model_start from, const ck_tensor *x, const void *host, const int32_t *labels,
                int n, double lr, int epoch, int b, int nb)
{
    float loss = 0;
    int correct = 0;
    if (t->dp) {
        if (trainer_dp_forward_backward(t, from, host, labels, n, &loss, &correct) != 0)
            return -1;
    } else if (ck_model_zero_grad(t->m) != 0 ||
               (t->mixed ? ck_model_train_step_mix(t->m, from, x, labels, t->labels_b, t->mix_lam,
                                                   (uint32_t)ck_optim_steps(t->opt), &loss, &correct)
                         : ck_model_train_step(t->m, from, x, labels, (uint32_t)ck_optim_steps(t->opt), &loss,
                                               &correct)) != 0) {
        return -1;
    }
    /* The range test ends at a loss that is not finite: no step with it. */
    if (t->find && (t->find_done = lrfind_record(t, lr, loss)) && !isfinite(loss))
        return 0;
    if (!isfinite(loss)) {
        ck_error("train", "the loss became %s at epoch %d, batch %d/%d: training diverged "
                 "(try a lower --lr than %g); the last good checkpoint %s is kept", isnan(loss) ? "NaN" : "infinite",
                 epoch, b + 1, nb, t->o->lr, t->epoch_done > 0 ? t->last_path : "(none yet)");
        return -1;
    }
    if (cycle_momentum(t, epoch, b, nb) != 0 ||
        (t->dp ? trainer_dp_optim_step(t, (float)lr) : ck_optim_step(t->opt, (float)lr)) != 0 ||
        (t->ema && ck_ema_update(t->ema) != 0))
        return -1;
    fault_sigint(t);
    t->run_loss += (double)loss * n;
    t->run_correct += correct;
    t->run_seen += n;
    return 0;
}

/* Train epoch `epoch` from batch t->batch_done. 1 when interrupted, 2 when
 * the learning-rate range test is over. */
static int train_epoch(trainer *t, int epoch, ck_progress *bar, double *last_lr)
{
    int B = t->o->batch, nb = (t->ntrain + B - 1) / B;
    int *order = malloc(sizeof *order * (size_t)t->ntrain);
    if (!order) {
        ck_error("train", "out of memory");
        return -1;
    }
    epoch_order(t, epoch, order);
    int rc = 0;
    char extra[96];
    int start = t->batch_done;
    if (!t->cache) {
        rc = ck_loader_start(t->ltrain, order + (size_t)start * B, t->ntrain - start * B, t->aug != NULL,
                             (uint64_t)epoch);
    }
    for (int b = start; b < nb && rc == 0; b++) {
        int n = t->ntrain - b * B < B ? t->ntrain - b * B : B;
        double lr = t->find ? lrfind_lr(t) : lr_at(t, epoch, b, nb);
        *last_lr = lr;
        if (t->cache) {
            rc = t->dp ? gather_host(t, order + (size_t)b * B, n, epoch, 1)
                       : gather_features(t, order + (size_t)b * B, n, epoch, 1);
            if (rc == 0)
                rc = step(t, CK_FROM_FEATURES, t->feat, t->feat_host, t->labels_host, n, lr, epoch, b, nb);
        } else {
            const ck_batch *bt = ck_loader_next(t->ltrain);
            if (!bt) {
                if (!ck_loader_failed(t->ltrain))
                    ck_error("train", "internal error: loader ended early");
                rc = -1;
                break;
            }
            rc = t->dp ? 0 : upload_rgb(t, mix_images(t, bt->rgb, bt->labels, bt->n), bt->n);
            if (rc == 0)
                rc = step(t, CK_FROM_INPUT, t->x, bt->rgb, bt->labels, n, lr, epoch, b, nb);
            ck_loader_release(t->ltrain, bt);
        }
        if (rc != 0)
            break;
        if (t->find && t->find_done) {
            rc = 2;
            break;
        }
        t->batch_done = b + 1;
        metrics_text(extra, sizeof extra, t->run_loss / t->run_seen, (double)t->run_correct / t->run_seen);
        ck_progress_update(bar, b + 1, extra);
        if (stopped(t) && b + 1 < nb) {
            rc = 1;
            break;
        }
    }
    free(order);
    return rc;
}

/* Plain log loss and accuracy on the validation rows (no label smoothing,
 * no class weights: the number a contest's scorer computes). */
static int validate_model(trainer *t, double *loss, double *acc)
{
    *loss = NAN;
    *acc = NAN;
    if (!t->val)
        return 0;
    if (ck_model_set_loss(t->m, 0, NULL) != 0)
        return -1;
    int B = t->mb, n = t->nval;
    double sum = 0;
    long correct = 0;
    int rc = 0;
    if (t->cache) {
        int *rows = malloc(sizeof *rows * (size_t)B);
        if (!rows) {
            ck_error("train", "out of memory");
            return -1;
        }
        for (int s = 0; s < n && rc == 0; s += B) {
            int k = n - s < B ? n - s : B;
            for (int j = 0; j < k; j++)
                rows[j] = s + j;
            float l = 0;
            int c = 0;
            rc = gather_features(t, rows, k, 0, 0);
            if (rc == 0)
                rc = ck_model_eval_step(t->m, CK_FROM_FEATURES, t->feat, t->labels_host, &l, &c);
            sum += (double)l * k;
            correct += c;
        }
        free(rows);
    } else {
        int *order = malloc(sizeof *order * (size_t)n);
        if (!order) {
            ck_error("train", "out of memory");
            return -1;
        }
        for (int i = 0; i < n; i++)
            order[i] = i;
        rc = ck_loader_start(t->lval, order, n, 0, 0);
        free(order);
        const ck_batch *b;
        size_t px = (size_t)t->cfg.input_size * t->cfg.input_size * 3;
        while (rc == 0 && (b = ck_loader_next(t->lval))) {
            /* In chunks of t->mb (one chunk without --gpus). */
            for (int off = 0; off < b->n && rc == 0; off += B) {
                int k = b->n - off < B ? b->n - off : B;
                float l = 0;
                int c = 0;
                rc = upload_rgb(t, b->rgb + px * off, k);
                if (rc == 0)
                    rc = ck_model_eval_step(t->m, CK_FROM_INPUT, t->x, b->labels + off, &l, &c);
                sum += (double)l * k;
                correct += c;
            }
            ck_loader_release(t->lval, b);
        }
        if (rc == 0 && ck_loader_failed(t->lval))
            rc = -1;
    }
    if (ck_model_set_loss(t->m, (float)t->o->label_smoothing, t->class_w) != 0)
        rc = -1;
    if (rc == 0) {
        *loss = sum / n;
        *acc = (double)correct / n;
        if (!isfinite(*loss)) {
            ck_error("train", "the validation loss is not finite: training diverged (try a lower --lr)");
            rc = -1;
        }
    }
    return rc;
}

/* ... with the averaged weights under --ema: what the checkpoint predicts with. */
static int validate(trainer *t, double *loss, double *acc)
{
    if (!t->ema || !t->val)
        return validate_model(t, loss, acc);
    if (ck_ema_swap(t->ema) != 0)
        return -1;
    int rc = validate_model(t, loss, acc);
    return ck_ema_swap(t->ema) != 0 ? -1 : rc;
}

/* --swa-from: the epoch's weights join the running mean (before the
 * checkpoints, which keep it for resume). */
static int swa_update(trainer *t, int epoch)
{
    if (!t->swa || epoch < t->o->swa_from)
        return 0;
    if (ck_ema_accumulate(t->swa, (float)t->swa_n / (float)(t->swa_n + 1)) != 0)
        return -1;
    t->swa_n++;
    return 0;
}

/* ... and the average's own checkpoint and validation figures. */
static int swa_write(trainer *t)
{
    if (!t->swa || t->swa_n == 0)
        return 0;
    double vl = NAN, va = NAN;
    if (t->val) {
        if (ck_ema_swap(t->swa) != 0)
            return -1;
        int rc = validate_model(t, &vl, &va);
        if (ck_ema_swap(t->swa) != 0 || rc != 0)
            return -1;
    }
    if (trainer_save_swa(t) != 0)
        return -1;
    if (t->msg) {
        fprintf(t->msg, "SWA of epochs %d-%d", t->o->swa_from, t->o->swa_from + t->swa_n - 1);
        if (t->val)
            fprintf(t->msg, " - val_loss: %.4f - val_acc: %.4f", vl, va);
        fprintf(t->msg, ": %s\n", t->swa_path);
    }
    return 0;
}

static int end_epoch(trainer *t, int epoch, double lr, double seconds, int *stop_early)
{
    if (swa_update(t, epoch) != 0)
        return -1;
    double vl, va;
    if (validate(t, &vl, &va) != 0)
        return -1;
    /* Several nodes: rank 0's numbers drive the schedule, early stopping
     * and the best checkpoint everywhere. */
    double v[2] = {vl, va};
    if (trainer_dp_agree(t, v, 2) != 0)
        return -1;
    vl = v[0];
    va = v[1];
    ck_epoch_record r = {
        .epoch = epoch,
        .train_loss = t->run_seen ? t->run_loss / t->run_seen : NAN,
        .train_acc = t->run_seen ? (double)t->run_correct / t->run_seen : NAN,
        .val_loss = vl,
        .val_acc = va,
        .lr = lr,
        .seconds = seconds,
    };
    ck_epoch_record *h = realloc(t->hist, sizeof *h * (size_t)(t->nhist + 1));
    if (!h) {
        ck_error("train", "out of memory");
        return -1;
    }
    t->hist = h;
    t->hist[t->nhist++] = r;
    t->epoch_done = epoch;
    t->batch_done = 0;
    t->run_loss = 0;
    t->run_correct = 0;
    t->run_seen = 0;
    t->run_seconds = 0;
    ck_lr_observe(t->sched, t->val ? vl : r.train_loss);
    int improved = 0;
    if (!t->val || vl < t->best_val) {
        improved = 1;
        if (t->val)
            t->best_val = vl;
        t->best_epoch = epoch;
        t->bad_epochs = 0;
    } else {
        t->bad_epochs++;
    }
    /* The best model (by validation loss; the latest without validation)
     * at -o, the latest at "<o>.last": both atomically. */
    if ((improved && trainer_save(t, t->o->out) != 0) || trainer_save(t, t->last_path) != 0)
        return -1;
    if (trainer_write_curves(t) != 0)
        return -1;
    if (t->msg) {
        fprintf(t->msg, "Epoch %d/%d - %.1fs - loss: %.4f - acc: %.4f", epoch, t->o->epochs, seconds,
                r.train_loss, r.train_acc);
        if (t->val)
            fprintf(t->msg, " - val_loss: %.4f - val_acc: %.4f", vl, va);
        fprintf(t->msg, " - lr: %.3g%s\n", lr, improved && t->val ? " *" : "");
        fflush(t->msg);
    }
    if (swa_write(t) != 0)
        return -1;
    *stop_early = t->o->early_stop > 0 && t->bad_epochs >= t->o->early_stop;
    return 0;
}

static void describe(const trainer *t)
{
    if (!t->msg)
        return;
    const ck_train_options *o = t->o;
    fprintf(t->msg, "Training on %d images, ", t->ntrain);
    if (t->nval)
        fprintf(t->msg, "validating on %d", t->nval);
    else
        fprintf(t->msg, "no validation");
    if (o->val_manifest)
        fprintf(t->msg, " (%s)", o->val_manifest);
    else if (o->folds >= 2)
        fprintf(t->msg, " (fold %d of %d)", o->fold, o->folds);
    else if (t->nval)
        fprintf(t->msg, " (stratified holdout %.2g)", o->val);
    fprintf(t->msg, "; %d classes; input %dx%d; %s\n", t->ncls, o->input_size, o->input_size,
            ck_backend_name(t->be));
    long long tot, tr, nt;
    ck_model_param_totals(t->m, &tot, &tr, &nt);
    fprintf(t->msg, "Base weights %s (%s); %lld trainable parameters, %lld frozen\n", o->weights,
            ck_weights_origin_of(t->weights) == CK_WEIGHTS_OFFICIAL ? "official"
            : ck_weights_origin_of(t->weights) == CK_WEIGHTS_RANDOM ? "RANDOM weights: scores will be low"
                                                                   : "unknown origin",
            tr, nt);
    if (o->mixup > 0 && t->mix_host)
        fprintf(t->msg, "Mixup: pairs of cached feature maps mixed with a Beta(%g, %g) weight, soft targets "
                        "(manifold mixup; the training accuracy counts the dominant label)\n", o->mixup, o->mixup);
    if (o->cutmix > 0)
        fprintf(t->msg, "CutMix: a box of another image of the batch pasted in, its area from a Beta(%g, %g) "
                        "weight, soft targets by area%s (the training accuracy counts the image's own label)\n",
                o->cutmix, o->cutmix, o->mixup > 0 ? "; or mixup of the images, one of the two per batch" : "");
    if (o->mix_prob < 1)
        fprintf(t->msg, "Mixing applies to a share %g of the batches\n", o->mix_prob);
    if (t->swa)
        fprintf(t->msg, "SWA: the weights at the end of each epoch from %d on averaged (BN statistics too) "
                        "into %s\n", o->swa_from, t->swa_path);
    if (t->ema)
        fprintf(t->msg, "Weight averaging: EMA with decay %g (validation, the best checkpoint and "
                        "prediction use the averaged weights)\n", o->ema);
    trainer_dp_describe(t);
}

static void trainer_init(trainer *t, const ck_train_options *o, ck_train_io *io)
{
    memset(t, 0, sizeof *t);
    t->o = o;
    t->io = io;
    t->msg = o->progress < 0 ? NULL : io->msg;
    t->bar_mode = o->progress < 0 || !io->msg ? -1 : o->progress > 0 ? 1 : 0;
}

int ck_train_find_lr(const ck_train_options *o_in, ck_train_io *io, ck_lr_find_result *res)
{
    memset(res, 0, sizeof *res);
    res->suggested = NAN;
    if (ck_train_options_check(o_in) != 0 ||
        (o_in->max_pixels > 0 && ck_image_set_max_pixels((uint64_t)o_in->max_pixels) != 0))
        return -1;
    /* The finder sets the rate itself, and nothing is averaged or saved. */
    ck_train_options o = *o_in;
    o.schedule = "constant";
    o.warmup = 0;
    o.ema = 0;
    o.swa_from = 0;
    trainer t;
    trainer_init(&t, &o, io);
    int rc = -1, r = 0;
    if (trainer_setup(&t) != 0)
        goto done;
    describe(&t);
    if (t.cache && (r = extract_features(&t)) < 0)
        goto done;
    if (lrfind_start(&t, res) != 0)
        goto done;
    for (int epoch = 1; r == 0; epoch++) {
        double lr;
        t.batch_done = 0;
        r = train_epoch(&t, epoch, NULL, &lr);
        if (r == 0 && stopped(&t))
            r = 1;
    }
    if (r < 0)
        goto done;
    rc = r == 1 ? CK_TRAIN_INTERRUPTED : lrfind_finish(&t);
done:
    trainer_teardown(&t);
    if (rc != 0)
        ck_lr_find_result_clear(res);
    return rc;
}

int ck_train_run(const ck_train_options *o, ck_train_io *io)
{
    if (ck_train_options_check(o) != 0)
        return -1;
    if (!o->out) {
        ck_error("train", "no output checkpoint (-o FILE)");
        return -1;
    }
    if (o->max_pixels > 0 && ck_image_set_max_pixels((uint64_t)o->max_pixels) != 0)
        return -1;
    /* A run killed while writing a checkpoint leaves its temporary. */
    char *last = ck_train_last_path(o->out);
    char *swa = o->swa_from > 0 ? ck_train_swa_path(o->out) : NULL;
    int stale = ck_output_clean_stale(o->out) + ck_output_clean_stale(last) + (swa ? ck_output_clean_stale(swa) : 0);
    free(last);
    free(swa);
    if (stale && io->msg)
        fprintf(io->msg, "Warning: removed %d stale temporary file%s of %s (left by an interrupted run)\n", stale,
                stale == 1 ? "" : "s", o->out);
    trainer t;
    trainer_init(&t, o, io);
    int rc = -1;
    if (trainer_setup(&t) != 0)
        goto done;
    if (io->resume) {
        if (ck_checkpoint_restore(io->resume, t.m, t.opt) != 0 ||
            (t.ema && ck_checkpoint_restore_ema(io->resume, t.m, t.ema) != 0) ||
            trainer_state_restore(&t, ck_checkpoint_state(io->resume)) != 0 ||
            (t.swa && t.swa_n > 0 && ck_checkpoint_restore_swa(io->resume, t.m, t.swa) != 0) ||
            trainer_dp_restore(&t, io->resume) != 0)
            goto done;
        if (strcmp(ck_checkpoint_base_sha256(io->resume), ck_weights_sha256(t.weights)) != 0) {
            ck_error("train", "base weights '%s' differ from those %s was trained with; resume with the original file",
                     o->weights, ck_checkpoint_path(io->resume));
            goto done;
        }
    }
    describe(&t);
    if (io->resume && t.msg)
        fprintf(t.msg, "Resuming %s after epoch %d%s (optimizer step %ld)\n", ck_checkpoint_path(io->resume),
                t.epoch_done, t.batch_done ? " and a partial epoch" : "", ck_optim_steps(t.opt));
    int B = o->batch, nb = (t.ntrain + B - 1) / B;
    double first_s = NAN, later_s = 0;
    int later_n = 0, stop_early = 0, interrupted = 0;
    if (t.cache && t.epoch_done < o->epochs) {
        int r = extract_features(&t);
        if (r < 0)
            goto done;
        interrupted = r == 1;
    }

    for (int epoch = t.epoch_done + 1; epoch <= o->epochs && !stop_early && !interrupted; epoch++) {
        double t0 = ck_time_now();
        char title[64];
        snprintf(title, sizeof title, "Epoch %d/%d", epoch, o->epochs);
        ck_progress *bar = ck_progress_new(stderr, "", nb, t.bar_mode);
        if (ck_progress_enabled(bar))
            fprintf(stderr, "%s\n", title);
        ck_progress_update(bar, t.batch_done, NULL);
        double lr = lr_at(&t, epoch, t.batch_done, nb);
        int r = train_epoch(&t, epoch, bar, &lr);
        double secs = t.run_seconds + (ck_time_now() - t0);
        char extra[96];
        if (r == 0 && t.run_seen)
            metrics_text(extra, sizeof extra, t.run_loss / t.run_seen, (double)t.run_correct / t.run_seen);
        else
            extra[0] = '\0';
        ck_progress_finish(bar, extra);
        ck_progress_free(bar);
        if (r < 0)
            goto done;
        if (r == 1) {
            t.run_seconds = secs;
            interrupted = 1;
            break;
        }
        if (isnan(first_s))
            first_s = secs + (t.cache ? t.extract_s : 0);
        else
            later_s += secs, later_n++;
        if (end_epoch(&t, epoch, lr, secs, &stop_early) != 0)
            goto done;
        if (stop_early && t.msg)
            fprintf(t.msg, "Early stopping: no val_loss improvement for %d epochs (best %.4f at epoch %d)\n",
                    o->early_stop, t.best_val, t.best_epoch);
        if (stopped(&t) && epoch < o->epochs) {
            interrupted = 1;
            break;
        }
    }
    if (interrupted) {
        if (trainer_save(&t, t.last_path) != 0)
            goto done;
        if (t.msg)
            fprintf(t.msg, "Interrupted after epoch %d%s: saved %s; continue with: ck-finetune --resume %s\n",
                    t.epoch_done, t.batch_done ? " and a partial epoch" : "", t.last_path, t.last_path);
        rc = CK_TRAIN_INTERRUPTED;
        goto done;
    }
    if (t.msg && t.cache && later_n > 0 && isfinite(first_s))
        fprintf(t.msg, "Feature cache: epoch 1 took %.2f s (incl. %.2f s computing the frozen part), "
                       "later epochs %.2f s on average: %.1fx faster\n",
                first_s, t.extract_s, later_s / later_n, later_s > 0 ? first_s / (later_s / later_n) : 0.0);
    char buf[512];
    double best_acc = NAN;
    for (int i = 0; i < t.nhist; i++)
        if (t.hist[i].epoch == t.best_epoch)
            best_acc = t.hist[i].val_acc;
    if (t.val)
        snprintf(buf, sizeof buf, "best val_loss %.4f (val_acc %.4f) at epoch %d: %s", t.best_val, best_acc,
                 t.best_epoch, o->out);
    else
        snprintf(buf, sizeof buf, "trained %d epochs without validation: %s", t.epoch_done, o->out);
    if (t.msg)
        fprintf(t.msg, "Done: %s\n", buf);
    io->summary = strdup(buf);
    rc = 0;
done:
    trainer_teardown(&t);
    return rc;
}
