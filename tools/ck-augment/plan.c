/* ck-augment: which files to read and which names to write. */
#include "aug_tool.h"

#include "ck/error.h"
#include "ck/fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int aug_outputs_per_image(const aug_job *job)
{
    return job->copies + (job->include_original ? 1 : 0);
}

const char *aug_out_name(const aug_job *job, int image, int k)
{
    return job->out_rel[(size_t)image * aug_outputs_per_image(job) + k];
}

int aug_copy_index(const aug_job *job, int k)
{
    return job->include_original ? k - 1 : k;
}

/* A relative name that stays inside the output folder when mirrored. */
static int safe_relative(const char *name)
{
    if (name[0] == '/')
        return 0;
    const char *p = name;
    while (*p) {
        size_t len = strcspn(p, "/");
        if ((len == 2 && !strncmp(p, "..", 2)) || (len == 1 && p[0] == '.'))
            return 0;
        p += len;
        while (*p == '/')
            p++;
    }
    return 1;
}

/* Label text as one folder name: no separators, not "." or "..". */
static char *folder_for_label(const char *label)
{
    char *s = strdup(label && *label ? label : "unlabelled");
    if (!s)
        return NULL;
    for (char *p = s; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 32)
            *p = '_';
    if (!strcmp(s, ".") || !strcmp(s, "..")) {
        free(s);
        s = strdup("_");
    }
    return s;
}

/* "dir/stem" part of an output name (no extension). */
static char *output_stem(const aug_job *job, int i)
{
    const char *name = job->name[i];
    const char *base = ck_path_basename(name);
    const char *dot = strrchr(base, '.');
    size_t stem_len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *dir = NULL;
    if (job->by_class) {
        dir = folder_for_label(job->label[i]);
    } else if ((job->in || job->images) && safe_relative(name) && base != name) {
        /* Names relative to --images or a manifest keep their sub-folder;
         * plain FILE arguments are flattened to their base name. */
        dir = strndup(name, (size_t)(base - name - 1));
    }
    size_t n = (dir ? strlen(dir) + 1 : 0) + stem_len + 1;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s%.*s", dir ? dir : "", dir ? "/" : "", (int)stem_len, base);
    free(dir);
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int make_names(aug_job *job)
{
    int per = aug_outputs_per_image(job);
    int width = 2;
    for (int c = job->copies - 1; c >= 100; c /= 10)
        width++;
    job->out_rel = calloc((size_t)job->n * per + 1, sizeof(char *));
    if (!job->out_rel)
        return -1;
    for (int i = 0; i < job->n; i++) {
        char *stem = output_stem(job, i);
        if (!stem)
            return -1;
        ck_image_format f = job->format;
        if (f == CK_IMAGE_UNKNOWN)
            f = ck_image_format_from_name(job->name[i]);
        const char *ext = f == CK_IMAGE_UNKNOWN ? "png" : ck_image_format_ext(f);
        for (int k = 0; k < per; k++) {
            int c = aug_copy_index(job, k);
            char buf[64] = "", num[24];
            if (c >= 0) {
                int len = snprintf(num, sizeof num, "%d", c);
                strcpy(buf, "_aug");
                for (int z = len; z < width && z < 20; z++)
                    strcat(buf, "0");
                strcat(buf, num);
            }
            size_t n = strlen(stem) + strlen(buf) + strlen(ext) + 2;
            char *s = malloc(n);
            if (!s) {
                free(stem);
                return -1;
            }
            snprintf(s, n, "%s%s.%s", stem, buf, ext);
            job->out_rel[(size_t)i * per + k] = s;
        }
        free(stem);
    }
    /* Two inputs must never write the same file (e.g. a/x.png and b/x.png
     * with --by-class and one label). */
    size_t total = (size_t)job->n * per;
    char **sorted = malloc(total * sizeof *sorted + 1);
    if (!sorted)
        return -1;
    memcpy(sorted, job->out_rel, total * sizeof *sorted);
    qsort(sorted, total, sizeof *sorted, cmp_str);
    for (size_t k = 1; k < total; k++) {
        if (!strcmp(sorted[k - 1], sorted[k])) {
            ck_error("ck-augment", "output '%s' would be written by two inputs; "
                     "rename the inputs or drop --by-class", sorted[k]);
            free(sorted);
            return -1;
        }
    }
    free(sorted);
    return 0;
}

int aug_plan(aug_job *job, int argc, char **argv)
{
    if (job->manifest) {
        job->in = ck_manifest_read(job->manifest);
        if (!job->in)
            return -1;
        job->n = ck_manifest_count(job->in);
    } else {
        job->n = argc;
    }
    job->src = calloc((size_t)job->n + 1, sizeof(char *));
    job->name = calloc((size_t)job->n + 1, sizeof(char *));
    job->label = calloc((size_t)job->n + 1, sizeof(char *));
    if (!job->src || !job->name || !job->label) {
        ck_error("ck-augment", "out of memory");
        return -1;
    }
    for (int i = 0; i < job->n; i++) {
        if (job->in) {
            job->name[i] = ck_manifest_file(job->in, i);
            job->label[i] = ck_manifest_label(job->in, i);
        } else {
            job->name[i] = argv[i];
        }
        if (!strcmp(job->name[i], "-"))
            job->src[i] = strdup("-");
        else
            job->src[i] = ck_path_join(job->images, job->name[i]);
        if (!job->src[i]) {
            ck_error("ck-augment", "out of memory");
            return -1;
        }
    }
    if (job->by_class && (!job->in || ck_manifest_label_index(job->in) < 0)) {
        ck_error("ck-augment", "--by-class needs a manifest with a label column");
        return -1;
    }
    if (job->outdir && strcmp(job->outdir, "-") && make_names(job)) {
        if (!*ck_error_buffer())
            ck_error("ck-augment", "out of memory");
        return -1;
    }
    return 0;
}

void aug_job_free(aug_job *job)
{
    if (job->out_rel) {
        size_t total = (size_t)job->n * aug_outputs_per_image(job);
        for (size_t k = 0; k < total; k++)
            free(job->out_rel[k]);
        free(job->out_rel);
    }
    if (job->src)
        for (int i = 0; i < job->n; i++)
            free(job->src[i]);
    free(job->src);
    free((void *)job->name);
    free((void *)job->label);
    ck_manifest_free(job->in);
    ck_aug_spec_free(job->spec);
}
