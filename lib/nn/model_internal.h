/* model_internal.h — the VGG16 model's private structure (model*.c). */
#ifndef CK_MODEL_INTERNAL_H
#define CK_MODEL_INTERNAL_H

#include "backend_impl.h"
#include "ck/model.h"

#define CK_MODEL_MAX_LAYERS 48
#define CK_MODEL_MAX_PARAMS 64

typedef enum layer_type {
    L_CONV,    /* 3×3 conv + ReLU */
    L_MAXPOOL, /* 2×2 */
    L_FLATTEN, /* no-op in NHWC: the next dense reads the 4-D tensor */
    L_GAP,     /* global average pool -> [n,c] */
    L_DROPOUT,
    L_DENSE,   /* optional fused ReLU */
    L_BN,
    L_RELU     /* the Activation layer after a BN */
} layer_type;

typedef struct layer {
    layer_type type;
    char name[40];
    int spatial;          /* output is [n,h,w,c] (1) or [n,c] (0) */
    int h, w, c;          /* per-sample output shape */
    int relu;             /* fused ReLU (convs, hidden dense without BN) */
    int param0, nparams;  /* its parameters in the model's table */
    int frozen;           /* runs before the features */
    int dropout_id;       /* 1-based dropout index (its mask stream) */
    int act_bf16;         /* frozen layer whose output stays bf16 (see model.c) */
    ck_tensor *y;         /* own output buffer (trainable part) or NULL */
    ck_tensor *mask, *save_mean, *save_invstd;
} layer;

typedef struct param {
    char name[64];
    ck_param_kind kind;
    int is_kernel;
    ck_tensor *t, *g; /* g only for trainable parameters */
    int pending_init; /* t not yet given its seeded initial values */
} param;

struct ck_model {
    ck_backend *be;
    ck_net_config cfg;
    int max_batch;
    layer layers[CK_MODEL_MAX_LAYERS];
    int nlayers;
    param params[CK_MODEL_MAX_PARAMS];
    int nparams;
    int feat_layer;       /* last frozen layer, -1 when the input is the feature */
    int first_param_layer;/* first layer after the features that has parameters */
    ck_tensor *input;     /* preprocessed input when x is U8 */
    ck_tensor *ping[2];   /* frozen activations, alternating */
    ck_tensor *featbuf;   /* F32 copy of BF16 features */
    ck_tensor *grad[2];   /* gradients, alternating */
    ck_tensor *probs, *labels, *class_weights;
    float smoothing;
    const ck_tensor *out[CK_MODEL_MAX_LAYERS]; /* outputs of the current run */
    const ck_tensor *feat_out;                  /* features of the current run */
};

/* Give every parameter still pending its seeded initial values (model.c).
 * Initialisation is lazy because a loaded weights file usually overwrites
 * the 14.7 M conv values right after ck_model_new (1-2 s per model on 2
 * cores); the values are the same whenever it happens. Called before
 * running the model; ck_model_param() and ck_model_param_get() initialise
 * the one parameter they hand out. */
int ck_model_init_pending(ck_model *m);

/* Shape helpers used across the model files. */
size_t ck_model_layer_numel(const layer *l);

#endif
