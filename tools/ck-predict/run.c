/* Running the models (and TTA views) over the rows. */
#include "predict_internal.h"

#include "ck/backend.h"
#include "ck/checkpoint.h"
#include "ck/error.h"
#include "ck/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct run_state {
    const pred_opts *o;
    const pred_rows *r;
    int *sel;        /* rows to predict (in the shard, with an image) */
    int nsel;
    int nclass;
    double *sum;     /* nrows × nclass */
    int *bad;        /* unreadable image (only with --allow-missing) */
    ck_progress *bar;
} run_state;

static void report_failures(run_state *st, const int *rows, const int *failed, int n, int first_model)
{
    /* The error buffer holds one message per failed image. */
    char *msg = ck_error_take();
    if (first_model && msg && *msg)
        fprintf(stderr, "ck-predict: warning: writing uniform probabilities for unreadable image(s):\n%s", msg);
    free(msg);
    for (int j = 0; j < n; j++)
        if (failed[j])
            st->bad[rows[j]] = 1;
}

static int run_model(run_state *st, ck_backend *be, ck_checkpoint *ck, int first_model)
{
    const pred_opts *o = st->o;
    const int loaders = o->loaders > 0 ? o->loaders : ck_backend_loader_threads(be, 1);
    int S = ck_checkpoint_input_size(ck), B = o->batch > 0 ? o->batch : (S <= 64 ? 64 : 16), K = st->nclass;
    if (B > st->nsel)
        B = st->nsel > 0 ? st->nsel : 1; /* activations are allocated for B */
    ck_model *model = ck_checkpoint_build_model(ck, be, o->weights, B);
    if (!model)
        return -1;
    size_t plane = (size_t)S * (size_t)S * 3;
    uint8_t *buf[2] = {malloc((size_t)B * plane), malloc((size_t)B * plane)};
    uint8_t *view = malloc((size_t)B * plane);
    int *failed[2] = {calloc((size_t)B, sizeof(int)), calloc((size_t)B, sizeof(int))};
    char **paths[2] = {calloc((size_t)B, sizeof(char *)), calloc((size_t)B, sizeof(char *))};
    float *probs = malloc((size_t)B * (size_t)K * sizeof *probs);
    ck_tensor *x = ck_tensor_new_4d(be, CK_U8, B, S, S, 3);
    int rc = 0;
    if (!buf[0] || !buf[1] || !view || !failed[0] || !failed[1] || !paths[0] || !paths[1] || !probs || !x) {
        if (!*ck_error_buffer())
            ck_error("ck-predict", "out of memory");
        rc = -1;
    }
    int nb = (st->nsel + B - 1) / B;
    pred_load *pending = NULL;
    for (int b = 0; b < nb && !rc; b++) {
        int cur = b & 1, n = st->nsel - b * B < B ? st->nsel - b * B : B;
        const int *rows = st->sel + b * B;
        if (b == 0) {
            for (int j = 0; j < n; j++)
                paths[cur][j] = st->r->paths[rows[j]];
            pending = load_start(paths[cur], n, S, buf[cur], failed[cur], loaders);
        }
        int failures = load_wait(pending);
        pending = NULL;
        if (failures && !o->allow_missing) {
            rc = -1;
            break;
        }
        if (failures)
            report_failures(st, rows, failed[cur], n, first_model);
        if (b + 1 < nb) {
            /* Prefetch the next batch while this one runs. */
            int nx = st->nsel - (b + 1) * B < B ? st->nsel - (b + 1) * B : B;
            const int *nrows = st->sel + (b + 1) * B;
            for (int j = 0; j < nx; j++)
                paths[!cur][j] = st->r->paths[nrows[j]];
            pending = load_start(paths[!cur], nx, S, buf[!cur], failed[!cur], loaders);
            if (!pending) {
                rc = -1;
                break;
            }
        }
        if (ck_tensor_set_batch(x, n)) {
            rc = -1;
            break;
        }
        for (int v = 0; v < o->nviews && !rc; v++) {
            const uint8_t *src = buf[cur];
            if (o->views[v] != CK_VIEW_ORIGINAL) {
                ck_tta_apply(o->views[v], buf[cur], view, n, S);
                src = view;
            }
            rc = ck_tensor_upload(x, src, (size_t)n * plane) || ck_model_forward(model, CK_FROM_INPUT, x, probs);
            for (int j = 0; j < n && !rc; j++)
                ck_probs_accumulate(st->sum + (size_t)rows[j] * K, probs + (size_t)j * K, (size_t)K);
        }
        if (st->bar)
            ck_progress_add(st->bar, n);
    }
    load_wait(pending);
    ck_tensor_free(x);
    ck_model_free(model);
    for (int i = 0; i < 2; i++) {
        free(buf[i]);
        free(failed[i]);
        free(paths[i]);
    }
    free(view);
    free(probs);
    return rc;
}

int predict_run(const pred_opts *o, const pred_rows *r, ck_submission *s)
{
    run_state st = {.o = o, .r = r, .nclass = ck_submission_nclass(s)};
    int K = st.nclass, rc = 0;
    st.sel = malloc((size_t)r->n * sizeof *st.sel);
    st.sum = calloc((size_t)r->n * (size_t)K, sizeof *st.sum);
    st.bad = calloc((size_t)r->n, sizeof *st.bad);
    if (!st.sel || !st.sum || !st.bad) {
        ck_error("ck-predict", "out of memory");
        rc = -1;
    }
    for (int i = 0; !rc && i < r->n; i++)
        if (i % o->nshards == o->shard && r->paths[i])
            st.sel[st.nsel++] = i;
    ck_backend *be = rc ? NULL : ck_backend_new(o->device ? o->device : "auto", o->threads);
    if (!rc && !be)
        rc = -1;
    char title[64];
    snprintf(title, sizeof title, "predict (%d model%s x %d view%s)", o->nmodels, o->nmodels > 1 ? "s" : "",
             o->nviews, o->nviews > 1 ? "s" : "");
    st.bar = ck_progress_new(stderr, title, (long)st.nsel * o->nmodels, o->progress);
    for (int m = 0; m < o->nmodels && !rc; m++)
        rc = run_model(&st, be, o->models[m], m == 0);
    if (!rc && st.bar)
        ck_progress_finish(st.bar, NULL);
    ck_progress_free(st.bar);
    /* Mean over every (model, view) pair; uniform for images without one. */
    for (int i = 0; !rc && i < r->n; i++) {
        if (i % o->nshards != o->shard)
            continue;
        double *p = ck_submission_probs(s, i);
        if (!r->paths[i] || st.bad[i]) {
            for (int k = 0; k < K; k++)
                p[k] = 1.0 / K;
            continue;
        }
        memcpy(p, st.sum + (size_t)i * K, (size_t)K * sizeof *p);
        ck_probs_mean(p, (size_t)K, o->nmodels * o->nviews);
    }
    ck_backend_free(be);
    free(st.sel);
    free(st.sum);
    free(st.bad);
    return rc;
}
