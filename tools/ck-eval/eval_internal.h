/* ck-eval's pieces: scoring a submission against the truth. */
#ifndef CK_EVAL_INTERNAL_H
#define CK_EVAL_INTERNAL_H

#include <stdio.h>

#include "ck/labels.h"
#include "ck/metrics.h"
#include "ck/submission.h"
#include "ck/table.h"
#include "ck/worst.h"

/* Score `sub` against the truth manifest `truth_path`, classes from
 * `labels` (may be NULL: integer labels are class indices). Returns the
 * filled metrics or NULL with an error. With worst_n > 0, *worst gets the
 * worst_n most confidently wrong rows (indices into *truth_out, the truth,
 * which the caller frees); a label submission is then an error. */
ck_metrics *eval_score(const char *truth_path, const ck_labels *labels, const char *sub_path, double eps,
                       int worst_n, ck_worst **worst, ck_manifest **truth_out, int *nclass_out,
                       ck_sub_kind *kind_out);
/* The worst rows, one line each: file, true, predicted, prob, loss
 * (tab-separated, after a header line). names: class names or NULL. */
void eval_print_worst(FILE *out, const ck_worst *w, const ck_manifest *truth, const char *const *names);
/* Their contact sheet (ck_sheet_write) of images under `images`. */
int eval_write_sheet(const char *path, const char *images, const ck_worst *w, const ck_manifest *truth,
                     const char *const *names, int *text_drawn);

/* Human-readable report on out. names: nclass class names or NULL. */
void eval_print_report(FILE *out, const ck_metrics *m, const char *const *names, const char *sub_path,
                       ck_sub_kind kind, double eps, int top);
/* One line: "logloss=... accuracy=... top5=... rows=N". */
void eval_print_summary(FILE *out, const ck_metrics *m, int top);

#endif
