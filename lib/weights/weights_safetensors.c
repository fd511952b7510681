/* Weights from safetensors: torchvision state_dicts (renamed, transposed to
 * Keras layout) or ck's canonical names; and writing the canonical form. */
#include "weights_internal.h"
#include "ck/error.h"
#include "ck/json.h"
#include "ck/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tensor as float32, or NULL (error set). */
static float *tensor_f32(ck_weights *w, const ck_st_tensor *t)
{
    float *data = malloc((size_t)(t->count ? t->count : 1) * sizeof *data);
    if (!data) {
        ck_error("weights", "%s: tensor \"%s\": out of memory", w->path, t->name);
        return NULL;
    }
    if (ck_st_to_f32(t, data) < 0) {
        ck_error("weights", "%s: tensor \"%s\" has dtype %s, not a float type", w->path, t->name,
                 ck_st_dtype_name(t->dtype));
        free(data);
        return NULL;
    }
    return data;
}

/* One recognised tensor into canonical layout: torchvision's conv weight
 * [out,in,kh,kw] → HWIO, Linear [out,in] → [in,out], fc1's inputs also
 * reordered from torchvision's channel-first flattening (c,h,w) of the
 * 7×7×512 map to Keras's (h,w,c). */
static int load_tensor(ck_weights *w, const ck_st_file *f, const wt_tensor *want, const wt_entry *e,
                       wt_naming naming)
{
    ck_st_tensor t;
    if (!ck_st_find(f, e->name, &t)) {
        ck_error("weights", "%s: tensor \"%s\" vanished", w->path, e->name);
        return -1;
    }
    float *src = tensor_f32(w, &t);
    if (!src)
        return -1;
    if (naming == WT_NAMES_CANONICAL || want->ndim == 1)
        return ck_weights_add(w, want, src);
    float *dst = malloc((size_t)t.count * sizeof *dst);
    if (!dst) {
        free(src);
        ck_error("weights", "%s: out of memory", w->path);
        return -1;
    }
    if (want->ndim == 4) {
        int O = e->shape[0], I = e->shape[1], KH = e->shape[2], KW = e->shape[3];
        for (int o = 0; o < O; o++)
            for (int i = 0; i < I; i++)
                for (int h = 0; h < KH; h++)
                    for (int x = 0; x < KW; x++)
                        dst[(((size_t)h * KW + x) * I + i) * O + o] = src[(((size_t)o * I + i) * KH + h) * KW + x];
    } else {
        int O = e->shape[0], I = e->shape[1];
        int is_fc1 = strcmp(want->name, "fc1/kernel") == 0;
        for (int o = 0; o < O; o++)
            for (int i = 0; i < I; i++) {
                int row = i;
                if (is_fc1) { /* i = c*49 + p (torch) → p*512 + c (Keras) */
                    int c = i / 49, p = i % 49;
                    row = p * 512 + c;
                }
                dst[(size_t)row * O + o] = src[(size_t)o * I + i];
            }
    }
    free(src);
    return ck_weights_add(w, want, dst);
}

/* ck metadata (written by ck's writers): random marks, and the layout of a
 * canonical file (older files said only "ck_preprocessing"). */
static ck_layout read_metadata(ck_weights *w, const ck_st_file *f)
{
    const char *rnd = ck_st_metadata(f, "ck_random_weights");
    if (rnd && strcmp(rnd, "1") == 0) {
        w->origin = CK_WEIGHTS_RANDOM;
        const char *seed = ck_st_metadata(f, "ck_seed");
        if (seed)
            w->seed = strtoll(seed, NULL, 10);
    }
    const char *lay = ck_st_metadata(f, "ck_layout");
    if (lay && strcmp(lay, "torchvision") == 0)
        return CK_LAYOUT_TORCHVISION;
    if (lay)
        return CK_LAYOUT_KERAS;
    const char *pre = ck_st_metadata(f, "ck_preprocessing");
    return pre && strcmp(pre, "torch") == 0 ? CK_LAYOUT_TORCHVISION : CK_LAYOUT_KERAS;
}

int ck_weights_load_safetensors(ck_weights *w)
{
    w->format = "safetensors";
    ck_st_file *f = ck_st_open(w->path);
    if (!f)
        return -1;
    int rc = -1;
    wt_index x = {0};
    wt_match *m = malloc(sizeof *m);
    if (!m) {
        ck_error("weights", "%s: out of memory", w->path);
        goto out;
    }
    for (int i = 0; i < ck_st_count(f); i++) {
        ck_st_tensor t;
        if (ck_st_tensor_at(f, i, &t) < 0)
            goto out;
        long long shape[4] = {0, 0, 0, 0};
        for (int d = 0; d < t.ndim && d < 4; d++)
            shape[d] = (long long)t.shape[d];
        if (wt_index_add(&x, t.name, t.ndim > 4 ? 5 : t.ndim, shape, NULL) < 0) {
            ck_error("weights", "%s: out of memory", w->path);
            goto out;
        }
    }
    ck_layout hint = read_metadata(w, f);
    if (wt_recognise(&x, w->path, 1u << WT_NAMES_CANONICAL | 1u << WT_NAMES_TORCHVISION, hint, m) < 0)
        goto out;
    const char *arch = ck_st_metadata(f, "ck_arch");
    if (arch && strcmp(arch, ck_arch_name(m->arch)) != 0) {
        ck_error("weights", "%s: metadata says ck_arch \"%s\" but the tensors are %s's", w->path, arch,
                 ck_arch_name(m->arch));
        goto out;
    }
    wt_adopt(w, m);
    for (int i = 0; i < m->n; i++)
        if (load_tensor(w, f, &m->want[i], m->from[i], m->naming) < 0)
            goto out;
    rc = 0;
out:
    free(m);
    wt_index_free(&x);
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
    char seed[32], format[48];
    snprintf(seed, sizeof seed, "%lld", w->seed);
    snprintf(format, sizeof format, "ck-weights-%s", ck_arch_name(w->arch));
    if (ck_st_writer_set_metadata(sw, "format", format) < 0 ||
        ck_st_writer_set_metadata(sw, "ck_arch", ck_arch_name(w->arch)) < 0 ||
        ck_st_writer_set_metadata(sw, "ck_layout", ck_layout_name(w->layout)) < 0 ||
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
