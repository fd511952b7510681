/* Private helpers shared by the submission_*.c files. */
#ifndef CK_SUBMISSION_INTERNAL_H
#define CK_SUBMISSION_INTERNAL_H

#include <stddef.h>

#include "ck/submission.h"

/* Record the source line of a row (reader only). */
void ck_submission_set_line_(ck_submission *s, int row, int line);

/* String -> row index, open addressing. Keys are borrowed, not copied. */
typedef struct ck_name_index {
    const char **keys;
    int *vals;
    size_t cap;
} ck_name_index;

int ck_name_index_init(ck_name_index *ix, size_t n);
/* Insert; returns the previous value when the key was already present
 * (and keeps it), else -1. */
int ck_name_index_put(ck_name_index *ix, const char *key, int val);
int ck_name_index_get(const ck_name_index *ix, const char *key);
void ck_name_index_free(ck_name_index *ix);

/* Growable text buffer for one formatted row. */
typedef struct ck_strbuf {
    char *s;
    size_t len, cap;
} ck_strbuf;
int ck_strbuf_add(ck_strbuf *b, const char *s, size_t n);
int ck_strbuf_printf(ck_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ck_strbuf_free(ck_strbuf *b);

/* Append a cell to b, quoted when it holds the separator, a quote or a
 * line break. */
int ck_strbuf_cell(ck_strbuf *b, const char *cell, char sep);

#endif
