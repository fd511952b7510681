/* ck-augment — write randomly augmented copies of training images.
 * Options are parsed here; the work is in tools/ck-augment/. */
#include "ck-augment/aug_tool.h"
#include "common/cli.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/rng.h"
#include "ck/text.h"
#include "ck/threads.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
    fputs(
"Usage: ck-augment [OPTIONS] -o DIR FILE...\n"
"       ck-augment [OPTIONS] -o DIR -m MANIFEST\n"
"       ck-augment [OPTIONS] -o - [FILE|-] > out.png\n"
"Write N randomly augmented copies of each image (random crop + resize,\n"
"rotation, flips, shift, random erasing, composed into one resample) and\n"
"print the manifest of the written files (path and label, same separator\n"
"and header style as the input manifest) on stdout.\n"
"\n"
"Input and output:\n"
"  -m, --manifest FILE    table of images (TSV/CSV, e.g. train_master.tsv;\n"
"                         '-' reads stdin); labels are carried over\n"
"      --images DIR       folder that relative image names are read from\n"
"  -o, --output DIR       output folder (created); '-' writes the single\n"
"                         input image (a file or '-' for stdin) to stdout\n"
"  -n, --copies N         augmented copies per image (default 1)\n"
"      --include-original also write each image unaugmented (resized to\n"
"                         --size) under its own name, listed first\n"
"      --by-class         write into DIR/<label>/ (needs labels)\n"
"      --format FMT       png, jpg or webp (default: the input's format)\n"
"      --quality Q        JPEG/WebP quality 1-100 (default 90; JPEG uses\n"
"                         4:2:0 chroma subsampling, like PIL)\n"
"Output names: <name>_aug<NN>.<ext> with NN the copy number from 00,\n"
"keeping the input's sub-folder, e.g. train_00001_aug03.png.\n"
"\n"
"Augmentation (see docs/augment.md):\n"
"  -a, --aug SPEC         spec string, the same one ck-finetune --aug takes,\n"
"                         e.g. crop=0.8:1,rotate=15,flip=h,shift=0.1,erase=0.5\n"
"The options below add to SPEC (and override the same key in it):\n"
"      --crop SMIN[:SMAX[:RMIN:RMAX]]   random resized crop: area fraction,\n"
"                         aspect range (default 3/4:4/3)\n"
"      --rotate DEG       rotation uniform in [-DEG, DEG]\n"
"      --flip h|v|hv|h:P+v:P   flips (probability 0.5 unless given)\n"
"      --shift F[:FY]     shift by up to F of the width (F < 1) or F pixels\n"
"      --erase P[:SMIN:SMAX[:RMIN:RMAX]]  random erasing with probability P\n"
"      --erase-fill mean|noise|V|R:G:B  erased box colour (default mean)\n"
"      --fill nearest|reflect|wrap|constant[:V]  uncovered pixels\n"
"                         (default nearest)\n"
"      --size WxH         output size (default: each input's size)\n"
"\n"
"Run:\n"
"      --seed S           random seed (default 1; printed on stderr)\n"
"  -j, --threads N        worker threads, each doing whole images\n"
"                         (default: number of CPUs); output bytes do not\n"
"                         depend on N\n"
"      --max-pixels N     refuse images whose header claims more pixels\n"
"                         (default 100000000, or CK_MAX_PIXELS)\n"
"      --dry-run          write nothing; print each copy's sampled\n"
"                         parameters as one JSON object per line\n"
"      --progress         show the progress bar even when stderr is not a\n"
"                         terminal\n"
"  -q, --quiet            no progress bar, no seed message\n"
"  -h, --help             show this help and exit\n"
"      --version          show the version and exit\n"
"\n"
"Inputs: PNG, JPEG, WebP and whatever else libvips reads; grayscale,\n"
"palette, 16-bit and alpha images become 8-bit RGB (alpha flattened on\n"
"black). Outputs are written atomically.\n"
"\n"
"Examples:\n"
"  ck-augment -m train_master.tsv --images train -o aug -n 4 \\\n"
"      --aug crop=0.8:1,rotate=15,flip=h > aug_master.tsv\n"
"  ck-augment --rotate 30 --seed 7 -o - - < in.png > out.png\n"
"\n"
"Exit status: 0 success; 1 an image could not be read or written (the\n"
"others are still written); 2 usage error.\n",
        stdout);
}

static const char prog[] = "ck-augment";

/* Append ",key=value" to the spec being built. */
static int add_token(char **spec, const char *key, const char *value)
{
    size_t n = strlen(*spec) + strlen(key) + strlen(value) + 3;
    char *s = malloc(n);
    if (!s)
        return -1;
    snprintf(s, n, "%s%s%s=%s", *spec, **spec ? "," : "", key, value);
    free(*spec);
    *spec = s;
    return 0;
}

enum {
    OPT_IMAGES = 256, OPT_INCLUDE_ORIGINAL, OPT_BY_CLASS, OPT_FORMAT, OPT_QUALITY,
    OPT_CROP, OPT_ROTATE, OPT_FLIP, OPT_SHIFT, OPT_ERASE, OPT_ERASE_FILL, OPT_FILL,
    OPT_SIZE, OPT_SEED, OPT_DRY_RUN, OPT_PROGRESS, OPT_VERSION, OPT_MAX_PIXELS
};

static const struct option long_options[] = {
    {"manifest", required_argument, NULL, 'm'},
    {"images", required_argument, NULL, OPT_IMAGES},
    {"output", required_argument, NULL, 'o'},
    {"copies", required_argument, NULL, 'n'},
    {"include-original", no_argument, NULL, OPT_INCLUDE_ORIGINAL},
    {"by-class", no_argument, NULL, OPT_BY_CLASS},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"quality", required_argument, NULL, OPT_QUALITY},
    {"aug", required_argument, NULL, 'a'},
    {"crop", required_argument, NULL, OPT_CROP},
    {"rotate", required_argument, NULL, OPT_ROTATE},
    {"flip", required_argument, NULL, OPT_FLIP},
    {"shift", required_argument, NULL, OPT_SHIFT},
    {"erase", required_argument, NULL, OPT_ERASE},
    {"erase-fill", required_argument, NULL, OPT_ERASE_FILL},
    {"fill", required_argument, NULL, OPT_FILL},
    {"size", required_argument, NULL, OPT_SIZE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, 'j'},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
    {NULL, 0, NULL, 0},
};

/* Print the output manifest: input style kept; a plain list of names when
 * the input had no labels (FILE arguments or an unlabelled table). */
static int stdout_failed(void)
{
    ck_error_system(errno ? errno : EIO, "ck-augment", "cannot write the list of outputs to standard output");
    return -1;
}

static int print_manifest(const aug_job *job, const unsigned char *ok)
{
    int per = aug_outputs_per_image(job);
    int labelled = job->in && ck_manifest_label_index(job->in) >= 0;
    errno = 0;
    if (!labelled) {
        for (int i = 0; i < job->n; i++)
            for (int k = 0; ok[i] && k < per; k++) {
                ck_text_put_field(stdout, aug_out_name(job, i, k), ',');
                putchar('\n');
            }
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : stdout_failed();
    }
    ck_manifest *m = ck_manifest_new();
    if (!m || ck_manifest_set_style(m, ck_manifest_sep(job->in), ck_manifest_has_header(job->in),
                                    ck_manifest_file_column(job->in),
                                    ck_manifest_label_column(job->in))) {
        ck_manifest_free(m);
        return -1;
    }
    for (int i = 0; i < job->n; i++)
        for (int k = 0; ok[i] && k < per; k++)
            if (ck_manifest_add(m, aug_out_name(job, i, k), job->label[i])) {
                ck_manifest_free(m);
                return -1;
            }
    int rc = ck_manifest_write(m, stdout);
    ck_manifest_free(m);
    if (fflush(stdout) || ferror(stdout) || rc)
        return stdout_failed();
    return 0;
}

/* Options into *job and the spec text (malloc'd) into *spec_out.
 * Returns -1 to go on, or the exit status (--help, usage errors). */
static int parse_args(int argc, char **argv, aug_job *job, char **spec_out)
{
    aug_job job0 = {0};
    *job = job0;
    job->copies = 1;
    job->quality = 90;
    job->seed = CK_DEFAULT_SEED;
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    job->threads = nproc > 0 ? (int)nproc : 1;
    char *spec = strdup("");
    const char *keys[] = {
        [OPT_CROP - OPT_CROP] = "crop", [OPT_ROTATE - OPT_CROP] = "rotate",
        [OPT_FLIP - OPT_CROP] = "flip", [OPT_SHIFT - OPT_CROP] = "shift",
        [OPT_ERASE - OPT_CROP] = "erase", [OPT_ERASE_FILL - OPT_CROP] = "erase-fill",
        [OPT_FILL - OPT_CROP] = "fill", [OPT_SIZE - OPT_CROP] = "size",
    };
    char *aug = NULL, *extra = strdup("");
    int c, rc = -1;
    long v;
    ck_cli_name(argv, prog);
    while ((c = getopt_long(argc, argv, "m:o:n:a:j:qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'm': job->manifest = optarg; break;
        case OPT_IMAGES: job->images = optarg; break;
        case 'o': job->outdir = optarg; break;
        case 'n':
            if (ck_cli_parse_long(optarg, 1, 1000000, &v)) {
                rc = ck_cli_usage_error(prog, "invalid number of copies '%s'", optarg);
                goto out;
            }
            job->copies = (int)v;
            break;
        case OPT_INCLUDE_ORIGINAL: job->include_original = 1; break;
        case OPT_BY_CLASS: job->by_class = 1; break;
        case OPT_FORMAT:
            job->format = ck_image_format_from_name(optarg);
            if (job->format == CK_IMAGE_UNKNOWN || strchr(optarg, '.')) {
                rc = ck_cli_usage_error(prog, "unknown format '%s' (png, jpg or webp)", optarg);
                goto out;
            }
            break;
        case OPT_QUALITY:
            if (ck_cli_parse_long(optarg, 1, 100, &v)) {
                rc = ck_cli_usage_error(prog, "invalid quality '%s' (1-100)", optarg);
                goto out;
            }
            job->quality = (int)v;
            break;
        case 'a':
            free(aug);
            aug = strdup(optarg);
            break;
        case OPT_CROP: case OPT_ROTATE: case OPT_FLIP: case OPT_SHIFT:
        case OPT_ERASE: case OPT_ERASE_FILL: case OPT_FILL: case OPT_SIZE:
            if (add_token(&extra, keys[c - OPT_CROP], optarg)) {
                rc = 1;
                goto out;
            }
            break;
        case OPT_SEED: {
            unsigned long long s;
            if (ck_cli_parse_ull(optarg, 0, &s)) {
                rc = ck_cli_usage_error(prog, "invalid seed '%s'", optarg);
                goto out;
            }
            job->seed = s;
            break;
        }
        case 'j':
            if (ck_cli_parse_threads(optarg, 1, &job->threads)) {
                rc = ck_cli_count_error(prog, "--threads", optarg, 1, ck_thread_limit());
                goto out;
            }
            break;
        case OPT_MAX_PIXELS:
            if (ck_cli_max_pixels(prog, optarg)) {
                rc = 2;
                goto out;
            }
            break;
        case OPT_DRY_RUN: job->dry_run = 1; break;
        case OPT_PROGRESS: job->progress = 1; break;
        case 'q': job->quiet = 1; break;
        case 'h':
            usage();
            rc = 0;
            goto out;
        case OPT_VERSION:
            rc = ck_cli_version(prog);
            goto out;
        default:
            rc = ck_cli_try_help(prog);
            goto out;
        }
    }
    if (job->quiet)
        job->progress = -1;
    /* --aug first, then the single options, so that they override it. */
    if (aug) {
        free(spec);
        spec = aug;
        aug = NULL;
    }
    if (*extra) {
        size_t n = strlen(spec) + strlen(extra) + 2;
        char *s = malloc(n);
        if (s)
            snprintf(s, n, "%s%s%s", spec, *spec ? "," : "", extra);
        free(spec);
        spec = s;
    }
    *spec_out = spec;
    spec = NULL;
out:
    free(aug);
    free(extra);
    free(spec);
    return rc;
}

/* The inputs and -o agree: 0, or the usage-error status. */
static int check_inputs(const aug_job *job, int nfiles, char **files, int filter)
{
    int rc;
    if (job->manifest && nfiles)
        rc = ck_cli_usage_error(prog, "give either -m MANIFEST or FILE arguments, not both");
    else if (!job->manifest && !nfiles)
        rc = ck_cli_usage_error(prog, "no input: give FILE arguments or -m MANIFEST");
    else if (!job->outdir && !job->dry_run)
        rc = ck_cli_usage_error(prog, "missing -o DIR (or -o - for one image to stdout)");
    else if (filter && (job->manifest || nfiles != 1))
        rc = ck_cli_usage_error(prog, "-o - takes exactly one input FILE (or '-' for stdin)");
    else if (filter && (job->copies != 1 || job->include_original || job->by_class || job->dry_run))
        rc = ck_cli_usage_error(prog, "-o - writes one image: no -n, --include-original, --by-class or --dry-run");
    else if (!filter) {
        rc = 0;
        for (int i = 0; i < nfiles; i++)
            if (!strcmp(files[i], "-"))
                rc = ck_cli_usage_error(prog, "'-' (stdin) as an input needs -o -");
    } else
        rc = 0;
    int write_dir = !filter && !job->dry_run;
    if (!rc && (ck_cli_input(prog, job->manifest, "--manifest") || ck_cli_input(prog, job->images, "--images") ||
                (write_dir && ck_cli_output(prog, job->outdir, "--output", CK_OUT_FOLDER | CK_OUT_MKDIR))))
        rc = 2;
    return rc;
}

/* The work: one image to stdout, a dry run, or every copy and the
 * manifest. Returns the exit status; frees the job. */
static int run(aug_job *job, int nfiles, char **files, int filter)
{
    int rc;
    if (filter) {
        rc = aug_filter(job, files[0]) ? 1 : 0;
        ck_cli_print_errors(prog);
        aug_job_free(job);
        return rc;
    }
    if (aug_plan(job, nfiles, files)) {
        ck_cli_print_errors(prog);
        aug_job_free(job);
        return 1;
    }
    if (!job->dry_run && aug_check_outputs(job)) {
        aug_job_free(job);
        return ck_cli_usage_from_errors(prog);
    }
    if (job->dry_run) {
        int failed = aug_dry_run(job);
        ck_cli_print_errors(prog);
        aug_job_free(job);
        return failed ? 1 : 0;
    }
    unsigned char *ok = calloc((size_t)job->n + 1, 1);
    if (!ok)
        ck_error("ck-augment", "out of memory");
    int failed = ok ? aug_run(job, ok) : -1;
    if (failed >= 0 && print_manifest(job, ok))
        failed = failed ? failed : -1;
    ck_cli_print_errors(prog);
    if (failed > 0)
        fprintf(stderr, "ck-augment: %d of %d images failed\n", failed, job->n);
    free(ok);
    aug_job_free(job);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    aug_job job;
    char *spec = NULL;
    int rc = parse_args(argc, argv, &job, &spec);
    if (rc >= 0)
        return rc;
    if (!spec) {
        fputs("ck-augment: out of memory\n", stderr);
        return 1;
    }
    job.spec = ck_aug_spec_parse(spec);
    free(spec);
    if (!job.spec) {
        char *msg = ck_error_take();
        size_t n = strlen(msg);
        if (n && msg[n - 1] == '\n')
            msg[n - 1] = '\0';
        rc = ck_cli_usage_error(prog, "%s", msg);
        free(msg);
        return rc;
    }
    ck_aug_spec_size(job.spec, &job.out_w, &job.out_h);

    int nfiles = argc - optind;
    char **files = argv + optind;
    int filter = job.outdir && !strcmp(job.outdir, "-");
    rc = check_inputs(&job, nfiles, files, filter);
    if (rc) {
        ck_aug_spec_free(job.spec);
        return rc;
    }
    if (ck_image_init(argv[0])) {
        ck_cli_print_errors(prog);
        ck_aug_spec_free(job.spec);
        return 1;
    }
    if (!job.quiet && !filter) {
        char *canon = ck_aug_spec_to_string(job.spec);
        fprintf(stderr, "ck-augment: seed %llu, spec %s\n", (unsigned long long)job.seed,
                canon ? canon : "?");
        free(canon);
    }
    return run(&job, nfiles, files, filter);
}
