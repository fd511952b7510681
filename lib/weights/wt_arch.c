/* The tensors each (arch, layout) needs (from ck/arch.h, plus VGG's top),
 * torchvision's names for them, and recognising a file by its tensors'
 * names and shapes. */
#include "weights_internal.h"
#include "ck/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* VGG's fully connected top (Keras names; the input is 7×7×512). */
static const struct {
    const char *name;
    int in, out, torch_index;
} vgg_top[3] = {{"fc1", 7 * 7 * 512, 4096, 0}, {"fc2", 4096, 4096, 3}, {"predictions", 4096, 1000, 6}};

static int is_vgg(ck_arch a)
{
    return a == CK_ARCH_VGG16 || a == CK_ARCH_VGG19;
}

int wt_expected(ck_arch a, ck_layout l, int top, wt_tensor *out, int max)
{
    int n = ck_arch_tensor_count(a, l);
    if (n < 0)
        return -1;
    if (n + (top && is_vgg(a) ? WT_TOP_TENSORS : 0) > max) {
        ck_error("weights", "%s has more than %d tensors", ck_arch_name(a), max);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        if (ck_arch_tensor(a, l, i, out[i].name, &out[i].ndim, out[i].shape) < 0)
            return -1;
    }
    if (top && is_vgg(a))
        for (int k = 0; k < 3; k++)
            for (int b = 0; b < 2; b++) {
                wt_tensor *t = &out[n++];
                memset(t, 0, sizeof *t);
                snprintf(t->name, sizeof t->name, "%s/%s", vgg_top[k].name, b ? "bias" : "kernel");
                t->ndim = b ? 1 : 2;
                t->shape[0] = b ? vgg_top[k].out : vgg_top[k].in;
                t->shape[1] = b ? 0 : vgg_top[k].out;
            }
    return n;
}

const char *ck_vgg16_layer_name(int k)
{
    static const char *const names[16] = {
        "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1", "block3_conv2",
        "block3_conv3", "block4_conv1", "block4_conv2", "block4_conv3", "block5_conv1", "block5_conv2",
        "block5_conv3", "fc1",          "fc2",          "predictions"};
    return k >= 0 && k < 16 ? names[k] : NULL;
}

/* torchvision's features.N of a VGG conv: N counts conv, ReLU and pool
 * modules in order. */
static int vgg_features_index(ck_arch a, const char *layer, size_t len)
{
    ck_arch_node nodes[CK_ARCH_MAX_NODES];
    int n = ck_arch_nodes(a, CK_LAYOUT_TORCHVISION, nodes, CK_ARCH_MAX_NODES);
    for (int i = 0, idx = 0; i < n; i++) {
        if (nodes[i].type == CK_NODE_CONV) {
            if (strlen(nodes[i].name) == len && strncmp(nodes[i].name, layer, len) == 0)
                return idx;
            idx += 2; /* Conv2d, ReLU */
        } else {
            idx++;
        }
    }
    return -1;
}

static const char *const bn_keras[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
static const char *const bn_torch[4] = {"weight", "bias", "running_mean", "running_var"};

int wt_torch_name(ck_arch a, const char *canonical, char out[96])
{
    const char *slash = strchr(canonical, '/');
    if (!slash)
        return -1;
    const char *kind = slash + 1;
    size_t len = (size_t)(slash - canonical);
    if (is_vgg(a)) {
        const char *suffix = strcmp(kind, "kernel") == 0 ? "weight" : strcmp(kind, "bias") == 0 ? "bias" : NULL;
        if (!suffix)
            return -1;
        for (int k = 0; k < 3; k++)
            if (strlen(vgg_top[k].name) == len && strncmp(canonical, vgg_top[k].name, len) == 0) {
                snprintf(out, 96, "classifier.%d.%s", vgg_top[k].torch_index, suffix);
                return 0;
            }
        int idx = vgg_features_index(a, canonical, len);
        if (idx < 0)
            return -1;
        snprintf(out, 96, "features.%d.%s", idx, suffix);
        return 0;
    }
    /* ResNet50: conv1_conv → conv1, conv1_bn → bn1; convS_blockB_K_conv →
     * layer(S-1).(B-1).convK, K = 0 → downsample.0 (its BN downsample.1). */
    char module[64];
    int s, b, k;
    char type[8];
    int is_bn;
    if (strncmp(canonical, "conv1_conv/", 11) == 0 || strncmp(canonical, "conv1_bn/", 9) == 0) {
        is_bn = canonical[6] == 'b';
        snprintf(module, sizeof module, "%s", is_bn ? "bn1" : "conv1");
    } else if (sscanf(canonical, "conv%d_block%d_%d_%4[a-z]/", &s, &b, &k, type) == 4 && s >= 2 && s <= 5 &&
               b >= 1 && k >= 0 && k <= 3) {
        is_bn = strcmp(type, "bn") == 0;
        if (!is_bn && strcmp(type, "conv") != 0)
            return -1;
        if (k == 0)
            snprintf(module, sizeof module, "layer%d.%d.downsample.%d", s - 1, b - 1, is_bn);
        else
            snprintf(module, sizeof module, "layer%d.%d.%s%d", s - 1, b - 1, is_bn ? "bn" : "conv", k);
    } else {
        return -1;
    }
    if (!is_bn) {
        if (strcmp(kind, "kernel") != 0)
            return -1; /* torchvision's ResNet convs have no bias */
        snprintf(out, 96, "%s.weight", module);
        return 0;
    }
    for (int q = 0; q < 4; q++)
        if (strcmp(kind, bn_keras[q]) == 0) {
            snprintf(out, 96, "%s.%s", module, bn_torch[q]);
            return 0;
        }
    return -1;
}

/* ---- the index of a file's tensors ------------------------------------- */

int wt_index_add(wt_index *x, const char *name, int ndim, const long long *shape, const char *src)
{
    if (ck_strmap_get(&x->map, name) >= 0)
        return 0;
    if (x->n == x->cap) {
        int cap = x->cap ? 2 * x->cap : 256;
        wt_entry *e = malloc((size_t)cap * sizeof *e);
        if (!e)
            return -1;
        if (x->n)
            memcpy(e, x->e, (size_t)x->n * sizeof *e);
        /* The map borrows the names: rebuild it over the moved entries. */
        ck_strmap_clear(&x->map);
        free(x->e);
        x->e = e;
        x->cap = cap;
        for (int i = 0; i < x->n; i++)
            if (ck_strmap_put(&x->map, x->e[i].name, i) == -2)
                return -1;
    }
    wt_entry *e = &x->e[x->n];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->src, sizeof e->src, "%s", src ? src : name);
    e->ndim = ndim;
    for (int d = 0; d < ndim && d < 4; d++)
        e->shape[d] = shape[d] > 1000000000LL || shape[d] < 0 ? -1 : (int)shape[d];
    if (ck_strmap_put(&x->map, e->name, x->n) == -2)
        return -1;
    x->n++;
    return 0;
}

void wt_index_free(wt_index *x)
{
    ck_strmap_clear(&x->map);
    free(x->e);
    memset(x, 0, sizeof *x);
}

/* ---- recognition --------------------------------------------------------- */

void wt_shape_text(int ndim, const int *shape, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, d ? ",%d" : "%d", shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

/* The file's name and stored shape of a canonical tensor. */
static int file_form(ck_arch a, wt_naming naming, const wt_tensor *t, char name[96], int *ndim, int shape[4])
{
    *ndim = t->ndim;
    memcpy(shape, t->shape, sizeof t->shape);
    if (naming == WT_NAMES_CANONICAL) {
        size_t len = strnlen(t->name, sizeof t->name - 1);
        memcpy(name, t->name, len);
        name[len] = '\0';
        return 0;
    }
    if (wt_torch_name(a, t->name, name) < 0)
        return -1;
    if (t->ndim == 4) { /* HWIO → OIHW */
        shape[0] = t->shape[3];
        shape[1] = t->shape[2];
        shape[2] = t->shape[0];
        shape[3] = t->shape[1];
    } else if (t->ndim == 2) {
        shape[0] = t->shape[1];
        shape[1] = t->shape[0];
    }
    return 0;
}

static int same_shape(const wt_entry *e, int ndim, const int *shape)
{
    if (e->ndim != ndim)
        return 0;
    for (int d = 0; d < ndim; d++)
        if (e->shape[d] != shape[d])
            return 0;
    return 1;
}

typedef struct candidate {
    ck_arch arch;
    ck_layout layout;
    wt_naming naming;
    int count, matched;
    int problem; /* first tensor missing or of the wrong shape, -1 none */
} candidate;

static void score(const wt_index *x, candidate *c, wt_tensor *want)
{
    c->count = wt_expected(c->arch, c->layout, 0, want, WT_MAX_TENSORS);
    c->matched = 0;
    c->problem = -1;
    for (int i = 0; i < c->count; i++) {
        char name[96];
        int nd, shape[4];
        int e = file_form(c->arch, c->naming, &want[i], name, &nd, shape) < 0 ? -1 : ck_strmap_get(&x->map, name);
        if (e >= 0 && same_shape(&x->e[e], nd, shape))
            c->matched++;
        else if (c->problem < 0)
            c->problem = i;
    }
}

/* a better than b? */
static int better(const candidate *a, const candidate *b, ck_layout hint)
{
    if (a->matched != b->matched)
        return a->matched > b->matched;
    int ca = a->problem < 0, cb = b->problem < 0;
    if (ca != cb)
        return ca;
    if ((a->layout == hint) != (b->layout == hint))
        return a->layout == hint;
    return a->count < b->count;
}

static void describe(const candidate *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s, %s layout%s", ck_arch_name(c->arch), ck_layout_name(c->layout),
             c->naming == WT_NAMES_TORCHVISION ? ", torchvision names" : "");
}

int wt_recognise(const wt_index *x, const char *path, unsigned namings, ck_layout hint, wt_match *m)
{
    candidate best = {0}, c;
    int have = 0;
    for (int naming = 0; naming < 2; naming++) {
        if (!(namings & (1u << naming)))
            continue;
        for (int l = 0; l < 2; l++) {
            if (naming == WT_NAMES_TORCHVISION && l != CK_LAYOUT_TORCHVISION)
                continue;
            for (int a = 0; a < CK_ARCH_COUNT; a++) {
                c.arch = (ck_arch)a;
                c.layout = (ck_layout)l;
                c.naming = (wt_naming)naming;
                score(x, &c, m->want);
                if (c.count < 0)
                    return -1;
                if (!have || better(&c, &best, hint))
                    best = c;
                have = 1;
            }
        }
    }
    /* Re-fill want[] for the winner (score() overwrote it). */
    int n = wt_expected(best.arch, best.layout, 0, m->want, WT_MAX_TENSORS);
    if (n < 0)
        return -1;
    char what[96];
    describe(&best, what, sizeof what);
    if (best.problem >= 0) {
        const wt_tensor *t = &m->want[best.problem];
        char name[96], alias[80] = "";
        int nd, shape[4];
        file_form(best.arch, best.naming, t, name, &nd, shape);
        if (strcmp(name, t->name) != 0)
            snprintf(alias, sizeof alias, " (%s)", t->name);
        int e = ck_strmap_get(&x->map, name);
        if (e < 0) {
            ck_error("weights", "%s: tensor \"%s\"%s missing (the closest known weights file is %s)", path, name,
                     alias, what);
        } else {
            char got[64], exp[64];
            wt_shape_text(x->e[e].ndim, x->e[e].shape, got, sizeof got);
            wt_shape_text(nd, shape, exp, sizeof exp);
            ck_error("weights", "%s: tensor \"%s\"%s has shape %s, %s needs %s (%s)", path, name, alias, got,
                     ck_arch_name(best.arch), exp, what);
        }
        return -1;
    }
    m->arch = best.arch;
    m->layout = best.layout;
    m->naming = best.naming;
    m->top = 0;
    m->n = n;
    for (int i = 0; i < n; i++) {
        char name[96];
        int nd, shape[4];
        file_form(best.arch, best.naming, &m->want[i], name, &nd, shape);
        m->from[i] = &x->e[ck_strmap_get(&x->map, name)];
    }
    if (!is_vgg(best.arch))
        return 0;
    /* VGG's top: torchvision's classifier only when it has ImageNet shapes
     * (a fine-tuned head is ignored); otherwise all or nothing. */
    wt_tensor all[WT_MAX_TENSORS];
    int total = wt_expected(best.arch, best.layout, 1, all, WT_MAX_TENSORS);
    const wt_entry *from[WT_TOP_TENSORS];
    int present = 0, fitting = 0, first_bad = -1;
    for (int i = n; i < total; i++) {
        char name[96];
        int nd, shape[4];
        file_form(best.arch, best.naming, &all[i], name, &nd, shape);
        int e = ck_strmap_get(&x->map, name);
        from[i - n] = e >= 0 ? &x->e[e] : NULL;
        present += e >= 0;
        if (e >= 0 && same_shape(&x->e[e], nd, shape))
            fitting++;
        else if (first_bad < 0)
            first_bad = i;
    }
    if (fitting == WT_TOP_TENSORS) {
        for (int i = n; i < total; i++) {
            m->want[i] = all[i];
            m->from[i] = from[i - n];
        }
        m->n = total;
        m->top = 1;
        return 0;
    }
    if (present == 0 || best.naming == WT_NAMES_TORCHVISION)
        return 0;
    const wt_tensor *t = &all[first_bad];
    if (!from[first_bad - n]) {
        ck_error("weights", "%s: tensor \"%s\" missing (the top is incomplete)", path, t->name);
    } else {
        char got[64], exp[64];
        wt_shape_text(from[first_bad - n]->ndim, from[first_bad - n]->shape, got, sizeof got);
        wt_shape_text(t->ndim, t->shape, exp, sizeof exp);
        ck_error("weights", "%s: tensor \"%s\" has shape %s, %s needs %s", path, t->name, got,
                 ck_arch_name(best.arch), exp);
    }
    return -1;
}

/* ---- filling the weights -------------------------------------------------- */

void wt_adopt(ck_weights *w, const wt_match *m)
{
    w->arch = m->arch;
    w->layout = m->layout;
    w->preprocessing = ck_arch_preprocessing(m->arch, m->layout);
    w->has_top = m->top;
}

int ck_weights_add(ck_weights *w, const wt_tensor *want, float *data)
{
    if (w->n >= WT_MAX_TENSORS) {
        ck_error("weights", "%s: too many tensors", w->path);
        free(data);
        return -1;
    }
    size_t n = 1;
    for (int d = 0; d < want->ndim; d++)
        n *= (size_t)want->shape[d];
    /* Raw data has no checksum in HDF5: non-finite values are the one sign
     * of damage we can see without the official digest. */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(data[i])) {
            ck_error("weights", "%s: tensor %s holds NaN or infinity at index %zu (corrupt file?)", w->path,
                     want->name, i);
            free(data);
            return -1;
        }
    wt_tensor *t = &w->t[w->n++];
    *t = *want;
    t->data = data;
    return 0;
}

int ck_weights_check_complete(ck_weights *w)
{
    wt_tensor want[WT_MAX_TENSORS];
    int n = wt_expected(w->arch, w->layout, w->has_top, want, WT_MAX_TENSORS);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (i >= w->n || strcmp(w->t[i].name, want[i].name) != 0) {
            ck_error("weights", "%s: tensor %s missing", w->path, want[i].name);
            return -1;
        }
    if (w->n != n) {
        ck_error("weights", "%s: %d tensors where %s needs %d", w->path, w->n, ck_arch_name(w->arch), n);
        return -1;
    }
    return 0;
}
