/* CSV/TSV reader that remembers line numbers (see ck/submission.h). */
#include "ck/submission.h"

#include "ck/error.h"
#include "ck/fs.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct row {
    int line;
    int ncols;
    int first; /* index of the first cell in t->cells */
} row;

struct ck_subtable {
    char *path;
    char *text;   /* unescaped cells, NUL-separated */
    char **cells;
    size_t ncells, capcells;
    row *rows;
    int nrows, caprows;
    char sep;
};

static int add_cell(ck_subtable *t, char *s)
{
    if (t->ncells == t->capcells) {
        size_t cap = t->capcells ? 2 * t->capcells : 1024;
        char **c = realloc(t->cells, cap * sizeof *c);
        if (!c)
            return -1;
        t->cells = c;
        t->capcells = cap;
    }
    t->cells[t->ncells++] = s;
    return 0;
}

static int add_row(ck_subtable *t, int line, int first, int ncols)
{
    if (t->nrows == t->caprows) {
        int cap = t->caprows ? 2 * t->caprows : 256;
        row *r = realloc(t->rows, (size_t)cap * sizeof *r);
        if (!r)
            return -1;
        t->rows = r;
        t->caprows = cap;
    }
    t->rows[t->nrows++] = (row){line, ncols, first};
    return 0;
}

static char detect_sep(const char *s)
{
    while (*s == '\n' || *s == '\r')
        s++;
    for (; *s && *s != '\n'; s++)
        if (*s == '\t')
            return '\t';
    return ',';
}

/* Parse in place: unescaped cell text is written over the input (it is
 * never longer), each cell NUL-terminated. */
static int parse(ck_subtable *t)
{
    char *in = t->text, *out = t->text;
    int line = 1;
    if ((unsigned char)in[0] == 0xEF && (unsigned char)in[1] == 0xBB && (unsigned char)in[2] == 0xBF)
        in += 3;
    while (*in) {
        int row_line = line, first = (int)t->ncells, ncols = 0;
        if (*in == '\n' || (*in == '\r' && in[1] == '\n')) {
            in += *in == '\r' ? 2 : 1;
            line++;
            if (add_row(t, row_line, first, 0))
                return -1;
            continue;
        }
        for (;;) {
            char *cell = out;
            if (*in == '"') {
                in++;
                for (;;) {
                    if (!*in) {
                        ck_error("submission", "%s:%d: unterminated quoted cell", t->path, row_line);
                        return -1;
                    }
                    if (*in == '"') {
                        if (in[1] == '"') {
                            *out++ = '"';
                            in += 2;
                            continue;
                        }
                        in++;
                        break;
                    }
                    if (*in == '\n')
                        line++;
                    *out++ = *in++;
                }
            }
            while (*in && *in != t->sep && *in != '\n' && !(*in == '\r' && (in[1] == '\n' || !in[1])))
                *out++ = *in++;
            /* Step over the terminator before writing the NUL: the output
             * may have caught up with the input. */
            char end = *in;
            if (end == t->sep || end == '\n')
                in++;
            else if (end == '\r')
                in += in[1] == '\n' ? 2 : 1;
            *out++ = '\0';
            if (add_cell(t, cell))
                return -1;
            ncols++;
            if (end == t->sep)
                continue;
            if (end)
                line++;
            break;
        }
        if (add_row(t, row_line, first, ncols))
            return -1;
    }
    return 0;
}

ck_subtable *ck_subtable_read(const char *path, char sep)
{
    ck_subtable *t = calloc(1, sizeof *t);
    if (!t) {
        ck_error("submission", "out of memory");
        return NULL;
    }
    t->path = strdup(path);
    size_t n = 0;
    t->text = ck_read_file(path, &n);
    if (!t->path || !t->text) {
        ck_subtable_free(t);
        return NULL;
    }
    if (strlen(t->text) != n) {
        ck_error("submission", "%s: binary file (NUL byte), expected CSV/TSV text", path);
        ck_subtable_free(t);
        return NULL;
    }
    t->sep = sep ? sep : detect_sep(t->text);
    if (parse(t)) {
        if (!*ck_error_buffer())
            ck_error("submission", "%s: out of memory", path);
        ck_subtable_free(t);
        return NULL;
    }
    return t;
}

void ck_subtable_free(ck_subtable *t)
{
    if (!t)
        return;
    free(t->path);
    free(t->text);
    free(t->cells);
    free(t->rows);
    free(t);
}

int ck_subtable_rows(const ck_subtable *t)
{
    return t->nrows;
}

int ck_subtable_cols(const ck_subtable *t, int r)
{
    return r >= 0 && r < t->nrows ? t->rows[r].ncols : 0;
}

const char *ck_subtable_cell(const ck_subtable *t, int r, int c)
{
    if (r < 0 || r >= t->nrows || c < 0 || c >= t->rows[r].ncols)
        return "";
    return t->cells[t->rows[r].first + c];
}

int ck_subtable_line(const ck_subtable *t, int r)
{
    return r >= 0 && r < t->nrows ? t->rows[r].line : 0;
}

char ck_subtable_sep(const ck_subtable *t)
{
    return t->sep;
}

const char *ck_subtable_path(const ck_subtable *t)
{
    return t->path;
}

static int is_number(const char *s)
{
    double d;
    return ck_parse_double(s, &d) == 0;
}

int ck_subtable_has_header(const ck_subtable *t)
{
    int r0 = -1, r1 = -1;
    for (int r = 0; r < t->nrows && r1 < 0; r++) {
        if (!t->rows[r].ncols)
            continue;
        if (r0 < 0)
            r0 = r;
        else
            r1 = r;
    }
    if (r0 < 0)
        return 0;
    int n0 = t->rows[r0].ncols;
    for (int c = 1; c < n0; c++) {
        if (is_number(ck_subtable_cell(t, r0, c)))
            continue;
        if (r1 < 0 || c >= t->rows[r1].ncols || is_number(ck_subtable_cell(t, r1, c)))
            return 1;
    }
    /* A one-column file (a list of ids) or text labels everywhere: a header
     * is recognised by its first cell being a usual id column name. */
    const char *c0 = ck_subtable_cell(t, r0, 0);
    static const char *const names[] = {"file_name", "filename", "file", "id", "image", "image_id", "name", NULL};
    for (int i = 0; names[i]; i++)
        if (strcasecmp(c0, names[i]) == 0)
            return 1;
    return 0;
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
