/* Shared between ck-augment's option parsing (ck-augment.c) and its work
 * (plan.c: output names; run.c: threads). */
#ifndef CK_AUG_TOOL_H
#define CK_AUG_TOOL_H

#include "ck/augment.h"
#include "ck/image.h"
#include "ck/table.h"

#include <stdint.h>

typedef struct {
    /* options */
    const char *manifest;   /* -m, NULL in FILE mode */
    const char *images;     /* --images */
    const char *outdir;     /* -o */
    int copies;             /* -n */
    int by_class;
    int include_original;
    ck_image_format format; /* UNKNOWN = from the input's name */
    int quality;
    uint64_t seed;
    int threads;
    int dry_run;
    int progress;           /* ck_progress mode */
    int quiet;
    ck_aug_spec *spec;
    int out_w, out_h;       /* from size=, 0 = input size */

    /* the plan: one entry per input image */
    int n;
    char **src;             /* path to read */
    const char **name;      /* name as listed (manifest text or argument) */
    const char **label;     /* NULL when none */
    char **out_rel;         /* per image: copies(+1) output names relative to outdir */
    ck_manifest *in;        /* -m table (owned) */
} aug_job;

/* Resolve inputs and output names; detects output-name collisions.
 * 0 or -1 + error. */
int aug_plan(aug_job *job, int argc, char **argv);
/* Before any work: no output may overwrite an input (--include-original
 * into the source folder). 0 or -1 + error. */
int aug_check_outputs(const aug_job *job);
/* Number of outputs per image and the k-th output's name. */
int aug_outputs_per_image(const aug_job *job);
const char *aug_out_name(const aug_job *job, int image, int k);
/* Copy index of output k (-1 for the original). */
int aug_copy_index(const aug_job *job, int k);
void aug_job_free(aug_job *job);

/* Process everything; per-image failures are printed to stderr and
 * counted. Returns the number of failed images, or -1 on a fatal error.
 * ok[i] is set to 1 for the images whose outputs were all written. */
int aug_run(aug_job *job, unsigned char *ok);
int aug_dry_run(aug_job *job);
/* Single-image filter: input path or "-" → stdout. 0 or -1. */
int aug_filter(aug_job *job, const char *input);

#endif
