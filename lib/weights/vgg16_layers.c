/* The VGG16 layers with weights, their expected shapes, and the tensor set
 * that a loader fills in. */
#include "weights_internal.h"
#include "ck/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const vgg16_layer ck_vgg16_layers[VGG16_ALL_LAYERS] = {
    {"block1_conv1", 0, 3, 64, 0},      {"block1_conv2", 0, 64, 64, 2},
    {"block2_conv1", 0, 64, 128, 5},    {"block2_conv2", 0, 128, 128, 7},
    {"block3_conv1", 0, 128, 256, 10},  {"block3_conv2", 0, 256, 256, 12},
    {"block3_conv3", 0, 256, 256, 14},  {"block4_conv1", 0, 256, 512, 17},
    {"block4_conv2", 0, 512, 512, 19},  {"block4_conv3", 0, 512, 512, 21},
    {"block5_conv1", 0, 512, 512, 24},  {"block5_conv2", 0, 512, 512, 26},
    {"block5_conv3", 0, 512, 512, 28},
    {"fc1", 1, 7 * 7 * 512, 4096, 0},   {"fc2", 1, 4096, 4096, 3},
    {"predictions", 1, 4096, 1000, 6},
};

const char *ck_vgg16_layer_name(int k)
{
    return k >= 0 && k < VGG16_ALL_LAYERS ? ck_vgg16_layers[k].name : NULL;
}

int ck_vgg16_kernel_shape(const vgg16_layer *l, int shape[4])
{
    if (l->is_dense) {
        shape[0] = l->in;
        shape[1] = l->out;
        return 2;
    }
    shape[0] = 3;
    shape[1] = 3;
    shape[2] = l->in;
    shape[3] = l->out;
    return 4;
}

static void shape_text(int ndim, const int *shape, char *buf, size_t n)
{
    size_t k = 0;
    k += (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, d ? ",%d" : "%d", shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

int ck_weights_check_shape(const ck_weights *w, const vgg16_layer *l, int is_bias, int ndim,
                           const int shape[4])
{
    int want[4] = {l->out, 0, 0, 0};
    int wnd = is_bias ? 1 : ck_vgg16_kernel_shape(l, want);
    int ok = ndim == wnd;
    for (int d = 0; ok && d < ndim; d++)
        ok = shape[d] == want[d];
    if (!ok) {
        char got[64], exp[64];
        shape_text(ndim, shape, got, sizeof got);
        shape_text(wnd, want, exp, sizeof exp);
        ck_error("weights", "%s: layer %s: %s has shape %s, VGG16 needs %s", w->path, l->name,
                 is_bias ? "bias" : "kernel", got, exp);
        return -1;
    }
    return 0;
}

int ck_weights_add(ck_weights *w, const vgg16_layer *l, int is_bias, int ndim, const int shape[4],
                   float *data)
{
    if (ck_weights_check_shape(w, l, is_bias, ndim, shape) < 0) {
        free(data);
        return -1;
    }
    /* Raw data has no checksum in HDF5: non-finite values are the one sign
     * of damage we can see without the official sha256. */
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= (size_t)shape[d];
    for (size_t i = 0; i < n; i++)
        if (!isfinite(data[i])) {
            ck_error("weights", "%s: layer %s: %s holds NaN or infinity at index %zu (corrupt file?)", w->path,
                     l->name, is_bias ? "bias" : "kernel", i);
            free(data);
            return -1;
        }
    int slot = 2 * (int)(l - ck_vgg16_layers) + is_bias;
    wt_tensor *t = &w->t[slot];
    if (t->data) {
        ck_error("weights", "%s: layer %s: %s given twice", w->path, l->name, is_bias ? "bias" : "kernel");
        free(data);
        return -1;
    }
    size_t len = strlen(l->name) + 8;
    t->name = malloc(len);
    if (!t->name) {
        ck_error("weights", "%s: out of memory", w->path);
        free(data);
        return -1;
    }
    snprintf(t->name, len, "%s/%s", l->name, is_bias ? "bias" : "kernel");
    t->ndim = ndim;
    memset(t->shape, 0, sizeof t->shape);
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = data;
    return 0;
}

int ck_weights_check_complete(ck_weights *w)
{
    for (int k = 0; k < VGG16_CONV_LAYERS; k++)
        for (int b = 0; b < 2; b++)
            if (!w->t[2 * k + b].data) {
                ck_error("weights", "%s: layer %s: %s missing (not a VGG16 weights file?)", w->path,
                         ck_vgg16_layers[k].name, b ? "bias" : "kernel");
                return -1;
            }
    int top = 0;
    for (int k = VGG16_CONV_LAYERS; k < VGG16_ALL_LAYERS; k++)
        top += (w->t[2 * k].data != NULL) + (w->t[2 * k + 1].data != NULL);
    if (top && top != 2 * (VGG16_ALL_LAYERS - VGG16_CONV_LAYERS)) {
        for (int k = VGG16_CONV_LAYERS; k < VGG16_ALL_LAYERS; k++)
            for (int b = 0; b < 2; b++)
                if (!w->t[2 * k + b].data) {
                    ck_error("weights", "%s: layer %s: %s missing (the top is incomplete)", w->path,
                             ck_vgg16_layers[k].name, b ? "bias" : "kernel");
                    return -1;
                }
    }
    w->has_top = top != 0;
    /* Compact so that t[0..n) are the tensors present, in network order. */
    w->n = 0;
    for (int k = 0; k < 2 * VGG16_ALL_LAYERS; k++)
        if (w->t[k].data)
            w->t[w->n++] = w->t[k];
    for (int k = w->n; k < 2 * VGG16_ALL_LAYERS; k++)
        memset(&w->t[k], 0, sizeof w->t[k]);
    return 0;
}

const vgg16_layer *ck_vgg16_find(const char *name)
{
    for (int k = 0; k < VGG16_ALL_LAYERS; k++)
        if (strcmp(name, ck_vgg16_layers[k].name) == 0)
            return &ck_vgg16_layers[k];
    return NULL;
}
