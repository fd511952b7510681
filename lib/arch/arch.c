/* The backbones' descriptions (ck/arch.h): one builder per family. */
#include "ck/arch.h"

#include "ck/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define D "arch"

static const char *const arch_names[CK_ARCH_COUNT] = {"vgg16", "vgg19", "resnet50"};

const char *ck_arch_name(ck_arch a)
{
    return a >= 0 && a < CK_ARCH_COUNT ? arch_names[a] : "?";
}

int ck_arch_parse(const char *s, ck_arch *out)
{
    for (int a = 0; s && a < CK_ARCH_COUNT; a++)
        if (strcmp(s, arch_names[a]) == 0) {
            *out = (ck_arch)a;
            return 0;
        }
    ck_error(D, "unknown architecture '%s' (expected vgg16, vgg19 or resnet50)", s ? s : "");
    return -1;
}

const char *ck_layout_name(ck_layout l)
{
    return l == CK_LAYOUT_TORCHVISION ? "torchvision" : "keras";
}

int ck_layout_parse(const char *s, ck_layout *out)
{
    if (s && strcmp(s, "keras") == 0) {
        *out = CK_LAYOUT_KERAS;
        return 0;
    }
    if (s && strcmp(s, "torchvision") == 0) {
        *out = CK_LAYOUT_TORCHVISION;
        return 0;
    }
    ck_error(D, "unknown weights layout '%s' (expected keras or torchvision)", s ? s : "");
    return -1;
}

static int valid(ck_arch a, ck_layout l)
{
    if (a < 0 || a >= CK_ARCH_COUNT || (l != CK_LAYOUT_KERAS && l != CK_LAYOUT_TORCHVISION)) {
        ck_error(D, "bad architecture %d or layout %d", (int)a, (int)l);
        return 0;
    }
    return 1;
}

float ck_arch_bn_eps(ck_arch a, ck_layout l)
{
    if (a != CK_ARCH_RESNET50)
        return 0.0f;
    return l == CK_LAYOUT_TORCHVISION ? 1e-5f : 1.001e-5f;
}

const char *ck_arch_preprocessing(ck_arch a, ck_layout l)
{
    (void)a;
    return l == CK_LAYOUT_TORCHVISION ? "torch" : "caffe";
}

static const char *const vgg_stage_end[5] = {"block1_pool", "block2_pool", "block3_pool", "block4_pool",
                                             "block5_pool"};
static const char *const vgg_stage_name[5] = {"block1", "block2", "block3", "block4", "block5"};
static const char *const resnet_stage_end[5] = {"pool1_pool", "conv2_block3_out", "conv3_block4_out",
                                                "conv4_block6_out", "conv5_block3_out"};
static const char *const resnet_stage_name[5] = {"conv1", "conv2", "conv3", "conv4", "conv5"};

const char *ck_arch_stage_end(ck_arch a, int stage)
{
    if (stage < 1 || stage > 5 || a < 0 || a >= CK_ARCH_COUNT)
        return NULL;
    return a == CK_ARCH_RESNET50 ? resnet_stage_end[stage - 1] : vgg_stage_end[stage - 1];
}

const char *ck_arch_stage_name(ck_arch a, int stage)
{
    if (stage < 1 || stage > 5 || a < 0 || a >= CK_ARCH_COUNT)
        return NULL;
    return a == CK_ARCH_RESNET50 ? resnet_stage_name[stage - 1] : vgg_stage_name[stage - 1];
}

/* ---- building the node lists --------------------------------------------- */

typedef struct builder {
    ck_arch_node *nodes;
    int n, max, overflow;
} builder;

static int node(builder *b, ck_node_type type, int in0, int cin, int cout, int stage, const char *fmt, ...)
    CK_PRINTF(7, 8);

/* Append a node; returns its index (or the last valid one on overflow, so
 * building can finish and report once). */
static int node(builder *b, ck_node_type type, int in0, int cin, int cout, int stage, const char *fmt, ...)
{
    if (b->n >= b->max) {
        b->overflow = 1;
        return b->n - 1;
    }
    ck_arch_node *d = &b->nodes[b->n];
    memset(d, 0, sizeof *d);
    d->type = type;
    d->in0 = in0;
    d->in1 = -1;
    d->cin = cin;
    d->cout = cout;
    d->stage = stage;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->name, sizeof d->name, fmt, ap);
    va_end(ap);
    return b->n++;
}

static void geometry(builder *b, int i, int k, int stride, int pad)
{
    if (i >= 0 && i < b->max) {
        b->nodes[i].k = k;
        b->nodes[i].stride = stride;
        b->nodes[i].pad = pad;
    }
}

static int conv(builder *b, int in, int cin, int cout, int k, int stride, int pad, int bias, int stage,
                const char *name)
{
    int i = node(b, CK_NODE_CONV, in, cin, cout, stage, "%s", name);
    geometry(b, i, k, stride, pad);
    if (i >= 0 && i < b->max)
        b->nodes[i].bias = bias;
    return i;
}

static void build_vgg(builder *b, const int *convs)
{
    static const int channels[5] = {64, 128, 256, 512, 512};
    int prev = -1, ch = 3;
    char name[32];
    for (int s = 0; s < 5; s++) {
        for (int k = 0; k < convs[s]; k++) {
            snprintf(name, sizeof name, "block%d_conv%d", s + 1, k + 1);
            prev = conv(b, prev, ch, channels[s], 3, 1, 1, 1, s + 1, name);
            if (prev >= 0 && prev < b->max)
                b->nodes[prev].relu = 1;
            ch = channels[s];
        }
        prev = node(b, CK_NODE_MAXPOOL, prev, ch, ch, s + 1, "block%d_pool", s + 1);
        geometry(b, prev, 2, 2, 0);
    }
}

/* conv + bn (+ relu): returns the last node. */
static int conv_bn(builder *b, int in, int cin, int cout, int k, int stride, int pad, int bias, int stage,
                   const char *prefix, int relu)
{
    char name[32];
    snprintf(name, sizeof name, "%.24s_conv", prefix);
    int c = conv(b, in, cin, cout, k, stride, pad, bias, stage, name);
    int n = node(b, CK_NODE_BN, c, cout, cout, stage, "%.24s_bn", prefix);
    if (relu)
        n = node(b, CK_NODE_RELU, n, cout, cout, stage, "%.24s_relu", prefix);
    return n;
}

static void build_resnet50(builder *b, ck_layout l)
{
    static const int blocks[4] = {3, 4, 6, 3}, filters[4] = {64, 128, 256, 512};
    const int bias = l == CK_LAYOUT_KERAS, v15 = l == CK_LAYOUT_TORCHVISION;
    int x = conv_bn(b, -1, 3, 64, 7, 2, 3, bias, 1, "conv1", 1);
    x = node(b, CK_NODE_MAXPOOL, x, 64, 64, 1, "pool1_pool");
    geometry(b, x, 3, 2, 1);
    int ch = 64;
    char p[32];
    for (int s = 0; s < 4; s++) {
        const int f = filters[s], stage = s + 2;
        for (int k = 0; k < blocks[s]; k++) {
            const int stride = k == 0 && s > 0 ? 2 : 1;
            snprintf(p, sizeof p, "conv%d_block%d_1", stage, k + 1);
            int y = conv_bn(b, x, ch, f, 1, v15 ? 1 : stride, 0, bias, stage, p, 1);
            snprintf(p, sizeof p, "conv%d_block%d_2", stage, k + 1);
            y = conv_bn(b, y, f, f, 3, v15 ? stride : 1, 1, bias, stage, p, 1);
            int shortcut = x;
            char name[32];
            if (k == 0) {
                snprintf(name, sizeof name, "conv%d_block%d_0_conv", stage, k + 1);
                shortcut = conv(b, x, ch, 4 * f, 1, stride, 0, bias, stage, name);
            }
            snprintf(name, sizeof name, "conv%d_block%d_3_conv", stage, k + 1);
            y = conv(b, y, f, 4 * f, 1, 1, 0, bias, stage, name);
            if (k == 0)
                shortcut = node(b, CK_NODE_BN, shortcut, 4 * f, 4 * f, stage, "conv%d_block%d_0_bn", stage, k + 1);
            y = node(b, CK_NODE_BN, y, 4 * f, 4 * f, stage, "conv%d_block%d_3_bn", stage, k + 1);
            int add = node(b, CK_NODE_ADD, shortcut, 4 * f, 4 * f, stage, "conv%d_block%d_add", stage, k + 1);
            if (add >= 0 && add < b->max)
                b->nodes[add].in1 = y;
            x = node(b, CK_NODE_RELU, add, 4 * f, 4 * f, stage, "conv%d_block%d_out", stage, k + 1);
            ch = 4 * f;
        }
    }
}

int ck_arch_nodes(ck_arch a, ck_layout l, ck_arch_node *nodes, int max)
{
    if (!valid(a, l))
        return -1;
    builder b = {nodes, 0, max, 0};
    static const int vgg16[5] = {2, 2, 3, 3, 3}, vgg19[5] = {2, 2, 4, 4, 4};
    if (a == CK_ARCH_RESNET50)
        build_resnet50(&b, l);
    else
        build_vgg(&b, a == CK_ARCH_VGG19 ? vgg19 : vgg16);
    if (b.overflow) {
        ck_error(D, "%s has more than %d nodes", ck_arch_name(a), max);
        return -1;
    }
    return b.n;
}

/* ---- canonical tensors --------------------------------------------------- */

static const char *const bn_suffix[4] = {"gamma", "beta", "moving_mean", "moving_variance"};

/* Walk the tensors; fill the i-th (i >= 0) and return the count. */
static int walk(ck_arch a, ck_layout l, int want, char *name, int *ndim, int shape[4])
{
    /* Rebuilt per call (microseconds): no shared state between threads. */
    ck_arch_node nodes[CK_ARCH_MAX_NODES];
    int n = ck_arch_nodes(a, l, nodes, CK_ARCH_MAX_NODES);
    if (n < 0)
        return -1;
    int t = 0;
    for (int i = 0; i < n; i++) {
        const ck_arch_node *d = &nodes[i];
        if (d->type == CK_NODE_CONV) {
            for (int k = 0; k < 1 + d->bias; k++, t++)
                if (t == want) {
                    snprintf(name, 64, "%s/%s", d->name, k ? "bias" : "kernel");
                    if (k) {
                        *ndim = 1;
                        shape[0] = d->cout;
                    } else {
                        *ndim = 4;
                        shape[0] = shape[1] = d->k;
                        shape[2] = d->cin;
                        shape[3] = d->cout;
                    }
                }
        } else if (d->type == CK_NODE_BN) {
            for (int k = 0; k < 4; k++, t++)
                if (t == want) {
                    snprintf(name, 64, "%s/%s", d->name, bn_suffix[k]);
                    *ndim = 1;
                    shape[0] = d->cout;
                }
        }
    }
    return t;
}

int ck_arch_tensor_count(ck_arch a, ck_layout l)
{
    if (!valid(a, l))
        return -1;
    return walk(a, l, -1, NULL, NULL, NULL);
}

int ck_arch_tensor(ck_arch a, ck_layout l, int i, char name[64], int *ndim, int shape[4])
{
    if (!valid(a, l))
        return -1;
    int n = walk(a, l, i, name, ndim, shape);
    if (n < 0)
        return -1;
    if (i < 0 || i >= n) {
        ck_error(D, "%s has no tensor %d", ck_arch_name(a), i);
        return -1;
    }
    return 0;
}
