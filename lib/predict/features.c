/* ck_features: a backbone's output for a list of images, row by row into
 * a .npy file (ck/features.h). */
#include "ck/features.h"

#include "ck/arch.h"
#include "ck/backend.h"
#include "ck/dataset.h"
#include "ck/error.h"
#include "ck/model.h"
#include "ck/npy.h"
#include "ck/progress.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More decoding threads than this only contend for the same batch. */
#define MAX_LOADERS 64

struct ck_features {
    ck_features_options o;
    ck_view views[CK_MAX_VIEWS];
    ck_backend *be;
    ck_model *model;
    int layer;    /* model layer index */
    int batch;    /* the model's largest batch */
    int map[3];   /* the layer's per-image [h,w,c] */
};

static const char *const pool_names[] = {"avg", "max", "flatten", "none"};

int ck_feat_pool_parse(const char *s, ck_feat_pool *out)
{
    for (int k = 0; k < 4; k++)
        if (strcmp(s, pool_names[k]) == 0) {
            *out = (ck_feat_pool)k;
            return 0;
        }
    if (strcmp(s, "gap") == 0) {
        *out = CK_FEAT_AVG;
        return 0;
    }
    ck_error("features", "unknown pooling '%s' (avg, max, flatten or none)", s);
    return -1;
}

const char *ck_feat_pool_name(ck_feat_pool p) { return (unsigned)p < 4 ? pool_names[p] : "?"; }

void ck_features_options_init(ck_features_options *o)
{
    memset(o, 0, sizeof *o);
    o->pool = CK_FEAT_AVG;
}

int ck_features_check_layer(const ck_weights *w, const char *layer)
{
    if (!layer)
        return 0;
    const ck_arch arch = ck_weights_arch(w);
    ck_arch_node *nodes = malloc(CK_ARCH_MAX_NODES * sizeof *nodes);
    int n = nodes ? ck_arch_nodes(arch, ck_weights_layout(w), nodes, CK_ARCH_MAX_NODES) : -1;
    if (n < 0) {
        if (!nodes)
            ck_error("features", "out of memory");
        free(nodes);
        return -1;
    }
    int found = 0;
    for (int i = 0; i < n && !found; i++)
        found = strcmp(nodes[i].name, layer) == 0;
    if (!found) {
        /* The whole list of a ResNet is 175 names: the stage ends and the
         * first layers show the naming; model.summary() lists them all. */
        char ends[256] = "";
        for (int s = 1; s <= 5; s++) {
            size_t k = strlen(ends);
            snprintf(ends + k, sizeof ends - k, "%s%s", s > 1 ? ", " : "", ck_arch_stage_end(arch, s));
        }
        ck_error("features", "no layer '%s' in %s: stage ends %s; first layers %s, %s, %s, ... (%d layers, "
                 "Keras' names)", layer, ck_arch_name(arch), ends, nodes[0].name, nodes[1].name, nodes[2].name, n);
    }
    free(nodes);
    return found ? 0 : -1;
}

ck_features *ck_features_new(const ck_weights *w, const ck_features_options *o)
{
    int S = o->input_size ? o->input_size : 32;
    if (S < 32 || S > 1024 || S % 32 || o->nviews < 0 || o->nviews > CK_MAX_VIEWS || (o->nviews && !o->views) ||
        (unsigned)o->pool > CK_FEAT_NONE || o->batch < 0) {
        ck_error("features", "bad options (input size %d: a multiple of 32 from 32 to 1024; views; pooling)", S);
        return NULL;
    }
    if (o->nviews > 1 && (o->pool == CK_FEAT_FLATTEN || o->pool == CK_FEAT_NONE)) {
        ck_error("features", "test-time views go with pooled features (avg or max), not %s: a flipped "
                 "image's map holds its values at mirrored positions", ck_feat_pool_name(o->pool));
        return NULL;
    }
    if (ck_features_check_layer(w, o->layer))
        return NULL;
    ck_features *f = calloc(1, sizeof *f);
    if (!f) {
        ck_error("features", "out of memory");
        return NULL;
    }
    f->o = *o;
    f->o.input_size = S;
    f->o.nviews = o->nviews ? o->nviews : 1;
    f->views[0] = CK_VIEW_ORIGINAL;
    if (o->nviews)
        memcpy(f->views, o->views, (size_t)o->nviews * sizeof *f->views);
    f->o.views = f->views;
    f->o.layer = NULL; /* not kept: the caller's string; ck_features_layer names it */
    f->batch = o->batch > 0 ? o->batch : (S <= 64 ? 64 : 16);

    ck_net_config cfg;
    ck_net_config_default(&cfg);
    cfg.arch = ck_weights_arch(w); /* the backbone the file holds */
    cfg.layout = ck_weights_layout(w);
    cfg.input_size = S;
    cfg.train_blocks = 0;
    cfg.num_hidden = 0;
    cfg.dropout = 0;
    cfg.num_classes = 2; /* the head is never run */
    cfg.frozen_algo = o->conv_algo;
    f->be = ck_backend_new(o->device ? o->device : "auto", o->threads);
    f->model = f->be ? ck_model_new(f->be, &cfg, f->batch) : NULL;
    if (!f->model || ck_model_load_weights(f->model, w)) {
        ck_features_free(f);
        return NULL;
    }
    f->layer = o->layer ? ck_model_layer_find(f->model, o->layer) : ck_model_base_end(f->model);
    if (f->layer < 0 || f->layer > ck_model_base_end(f->model)) {
        ck_error("features", "layer '%s' is not one of the backbone's", o->layer ? o->layer : "(last)");
        ck_features_free(f);
        return NULL;
    }
    if (ck_model_layer_shape(f->model, f->layer, f->map)) {
        ck_features_free(f);
        return NULL;
    }
    return f;
}

void ck_features_free(ck_features *f)
{
    if (!f)
        return;
    ck_model_free(f->model);
    ck_backend_free(f->be);
    free(f);
}

const char *ck_features_layer(const ck_features *f) { return ck_model_layer_name(f->model, f->layer); }

int64_t ck_features_row_shape(const ck_features *f, int *ndim, int64_t dims[3])
{
    int64_t h = f->map[0], w = f->map[1], c = f->map[2];
    switch (f->o.pool) {
    case CK_FEAT_FLATTEN:
        *ndim = 1;
        dims[0] = h * w * c;
        return dims[0];
    case CK_FEAT_NONE:
        *ndim = 3;
        dims[0] = h, dims[1] = w, dims[2] = c;
        return h * w * c;
    default:
        *ndim = 1;
        dims[0] = c;
        return c;
    }
}

/* One image's map [hw, c] into its row, added to acc: avg sums positions
 * in double (`sum`, c entries) then takes the mean, max the largest value.
 * Positions outer, channels inner: the map is read in memory order. */
static void pool_add(ck_feat_pool pool, const float *map, size_t hw, size_t c, float *acc, double *sum)
{
    if (pool == CK_FEAT_FLATTEN || pool == CK_FEAT_NONE) {
        for (size_t k = 0; k < hw * c; k++)
            acc[k] += map[k];
        return;
    }
    for (size_t ch = 0; ch < c; ch++)
        sum[ch] = pool == CK_FEAT_AVG ? 0.0 : -FLT_MAX;
    for (size_t p = 0; p < hw; p++) {
        const float *v = map + p * c;
        if (pool == CK_FEAT_AVG)
            for (size_t ch = 0; ch < c; ch++)
                sum[ch] += v[ch];
        else
            for (size_t ch = 0; ch < c; ch++)
                sum[ch] = v[ch] > sum[ch] ? v[ch] : sum[ch];
    }
    for (size_t ch = 0; ch < c; ch++)
        acc[ch] += (float)(pool == CK_FEAT_AVG ? sum[ch] / (double)hw : sum[ch]);
}

/* Buffers of one run, allocated once for the largest batch. */
typedef struct run_bufs {
    ck_tensor *x, *out;
    uint8_t *view; /* a test-time view of the batch */
    float *maps;   /* the layer's output, downloaded */
    float *rows;   /* the batch's rows (sums over views) */
    double *sum;   /* one image's per-channel sums or maxima */
} run_bufs;

static int run_batch(ck_features *f, run_bufs *r, const ck_batch *b, ck_npy_writer *w, size_t row_len)
{
    const ck_features_options *o = &f->o;
    int S = o->input_size;
    size_t hw = (size_t)f->map[0] * (size_t)f->map[1], c = (size_t)f->map[2];
    size_t bytes = (size_t)b->n * (size_t)S * (size_t)S * 3;
    int rc = ck_tensor_set_batch(r->x, b->n);
    memset(r->rows, 0, (size_t)b->n * row_len * sizeof *r->rows);
    for (int v = 0; v < o->nviews && !rc; v++) {
        const uint8_t *src = b->rgb;
        if (o->views[v] != CK_VIEW_ORIGINAL) {
            ck_tta_apply(o->views[v], b->rgb, r->view, b->n, S);
            src = r->view;
        }
        rc = ck_tensor_upload(r->x, src, bytes) || ck_model_run_to(f->model, r->x, f->layer, r->out) ||
             ck_tensor_download(r->out, r->maps, (size_t)b->n * hw * c * sizeof *r->maps);
        for (int j = 0; j < b->n && !rc; j++)
            pool_add(o->pool, r->maps + (size_t)j * hw * c, hw, c, r->rows + (size_t)j * row_len, r->sum);
    }
    if (!rc && o->nviews > 1)
        for (size_t k = 0; k < (size_t)b->n * row_len; k++)
            r->rows[k] /= (float)o->nviews;
    return rc ? rc : ck_npy_write(w, r->rows, (size_t)b->n * row_len);
}

int ck_features_run(ck_features *f, const char *const *paths, int n, const char *out, unsigned flags)
{
    const ck_features_options *o = &f->o;
    if (n < 1) {
        ck_error("features", "no images");
        return -1;
    }
    int S = o->input_size, B = f->batch < n ? f->batch : n, ndim;
    int64_t dims[4] = {n};
    size_t row_len = (size_t)ck_features_row_shape(f, &ndim, dims + 1);
    size_t map_len = (size_t)f->map[0] * (size_t)f->map[1] * (size_t)f->map[2];
    int loaders = o->loaders > 0 ? o->loaders : ck_backend_loader_threads(f->be, 1);
    loaders = loaders > MAX_LOADERS ? MAX_LOADERS : loaders > n ? n : loaders;

    ck_dataset *ds = ck_dataset_from_paths(paths, n);
    /* Two slots: the batch being run and the one being decoded. */
    ck_loader_config lc = {.size = S, .batch = B, .threads = loaders, .depth = 2};
    ck_loader *l = ds ? ck_loader_new(ds, &lc) : NULL;
    run_bufs r = {
        .x = ck_tensor_new_4d(f->be, CK_U8, B, S, S, 3),
        .out = ck_tensor_new_4d(f->be, CK_F32, B, f->map[0], f->map[1], f->map[2]),
        .view = o->nviews > 1 ? malloc((size_t)B * (size_t)S * (size_t)S * 3) : NULL,
        .maps = malloc((size_t)B * map_len * sizeof(float)),
        .rows = malloc((size_t)B * row_len * sizeof(float)),
        .sum = malloc((size_t)f->map[2] * sizeof(double)),
    };
    int *order = malloc((size_t)n * sizeof *order);
    int rc = !l || !r.x || !r.out || (o->nviews > 1 && !r.view) || !r.maps || !r.rows || !r.sum || !order ? -1 : 0;
    if (rc && !*ck_error_buffer())
        ck_error("features", "out of memory");
    ck_npy_writer *w = rc ? NULL : ck_npy_create(out, 1 + ndim, dims, flags);
    rc = rc || !w;
    for (int i = 0; !rc && i < n; i++)
        order[i] = i;
    if (!rc)
        rc = ck_loader_start(l, order, n, 0, 0);
    char title[96];
    snprintf(title, sizeof title, "features (%s, %s%s)", ck_features_layer(f), ck_feat_pool_name(o->pool),
             o->nviews > 1 ? ", views" : "");
    ck_progress *bar = rc ? NULL : ck_progress_new(stderr, title, n, o->progress);
    const ck_batch *b;
    while (!rc && (b = ck_loader_next(l))) {
        rc = run_batch(f, &r, b, w, row_len);
        if (bar)
            ck_progress_add(bar, b->n);
        ck_loader_release(l, b);
    }
    if (!rc && ck_loader_failed(l))
        rc = -1; /* the error names the image */
    if (!rc && bar)
        ck_progress_finish(bar, NULL);
    ck_progress_free(bar);
    if (rc)
        ck_npy_abort(w);
    else
        rc = ck_npy_commit(w);
    ck_loader_free(l);
    ck_dataset_free(ds);
    ck_tensor_free(r.x);
    ck_tensor_free(r.out);
    free(r.view);
    free(r.maps);
    free(r.rows);
    free(r.sum);
    free(order);
    return rc;
}
