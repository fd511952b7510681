/* table_internal.h — what table.c shares with labels.c and folders.c. */
#ifndef CK_IO_TABLE_INTERNAL_H
#define CK_IO_TABLE_INTERNAL_H

#include "ck/table.h"
#include "ck/strmap.h"

struct ck_manifest {
    char *path;        /* for messages */
    int n, cap;        /* rows */
    int ncols;
    char **cells;      /* n * ncols, row-major; NULL = no value (added row) */
    int *lines;        /* source line of each row */
    char **header;     /* ncols names, or NULL */
    int file_col, label_col;
    char sep;
    int has_header;
    char *file_name;   /* names written in a header */
    char *label_name;
    ck_strmap files;   /* file name -> row, for duplicates and _find */
    int skipped;       /* folder scans: image names that are no regular file */
    char skipped_name[256];
};

/* The known file and label column names (lower case, NULL-terminated). */
extern const char *const ck__known_columns[];

/* Parse a delimited text file into rows (no column roles, no duplicate
 * check). known: NULL-terminated lower-case header names that mark the
 * first row as a header; numeric_col: the column whose "text over numbers"
 * also marks a header. */
ck_manifest *ck__table_parse(const char *path, const char *const *known, int numeric_col);
/* Case-insensitive membership in a NULL-terminated list; index or -1. */
int ck__name_in(const char *s, const char *const *list);
/* Column chosen by header name or number; -1 and an error if unknown. */
int ck__pick_column(const ck_manifest *m, const char *want);
ck_manifest *ck__manifest_alloc(const char *path, int ncols);
int ck__manifest_push(ck_manifest *m, const char *const *fields, int line);
/* Fill m->files and check file names (non-empty, unique). */
int ck__manifest_index_files(ck_manifest *m);

#endif
