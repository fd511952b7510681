/* ck-predict's pieces: the rows to predict, the image loader, the run. */
#ifndef CK_PREDICT_INTERNAL_H
#define CK_PREDICT_INTERNAL_H

#include <stdint.h>

#include "ck/augment.h"
#include "ck/submission.h"

/* The rows of the submission, in output order. */
typedef struct pred_rows {
    int n;
    char **names;   /* as written in the submission */
    char **paths;   /* image file, NULL when none was found */
    /* From the sample submission (--order), to write the same shape. */
    int sample_header;
    char sample_sep;
    int sample_ncols;
    char **header_cells; /* the sample's header, sample_ncols cells */
} pred_rows;

/* Rows in the order of the sample submission's first column. */
int rows_from_order(pred_rows *r, const char *order_path, const char *images);
/* Every image file of the folder, in natural order (test_2 before test_10). */
int rows_from_folder(pred_rows *r, const char *images);
void rows_free(pred_rows *r);
/* A probability sample wider than 2 columns says how many classes it wants:
 * -1 with an error naming both counts when the model has others. */
int rows_check_classes(const pred_rows *r, const char *order_path, const char *model, int nclass);

/* Load n images (NULL paths are skipped) resized to size×size into dst
 * ([n,size,size,3]) with `threads` threads. failed[i] is set to 1 for an
 * image that could not be read (the error names it). Returns the number of
 * failures. */
typedef struct pred_load pred_load;
pred_load *load_start(char *const *paths, int n, int size, uint8_t *dst, int *failed, int threads);
int load_wait(pred_load *l);

typedef struct ck_checkpoint ck_checkpoint;

typedef struct pred_opts {
    ck_checkpoint *const *models; /* an ensemble shares its classes */
    int nmodels;
    const char *weights;   /* base weights override, NULL = recorded */
    const char *device;
    int threads, loaders, batch; /* loaders 0: automatic */
    const ck_view *views;
    int nviews;
    int shard, nshards;    /* rows with index % nshards == shard */
    int allow_missing;
    int progress;          /* ck_progress mode */
} pred_opts;

/* Fill s (rows = r->n, classes from the models) with mean probabilities.
 * Rows outside the shard are left at 0. Returns 0 or -1 with an error. */
int predict_run(const pred_opts *o, const pred_rows *r, ck_submission *s);

#endif
