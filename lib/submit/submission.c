/* The submission table: rows of (id, probabilities or label). */
#include "ck/submission.h"
#include "submission_internal.h"

#include "ck/error.h"
#include "ck/strmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ck_submission {
    int nrows, nclass;
    ck_sub_kind kind;
    char **names;
    double *probs;
    int *labels;
    int *lines;
    ck_strmap index; /* name -> row, built lazily by ck_submission_find */
    int indexed;
};

ck_submission *ck_submission_new(int nrows, int nclass, ck_sub_kind kind)
{
    if (nrows < 0 || nclass < 1) {
        ck_error("submission", "invalid shape: %d rows, %d classes", nrows, nclass);
        return NULL;
    }
    ck_submission *s = calloc(1, sizeof *s);
    if (!s) {
        ck_error("submission", "out of memory");
        return NULL;
    }
    s->nrows = nrows;
    s->nclass = nclass;
    s->kind = kind;
    size_t n = nrows ? (size_t)nrows : 1;
    s->names = calloc(n, sizeof *s->names);
    s->labels = malloc(n * sizeof *s->labels);
    s->lines = calloc(n, sizeof *s->lines);
    if (kind == CK_SUB_PROBS)
        s->probs = calloc(n * (size_t)nclass, sizeof *s->probs);
    if (!s->names || !s->labels || !s->lines || (kind == CK_SUB_PROBS && !s->probs)) {
        ck_submission_free(s);
        ck_error("submission", "out of memory");
        return NULL;
    }
    for (int i = 0; i < nrows; i++)
        s->labels[i] = -1;
    return s;
}

void ck_submission_free(ck_submission *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nrows && s->names; i++)
        free(s->names[i]);
    free(s->names);
    free(s->probs);
    free(s->labels);
    free(s->lines);
    ck_strmap_clear(&s->index);
    free(s);
}

int ck_submission_nrows(const ck_submission *s)
{
    return s->nrows;
}

int ck_submission_nclass(const ck_submission *s)
{
    return s->nclass;
}

ck_sub_kind ck_submission_kind(const ck_submission *s)
{
    return s->kind;
}

int ck_submission_set_name(ck_submission *s, int row, const char *name)
{
    char *copy = strdup(name);
    if (!copy) {
        ck_error("submission", "out of memory");
        return -1;
    }
    free(s->names[row]);
    s->names[row] = copy;
    if (s->indexed) {
        ck_strmap_clear(&s->index);
        s->indexed = 0;
    }
    return 0;
}

const char *ck_submission_name(const ck_submission *s, int row)
{
    return s->names[row] ? s->names[row] : "";
}

double *ck_submission_probs(ck_submission *s, int row)
{
    return s->probs ? s->probs + (size_t)row * (size_t)s->nclass : NULL;
}

const double *ck_submission_probs_const(const ck_submission *s, int row)
{
    return s->probs ? s->probs + (size_t)row * (size_t)s->nclass : NULL;
}

int ck_submission_label(const ck_submission *s, int row)
{
    if (s->kind == CK_SUB_LABEL)
        return s->labels[row];
    return ck_probs_argmax(ck_submission_probs_const(s, row), s->nclass);
}

void ck_submission_set_label(ck_submission *s, int row, int label)
{
    s->labels[row] = label;
}

int ck_submission_line(const ck_submission *s, int row)
{
    return s->lines[row];
}

void ck_submission_set_line_(ck_submission *s, int row, int line)
{
    s->lines[row] = line;
}

int ck_submission_find(const ck_submission *s, const char *name)
{
    /* The index is a cache: building it does not change the value. */
    ck_submission *m = (ck_submission *)s;
    if (!m->indexed) {
        for (int i = 0; i < m->nrows; i++)
            if (ck_strmap_put(&m->index, ck_submission_name(m, i), i) == -2) {
                ck_strmap_clear(&m->index);
                ck_error("submission", "out of memory");
                return -1;
            }
        m->indexed = 1;
    }
    return ck_strmap_get(&m->index, name);
}

int ck_parse_double(const char *s, double *out)
{
    while (*s == ' ')
        s++;
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s)
        return -1;
    while (*end == ' ')
        end++;
    if (*end)
        return -1;
    /* strtod accepts hex floats and "infinity": fine; ERANGE underflow of
     * tiny values (1e-400) is still a valid number. */
    *out = d;
    return 0;
}

int ck_text_is_decimal(const char *s)
{
    while (*s == ' ')
        s++;
    if (*s == '+' || *s == '-')
        s++;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        digits++;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            digits++;
    if (!digits)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (*s < '0' || *s > '9')
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    while (*s == ' ')
        s++;
    return *s == '\0';
}

int ck_parse_index(const char *s, long *out)
{
    while (*s == ' ')
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    while (*end == ' ')
        end++;
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}
