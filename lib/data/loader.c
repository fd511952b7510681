/* ck_loader: decode (+ augment) images into a ring of preallocated batch
 * buffers on worker threads while the caller runs the network.
 *
 * Work is handed out one image at a time in pass order, so every thread
 * helps with the batch the network needs next. Batch b may be filled once
 * batch b - depth has been released, so buffers are allocated once and
 * reused for the whole run (fresh memory is slow to touch on these VMs).
 */
#include "ck/dataset.h"
#include "ck/augment.h"
#include "ck/error.h"
#include "ck/image.h"
#include "ck/rng.h"
#include "ck/threads.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    ck_batch view;
    uint8_t *rgb;
    int32_t *labels;
    int *rows;
    uint8_t *bad; /* per image: unreadable (keep_going) */
    int batch;   /* batch id held, -1 when free */
    int n;
    int done;
    int failed;
} slot;

struct ck_loader {
    const ck_dataset *ds;
    ck_loader_config cfg;
    size_t img_bytes;
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t lock;
    pthread_cond_t work_cv;  /* workers wait here */
    pthread_cond_t ready_cv; /* consumer and start() wait here */
    slot *slots;
    int depth;
    /* the current pass */
    int *order;
    int norder;
    int nbatches;
    int augment;
    uint64_t copy;
    unsigned gen;
    int next_pos;
    int consumed;   /* batches returned by next() */
    int released;   /* batches released */
    int busy;       /* workers decoding right now */
    int quit;
    int failed;
};

static int load_one(ck_loader *l, int row, uint64_t copy, int augment, uint8_t *dst)
{
    const char *path = ck_dataset_path(l->ds, row);
    int S = l->cfg.size;
    if (!augment || !l->cfg.aug)
        return ck_image_load_rgb_into(path, S, S, dst);
    int w = 0, h = 0;
    uint8_t *src = ck_image_load_rgb(path, 0, 0, &w, &h);
    if (!src)
        return -1;
    ck_rng rng = ck_rng_make(l->cfg.seed, (uint64_t)ck_dataset_item_id(l->ds, row), copy);
    int rc = ck_aug_apply_rgb(l->cfg.aug, src, w, h, dst, S, S, &rng);
    free(src);
    return rc;
}

static void *worker(void *arg)
{
    ck_loader *l = arg;
    pthread_mutex_lock(&l->lock);
    for (;;) {
        if (l->quit)
            break;
        int pos = l->next_pos;
        int b = pos / l->cfg.batch;
        if (!l->order || pos >= l->norder || b >= l->released + l->depth) {
            pthread_cond_wait(&l->work_cv, &l->lock);
            continue;
        }
        slot *s = &l->slots[b % l->depth];
        if (s->batch != b) {
            s->batch = b;
            s->n = l->norder - b * l->cfg.batch < l->cfg.batch ? l->norder - b * l->cfg.batch : l->cfg.batch;
            s->done = 0;
            s->failed = 0;
        }
        int j = pos - b * l->cfg.batch;
        int row = l->order[pos];
        l->next_pos++;
        l->busy++;
        unsigned gen = l->gen;
        uint64_t copy = l->copy;
        int augment = l->augment;
        pthread_mutex_unlock(&l->lock);

        uint8_t *dst = s->rgb + (size_t)j * l->img_bytes;
        int rc = load_one(l, row, copy, augment, dst);
        if (rc != 0 && l->cfg.keep_going)
            memset(dst, 0, l->img_bytes);

        pthread_mutex_lock(&l->lock);
        l->busy--;
        if (gen == l->gen) {
            s->labels[j] = ck_dataset_class(l->ds, row);
            s->rows[j] = row;
            s->bad[j] = rc != 0;
            if (rc != 0 && !l->cfg.keep_going)
                s->failed = 1;
            if (++s->done == s->n)
                pthread_cond_broadcast(&l->ready_cv);
        } else if (l->busy == 0) {
            pthread_cond_broadcast(&l->ready_cv);
        }
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

ck_loader *ck_loader_new(const ck_dataset *ds, const ck_loader_config *cfg)
{
    if (!ds || !cfg || cfg->size <= 0 || cfg->batch <= 0) {
        ck_error("loader", "bad loader configuration");
        return NULL;
    }
    /* Each thread gets batch buffers in flight: the count is memory. */
    if (cfg->threads > ck_thread_limit() || cfg->depth > 4 * ck_thread_limit()) {
        ck_error("loader", "%d loader threads (queue %d): the limit is %d (4 per core)", cfg->threads, cfg->depth,
                 ck_thread_limit());
        return NULL;
    }
    if (ck_image_init(NULL) != 0)
        return NULL;
    ck_loader *l = calloc(1, sizeof *l);
    if (!l) {
        ck_error("loader", "out of memory");
        return NULL;
    }
    l->ds = ds;
    l->cfg = *cfg;
    l->nthreads = cfg->threads > 0 ? cfg->threads : 1;
    l->depth = cfg->depth > 0 ? cfg->depth : l->nthreads + 2;
    l->img_bytes = (size_t)cfg->size * (size_t)cfg->size * 3;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->ready_cv, NULL);
    l->slots = calloc((size_t)l->depth, sizeof *l->slots);
    if (!l->slots)
        goto oom;
    for (int i = 0; i < l->depth; i++) {
        slot *s = &l->slots[i];
        s->batch = -1;
        s->rgb = malloc(l->img_bytes * (size_t)cfg->batch);
        s->labels = malloc(sizeof *s->labels * (size_t)cfg->batch);
        s->rows = malloc(sizeof *s->rows * (size_t)cfg->batch);
        s->bad = malloc((size_t)cfg->batch);
        if (!s->rgb || !s->labels || !s->rows || !s->bad)
            goto oom;
    }
    l->threads = calloc((size_t)l->nthreads, sizeof *l->threads);
    if (!l->threads)
        goto oom;
    for (int i = 0; i < l->nthreads; i++) {
        if (pthread_create(&l->threads[i], NULL, worker, l) != 0) {
            l->nthreads = i;
            ck_error("loader", "cannot start loader thread");
            ck_loader_free(l);
            return NULL;
        }
    }
    return l;
oom:
    l->nthreads = 0;
    ck_loader_free(l);
    ck_error("loader", "out of memory");
    return NULL;
}

void ck_loader_free(ck_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->quit = 1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->lock);
    for (int i = 0; i < l->nthreads; i++)
        pthread_join(l->threads[i], NULL);
    if (l->slots)
        for (int i = 0; i < l->depth; i++) {
            free(l->slots[i].rgb);
            free(l->slots[i].labels);
            free(l->slots[i].rows);
            free(l->slots[i].bad);
        }
    free(l->slots);
    free(l->threads);
    free(l->order);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->ready_cv);
    free(l);
}

int ck_loader_start(ck_loader *l, const int *order, int n, int augment, uint64_t copy)
{
    int *copy_of = malloc(sizeof *copy_of * (size_t)(n > 0 ? n : 1));
    if (!copy_of) {
        ck_error("loader", "out of memory");
        return -1;
    }
    if (n > 0)
        memcpy(copy_of, order, sizeof *copy_of * (size_t)n);
    pthread_mutex_lock(&l->lock);
    /* Abandon the previous pass: wait for decodes still writing into the
     * ring, which the new pass is about to reuse. */
    l->gen++;
    l->next_pos = l->norder;
    while (l->busy > 0)
        pthread_cond_wait(&l->ready_cv, &l->lock);
    free(l->order);
    l->order = copy_of;
    l->norder = n;
    l->nbatches = (n + l->cfg.batch - 1) / l->cfg.batch;
    l->augment = augment;
    l->copy = copy;
    l->next_pos = 0;
    l->consumed = 0;
    l->released = 0;
    l->failed = 0;
    for (int i = 0; i < l->depth; i++)
        l->slots[i].batch = -1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->lock);
    return 0;
}

const ck_batch *ck_loader_next(ck_loader *l)
{
    pthread_mutex_lock(&l->lock);
    if (l->failed || l->consumed >= l->nbatches) {
        pthread_mutex_unlock(&l->lock);
        return NULL;
    }
    int b = l->consumed;
    slot *s = &l->slots[b % l->depth];
    while (!(s->batch == b && s->done == s->n))
        pthread_cond_wait(&l->ready_cv, &l->lock);
    if (s->failed) {
        l->failed = 1;
        pthread_mutex_unlock(&l->lock);
        return NULL;
    }
    l->consumed++;
    s->view.n = s->n;
    s->view.index = b;
    s->view.rgb = s->rgb;
    s->view.labels = s->labels;
    s->view.rows = s->rows;
    s->view.failed = s->bad;
    pthread_mutex_unlock(&l->lock);
    return &s->view;
}

void ck_loader_release(ck_loader *l, const ck_batch *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&l->lock);
    l->released++;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->lock);
}

int ck_loader_failed(const ck_loader *l)
{
    return l->failed;
}
