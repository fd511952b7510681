/* model_internal.h — the model's private structure (model*.c).
 *
 * The model is a list of layers in execution order; each names its
 * producers (in0, in1), so the list is a small graph: the backbone's nodes
 * from ck/arch.h, then the head. Layers before the features (frozen) run in
 * inference mode through a pool of reused activation buffers; the rest own
 * their outputs and are trained. */
#ifndef CK_MODEL_INTERNAL_H
#define CK_MODEL_INTERNAL_H

#include "backend_impl.h"
#include "ck/model.h"

/* backbone + the largest head: pool, dropout, 4 × (dense, BN, ReLU, dropout), predictions */
#define CK_MODEL_MAX_LAYERS (CK_ARCH_MAX_NODES + 24)
#define CK_MODEL_MAX_PARAMS 384
#define CK_MODEL_MAX_BUFS 16

typedef enum layer_type {
    L_CONV,    /* k×k conv, stride, pad (+ folded BN when frozen), optional fused ReLU */
    L_MAXPOOL, /* k×k, stride, pad */
    L_ADD,     /* in0 + in1, optional fused ReLU */
    L_FLATTEN, /* no-op in NHWC: the next dense reads the 4-D tensor */
    L_GAP,     /* global average pool -> [n,c] */
    L_DROPOUT,
    L_DENSE,   /* optional fused ReLU */
    L_BN,
    L_RELU
} layer_type;

typedef struct layer {
    layer_type type;
    char name[40];
    int in0, in1;         /* producers; -1 = the (preprocessed) input */
    int k, stride, pad;   /* CONV, MAXPOOL */
    int spatial;          /* output is [n,h,w,c] (1) or [n,c] (0) */
    int h, w, c;          /* per-sample output shape */
    int relu;             /* fused ReLU */
    int base;             /* a backbone node (its parameters come from the weights file) */
    int param0, nparams;  /* its parameters in the model's table */
    int frozen;           /* runs before the features */
    int alias;            /* frozen BN folded into its conv, or ReLU fused
                           * into its producer: its output is in0's */
    int fold;             /* CONV: index of the frozen BN folded into it, else -1 */
    int consumers;        /* layers reading its output */
    int dropout_id;       /* 1-based dropout index (its mask stream) */
    int act_bf16;         /* frozen layer whose output stays bf16 (see model.c) */
    float bn_eps, bn_momentum; /* L_BN */
    ck_tensor *y;         /* own output buffer (trainable part) or NULL */
    ck_tensor *mask, *save_mean, *save_invstd;
    ck_tensor *wf, *bf;   /* CONV with fold: the folded kernel and bias */
    ck_tensor *wr;        /* trained CONV / DENSE under bf16 precision: the
                           * kernel rounded to bf16 (NULL in fp32) */
} layer;

typedef struct param {
    char name[64];
    ck_param_kind kind;
    int is_kernel;
    int layer;        /* owning layer */
    ck_tensor *t, *g; /* g only for trainable parameters */
    int pending_init; /* t not yet given its seeded initial values */
} param;

/* Reused buffers of one size: frozen activations or backward gradients. */
typedef struct buf_pool {
    ck_tensor *buf[CK_MODEL_MAX_BUFS];
    int busy[CK_MODEL_MAX_BUFS];
    int n;
    size_t numel; /* capacity of each */
} buf_pool;

struct ck_model {
    ck_backend *be;
    ck_net_config cfg;
    int max_batch;
    layer layers[CK_MODEL_MAX_LAYERS];
    int nlayers;
    int base_end;         /* last backbone layer */
    param params[CK_MODEL_MAX_PARAMS];
    int nparams;
    int feat_layer;       /* last frozen layer, -1 when the input is the feature */
    int first_param_layer;/* first layer after the features that has parameters */
    int folds_stale;      /* folded kernels need recomputing */
    ck_preprocess_spec pre;
    ck_tensor *input;     /* preprocessed input when x is U8 */
    buf_pool acts;        /* frozen activations */
    buf_pool grads;       /* gradients of layer outputs in backward */
    ck_tensor *featbuf;   /* F32 copy of BF16 features */
    ck_tensor *probs, *labels, *class_weights;
    float smoothing;
    const ck_tensor *out[CK_MODEL_MAX_LAYERS]; /* outputs of the current run */
    ck_tensor *gout[CK_MODEL_MAX_LAYERS];      /* gradients of outputs in backward */
    const ck_tensor *feat_out;                  /* features of the current run */
    const ck_tensor *x_in;                      /* preprocessed input of the frozen run */
};

/* Give every parameter still pending its seeded initial values and fold
 * frozen batch norms into their convs when the weights changed (model.c).
 * Initialisation is lazy because a loaded weights file usually overwrites
 * the conv values right after ck_model_new (1-2 s per model on 2 cores);
 * the values are the same whenever it happens. Called before running the
 * model; ck_model_param() and ck_model_param_get() initialise the one
 * parameter they hand out. */
int ck_model_init_pending(ck_model *m);

/* Shape helpers used across the model files. */
size_t ck_model_layer_numel(const layer *l);

/* Buffer pools (model_run.c): take a free buffer (a new one when all are
 * busy: only while planning in ck_model_new) / give it back. */
ck_tensor *ck_model_pool_get(ck_model *m, buf_pool *p);
void ck_model_pool_put(buf_pool *p, const ck_tensor *t);
/* Plan both pools by running the schedule once without computing. */
int ck_model_plan_buffers(ck_model *m);

#endif
