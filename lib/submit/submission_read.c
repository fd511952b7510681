/* Reading a submission file into a ck_submission. */
#include "ck/submission.h"
#include "submission_internal.h"

#include "ck/error.h"
#include "ck/table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int class_of(const char *cell, int nclass, const char *const *names)
{
    long v;
    if (ck_parse_index(cell, &v) == 0)
        return v < nclass || nclass <= 0 ? (int)v : -1;
    for (int k = 0; names && k < nclass; k++)
        if (names[k] && strcmp(names[k], cell) == 0)
            return k;
    return -1;
}

/* With a header of class names, column c holds class perm[c]. */
static int header_permutation(const ck_table *t, int hr, int nclass, const char *const *names, int *perm)
{
    if (!names || ck_table_cols(t, hr) != nclass + 1)
        return 0;
    int *seen = calloc((size_t)nclass, sizeof *seen);
    if (!seen)
        return 0;
    int ok = 1;
    for (int c = 0; c < nclass && ok; c++) {
        const char *h = ck_table_cell(t, hr, c + 1);
        int k = -1;
        for (int j = 0; j < nclass; j++)
            if (names[j] && strcmp(names[j], h) == 0)
                k = j;
        ok = k >= 0 && !seen[k];
        if (ok) {
            seen[k] = 1;
            perm[c] = k;
        }
    }
    free(seen);
    return ok;
}

ck_submission *ck_submission_read(const char *path, int nclass, const char *const *class_names)
{
    /* Strict: blank lines are skipped and every row is as wide as the first. */
    ck_table *t = ck_table_read(path, 0, 0);
    if (!t)
        return NULL;
    int header = ck_table_has_header(t);
    int first = header ? 1 : 0, nrows = ck_table_rows(t) - first, ncols = ck_table_cols(t, 0);
    if (nrows <= 0) {
        ck_error("submission", "%s: no rows", path);
        ck_table_free(t);
        return NULL;
    }
    ck_sub_kind kind = ncols == 2 && nclass != 1 ? CK_SUB_LABEL : CK_SUB_PROBS;
    if (kind == CK_SUB_PROBS) {
        if (nclass <= 0)
            nclass = ncols - 1;
        if (ncols - 1 != nclass || nclass < 1) {
            ck_error("submission", "%s: %d columns, expected the id and %d probabilities", path, ncols, nclass);
            ck_table_free(t);
            return NULL;
        }
    } else if (nclass <= 0) {
        /* Integer labels only; the class count is the largest id + 1. */
        for (int r = first; r < ck_table_rows(t); r++) {
            long v;
            if (ck_parse_index(ck_table_cell(t, r, 1), &v) == 0 && v < 1000000 && v + 1 > nclass)
                nclass = (int)v + 1;
        }
        if (nclass <= 0)
            nclass = 1;
    }
    int *perm = malloc((size_t)nclass * sizeof *perm);
    ck_submission *s = perm ? ck_submission_new(nrows, nclass, kind) : NULL;
    if (!s) {
        free(perm);
        ck_table_free(t);
        return NULL;
    }
    for (int k = 0; k < nclass; k++)
        perm[k] = k;
    if (header && kind == CK_SUB_PROBS)
        header_permutation(t, 0, nclass, class_names, perm);

    int i = 0, bad = 0;
    for (int r = first; r < ck_table_rows(t) && !bad; r++) {
        int line = ck_table_line(t, r);
        const char *name = ck_table_cell(t, r, 0);
        if (!*name) {
            ck_error("submission", "%s:%d: empty id", path, line);
            bad = 1;
            break;
        }
        if (ck_submission_set_name(s, i, name)) {
            bad = 1;
            break;
        }
        ck_submission_set_line_(s, i, line);
        if (kind == CK_SUB_LABEL) {
            int k = class_of(ck_table_cell(t, r, 1), nclass, class_names);
            if (k < 0) {
                ck_error("submission", "%s:%d: '%s' is not a label id below %d%s", path, line,
                         ck_table_cell(t, r, 1), nclass, class_names ? " nor a class name" : "");
                bad = 1;
            }
            ck_submission_set_label(s, i, k);
        } else {
            double *p = ck_submission_probs(s, i);
            for (int c = 0; c < nclass && !bad; c++) {
                double v;
                const char *cell = ck_table_cell(t, r, c + 1);
                if (ck_parse_double(cell, &v) || !isfinite(v) || !ck_text_is_decimal(cell)) {
                    ck_error("submission", "%s:%d: column %d: '%s' is not a finite number", path, line, c + 2, cell);
                    bad = 1;
                }
                p[perm[c]] = v;
            }
        }
        i++;
    }
    for (int a = 0; a < nrows && !bad; a++) {
        int b = ck_submission_find(s, ck_submission_name(s, a));
        if (b < 0) {
            bad = 1;
        } else if (b != a) {
            ck_error("submission", "%s:%d: duplicate id '%s' (first at line %d)", path, ck_submission_line(s, a),
                     ck_submission_name(s, a), ck_submission_line(s, b));
            bad = 1;
        }
    }
    free(perm);
    ck_table_free(t);
    if (bad) {
        ck_submission_free(s);
        return NULL;
    }
    return s;
}
