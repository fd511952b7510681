/* ck-features — run a backbone (no head) over images and write what it
 * computes as a NumPy .npy file, one float32 row per image, with the
 * images' names beside it: features for gradient boosting or for a look
 * in Python. */
#include "common/cli.h"

#include "ck/backend.h"
#include "ck/error.h"
#include "ck/features.h"
#include "ck/fs.h"
#include "ck/image.h"
#include "ck/table.h"
#include "ck/threads.h"
#include "ck/weights.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 4096 /* images in flight twice over, plus activations */

static const char prog[] = "ck-features";

static void usage(FILE *f)
{
    fputs("Usage: ck-features --weights FILE -m MANIFEST [--images DIR] [OPTION]... -o OUT.npy\n"
          "       ck-features --weights FILE [OPTION]... -o OUT.npy IMAGE...\n"
          "Run a pretrained backbone (no head) over images and write its output as a NumPy\n"
          ".npy file: one float32 row per image, in manifest (or argument) order, for\n"
          "gradient boosting or for inspecting in Python (numpy.load).\n"
          "\n"
          "Input and output:\n"
          "  -w, --weights FILE     backbone weights (.h5 or .safetensors, see ck-weights)\n"
          "  -m, --manifest FILE    table of images (its file column, e.g. train_master.tsv\n"
          "                         or a sample submission); rows in its order\n"
          "  -i, --images DIR       folder the manifest's (or the arguments') file names are\n"
          "                         relative to (default: as written)\n"
          "  -o, --output FILE      .npy file to write (atomically; not '-': numpy.load\n"
          "                         needs a file)\n"
          "      --names FILE       the rows' names, one per line in row order, as written\n"
          "                         in the manifest or on the command line (default\n"
          "                         OUT.npy.names)\n"
          "\n"
          "Features:\n"
          "      --layer NAME       backbone layer whose output is written, by its Keras\n"
          "                         name (default the last: block5_pool, conv5_block3_out)\n"
          "      --pool P           avg (default): mean over positions, one value per\n"
          "                         channel; max: the largest; flatten: the whole map\n"
          "                         (h*w*c values, NHWC order); none: the map as a 4-D\n"
          "                         array (n, h, w, c)\n"
          "      --input-size N     images are resized to NxN, a multiple of 32 (default\n"
          "                         32, as ck-finetune), like ck-predict and ck-finetune do\n"
          "      --tta VIEWS        average the rows of test-time views: none (default),\n"
          "                         flip, shift, flip,shift (as ck-predict); with --pool\n"
          "                         avg or max only\n"
          "\n"
          "Running:\n"
          "  -b, --batch N          images per forward pass (default 64 up to 64 px, else 16)\n"
          "  -j, --threads N        compute threads (default: all cores)\n"
          "      --loaders N        image decoding threads (default 1; on a GPU all cores\n"
          "                         but one, up to 16)\n"
          "      --max-pixels N     refuse images whose header claims more pixels\n"
          "                         (default 100000000, or CK_MAX_PIXELS)\n"
          "      --device DEV       cpu, cuda, cuda:N or auto (default)\n"
          "      --conv-algo A      auto (default: bf16 on a GPU, fp32 or Winograd on the\n"
          "                         CPU, by shape, so rows move by ~1e-4 with --batch),\n"
          "                         fp32, winograd or bf16\n"
          "      --progress         show the progress bar even when stderr is not a tty\n"
          "  -h, --help             display this help and exit\n"
          "      --version          show the version and the compute backends built in\n"
          "\n"
          "Exit status: 0 success, 1 runtime error (nothing written), 2 usage error\n"
          "(also an unknown --layer, named after the weights are read).\n",
          f);
}

enum { OPT_NAMES = 256, OPT_LAYER, OPT_POOL, OPT_INPUT_SIZE, OPT_PROGRESS, OPT_VERSION };

static const struct option longopts[] = {
    {"weights", required_argument, 0, 'w'},
    {"manifest", required_argument, 0, 'm'},
    {"images", required_argument, 0, 'i'},
    {"output", required_argument, 0, 'o'},
    {"names", required_argument, 0, OPT_NAMES},
    {"layer", required_argument, 0, OPT_LAYER},
    {"pool", required_argument, 0, OPT_POOL},
    {"input-size", required_argument, 0, OPT_INPUT_SIZE},
    {"progress", no_argument, 0, OPT_PROGRESS},
    CK_CLI_RUN_LONGOPTS,
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, OPT_VERSION},
    {0, 0, 0, 0},
};

typedef struct args {
    const char *weights, *manifest, *images, *out, *names;
    char *names_default;
    ck_cli_run run;
    ck_features_options o;
} args;

static int parse_option(void *ctx, int c)
{
    args *a = ctx;
    long v;
    int run = ck_cli_run_option(prog, c, optarg, &a->run);
    if (run != 1)
        return run;
    switch (c) {
    case 'w': a->weights = optarg; break;
    case 'm': a->manifest = optarg; break;
    case 'i': a->images = optarg; break;
    case 'o': a->out = optarg; break;
    case OPT_NAMES: a->names = optarg; break;
    case OPT_LAYER:
        if (!*optarg)
            return ck_cli_usage_error(prog, "--layer needs a layer name");
        a->o.layer = optarg;
        break;
    case OPT_POOL:
        if (ck_feat_pool_parse(optarg, &a->o.pool)) {
            ck_error_clear();
            return ck_cli_usage_error(prog, "--pool must be avg, max, flatten or none, not '%s'", optarg);
        }
        break;
    case OPT_INPUT_SIZE:
        if (ck_cli_parse_long(optarg, 32, 1024, &v) || v % 32)
            return ck_cli_usage_error(prog, "--input-size must be a multiple of 32 from 32 to 1024, not '%s'",
                                      optarg);
        a->o.input_size = (int)v;
        break;
    case OPT_PROGRESS: a->o.progress = 1; break;
    case 'h': usage(stdout); return 0;
    case OPT_VERSION: return ck_cli_version_backends(prog);
    default: return ck_cli_try_help(prog);
    }
    return -1;
}

/* Options, then what they must go with; -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    ck_features_options_init(&a->o);
    a->run.max_batch = MAX_BATCH;
    int rc = ck_cli_options(argc, argv, prog, "w:m:i:o:b:j:h", longopts, parse_option, a);
    if (rc >= 0)
        return rc;
    CK_CLI_RUN_APPLY(&a->run, &a->o);
    if (!a->weights)
        return ck_cli_usage_error(prog, "no weights: give --weights FILE");
    if (!a->manifest && optind >= argc)
        return ck_cli_usage_error(prog, "no images: give -m MANIFEST or image files");
    if (a->manifest && optind < argc)
        return ck_cli_usage_error(prog, "give -m MANIFEST or image files, not both ('%s')", argv[optind]);
    if (!a->out)
        return ck_cli_usage_error(prog, "no output: give -o OUT.npy");
    if (strcmp(a->out, "-") == 0)
        return ck_cli_usage_error(prog, "-o -: a .npy file cannot go to standard output (numpy.load needs a "
                                  "file); give a file name");
    if (a->o.nviews > 1 && (a->o.pool == CK_FEAT_FLATTEN || a->o.pool == CK_FEAT_NONE))
        return ck_cli_usage_error(prog, "--tta goes with --pool avg or max (a flipped image's map holds its "
                                  "values at mirrored positions)");
    if (!a->names) {
        a->names_default = malloc(strlen(a->out) + sizeof ".names");
        if (!a->names_default)
            return ck_cli_usage_error(prog, "out of memory");
        strcpy(a->names_default, a->out);
        strcat(a->names_default, ".names");
        a->names = a->names_default;
    }
    int bad = ck_cli_input(prog, a->weights, "--weights") || ck_cli_input(prog, a->manifest, "-m") ||
              ck_cli_input(prog, a->images, "--images");
    for (int k = optind; k < argc && !bad; k++)
        bad = ck_cli_input(prog, argv[k], "IMAGE");
    if (!bad && strcmp(a->names, a->out) == 0)
        return ck_cli_usage_error(prog, "--names and -o are the same file");
    return bad || ck_cli_output(prog, a->out, "-o", 0) || ck_cli_output(prog, a->names, "--names", 0) ? 2 : -1;
}

/* The rows: names as written, image paths resolved against --images. */
typedef struct rows {
    int n;
    const char **names;
    char **paths;
    ck_manifest *m;
} rows;

static int rows_make(rows *r, const args *a, char **files, int nfiles)
{
    memset(r, 0, sizeof *r);
    if (a->manifest && !(r->m = ck_manifest_read(a->manifest)))
        return -1;
    r->n = r->m ? ck_manifest_count(r->m) : nfiles;
    r->names = calloc((size_t)r->n + 1, sizeof *r->names);
    r->paths = calloc((size_t)r->n + 1, sizeof *r->paths);
    if (!r->names || !r->paths) {
        ck_error(prog, "out of memory");
        return -1;
    }
    for (int i = 0; i < r->n; i++) {
        r->names[i] = r->m ? ck_manifest_file(r->m, i) : files[i];
        if (strchr(r->names[i], '\n')) {
            ck_error(prog, "%s: row %d: a file name with a line break cannot go into the names file",
                     a->manifest ? a->manifest : "arguments", i + 1);
            return -1;
        }
        r->paths[i] = ck_path_join(a->images, r->names[i]);
        if (!r->paths[i]) {
            ck_error(prog, "out of memory");
            return -1;
        }
    }
    return 0;
}

static void rows_free(rows *r)
{
    for (int i = 0; r->paths && i < r->n; i++)
        free(r->paths[i]);
    free(r->paths);
    free(r->names);
    ck_manifest_free(r->m);
}

/* The names file is written first and moved into place only after the
 * .npy, so a failed run leaves neither. */
static ck_atomic_file *write_names(const char *path, const rows *r)
{
    ck_atomic_file *f = ck_atomic_open(path, 0);
    FILE *s = f ? ck_atomic_stream(f) : NULL;
    for (int i = 0; s && i < r->n; i++)
        fprintf(s, "%s\n", r->names[i]);
    return f;
}

static int features(args *a, char **files, int nfiles)
{
    rows r;
    int rc = rows_make(&r, a, files, nfiles);
    ck_weights *w = rc ? NULL : ck_weights_load(a->weights);
    if (!rc && !w)
        rc = 1;
    if (!rc && ck_features_check_layer(w, a->o.layer)) {
        rows_free(&r);
        ck_weights_free(w);
        return ck_cli_usage_from_errors(prog);
    }
    ck_features *f = rc ? NULL : ck_features_new(w, &a->o);
    ck_weights_free(w); /* the model holds its own copy */
    rc = rc || !f;
    ck_atomic_file *names = rc ? NULL : write_names(a->names, &r);
    rc = rc || !names ||
         ck_features_run(f, (const char *const *)r.paths, r.n, a->out, 0);
    if (rc) {
        ck_atomic_abort(names);
    } else if (ck_atomic_commit(names)) {
        remove(a->out); /* rows without their names would be misread */
        rc = 1;
    }
    if (!rc) {
        int ndim;
        int64_t d[3];
        ck_features_row_shape(f, &ndim, d);
        char shape[64];
        int k = snprintf(shape, sizeof shape, "(%d", r.n);
        for (int i = 0; i < ndim; i++)
            k += snprintf(shape + k, sizeof shape - (size_t)k, ", %lld", (long long)d[i]);
        fprintf(stderr, "%s: wrote %s %s) of %s (%s) and %s\n", prog, a->out, shape, ck_features_layer(f),
                ck_feat_pool_name(a->o.pool), a->names);
    }
    ck_features_free(f);
    rows_free(&r);
    return rc ? ck_cli_fail(NULL) : 0;
}

int main(int argc, char **argv)
{
    ck_cli_blas_setup(argv);
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc < 0)
        rc = ck_image_init(argv[0]) ? ck_cli_fail(NULL) : features(&a, argv + optind, argc - optind);
    free(a.names_default);
    return rc;
}
