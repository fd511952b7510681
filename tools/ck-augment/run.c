/* ck-augment: the work. An OpenMP loop over whole images (decode once, then
 * every copy); the random stream of copy c of image i is
 * ck_rng_make(seed, i, c), hence the same bytes at any -j. */
#include "aug_tool.h"
#include "common/cli.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Print (and clear) whatever is in the error buffer, one prefixed line per
 * message. Several threads may fail at once: one prints at a time so that
 * lines stay whole. */
static void report(void)
{
#pragma omp critical(ck_augment_report)
    ck_cli_print_errors("ck-augment");
}

/* One output image of image i: the resized original (copy < 0) or copy c. */
static int render_one(const aug_job *job, int i, int copy, const uint8_t *rgb, int w, int h,
                      uint8_t *out, int ow, int oh)
{
    if (copy < 0)
        return ck_image_resize_rgb(rgb, w, h, out, ow, oh);
    ck_rng rng = ck_rng_make(job->seed, (uint64_t)i, (uint64_t)copy);
    return ck_aug_apply_rgb(job->spec, rgb, w, h, out, ow, oh, &rng);
}

static int process_image(const aug_job *job, int i)
{
    int w, h;
    uint8_t *rgb = ck_image_load_rgb(job->src[i], 0, 0, &w, &h);
    if (!rgb)
        return -1;
    int ow = job->out_w ? job->out_w : w, oh = job->out_h ? job->out_h : h;
    uint8_t *out = malloc((size_t)ow * oh * 3);
    int rc = out ? 0 : -1;
    if (!out)
        ck_error("ck-augment", "%s: out of memory", job->src[i]);
    int per = aug_outputs_per_image(job);
    for (int k = 0; k < per && rc == 0; k++) {
        char *path = ck_path_join(job->outdir, aug_out_name(job, i, k));
        if (!path) {
            ck_error("ck-augment", "out of memory");
            rc = -1;
            break;
        }
        rc = render_one(job, i, aug_copy_index(job, k), rgb, w, h, out, ow, oh);
        if (rc == 0)
            rc = ck_image_save_rgb(path, out, ow, oh, job->quality);
        free(path);
    }
    free(out);
    free(rgb);
    return rc;
}

static int aug_run_locked(aug_job *job, unsigned char *ok);

/* Output folders are made up front, in one thread. */
static int make_folders(const aug_job *job)
{
    if (ck_mkdir_p(job->outdir))
        return -1;
    const char *last = NULL;
    size_t last_len = 0;
    for (int i = 0; i < job->n; i++) {
        const char *name = aug_out_name(job, i, 0);
        const char *slash = strrchr(name, '/');
        if (!slash)
            continue;
        size_t len = (size_t)(slash - name);
        if (last && len == last_len && !strncmp(name, last, len))
            continue;
        char *rel = strndup(name, len);
        char *dir = rel ? ck_path_join(job->outdir, rel) : NULL;
        int rc = dir ? ck_mkdir_p(dir) : -1;
        free(rel);
        free(dir);
        if (rc)
            return -1;
        last = name;
        last_len = len;
    }
    return 0;
}

int aug_check_outputs(const aug_job *job)
{
    const char *opt = job->manifest ? "--manifest" : "FILE";
    for (int i = 0; i < job->n; i++)
        if (ck_io_input_add(job->src[i], opt))
            return -1;
    int per = aug_outputs_per_image(job);
    for (int i = 0; i < job->n; i++)
        for (int k = 0; k < per; k++) {
            char *path = ck_path_join(job->outdir, aug_out_name(job, i, k));
            int rc = path ? ck_output_check(path, "--output", CK_OUT_MKDIR) : -1;
            free(path);
            if (rc)
                return -1;
        }
    return 0;
}

int aug_run(aug_job *job, unsigned char *ok)
{
    /* One run per output folder at a time: two would interleave copies. */
    int lock = ck_mkdir_p(job->outdir) ? -1 : ck_dir_lock(job->outdir);
    if (lock < 0)
        return -1;
    int rc = aug_run_locked(job, ok);
    close(lock);
    return rc;
}

static int aug_run_locked(aug_job *job, unsigned char *ok)
{
    if (make_folders(job))
        return -1;
    ck_progress *bar = ck_progress_new(stderr, "augment", job->n, job->progress);
    int nt = job->threads < job->n ? job->threads : job->n;
    if (nt < 1)
        nt = 1;
    int failed = 0;
    /* Dynamic: decode and resize times vary from image to image. */
#pragma omp parallel for schedule(dynamic) num_threads(nt) reduction(+ : failed)
    for (int i = 0; i < job->n; i++) {
        if (process_image(job, i) == 0) {
            ok[i] = 1;
        } else {
            failed++;
            report();
        }
        ck_progress_add(bar, 1);
    }
    ck_progress_finish(bar, NULL);
    ck_progress_free(bar);
    return failed;
}

/* JSON string literal (file names may hold quotes or backslashes). */
static void put_json_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 32)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

int aug_dry_run(aug_job *job)
{
    int failed = 0;
    for (int i = 0; i < job->n; i++) {
        int w, h;
        if (ck_image_size(job->src[i], &w, &h)) {
            failed++;
            report();
            continue;
        }
        for (int c = 0; c < job->copies; c++) {
            ck_rng rng = ck_rng_make(job->seed, (uint64_t)i, (uint64_t)c);
            ck_aug_params p;
            if (ck_aug_sample(job->spec, w, h, job->out_w, job->out_h, &rng, &p)) {
                report();
                return -1;
            }
            char *json = ck_aug_params_json(&p);
            if (!json)
                return -1;
            fputs("{\"file\":", stdout);
            put_json_string(stdout, job->name[i]);
            printf(",\"copy\":%d,\"output\":", c);
            put_json_string(stdout, job->out_rel ? aug_out_name(job, i, c + (job->include_original ? 1 : 0)) : NULL);
            printf(",%s\n", json + 1);
            free(json);
        }
    }
    return failed;
}

int aug_filter(aug_job *job, const char *input)
{
    size_t len;
    char *data = ck_read_file(input, &len);
    if (!data)
        return -1;
    const char *name = strcmp(input, "-") ? input : "(stdin)";
    int w, h;
    uint8_t *rgb = ck_image_decode_rgb(data, len, name, 0, 0, &w, &h);
    ck_image_format f = job->format;
    if (f == CK_IMAGE_UNKNOWN)
        f = ck_image_format_sniff(data, len);
    if (f == CK_IMAGE_UNKNOWN)
        f = CK_IMAGE_PNG;
    free(data);
    if (!rgb)
        return -1;
    int ow = job->out_w ? job->out_w : w, oh = job->out_h ? job->out_h : h;
    uint8_t *out = malloc((size_t)ow * oh * 3);
    void *enc = NULL;
    size_t n = 0;
    int rc = -1;
    if (!out)
        ck_error("ck-augment", "%s: out of memory", name);
    if (out && render_one(job, 0, 0, rgb, w, h, out, ow, oh) == 0 &&
        (enc = ck_image_encode_rgb(out, ow, oh, f, job->quality, &n))) {
        ck_atomic_file *o = ck_atomic_open("-", CK_OUT_STDOUT);
        if (o && ck_atomic_put(o, enc, n) == 0)
            rc = ck_atomic_commit(o);
        else
            ck_atomic_abort(o);
    }
    free(enc);
    free(out);
    free(rgb);
    return rc;
}
