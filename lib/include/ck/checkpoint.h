/* ck/checkpoint.h — trained models on disk (written by ck-finetune, read by
 * ck-predict and by ck-finetune --resume).
 *
 * A checkpoint is a safetensors file (readable by Python's `safetensors`):
 *
 *   tensors   every trainable parameter and every state tensor of the model
 *             under its model name ("predictions/kernel", "dense_1/bias",
 *             "block5_conv3/kernel" when unfrozen, "batch_normalization_1/
 *             moving_mean", ...), F32 in the model's layout (HWIO, [in,out]);
 *             the optimizer's state as "optim/<param>/<slot>" (slots as named
 *             by ck/optim.h, e.g. "momentum", "m", "v");
 *             the frozen conv layers too only when embedded (--embed-base).
 *             With weight averaging (ck-finetune --ema) the tensors under
 *             the model names are the averages, the weights to predict
 *             with, and the optimizer's own weights are kept beside them as
 *             "trained/<param>" so that a resumed run continues from them.
 *             With --swa-from, the running SWA average as "swa/<param>".
 *   __metadata__
 *     "format"  "ck-checkpoint"
 *     "version" "1"
 *     "ck"      JSON text, everything else (see docs/finetune.md):
 *       { "format": "ck-checkpoint", "version": 1,
 *         "classes": [{"id": "0", "name": "aquatic_mammals"}, ...],
 *         "input_size": 32,
 *         "preprocessing": {"kind": "caffe", "order": "BGR",
 *                           "mean_bgr": [103.939, 116.779, 123.68]},
 *         "arch": {"name": "vgg16", "pool": "flatten", "hidden": [256],
 *                  "dropout": 0.5, "batchnorm": false, "bn_momentum": 0.01,
 *                  "bn_eps": 0.001, "train_blocks": 0, "num_classes": 20,
 *                  "frozen_algo": "auto", "precision": "fp32", "seed": 1},
 *         "frozen_layers": ["block1_conv1", ..., "block5_conv3"],
 *         "conv_algo": "auto",
 *         "base_weights": {"sha256": "...", "size": 58889256,
 *                          "path": "pretrained/vgg16_notop.h5",
 *                          "origin": "official|random|unknown|none",
 *                          "random_seed": 7, "embedded": false},
 *         "training": { every ck-finetune option, see ck/train.h },
 *         "state": { "epoch": 3, "best_val_loss": 0.71, "best_epoch": 2,
 *                    "optimizer": {"kind": "adam", "step": 1234},
 *                    "scheduler": {...}, "history": [...], ... } }
 *
 * Base weights are referenced, not copied: the checkpoint records their
 * sha256, size and the path used in training (a hint). Building the model
 * for prediction finds the file (override path, else the recorded path as
 * is, else relative to the checkpoint's folder) and verifies the sha256.
 * An "origin": "none" checkpoint was trained without a weights file (seeded
 * He initialisation, reproducible from arch.seed) and needs none.
 *
 * Saving is atomic (temporary file + rename): an interrupted or failed save
 * (disk full) leaves the previous checkpoint intact.
 * All functions return 0 / a pointer, or -1 / NULL with ck_error() naming
 * the file.
 */
#ifndef CK_CHECKPOINT_H
#define CK_CHECKPOINT_H

#include <stdint.h>

#include "ck/backend.h"
#include "ck/json.h"
#include "ck/labels.h"
#include "ck/model.h"
#include "ck/weights.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_CHECKPOINT_FORMAT "ck-checkpoint"
#define CK_CHECKPOINT_VERSION 1

typedef struct ck_optim ck_optim; /* ck/optim.h */
typedef struct ck_ema ck_ema;     /* ck/optim.h */
typedef struct ck_checkpoint ck_checkpoint;

/* What ck_checkpoint_save records besides the tensors. Borrowed pointers. */
typedef struct ck_checkpoint_meta {
    const ck_labels *labels;   /* class ids and names, in class-index order (required) */
    const ck_weights *base;    /* the file the conv base came from; NULL = none (He init) */
    const char *base_path;     /* path hint to record; NULL = ck_weights_path(base) */
    int embed_base;            /* 1: also store the frozen conv tensors */
    const char *training_json; /* JSON object text: the training options; NULL = {} */
    const char *state_json;    /* JSON object text: epoch, best_val_loss, scheduler,
                                * history, ...; NULL = {} */
    const ck_ema *ema;         /* NULL, or the averages to store under the
                                * model names (the model's own weights go to
                                * "trained/<param>") */
    const ck_ema *swa;         /* NULL, or a running SWA average to keep
                                * (for resume) under "swa/<param>" */
} ck_checkpoint_meta;

/* Write model (+ optimizer state when optim is not NULL) to path atomically. */
int ck_checkpoint_save(const char *path, ck_model *model, const ck_optim *optim,
                       const ck_checkpoint_meta *meta);

/* Open and validate a checkpoint: safetensors structure, format name and
 * version, metadata fields, architecture. Tensors are checked against the
 * architecture when a model is built or restored. */
ck_checkpoint *ck_checkpoint_load(const char *path);
void ck_checkpoint_free(ck_checkpoint *c);

const char *ck_checkpoint_path(const ck_checkpoint *c);

/* Classes, in class-index order (= probability column order). */
int ck_checkpoint_num_classes(const ck_checkpoint *c);
const char *ck_checkpoint_class_id(const ck_checkpoint *c, int k);
const char *ck_checkpoint_class_name(const ck_checkpoint *c, int k);

/* Architecture (input size, head, trainable blocks, frozen conv algorithm). */
const ck_net_config *ck_checkpoint_config(const ck_checkpoint *c);
int ck_checkpoint_input_size(const ck_checkpoint *c);
/* Frozen convolutions of the models built from now on (ck-predict
 * --conv-algo): the trained tensors do not depend on it. */
void ck_checkpoint_set_conv_algo(ck_checkpoint *c, ck_conv_algo algo);
/* "caffe" (BGR minus ImageNet mean, what the model applies to U8 input). */
const char *ck_checkpoint_preprocessing(const ck_checkpoint *c);

/* Base weights recorded at training time. */
const char *ck_checkpoint_base_sha256(const ck_checkpoint *c); /* hex, "" when none */
long long ck_checkpoint_base_size(const ck_checkpoint *c);
const char *ck_checkpoint_base_origin(const ck_checkpoint *c); /* official|random|unknown|none */
int ck_checkpoint_base_embedded(const ck_checkpoint *c);

/* Training progress: epochs completed, best validation loss (NaN when no
 * validation), the optimizer kind ("sgd", "adam", ...) and its step count. */
int ck_checkpoint_epoch(const ck_checkpoint *c);
double ck_checkpoint_best_val_loss(const ck_checkpoint *c);
const char *ck_checkpoint_optimizer(const ck_checkpoint *c);
long long ck_checkpoint_optimizer_step(const ck_checkpoint *c);

/* The whole parsed "ck" metadata object and its parts (owned by c). */
const ck_json *ck_checkpoint_metadata(const ck_checkpoint *c);
const ck_json *ck_checkpoint_training(const ck_checkpoint *c); /* "training" */
const ck_json *ck_checkpoint_state(const ck_checkpoint *c);    /* "state" */

/* Build a model ready for inference (or further training) on `be`:
 * the architecture from the checkpoint, the conv base from the embedded
 * tensors or from the base weights file — weights_override when not NULL,
 * else the recorded path (as is, then relative to the checkpoint's folder),
 * verified by sha256 and size — then the trained tensors. Errors:
 * "base weights 'P' not found (checkpoint X was trained with sha256 ...;
 * pass the file with --weights)" and "base weights 'P' differ from those
 * checkpoint X was trained with (sha256 ... vs ...)". */
ck_model *ck_checkpoint_build_model(const ck_checkpoint *c, ck_backend *be,
                                    const char *weights_override, int max_batch);

/* Copy the checkpoint's tensors into an existing model of the same
 * architecture (and the optimizer state into optim when not NULL). Every
 * trainable and state parameter of the model must be present with its
 * shape: "X: tensor 'dense_1/kernel' has shape [512,128], model expects
 * [512,256]" otherwise. */
int ck_checkpoint_restore(const ck_checkpoint *c, ck_model *model, ck_optim *optim);

/* After ck_checkpoint_restore of a checkpoint saved with an EMA: the
 * averages (the tensors under the model names) into ema, and the trained
 * weights ("trained/<param>") into model, so that training continues
 * exactly. ema NULL: only the model (a data-parallel replica). A
 * checkpoint without "trained/" tensors is an error when ema is given,
 * else nothing is done. */
int ck_checkpoint_restore_ema(const ck_checkpoint *c, ck_model *model, ck_ema *ema);
/* The running SWA average stored by ck_checkpoint_save (meta.swa) into swa,
 * an average of model's weights; -1 when a tensor is missing. */
int ck_checkpoint_restore_swa(const ck_checkpoint *c, ck_model *model, ck_ema *swa);

#ifdef __cplusplus
}
#endif
#endif
