/* ck/arch.h — the backbones ck knows, each described once.
 *
 * A backbone is a list of nodes in execution order (a small graph: a node
 * names its producers). The model builder (lib/nn), the weights loader and
 * the random-weights writer (lib/weights) all read this one description,
 * so a backbone's layer names, shapes and wiring exist in one place.
 *
 * Names are Keras' (`block1_conv1`, `conv2_block1_1_conv`, `conv1_bn`);
 * a weights file of another layout (torchvision) is renamed to them on
 * load. Canonical tensors of the base, in network order:
 *   "<conv>/kernel" [kh,kw,in,out] (HWIO), "<conv>/bias" [out] (when the
 *   layout has conv biases), "<bn>/gamma", "<bn>/beta", "<bn>/moving_mean",
 *   "<bn>/moving_variance" [c].
 *
 *   vgg16, vgg19  3×3 convs + ReLU, 2×2 max-pools; 5 blocks of 2,2,3,3,3
 *                 (vgg19: 2,2,4,4,4) convs; both layouts have biases and
 *                 the same names; keras → caffe preprocessing, torchvision
 *                 → torch preprocessing.
 *   resnet50      stem conv1 (7×7/2, pad 3) + BN + ReLU, 3×3/2 max-pool
 *                 (pad 1), stages conv2..conv5 of 3,4,6,3 bottleneck blocks
 *                 (1×1, 3×3, 1×1 ×4 channels; block 1 has a projection
 *                 shortcut `_0_conv`), each block ending in add + ReLU.
 *                 keras layout = ResNet v1 (a stage's stride in its first
 *                 1×1 conv, conv biases, BN eps 1.001e-5, caffe input);
 *                 torchvision = v1.5 (stride in the 3×3, no conv biases,
 *                 BN eps 1e-5, torch input).
 *
 * Stages (the unit of --unfreeze, counted 1..5 from the input): VGG blocks
 * 1..5; ResNet: 1 = conv1 + pool1, 2..5 = conv2..conv5.
 */
#ifndef CK_ARCH_H
#define CK_ARCH_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ck_arch { CK_ARCH_VGG16 = 0, CK_ARCH_VGG19 = 1, CK_ARCH_RESNET50 = 2 } ck_arch;
#define CK_ARCH_COUNT 3

typedef enum ck_layout { CK_LAYOUT_KERAS = 0, CK_LAYOUT_TORCHVISION = 1 } ck_layout;

typedef enum ck_node_type {
    CK_NODE_CONV,    /* k×k conv, stride, symmetric zero pad; bias when `bias` */
    CK_NODE_BN,      /* batch normalisation of in0 (a conv's output) */
    CK_NODE_RELU,    /* max(in0, 0) */
    CK_NODE_MAXPOOL, /* k×k max-pool, stride, pad (padding never wins) */
    CK_NODE_ADD      /* in0 + in1 */
} ck_node_type;

typedef struct ck_arch_node {
    ck_node_type type;
    char name[32];      /* Keras layer name */
    int in0, in1;       /* producers (node indices, -1 = the preprocessed
                         * input); in1 only for ADD, else -1 */
    int k, stride, pad; /* CONV and MAXPOOL */
    int cin, cout;      /* channels consumed / produced */
    int bias;           /* CONV: has a bias tensor */
    int relu;           /* CONV: fused ReLU (VGG's Conv2D(activation='relu')) */
    int stage;          /* 1..5 (see above) */
} ck_arch_node;

/* Upper bound on a backbone's node count (ResNet50 has 175). */
#define CK_ARCH_MAX_NODES 192

/* Fill nodes[0..n) and return n, or -1 with an error (unknown arch or
 * layout, or max too small). */
int ck_arch_nodes(ck_arch a, ck_layout l, ck_arch_node *nodes, int max);

/* "vgg16", "vgg19", "resnet50"; parse returns -1 with an error listing the
 * names. */
const char *ck_arch_name(ck_arch a);
int ck_arch_parse(const char *s, ck_arch *out);
/* "keras", "torchvision". */
const char *ck_layout_name(ck_layout l);
int ck_layout_parse(const char *s, ck_layout *out);

/* BN epsilon of the base (1.001e-5 Keras, 1e-5 torchvision; 0 for VGG). */
float ck_arch_bn_eps(ck_arch a, ck_layout l);
/* "caffe" or "torch" (ck/weights.h explains both). */
const char *ck_arch_preprocessing(ck_arch a, ck_layout l);
/* Name of the last node of stage s (1..5): "block5_pool", "conv5_block3_out". */
const char *ck_arch_stage_end(ck_arch a, int stage);
/* Keras' prefix of stage s's layers: "block5", "conv5" (conv1/pool1 for
 * ResNet stage 1 are reported as "conv1"). */
const char *ck_arch_stage_name(ck_arch a, int stage);

/* The base's canonical tensors (see above) in network order: count, and
 * the i-th one's name and shape. -1 with an error on a bad arch/layout/i. */
int ck_arch_tensor_count(ck_arch a, ck_layout l);
int ck_arch_tensor(ck_arch a, ck_layout l, int i, char name[64], int *ndim, int shape[4]);

#ifdef __cplusplus
}
#endif
#endif
