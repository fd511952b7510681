/* ck-predict — write a contest submission from trained checkpoints:
 * one row per test image, in the sample submission's order, with the
 * probabilities averaged over an ensemble of models and TTA views. */
#include "ck-predict/predict_internal.h"
#include "common/cli.h"
#include "ck/fs.h"

#include "ck/backend.h"
#include "ck/error.h"
#include "ck/image.h"
#include "ck/predict.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODELS 64
#define MAX_BATCH 4096 /* images in flight twice over, plus activations */

static void usage(FILE *f)
{
    fputs("Usage: ck-predict -m MODEL.ckpt [-m MODEL2.ckpt]... --images DIR [OPTION]... -o OUT.csv\n"
          "       ck-predict --merge OUT.csv SHARD...\n"
          "Predict class probabilities for every test image and write a submission.\n"
          "\n"
          "Input and output:\n"
          "  -m, --model FILE       checkpoint written by ck-finetune; repeat for an ensemble\n"
          "                         (e.g. k-fold models): probabilities are averaged; all\n"
          "                         models must have the same classes in the same order\n"
          "  -i, --images DIR       folder of test images\n"
          "      --order FILE       sample submission: write its rows in its order (first\n"
          "                         column; '.png' etc. is appended when an id has no file)\n"
          "                         and, unless told otherwise, its separator and header;\n"
          "                         without it, every image of DIR in natural order\n"
          "  -o, --output FILE      submission to write (atomically; '-': stdout)\n"
          "  -w, --weights FILE     base weights file, when not where training recorded it\n"
          "\n"
          "Format:\n"
          "  -f, --format FMT       probs: file name, then one probability per class in\n"
          "                         label-id order (SIGNATE; default); label: file name\n"
          "                         and the predicted label id; manifest: pseudo-labels,\n"
          "                         file_name<TAB>label_id (train_master.tsv's shape)\n"
          "                         for the rows whose top probability is >= --min-prob,\n"
          "                         with a count per class on stderr\n"
          "      --min-prob P       --format manifest: the threshold (default 0: every\n"
          "                         row with a prediction)\n"
          "      --label-names      --format label: write class names instead of ids\n"
          "      --header           write a header line (the sample's when it has the same\n"
          "                         number of columns, else file_name + class names)\n"
          "      --no-header        write no header line, even if the sample has one\n"
          "      --sep SEP          field separator: ',' (default), 'tab', ';', ...\n"
          "      --precision N      significant digits per probability (default 6)\n"
          "      --clip EPS         clip probabilities to [EPS, 1-EPS], then renormalise\n"
          "                         each row to sum 1 (protects against log(0))\n"
          "\n"
          "Prediction:\n"
          "      --tta VIEWS        average over views: none (default), flip, shift,\n"
          "                         flip,shift (see ck-predict(1))\n"
          "  -b, --batch N          images per forward pass (default 64 up to 64 px, else 16)\n"
          "  -j, --threads N        compute threads (default: all cores)\n"
          "      --loaders N        image decoding threads (default 1; on a GPU all cores\n"
          "                         but one, up to 16)\n"
          "      --max-pixels N     refuse images whose header claims more pixels\n"
          "                         (default 100000000, or CK_MAX_PIXELS)\n"
          "      --device DEV       cpu, cuda, cuda:N or auto (default)\n"
          "      --conv-algo A      frozen convolutions: auto, fp32, winograd or bf16\n"
          "                         (default: what the checkpoint recorded, usually auto:\n"
          "                         bf16 on a GPU, fp32/Winograd on the CPU)\n"
          "      --shard I/N        predict only rows whose index % N == I and write a\n"
          "                         shard file; join the shards with --merge\n"
          "      --merge OUT        join shard files (the arguments) into OUT\n"
          "      --allow-missing    missing or unreadable images get uniform probabilities\n"
          "                         (with a warning) instead of failing\n"
          "      --progress         show the progress bar even when stderr is not a tty\n"
          "  -h, --help             display this help and exit\n"
          "      --version          show the version and the compute backends built in\n"
          "\n"
          "Exit status: 0 success, 1 runtime error (nothing written), 2 usage error.\n",
          f);
}

static const char prog[] = "ck-predict";

static int parse_sep(const char *s, char *out)
{
    if (strcmp(s, "tab") == 0 || strcmp(s, "\\t") == 0 || strcmp(s, "\t") == 0)
        *out = '\t';
    else if (strlen(s) == 1 && s[0] != '"' && s[0] != '\n')
        *out = s[0];
    else
        return -1;
    return 0;
}

/* Missing images: an error naming them, or uniform rows with a warning. */
static int check_missing(const pred_rows *r, const char *images, int shard, int nshards, int allow)
{
    int missing = 0, first = -1;
    for (int i = 0; i < r->n; i++)
        if (i % nshards == shard && !r->paths[i]) {
            if (allow && missing < 10)
                fprintf(stderr, "ck-predict: warning: image '%s' not found in %s: writing uniform probabilities\n",
                        r->names[i], images);
            if (!missing++)
                first = i;
        }
    if (!missing)
        return 0;
    if (allow) {
        if (missing > 10)
            fprintf(stderr, "ck-predict: warning: %d images missing in all\n", missing);
        return 0;
    }
    ck_error("ck-predict", "image '%s' not found in %s (%d missing in all; --allow-missing writes uniform "
             "probabilities for them)", r->names[first], images, missing);
    return -1;
}

/* The library's warnings (unreadable images with --allow-missing). */
static void warn(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "ck-predict: warning: %s", msg);
}

enum { OPT_ORDER = 256, OPT_LABEL_NAMES, OPT_HEADER, OPT_NO_HEADER, OPT_SEP, OPT_PRECISION, OPT_CLIP,
       OPT_SHARD, OPT_MERGE, OPT_ALLOW_MISSING, OPT_PROGRESS, OPT_VERSION, OPT_MIN_PROB };

static const struct option longopts[] = {
    {"model", required_argument, 0, 'm'},
    {"images", required_argument, 0, 'i'},
    {"order", required_argument, 0, OPT_ORDER},
    {"output", required_argument, 0, 'o'},
    {"weights", required_argument, 0, 'w'},
    {"format", required_argument, 0, 'f'},
    {"min-prob", required_argument, 0, OPT_MIN_PROB},
    {"label-names", no_argument, 0, OPT_LABEL_NAMES},
    {"header", no_argument, 0, OPT_HEADER},
    {"no-header", no_argument, 0, OPT_NO_HEADER},
    {"sep", required_argument, 0, OPT_SEP},
    {"precision", required_argument, 0, OPT_PRECISION},
    {"clip", required_argument, 0, OPT_CLIP},
    {"shard", required_argument, 0, OPT_SHARD},
    {"merge", required_argument, 0, OPT_MERGE},
    {"allow-missing", no_argument, 0, OPT_ALLOW_MISSING},
    {"progress", no_argument, 0, OPT_PROGRESS},
    CK_CLI_RUN_LONGOPTS,
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, OPT_VERSION},
    {0, 0, 0, 0},
};

/* The command line. */
typedef struct args {
    const char *models[MAX_MODELS];
    int nmodels;
    const char *images, *order, *out, *merge;
    int header; /* -1: the sample's */
    int sep_given;
    char sep;
    int manifest, min_prob_given; /* --format manifest, --min-prob */
    double min_prob;
    ck_submission_format fmt;
    ck_cli_run run;
    ck_predict_options o;
} args;

/* One option; returns -1 to go on, else the exit status. */
static int parse_option(void *ctx, int c)
{
    args *a = ctx;
    long v;
    int run = ck_cli_run_option(prog, c, optarg, &a->run);
    if (run != 1)
        return run;
    switch (c) {
    case 'm':
        if (a->nmodels == MAX_MODELS)
            return ck_cli_usage_error(prog, "too many models");
        a->models[a->nmodels++] = optarg;
        break;
    case 'i': a->images = optarg; break;
    case OPT_ORDER: a->order = optarg; break;
    case 'o': a->out = optarg; break;
    case 'w': a->o.weights = optarg; break;
    case 'f':
        if (strcmp(optarg, "probs") == 0)
            a->fmt.kind = CK_SUB_PROBS;
        else if (strcmp(optarg, "label") == 0)
            a->fmt.kind = CK_SUB_LABEL;
        else if (strcmp(optarg, "manifest") != 0)
            return ck_cli_usage_error(prog, "unknown --format (probs, label or manifest): '%s'", optarg);
        a->manifest = strcmp(optarg, "manifest") == 0;
        break;
    case OPT_MIN_PROB:
        if (ck_cli_parse_double(optarg, &a->min_prob) || !(a->min_prob >= 0 && a->min_prob <= 1))
            return ck_cli_usage_error(prog, "--min-prob must be a probability in [0, 1], not '%s'", optarg);
        a->min_prob_given = 1;
        break;
    case OPT_LABEL_NAMES: a->fmt.label_names = 1; break;
    case OPT_HEADER: a->header = 1; break;
    case OPT_NO_HEADER: a->header = 0; break;
    case OPT_SEP:
        if (parse_sep(optarg, &a->sep))
            return ck_cli_usage_error(prog, "invalid --sep '%s'", optarg);
        a->sep_given = 1;
        break;
    case OPT_PRECISION:
        if (ck_cli_parse_long(optarg, 1, 17, &v))
            return ck_cli_usage_error(prog, "--precision must be 1..17, not '%s'", optarg);
        a->fmt.precision = (int)v;
        break;
    case OPT_CLIP:
        if (ck_cli_parse_double(optarg, &a->fmt.clip) || !(a->fmt.clip >= 0 && a->fmt.clip < 0.5))
            return ck_cli_usage_error(prog, "--clip must be a number in [0, 0.5), not '%s'", optarg);
        break;
    case OPT_SHARD: {
        int n = 0;
        if (sscanf(optarg, "%d/%d%n", &a->o.shard, &a->o.nshards, &n) != 2 || optarg[n] || a->o.nshards < 1 ||
            a->o.shard < 0 || a->o.shard >= a->o.nshards)
            return ck_cli_usage_error(prog, "--shard wants I/N with 0 <= I < N, not '%s'", optarg);
        break;
    }
    case OPT_MERGE: a->merge = optarg; break;
    case OPT_ALLOW_MISSING: a->o.allow_missing = 1; break;
    case OPT_PROGRESS: a->o.progress = 1; break;
    case 'h': usage(stdout); return 0;
    case OPT_VERSION: return ck_cli_version_backends(prog);
    default: return ck_cli_try_help(prog);
    }
    return -1;
}

/* Options, then what they must go with; returns -1 to go on, else the
 * exit status. */
static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->header = -1;
    a->sep = ',';
    ck_submission_format_init(&a->fmt);
    ck_predict_options_init(&a->o);
    a->run.max_batch = MAX_BATCH;
    a->o.warn = warn;
    int rc = ck_cli_options(argc, argv, prog, "m:i:o:w:f:b:j:h", longopts, parse_option, a);
    if (rc >= 0)
        return rc;
    CK_CLI_RUN_APPLY(&a->run, &a->o);
    a->o.set_conv_algo = a->run.set_conv_algo;
    if (a->merge) {
        if (optind >= argc)
            return ck_cli_usage_error(prog, "--merge needs the shard files as arguments");
        if (a->nmodels || a->images || a->out)
            return ck_cli_usage_error(prog, "--merge takes only OUT and the shard files");
        for (int k = optind; k < argc; k++)
            if (ck_cli_input(prog, argv[k], "SHARD"))
                return 2;
        return ck_cli_output(prog, a->merge, "--merge", CK_OUT_SYNC | CK_OUT_STDOUT) ? 2 : -1;
    }
    if (optind < argc)
        return ck_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
    if (!a->nmodels)
        return ck_cli_usage_error(prog, "no model: give -m MODEL.ckpt");
    if (!a->images)
        return ck_cli_usage_error(prog, "no test images: give --images DIR");
    if (!a->out)
        return ck_cli_usage_error(prog, "no output: give -o OUT.csv");
    if (a->fmt.label_names && (a->fmt.kind != CK_SUB_LABEL || a->manifest))
        return ck_cli_usage_error(prog, "--label-names goes with --format label");
    if (a->min_prob_given && !a->manifest)
        return ck_cli_usage_error(prog, "--min-prob goes with --format manifest");
    if (a->manifest && a->o.nshards > 1)
        return ck_cli_usage_error(prog, "--format manifest cannot be combined with --shard");
    int bad = ck_cli_input(prog, a->images, "--images") || ck_cli_input(prog, a->order, "--order") ||
              ck_cli_input(prog, a->o.weights, "--weights");
    for (int m = 0; m < a->nmodels && !bad; m++)
        bad = ck_cli_input(prog, a->models[m], "-m");
    return bad || ck_cli_output(prog, a->out, "-o", CK_OUT_SYNC | CK_OUT_STDOUT) ? 2 : -1;
}

/* Write the submission in the shape asked for: explicit options, else the
 * sample's. */
static int write_output(args *a, const pred_rows *rows, ck_submission *s, const char *const *names)
{
    ck_submission_format *fmt = &a->fmt;
    const ck_predict_options *o = &a->o;
    int ncols = fmt->kind == CK_SUB_PROBS ? 1 + ck_submission_nclass(s) : 2;
    fmt->sep = a->sep_given ? a->sep : (a->order ? rows->sample_sep : ',');
    fmt->header = a->header >= 0 ? a->header : rows->sample_header;
    if (fmt->header && rows->sample_header && rows->sample_ncols == ncols)
        fmt->header_cells = (const char *const *)rows->header_cells;
    fmt->class_names = (const char **)names;
    int rc = o->nshards > 1 ? ck_submission_write_shard(s, a->out, fmt, o->shard, o->nshards)
                            : ck_submission_write(s, a->out, fmt);
    if (!rc)
        fprintf(stderr, "ck-predict: wrote %s (%d rows%s, %d model%s x %d view%s)\n", a->out,
                o->nshards > 1 ? (rows->n - o->shard + o->nshards - 1) / o->nshards : rows->n,
                o->nshards > 1 ? " of a shard" : "", a->nmodels, a->nmodels > 1 ? "s" : "", o->nviews,
                o->nviews > 1 ? "s" : "");
    return rc;
}

static int predict(args *a)
{
    ck_predict *p = ck_predict_new(a->models, a->nmodels, &a->o);
    pred_rows rows = {0};
    int rc = !p;
    if (!rc)
        rc = a->order ? rows_from_order(&rows, a->order, a->images) : rows_from_folder(&rows, a->images);
    if (!rc)
        rc = check_missing(&rows, a->images, a->o.shard, a->o.nshards, a->o.allow_missing);
    if (!rc && a->order && a->fmt.kind == CK_SUB_PROBS && !a->manifest)
        rc = rows_check_classes(&rows, a->order, a->models[0], ck_predict_num_classes(p));
    ck_submission *s = rc ? NULL : ck_predict_run(p, (const char *const *)rows.names,
                                                  (const char *const *)rows.paths, rows.n);
    rc = rc || !s ||
         (a->manifest ? write_pseudo(&rows, a->images, s, a->out, a->min_prob, ck_predict_class_ids(p),
                                     ck_predict_class_names(p))
                      : write_output(a, &rows, s, ck_predict_class_names(p)));
    ck_submission_free(s);
    rows_free(&rows);
    ck_predict_free(p);
    return rc;
}

int main(int argc, char **argv)
{
    ck_cli_blas_setup(argv);
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.merge)
        return ck_submission_merge(a.merge, (const char *const *)argv + optind, argc - optind) ? ck_cli_fail(NULL)
                                                                                              : 0;
    if (ck_image_init(argv[0]) || predict(&a))
        return ck_cli_fail(NULL);
    return 0;
}
