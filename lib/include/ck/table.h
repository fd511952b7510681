/* ck/table.h — manifests: the (file, label) tables of a contest.
 *
 * One reader for every shape contests use (details in docs/tables.md):
 *
 *   train_master.tsv   file_name<TAB>label_id        (SIGNATE, header)
 *   train.csv          file,label                    (header)
 *   list.txt           img001.png,3                  (no header)
 *   sample_submit.csv  test_0.png,0.05,0.05,...      (no header, >2 columns)
 *   DIR/<class>/<image>                              (ck_manifest_from_folders)
 *
 * Parsing (libcsv, ck_table_read below: the one reader of every CSV/TSV
 * file, manifests, label lists and submissions alike):
 *  - input: a file, "-" (stdin) or a FIFO; folders and devices are refused;
 *  - separator: tab if the first non-blank line contains a tab, else comma;
 *  - UTF-8 BOM, CRLF, quoted fields, blank lines and a missing final newline
 *    are accepted; surrounding spaces of unquoted fields are trimmed;
 *  - header: the first row is a header if one of its fields (case-insensitive)
 *    is a known column name (file_name, file, filename, fname, image,
 *    image_name, image_id, img, id, path, filepath, label_id, label, labels,
 *    class, class_id, class_name, category, category_id, target, y,
 *    label_name), or if there are >= 2 rows, its label field (column 1) is not
 *    a number and column 1 of every other row is;
 *  - columns: with a header, the file column is the first known file name
 *    (else column 0) and the label column the first known label name (else,
 *    with exactly 2 columns, the other one; else none). Without a header,
 *    column 0 is the file and column 1 the label **only when the table has
 *    exactly 2 columns**: a wider table without header (a submission: file
 *    then probabilities) has no label column, ck_manifest_label() is NULL and
 *    the extra fields stay reachable with ck_manifest_field();
 *  - every row must have as many fields as the first row;
 *  - file names must be unique and non-empty.
 * Errors name the file and line: "table: train_master.tsv:17: expected 2
 * fields, found 1".
 *
 * Row order is the file's order. The class index of a label is decided by
 * ck_labels (ck/labels.h), never by row order.
 */
#ifndef CK_TABLE_H
#define CK_TABLE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- delimited text: the one reader --------------------------------- */

/* Every CSV/TSV file ck reads (manifests, label lists, sample submissions,
 * submissions, --order lists) goes through ck_table_read, with the parsing
 * rules above. ck_manifest and ck_labels are built on it. */
typedef struct ck_table ck_table;

/* Lenient mode keeps what a checker wants to report: blank lines (rows of
 * 0 fields) and rows of any width, each with its line. */
#define CK_TABLE_LENIENT 1

/* Read path ("-" = stdin; a FIFO is read like a file; a folder or device
 * is refused as "not a regular file"). sep: ',' or '\t', or 0 to detect.
 * flags 0 (strict): blank lines are skipped and every row must have as many
 * fields as the first ("file:line: expected N fields, found M"). An empty
 * file is a table of 0 rows (callers decide whether that is an error).
 * Errors: unreadable file, NUL byte, bad quoting ("file:line: malformed
 * quoted field"). */
ck_table *ck_table_read(const char *path, char sep, int flags);
/* The same on text in memory (len bytes, need not be NUL-terminated); name
 * stands for the file in messages. */
ck_table *ck_table_parse(const char *text, size_t len, const char *name, char sep, int flags);
void ck_table_free(ck_table *t);
int ck_table_rows(const ck_table *t);
/* Fields of a row (0 for a blank line). */
int ck_table_cols(const ck_table *t, int row);
/* Field text, trimmed and unquoted; "" when row or col is out of range. */
const char *ck_table_cell(const ck_table *t, int row, int col);
/* 1-based line where the row begins (a quoted field may span lines). */
int ck_table_line(const ck_table *t, int row);
char ck_table_sep(const ck_table *t);
/* Path as given ("(stdin)" for "-"). */
const char *ck_table_path(const ck_table *t);
/* 1 when the first non-blank row is a header (the rule above: a known
 * column name, or text over numbers in column 1). */
int ck_table_has_header(const ck_table *t);

/* ---- manifests --------------------------------------------------------- */

typedef struct ck_manifest ck_manifest;

/* Read a table; "-" reads stdin. NULL and an error naming the file (and
 * line) on failure: missing/unreadable file, empty file, header without
 * rows, ragged rows, empty or duplicate file names, bad quoting. */
ck_manifest *ck_manifest_read(const char *path);
/* Same, with columns chosen by header name (or by 0-based number, e.g. "2",
 * which also works without a header). NULL = automatic as above; label_col
 * "" = no label column. An unknown name is an error listing the columns. */
ck_manifest *ck_manifest_read_columns(const char *path, const char *file_col, const char *label_col);

/* An empty manifest (style: tab, header "file_name", "label_id"). */
ck_manifest *ck_manifest_new(void);
/* Append a row (strings are copied). label may be NULL: ck_manifest_label()
 * then returns NULL for that row, and when no row has a label the manifest
 * is written as one column (a list of files, e.g. test images). A label on a
 * manifest without label column, an empty or a duplicate file name is an
 * error. Rows added this way have line 0 (messages say "row N"). */
int ck_manifest_add(ck_manifest *m, const char *file, const char *label);

int ck_manifest_count(const ck_manifest *m);
const char *ck_manifest_file(const ck_manifest *m, int i);
/* Raw label text as written (trimmed); NULL when there is no label column. */
const char *ck_manifest_label(const ck_manifest *m, int i);
/* 1-based line of row i in the source (0 for rows added in memory). */
int ck_manifest_line(const ck_manifest *m, int i);
/* Source path as given ("(stdin)" for "-", DIR for folders, "(memory)" for
 * ck_manifest_new); messages use it. */
const char *ck_manifest_path(const ck_manifest *m);

/* Every field of a row as read, for wide tables (e.g. a submission's
 * probabilities). Columns of rows added with ck_manifest_add are 2 (or 1). */
int ck_manifest_columns(const ck_manifest *m);
const char *ck_manifest_field(const ck_manifest *m, int i, int col);
int ck_manifest_label_index(const ck_manifest *m);

/* Style of the source, reused when writing a derived manifest. */
char ck_manifest_sep(const ck_manifest *m);          /* '\t' or ',' */
int ck_manifest_has_header(const ck_manifest *m);
/* Header names of the file/label columns; defaults "file_name"/"label_id"
 * when the source had no header. Label column name NULL when no labels. */
const char *ck_manifest_file_column(const ck_manifest *m);
const char *ck_manifest_label_column(const ck_manifest *m);
/* Change the style used by _write/_save. NULL names keep the current ones. */
int ck_manifest_set_style(ck_manifest *m, char sep, int header, const char *file_col, const char *label_col);

/* Write "file<sep>label" rows (just "file" when there is no label column),
 * after a header line when has_header; fields are quoted when they contain
 * the separator, a quote, CR or LF, or surrounding spaces. Extra columns of a
 * wide source are not written. */
int ck_manifest_write(const ck_manifest *m, FILE *out);
/* Atomic: written to a temporary beside path and renamed when complete. */
int ck_manifest_save(const ck_manifest *m, const char *path);

/* A new manifest with rows idx[0..n) of m, same style. */
ck_manifest *ck_manifest_subset(const ck_manifest *m, const int *idx, int n);
/* Row of a file name, -1 if absent (no error set). */
int ck_manifest_find(const ck_manifest *m, const char *file);

/* Folder-per-class tree DIR/<class>/<image>: one row per image file (png,
 * jpg, jpeg, webp, tif, tiff, bmp, gif, ppm, pgm, pnm; any case), file =
 * "<class>/<image>" relative to DIR, label = "<class>". Classes are listed in
 * byte order of their names (strcmp), images within a class in natural order
 * (ck_natural_cmp: img2 < img10). Hidden entries (".x") and non-image files
 * are skipped; loose files directly in DIR are ignored. An error when DIR
 * cannot be read or holds no images. Style: tab, header file_name/label. */
ck_manifest *ck_manifest_from_folders(const char *dir);
/* Entries with image names that a folder scan skipped because they are not
 * regular files (FIFOs, devices, folders), for the caller to warn about;
 * *first (may be NULL) gets the first one's path. 0 for other manifests. */
int ck_manifest_skipped(const ck_manifest *m, const char **first);

void ck_manifest_free(ck_manifest *m);

/* Helpers shared with ck/labels.h: is s a (decimal) number / an integer? */
int ck_text_is_number(const char *s);
int ck_text_is_integer(const char *s);

#ifdef __cplusplus
}
#endif
#endif
