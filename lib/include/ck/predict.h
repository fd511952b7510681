/* ck/predict.h — class probabilities for a list of test images from trained
 * checkpoints: what ck-predict writes.
 *
 * Each row's probabilities are the mean over every (model, view) pair of an
 * ensemble of checkpoints (same classes in the same order) and a set of
 * test-time views (ck/augment.h). Images are decoded by the ck_loader
 * (ck/dataset.h) while the network runs on the previous batch; the result
 * does not depend on the batch size or the number of decoding threads
 * beyond floating-point summation order.
 *
 *   ck_predict_options o;
 *   ck_predict_options_init(&o);
 *   ck_predict *p = ck_predict_new(paths_of_checkpoints, n, &o);
 *   ck_submission *s = ck_predict_run(p, names, image_paths, nrows);
 *   ck_submission_write(s, "out.csv", &fmt);
 *
 * Errors: NULL / -1 with ck_error() naming the file. The library never
 * prints, except the progress bar (on stderr, see `progress`) and through
 * the caller's `warn` callback.
 */
#ifndef CK_PREDICT_H
#define CK_PREDICT_H

#include "ck/augment.h"
#include "ck/backend.h"
#include "ck/submission.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_predict ck_predict;

typedef struct ck_predict_options {
    const char *weights;   /* base weights file; NULL = where training recorded it */
    const char *device;    /* cpu, cuda, cuda:N or auto (NULL = auto) */
    int threads;           /* compute threads (0 = all cores) */
    int loaders;           /* decoding threads (0 = ck_backend_loader_threads(be, 1)) */
    int batch;             /* images per forward pass (0 = 64 up to 64 px, else 16) */
    int set_conv_algo;     /* 1: frozen convolutions use conv_algo, not the recorded one */
    ck_conv_algo conv_algo;
    const ck_view *views;  /* test-time views (NULL = the original only) */
    int nviews;
    int shard, nshards;    /* only rows i with i % nshards == shard (nshards >= 1) */
    int allow_missing;     /* an unreadable image gets a uniform row (and a warning)
                            * instead of failing the run */
    int progress;          /* progress bar on stderr: 0 on a tty, 1 always, -1 never */
    /* Called with warnings (the text names the images); NULL: dropped. */
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
} ck_predict_options;

/* Defaults: original view only, one shard, automatic device, sizes, threads. */
void ck_predict_options_init(ck_predict_options *o);

/* Load the checkpoints (an ensemble when n > 1: every model must have the
 * same classes in the same order). o is copied (views included). */
ck_predict *ck_predict_new(const char *const *models, int n, const ck_predict_options *o);
void ck_predict_free(ck_predict *p);

/* The classes, in probability-column order (valid while p lives): names
 * and label ids. */
int ck_predict_num_classes(const ck_predict *p);
const char *const *ck_predict_class_names(const ck_predict *p);
const char *const *ck_predict_class_ids(const ck_predict *p);

/* Predict rows 0..n-1: row i is named names[i] and its image is paths[i].
 * A NULL path (an image the caller could not find) gets uniform
 * probabilities, like an unreadable image with allow_missing; rows outside
 * the shard are left at 0. Returns a CK_SUB_PROBS submission (caller
 * frees), NULL with an error (an unreadable image names its file). */
ck_submission *ck_predict_run(ck_predict *p, const char *const *names, const char *const *paths, int n);

/* Pseudo-labels: a training manifest of the confident rows. Writes (atomic)
 * "file_name<TAB>label_id" with that header, train_master.tsv's shape, and
 * one line per row of s, in row order, whose largest probability is at
 * least min_prob: the file name (file_names[i], or the row's name when
 * file_names is NULL; a NULL entry skips the row: no image) and the label
 * id of the arg-max (label_ids: nclass entries). A row whose classes are
 * all equally likely (an unreadable image under allow_missing) is never
 * written. passed and predicted (nclass entries each, may be NULL) count
 * the rows written and the rows predicted, per class. Returns the number
 * of rows written, -1 with an error. */
int ck_predict_write_manifest(const ck_submission *s, const char *const *file_names, const char *path,
                              const char *const *label_ids, double min_prob, int *passed, int *predicted);

#ifdef __cplusplus
}
#endif
#endif
