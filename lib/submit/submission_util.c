/* Name index and text buffers used by the submission code. */
#include "submission_internal.h"

#include "ck/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int ck_name_index_init(ck_name_index *ix, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 1)
        cap *= 2;
    ix->keys = calloc(cap, sizeof *ix->keys);
    ix->vals = calloc(cap, sizeof *ix->vals);
    ix->cap = cap;
    if (!ix->keys || !ix->vals) {
        ck_name_index_free(ix);
        ck_error("submission", "out of memory");
        return -1;
    }
    return 0;
}

/* Callers size the table for their row count up front, so it never fills. */
int ck_name_index_put(ck_name_index *ix, const char *key, int val)
{
    size_t i = hash_str(key) & (ix->cap - 1);
    while (ix->keys[i]) {
        if (strcmp(ix->keys[i], key) == 0)
            return ix->vals[i];
        i = (i + 1) & (ix->cap - 1);
    }
    ix->keys[i] = key;
    ix->vals[i] = val;
    return -1;
}

int ck_name_index_get(const ck_name_index *ix, const char *key)
{
    if (!ix->cap)
        return -1;
    size_t i = hash_str(key) & (ix->cap - 1);
    while (ix->keys[i]) {
        if (strcmp(ix->keys[i], key) == 0)
            return ix->vals[i];
        i = (i + 1) & (ix->cap - 1);
    }
    return -1;
}

void ck_name_index_free(ck_name_index *ix)
{
    free(ix->keys);
    free(ix->vals);
    ix->keys = NULL;
    ix->vals = NULL;
    ix->cap = 0;
}

static int strbuf_reserve(ck_strbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        ck_error("submission", "out of memory");
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

int ck_strbuf_add(ck_strbuf *b, const char *s, size_t n)
{
    if (strbuf_reserve(b, n))
        return -1;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int ck_strbuf_printf(ck_strbuf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof tmp)
        return ck_strbuf_add(b, tmp, (size_t)n);
    if (strbuf_reserve(b, (size_t)n))
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void ck_strbuf_free(ck_strbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

int ck_strbuf_cell(ck_strbuf *b, const char *cell, char sep)
{
    if (!strchr(cell, sep) && !strpbrk(cell, "\"\r\n"))
        return ck_strbuf_add(b, cell, strlen(cell));
    if (ck_strbuf_add(b, "\"", 1))
        return -1;
    for (const char *p = cell; *p; p++) {
        if (*p == '"' && ck_strbuf_add(b, "\"", 1))
            return -1;
        if (ck_strbuf_add(b, p, 1))
            return -1;
    }
    return ck_strbuf_add(b, "\"", 1);
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
