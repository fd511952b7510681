/* The one delimited-text reader (ck_table, libcsv) and the manifest built
 * from it. The rules are documented in ck/table.h and docs/tables.md. */
#include "table_internal.h"

#include "ck/error.h"
#include "ck/fs.h"

#include <csv.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct table_row {
    int line, ncols;
    size_t first; /* index of the row's first cell in t->cells */
} table_row;

struct ck_table {
    char *path; /* as shown in messages */
    char sep;
    int n, cap;
    table_row *rows;
    char **cells;
    size_t ncells, capcells;
};

void ck_table_free(ck_table *t)
{
    if (!t)
        return;
    for (size_t k = 0; k < t->ncells; k++)
        free(t->cells[k]);
    free(t->cells);
    free(t->rows);
    free(t->path);
    free(t);
}

int ck_table_rows(const ck_table *t) { return t ? t->n : 0; }
int ck_table_cols(const ck_table *t, int row) { return t && row >= 0 && row < t->n ? t->rows[row].ncols : 0; }
int ck_table_line(const ck_table *t, int row) { return t && row >= 0 && row < t->n ? t->rows[row].line : 0; }
char ck_table_sep(const ck_table *t) { return t ? t->sep : ','; }
const char *ck_table_path(const ck_table *t) { return t ? t->path : NULL; }

const char *ck_table_cell(const ck_table *t, int row, int col)
{
    if (col < 0 || col >= ck_table_cols(t, row))
        return "";
    return t->cells[t->rows[row].first + (size_t)col];
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct parse_ctx {
    ck_table *t;
    int lenient;
    size_t row_first;  /* first cell of the row in progress */
    int row_line;      /* line where the row in progress began */
    int pending_line;  /* line being fed while no row is in progress */
    long events;       /* fields and rows seen: a line without any is blank */
    int failed;
} parse_ctx;

static int push_row(parse_ctx *c, int line, int ncols)
{
    ck_table *t = c->t;
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 256;
        table_row *r = realloc(t->rows, (size_t)cap * sizeof *r);
        if (!r)
            return -1;
        t->rows = r;
        t->cap = cap;
    }
    t->rows[t->n++] = (table_row){line, ncols, c->row_first};
    return 0;
}

static void oom(parse_ctx *c)
{
    c->failed = 1;
    ck_error("table", "%s: out of memory", c->t->path);
}

static void on_field(void *s, size_t len, void *data)
{
    parse_ctx *c = data;
    ck_table *t = c->t;
    c->events++;
    if (c->failed)
        return;
    if (t->ncells == c->row_first)
        c->row_line = c->pending_line;
    if (t->ncells == t->capcells) {
        size_t cap = t->capcells ? t->capcells * 2 : 1024;
        char **cells = realloc(t->cells, cap * sizeof *cells);
        if (!cells) {
            oom(c);
            return;
        }
        t->cells = cells;
        t->capcells = cap;
    }
    char *f = malloc(len + 1);
    if (!f) {
        oom(c);
        return;
    }
    if (len)
        memcpy(f, s, len);
    f[len] = '\0';
    t->cells[t->ncells++] = f;
}

static void on_row(int term, void *data)
{
    (void)term;
    parse_ctx *c = data;
    ck_table *t = c->t;
    c->events++;
    if (c->failed)
        return;
    int ncols = (int)(t->ncells - c->row_first);
    if (!c->lenient && t->n > 0 && ncols != t->rows[0].ncols) {
        ck_error("table", "%s:%d: expected %d field%s, found %d", t->path, c->row_line, t->rows[0].ncols,
                 t->rows[0].ncols == 1 ? "" : "s", ncols);
        c->failed = 1;
        return;
    }
    if (push_row(c, c->row_line, ncols) < 0) {
        oom(c);
        return;
    }
    c->row_first = t->ncells;
}

/* Why a custom space test: libcsv trims tabs by default, which would eat
 * empty tab-separated fields. */
static int space_only(unsigned char ch) { return ch == ' '; }
static int space_or_tab(unsigned char ch) { return ch == ' ' || ch == '\t'; }

/* Tab if the first non-blank line has one, else comma. */
static char detect_sep(const char *p, const char *end)
{
    for (const char *q = p; q < end;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        const char *eol = nl ? nl : end;
        const char *s = q;
        while (s < eol && isspace((unsigned char)*s))
            s++;
        if (s < eol)
            return memchr(q, '\t', (size_t)(eol - q)) ? '\t' : ',';
        q = eol + 1;
    }
    return ',';
}

/* Tables come from files, stdin or pipes (FIFOs, e.g. a process
 * substitution); a folder or a device would never end or is a mistake. */
static char *read_text(const char *path, const char *shown, size_t *len)
{
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        ck_error("table", "%s: not a regular file (%s)", shown,
                 S_ISDIR(st.st_mode) ? "it is a folder" : "a device or socket");
        return NULL;
    }
    return ck_read_file(path, len);
}

static int parse(parse_ctx *c, const char *p, const char *end)
{
    ck_table *t = c->t;
    struct csv_parser cp;
    if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        ck_error("table", "out of memory");
        return -1;
    }
    csv_set_delim(&cp, (unsigned char)t->sep);
    csv_set_space_func(&cp, t->sep == '\t' ? space_only : space_or_tab);
    int line = 1, bad_line = 0;
    /* Fed one line at a time so rows can be given line numbers. pstate 0 is
     * libcsv's "row not begun": a row starts in the next line fed. */
    while (p < end && !c->failed) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl + 1 : end;
        int fresh = cp.pstate == 0;
        long before = c->events;
        if (fresh)
            c->pending_line = line;
        if (csv_parse(&cp, p, (size_t)(stop - p), on_field, on_row, c) != (size_t)(stop - p)) {
            bad_line = line;
            break;
        }
        if (c->lenient && fresh && cp.pstate == 0 && c->events == before && push_row(c, line, 0) < 0)
            oom(c);
        p = stop;
        line++;
    }
    int unterminated = 0;
    if (!c->failed && !bad_line && csv_fini(&cp, on_field, on_row, c) != 0) {
        bad_line = c->pending_line ? c->pending_line : line;
        unterminated = 1;
    }
    if (bad_line && !c->failed) {
        if (csv_error(&cp) == CSV_ENOMEM)
            oom(c);
        else
            ck_error("table", "%s:%d: malformed quoted field%s", t->path, bad_line,
                     unterminated ? " (no closing quote)" : "");
        c->failed = 1;
    }
    csv_free(&cp);
    return c->failed ? -1 : 0;
}

ck_table *ck_table_parse(const char *text, size_t len, const char *name, char sep, int flags)
{
    if (!name || (!text && len)) {
        ck_error("table", "no text to parse");
        return NULL;
    }
    if (sep && sep != ',' && sep != '\t') {
        ck_error("table", "%s: the separator must be a comma or a tab", name);
        return NULL;
    }
    if (!text)
        text = "";
    if (len && memchr(text, '\0', len)) {
        ck_error("table", "%s: binary file (NUL byte), expected CSV/TSV text", name);
        return NULL;
    }
    ck_table *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(name))) {
        free(t);
        ck_error("table", "out of memory");
        return NULL;
    }
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    t->sep = sep ? sep : detect_sep(p, end);
    parse_ctx c = {.t = t, .lenient = flags & CK_TABLE_LENIENT};
    if (parse(&c, p, end) < 0) {
        ck_table_free(t);
        return NULL;
    }
    return t;
}

ck_table *ck_table_read(const char *path, char sep, int flags)
{
    if (!path) {
        ck_error("table", "no table path");
        return NULL;
    }
    const char *shown = strcmp(path, "-") == 0 ? "(stdin)" : path;
    size_t len;
    char *buf = read_text(path, shown, &len);
    if (!buf)
        return NULL;
    ck_table *t = ck_table_parse(buf, len, shown, sep, flags);
    free(buf);
    return t;
}

/* ---- header ------------------------------------------------------------ */

static int first_row(const ck_table *t)
{
    for (int r = 0; r < t->n; r++)
        if (t->rows[r].ncols)
            return r;
    return -1;
}

/* known: lower-case names that make the first row a header; numeric_col:
 * the column whose text over numbers (in every other row that has it) also
 * does, given at least one such row. */
static int detect_header(const ck_table *t, const char *const *known, int numeric_col)
{
    int r0 = first_row(t);
    if (r0 < 0)
        return 0;
    for (int j = 0; j < t->rows[r0].ncols; j++)
        if (ck__name_in(ck_table_cell(t, r0, j), known) >= 0)
            return 1;
    if (numeric_col >= t->rows[r0].ncols || ck_text_is_number(ck_table_cell(t, r0, numeric_col)))
        return 0;
    int voters = 0;
    for (int r = r0 + 1; r < t->n; r++) {
        if (numeric_col >= t->rows[r].ncols)
            continue;
        if (!ck_text_is_number(ck_table_cell(t, r, numeric_col)))
            return 0;
        voters++;
    }
    return voters > 0;
}

int ck_table_has_header(const ck_table *t)
{
    return t ? detect_header(t, ck__known_columns, 1) : 0;
}

/* ---- manifests --------------------------------------------------------- */

ck_manifest *ck__table_parse(const char *path, const char *const *known, int numeric_col)
{
    ck_table *t = ck_table_read(path, 0, 0);
    if (!t)
        return NULL;
    ck_manifest *m = NULL;
    int header = detect_header(t, known, numeric_col);
    if (t->n == 0)
        ck_error("table", "%s: empty table", t->path);
    else if (header && t->n == 1)
        ck_error("table", "%s: no rows after the header", t->path);
    else
        m = ck__manifest_alloc(t->path, t->rows[0].ncols);
    if (!m) {
        ck_table_free(t);
        return NULL;
    }
    /* Strict rows are all ncols wide: the cells are already the manifest's
     * row-major array, so they are handed over rather than copied. */
    size_t nc = (size_t)m->ncols;
    m->sep = t->sep;
    m->has_header = header;
    m->n = m->cap = t->n - header;
    m->lines = malloc((size_t)m->n * sizeof *m->lines);
    m->header = header ? malloc(nc * sizeof *m->header) : NULL;
    if (!m->lines || (header && !m->header)) {
        ck_error("table", "out of memory");
        m->n = 0;
        ck_manifest_free(m);
        ck_table_free(t);
        return NULL;
    }
    for (int i = 0; i < m->n; i++)
        m->lines[i] = t->rows[i + header].line;
    if (header) {
        memcpy(m->header, t->cells, nc * sizeof *m->header);
        memmove(t->cells, t->cells + nc, (size_t)m->n * nc * sizeof *t->cells);
    }
    m->cells = t->cells;
    t->cells = NULL;
    t->ncells = 0;
    ck_table_free(t);
    return m;
}
