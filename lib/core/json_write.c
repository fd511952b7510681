/* JSON writer: a string builder that places commas, escapes strings and
 * remembers the first misuse (see ck/json.h). */
#include "ck/json.h"
#include "ck/error.h"
#include "json_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct frame {
    char kind;    /* '{' or '[' */
    int count;    /* values written in this container */
    int have_key; /* object: a key is waiting for its value */
} frame;

struct ck_json_writer {
    char *buf;
    size_t len, cap;
    int pretty;
    int depth;
    int done; /* top-level value complete */
    const char *err;
    frame stack[CK_JSON_MAX_DEPTH];
};

ck_json_writer *ck_json_writer_new(int pretty)
{
    ck_json_writer *w = calloc(1, sizeof *w);
    if (!w) {
        ck_error("json", "out of memory");
        return NULL;
    }
    w->pretty = pretty;
    return w;
}

void ck_json_writer_free(ck_json_writer *w)
{
    if (!w)
        return;
    free(w->buf);
    free(w);
}

static void misuse(ck_json_writer *w, const char *why)
{
    if (!w->err)
        w->err = why;
}

static void put(ck_json_writer *w, const char *s, size_t n)
{
    if (w->err)
        return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n + 1)
            cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) {
            misuse(w, "out of memory");
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(ck_json_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void newline(ck_json_writer *w)
{
    if (!w->pretty)
        return;
    put(w, "\n", 1);
    for (int k = 0; k < w->depth; k++)
        put(w, "  ", 2);
}

/* Called before any value: checks the position and writes the separator. */
static int before_value(ck_json_writer *w)
{
    if (!w)
        return 0;
    if (w->err)
        return 0;
    if (w->depth == 0) {
        if (w->done) {
            misuse(w, "a second top-level value");
            return 0;
        }
        return 1;
    }
    frame *f = &w->stack[w->depth - 1];
    if (f->kind == '{') {
        if (!f->have_key) {
            misuse(w, "a value inside an object without a key");
            return 0;
        }
        f->have_key = 0;
        f->count++;
        return 1;
    }
    if (f->count++)
        put(w, ",", 1);
    newline(w);
    return 1;
}

static void after_value(ck_json_writer *w)
{
    if (w->depth == 0)
        w->done = 1;
}

static void begin(ck_json_writer *w, char kind)
{
    if (!before_value(w))
        return;
    if (w->depth == CK_JSON_MAX_DEPTH) {
        misuse(w, "nesting too deep");
        return;
    }
    put(w, kind == '{' ? "{" : "[", 1);
    w->stack[w->depth++] = (frame){kind, 0, 0};
}

static void end(ck_json_writer *w, char kind)
{
    if (!w || w->err)
        return;
    if (w->depth == 0 || w->stack[w->depth - 1].kind != kind) {
        misuse(w, kind == '{' ? "end_object without a matching begin_object"
                              : "end_array without a matching begin_array");
        return;
    }
    frame *f = &w->stack[w->depth - 1];
    if (f->have_key) {
        misuse(w, "a key without a value");
        return;
    }
    w->depth--;
    if (f->count)
        newline(w);
    put(w, kind == '{' ? "}" : "]", 1);
    after_value(w);
}

void ck_json_begin_object(ck_json_writer *w) { begin(w, '{'); }
void ck_json_end_object(ck_json_writer *w) { end(w, '{'); }
void ck_json_begin_array(ck_json_writer *w) { begin(w, '['); }
void ck_json_end_array(ck_json_writer *w) { end(w, '['); }

static void put_escaped(ck_json_writer *w, const char *s, size_t n)
{
    if (!ck_utf8_valid(s, n)) {
        misuse(w, "a string that is not valid UTF-8");
        return;
    }
    put(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"': puts_(w, "\\\""); break;
        case '\\': puts_(w, "\\\\"); break;
        case '\n': puts_(w, "\\n"); break;
        case '\r': puts_(w, "\\r"); break;
        case '\t': puts_(w, "\\t"); break;
        case '\b': puts_(w, "\\b"); break;
        case '\f': puts_(w, "\\f"); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            puts_(w, esc);
        }
    }
    put(w, s + run, n - run);
    put(w, "\"", 1);
}

void ck_json_key(ck_json_writer *w, const char *key)
{
    if (!w || w->err)
        return;
    if (!key) {
        misuse(w, "a NULL key");
        return;
    }
    if (w->depth == 0 || w->stack[w->depth - 1].kind != '{') {
        misuse(w, "a key outside an object");
        return;
    }
    frame *f = &w->stack[w->depth - 1];
    if (f->have_key) {
        misuse(w, "two keys in a row");
        return;
    }
    if (f->count)
        put(w, ",", 1);
    newline(w);
    put_escaped(w, key, strlen(key));
    put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
    f->have_key = 1;
}

void ck_json_write_string_n(ck_json_writer *w, const char *s, size_t n)
{
    if (!s) {
        ck_json_write_null(w);
        return;
    }
    if (!before_value(w))
        return;
    put_escaped(w, s, n);
    after_value(w);
}

void ck_json_write_string(ck_json_writer *w, const char *s)
{
    ck_json_write_string_n(w, s, s ? strlen(s) : 0);
}

/* Shortest %.Ng that reads back as the same double. */
static void format_double(double x, char *out, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, x);
        /* A locale may have written a decimal comma. */
        for (char *c = out; *c; c++)
            if (*c == ',')
                *c = '.';
        if (ck_json_strtod(out, NULL) == x)
            return;
    }
}

void ck_json_write_number(ck_json_writer *w, double x)
{
    if (!isfinite(x)) {
        ck_json_write_null(w);
        return;
    }
    if (!before_value(w))
        return;
    char tmp[40];
    format_double(x, tmp, sizeof tmp);
    puts_(w, tmp);
    after_value(w);
}

void ck_json_write_int(ck_json_writer *w, int64_t x)
{
    if (!before_value(w))
        return;
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", (long long)x);
    puts_(w, tmp);
    after_value(w);
}

void ck_json_write_bool(ck_json_writer *w, int b)
{
    if (!before_value(w))
        return;
    puts_(w, b ? "true" : "false");
    after_value(w);
}

void ck_json_write_null(ck_json_writer *w)
{
    if (!before_value(w))
        return;
    puts_(w, "null");
    after_value(w);
}

void ck_json_write_value(ck_json_writer *w, const ck_json *v)
{
    if (!w)
        return;
    switch (ck_json_type_of(v)) {
    case CK_JSON_NULL: ck_json_write_null(w); break;
    case CK_JSON_TRUE: ck_json_write_bool(w, 1); break;
    case CK_JSON_FALSE: ck_json_write_bool(w, 0); break;
    case CK_JSON_NUMBER:
        /* Keep the original text: it is valid JSON and exact. */
        if (before_value(w)) {
            puts_(w, ck_json_number_text(v));
            after_value(w);
        }
        break;
    case CK_JSON_STRING: ck_json_write_string_n(w, ck_json_string(v), ck_json_string_len(v)); break;
    case CK_JSON_ARRAY:
        ck_json_begin_array(w);
        for (int k = 0; k < ck_json_size(v); k++)
            ck_json_write_value(w, ck_json_at(v, k));
        ck_json_end_array(w);
        break;
    case CK_JSON_OBJECT:
        ck_json_begin_object(w);
        for (int k = 0; k < ck_json_size(v); k++) {
            /* Keys with \u0000 need the explicit length. */
            frame *f = w->depth ? &w->stack[w->depth - 1] : NULL;
            if (!w->err && f) {
                if (f->count)
                    put(w, ",", 1);
                newline(w);
                put_escaped(w, ck_json_key_at(v, k), ck_json_key_len_at(v, k));
                put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
                f->have_key = 1;
            }
            ck_json_write_value(w, ck_json_at(v, k));
        }
        ck_json_end_object(w);
        break;
    }
}

void ck_json_kv_string(ck_json_writer *w, const char *key, const char *s)
{
    ck_json_key(w, key);
    ck_json_write_string(w, s);
}

void ck_json_kv_number(ck_json_writer *w, const char *key, double x)
{
    ck_json_key(w, key);
    ck_json_write_number(w, x);
}

void ck_json_kv_int(ck_json_writer *w, const char *key, int64_t x)
{
    ck_json_key(w, key);
    ck_json_write_int(w, x);
}

void ck_json_kv_bool(ck_json_writer *w, const char *key, int b)
{
    ck_json_key(w, key);
    ck_json_write_bool(w, b);
}

const char *ck_json_writer_text(ck_json_writer *w, size_t *len)
{
    if (!w)
        return NULL;
    const char *why = w->err;
    if (!why && w->depth)
        why = "unclosed object or array";
    if (!why && !w->done)
        why = "nothing written";
    if (why) {
        ck_error("json", "writer: %s", why);
        return NULL;
    }
    if (len)
        *len = w->len;
    return w->buf;
}

char *ck_json_writer_take(ck_json_writer *w)
{
    size_t n;
    const char *t = ck_json_writer_text(w, &n);
    if (!t)
        return NULL;
    char *c = malloc(n + 1);
    if (!c) {
        ck_error("json", "out of memory");
        return NULL;
    }
    memcpy(c, t, n + 1);
    return c;
}

char *ck_json_dump(const ck_json *v, int pretty)
{
    ck_json_writer *w = ck_json_writer_new(pretty);
    if (!w)
        return NULL;
    ck_json_write_value(w, v);
    char *s = ck_json_writer_take(w);
    ck_json_writer_free(w);
    return s;
}
