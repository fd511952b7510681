/* Strict JSON parser (RFC 8259) into a small tree; see ck/json.h. */
#define _GNU_SOURCE
#include "ck/json.h"
#include "ck/error.h"
#include "json_internal.h"

#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ck_json {
    ck_json_type type;
    double num;
    char *str;     /* string value, or a number's original text */
    size_t len;    /* length of str */
    int n;         /* members / elements */
    int cap;
    ck_json **items;
    char **keys;   /* objects only */
    size_t *klen;
};

/* strtod must not depend on the program's LC_NUMERIC (libvips/GLib tools
 * may call setlocale), so numbers are converted in the "C" locale. */
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;
static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}
double ck_json_strtod(const char *s, char **end)
{
    pthread_once(&c_locale_once, make_c_locale);
    if (c_locale)
        return strtod_l(s, end, c_locale);
    return strtod(s, end);
}

typedef struct parser {
    const unsigned char *s;
    size_t n, i;
    const char *what;
    int failed;
} parser;

static void fail(parser *p, const char *msg)
{
    if (p->failed)
        return;
    p->failed = 1;
    size_t line = 1, col = 1;
    for (size_t k = 0; k < p->i && k < p->n; k++) {
        if (p->s[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    ck_error("json", "%s: %s at byte %zu (line %zu, column %zu)", p->what ? p->what : "<json>", msg,
             p->i, line, col);
}

static void node_free(ck_json *v)
{
    if (!v)
        return;
    for (int k = 0; k < v->n; k++) {
        node_free(v->items[k]);
        if (v->keys)
            free(v->keys[k]);
    }
    free(v->items);
    free(v->keys);
    free(v->klen);
    free(v->str);
    free(v);
}

void ck_json_free(ck_json *root)
{
    node_free(root);
}

static ck_json *node_new(parser *p, ck_json_type t)
{
    ck_json *v = calloc(1, sizeof *v);
    if (!v)
        fail(p, "out of memory");
    else
        v->type = t;
    return v;
}

static void skip_ws(parser *p)
{
    while (p->i < p->n) {
        unsigned char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->i++;
    }
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid. */
size_t ck_utf8_valid_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned min;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2; cp = c & 0x1F; min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3; cp = c & 0x0F; min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4; cp = c & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int ck_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = ck_utf8_valid_seq(u + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

static int hex4(parser *p, unsigned *out)
{
    if (p->n - p->i < 4) {
        fail(p, "truncated \\u escape");
        return -1;
    }
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        unsigned char c = p->s[p->i + k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else {
            fail(p, "bad hex digit in \\u escape");
            return -1;
        }
    }
    p->i += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At the opening quote. Decoded bytes never outnumber the source bytes, so
 * the output is allocated at the source length. */
static char *parse_string(parser *p, size_t *len_out)
{
    p->i++; /* quote */
    size_t start = p->i, end = start;
    while (end < p->n && p->s[end] != '"') {
        if (p->s[end] == '\\')
            end++;
        end++;
    }
    if (end >= p->n) {
        fail(p, "unterminated string");
        return NULL;
    }
    char *out = malloc(end - start + 1);
    if (!out) {
        fail(p, "out of memory");
        return NULL;
    }
    size_t o = 0;
    while (p->s[p->i] != '"') {
        unsigned char c = p->s[p->i];
        if (c < 0x20) {
            fail(p, "control character in string");
            goto bad;
        }
        if (c != '\\') {
            size_t k = ck_utf8_valid_seq(p->s + p->i, p->n - p->i);
            if (!k) {
                fail(p, "invalid UTF-8 in string");
                goto bad;
            }
            memcpy(out + o, p->s + p->i, k);
            o += k;
            p->i += k;
            continue;
        }
        p->i++;
        c = p->s[p->i++];
        switch (c) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '/': out[o++] = '/'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (hex4(p, &cp) < 0)
                goto bad;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail(p, "unpaired low surrogate in \\u escape");
                goto bad;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') {
                    fail(p, "unpaired high surrogate in \\u escape");
                    goto bad;
                }
                p->i += 2;
                if (hex4(p, &lo) < 0)
                    goto bad;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail(p, "unpaired high surrogate in \\u escape");
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += put_utf8(out + o, cp);
            break;
        }
        default:
            p->i--;
            fail(p, "bad escape in string");
            goto bad;
        }
    }
    p->i++; /* closing quote */
    out[o] = '\0';
    *len_out = o;
    return out;
bad:
    free(out);
    return NULL;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static ck_json *parse_number(parser *p)
{
    size_t start = p->i;
    if (p->i < p->n && p->s[p->i] == '-')
        p->i++;
    if (p->i >= p->n || !is_digit(p->s[p->i])) {
        fail(p, "bad number");
        return NULL;
    }
    if (p->s[p->i] == '0') {
        p->i++;
        if (p->i < p->n && is_digit(p->s[p->i])) {
            fail(p, "leading zero in number");
            return NULL;
        }
    } else {
        while (p->i < p->n && is_digit(p->s[p->i]))
            p->i++;
    }
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        if (p->i >= p->n || !is_digit(p->s[p->i])) {
            fail(p, "digit expected after decimal point");
            return NULL;
        }
        while (p->i < p->n && is_digit(p->s[p->i]))
            p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (p->i >= p->n || !is_digit(p->s[p->i])) {
            fail(p, "digit expected in exponent");
            return NULL;
        }
        while (p->i < p->n && is_digit(p->s[p->i]))
            p->i++;
    }
    ck_json *v = node_new(p, CK_JSON_NUMBER);
    if (!v)
        return NULL;
    v->len = p->i - start;
    v->str = malloc(v->len + 1);
    if (!v->str) {
        free(v);
        fail(p, "out of memory");
        return NULL;
    }
    memcpy(v->str, p->s + start, v->len);
    v->str[v->len] = '\0';
    v->num = ck_json_strtod(v->str, NULL);
    return v;
}

static int literal(parser *p, const char *word)
{
    size_t k = strlen(word);
    if (p->n - p->i < k || memcmp(p->s + p->i, word, k) != 0)
        return 0;
    p->i += k;
    return 1;
}

static int push(parser *p, ck_json *v, ck_json *item, char *key, size_t klen)
{
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 4;
        ck_json **items = realloc(v->items, (size_t)cap * sizeof *items);
        if (items)
            v->items = items;
        int ok = items != NULL;
        if (ok && v->type == CK_JSON_OBJECT) {
            char **keys = realloc(v->keys, (size_t)cap * sizeof *keys);
            if (keys)
                v->keys = keys;
            size_t *kl = realloc(v->klen, (size_t)cap * sizeof *kl);
            if (kl)
                v->klen = kl;
            ok = keys && kl;
        }
        if (!ok) {
            fail(p, "out of memory");
            return -1;
        }
        v->cap = cap;
    }
    v->items[v->n] = item;
    if (v->type == CK_JSON_OBJECT) {
        v->keys[v->n] = key;
        v->klen[v->n] = klen;
    }
    v->n++;
    return 0;
}

static int key_cmp_ctx(const void *a, const void *b, void *ctx)
{
    const ck_json *o = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    size_t m = o->klen[i] < o->klen[j] ? o->klen[i] : o->klen[j];
    int c = memcmp(o->keys[i], o->keys[j], m);
    if (c)
        return c;
    return (o->klen[i] > o->klen[j]) - (o->klen[i] < o->klen[j]);
}

/* Index of a duplicated key, or -1. Sorting keeps big headers O(n log n). */
static int find_duplicate(ck_json *o)
{
    if (o->n < 2)
        return -1;
    int *idx = malloc((size_t)o->n * sizeof *idx);
    if (!idx)
        return -2;
    for (int k = 0; k < o->n; k++)
        idx[k] = k;
    qsort_r(idx, (size_t)o->n, sizeof *idx, key_cmp_ctx, o);
    int dup = -1;
    for (int k = 1; k < o->n && dup < 0; k++)
        if (key_cmp_ctx(&idx[k - 1], &idx[k], o) == 0)
            dup = idx[k] > idx[k - 1] ? idx[k] : idx[k - 1];
    free(idx);
    return dup;
}

static ck_json *parse_value(parser *p, int depth);

static ck_json *parse_container(parser *p, int depth, int is_object)
{
    if (depth >= CK_JSON_MAX_DEPTH) {
        fail(p, "nesting too deep");
        return NULL;
    }
    unsigned char close = is_object ? '}' : ']';
    p->i++;
    ck_json *v = node_new(p, is_object ? CK_JSON_OBJECT : CK_JSON_ARRAY);
    if (!v)
        return NULL;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        size_t klen = 0;
        skip_ws(p);
        if (is_object) {
            if (p->i >= p->n || p->s[p->i] != '"') {
                fail(p, "object key (a string) expected");
                goto bad;
            }
            key = parse_string(p, &klen);
            if (!key)
                goto bad;
            /* Keys are looked up as C strings (ck_json_get). */
            if (memchr(key, 0, klen)) {
                free(key);
                fail(p, "object key with a NUL character (\\u0000)");
                goto bad;
            }
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') {
                free(key);
                fail(p, "':' expected after object key");
                goto bad;
            }
            p->i++;
        }
        ck_json *item = parse_value(p, depth + 1);
        if (!item || push(p, v, item, key, klen) < 0) {
            free(key);
            node_free(item);
            goto bad;
        }
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            break;
        }
        fail(p, is_object ? "',' or '}' expected" : "',' or ']' expected");
        goto bad;
    }
    if (is_object) {
        int dup = find_duplicate(v);
        if (dup == -2) {
            fail(p, "out of memory");
            goto bad;
        }
        if (dup >= 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "duplicate key \"%.120s\" in object", v->keys[dup]);
            p->i--; /* point at the object's end */
            fail(p, msg);
            goto bad;
        }
    }
    return v;
bad:
    node_free(v);
    return NULL;
}

static ck_json *parse_value(parser *p, int depth)
{
    skip_ws(p);
    if (p->i >= p->n) {
        fail(p, "unexpected end of input");
        return NULL;
    }
    unsigned char c = p->s[p->i];
    if (c == '{' || c == '[')
        return parse_container(p, depth, c == '{');
    if (c == '"') {
        size_t len;
        char *s = parse_string(p, &len);
        if (!s)
            return NULL;
        ck_json *v = node_new(p, CK_JSON_STRING);
        if (!v) {
            free(s);
            return NULL;
        }
        v->str = s;
        v->len = len;
        return v;
    }
    if (c == '-' || is_digit(c))
        return parse_number(p);
    if (literal(p, "true"))
        return node_new(p, CK_JSON_TRUE);
    if (literal(p, "false"))
        return node_new(p, CK_JSON_FALSE);
    if (literal(p, "null"))
        return node_new(p, CK_JSON_NULL);
    fail(p, "unexpected character");
    return NULL;
}

ck_json *ck_json_parse(const char *text, size_t len, const char *what)
{
    parser p = {(const unsigned char *)text, len, 0, what, 0};
    if (!text) {
        fail(&p, "no input");
        return NULL;
    }
    ck_json *v = parse_value(&p, 0);
    if (!v)
        return NULL;
    skip_ws(&p);
    if (p.i != p.n) {
        fail(&p, "trailing characters after the JSON value");
        node_free(v);
        return NULL;
    }
    return v;
}

/* ---- accessors ---- */

ck_json_type ck_json_type_of(const ck_json *v)
{
    return v ? v->type : CK_JSON_NULL;
}

int ck_json_is_null(const ck_json *v)
{
    return v && v->type == CK_JSON_NULL;
}

const ck_json *ck_json_get(const ck_json *obj, const char *key)
{
    if (!obj || obj->type != CK_JSON_OBJECT || !key)
        return NULL;
    size_t kl = strlen(key);
    for (int k = 0; k < obj->n; k++)
        if (obj->klen[k] == kl && memcmp(obj->keys[k], key, kl) == 0)
            return obj->items[k];
    return NULL;
}

int ck_json_size(const ck_json *v)
{
    return v && (v->type == CK_JSON_ARRAY || v->type == CK_JSON_OBJECT) ? v->n : 0;
}

const ck_json *ck_json_at(const ck_json *v, int i)
{
    if (!v || (v->type != CK_JSON_ARRAY && v->type != CK_JSON_OBJECT) || i < 0 || i >= v->n)
        return NULL;
    return v->items[i];
}

const char *ck_json_key_at(const ck_json *obj, int i)
{
    if (!obj || obj->type != CK_JSON_OBJECT || i < 0 || i >= obj->n)
        return NULL;
    return obj->keys[i];
}

size_t ck_json_key_len_at(const ck_json *obj, int i)
{
    if (!obj || obj->type != CK_JSON_OBJECT || i < 0 || i >= obj->n)
        return 0;
    return obj->klen[i];
}

double ck_json_number(const ck_json *v, double fallback)
{
    return v && v->type == CK_JSON_NUMBER ? v->num : fallback;
}

const char *ck_json_number_text(const ck_json *v)
{
    return v && v->type == CK_JSON_NUMBER ? v->str : NULL;
}

/* Exact: digits × 10^scale must be an integer that fits, judged on the text
 * (a double cannot represent every int64). */
int ck_json_int64(const ck_json *v, int64_t *out)
{
    if (!v || v->type != CK_JSON_NUMBER)
        return 0;
    const char *s = v->str;
    int neg = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    char digits[40];
    int nd = 0;
    long scale = 0;
    int overflow = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (nd == 0 && *s == '0')
            continue;
        if (nd < 39)
            digits[nd++] = *s;
        else
            overflow = 1;
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++) {
            if (nd == 0 && *s == '0') {
                scale--;
                continue;
            }
            if (nd < 39) {
                digits[nd++] = *s;
                scale--;
            } else if (*s != '0') {
                return 0; /* fractional digits beyond what int64 can hold */
            }
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        int eneg = *s == '-';
        if (*s == '+' || *s == '-')
            s++;
        long e = 0;
        for (; *s >= '0' && *s <= '9'; s++)
            if (e < 100000)
                e = e * 10 + (*s - '0');
        scale += eneg ? -e : e;
    }
    if (overflow)
        return 0;
    if (nd == 0) {
        *out = 0;
        return 1;
    }
    /* Drop trailing zeros while the scale is negative. */
    while (scale < 0 && nd > 0 && digits[nd - 1] == '0') {
        nd--;
        scale++;
    }
    if (scale < 0)
        return 0;
    if (nd + scale > 19)
        return 0;
    uint64_t u = 0;
    for (int k = 0; k < nd; k++)
        u = u * 10 + (uint64_t)(digits[k] - '0');
    for (long k = 0; k < scale; k++)
        u *= 10;
    if (!neg && u > (uint64_t)INT64_MAX)
        return 0;
    if (neg && u > (uint64_t)INT64_MAX + 1)
        return 0;
    *out = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 1;
}

const char *ck_json_string(const ck_json *v)
{
    return v && v->type == CK_JSON_STRING ? v->str : NULL;
}

size_t ck_json_string_len(const ck_json *v)
{
    return v && v->type == CK_JSON_STRING ? v->len : 0;
}

int ck_json_bool(const ck_json *v, int fallback)
{
    if (v && v->type == CK_JSON_TRUE)
        return 1;
    if (v && v->type == CK_JSON_FALSE)
        return 0;
    return fallback;
}
