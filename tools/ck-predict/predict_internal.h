/* ck-predict's rows: which images it predicts, in output order (the
 * prediction itself is the library's, ck/predict.h). */
#ifndef CK_PREDICT_INTERNAL_H
#define CK_PREDICT_INTERNAL_H

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

/* --format manifest: write the rows whose top probability is >= min_prob
 * as "file_name<TAB>label_id" (file names relative to images) and the
 * per-class counts on stderr. */
int write_pseudo(const pred_rows *r, const char *images, const ck_submission *s, const char *out, double min_prob,
                 const char *const *ids, const char *const *names);

#endif
