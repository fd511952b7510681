/* ck/model.h — VGG16 convolutional base + a small classification head.
 *
 * The network, with Keras layer names (input S×S×3, S a multiple of 32):
 *
 *   block1_conv1, block1_conv2, block1_pool        64 ch, S
 *   block2_conv1, block2_conv2, block2_pool       128 ch, S/2
 *   block3_conv1..block3_conv3, block3_pool       256 ch, S/4
 *   block4_conv1..block4_conv3, block4_pool       512 ch, S/8
 *   block5_conv1..block5_conv3, block5_pool       512 ch, S/16 -> S/32
 *   flatten | global_average_pooling2d            (cfg.pool)
 *   [dropout]                                     only when no hidden layer
 *   dense_1 [batch_normalization_1 activation_1] dropout_1   hidden 1
 *   ...                                                      up to 4
 *   predictions                                   num_classes, softmax
 *
 * Every conv is 3×3 'same' + ReLU. A hidden layer is Dense + ReLU followed
 * by Dropout (when cfg.dropout > 0); with cfg.batchnorm it becomes
 * Dense (linear) -> BatchNormalization -> ReLU ("activation_k") -> Dropout,
 * the usual Keras pattern. Parameters are named "<layer>/kernel",
 * "<layer>/bias", and for BN "<layer>/gamma", "<layer>/beta",
 * "<layer>/moving_mean", "<layer>/moving_variance" (the moving statistics
 * are non-trainable state that checkpoints must save).
 *
 * Input: an [n,S,S,3] tensor on the model's backend, either U8 RGB pixels
 * (the model applies Keras' caffe preprocessing: BGR minus the ImageNet
 * mean) or F32 already preprocessed. n <= max_batch: all activations and
 * gradients are allocated once in ck_model_new for max_batch and reused
 * (smaller batches only reshape), because first touch of fresh memory is
 * very slow on the target VMs.
 *
 * Frozen / trainable split: the last cfg.train_blocks conv blocks and the
 * head are trainable, everything before is frozen. Nothing is computed for
 * frozen layers in backward (no weight grads, no data grad below the first
 * trainable layer). "Features" are the output of the frozen part, so a
 * trainer can compute them once (ck_model_features) and train from them
 * every epoch (CK_FROM_FEATURES):
 *   train_blocks = 0: block5_pool output, or with pool = avg the
 *                     global_average_pooling2d output as [n,1,1,512];
 *   train_blocks = k in 1..4: block(5-k)_pool output;
 *   train_blocks = 5: the preprocessed input itself.
 *
 * Randomness: the head's initialisation and the dropout masks derive from
 * cfg.seed (Philox, see ck/rng.h); the mask of a training step is a pure
 * function of (seed, step, layer, element), whatever the backend or thread
 * count.
 *
 * All functions return 0 / a valid pointer, or -1 / NULL with ck_error().
 */
#ifndef CK_MODEL_H
#define CK_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ck/arch.h"
#include "ck/backend.h"
#include "ck/weights.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_MAX_HIDDEN 4

typedef enum ck_head_pool {
    CK_POOL_FLATTEN = 0, /* Flatten: (S/32)²·512 features */
    CK_POOL_AVG = 1      /* GlobalAveragePooling2D: 512 features */
} ck_head_pool;

/* Compute precision of the trained conv and dense layers. bf16 is what
 * PyTorch's bf16 autocast does to them: inputs and weights rounded to
 * bf16, exact products with fp32 accumulation, bias in fp32, the output
 * rounded to bf16 (held in F32 tensors); in backward the incoming gradient
 * and the data gradient rounded, weight gradients summed in fp32. Master
 * weights, gradients and optimizer state stay fp32; batch norm, pooling,
 * adds and the loss run in fp32 (docs/engine.md, "Mixed precision for
 * trained layers"). Frozen layers follow frozen_algo instead. */
typedef enum ck_precision {
    CK_PRECISION_FP32 = 0,
    CK_PRECISION_BF16 = 1
} ck_precision;
/* "fp32" | "bf16"; -1 with an error otherwise. */
int ck_precision_parse(const char *s, ck_precision *out);
const char *ck_precision_name(ck_precision p);

typedef struct ck_net_config {
    ck_arch arch;            /* backbone (ck/arch.h), default vgg16 */
    ck_layout layout;        /* weights layout: decides ResNet v1 / v1.5, conv
                              * biases, BN eps and the preprocessing */
    int input_size;          /* S: 32, 64, ..., 224 (multiple of 32) */
    int num_classes;         /* >= 2 */
    ck_head_pool pool;
    int num_hidden;          /* 0..CK_MAX_HIDDEN hidden dense layers */
    int hidden[CK_MAX_HIDDEN]; /* their widths, e.g. {256} */
    float dropout;           /* rate in [0,1) after each hidden layer (0 = none) */
    int batchnorm;           /* 1: BatchNormalization in each hidden layer */
    float bn_momentum;       /* PyTorch convention: running = (1-m)·running + m·batch
                              * (Keras momentum 0.99 == 0.01 here) */
    float bn_eps;            /* Keras default 1e-3 */
    int train_blocks;        /* trainable stages counted from the top:
                              * 0 none (head only), 1 block5 / conv5, ... 5 all */
    ck_conv_algo frozen_algo; /* forward algorithm of frozen convs (trainable
                              * convs always use fp32, as backward does) */
    ck_precision precision;  /* compute of the trained conv / dense layers */
    uint64_t seed;           /* head initialisation and dropout masks */
} ck_net_config;

/* Defaults: input 32, 20 classes, flatten, one hidden layer of 256, dropout
 * 0.5, no BN (momentum 0.01, eps 1e-3), head only, algo auto, precision
 * fp32, seed 0. */
void ck_net_config_default(ck_net_config *cfg);
/* "flatten" | "avg" (also "gap"); -1 with an error otherwise. */
int ck_head_pool_parse(const char *s, ck_head_pool *out);
const char *ck_head_pool_name(ck_head_pool p);

typedef struct ck_model ck_model;

/* Build the model on `be` with buffers for up to max_batch samples.
 * Weights are initialised from cfg->seed: He-uniform for convs (so a model
 * without pretrained weights is usable), Glorot-uniform for dense kernels
 * (as Keras), zero biases, BN gamma 1 / beta 0 / mean 0 / variance 1.
 * Lazily: a parameter gets these values when first used (a forward or
 * training step, ck_model_param(), ck_model_param_get()) unless it was
 * overwritten before (ck_model_load_base/_load_weights, ck_model_param_set),
 * so loading pretrained weights skips the 14.7 M random conv values. The
 * values do not depend on when this happens.
 * The config is checked (clear error on a bad value). */
ck_model *ck_model_new(ck_backend *be, const ck_net_config *cfg, int max_batch);
void ck_model_free(ck_model *m);

const ck_net_config *ck_model_config(const ck_model *m);
ck_backend *ck_model_backend(const ck_model *m);

/* ---- weights ----------------------------------------------------------- */

/* Where ck_model_load reads named host tensors: returns the float32 data of
 * `name` and its shape, or NULL when absent (ck_weights_get's signature). */
typedef const float *(*ck_tensor_source)(void *ctx, const char *name, int *ndim, int shape[4]);

/* Copy the 13 conv layers (kernel [3,3,in,out] + bias) from `src`.
 * Every tensor must be present with exactly the expected shape: otherwise
 * -1 and an error like "block3_conv2/kernel: shape [3,3,128,256] in
 * <what>, expected [3,3,256,256]"; the model is left unchanged on error.
 * `what` names the source in messages (e.g. the file). */
int ck_model_load_base(ck_model *m, ck_tensor_source src, void *ctx, const char *what);

static inline const float *ck_model_weights_source_(void *ctx, const char *name, int *ndim, int shape[4])
{
    return ck_weights_get((const ck_weights *)ctx, name, ndim, shape);
}
/* 0 when weights of backbone (a, l) fit the model, else -1 and an error
 * naming `what` and both backbones. */
int ck_model_check_arch(const ck_model *m, ck_arch a, ck_layout l, const char *what);
/* Convenience: load the base from a ck_weights (lib/weights), whose
 * recognised backbone must be the model's. */
static inline int ck_model_load_weights(ck_model *m, const ck_weights *w)
{
    if (ck_model_check_arch(m, ck_weights_arch(w), ck_weights_layout(w), ck_weights_path(w)))
        return -1;
    return ck_model_load_base(m, ck_model_weights_source_, (void *)w, ck_weights_path(w));
}

/* ---- parameters (for the optimizer and checkpoints) ------------------- */

typedef enum ck_param_kind {
    CK_PARAM_TRAINABLE = 0, /* has a gradient tensor, updated by ck_optim */
    CK_PARAM_FROZEN = 1,    /* frozen weights (come from the weights file) */
    CK_PARAM_STATE = 2      /* non-trainable state updated in training
                             * (BN moving statistics): save in checkpoints */
} ck_param_kind;

/* Parameters in network order: block1_conv1/kernel, block1_conv1/bias, ...
 * predictions/bias. Every tensor is F32 on the model's backend. */
int ck_model_param_count(const ck_model *m);
const char *ck_model_param_name(const ck_model *m, int i);
ck_param_kind ck_model_param_kind(const ck_model *m, int i);
int ck_model_param_trainable(const ck_model *m, int i);
ck_tensor *ck_model_param(ck_model *m, int i);
/* Gradient of a trainable parameter (same shape); NULL otherwise. */
ck_tensor *ck_model_param_grad(ck_model *m, int i);
/* Index by name, or -1 (no error set). */
int ck_model_param_find(const ck_model *m, const char *name);
/* Copy a whole parameter from/to host floats; n must equal its element
 * count (error naming the parameter otherwise, or when the name is unknown). */
int ck_model_param_set(ck_model *m, const char *name, const float *data, size_t n);
int ck_model_param_get(const ck_model *m, const char *name, float *data, size_t n);

/* Parameter counts as Keras reports them (BN moving stats are
 * non-trainable; frozen convs are non-trainable). */
void ck_model_param_totals(const ck_model *m, long long *total, long long *trainable,
                           long long *non_trainable);
/* Print like Keras' model.summary(): Layer (type), Output Shape, Param #,
 * then Total / Trainable / Non-trainable params. */
void ck_model_summary(const ck_model *m, FILE *out);

/* ---- running the model ------------------------------------------------- */

typedef enum ck_model_start {
    CK_FROM_INPUT = 0,   /* x is the image batch [n,S,S,3] (U8 or F32) */
    CK_FROM_FEATURES = 1 /* x is a features batch (F32 or BF16), see above */
} ck_model_start;

/* Per-sample feature shape [h,w,c] and element count; the name of the
 * layer whose output they are ("input" when train_blocks = 5). */
void ck_model_feature_shape(const ck_model *m, int shape[3]);
size_t ck_model_feature_numel(const ck_model *m);
const char *ck_model_feature_layer(const ck_model *m);

/* ---- layers (backbone nodes, then the head) ---------------------------- */

int ck_model_layer_count(const ck_model *m);
const char *ck_model_layer_name(const ck_model *m, int i);
/* Index by name, or -1 (no error set). */
int ck_model_layer_find(const ck_model *m, const char *name);
/* Per-sample output shape [h,w,c] of layer i ([1,1,c] for an [n,c] output);
 * -1 with an error when i is out of range. */
int ck_model_layer_shape(const ck_model *m, int i, int shape[3]);
/* Index of the backbone's last layer ("block5_pool", "conv5_block3_out"). */
int ck_model_base_end(const ck_model *m);

/* Run the backbone in inference mode on an image batch x [n,S,S,3] up to
 * backbone layer `layer` (<= ck_model_base_end) and copy its output
 * [n,h,w,c] into out (F32, capacity for n samples; reshaped to n). */
int ck_model_run_to(ck_model *m, const ck_tensor *x, int layer, ck_tensor *out);

/* Run the frozen part: x [n,S,S,3] -> features [n,h,w,c] (a caller tensor
 * of F32 or BF16 with capacity for n samples; it is reshaped to n). */
int ck_model_features(ck_model *m, const ck_tensor *x, ck_tensor *features);

/* Inference (BN uses moving statistics, no dropout). probs_host (may be
 * NULL) receives n × num_classes floats, row-major; the probabilities also
 * stay in ck_model_probs(m) until the next call. */
int ck_model_forward(ck_model *m, ck_model_start from, const ck_tensor *x, float *probs_host);

/* Loss settings used by ck_model_train_step and ck_model_eval_step,
 * matching torch.nn.CrossEntropyLoss(weight=, label_smoothing=).
 * class_weights: num_classes floats or NULL (= all 1). */
int ck_model_set_loss(ck_model *m, float label_smoothing, const float *class_weights);

/* One training pass on a batch: forward in training mode (dropout with the
 * mask for `step`, BN batch statistics and moving-stat update), softmax
 * cross-entropy against labels (host int32, n of them, each in
 * [0,num_classes)), backward through the trainable layers, gradients
 * ADDED to the grad tensors (call ck_model_zero_grad first; accumulate
 * several batches and ck_model_scale_grad for larger effective batches).
 * *loss gets the mean loss of the batch, *correct (may be NULL) the count
 * of rows whose argmax equals the label. */
int ck_model_train_step(ck_model *m, ck_model_start from, const ck_tensor *x,
                        const int32_t *labels, uint32_t step, float *loss, int *correct);
/* Mixup's step: the same with the soft targets lam·onehot(labels) +
 * (1-lam)·onehot(labels_b), i.e. the loss lam·L(labels) + (1-lam)·L(labels_b)
 * (L as set by ck_model_set_loss: the smoothing and class weights apply to
 * each part) and its gradient; x is the mixed batch, made by the caller.
 * *correct counts rows whose argmax equals labels (lam >= 0.5: the
 * dominant label). lam in [0,1]. */
int ck_model_train_step_mix(ck_model *m, ck_model_start from, const ck_tensor *x, const int32_t *labels,
                            const int32_t *labels_b, float lam, uint32_t step, float *loss, int *correct);
/* Same loss and accuracy in inference mode, without backward. */
int ck_model_eval_step(ck_model *m, ck_model_start from, const ck_tensor *x,
                       const int32_t *labels, float *loss, int *correct);

/* Probabilities [n,num_classes] of the last forward / step. */
const ck_tensor *ck_model_probs(const ck_model *m);

int ck_model_zero_grad(ck_model *m);
int ck_model_scale_grad(ck_model *m, float a);

#ifdef __cplusplus
}
#endif
#endif
