/* Folder-per-class trees: DIR/<class>/<image> as a manifest. */
#include "table_internal.h"

#include "ck/error.h"
#include "ck/fs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int is_image_name(const char *name)
{
    static const char *const ext[] = {"png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp",
                                      "gif", "ppm", "pgm", "pnm", NULL};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (int i = 0; ext[i]; i++)
        if (strcasecmp(dot + 1, ext[i]) == 0)
            return 1;
    return 0;
}

typedef struct {
    char **v;
    size_t n, cap;
} names;

static void names_free(names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static int names_push(names *s, const char *name)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(name)))
        return -1;
    s->n++;
    return 0;
}

/* Entries of dir that are folders (want_dirs) or image files; hidden ones
 * skipped. stat() rather than d_type: d_type is DT_UNKNOWN on some file
 * systems and symlinks should be followed. Image names that are not regular
 * files (a FIFO would block its reader) are counted in m for a warning. */
static int list_dir(const char *dir, int want_dirs, names *out, ck_manifest *m)
{
    DIR *d = opendir(dir);
    if (!d) {
        ck_error_system(errno, "table", "cannot read folder %s", dir);
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *p = ck_path_join(dir, e->d_name);
        struct stat st;
        if (!p) {
            rc = -1;
            break;
        }
        if (stat(p, &st) == 0) {
            int ok = want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode) && is_image_name(e->d_name);
            if (!want_dirs && !ok && is_image_name(e->d_name) && !m->skipped++)
                snprintf(m->skipped_name, sizeof m->skipped_name, "%s", p);
            if (ok && names_push(out, e->d_name) < 0)
                rc = -1;
        }
        free(p);
    }
    closedir(d);
    if (rc < 0)
        ck_error("table", "out of memory");
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

ck_manifest *ck_manifest_from_folders(const char *dir)
{
    names classes = {0}, files = {0};
    ck_manifest *m = ck__manifest_alloc(dir, 2);
    if (!m)
        return NULL;
    m->has_header = 1;
    m->file_name = strdup("file_name");
    m->label_name = strdup("label");
    if (!m->file_name || !m->label_name) {
        ck_error("table", "out of memory");
        goto fail;
    }
    if (list_dir(dir, 1, &classes, m) < 0)
        goto fail;
    if (classes.n) /* qsort(NULL, 0) is undefined */
        qsort(classes.v, classes.n, sizeof *classes.v, cmp_str);
    for (size_t c = 0; c < classes.n; c++) {
        char *sub = ck_path_join(dir, classes.v[c]);
        if (!sub) {
            ck_error("table", "out of memory");
            goto fail;
        }
        int rc = list_dir(sub, 0, &files, m);
        free(sub);
        if (rc < 0)
            goto fail;
        if (files.n)
            ck_natural_sort(files.v, files.n);
        for (size_t i = 0; i < files.n; i++) {
            char *rel = ck_path_join(classes.v[c], files.v[i]);
            if (!rel) {
                ck_error("table", "out of memory");
                goto fail;
            }
            rc = ck__manifest_push(m, (const char *const[]){rel, classes.v[c]}, 0);
            free(rel);
            if (rc < 0)
                goto fail;
        }
        names_free(&files);
    }
    if (m->n == 0) {
        ck_error("table", "%s: no images found in class folders (expected %s/<class>/<image>)", dir, dir);
        goto fail;
    }
    if (ck__manifest_index_files(m) < 0)
        goto fail;
    names_free(&classes);
    return m;
fail:
    names_free(&classes);
    names_free(&files);
    ck_manifest_free(m);
    return NULL;
}

int ck_manifest_skipped(const ck_manifest *m, const char **first)
{
    if (first)
        *first = m && m->skipped ? m->skipped_name : NULL;
    return m ? m->skipped : 0;
}
