/* ck/metrics.h — classification metrics for ck-eval (and training logs).
 *
 *   ck_metrics *m = ck_metrics_new(20);
 *   for each row: ck_metrics_add_probs(m, truth, probs)   // or _add_label
 *   ck_metrics_log_loss(m), ck_metrics_accuracy(m), ck_metrics_top_k(m, 5)
 *
 * Conventions (the same as scikit-learn's, so scores match the contest's):
 *   - log loss: each row is clipped to [eps, 1 - eps] (eps = 1e-15 unless
 *     set) and divided by its sum, then -mean(log p[truth]) in double.
 *   - the predicted class is the arg-max, the first of equal maxima.
 *   - top-k: the truth is among the k highest; ties are broken by label id
 *     (a lower id ranks first), consistently with the arg-max.
 *   - precision of a class never predicted, recall of a class absent from
 *     the truth, and F1 when both are 0, are reported as 0.
 * Label-only rows count for accuracy/F1/confusion but not for log loss or
 * top-k (those return NAN when no row had probabilities).
 */
#ifndef CK_METRICS_H
#define CK_METRICS_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_metrics ck_metrics;

ck_metrics *ck_metrics_new(int nclass);
void ck_metrics_free(ck_metrics *m);
/* Clipping used by the log loss (default 1e-15). */
void ck_metrics_set_eps(ck_metrics *m, double eps);
int ck_metrics_nclass(const ck_metrics *m);

/* One row: truth label and nclass probabilities (not modified). -1 with an
 * error when the label is out of range. */
int ck_metrics_add_probs(ck_metrics *m, int truth, const double *probs);
int ck_metrics_add_label(ck_metrics *m, int truth, int predicted);
/* One row's log loss: p clipped to [eps, 1 - eps], renormalised, then
 * -log p[truth] (what ck_metrics_log_loss averages). */
double ck_metrics_row_loss(const double *probs, int nclass, int truth, double eps);

long ck_metrics_count(const ck_metrics *m);
double ck_metrics_log_loss(const ck_metrics *m);
double ck_metrics_accuracy(const ck_metrics *m);
long ck_metrics_correct(const ck_metrics *m);
double ck_metrics_top_k(const ck_metrics *m, int k);

/* Per class (truth = rows, predicted = columns). */
typedef struct ck_class_scores {
    double precision, recall, f1;
    long support;   /* rows whose truth is this class */
    long predicted; /* rows predicted as this class */
} ck_class_scores;
ck_class_scores ck_metrics_class(const ck_metrics *m, int k);
/* Unweighted mean over classes with support or predictions. */
ck_class_scores ck_metrics_macro(const ck_metrics *m);
/* nclass × nclass counts, row-major [truth][predicted]. */
const long *ck_metrics_confusion(const ck_metrics *m);

/* The confusion matrix as CSV ("truth\\predicted" header of class names or
 * ids, one row per true class) and as an SVG heat map (row-normalised
 * colours, counts in the cells). names may be NULL. Atomic writes. */
int ck_metrics_write_confusion_csv(const ck_metrics *m, const char *const *names, const char *path);
int ck_metrics_write_confusion_svg(const ck_metrics *m, const char *const *names, const char *path);

#ifdef __cplusplus
}
#endif
#endif
