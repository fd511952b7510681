/* Which rows ck-predict writes, and which image file each one is. */
#include "predict_internal.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/table.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *const image_exts[] = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".ppm",
                                         ".pgm", ".pnm", NULL};

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (int i = 0; dot && image_exts[i]; i++)
        if (strcasecmp(dot, image_exts[i]) == 0)
            return 1;
    return 0;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The image of a row: DIR/name, else DIR/name.<ext> for contests whose ids
 * carry no extension (Kaggle's "id" column). NULL when none exists. */
static char *resolve(const char *images, const char *name)
{
    char *p = ck_path_join(images, name);
    if (!p || is_file(p))
        return p;
    size_t n = strlen(p);
    for (int i = 0; image_exts[i]; i++) {
        char *q = malloc(n + strlen(image_exts[i]) + 1);
        if (!q)
            break;
        memcpy(q, p, n);
        strcpy(q + n, image_exts[i]);
        if (is_file(q)) {
            free(p);
            return q;
        }
        free(q);
    }
    free(p);
    return NULL;
}

static int alloc_rows(pred_rows *r, int n)
{
    r->n = n;
    r->names = calloc(n ? (size_t)n : 1, sizeof *r->names);
    r->paths = calloc(n ? (size_t)n : 1, sizeof *r->paths);
    if (!r->names || !r->paths) {
        ck_error("ck-predict", "out of memory");
        return -1;
    }
    return 0;
}

int rows_from_order(pred_rows *r, const char *order_path, const char *images)
{
    memset(r, 0, sizeof *r);
    /* Strict: blank lines skipped, every row as wide as the first. */
    ck_table *t = ck_table_read(order_path, 0, 0);
    if (!t)
        return -1;
    int header = ck_table_has_header(t), n = ck_table_rows(t) - header;
    if (n <= 0) {
        ck_error("ck-predict", "%s: no rows", order_path);
        ck_table_free(t);
        return -1;
    }
    r->sample_header = header;
    r->sample_sep = ck_table_sep(t);
    r->sample_ncols = ck_table_cols(t, 0);
    if (header) {
        r->header_cells = calloc((size_t)r->sample_ncols, sizeof *r->header_cells);
        for (int c = 0; r->header_cells && c < r->sample_ncols; c++)
            r->header_cells[c] = strdup(ck_table_cell(t, 0, c));
    }
    int rc = alloc_rows(r, n), k = 0;
    for (int i = header; !rc && i < ck_table_rows(t); i++) {
        const char *name = ck_table_cell(t, i, 0);
        if (!*name) {
            ck_error("ck-predict", "%s:%d: empty id", order_path, ck_table_line(t, i));
            rc = -1;
            break;
        }
        r->names[k] = strdup(name);
        r->paths[k] = resolve(images, name);
        if (!r->names[k]) {
            ck_error("ck-predict", "out of memory");
            rc = -1;
        }
        k++;
    }
    ck_table_free(t);
    return rc;
}

int rows_from_folder(pred_rows *r, const char *images)
{
    memset(r, 0, sizeof *r);
    DIR *d = opendir(images);
    if (!d) {
        ck_error_system(errno, "ck-predict", "cannot read folder %s", images);
        return -1;
    }
    int cap = 1024, n = 0;
    char **names = malloc((size_t)cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !is_image_name(e->d_name))
            continue;
        /* A FIFO would block the loader forever; a folder is no image. */
        char *p = ck_path_join(images, e->d_name);
        int regular = p && is_file(p);
        free(p);
        if (!regular) {
            fprintf(stderr, "ck-predict: warning: skipping %s/%s: not a regular file\n", images, e->d_name);
            continue;
        }
        if (n == cap) {
            char **nn = realloc(names, (size_t)(cap *= 2) * sizeof *names);
            if (!nn) {
                for (int i = 0; i < n; i++)
                    free(names[i]);
                free(names);
                names = NULL;
                break;
            }
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (!names) {
        ck_error("ck-predict", "out of memory");
        return -1;
    }
    if (!n) {
        free(names);
        ck_error("ck-predict", "%s: no image files (png, jpg, jpeg, webp, ...)", images);
        return -1;
    }
    ck_natural_sort(names, (size_t)n);
    r->n = n;
    r->names = names;
    r->paths = calloc((size_t)n, sizeof *r->paths);
    for (int i = 0; r->paths && i < n; i++)
        r->paths[i] = ck_path_join(images, names[i]);
    return r->paths ? 0 : -1;
}

void rows_free(pred_rows *r)
{
    for (int i = 0; i < r->n; i++) {
        if (r->names)
            free(r->names[i]);
        if (r->paths)
            free(r->paths[i]);
    }
    for (int c = 0; r->header_cells && c < r->sample_ncols; c++)
        free(r->header_cells[c]);
    free(r->header_cells);
    free(r->names);
    free(r->paths);
    memset(r, 0, sizeof *r);
}

int rows_check_classes(const pred_rows *r, const char *order_path, const char *model, int nclass)
{
    if (r->sample_ncols <= 2 || r->sample_ncols == 1 + nclass)
        return 0;
    ck_error("ck-predict", "%s has %d probability columns but %s has %d classes", order_path, r->sample_ncols - 1,
             model, nclass);
    return -1;
}
