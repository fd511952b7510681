/* Manifests: column roles, building, writing (the text itself is read by
 * table_read.c). The rules are documented in ck/table.h and docs/tables.md. */
#include "table_internal.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const file_names[] = {
    "file_name", "file", "filename", "fname", "image", "image_name", "image_id",
    "img", "id", "path", "filepath", "file_path", "image_path", NULL};
static const char *const label_names[] = {
    "label_id", "label", "labels", "class", "class_id", "class_name", "category",
    "category_id", "target", "y", "label_name", NULL};
/* Both lists: any of these in the first row makes it a header. */
const char *const ck__known_columns[] = {
    "file_name", "file", "filename", "fname", "image", "image_name", "image_id",
    "img", "id", "path", "filepath", "file_path", "image_path",
    "label_id", "label", "labels", "class", "class_id", "class_name", "category",
    "category_id", "target", "y", "label_name", NULL};

int ck__name_in(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcasecmp(s, list[i]) == 0)
            return i;
    return -1;
}

int ck_text_is_number(const char *s)
{
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    return *end == '\0' && end != s && isfinite(v);
}

int ck_text_is_integer(const char *s)
{
    if (!s)
        return 0;
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* ---- building ---------------------------------------------------------- */

ck_manifest *ck__manifest_alloc(const char *path, int ncols)
{
    ck_manifest *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        ck_error("table", "out of memory");
        return NULL;
    }
    m->ncols = ncols;
    m->file_col = 0;
    m->label_col = ncols >= 2 ? 1 : -1;
    m->sep = '\t';
    return m;
}

int ck__manifest_push(ck_manifest *m, const char *const *fields, int line)
{
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 256;
        char **cells = realloc(m->cells, (size_t)cap * (size_t)m->ncols * sizeof *cells);
        if (cells)
            m->cells = cells;
        int *lines = realloc(m->lines, (size_t)cap * sizeof *lines);
        if (lines)
            m->lines = lines;
        if (!cells || !lines) {
            ck_error("table", "%s: out of memory", m->path);
            return -1;
        }
        m->cap = cap;
    }
    char **row = m->cells + (size_t)m->n * (size_t)m->ncols;
    for (int j = 0; j < m->ncols; j++) {
        row[j] = fields[j] ? strdup(fields[j]) : NULL;
        if (fields[j] && !row[j]) {
            while (j--)
                free(row[j]);
            ck_error("table", "%s: out of memory", m->path);
            return -1;
        }
    }
    m->lines[m->n++] = line;
    return 0;
}

static void where(const ck_manifest *m, int i, char *buf, size_t n)
{
    if (m->lines[i] > 0)
        snprintf(buf, n, "%s:%d", m->path, m->lines[i]);
    else
        snprintf(buf, n, "%s: row %d", m->path, i + 1);
}

int ck__manifest_index_files(ck_manifest *m)
{
    ck_strmap_clear(&m->files);
    for (int i = 0; i < m->n; i++) {
        const char *f = ck_manifest_file(m, i);
        char at[1200];
        if (!f || !*f) {
            where(m, i, at, sizeof at);
            ck_error("table", "%s: empty file name", at);
            return -1;
        }
        int prev = ck_strmap_put(&m->files, f, i);
        if (prev == -2) {
            ck_error("table", "%s: out of memory", m->path);
            return -1;
        }
        if (prev >= 0) {
            where(m, i, at, sizeof at);
            if (m->lines[prev] > 0)
                ck_error("table", "%s: duplicate file name '%s' (first on line %d)", at, f, m->lines[prev]);
            else
                ck_error("table", "%s: duplicate file name '%s'", at, f);
            return -1;
        }
    }
    return 0;
}

int ck__pick_column(const ck_manifest *m, const char *want)
{
    if (m->header)
        for (int j = 0; j < m->ncols; j++)
            if (strcasecmp(m->header[j], want) == 0)
                return j;
    if (ck_text_is_integer(want) && want[0] != '-' && want[0] != '+') {
        long j = strtol(want, NULL, 10);
        if (j < m->ncols)
            return (int)j;
    }
    char cols[512] = "";
    size_t k = 0;
    if (m->header) {
        for (int j = 0; j < m->ncols && k + 4 < sizeof cols; j++)
            k += (size_t)snprintf(cols + k, sizeof cols - k, "%s%s", j ? ", " : "", m->header[j]);
    } else {
        snprintf(cols, sizeof cols, "no header; %d column%s, numbered from 0", m->ncols,
                 m->ncols == 1 ? "" : "s");
    }
    ck_error("table", "%s: unknown column '%s' (columns: %s)", m->path, want, cols);
    return -1;
}

static int auto_columns(ck_manifest *m)
{
    if (!m->header) {
        m->file_col = 0;
        m->label_col = m->ncols == 2 ? 1 : -1;
        return 0;
    }
    int f = -1, l = -1;
    for (int j = 0; j < m->ncols && f < 0; j++)
        if (ck__name_in(m->header[j], file_names) >= 0)
            f = j;
    for (int j = 0; j < m->ncols && l < 0; j++)
        if (ck__name_in(m->header[j], label_names) >= 0)
            l = j;
    if (f < 0)
        f = l == 0 ? 1 : 0;
    if (l < 0 && m->ncols == 2)
        l = 1 - f;
    if (f >= m->ncols) {
        ck_error("table", "%s: no file column in the header", m->path);
        return -1;
    }
    m->file_col = f;
    m->label_col = l;
    return 0;
}

static int set_names(ck_manifest *m)
{
    free(m->file_name);
    free(m->label_name);
    m->file_name = strdup(m->header ? m->header[m->file_col] : "file_name");
    m->label_name = m->label_col < 0 ? NULL : strdup(m->header ? m->header[m->label_col] : "label_id");
    if (!m->file_name || (m->label_col >= 0 && !m->label_name)) {
        ck_error("table", "out of memory");
        return -1;
    }
    return 0;
}

ck_manifest *ck_manifest_read_columns(const char *path, const char *file_col, const char *label_col)
{
    ck_manifest *m = ck__table_parse(path, ck__known_columns, 1);
    if (!m)
        return NULL;
    if (auto_columns(m) < 0)
        goto fail;
    if (file_col && (m->file_col = ck__pick_column(m, file_col)) < 0)
        goto fail;
    if (label_col) {
        if (!*label_col)
            m->label_col = -1;
        else if ((m->label_col = ck__pick_column(m, label_col)) < 0)
            goto fail;
    }
    if (m->label_col == m->file_col)
        m->label_col = -1;
    if (set_names(m) < 0 || ck__manifest_index_files(m) < 0)
        goto fail;
    return m;
fail:
    ck_manifest_free(m);
    return NULL;
}

ck_manifest *ck_manifest_read(const char *path)
{
    return ck_manifest_read_columns(path, NULL, NULL);
}

ck_manifest *ck_manifest_new(void)
{
    ck_manifest *m = ck__manifest_alloc("(memory)", 2);
    if (!m)
        return NULL;
    m->has_header = 1;
    if (set_names(m) < 0) {
        ck_manifest_free(m);
        return NULL;
    }
    return m;
}

int ck_manifest_add(ck_manifest *m, const char *file, const char *label)
{
    if (!m || !file || !*file) {
        ck_error("table", "%s: empty file name", m ? m->path : "(null)");
        return -1;
    }
    if (label && m->label_col < 0) {
        ck_error("table", "%s: cannot add a label: the table has no label column", m->path);
        return -1;
    }
    int prev = ck_strmap_get(&m->files, file);
    if (prev >= 0) {
        ck_error("table", "%s: duplicate file name '%s'", m->path, file);
        return -1;
    }
    const char **fields = calloc((size_t)m->ncols, sizeof *fields);
    if (!fields) {
        ck_error("table", "out of memory");
        return -1;
    }
    fields[m->file_col] = file;
    if (m->label_col >= 0)
        fields[m->label_col] = label;
    /* Wide tables: other columns stay NULL (written as nothing). */
    int rc = ck__manifest_push(m, fields, 0);
    free(fields);
    if (rc < 0)
        return -1;
    /* Re-inserting every key would be quadratic; only the new one. Keys point
     * into the cells, which never move (cells is an array of pointers). */
    if (ck_strmap_put(&m->files, ck_manifest_file(m, m->n - 1), m->n - 1) == -2) {
        ck_error("table", "out of memory");
        return -1;
    }
    return 0;
}

/* ---- access ------------------------------------------------------------ */

int ck_manifest_count(const ck_manifest *m) { return m ? m->n : 0; }

const char *ck_manifest_field(const ck_manifest *m, int i, int col)
{
    if (!m || i < 0 || i >= m->n || col < 0 || col >= m->ncols)
        return NULL;
    return m->cells[(size_t)i * (size_t)m->ncols + (size_t)col];
}

const char *ck_manifest_file(const ck_manifest *m, int i) { return m ? ck_manifest_field(m, i, m->file_col) : NULL; }

const char *ck_manifest_label(const ck_manifest *m, int i)
{
    return m && m->label_col >= 0 ? ck_manifest_field(m, i, m->label_col) : NULL;
}

int ck_manifest_line(const ck_manifest *m, int i) { return m && i >= 0 && i < m->n ? m->lines[i] : 0; }
const char *ck_manifest_path(const ck_manifest *m) { return m ? m->path : NULL; }
int ck_manifest_columns(const ck_manifest *m) { return m ? m->ncols : 0; }

int ck_manifest_label_index(const ck_manifest *m) { return m ? m->label_col : -1; }
char ck_manifest_sep(const ck_manifest *m) { return m ? m->sep : '\t'; }
int ck_manifest_has_header(const ck_manifest *m) { return m ? m->has_header : 0; }
const char *ck_manifest_file_column(const ck_manifest *m) { return m ? m->file_name : NULL; }
const char *ck_manifest_label_column(const ck_manifest *m) { return m ? m->label_name : NULL; }

int ck_manifest_find(const ck_manifest *m, const char *file)
{
    return m && file ? ck_strmap_get(&m->files, file) : -1;
}

int ck_manifest_set_style(ck_manifest *m, char sep, int header, const char *file_col, const char *label_col)
{
    if (!m)
        return -1;
    if (sep != '\t' && sep != ',') {
        ck_error("table", "separator must be tab or comma");
        return -1;
    }
    char *f = file_col ? strdup(file_col) : NULL;
    char *l = label_col ? strdup(label_col) : NULL;
    if ((file_col && !f) || (label_col && !l)) {
        free(f);
        free(l);
        ck_error("table", "out of memory");
        return -1;
    }
    m->sep = sep;
    m->has_header = header ? 1 : 0;
    if (f) {
        free(m->file_name);
        m->file_name = f;
    }
    if (l) {
        free(m->label_name);
        m->label_name = l;
    }
    return 0;
}

/* ---- writing ----------------------------------------------------------- */

/* Labels are written when the table has a label column and at least one
 * row has a label (a manifest built from file names only stays one column). */
static int writes_labels(const ck_manifest *m)
{
    if (m->label_col < 0)
        return 0;
    if (m->n == 0)
        return 1;
    for (int i = 0; i < m->n; i++)
        if (ck_manifest_label(m, i))
            return 1;
    return 0;
}

int ck_manifest_write(const ck_manifest *m, FILE *out)
{
    if (!m || !out)
        return -1;
    int lab = writes_labels(m);
    if (m->has_header) {
        ck_text_put_field(out, m->file_name, m->sep);
        if (lab) {
            fputc(m->sep, out);
            ck_text_put_field(out, m->label_name ? m->label_name : "label_id", m->sep);
        }
        fputc('\n', out);
    }
    for (int i = 0; i < m->n; i++) {
        ck_text_put_field(out, ck_manifest_file(m, i), m->sep);
        if (lab) {
            fputc(m->sep, out);
            ck_text_put_field(out, ck_manifest_label(m, i), m->sep);
        }
        fputc('\n', out);
    }
    if (ferror(out)) {
        ck_error_system(errno, "table", "write error");
        return -1;
    }
    return 0;
}

int ck_manifest_save(const ck_manifest *m, const char *path)
{
    if (!m)
        return -1;
    ck_atomic_file *f = ck_atomic_open(path, CK_OUT_STDOUT);
    if (!f)
        return -1;
    if (ck_manifest_write(m, ck_atomic_stream(f)) < 0) {
        ck_atomic_abort(f);
        ck_error("table", "cannot write %s", path);
        return -1;
    }
    return ck_atomic_commit(f);
}

ck_manifest *ck_manifest_subset(const ck_manifest *m, const int *idx, int n)
{
    if (!m)
        return NULL;
    ck_manifest *s = ck__manifest_alloc(m->path, m->ncols);
    if (!s)
        return NULL;
    s->file_col = m->file_col;
    s->label_col = m->label_col;
    s->sep = m->sep;
    s->has_header = m->has_header;
    if (m->header) {
        s->header = calloc((size_t)m->ncols, sizeof *s->header);
        if (!s->header)
            goto oom;
        for (int j = 0; j < m->ncols; j++)
            if (!(s->header[j] = strdup(m->header[j])))
                goto oom;
    }
    s->file_name = m->file_name ? strdup(m->file_name) : NULL;
    s->label_name = m->label_name ? strdup(m->label_name) : NULL;
    for (int k = 0; k < n; k++) {
        if (idx[k] < 0 || idx[k] >= m->n) {
            ck_error("table", "%s: row %d out of range", m->path, idx[k]);
            ck_manifest_free(s);
            return NULL;
        }
        if (ck__manifest_push(s, (const char *const *)m->cells + (size_t)idx[k] * (size_t)m->ncols,
                              m->lines[idx[k]]) < 0) {
            ck_manifest_free(s);
            return NULL;
        }
    }
    if (ck__manifest_index_files(s) < 0) {
        ck_manifest_free(s);
        return NULL;
    }
    return s;
oom:
    ck_error("table", "out of memory");
    ck_manifest_free(s);
    return NULL;
}

void ck_manifest_free(ck_manifest *m)
{
    if (!m)
        return;
    for (size_t k = 0; k < (size_t)m->n * (size_t)m->ncols; k++)
        free(m->cells[k]);
    if (m->header)
        for (int j = 0; j < m->ncols; j++)
            free(m->header[j]);
    free(m->header);
    free(m->cells);
    free(m->lines);
    free(m->path);
    free(m->file_name);
    free(m->label_name);
    ck_strmap_clear(&m->files);
    free(m);
}
