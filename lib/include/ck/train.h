/* ck/train.h — the ck-finetune training loop as a library.
 *
 *   ck_train_options o;
 *   ck_train_options_init(&o);                    // defaults
 *   ck_train_options_set(&o, "lr", "0.01");       // by long option name
 *   ck_train_options_set(&o, "train", "DATA/train_master.tsv");
 *   ...
 *   ck_train_io io = {.msg = stderr, .stop = &flag};
 *   int rc = ck_train_run(&o, &io);               // 0, CK_TRAIN_INTERRUPTED, -1
 *   ck_train_options_clear(&o);
 *
 * Options are a table keyed by the long option names of ck-finetune
 * ("epochs", "lr", "schedule", ...; see ck_train_option_name()), so the
 * command line, the checkpoint's "training" metadata and --resume all go
 * through the same setter, and a checkpoint records every value.
 *
 * Determinism: with the same options and thread counts, the same weights
 * come out: sample order from ck_rng(seed, epoch), augmentation from
 * ck_rng(seed, image, epoch or view), dropout from (seed, optimizer step).
 * Interrupted runs resume bit-exactly (mid-epoch too: the checkpoint
 * records the batch position and the running sums).
 */
#ifndef CK_TRAIN_H
#define CK_TRAIN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ck/checkpoint.h"
#include "ck/json.h"
#include "ck/model.h"
#include "ck/optim.h"
#include "ck/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- options ------------------------------------------------------------- */

typedef struct ck_train_options {
    /* data */
    char *weights;        /* base weights file (.h5 / .safetensors) */
    char *train;          /* manifest, or a folder-per-class tree */
    char *images;         /* folder the manifest's file names are relative to */
    char *labels;         /* label_master.tsv (NULL: labels from the manifest) */
    char *extra_train;    /* more training sets (pseudo-labels, external data): */
    char *extra_images;   /* paths one a line, paired in order; train only */
    char *val_manifest;   /* explicit validation manifest */
    double val;           /* stratified holdout fraction (0 = no validation) */
    int folds, fold;      /* k-fold: train on every fold but `fold` */
    char *out;            /* best checkpoint; "<out>.last" is the latest */
    /* model */
    int input_size;
    char *head;           /* "256", "256,128", "none" */
    char *pool;           /* flatten | avg */
    int batchnorm;
    double dropout;
    char *unfreeze;       /* none | block5 | block4,block5 | ... */
    char *conv_algo;      /* auto | fp32 | winograd | bf16 (frozen part) */
    char *precision;      /* fp32 | bf16: compute of the trained conv / dense
                           * layers (ck_precision, ck/model.h) */
    /* optimisation */
    int epochs, batch;
    double lr;
    char *optimizer;      /* sgd | adam | adamw | rmsprop */
    double momentum;      /* SGD (default 0.9) */
    int nesterov;
    double weight_decay;
    char *schedule;       /* constant | step:K:G | cosine | plateau:P:F */
    double warmup;        /* warm-up epochs */
    char *class_weight;   /* none | auto (N / (C·n_c)) */
    double label_smoothing;
    int early_stop;       /* patience in epochs, 0 = off */
    double mixup;         /* Beta(A,A) mixup of the cached features (0 = off);
                           * of the images under --cutmix (no cache then) */
    double cutmix;        /* Beta(A,A) CutMix of the images (0 = off) */
    double mix_prob;      /* share of the batches mixed (default 1); with
                           * both, one of mixup/CutMix per batch, 50/50 */
    double ema;           /* decay of the weights' moving average (0 = off):
                           * validated, chosen and saved to predict with */
    int find_lr;          /* ck_train_find_lr instead of training (a mode, */
    int find_lr_steps;    /* like the placement options: not in checkpoints) */
    int swa_from;         /* SWA of the weights at the end of epochs >= E,
                           * saved to ck_train_swa_path(out) (0 = off) */
    /* input pipeline */
    char *aug;            /* ck/augment.h spec, NULL/"" = none */
    int aug_views;        /* K fixed augmented views per image (cacheable) */
    char *cache;          /* memory | disk:PATH | none */
    int cache_fp16;
    int loader_threads;   /* 0 = auto */
    long long max_pixels; /* image header limit (ck/image.h); 0 = default */
    /* run */
    long long seed;
    int threads;          /* compute threads, 0 = all cores */
    char *device;         /* cpu | cuda | cuda:N | auto */
    char *log;            /* epochs.csv */
    char *plot;           /* curves.svg (+ .png next to it when possible) */
    int embed_base;
    int progress;         /* 1 force the bar, 0 auto (tty), -1 quiet (-q) */
    /* data parallelism (ck/multigpu.h; docs/gpu.md). Run placement, not
     * training settings: never stored in checkpoints, so a resumed run
     * uses the placement of its own command line. */
    char *gpus;           /* "0,1" | "all" | "cpu,cpu" (testing aid); NULL: --device */
    int nodes, node_rank; /* several processes (one per node) over NCCL */
    char *nccl_id_file;   /* NCCL unique-id file on a shared file system */
} ck_train_options;

void ck_train_options_init(ck_train_options *o);
void ck_train_options_clear(ck_train_options *o);
/* Set an option by long name from text ("true"/"false"/"1"/"0" for flags).
 * -1 and a message like "--lr: 'abc' is not a number" on a bad value. */
int ck_train_options_set(ck_train_options *o, const char *name, const char *value);
/* Option table: count, names, and whether a value may differ when resuming
 * (epochs, threads, device, out, log, plot, progress, early-stop, cache, ...
 * — things that do not change the numbers; 2 for the placement options
 * gpus, nodes, node-rank, nccl-id-file, which checkpoints do not record). */
int ck_train_option_count(void);
const char *ck_train_option_name(int i);
int ck_train_option_resumable(const char *name);
/* Value as text (malloc'd), e.g. for messages. NULL for unknown names. */
char *ck_train_options_get(const ck_train_options *o, const char *name);
/* JSON object with every option; and back (unknown keys are errors). */
char *ck_train_options_to_json(const ck_train_options *o);
int ck_train_options_from_json(ck_train_options *o, const ck_json *obj);
/* Cross-field checks (input size multiple of 32, fold < folds, parsable
 * head/schedule/unfreeze/...). -1 with a message naming the option. */
int ck_train_options_check(const ck_train_options *o);

/* Derived configurations (the strings parsed). */
int ck_train_model_config(const ck_train_options *o, int num_classes, ck_net_config *cfg);
int ck_train_optim_config(const ck_train_options *o, ck_optim_config *cfg);
int ck_train_lr_config(const ck_train_options *o, ck_lr_config *cfg);
/* extra_train / extra_images: the number of paths, and path k (malloc'd). */
int ck_train_extra_count(const char *list);
char *ck_train_extra_at(const char *list, int k);
/* "model.ckpt" -> "model.last.ckpt", "m" -> "m.last" (malloc'd). */
char *ck_train_last_path(const char *out);
/* "model.ckpt" -> "model.swa.ckpt": the SWA average under --swa-from. */
char *ck_train_swa_path(const char *out);

/* ---- running ------------------------------------------------------------- */

#define CK_TRAIN_INTERRUPTED 2

typedef struct ck_train_io {
    FILE *msg;                       /* epoch lines and notes (stderr); NULL = silent */
    volatile sig_atomic_t *stop;     /* nonzero: finish the step, save, return
                                      * CK_TRAIN_INTERRUPTED (may be NULL) */
    const ck_checkpoint *resume;     /* continue this run (NULL = fresh start);
                                      * o must then be the checkpoint's options
                                      * (plus resumable overrides) */
    char *summary;                   /* out: malloc'd one-line result (free it) */
} ck_train_io;

/* Train as configured. 0 when all epochs ran (or early stopping), and
 * CK_TRAIN_INTERRUPTED after *stop was set (a resumable checkpoint is at
 * ck_train_last_path(o->out)); -1 with an error otherwise (bad input,
 * NaN/inf loss: the last good checkpoint is kept). */
int ck_train_run(const ck_train_options *o, ck_train_io *io);

/* ---- learning-rate range test (--find-lr) ----------------------------------
 *
 * Steps k = 0 .. N-1 (N = find_lr_steps) at lr_k = 1e-7 · (10/1e-7)^(k/(N-1))
 * on the training rows with the given options (schedule, --ema and
 * checkpoints aside); the loss is smoothed as fastai does (avg = 0.98·avg +
 * 0.02·loss, smoothed = avg / (1 - 0.98^(k+1))) and the test stops early
 * once the smoothed loss exceeds 4× its minimum or a loss is not finite.
 * Nothing is saved but the plot (o->plot, .svg or .png). */
typedef struct ck_lr_find_result {
    int n;                   /* steps recorded */
    double *lr, *loss, *smooth; /* n each (malloc'd; ck_lr_find_result_clear) */
    double suggested;
} ck_lr_find_result;
void ck_lr_find_result_clear(ck_lr_find_result *r);
int ck_train_find_lr(const ck_train_options *o, ck_train_io *io, ck_lr_find_result *r);
/* The steepest descent of the smoothed loss s against ln(lr): of the
 * segments i (points i, i+1) with n/10 <= i and i + 1 < n - 5 (as fastai,
 * the noisy start and the explosion left out), the one with the most
 * negative (s[i+1] - s[i]) / (ln lr[i+1] - ln lr[i]); the suggestion is
 * its geometric middle sqrt(lr[i]·lr[i+1]). -1 with an error when no
 * such segment falls. */
int ck_lr_find_suggest(const double *lr, const double *smooth, int n, double *suggested);
/* Smoothed loss against lr on a log axis, the suggestion marked. */
int ck_curves_write_lr_svg(const char *path, const ck_lr_find_result *r, const char *title);

/* ---- learning curves ----------------------------------------------------- */

typedef struct ck_epoch_record {
    int epoch;               /* 1-based */
    double train_loss, train_acc;
    double val_loss, val_acc; /* NaN without validation */
    double lr;
    double seconds;
} ck_epoch_record;

/* epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds (atomic; empty
 * fields for missing values). */
int ck_curves_write_csv(const char *path, const ck_epoch_record *r, int n);
/* Two panels (loss, accuracy), train vs validation, ticks, labels, legend. */
int ck_curves_write_svg(const char *path, const ck_epoch_record *r, int n, const char *title);
/* Rasterise an SVG file to PNG with libvips' svgload (librsvg); -1 with an
 * error when this libvips cannot load SVG. */
int ck_curves_svg_to_png(const char *svg_path, const char *png_path);

/* ---- CutMix (--cutmix; lib/train/mix.c) -------------------------------- */
/* A box as timm's rand_bbox: lam0 ~ Beta(alpha, alpha), sides
 * floor(h·sqrt(1-lam0)) by floor(w·sqrt(1-lam0)), centre uniform over the
 * image, clipped to it. box = {y0, x0, y1, x1}, half-open. Returns the
 * weight of each image's own label, adjusted to the clipped box:
 * lam = 1 - box area / (h·w). */
double ck_cutmix_box(ck_rng *r, double alpha, int h, int w, int box[4]);
/* n images of h·w·c elements of elem bytes: image j of dst is image j of
 * src with the box taken from image perm[j] of src (dst != src). */
void ck_cutmix_paste(void *dst, const void *src, size_t elem, int n, int h, int w, int c, const int *perm,
                     const int box[4]);

#ifdef __cplusplus
}
#endif
#endif
