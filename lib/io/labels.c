/* The class list: label_master.tsv or the distinct labels of a manifest.
 * Ordering rules are in ck/labels.h. */
#include "ck/labels.h"
#include "table_internal.h"

#include "ck/error.h"
#include "ck/fs.h"

#include <stdlib.h>
#include <string.h>

struct ck_labels {
    int n;
    char **ids;
    char **names;
    ck_strmap by_id, by_name;
};

static const char *const id_names[] = {
    "label_id", "id", "class_id", "category_id", "label", "class", "y", "target", NULL};
static const char *const name_names[] = {
    "label_name", "name", "class_name", "category", "category_name", "description", NULL};
/* Both lists: any of these in the first row makes it a header. */
static const char *const known[] = {
    "label_id", "id", "class_id", "category_id", "label", "class", "y", "target",
    "label_name", "name", "class_name", "category", "category_name", "description", NULL};

void ck_labels_free(ck_labels *l)
{
    if (!l)
        return;
    for (int k = 0; k < l->n; k++) {
        free(l->ids[k]);
        free(l->names[k]);
    }
    free(l->ids);
    free(l->names);
    ck_strmap_clear(&l->by_id);
    ck_strmap_clear(&l->by_name);
    free(l);
}

/* Build the lookup maps; duplicates are errors (they would make lookups
 * ambiguous). `src` names the origin in messages. */
static int index_labels(ck_labels *l, const char *src)
{
    for (int k = 0; k < l->n; k++) {
        if (!*l->ids[k]) {
            ck_error("labels", "%s: empty label id", src);
            return -1;
        }
        int prev = ck_strmap_put(&l->by_id, l->ids[k], k);
        if (prev == -2) {
            ck_error("labels", "out of memory");
            return -1;
        }
        if (prev >= 0) {
            ck_error("labels", "%s: duplicate label id '%s'", src, l->ids[k]);
            return -1;
        }
        /* Names equal to their own id (no names given) need no second entry. */
        if (l->names[k] != l->ids[k] && strcmp(l->names[k], l->ids[k]) != 0) {
            prev = ck_strmap_put(&l->by_name, l->names[k], k);
            if (prev >= 0) {
                ck_error("labels", "%s: duplicate label name '%s'", src, l->names[k]);
                return -1;
            }
        }
        if (prev == -2) {
            ck_error("labels", "out of memory");
            return -1;
        }
    }
    return 0;
}

static ck_labels *labels_alloc(int n)
{
    ck_labels *l = calloc(1, sizeof *l);
    if (l) {
        l->ids = calloc((size_t)(n > 0 ? n : 1), sizeof *l->ids);
        l->names = calloc((size_t)(n > 0 ? n : 1), sizeof *l->names);
    }
    if (!l || !l->ids || !l->names) {
        ck_labels_free(l);
        ck_error("labels", "out of memory");
        return NULL;
    }
    return l;
}

ck_labels *ck_labels_new(int n, const char *const *ids, const char *const *names)
{
    if (n <= 0 || !ids) {
        ck_error("labels", "a label list needs at least one class");
        return NULL;
    }
    ck_labels *l = labels_alloc(n);
    if (!l)
        return NULL;
    for (int k = 0; k < n; k++) {
        l->n = k + 1;
        l->ids[k] = strdup(ids[k] ? ids[k] : "");
        l->names[k] = strdup(names && names[k] ? names[k] : l->ids[k] ? l->ids[k] : "");
        if (!l->ids[k] || !l->names[k]) {
            ck_labels_free(l);
            ck_error("labels", "out of memory");
            return NULL;
        }
    }
    if (index_labels(l, "(memory)") < 0) {
        ck_labels_free(l);
        return NULL;
    }
    return l;
}

typedef struct {
    const char *id, *name;
    long long v;
    int row;
} entry;

static int by_value(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    int c = strcmp(x->id, y->id);
    return c ? c : x->row - y->row;
}

static int by_text(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : x->row - y->row;
}

/* Sort numerically when every id is an integer (so "10" follows "9"),
 * else keep (read: file order) or sort by strcmp (from a manifest). */
static void order_entries(entry *e, int n, int strcmp_otherwise)
{
    int numeric = 1;
    for (int k = 0; k < n && numeric; k++)
        numeric = ck_text_is_integer(e[k].id);
    if (numeric) {
        for (int k = 0; k < n; k++)
            e[k].v = strtoll(e[k].id, NULL, 10);
        qsort(e, (size_t)n, sizeof *e, by_value);
    } else if (strcmp_otherwise) {
        qsort(e, (size_t)n, sizeof *e, by_text);
    }
}

static ck_labels *from_entries(const entry *e, int n, const char *src)
{
    ck_labels *l = labels_alloc(n);
    if (!l)
        return NULL;
    for (int k = 0; k < n; k++) {
        l->n = k + 1;
        l->ids[k] = strdup(e[k].id);
        l->names[k] = strdup(e[k].name ? e[k].name : e[k].id);
        if (!l->ids[k] || !l->names[k]) {
            ck_labels_free(l);
            ck_error("labels", "out of memory");
            return NULL;
        }
    }
    if (index_labels(l, src) < 0) {
        ck_labels_free(l);
        return NULL;
    }
    return l;
}

ck_labels *ck_labels_read(const char *path)
{
    ck_manifest *t = ck__table_parse(path, known, 0);
    if (!t)
        return NULL;
    int idc = -1, namec = -1;
    if (t->header) {
        for (int j = 0; j < t->ncols && idc < 0; j++)
            if (ck__name_in(t->header[j], id_names) >= 0)
                idc = j;
        for (int j = 0; j < t->ncols && namec < 0; j++)
            if (j != idc && ck__name_in(t->header[j], name_names) >= 0)
                namec = j;
    }
    if (idc < 0)
        idc = namec == 0 ? 1 : 0;
    if (idc >= t->ncols)
        idc = 0;
    if (namec < 0 && t->ncols >= 2)
        namec = idc == 0 ? 1 : 0;
    entry *e = calloc((size_t)t->n, sizeof *e);
    if (!e) {
        ck_manifest_free(t);
        ck_error("labels", "out of memory");
        return NULL;
    }
    ck_labels *l = NULL;
    for (int i = 0; i < t->n; i++) {
        e[i].id = ck_manifest_field(t, i, idc);
        e[i].name = namec >= 0 ? ck_manifest_field(t, i, namec) : NULL;
        e[i].row = i;
        if (!*e[i].id) {
            ck_error("labels", "%s:%d: empty label id", t->path, t->lines[i]);
            goto done;
        }
        if (e[i].name && !*e[i].name)
            e[i].name = NULL;
    }
    order_entries(e, t->n, 0);
    l = from_entries(e, t->n, t->path);
done:
    free(e);
    ck_manifest_free(t);
    return l;
}

ck_labels *ck_labels_from_manifest(const ck_manifest *m)
{
    if (!m)
        return NULL;
    if (m->label_col < 0) {
        ck_error("labels", "%s: no label column", m->path);
        return NULL;
    }
    if (m->n == 0) {
        ck_error("labels", "%s: no rows", m->path);
        return NULL;
    }
    entry *e = calloc((size_t)m->n, sizeof *e);
    ck_strmap seen = {0};
    ck_labels *l = NULL;
    int n = 0;
    if (!e) {
        ck_error("labels", "out of memory");
        return NULL;
    }
    for (int i = 0; i < m->n; i++) {
        const char *s = ck_manifest_label(m, i);
        if (!s || !*s) {
            char at[1100];
            if (m->lines[i] > 0)
                snprintf(at, sizeof at, "%s:%d", m->path, m->lines[i]);
            else
                snprintf(at, sizeof at, "%s: row %d", m->path, i + 1);
            ck_error("labels", "%s: empty label", at);
            goto done;
        }
        int prev = ck_strmap_put(&seen, s, n);
        if (prev == -2) {
            ck_error("labels", "out of memory");
            goto done;
        }
        if (prev == -1)
            e[n++] = (entry){.id = s, .row = i};
    }
    order_entries(e, n, 1);
    l = from_entries(e, n, m->path);
done:
    ck_strmap_clear(&seen);
    free(e);
    return l;
}

int ck_labels_count(const ck_labels *l) { return l ? l->n : 0; }

const char *ck_labels_id(const ck_labels *l, int k)
{
    return l && k >= 0 && k < l->n ? l->ids[k] : NULL;
}

const char *ck_labels_name(const ck_labels *l, int k)
{
    return l && k >= 0 && k < l->n ? l->names[k] : NULL;
}

int ck_labels_lookup(const ck_labels *l, const char *text)
{
    if (!l || !text)
        return -1;
    int k = ck_strmap_get(&l->by_id, text);
    if (k < 0)
        k = ck_strmap_get(&l->by_name, text);
    if (k < 0 && ck_text_is_integer(text)) {
        /* "07" or "+7" for id "7": compare values (rare, so a linear scan). */
        long long v = strtoll(text, NULL, 10);
        for (int j = 0; j < l->n && k < 0; j++)
            if (ck_text_is_integer(l->ids[j]) && strtoll(l->ids[j], NULL, 10) == v)
                k = j;
    }
    return k;
}

int ck_labels_index_manifest(const ck_labels *l, const ck_manifest *m, int *out_class)
{
    if (!l || !m)
        return -1;
    if (m->label_col < 0) {
        ck_error("labels", "%s: no label column", m->path);
        return -1;
    }
    for (int i = 0; i < m->n; i++) {
        const char *s = ck_manifest_label(m, i);
        int k = ck_labels_lookup(l, s ? s : "");
        if (k < 0) {
            if (m->lines[i] > 0)
                ck_error("labels", "%s:%d: unknown label '%s'", m->path, m->lines[i], s ? s : "");
            else
                ck_error("labels", "%s: row %d: unknown label '%s'", m->path, i + 1, s ? s : "");
            return -1;
        }
        out_class[i] = k;
    }
    return 0;
}

int ck_labels_save(const ck_labels *l, const char *path)
{
    if (!l)
        return -1;
    ck_manifest *t = ck__manifest_alloc(path, 2);
    if (!t)
        return -1;
    t->has_header = 1;
    t->file_name = strdup("label_id");
    t->label_name = strdup("label_name");
    int rc = t->file_name && t->label_name ? 0 : -1;
    for (int k = 0; k < l->n && rc == 0; k++)
        rc = ck__manifest_push(t, (const char *const[]){l->ids[k], l->names[k]}, 0);
    if (rc == 0)
        rc = ck_manifest_save(t, path);
    ck_manifest_free(t);
    return rc;
}
