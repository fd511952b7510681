/* Matching submission rows with the truth and feeding ck_metrics. */
#include "eval_internal.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/table.h"

#include <stdlib.h>
#include <string.h>

/* Class index of a truth label: by label table, else the integer itself. */
static int truth_class(const ck_labels *labels, const char *text)
{
    if (labels)
        return ck_labels_lookup(labels, text);
    if (!ck_text_is_integer(text))
        return -1;
    long v = strtol(text, NULL, 10);
    return v >= 0 && v < 1000000 ? (int)v : -1;
}

static int sub_row(const ck_submission *s, const char *file)
{
    int r = ck_submission_find(s, file);
    if (r < 0 && strchr(file, '/'))
        r = ck_submission_find(s, ck_path_basename(file));
    return r;
}

ck_metrics *eval_score(const char *truth_path, const ck_labels *labels, const char *sub_path, double eps,
                       int worst_n, ck_worst **worst, ck_manifest **truth_out, int *nclass_out,
                       ck_sub_kind *kind_out)
{
    ck_manifest *truth = ck_manifest_read(truth_path);
    if (!truth)
        return NULL;
    int n = ck_manifest_count(truth);
    if (!ck_manifest_label(truth, 0)) {
        ck_error("ck-eval", "%s: no label column", truth_path);
        ck_manifest_free(truth);
        return NULL;
    }
    int *cls = malloc((size_t)n * sizeof *cls);
    int nclass = labels ? ck_labels_count(labels) : 0;
    for (int i = 0; cls && i < n; i++) {
        const char *text = ck_manifest_label(truth, i);
        cls[i] = truth_class(labels, text);
        if (cls[i] < 0) {
            ck_error("ck-eval", "%s:%d: unknown label '%s'%s", truth_path, ck_manifest_line(truth, i), text,
                     labels ? "" : " (give the label table with --labels)");
            free(cls);
            ck_manifest_free(truth);
            return NULL;
        }
        if (!labels && cls[i] + 1 > nclass)
            nclass = cls[i] + 1;
    }
    if (!cls) {
        ck_error("ck-eval", "out of memory");
        ck_manifest_free(truth);
        return NULL;
    }
    const char *const *names = NULL;
    const char **namebuf = NULL;
    if (labels) {
        namebuf = malloc((size_t)nclass * sizeof *namebuf);
        for (int k = 0; namebuf && k < nclass; k++)
            namebuf[k] = ck_labels_name(labels, k);
        names = namebuf;
    }
    /* Without a label table a probability submission says how many classes
     * there are; the truth only gives a lower bound. */
    ck_submission *s = ck_submission_read(sub_path, labels ? nclass : 0, names);
    if (s && !labels && ck_submission_kind(s) == CK_SUB_PROBS && ck_submission_nclass(s) < nclass) {
        ck_error("ck-eval", "%s: %d probability columns, but the truth has label %d", sub_path,
                 ck_submission_nclass(s), nclass - 1);
        ck_submission_free(s);
        s = NULL;
    }
    if (s && !labels && ck_submission_kind(s) == CK_SUB_LABEL && ck_submission_nclass(s) < nclass) {
        /* Labels never predicted beyond some id: the truth sets the count. */
        ck_submission *wide = ck_submission_read(sub_path, nclass, NULL);
        ck_submission_free(s);
        s = wide;
    }
    /* Without a label table the truth defines the classes: a predicted id
     * beyond them would invent classes (id 30000: a 30001² matrix). */
    if (s && !labels && ck_submission_kind(s) == CK_SUB_LABEL && ck_submission_nclass(s) > nclass) {
        for (int r = 0; r < ck_submission_nrows(s); r++)
            if (ck_submission_label(s, r) >= nclass) {
                ck_error("ck-eval", "%s:%d: label %d is not a class of %s (labels 0..%d; give the class list with "
                         "--labels)", sub_path, ck_submission_line(s, r), ck_submission_label(s, r), truth_path,
                         nclass - 1);
                break;
            }
        ck_submission_free(s);
        s = NULL;
    }
    free(namebuf);
    ck_metrics *m = NULL;
    ck_worst *w = NULL;
    if (s && worst_n > 0 && ck_submission_kind(s) != CK_SUB_PROBS) {
        ck_error("ck-eval", "%s: --worst needs probabilities, not a label per row", sub_path);
        ck_submission_free(s);
        s = NULL;
    }
    if (s) {
        nclass = ck_submission_nclass(s);
        m = ck_metrics_new(nclass);
        if (m)
            ck_metrics_set_eps(m, eps);
        if (m && worst_n > 0 && !(w = ck_worst_new(worst_n, nclass, eps))) {
            ck_metrics_free(m);
            m = NULL;
        }
    }
    int missing = 0, first_missing = -1;
    for (int i = 0; m && i < n; i++) {
        int r = sub_row(s, ck_manifest_file(truth, i));
        if (r < 0) {
            if (!missing++)
                first_missing = i;
            continue;
        }
        int rc = ck_submission_kind(s) == CK_SUB_PROBS
                     ? ck_metrics_add_probs(m, cls[i], ck_submission_probs_const(s, r))
                     : ck_metrics_add_label(m, cls[i], ck_submission_label(s, r));
        if (!rc && w)
            rc = ck_worst_add(w, i, cls[i], ck_submission_probs_const(s, r));
        if (rc) {
            ck_error("ck-eval", "%s:%d: label of '%s' outside the submission's %d classes", truth_path,
                     ck_manifest_line(truth, i), ck_manifest_file(truth, i), nclass);
            ck_metrics_free(m);
            m = NULL;
        }
    }
    if (m && missing) {
        ck_error("ck-eval", "%s: %d of the %d rows of %s have no prediction (first: '%s', line %d)", sub_path,
                 missing, n, truth_path, ck_manifest_file(truth, first_missing),
                 ck_manifest_line(truth, first_missing));
        ck_metrics_free(m);
        m = NULL;
    }
    if (m) {
        *nclass_out = nclass;
        *kind_out = ck_submission_kind(s);
    }
    if (m && worst) {
        *worst = w;
        *truth_out = truth;
        w = NULL;
        truth = NULL;
    }
    ck_worst_free(w);
    ck_submission_free(s);
    free(cls);
    ck_manifest_free(truth);
    return m;
}
