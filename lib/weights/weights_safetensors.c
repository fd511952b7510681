/* VGG16 weights from safetensors: torchvision names (transposed to Keras
 * layout) or ck's canonical names; and writing the canonical form. */
#include "weights_internal.h"
#include "ck/error.h"
#include "ck/json.h"
#include "ck/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tensor as float32 with its shape as ints, or NULL (error set). */
static float *tensor_f32(ck_weights *w, const vgg16_layer *l, const ck_st_tensor *t, int shape[4])
{
    if (t->ndim > 4) {
        ck_error("weights", "%s: layer %s: tensor \"%s\" has rank %d", w->path, l->name, t->name, t->ndim);
        return NULL;
    }
    for (int d = 0; d < t->ndim; d++)
        shape[d] = t->shape[d] > 1000000 ? -1 : (int)t->shape[d];
    float *data = malloc((size_t)(t->count ? t->count : 1) * sizeof *data);
    if (!data) {
        ck_error("weights", "%s: layer %s: out of memory", w->path, l->name);
        return NULL;
    }
    if (ck_st_to_f32(t, data) < 0) {
        ck_error("weights", "%s: layer %s: tensor \"%s\" has dtype %s, not a float type", w->path, l->name,
                 t->name, ck_st_dtype_name(t->dtype));
        free(data);
        return NULL;
    }
    return data;
}

static int need(ck_weights *w, const ck_st_file *f, const vgg16_layer *l, const char *name, ck_st_tensor *t)
{
    if (ck_st_find(f, name, t))
        return 0;
    ck_error("weights", "%s: layer %s: tensor \"%s\" missing", w->path, l->name, name);
    return -1;
}

/* Bias: same layout everywhere. */
static int load_bias(ck_weights *w, const vgg16_layer *l, const ck_st_tensor *t)
{
    int shape[4];
    if (t->ndim != 1) {
        ck_error("weights", "%s: layer %s: bias \"%s\" has rank %d, VGG16 needs 1", w->path, l->name,
                 t->name, t->ndim);
        return -1;
    }
    float *b = tensor_f32(w, l, t, shape);
    return b ? ck_weights_add(w, l, 1, 1, shape, b) : -1;
}

/* torchvision conv weight [out,in,kh,kw] → Keras HWIO [kh,kw,in,out]. */
static int load_torch_conv(ck_weights *w, const ck_st_file *f, const vgg16_layer *l)
{
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "features.%d.weight", l->torch_index);
    snprintf(bn, sizeof bn, "features.%d.bias", l->torch_index);
    ck_st_tensor tw, tb;
    if (need(w, f, l, wn, &tw) < 0 || need(w, f, l, bn, &tb) < 0)
        return -1;
    int s[4] = {0, 0, 0, 0};
    for (int d = 0; d < tw.ndim && d < 4; d++)
        s[d] = tw.shape[d] > 1000000 ? -1 : (int)tw.shape[d];
    int hwio[4] = {s[2], s[3], s[1], s[0]};
    if (ck_weights_check_shape(w, l, 0, tw.ndim, hwio) < 0)
        return -1;
    float *src = tensor_f32(w, l, &tw, s);
    if (!src)
        return -1;
    float *dst = malloc((size_t)tw.count * sizeof *dst);
    if (!dst) {
        free(src);
        ck_error("weights", "%s: out of memory", w->path);
        return -1;
    }
    int O = s[0], I = s[1], KH = s[2], KW = s[3];
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            for (int h = 0; h < KH; h++)
                for (int x = 0; x < KW; x++)
                    dst[(((size_t)h * KW + x) * I + i) * O + o] = src[(((size_t)o * I + i) * KH + h) * KW + x];
    free(src);
    if (ck_weights_add(w, l, 0, 4, hwio, dst) < 0)
        return -1;
    return load_bias(w, l, &tb);
}

/* torchvision Linear weight [out,in] → Keras [in,out]. fc1 also reorders
 * its inputs: torchvision flattens the 7×7×512 map channel-first (c,h,w),
 * Keras channel-last (h,w,c). */
static int load_torch_dense(ck_weights *w, const ck_st_tensor *tw, const ck_st_tensor *tb, const vgg16_layer *l)
{
    int s[4];
    float *src = tensor_f32(w, l, tw, s);
    if (!src)
        return -1;
    int O = s[0], I = s[1];
    float *dst = malloc((size_t)O * I * sizeof *dst);
    if (!dst) {
        free(src);
        ck_error("weights", "%s: out of memory", w->path);
        return -1;
    }
    int is_fc1 = strcmp(l->name, "fc1") == 0;
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++) {
            int row = i;
            if (is_fc1) { /* i = c*49 + p (torch) → p*512 + c (Keras) */
                int c = i / 49, p = i % 49;
                row = p * 512 + c;
            }
            dst[(size_t)row * O + o] = src[(size_t)o * I + i];
        }
    free(src);
    int shape[4] = {I, O, 0, 0};
    if (ck_weights_add(w, l, 0, 2, shape, dst) < 0)
        return -1;
    return load_bias(w, l, tb);
}

/* The classifier is used only when all three Linear layers have ImageNet
 * VGG16 shapes; a fine-tuned head (other sizes) is ignored. */
static int load_torch_top(ck_weights *w, const ck_st_file *f)
{
    ck_st_tensor tw[3], tb[3];
    for (int k = 0; k < 3; k++) {
        const vgg16_layer *l = &ck_vgg16_layers[VGG16_CONV_LAYERS + k];
        char wn[64], bn[64];
        snprintf(wn, sizeof wn, "classifier.%d.weight", l->torch_index);
        snprintf(bn, sizeof bn, "classifier.%d.bias", l->torch_index);
        if (!ck_st_find(f, wn, &tw[k]) || !ck_st_find(f, bn, &tb[k]))
            return 0;
        if (tw[k].ndim != 2 || tw[k].shape[0] != l->out || tw[k].shape[1] != l->in || tb[k].ndim != 1 ||
            tb[k].shape[0] != l->out)
            return 0;
    }
    for (int k = 0; k < 3; k++)
        if (load_torch_dense(w, &tw[k], &tb[k], &ck_vgg16_layers[VGG16_CONV_LAYERS + k]) < 0)
            return -1;
    return 0;
}

static int load_canonical(ck_weights *w, const ck_st_file *f)
{
    for (int k = 0; k < VGG16_ALL_LAYERS; k++) {
        const vgg16_layer *l = &ck_vgg16_layers[k];
        for (int b = 0; b < 2; b++) {
            char name[64];
            snprintf(name, sizeof name, "%s/%s", l->name, b ? "bias" : "kernel");
            ck_st_tensor t;
            if (!ck_st_find(f, name, &t))
                continue; /* completeness is checked by the caller */
            int shape[4] = {0, 0, 0, 0};
            for (int d = 0; d < t.ndim && d < 4; d++)
                shape[d] = t.shape[d] > 1000000 ? -1 : (int)t.shape[d];
            if (ck_weights_check_shape(w, l, b, t.ndim, shape) < 0)
                return -1;
            float *data = tensor_f32(w, l, &t, shape);
            if (!data || ck_weights_add(w, l, b, t.ndim, shape, data) < 0)
                return -1;
        }
    }
    return 0;
}

/* ck metadata (written by ck_weights_write_safetensors). */
static void read_metadata(ck_weights *w, const ck_st_file *f)
{
    const char *pre = ck_st_metadata(f, "ck_preprocessing");
    if (pre && strcmp(pre, "torch") == 0)
        w->preprocessing = "torch";
    const char *rnd = ck_st_metadata(f, "ck_random_weights");
    if (rnd && strcmp(rnd, "1") == 0) {
        w->origin = CK_WEIGHTS_RANDOM;
        const char *seed = ck_st_metadata(f, "ck_seed");
        if (seed)
            w->seed = strtoll(seed, NULL, 10);
    }
}

int ck_weights_load_safetensors(ck_weights *w)
{
    w->format = "safetensors";
    ck_st_file *f = ck_st_open(w->path);
    if (!f)
        return -1;
    ck_st_tensor t;
    int rc;
    if (ck_st_find(f, "features.0.weight", &t)) {
        /* torchvision: RGB in [0,1], normalised by ImageNet mean/std. */
        w->preprocessing = "torch";
        rc = 0;
        for (int k = 0; k < VGG16_CONV_LAYERS && rc == 0; k++)
            rc = load_torch_conv(w, f, &ck_vgg16_layers[k]);
        if (rc == 0)
            rc = load_torch_top(w, f);
    } else if (ck_st_find(f, "block1_conv1/kernel", &t)) {
        w->preprocessing = "caffe";
        read_metadata(w, f);
        rc = load_canonical(w, f);
    } else {
        ck_error("weights", "%s: no VGG16 tensors (expected torchvision \"features.0.weight\" or ck's "
                 "\"block1_conv1/kernel\")", w->path);
        rc = -1;
    }
    ck_st_close(f);
    return rc;
}

int ck_weights_write_safetensors(const ck_weights *w, const char *path)
{
    ck_st_writer *sw = ck_st_writer_new();
    if (!sw)
        return -1;
    int rc = -1;
    for (int k = 0; k < w->n; k++) {
        int64_t shape[4];
        for (int d = 0; d < w->t[k].ndim; d++)
            shape[d] = w->t[k].shape[d];
        if (ck_st_writer_add(sw, w->t[k].name, CK_ST_F32, w->t[k].ndim, shape, w->t[k].data) < 0)
            goto out;
    }
    char seed[32];
    snprintf(seed, sizeof seed, "%lld", w->seed);
    if (ck_st_writer_set_metadata(sw, "format", "ck-weights-vgg16") < 0 ||
        ck_st_writer_set_metadata(sw, "ck_preprocessing", w->preprocessing) < 0 ||
        ck_st_writer_set_metadata(sw, "ck_source_sha256", w->sha256) < 0 ||
        ck_st_writer_set_metadata(sw, "ck_source_origin", ck_weights_origin_name(w->origin)) < 0)
        goto out;
    if (w->origin == CK_WEIGHTS_RANDOM &&
        (ck_st_writer_set_metadata(sw, "ck_random_weights", "1") < 0 ||
         ck_st_writer_set_metadata(sw, "ck_seed", seed) < 0))
        goto out;
    rc = ck_st_writer_write(sw, path);
out:
    ck_st_writer_free(sw);
    return rc;
}
