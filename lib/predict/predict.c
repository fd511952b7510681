/* ck_predict: the models × views × batches loop behind ck-predict. */
#include "ck/predict.h"

#include "ck/checkpoint.h"
#include "ck/dataset.h"
#include "ck/error.h"
#include "ck/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More decoding threads than this only contend for the same batch. */
#define MAX_LOADERS 64

struct ck_predict {
    ck_predict_options o;
    ck_view views[CK_MAX_VIEWS];
    ck_checkpoint **models;
    int nmodels;
    const char **class_names;
    const char **class_ids;
};

/* State of one ck_predict_run. */
typedef struct run_state {
    const ck_predict *p;
    const ck_dataset *ds; /* the selected rows' images */
    const int *sel;       /* dataset row -> submission row */
    int nclass;
    double *sum;          /* nrows × nclass */
    int *bad;             /* unreadable image (allow_missing only) */
    ck_progress *bar;
} run_state;

void ck_predict_options_init(ck_predict_options *o)
{
    static const ck_view original[1] = {CK_VIEW_ORIGINAL};
    memset(o, 0, sizeof *o);
    o->views = original;
    o->nviews = 1;
    o->nshards = 1;
}

/* Every model of an ensemble must mean the same thing by column k. */
static int same_classes(ck_checkpoint *a, ck_checkpoint *b)
{
    int n = ck_checkpoint_num_classes(a);
    if (ck_checkpoint_num_classes(b) != n) {
        ck_error("predict", "%s has %d classes but %s has %d: an ensemble needs the same classes",
                 ck_checkpoint_path(b), ck_checkpoint_num_classes(b), ck_checkpoint_path(a), n);
        return -1;
    }
    for (int k = 0; k < n; k++)
        if (strcmp(ck_checkpoint_class_id(a, k), ck_checkpoint_class_id(b, k)) != 0 ||
            strcmp(ck_checkpoint_class_name(a, k), ck_checkpoint_class_name(b, k)) != 0) {
            ck_error("predict", "%s and %s differ in class %d ('%s' vs '%s'): an ensemble needs the same classes",
                     ck_checkpoint_path(a), ck_checkpoint_path(b), k, ck_checkpoint_class_name(a, k),
                     ck_checkpoint_class_name(b, k));
            return -1;
        }
    return 0;
}

ck_predict *ck_predict_new(const char *const *models, int n, const ck_predict_options *o)
{
    if (n < 1 || !o || o->nviews < 0 || o->nviews > CK_MAX_VIEWS || (o->nviews && !o->views) ||
        o->nshards < 1 || o->shard < 0 || o->shard >= o->nshards) {
        ck_error("predict", "bad options (models, views or shard)");
        return NULL;
    }
    ck_predict *p = calloc(1, sizeof *p);
    if (p)
        p->models = calloc((size_t)n, sizeof *p->models);
    if (!p || !p->models) {
        free(p);
        ck_error("predict", "out of memory");
        return NULL;
    }
    p->o = *o;
    p->o.nviews = o->nviews ? o->nviews : 1;
    p->views[0] = CK_VIEW_ORIGINAL;
    if (o->nviews)
        memcpy(p->views, o->views, (size_t)o->nviews * sizeof *p->views);
    p->o.views = p->views;
    int rc = 0;
    for (int m = 0; m < n && !rc; m++) {
        p->models[m] = ck_checkpoint_load(models[m]);
        p->nmodels = m + 1;
        rc = !p->models[m] || (m && same_classes(p->models[0], p->models[m]));
        if (!rc && o->set_conv_algo)
            ck_checkpoint_set_conv_algo(p->models[m], o->conv_algo);
    }
    int K = rc ? 0 : ck_checkpoint_num_classes(p->models[0]);
    p->class_names = rc ? NULL : calloc((size_t)K + 1, sizeof *p->class_names);
    p->class_ids = rc ? NULL : calloc((size_t)K + 1, sizeof *p->class_ids);
    if (!rc && (!p->class_names || !p->class_ids)) {
        ck_error("predict", "out of memory");
        rc = -1;
    }
    for (int k = 0; !rc && k < K; k++) {
        p->class_names[k] = ck_checkpoint_class_name(p->models[0], k);
        p->class_ids[k] = ck_checkpoint_class_id(p->models[0], k);
    }
    if (rc) {
        ck_predict_free(p);
        return NULL;
    }
    return p;
}

void ck_predict_free(ck_predict *p)
{
    if (!p)
        return;
    for (int m = 0; m < p->nmodels; m++)
        ck_checkpoint_free(p->models[m]);
    free(p->models);
    free(p->class_names);
    free(p->class_ids);
    free(p);
}

int ck_predict_num_classes(const ck_predict *p) { return ck_checkpoint_num_classes(p->models[0]); }
const char *const *ck_predict_class_names(const ck_predict *p) { return p->class_names; }
const char *const *ck_predict_class_ids(const ck_predict *p) { return p->class_ids; }

/* Unreadable images of a batch (allow_missing): uniform rows, and the
 * decoder's messages (one per image, in the error buffer) as a warning. */
static void note_failures(run_state *st, const ck_batch *b, int first_model)
{
    int any = 0;
    for (int j = 0; j < b->n; j++)
        if (b->failed[j]) {
            st->bad[st->sel[b->rows[j]]] = 1;
            any = 1;
        }
    if (!any)
        return;
    char *msg = ck_error_take();
    const ck_predict_options *o = &st->p->o;
    if (first_model && msg && *msg && o->warn) {
        static const char head[] = "writing uniform probabilities for unreadable image(s):\n";
        char *text = malloc(sizeof head + strlen(msg));
        if (text) {
            memcpy(text, head, sizeof head - 1);
            strcpy(text + sizeof head - 1, msg);
            o->warn(o->warn_ctx, text);
        }
        free(text);
    }
    free(msg);
}

/* Forward every view of one batch and add the probabilities to the sums. */
static int run_batch(run_state *st, ck_model *model, ck_tensor *x, const ck_batch *b, int S, uint8_t *view,
                     float *probs)
{
    const ck_predict_options *o = &st->p->o;
    size_t bytes = (size_t)b->n * (size_t)S * (size_t)S * 3;
    int K = st->nclass, rc = ck_tensor_set_batch(x, b->n);
    for (int v = 0; v < o->nviews && !rc; v++) {
        const uint8_t *src = b->rgb;
        if (o->views[v] != CK_VIEW_ORIGINAL) {
            ck_tta_apply(o->views[v], b->rgb, view, b->n, S);
            src = view;
        }
        rc = ck_tensor_upload(x, src, bytes) || ck_model_forward(model, CK_FROM_INPUT, x, probs);
        for (int j = 0; j < b->n && !rc; j++)
            ck_probs_accumulate(st->sum + (size_t)st->sel[b->rows[j]] * K, probs + (size_t)j * K, (size_t)K);
    }
    return rc;
}

static int run_model(run_state *st, ck_backend *be, ck_checkpoint *ck, int first_model)
{
    const ck_predict_options *o = &st->p->o;
    int nsel = ck_dataset_count(st->ds);
    int S = ck_checkpoint_input_size(ck), B = o->batch > 0 ? o->batch : (S <= 64 ? 64 : 16);
    if (B > nsel)
        B = nsel > 0 ? nsel : 1; /* activations are allocated for B */
    ck_model *model = ck_checkpoint_build_model(ck, be, o->weights, B);
    if (!model)
        return -1;
    int loaders = o->loaders > 0 ? o->loaders : ck_backend_loader_threads(be, 1);
    loaders = loaders > MAX_LOADERS ? MAX_LOADERS : loaders > nsel ? (nsel > 0 ? nsel : 1) : loaders;
    /* Two slots: the batch being run and the one being decoded. */
    ck_loader_config lc = {.size = S, .batch = B, .threads = loaders, .depth = 2, .keep_going = o->allow_missing};
    ck_loader *l = nsel ? ck_loader_new(st->ds, &lc) : NULL;
    uint8_t *view = malloc((size_t)B * (size_t)S * (size_t)S * 3);
    float *probs = malloc((size_t)B * (size_t)st->nclass * sizeof *probs);
    ck_tensor *x = ck_tensor_new_4d(be, CK_U8, B, S, S, 3);
    int *order = malloc((size_t)(nsel > 0 ? nsel : 1) * sizeof *order);
    int rc = (nsel && !l) || !view || !probs || !x || !order ? -1 : 0;
    if (rc && !*ck_error_buffer())
        ck_error("predict", "out of memory");
    for (int i = 0; !rc && i < nsel; i++)
        order[i] = i;
    if (!rc && nsel)
        rc = ck_loader_start(l, order, nsel, 0, 0);
    const ck_batch *b;
    while (!rc && nsel && (b = ck_loader_next(l))) {
        if (o->allow_missing)
            note_failures(st, b, first_model);
        rc = run_batch(st, model, x, b, S, view, probs);
        if (st->bar)
            ck_progress_add(st->bar, b->n);
        ck_loader_release(l, b);
    }
    if (!rc && l && ck_loader_failed(l))
        rc = -1; /* the error names the image */
    ck_loader_free(l);
    ck_tensor_free(x);
    ck_model_free(model);
    free(order);
    free(view);
    free(probs);
    return rc;
}

/* Mean over every (model, view) pair; uniform for rows without an image. */
static void finish_rows(const run_state *st, const char *const *paths, int n, ck_submission *s)
{
    const ck_predict_options *o = &st->p->o;
    int K = st->nclass;
    for (int i = 0; i < n; i++) {
        if (i % o->nshards != o->shard)
            continue;
        double *p = ck_submission_probs(s, i);
        if (!paths[i] || st->bad[i]) {
            for (int k = 0; k < K; k++)
                p[k] = 1.0 / K;
            continue;
        }
        memcpy(p, st->sum + (size_t)i * K, (size_t)K * sizeof *p);
        ck_probs_mean(p, (size_t)K, st->p->nmodels * o->nviews);
    }
}

/* The rows this shard predicts from an image: the dataset the loader reads
 * and, per dataset row, its submission row. */
static ck_dataset *select_rows(const ck_predict *p, const char *const *paths, int n, int *sel)
{
    const char **chosen = malloc((size_t)(n > 0 ? n : 1) * sizeof *chosen);
    if (!chosen) {
        ck_error("predict", "out of memory");
        return NULL;
    }
    int nsel = 0;
    for (int i = 0; i < n; i++)
        if (i % p->o.nshards == p->o.shard && paths[i]) {
            sel[nsel] = i;
            chosen[nsel++] = paths[i];
        }
    ck_dataset *ds = ck_dataset_from_paths(chosen, nsel);
    free(chosen);
    return ds;
}

ck_submission *ck_predict_run(ck_predict *p, const char *const *names, const char *const *paths, int n)
{
    const ck_predict_options *o = &p->o;
    run_state st = {.p = p, .nclass = ck_predict_num_classes(p)};
    int K = st.nclass, rc = 0;
    ck_submission *s = ck_submission_new(n, K, CK_SUB_PROBS);
    int *sel = malloc((size_t)(n > 0 ? n : 1) * sizeof *sel);
    st.sel = sel;
    st.sum = calloc((size_t)n * (size_t)K + 1, sizeof *st.sum);
    st.bad = calloc((size_t)n + 1, sizeof *st.bad);
    if (!s || !sel || !st.sum || !st.bad) {
        if (!*ck_error_buffer())
            ck_error("predict", "out of memory");
        rc = -1;
    }
    for (int i = 0; !rc && i < n; i++)
        rc = ck_submission_set_name(s, i, names[i]);
    ck_dataset *ds = rc ? NULL : select_rows(p, paths, n, sel);
    st.ds = ds;
    ck_backend *be = ds ? ck_backend_new(o->device ? o->device : "auto", o->threads) : NULL;
    rc = rc || !be;
    char title[64];
    snprintf(title, sizeof title, "predict (%d model%s x %d view%s)", p->nmodels, p->nmodels > 1 ? "s" : "",
             o->nviews, o->nviews > 1 ? "s" : "");
    st.bar = rc ? NULL : ck_progress_new(stderr, title, (long)ck_dataset_count(ds) * p->nmodels, o->progress);
    for (int m = 0; m < p->nmodels && !rc; m++)
        rc = run_model(&st, be, p->models[m], m == 0);
    if (!rc && st.bar)
        ck_progress_finish(st.bar, NULL);
    ck_progress_free(st.bar);
    if (!rc)
        finish_rows(&st, paths, n, s);
    ck_backend_free(be);
    ck_dataset_free(ds);
    free(sel);
    free(st.sum);
    free(st.bad);
    if (rc) {
        ck_submission_free(s);
        return NULL;
    }
    return s;
}
