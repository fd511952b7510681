/* ck_submission_check: validate a submission against the sample before
 * uploading it, reporting every problem with its line number. */
#include "ck/submission.h"
#include "submission_internal.h"

#include "ck/error.h"
#include "ck/strmap.h"
#include "ck/table.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void ck_check_opts_init(ck_check_opts *o)
{
    memset(o, 0, sizeof *o);
    o->tolerance = 1e-3;
    o->max_reports = 50;
}

typedef struct checker {
    const ck_check_opts *o;
    FILE *out;
    int problems;
} checker;

__attribute__((format(printf, 4, 5))) static void report(checker *c, const char *path, int line, const char *fmt, ...)
{
    c->problems++;
    if (!c->out || (c->o->max_reports > 0 && c->problems > c->o->max_reports))
        return;
    fprintf(c->out, "%s:%d: ", path, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(c->out, fmt, ap);
    va_end(ap);
    fputc('\n', c->out);
}

static void print_cells(FILE *f, const ck_table *t, int r)
{
    char sep = ck_table_sep(t);
    for (int c = 0; c < ck_table_cols(t, r); c++)
        fprintf(f, "%s%s", c ? (sep == '\t' ? "\\t" : ",") : "", ck_table_cell(t, r, c));
}

static int same_cells(const ck_table *a, int ra, const ck_table *b, int rb)
{
    if (ck_table_cols(a, ra) != ck_table_cols(b, rb))
        return 0;
    for (int c = 0; c < ck_table_cols(a, ra); c++)
        if (strcmp(ck_table_cell(a, ra, c), ck_table_cell(b, rb, c)) != 0)
            return 0;
    return 1;
}

/* Blank lines are rows of 0 cells (lenient reading). */
static int first_row(const ck_table *t)
{
    for (int r = 0; r < ck_table_rows(t); r++)
        if (ck_table_cols(t, r))
            return r;
    return -1;
}

static void check_label(checker *c, const ck_check_opts *o, const char *path, int line, const char *cell,
                        int numeric)
{
    long v;
    int is_id = ck_parse_index(cell, &v) == 0;
    if (o->nclass_names > 0) {
        if (is_id && v < o->nclass_names)
            return;
        for (int k = 0; o->class_names && k < o->nclass_names; k++)
            if (o->class_names[k] && strcmp(o->class_names[k], cell) == 0)
                return;
        report(c, path, line, "label '%s' is not a class id (0..%d)%s", cell, o->nclass_names - 1,
               o->class_names ? " nor a class name" : "");
    } else if (numeric && !is_id) {
        report(c, path, line, "label '%s' is not a label id (a non-negative integer)", cell);
    } else if (!*cell) {
        report(c, path, line, "empty label");
    }
}

static void check_probs(checker *c, const char *path, int line, const ck_table *t, int r, int ncols)
{
    double sum = 0;
    int ok = 1;
    int n = ck_table_cols(t, r) < ncols ? ck_table_cols(t, r) : ncols;
    for (int col = 1; col < n; col++) {
        const char *cell = ck_table_cell(t, r, col);
        double v;
        if (ck_parse_double(cell, &v)) {
            report(c, path, line, "column %d: '%s' is not a number", col + 1, cell);
            ok = 0;
        } else if (isnan(v)) {
            report(c, path, line, "column %d: NaN", col + 1);
            ok = 0;
        } else if (isinf(v)) {
            report(c, path, line, "column %d: infinite value", col + 1);
            ok = 0;
        } else if (!ck_text_is_decimal(cell)) {
            report(c, path, line, "column %d: '%s' is not a plain decimal number (contest scorers read no hex "
                   "floats)", col + 1, cell);
            ok = 0;
        } else if (v < 0 || v > 1) {
            report(c, path, line, "column %d: %s is outside [0, 1]", col + 1, cell);
            ok = 0;
        } else {
            sum += v;
        }
    }
    if (ok && n == ncols && fabs(sum - 1) > c->o->tolerance)
        report(c, path, line, "probabilities sum to %.6g, not 1 (tolerance %g)", sum, c->o->tolerance);
}

int ck_submission_check(const char *sample, const char *path, const ck_check_opts *opts, FILE *out, int *nrows)
{
    ck_check_opts defaults;
    if (!opts) {
        ck_check_opts_init(&defaults);
        opts = &defaults;
    }
    /* Lenient: blank lines and ragged rows are reported, not fatal. */
    ck_table *s = ck_table_read(sample, 0, CK_TABLE_LENIENT);
    if (!s)
        return -1;
    ck_table *t = ck_table_read(path, ck_table_sep(s), CK_TABLE_LENIENT);
    if (!t) {
        ck_table_free(s);
        return -1;
    }
    checker c = {opts, out, 0};
    int s_header = ck_table_has_header(s), s0 = first_row(s);
    if (s0 < 0) {
        ck_error("submission", "%s: the sample submission is empty", sample);
        ck_table_free(s);
        ck_table_free(t);
        return -1;
    }
    /* The sample's data rows: ids in order. */
    int sfirst = s_header ? s0 + 1 : s0, ns = 0;
    for (int r = sfirst; r < ck_table_rows(s); r++)
        ns += ck_table_cols(s, r) > 0;
    int *srow = malloc((ns ? (size_t)ns : 1) * sizeof *srow);
    int *seen = calloc(ns ? (size_t)ns : 1, sizeof *seen); /* submission line, 0 = not yet */
    ck_strmap ix = {0};
    int ok = srow && seen;
    ns = 0;
    for (int r = sfirst; r < ck_table_rows(s) && ok; r++)
        if (ck_table_cols(s, r)) {
            srow[ns] = r;
            ok = ck_strmap_put(&ix, ck_table_cell(s, r, 0), ns) != -2;
            ns++;
        }
    if (!ok) {
        ck_strmap_clear(&ix);
        free(srow);
        free(seen);
        ck_table_free(s);
        ck_table_free(t);
        ck_error("submission", "out of memory");
        return -1;
    }
    int ncols = ns ? ck_table_cols(s, srow[0]) : ck_table_cols(s, s0);
    int label_kind = ncols == 2;
    long dummy;
    int numeric_labels = label_kind && ns && ck_parse_index(ck_table_cell(s, srow[0], 1), &dummy) == 0;

    /* A file written with another separator shows up as one column. */
    char tsep = ck_table_sep(t), other = tsep == '\t' ? ',' : '\t';
    int t0 = first_row(t);
    int wrong_sep = t0 >= 0 && ck_table_cols(t, t0) == 1 && ncols > 1 && strchr(ck_table_cell(t, t0, 0), other);
    if (wrong_sep) /* every row would be wrong: one report says it all */
        report(&c, path, ck_table_line(t, t0), "fields are separated by %s; the sample uses %s",
               other == '\t' ? "tabs" : "commas", tsep == '\t' ? "tabs" : "commas");

    int pos = 0, order_reported = 0, data = 0;
    for (int r = 0; r < ck_table_rows(t) && !wrong_sep; r++) {
        int line = ck_table_line(t, r), nc = ck_table_cols(t, r);
        if (!nc) {
            report(&c, path, line, "empty line");
            continue;
        }
        const char *id = ck_table_cell(t, r, 0);
        int k = ck_strmap_get(&ix, id);
        if (r == t0) {
            if (s_header && k < 0) {
                if (!same_cells(s, s0, t, r)) {
                    report(&c, path, line, "header differs from the sample's");
                    if (c.out && c.problems <= opts->max_reports) {
                        fprintf(c.out, "  expected: ");
                        print_cells(c.out, s, s0);
                        fprintf(c.out, "\n  found:    ");
                        print_cells(c.out, t, r);
                        fputc('\n', c.out);
                    }
                }
                continue;
            }
            if (s_header) {
                report(&c, path, line, "missing header line (the sample starts with one)");
            } else if (k < 0 && ck_table_has_header(t)) {
                report(&c, path, line, "unexpected header line (the sample has none)");
                continue;
            }
        }
        data++;
        if (nc != ncols)
            report(&c, path, line, "%d columns, expected %d", nc, ncols);
        if (k < 0) {
            report(&c, path, line, "'%s' is not in the sample submission", id);
        } else if (seen[k]) {
            report(&c, path, line, "duplicate row '%s' (also at line %d)", id, seen[k]);
        } else {
            seen[k] = line;
            if (k != pos && !order_reported) {
                /* One report: after a single misplaced row every later row is
                 * shifted, and listing them all would hide the cause. */
                order_reported = 1;
                report(&c, path, line, "rows are not in the sample's order: '%s' found where '%s' (sample line %d) "
                       "is expected", id, pos < ns ? ck_table_cell(s, srow[pos], 0) : "(end)",
                       pos < ns ? ck_table_line(s, srow[pos]) : 0);
            }
        }
        pos++;
        if (label_kind)
            check_label(&c, opts, path, line, ck_table_cell(t, r, 1), numeric_labels);
        else
            check_probs(&c, path, line, t, r, ncols);
    }
    for (int k = 0; k < ns && !wrong_sep; k++)
        if (!seen[k])
            report(&c, sample, ck_table_line(s, srow[k]), "row '%s' is missing from %s",
                   ck_table_cell(s, srow[k], 0), path);
    if (c.out && opts->max_reports > 0 && c.problems > opts->max_reports)
        fprintf(c.out, "... and %d more problem(s)\n", c.problems - opts->max_reports);
    if (nrows)
        *nrows = data;
    ck_strmap_clear(&ix);
    free(srow);
    free(seen);
    ck_table_free(s);
    ck_table_free(t);
    return c.problems;
}
