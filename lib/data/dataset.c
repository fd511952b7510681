/* ck_dataset: the list of training images with their class indices. */
#include "ck/dataset.h"
#include "ck/error.h"
#include "ck/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct ck_dataset {
    int n;
    char **path;
    char **where;
    int *cls;
    int *id;
};

static ck_dataset *dataset_alloc(int n)
{
    ck_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        goto oom;
    ds->n = n;
    ds->path = calloc((size_t)n + 1, sizeof *ds->path);
    ds->where = calloc((size_t)n + 1, sizeof *ds->where);
    ds->cls = calloc((size_t)n + 1, sizeof *ds->cls);
    ds->id = calloc((size_t)n + 1, sizeof *ds->id);
    if (ds->path && ds->where && ds->cls && ds->id)
        return ds;
    ck_dataset_free(ds);
oom:
    ck_error("dataset", "out of memory");
    return NULL;
}

void ck_dataset_free(ck_dataset *ds)
{
    if (!ds)
        return;
    for (int i = 0; i < ds->n; i++) {
        if (ds->path)
            free(ds->path[i]);
        if (ds->where)
            free(ds->where[i]);
    }
    free(ds->path);
    free(ds->where);
    free(ds->cls);
    free(ds->id);
    free(ds);
}

ck_dataset *ck_dataset_from_manifest(const ck_manifest *m, const char *images_dir,
                                     const ck_labels *labels)
{
    int n = ck_manifest_count(m);
    const char *mp = ck_manifest_path(m);
    if (n <= 0) {
        ck_error("dataset", "%s: no images listed", mp);
        return NULL;
    }
    ck_dataset *ds = dataset_alloc(n);
    if (!ds)
        return NULL;
    if (ck_labels_index_manifest(labels, m, ds->cls) < 0) {
        ck_dataset_free(ds);
        return NULL;
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const char *f = ck_manifest_file(m, i);
        ds->path[i] = images_dir && *images_dir ? ck_path_join(images_dir, f) : strdup(f);
        int line = ck_manifest_line(m, i);
        size_t wl = strlen(mp) + 24;
        ds->where[i] = malloc(wl);
        if (!ds->path[i] || !ds->where[i]) {
            ck_error("dataset", "out of memory");
            ck_dataset_free(ds);
            return NULL;
        }
        if (line > 0)
            snprintf(ds->where[i], wl, "%s:%d", mp, line);
        else
            snprintf(ds->where[i], wl, "%s", mp);
        ds->id[i] = i;
        /* Check up front (stat only) so a missing file stops the run before
         * any training time is spent; at most a few messages, then a count. */
        struct stat st;
        const char *why = NULL;
        int err = 0;
        if (stat(ds->path[i], &st) != 0)
            err = errno, why = "not found";
        else if (S_ISDIR(st.st_mode))
            why = "is a folder";
        else if (st.st_size == 0)
            why = "is empty (0 bytes)";
        if (why) {
            if (bad < 5) {
                if (err && err != ENOENT)
                    ck_error_system(err, "dataset", "%s: image '%s'", ds->where[i], ds->path[i]);
                else
                    ck_error("dataset", "%s: image '%s' %s", ds->where[i], ds->path[i], why);
            }
            bad++;
        }
    }
    if (bad) {
        if (bad > 5)
            ck_error("dataset", "%s: %d images missing or empty in all", mp, bad);
        ck_dataset_free(ds);
        return NULL;
    }
    return ds;
}

ck_dataset *ck_dataset_from_paths(const char *const *paths, int n)
{
    ck_dataset *ds = n >= 0 ? dataset_alloc(n) : NULL;
    for (int i = 0; ds && i < n; i++) {
        ds->path[i] = strdup(paths[i]);
        ds->where[i] = strdup(paths[i]);
        ds->cls[i] = -1;
        ds->id[i] = i;
        if (!ds->path[i] || !ds->where[i]) {
            ck_error("dataset", "out of memory");
            ck_dataset_free(ds);
            return NULL;
        }
    }
    return ds;
}

static int copy_row(ck_dataset *ds, int i, const ck_dataset *src, int j, int id)
{
    ds->path[i] = strdup(src->path[j]);
    ds->where[i] = strdup(src->where[j]);
    ds->cls[i] = src->cls[j];
    ds->id[i] = id;
    if (!ds->path[i] || !ds->where[i]) {
        ck_error("dataset", "out of memory");
        return -1;
    }
    return 0;
}

ck_dataset *ck_dataset_subset(const ck_dataset *src, const int *idx, int n)
{
    if (n <= 0) {
        ck_error("dataset", "empty subset");
        return NULL;
    }
    ck_dataset *ds = dataset_alloc(n);
    if (!ds)
        return NULL;
    for (int i = 0; i < n; i++)
        if (copy_row(ds, i, src, idx[i], src->id[idx[i]]) != 0) {
            ck_dataset_free(ds);
            return NULL;
        }
    return ds;
}

ck_dataset *ck_dataset_concat(const ck_dataset *a, const ck_dataset *b)
{
    ck_dataset *ds = dataset_alloc(a->n + b->n);
    if (!ds)
        return NULL;
    for (int i = 0; i < a->n + b->n; i++)
        if (i < a->n ? copy_row(ds, i, a, i, a->id[i]) : copy_row(ds, i, b, i - a->n, b->id[i - a->n] + a->n)) {
            ck_dataset_free(ds);
            return NULL;
        }
    return ds;
}

int ck_dataset_count(const ck_dataset *ds) { return ds ? ds->n : 0; }
const char *ck_dataset_path(const ck_dataset *ds, int i) { return ds->path[i]; }
int ck_dataset_class(const ck_dataset *ds, int i) { return ds->cls[i]; }
int ck_dataset_item_id(const ck_dataset *ds, int i) { return ds->id[i]; }

void ck_dataset_class_counts(const ck_dataset *ds, int ncls, int *counts)
{
    memset(counts, 0, (size_t)ncls * sizeof *counts);
    for (int i = 0; i < ds->n; i++)
        if (ds->cls[i] >= 0 && ds->cls[i] < ncls)
            counts[ds->cls[i]]++;
}
