/* ck/optim.h — optimizers over a model's trainable parameters, and
 * learning-rate schedules.
 *
 * Optimizers follow torch.optim exactly (see ck/ops.h for the formulas):
 *   SGD (momentum, Nesterov, L2 weight decay), Adam (L2 decay added to the
 *   gradient), AdamW (decoupled decay), RMSprop (no momentum, not centered).
 *
 *   ck_optim *opt = ck_optim_new(model, &cfg);
 *   for each batch: ck_model_zero_grad(model); ck_model_train_step(...);
 *                   ck_optim_step(opt, ck_lr_get(sched, epoch_float));
 *
 * Optimizer state (velocity / m / v / sq) lives on the model's backend, one
 * tensor per trainable parameter per slot, named "<param>/<slot>", e.g.
 * "block5_conv1/kernel/m"; with the step counter it is everything a
 * checkpoint needs to resume bit-for-bit.
 *
 * All functions return 0 / a pointer, or -1 / NULL with ck_error().
 */
#ifndef CK_OPTIM_H
#define CK_OPTIM_H

#include <stddef.h>

#include "ck/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ck_optim_kind {
    CK_OPT_SGD = 0,
    CK_OPT_ADAM = 1,
    CK_OPT_ADAMW = 2,
    CK_OPT_RMSPROP = 3
} ck_optim_kind;

typedef struct ck_optim_config {
    ck_optim_kind kind;
    float weight_decay; /* L2 (SGD, Adam, RMSprop) or decoupled (AdamW) */
    float momentum;     /* SGD */
    int nesterov;       /* SGD */
    float beta1, beta2; /* Adam/AdamW */
    float eps;          /* Adam/AdamW/RMSprop */
    float rho;          /* RMSprop's alpha in torch */
    int decay_all;      /* 1: weight decay on every trainable parameter (torch's
                         * default); 0: only on kernels, not biases / BN */
} ck_optim_config;

/* torch defaults for `kind`: SGD momentum 0.9 nesterov 0; Adam/AdamW betas
 * (0.9, 0.999), eps 1e-8 (AdamW weight_decay 0.01, others 0); RMSprop rho
 * 0.99, eps 1e-8 (torch) — Keras uses rho 0.9, eps 1e-7; decay_all 1. */
void ck_optim_config_default(ck_optim_config *cfg, ck_optim_kind kind);
/* "sgd" | "adam" | "adamw" | "rmsprop"; -1 with an error otherwise. */
int ck_optim_kind_parse(const char *s, ck_optim_kind *out);
const char *ck_optim_kind_name(ck_optim_kind k);

typedef struct ck_optim ck_optim;

/* State tensors are allocated (zeroed) for every trainable parameter of m;
 * the model must outlive the optimizer. */
ck_optim *ck_optim_new(ck_model *m, const ck_optim_config *cfg);
void ck_optim_free(ck_optim *opt);
const ck_optim_config *ck_optim_get_config(const ck_optim *opt);

/* Update every trainable parameter from its gradient with learning rate lr
 * and increment the step counter (Adam's bias correction uses it). */
int ck_optim_step(ck_optim *opt, float lr);
long ck_optim_steps(const ck_optim *opt);
/* Momentum of the next steps (a cycling schedule, ck_lr_momentum): SGD's
 * momentum, Adam's and AdamW's beta1; RMSprop has none (no-op). SGD needs
 * to have been created with a momentum > 0 (its velocity tensors). */
int ck_optim_set_momentum(ck_optim *opt, float momentum);
void ck_optim_set_steps(ck_optim *opt, long steps);

/* State tensors, e.g. "dense_1/kernel/velocity", ".../m", ".../v", ".../sq". */
int ck_optim_state_count(const ck_optim *opt);
const char *ck_optim_state_name(const ck_optim *opt, int i);
ck_tensor *ck_optim_state(ck_optim *opt, int i);
/* Host copies by name (n = element count; error when unknown/mismatched). */
int ck_optim_state_set(ck_optim *opt, const char *name, const float *data, size_t n);
int ck_optim_state_get(const ck_optim *opt, const char *name, float *data, size_t n);

/* ---- learning-rate schedules ------------------------------------------ */

typedef enum ck_lr_kind {
    CK_LR_CONSTANT = 0,
    CK_LR_STEP = 1,    /* lr·gamma^floor(epoch/step_epochs) */
    CK_LR_COSINE = 2,  /* min_lr + (lr-min_lr)·(1+cos(π·t/T))/2 after warm-up */
    CK_LR_PLATEAU = 3, /* reduce by factor after `patience` epochs without
                        * improvement of the observed metric (Keras
                        * ReduceLROnPlateau, mode min, relative threshold) */
    CK_LR_ONECYCLE = 4 /* fastai's fit_one_cycle: cosine warm-up from
                        * lr/div_start to lr over warmup_epochs (0: a quarter
                        * of the run), then cosine down to lr/div_final at
                        * `epochs`; momentum (SGD) or beta1 (Adam) moves the
                        * other way, mom_max -> mom_min -> mom_max */
} ck_lr_kind;

typedef struct ck_lr_config {
    ck_lr_kind kind;
    float lr;           /* base learning rate */
    int step_epochs;    /* STEP: every k epochs */
    float gamma;        /* STEP: factor */
    int epochs;         /* COSINE, ONECYCLE: total epochs T (incl. warm-up) */
    float warmup_epochs;/* linear warm-up from lr/warmup.. to lr (any kind but
                         * PLATEAU); may be fractional */
    float min_lr;       /* COSINE floor; PLATEAU lower bound */
    float factor;       /* PLATEAU: new_lr = lr·factor */
    int patience;       /* PLATEAU */
    float threshold;    /* PLATEAU: improvement means metric < best·(1-threshold) */
    int cooldown;       /* PLATEAU: epochs to wait after a reduction */
    float div_start;    /* ONECYCLE: first rate lr/div_start (fastai: 25) */
    float div_final;    /* ONECYCLE: last rate lr/div_final (1e4) */
    float mom_max, mom_min; /* ONECYCLE: momentum / beta1 cycle (0.95, 0.85) */
} ck_lr_config;

/* kind's usual defaults with lr 1e-3: step 10 epochs gamma 0.1; cosine over
 * 30 epochs, no warm-up, min_lr 0; plateau factor 0.1 patience 3 threshold
 * 1e-4 cooldown 0 min_lr 0; one-cycle over 30 epochs, a quarter of them
 * warm-up, div_start 25, div_final 1e4, momentum 0.95 -> 0.85 -> 0.95. */
void ck_lr_config_default(ck_lr_config *cfg, ck_lr_kind kind);
/* "constant" | "step" | "cosine" | "plateau" | "onecycle". */
int ck_lr_kind_parse(const char *s, ck_lr_kind *out);

typedef struct ck_lr_schedule ck_lr_schedule;

ck_lr_schedule *ck_lr_new(const ck_lr_config *cfg);
void ck_lr_free(ck_lr_schedule *s);
/* Learning rate at a (fractional) epoch: epoch + batch/batches_per_epoch,
 * 0-based, so warm-up and cosine move every step. */
float ck_lr_get(const ck_lr_schedule *s, double epoch);
/* PLATEAU: report the epoch's metric (lower is better, e.g. val loss);
 * returns 1 when the rate was just reduced, else 0. No-op for other kinds. */
int ck_lr_observe(ck_lr_schedule *s, double metric);
/* ONECYCLE: the momentum (SGD) or beta1 (Adam/AdamW) for the step at
 * `epoch` in *mom, and 1; other kinds leave the optimizer's own: 0. */
int ck_lr_momentum(const ck_lr_schedule *s, double epoch, float *mom);

/* Mutable state for checkpoints (only PLATEAU has any). */
typedef struct ck_lr_state {
    double lr;       /* current rate (PLATEAU) */
    double best;     /* best metric so far (+inf before the first) */
    int bad_epochs;  /* epochs since the last improvement */
    int cooldown_left;
} ck_lr_state;
void ck_lr_get_state(const ck_lr_schedule *s, ck_lr_state *st);
void ck_lr_set_state(ck_lr_schedule *s, const ck_lr_state *st);

/* ---- weight averaging (--ema) ------------------------------------------ */

/* An exponential moving average of a model's trained weights: every
 * trainable parameter and every state tensor (BN moving statistics), as
 * timm's ModelEmaV2. It starts as a copy of the model's weights; after each
 * optimizer step ck_ema_update makes avg = decay·avg + (1 - decay)·w. The
 * averages live on the model's backend; the model must outlive the EMA. */
typedef struct ck_ema ck_ema;

ck_ema *ck_ema_new(ck_model *m, float decay); /* 0 < decay < 1 */
void ck_ema_free(ck_ema *e);
float ck_ema_decay(const ck_ema *e);
int ck_ema_update(ck_ema *e);
/* avg = decay·avg + (1 - decay)·w with this decay, 0 <= decay < 1: the
 * running mean of SWA (ck-finetune --swa-from) is decay n/(n+1) after n
 * weights; decay 0 sets the average to the weights. */
int ck_ema_accumulate(ck_ema *e, float decay);
/* Exchange the model's weights and the averages: call once to validate,
 * save or predict with the averages, and again to go on training. */
int ck_ema_swap(ck_ema *e);
/* The average of model parameter `param` (index as in ck/model.h); NULL
 * when it is not averaged (frozen). */
const ck_tensor *ck_ema_average(const ck_ema *e, int param);
/* Set it from host floats (n = its element count), e.g. from a checkpoint. */
int ck_ema_set(ck_ema *e, int param, const float *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
