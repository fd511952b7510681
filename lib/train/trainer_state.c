/* What a checkpoint needs to continue a run exactly: epoch and batch
 * position, running sums of the unfinished epoch, best validation loss,
 * early-stopping counter, scheduler state and the learning-curve history. */
#include "trainer_internal.h"
#include "ck/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *trainer_state_json(const trainer *t)
{
    ck_json_writer *w = ck_json_writer_new(0);
    if (!w)
        return NULL;
    ck_json_begin_object(w);
    ck_json_kv_int(w, "epoch", t->epoch_done);
    ck_json_kv_int(w, "batch", t->batch_done);
    ck_json_kv_bool(w, "complete", t->batch_done == 0);
    ck_json_kv_number(w, "running_loss_sum", t->run_loss);
    ck_json_kv_int(w, "running_correct", t->run_correct);
    ck_json_kv_int(w, "running_seen", t->run_seen);
    ck_json_kv_number(w, "running_seconds", t->run_seconds);
    ck_json_kv_number(w, "best_val_loss", t->best_val); /* null while +inf */
    ck_json_kv_int(w, "best_epoch", t->best_epoch);
    ck_json_kv_int(w, "epochs_without_improvement", t->bad_epochs);
    ck_json_kv_int(w, "swa_epochs", t->swa_n);
    ck_json_kv_int(w, "train_rows", t->data_rows);
    ck_json_kv_string(w, "train_hash", t->data_hash);
    char seed[32];
    snprintf(seed, sizeof seed, "%lld", t->o->seed);
    ck_json_kv_string(w, "seed", seed);
    ck_lr_state ls;
    ck_lr_get_state(t->sched, &ls);
    ck_json_key(w, "scheduler");
    ck_json_begin_object(w);
    ck_json_kv_string(w, "schedule", t->o->schedule);
    ck_json_kv_number(w, "lr", ls.lr);
    ck_json_kv_number(w, "best", ls.best);
    ck_json_kv_int(w, "bad_epochs", ls.bad_epochs);
    ck_json_kv_int(w, "cooldown_left", ls.cooldown_left);
    ck_json_end_object(w);
    ck_json_key(w, "history");
    ck_json_begin_array(w);
    for (int i = 0; i < t->nhist; i++) {
        const ck_epoch_record *r = &t->hist[i];
        ck_json_begin_object(w);
        ck_json_kv_int(w, "epoch", r->epoch);
        ck_json_kv_number(w, "train_loss", r->train_loss);
        ck_json_kv_number(w, "train_acc", r->train_acc);
        ck_json_kv_number(w, "val_loss", r->val_loss);
        ck_json_kv_number(w, "val_acc", r->val_acc);
        ck_json_kv_number(w, "lr", r->lr);
        ck_json_kv_number(w, "seconds", r->seconds);
        ck_json_end_object(w);
    }
    ck_json_end_array(w);
    ck_json_end_object(w);
    char *s = ck_json_writer_take(w);
    ck_json_writer_free(w);
    return s;
}

/* null (written for NaN/inf) reads back as `fallback`. */
static double num(const ck_json *o, const char *k, double fallback)
{
    return ck_json_number(ck_json_get(o, k), fallback);
}

int trainer_state_restore(trainer *t, const ck_json *st)
{
    if (ck_json_type_of(st) != CK_JSON_OBJECT) {
        ck_error("train", "checkpoint has no training state");
        return -1;
    }
    /* Checkpoints from before these keys were recorded are not checked. */
    const char *hash = ck_json_string(ck_json_get(st, "train_hash"));
    if (hash && strcmp(hash, t->data_hash) != 0) {
        int rows = (int)num(st, "train_rows", -1);
        ck_error("train", "%s: the training data changed since the checkpoint was saved (%d rows then, %d now%s): "
                 "resuming would train on a different set; resume with the original --train, or start a new run",
                 t->o->train, rows, t->data_rows, rows == t->data_rows ? ", other files or labels" : "");
        return -1;
    }
    t->epoch_done = (int)num(st, "epoch", 0);
    t->batch_done = (int)num(st, "batch", 0);
    t->run_loss = num(st, "running_loss_sum", 0);
    t->run_correct = (long)num(st, "running_correct", 0);
    t->run_seen = (long)num(st, "running_seen", 0);
    t->run_seconds = num(st, "running_seconds", 0);
    t->best_val = num(st, "best_val_loss", INFINITY);
    t->best_epoch = (int)num(st, "best_epoch", 0);
    t->bad_epochs = (int)num(st, "epochs_without_improvement", 0);
    t->swa_n = (int)num(st, "swa_epochs", 0);
    if (t->swa_n < 0 || t->swa_n > t->epoch_done) {
        ck_error("train", "checkpoint state: swa_epochs %d is not between 0 and the %d epochs done", t->swa_n,
                 t->epoch_done);
        return -1;
    }    const ck_json *sc = ck_json_get(st, "scheduler");
    ck_lr_state ls;
    ck_lr_get_state(t->sched, &ls);
    ls.lr = num(sc, "lr", ls.lr);
    ls.best = num(sc, "best", INFINITY);
    ls.bad_epochs = (int)num(sc, "bad_epochs", 0);
    ls.cooldown_left = (int)num(sc, "cooldown_left", 0);
    ck_lr_set_state(t->sched, &ls);
    const ck_json *h = ck_json_get(st, "history");
    int n = ck_json_size(h);
    free(t->hist);
    t->hist = calloc((size_t)n + 1, sizeof *t->hist);
    if (!t->hist) {
        ck_error("train", "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const ck_json *r = ck_json_at(h, i);
        ck_epoch_record *e = &t->hist[i];
        e->epoch = (int)num(r, "epoch", i + 1);
        e->train_loss = num(r, "train_loss", NAN);
        e->train_acc = num(r, "train_acc", NAN);
        e->val_loss = num(r, "val_loss", NAN);
        e->val_acc = num(r, "val_acc", NAN);
        e->lr = num(r, "lr", NAN);
        e->seconds = num(r, "seconds", NAN);
    }
    t->nhist = n;
    return 0;
}

/* The model with the run's metadata and state, plus what is given. */
static int save(trainer *t, const char *path, const ck_optim *opt, const ck_ema *ema, const ck_ema *swa)
{
    if (!trainer_writes_files(t)) /* several nodes: rank 0 writes */
        return 0;
    char *state = trainer_state_json(t);
    if (!state)
        return -1;
    ck_checkpoint_meta meta = {
        .labels = t->labels,
        .base = t->weights,
        .base_path = t->o->weights,
        .embed_base = t->o->embed_base,
        .training_json = t->training_json,
        .state_json = state,
        .ema = ema,
        .swa = swa,
    };
    int rc = ck_checkpoint_save(path, t->m, opt, &meta);
    free(state);
    return rc;
}

int trainer_save(trainer *t, const char *path)
{
    return save(t, path, t->opt, t->ema, t->swa_n > 0 ? t->swa : NULL);
}

/* The SWA average as a checkpoint of its own to predict with: its weights
 * under the layer names, no optimizer state (it continues no run). */
int trainer_save_swa(trainer *t)
{
    if (ck_ema_swap(t->swa) != 0)
        return -1;
    int rc = save(t, t->swa_path, NULL, NULL, NULL);
    return ck_ema_swap(t->swa) != 0 ? -1 : rc;
}

int trainer_plot(const char *plot, int (*draw)(const char *svg, const void *data), const void *data)
{
    /* FILE.png: the SVG is written beside it (FILE.svg) and rendered
     * with libvips/librsvg; anything else is written as SVG. */
    size_t n = strlen(plot);
    if (n > 4 && !strcasecmp(plot + n - 4, ".png")) {
        char *svg = strdup(plot);
        if (!svg) {
            ck_error("train", "out of memory");
            return -1;
        }
        memcpy(svg + n - 4, ".svg", 4);
        int rc = draw(svg, data);
        if (rc == 0)
            rc = ck_curves_svg_to_png(svg, plot);
        free(svg);
        return rc;
    }
    return draw(plot, data);
}

static int draw_curves(const char *svg, const void *data)
{
    const trainer *t = data;
    return ck_curves_write_svg(svg, t->hist, t->nhist, "ck-finetune learning curves");
}

int trainer_write_curves(trainer *t)
{
    if (t->nhist == 0 || !trainer_writes_files(t))
        return 0;
    if (t->o->log && *t->o->log && ck_curves_write_csv(t->o->log, t->hist, t->nhist) != 0)
        return -1;
    if (t->o->plot && *t->o->plot)
        return trainer_plot(t->o->plot, draw_curves, t);
    return 0;
}
