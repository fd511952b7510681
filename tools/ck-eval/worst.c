/* ck-eval --worst: the list on stdout and the contact sheet. */
#include "eval_internal.h"

#include "ck/error.h"
#include "ck/fs.h"

#include <math.h>
#include <stdlib.h>

static void put_class(FILE *out, const char *const *names, int k)
{
    if (names && names[k])
        fputs(names[k], out);
    else
        fprintf(out, "%d", k);
}

void eval_print_worst(FILE *out, const ck_worst *w, const ck_manifest *truth, const char *const *names)
{
    fputs("file\ttrue\tpredicted\tprob\tloss\n", out);
    for (int k = 0; k < ck_worst_count(w); k++) {
        const ck_worst_row *r = ck_worst_get(w, k);
        fprintf(out, "%s\t", ck_manifest_file(truth, r->index));
        put_class(out, names, r->truth);
        fputc('\t', out);
        put_class(out, names, r->predicted);
        fprintf(out, "\t%.6f\t%.6f\n", r->prob, r->loss);
    }
}

int eval_write_sheet(const char *path, const char *images, const ck_worst *w, const ck_manifest *truth,
                     const char *const *names, int *text_drawn)
{
    int n = ck_worst_count(w), rc = -1;
    if (!n) {
        ck_error("ck-eval", "%s: no wrong row to draw", path);
        return -1;
    }
    char **files = calloc((size_t)n, sizeof *files), **caps = calloc((size_t)n, sizeof *caps);
    for (int k = 0; files && caps && k < n; k++) {
        const ck_worst_row *r = ck_worst_get(w, k);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
            break;
        /* The probability before the name, which may be cut at the right. */
        fputs("true: ", f);
        put_class(f, names, r->truth);
        fprintf(f, "\npred (%.2f): ", r->prob);
        put_class(f, names, r->predicted);
        fprintf(f, "\n%s", ck_path_basename(ck_manifest_file(truth, r->index)));
        fclose(f);
        caps[k] = text;
        files[k] = ck_path_join(images, ck_manifest_file(truth, r->index));
        if (!files[k])
            break;
    }
    if (files && caps && files[n - 1] && caps[n - 1]) {
        /* Square-ish, like fastai's grid. */
        int cols = (int)ceil(sqrt((double)n));
        rc = ck_sheet_write(path, (const char *const *)files, (const char *const *)caps, n, cols, 128, text_drawn);
    } else {
        ck_error("ck-eval", "out of memory");
    }
    for (int k = 0; k < n; k++) {
        free(files ? files[k] : NULL);
        free(caps ? caps[k] : NULL);
    }
    free(files);
    free(caps);
    return rc;
}
