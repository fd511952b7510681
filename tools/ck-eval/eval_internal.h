/* ck-eval's pieces: scoring a submission against the truth. */
#ifndef CK_EVAL_INTERNAL_H
#define CK_EVAL_INTERNAL_H

#include <stdio.h>

#include "ck/labels.h"
#include "ck/metrics.h"
#include "ck/submission.h"

/* Score `sub` against the truth manifest `truth_path`, classes from
 * `labels` (may be NULL: integer labels are class indices). Returns the
 * filled metrics or NULL with an error. */
ck_metrics *eval_score(const char *truth_path, const ck_labels *labels, const char *sub_path, double eps,
                       int *nclass_out, ck_sub_kind *kind_out);

/* Human-readable report on out. names: nclass class names or NULL. */
void eval_print_report(FILE *out, const ck_metrics *m, const char *const *names, const char *sub_path,
                       ck_sub_kind kind, double eps, int top);
/* One line: "logloss=... accuracy=... top5=... rows=N". */
void eval_print_summary(FILE *out, const ck_metrics *m, int top);

#endif
