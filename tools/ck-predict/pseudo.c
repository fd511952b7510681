/* --format manifest: the confident rows as a training manifest (the
 * library's ck_predict_write_manifest) and how many passed, per class. */
#include "predict_internal.h"

#include "ck/error.h"
#include "ck/predict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The row's image relative to the images folder (what a manifest holds). */
static const char *relative(const char *path, const char *images)
{
    size_t n = strlen(images);
    if (!path || strncmp(path, images, n) != 0)
        return path;
    path += n;
    while (*path == '/')
        path++;
    return path;
}

int write_pseudo(const pred_rows *r, const char *images, const ck_submission *s, const char *out, double min_prob,
                 const char *const *ids, const char *const *names)
{
    int K = ck_submission_nclass(s);
    const char **files = calloc((size_t)r->n + 1, sizeof *files);
    int *passed = calloc((size_t)K, sizeof *passed), *predicted = calloc((size_t)K, sizeof *predicted);
    int n = -1;
    if (!files || !passed || !predicted)
        ck_error("ck-predict", "out of memory");
    else {
        for (int i = 0; i < r->n; i++)
            files[i] = relative(r->paths[i], images);
        n = ck_predict_write_manifest(s, files, out, ids, min_prob, passed, predicted);
    }
    if (n >= 0) {
        fprintf(stderr, "ck-predict: wrote %s: %d of %d rows with a top probability >= %g\n", out, n, r->n,
                min_prob);
        for (int k = 0; k < K; k++)
            fprintf(stderr, "ck-predict:   %s (%s): %d of %d predicted\n", ids[k], names[k], passed[k],
                    predicted[k]);
    }
    free(files);
    free(passed);
    free(predicted);
    return n < 0 ? -1 : 0;
}
