/* Decoding a batch of test images on worker threads, so that the next
 * batch loads while the network runs on the current one. */
#include "predict_internal.h"

#include "ck/error.h"
#include "ck/image.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOADERS 64

struct pred_load {
    char *const *paths;
    int n, size, nthreads;
    uint8_t *dst;
    int *failed;
    pthread_t tid[MAX_LOADERS];
    int started[MAX_LOADERS];
    struct worker {
        pred_load *l;
        int first;
        int failures;
    } w[MAX_LOADERS];
};

static void *work(void *arg)
{
    struct worker *w = arg;
    pred_load *l = w->l;
    size_t plane = (size_t)l->size * (size_t)l->size * 3;
    /* Strided split: equal shares whatever the image sizes' order. */
    for (int i = w->first; i < l->n; i += l->nthreads) {
        l->failed[i] = 0;
        if (!l->paths[i]) {
            memset(l->dst + (size_t)i * plane, 0, plane);
            continue;
        }
        if (ck_image_load_rgb_into(l->paths[i], l->size, l->size, l->dst + (size_t)i * plane)) {
            memset(l->dst + (size_t)i * plane, 0, plane);
            l->failed[i] = 1;
            w->failures++;
        }
    }
    return NULL;
}

pred_load *load_start(char *const *paths, int n, int size, uint8_t *dst, int *failed, int threads)
{
    pred_load *l = calloc(1, sizeof *l);
    if (!l) {
        ck_error("ck-predict", "out of memory");
        return NULL;
    }
    l->paths = paths;
    l->n = n;
    l->size = size;
    l->dst = dst;
    l->failed = failed;
    l->nthreads = threads < 1 ? 1 : threads > MAX_LOADERS ? MAX_LOADERS : threads;
    if (l->nthreads > n && n > 0)
        l->nthreads = n;
    for (int t = 0; t < l->nthreads; t++) {
        l->w[t] = (struct worker){l, t, 0};
        l->started[t] = pthread_create(&l->tid[t], NULL, work, &l->w[t]) == 0;
        if (!l->started[t])
            work(&l->w[t]); /* no thread: do its share here */
    }
    return l;
}

int load_wait(pred_load *l)
{
    if (!l)
        return 0;
    int failures = 0;
    for (int t = 0; t < l->nthreads; t++) {
        if (l->started[t])
            pthread_join(l->tid[t], NULL);
        failures += l->w[t].failures;
    }
    free(l);
    return failures;
}
