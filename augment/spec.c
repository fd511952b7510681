/* Spec strings: parse, canonical form, copy (grammar in ck/augment.h). */
#include "aug_internal.h"

#include "ck/error.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_defaults(ck_aug_spec *s)
{
    memset(s, 0, sizeof *s);
    s->crop_smin = s->crop_smax = 1.0;
    s->crop_rmin = CK_CROP_RMIN;
    s->crop_rmax = CK_CROP_RMAX;
    s->erase_smin = CK_ERASE_SMIN;
    s->erase_smax = CK_ERASE_SMAX;
    s->erase_rmin = CK_ERASE_RMIN;
    s->erase_rmax = CK_ERASE_RMAX;
    s->erase_fill = CK_ERASE_MEAN;
    s->fill = CK_FILL_NEAREST;
}

/* Split `v` on ':' into at most `max` finite numbers; returns the count or
 * -1 when a field is not a number. */
static int parse_numbers(const char *v, double *out, int max)
{
    int n = 0;
    const char *p = v;
    for (;;) {
        if (n == max)
            return -1;
        char *end;
        if (!*p || isspace((unsigned char)*p))
            return -1;
        double x = strtod(p, &end);
        if (end == p || !isfinite(x))
            return -1;
        out[n++] = x;
        if (*end == '\0')
            return n;
        if (*end != ':')
            return -1;
        p = end + 1;
    }
}

/* "V" or "R:G:B", integers 0..255. */
static int parse_color(const char *v, uint8_t rgb[3])
{
    double x[3];
    int n = parse_numbers(v, x, 3);
    if (n != 1 && n != 3)
        return -1;
    for (int i = 0; i < n; i++)
        if (x[i] < 0 || x[i] > 255 || x[i] != floor(x[i]))
            return -1;
    for (int i = 0; i < 3; i++)
        rgb[i] = (uint8_t)x[n == 1 ? 0 : i];
    return 0;
}

static int parse_flip(const char *v, ck_aug_spec *s)
{
    if (!strcmp(v, "hv") || !strcmp(v, "vh")) {
        s->flip_h = s->flip_v = 0.5;
        return 0;
    }
    double h = 0, v2 = 0;
    char *copy = strdup(v);
    if (!copy)
        return -1;
    int rc = 0;
    char *save = NULL;
    for (char *part = strtok_r(copy, "+", &save); part; part = strtok_r(NULL, "+", &save)) {
        double p = 0.5;
        char axis = part[0];
        if ((axis != 'h' && axis != 'v') || (part[1] && part[1] != ':')) {
            rc = -1;
            break;
        }
        if (part[1] == ':' && (parse_numbers(part + 2, &p, 1) != 1 || p < 0 || p > 1)) {
            rc = -1;
            break;
        }
        if (axis == 'h')
            h = p;
        else
            v2 = p;
    }
    if (!*v || v[strlen(v) - 1] == '+')
        rc = -1;
    free(copy);
    if (rc == 0) {
        s->flip_h = h;
        s->flip_v = v2;
    }
    return rc;
}

static int parse_size(const char *v, ck_aug_spec *s)
{
    char *end;
    long w = strtol(v, &end, 10);
    long h = w;
    if (end == v)
        return -1;
    if (*end == 'x' || *end == 'X') {
        const char *q = end + 1;
        h = strtol(q, &end, 10);
        if (end == q)
            return -1;
    }
    if (*end || w < 1 || h < 1 || w > 65535 || h > 65535)
        return -1;
    s->size_w = (int)w;
    s->size_h = (int)h;
    return 0;
}

/* One KEY=VALUE token; returns NULL or a short reason. */
static const char *parse_token(char *tok, ck_aug_spec *s)
{
    if (!strcmp(tok, "none"))
        return NULL;
    char *eq = strchr(tok, '=');
    if (!eq)
        return "expected KEY=VALUE";
    *eq = '\0';
    char *key = tok, *v = eq + 1;
    for (char *e = eq; e > key && isspace((unsigned char)e[-1]);)
        *--e = '\0';
    while (isspace((unsigned char)*v))
        v++;
    for (char *k = key; *k; k++)
        if (*k == '_')
            *k = '-';
    double x[5];
    int n;
    if (!strcmp(key, "crop")) {
        n = parse_numbers(v, x, 4);
        if (n != 1 && n != 2 && n != 4)
            return "expected crop=SMIN[:SMAX[:RMIN:RMAX]]";
        double smax = n >= 2 ? x[1] : 1.0;
        if (!(x[0] > 0 && x[0] <= smax && smax <= 1))
            return "crop area fractions must satisfy 0 < SMIN <= SMAX <= 1";
        if (n == 4 && !(x[2] > 0 && x[2] <= x[3]))
            return "crop aspect ratios must satisfy 0 < RMIN <= RMAX";
        s->crop = 1;
        s->crop_smin = x[0];
        s->crop_smax = smax;
        s->crop_rmin = n == 4 ? x[2] : CK_CROP_RMIN;
        s->crop_rmax = n == 4 ? x[3] : CK_CROP_RMAX;
    } else if (!strcmp(key, "rotate")) {
        if (parse_numbers(v, x, 1) != 1 || x[0] < 0 || x[0] > 360)
            return "expected rotate=DEGREES (0 to 360)";
        s->rotate = x[0];
    } else if (!strcmp(key, "flip")) {
        if (parse_flip(v, s))
            return "expected flip=h, v, hv or h:P+v:P";
    } else if (!strcmp(key, "shift")) {
        n = parse_numbers(v, x, 2);
        if (n < 1)
            return "expected shift=F[:FY]";
        if (n == 1)
            x[1] = x[0];
        for (int i = 0; i < 2; i++)
            if (x[i] < 0 || (x[i] >= 1 && (x[i] != floor(x[i]) || x[i] > 65535)))
                return "shift is a fraction in [0,1) or a whole number of pixels";
        s->shift = x[0] > 0 || x[1] > 0;
        s->shift_x = x[0];
        s->shift_y = x[1];
    } else if (!strcmp(key, "erase")) {
        n = parse_numbers(v, x, 5);
        if (n != 1 && n != 3 && n != 5)
            return "expected erase=P[:SMIN:SMAX[:RMIN:RMAX]]";
        if (!(x[0] >= 0 && x[0] <= 1))
            return "erase probability must be in [0,1]";
        if (n >= 3 && !(x[1] > 0 && x[1] <= x[2] && x[2] <= 1))
            return "erase area fractions must satisfy 0 < SMIN <= SMAX <= 1";
        if (n == 5 && !(x[3] > 0 && x[3] <= x[4]))
            return "erase aspect ratios must satisfy 0 < RMIN <= RMAX";
        s->erase = x[0];
        s->erase_smin = n >= 3 ? x[1] : CK_ERASE_SMIN;
        s->erase_smax = n >= 3 ? x[2] : CK_ERASE_SMAX;
        s->erase_rmin = n == 5 ? x[3] : CK_ERASE_RMIN;
        s->erase_rmax = n == 5 ? x[4] : CK_ERASE_RMAX;
    } else if (!strcmp(key, "erase-fill")) {
        if (!strcmp(v, "mean"))
            s->erase_fill = CK_ERASE_MEAN;
        else if (!strcmp(v, "noise") || !strcmp(v, "random"))
            s->erase_fill = CK_ERASE_NOISE;
        else if (parse_color(v, s->erase_value) == 0)
            s->erase_fill = CK_ERASE_CONSTANT;
        else
            return "expected erase-fill=mean, noise, V or R:G:B (0-255)";
    } else if (!strcmp(key, "fill")) {
        if (!strcmp(v, "nearest"))
            s->fill = CK_FILL_NEAREST;
        else if (!strcmp(v, "reflect"))
            s->fill = CK_FILL_REFLECT;
        else if (!strcmp(v, "wrap"))
            s->fill = CK_FILL_WRAP;
        else if (!strncmp(v, "constant", 8) && (v[8] == '\0' || v[8] == ':')) {
            s->fill = CK_FILL_CONSTANT;
            memset(s->fill_value, 0, 3);
            if (v[8] == ':' && parse_color(v + 9, s->fill_value))
                return "expected fill=constant:V or constant:R:G:B (0-255)";
        } else
            return "expected fill=nearest, reflect, wrap or constant[:V]";
    } else if (!strcmp(key, "size")) {
        if (parse_size(v, s))
            return "expected size=WxH or size=N (1 to 65535)";
    } else {
        return "unknown key (crop, rotate, flip, shift, erase, erase-fill, fill, size)";
    }
    return NULL;
}

ck_aug_spec *ck_aug_spec_parse(const char *spec)
{
    ck_aug_spec *s = malloc(sizeof *s);
    char *copy = strdup(spec ? spec : "");
    if (!s || !copy) {
        free(s);
        free(copy);
        ck_error("augment", "out of memory");
        return NULL;
    }
    set_defaults(s);
    /* Tokens are split by hand (not strtok) so that empty tokens ("a,,b")
     * are reported rather than silently skipped. */
    char *p = copy;
    int only_blank = 1;
    for (const char *q = copy; *q; q++)
        if (!isspace((unsigned char)*q))
            only_blank = 0;
    while (!only_blank) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *tok = p;
        while (isspace((unsigned char)*tok))
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1]))
            *--end = '\0';
        char shown[128];
        snprintf(shown, sizeof shown, "%s", tok);
        const char *why = *tok ? parse_token(tok, s) : "empty token";
        if (why) {
            ck_error("augment", "bad token '%s' in spec '%s': %s", shown, spec, why);
            free(copy);
            free(s);
            return NULL;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    free(copy);
    return s;
}

void ck_aug_spec_free(ck_aug_spec *s)
{
    free(s);
}

int ck_aug_spec_is_identity(const ck_aug_spec *s)
{
    return !s || (!s->crop && s->rotate == 0 && s->flip_h == 0 && s->flip_v == 0 &&
                  !s->shift && s->erase == 0);
}

int ck_aug_spec_size(const ck_aug_spec *s, int *w, int *h)
{
    if (!s || !s->size_w)
        return 0;
    if (w)
        *w = s->size_w;
    if (h)
        *h = s->size_h;
    return 1;
}

/* Shortest decimal that reads back as the same double (so that the
 * canonical string is both readable and exact). */
static void fmt_num(char *buf, size_t n, double x)
{
    if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(buf, n, "%.0f", x);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

static void fmt_color(char *buf, size_t n, const uint8_t c[3])
{
    if (c[0] == c[1] && c[1] == c[2])
        snprintf(buf, n, "%d", c[0]);
    else
        snprintf(buf, n, "%d:%d:%d", c[0], c[1], c[2]);
}

static void append(char *out, size_t n, const char *fmt, ...) CK_PRINTF(3, 4);
static void append(char *out, size_t n, const char *fmt, ...)
{
    size_t used = strlen(out);
    if (used >= n - 1)
        return;
    if (used)
        out[used++] = ',', out[used] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + used, n - used, fmt, ap);
    va_end(ap);
}

char *ck_aug_spec_to_string(const ck_aug_spec *s)
{
    char out[1024] = "";
    char a[40], b[40], c[40], d[40], e[40];
    ck_aug_spec def;
    set_defaults(&def);
    if (!s)
        s = &def;
    if (s->crop) {
        fmt_num(a, sizeof a, s->crop_smin);
        fmt_num(b, sizeof b, s->crop_smax);
        if (s->crop_rmin == CK_CROP_RMIN && s->crop_rmax == CK_CROP_RMAX) {
            append(out, sizeof out, "crop=%s:%s", a, b);
        } else {
            fmt_num(c, sizeof c, s->crop_rmin);
            fmt_num(d, sizeof d, s->crop_rmax);
            append(out, sizeof out, "crop=%s:%s:%s:%s", a, b, c, d);
        }
    }
    if (s->rotate > 0) {
        fmt_num(a, sizeof a, s->rotate);
        append(out, sizeof out, "rotate=%s", a);
    }
    if (s->flip_h == 0.5 && s->flip_v == 0.5) {
        append(out, sizeof out, "flip=hv");
    } else if (s->flip_h > 0 || s->flip_v > 0) {
        char f[100] = "";
        if (s->flip_h > 0) {
            fmt_num(a, sizeof a, s->flip_h);
            snprintf(f, sizeof f, s->flip_h == 0.5 ? "h" : "h:%s", a);
        }
        if (s->flip_v > 0) {
            fmt_num(a, sizeof a, s->flip_v);
            size_t k = strlen(f);
            snprintf(f + k, sizeof f - k, s->flip_v == 0.5 ? "%sv" : "%sv:%s", k ? "+" : "", a);
        }
        append(out, sizeof out, "flip=%s", f);
    }
    if (s->shift) {
        fmt_num(a, sizeof a, s->shift_x);
        fmt_num(b, sizeof b, s->shift_y);
        if (s->shift_x == s->shift_y)
            append(out, sizeof out, "shift=%s", a);
        else
            append(out, sizeof out, "shift=%s:%s", a, b);
    }
    if (s->erase > 0) {
        fmt_num(a, sizeof a, s->erase);
        fmt_num(b, sizeof b, s->erase_smin);
        fmt_num(c, sizeof c, s->erase_smax);
        fmt_num(d, sizeof d, s->erase_rmin);
        fmt_num(e, sizeof e, s->erase_rmax);
        int def_area = s->erase_smin == CK_ERASE_SMIN && s->erase_smax == CK_ERASE_SMAX;
        int def_ratio = s->erase_rmin == CK_ERASE_RMIN && s->erase_rmax == CK_ERASE_RMAX;
        if (def_area && def_ratio)
            append(out, sizeof out, "erase=%s", a);
        else if (def_ratio)
            append(out, sizeof out, "erase=%s:%s:%s", a, b, c);
        else
            append(out, sizeof out, "erase=%s:%s:%s:%s:%s", a, b, c, d, e);
        if (s->erase_fill == CK_ERASE_NOISE)
            append(out, sizeof out, "erase-fill=noise");
        else if (s->erase_fill == CK_ERASE_CONSTANT) {
            fmt_color(a, sizeof a, s->erase_value);
            append(out, sizeof out, "erase-fill=%s", a);
        }
    }
    if (s->fill == CK_FILL_REFLECT)
        append(out, sizeof out, "fill=reflect");
    else if (s->fill == CK_FILL_WRAP)
        append(out, sizeof out, "fill=wrap");
    else if (s->fill == CK_FILL_CONSTANT) {
        fmt_color(a, sizeof a, s->fill_value);
        append(out, sizeof out, "fill=constant:%s", a);
    }
    if (s->size_w)
        append(out, sizeof out, "size=%dx%d", s->size_w, s->size_h);
    if (!out[0])
        strcpy(out, "none");
    char *r = strdup(out);
    if (!r)
        ck_error("augment", "out of memory");
    return r;
}
