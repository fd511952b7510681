/* ck/submission.h — contest submission files: read, write, shard, merge, check.
 *
 * A submission is one row per test image: an id (the file name, as in the
 * sample submission) followed by either
 *   - CK_SUB_PROBS: one probability per class, in label-id order
 *     (SIGNATE: "test_00000.png,0.05,0.05,...", no header), or
 *   - CK_SUB_LABEL: one predicted label (id, or class name).
 *
 * Text files are read with the one CSV/TSV reader, ck_table (ck/table.h),
 * which keeps the line number of every row, so that each problem can be
 * reported as "file:line: ...". Its rules (quoting, CRLF, byte-order mark,
 * header detection) are those of docs/tables.md.
 *
 * All writers are atomic (ck/fs.h): an existing file is never replaced by a
 * partial one. Functions return -1/NULL with ck_error() set on failure.
 */
#ifndef CK_SUBMISSION_H
#define CK_SUBMISSION_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- cells ------------------------------------------------------------ */

/* Strict number parsing of a whole cell (surrounding blanks allowed).
 * Returns 0 on success. "nan"/"inf" parse (the caller decides). */
int ck_parse_double(const char *s, double *out);
/* A number as contest scorers read it: optional sign, digits with an
 * optional '.', optional exponent, surrounding spaces. No hex floats
 * (0x1.99p-5), no inf/nan spellings. */
int ck_text_is_decimal(const char *s);
/* Non-negative decimal integer (no sign, no fraction). */
int ck_parse_index(const char *s, long *out);

/* ---- the submission -------------------------------------------------- */

typedef enum ck_sub_kind {
    CK_SUB_PROBS = 0, /* id, then nclass probabilities */
    CK_SUB_LABEL = 1  /* id, then one label */
} ck_sub_kind;

typedef struct ck_submission ck_submission;

/* nrows rows, nclass classes, every probability 0 and every label -1.
 * Names are set with ck_submission_set_name(). */
ck_submission *ck_submission_new(int nrows, int nclass, ck_sub_kind kind);
void ck_submission_free(ck_submission *s);
int ck_submission_nrows(const ck_submission *s);
int ck_submission_nclass(const ck_submission *s);
ck_sub_kind ck_submission_kind(const ck_submission *s);
int ck_submission_set_name(ck_submission *s, int row, const char *name);
const char *ck_submission_name(const ck_submission *s, int row);
/* The row's nclass probabilities (writable). NULL for a label submission. */
double *ck_submission_probs(ck_submission *s, int row);
const double *ck_submission_probs_const(const ck_submission *s, int row);
/* Label submissions: the stored label. Probability submissions: the
 * arg-max (the first of equal maxima, like numpy.argmax). */
int ck_submission_label(const ck_submission *s, int row);
void ck_submission_set_label(ck_submission *s, int row, int label);
/* Line of the row in the file it was read from (0 when not read). */
int ck_submission_line(const ck_submission *s, int row);
/* Row index of `name`, or -1. (Hash lookup.) */
int ck_submission_find(const ck_submission *s, const char *name);

/* Read a submission. nclass: expected number of classes, or 0 to take it
 * from the file (probabilities: the column count; labels: integer ids
 * only, the largest + 1). class_names (may be NULL; nclass
 * entries) let label cells hold class names, and let a header of class
 * names give the probability columns in any order. The kind is taken from
 * the shape: two columns with an integer or class-name label are a label
 * submission (unless nclass is 1), otherwise probabilities. A header is
 * detected as in ck_table_has_header(); blank lines are skipped and every
 * row must have as many fields as the first. Bad cells are errors naming
 * the file and line. */
ck_submission *ck_submission_read(const char *path, int nclass, const char *const *class_names);

/* ---- writing ---------------------------------------------------------- */

typedef struct ck_submission_format {
    ck_sub_kind kind;
    char sep;                  /* field separator (default ',') */
    int header;                /* write a header line */
    /* Header cells: 1 + nclass for probabilities, 2 for labels. NULL gives
     * "file_name" then the class names (or label ids), or
     * "file_name","label_id" / "label_name". */
    const char *const *header_cells;
    /* Class names (nclass entries, may be NULL): used for the default
     * header, and written instead of ids when label_names is set. */
    const char *const *class_names;
    int label_names;
    /* Significant digits of each probability, printf("%.*g"); default 6.
     * %g drops trailing zeros ("0.05") and keeps tiny values non-zero
     * ("1e-15"), which a fixed number of decimals would round to 0. */
    int precision;
    /* When > 0, each probability is clipped to [clip, 1 - clip] and the row
     * is then divided by its sum (see ck_probs_clip). */
    double clip;
} ck_submission_format;

/* Defaults: probabilities, ',', no header, 6 digits, no clipping. */
void ck_submission_format_init(ck_submission_format *f);

int ck_submission_write(const ck_submission *s, const char *path, const ck_submission_format *f);

/* Shards. A shard holds the rows whose index % nshards == shard, each
 * prefixed with its row index, so that shards predicted on different
 * machines can be joined in the original order:
 *     #ck-shard 1/4 rows=2000
 *     #header <header line, when the format has one>
 *     1<TAB><row text exactly as ck_submission_write would write it>
 *     5<TAB>...
 */
int ck_submission_write_shard(const ck_submission *s, const char *path, const ck_submission_format *f,
                              int shard, int nshards);
/* Join shard files into `out` (atomic). Errors when the shards disagree on
 * the row count or header, when a row appears twice or is missing (the
 * message names the first missing/duplicate rows and counts them). The
 * result is byte-identical to the unsharded output. */
int ck_submission_merge(const char *out, const char *const *shards, int nshards);

/* ---- checking before upload ------------------------------------------- */

typedef struct ck_check_opts {
    double tolerance;     /* |row sum - 1| allowed; default 1e-3 */
    int nclass_names;     /* > 0: label cells must be one of these ids/names */
    const char *const *class_names;
    int max_reports;      /* problems printed (all are counted); default 50 */
} ck_check_opts;
void ck_check_opts_init(ck_check_opts *o);

/* Compare a submission with the sample submission: header as the sample's
 * (same cells, or none when the sample has none), the same ids in the same
 * order (missing, extra, duplicate and out-of-order rows), the same column
 * count on every line, numbers only, no NaN/inf, probabilities in [0, 1]
 * summing to 1 within the tolerance (labels: valid ids), no empty lines.
 * Each problem is written to `report` as "path:line: message\n".
 * Returns the number of problems (0 = OK) and sets *nrows to the number of
 * data rows, or -1 with an error when a file cannot be read. */
int ck_submission_check(const char *sample, const char *path, const ck_check_opts *o, FILE *report,
                        int *nrows);

/* ---- probability helpers (TTA, ensembles, clipping) ------------------ */

/* sum[i] += p[i], i < n. Used to average views (TTA) and models. */
void ck_probs_accumulate(double *sum, const float *p, size_t n);
/* sum[i] /= count: the arithmetic mean of the accumulated rows. */
void ck_probs_mean(double *sum, size_t n, int count);
/* Clip each of the k values to [eps, 1 - eps], then divide by their sum
 * (sklearn's log_loss convention). After renormalisation a value may sit
 * slightly below eps (eps / sum), never at 0 or 1 when k·eps < 1. */
void ck_probs_clip(double *p, int k, double eps);
/* Index of the largest value (first of equal maxima). */
int ck_probs_argmax(const double *p, int k);

#ifdef __cplusplus
}
#endif
#endif
