/* ck-predict — write a contest submission from trained checkpoints:
 * one row per test image, in the sample submission's order, with the
 * probabilities averaged over an ensemble of models and TTA views. */
#include "ck-predict/predict_internal.h"
#include "common/cli.h"

#include "ck/backend.h"
#include "ck/checkpoint.h"
#include "ck/error.h"
#include "ck/image.h"

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
          "  -o, --output FILE      submission to write (atomically)\n"
          "  -w, --weights FILE     base weights file, when not where training recorded it\n"
          "\n"
          "Format:\n"
          "  -f, --format FMT       probs: file name, then one probability per class in\n"
          "                         label-id order (SIGNATE; default); label: file name\n"
          "                         and the predicted label id\n"
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

/* Every model of an ensemble must mean the same thing by column k. */
static int same_classes(ck_checkpoint *a, ck_checkpoint *b)
{
    int n = ck_checkpoint_num_classes(a);
    if (ck_checkpoint_num_classes(b) != n) {
        ck_error("ck-predict", "%s has %d classes but %s has %d: an ensemble needs the same classes",
                 ck_checkpoint_path(b), ck_checkpoint_num_classes(b), ck_checkpoint_path(a), n);
        return -1;
    }
    for (int k = 0; k < n; k++)
        if (strcmp(ck_checkpoint_class_id(a, k), ck_checkpoint_class_id(b, k)) != 0 ||
            strcmp(ck_checkpoint_class_name(a, k), ck_checkpoint_class_name(b, k)) != 0) {
            ck_error("ck-predict", "%s and %s differ in class %d ('%s' vs '%s'): an ensemble needs the same classes",
                     ck_checkpoint_path(a), ck_checkpoint_path(b), k, ck_checkpoint_class_name(a, k),
                     ck_checkpoint_class_name(b, k));
            return -1;
        }
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

enum { OPT_ORDER = 256, OPT_LABEL_NAMES, OPT_HEADER, OPT_NO_HEADER, OPT_SEP, OPT_PRECISION, OPT_CLIP, OPT_TTA,
       OPT_LOADERS, OPT_DEVICE, OPT_CONV_ALGO, OPT_SHARD, OPT_MERGE, OPT_ALLOW_MISSING, OPT_PROGRESS,
       OPT_MAX_PIXELS };

int main(int argc, char **argv)
{
    ck_cli_blas_setup(argv);
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},
        {"images", required_argument, 0, 'i'},
        {"order", required_argument, 0, OPT_ORDER},
        {"output", required_argument, 0, 'o'},
        {"weights", required_argument, 0, 'w'},
        {"format", required_argument, 0, 'f'},
        {"label-names", no_argument, 0, OPT_LABEL_NAMES},
        {"header", no_argument, 0, OPT_HEADER},
        {"no-header", no_argument, 0, OPT_NO_HEADER},
        {"sep", required_argument, 0, OPT_SEP},
        {"precision", required_argument, 0, OPT_PRECISION},
        {"clip", required_argument, 0, OPT_CLIP},
        {"tta", required_argument, 0, OPT_TTA},
        {"batch", required_argument, 0, 'b'},
        {"threads", required_argument, 0, 'j'},
        {"loaders", required_argument, 0, OPT_LOADERS},
        {"device", required_argument, 0, OPT_DEVICE},
        {"conv-algo", required_argument, 0, OPT_CONV_ALGO},
        {"shard", required_argument, 0, OPT_SHARD},
        {"merge", required_argument, 0, OPT_MERGE},
        {"allow-missing", no_argument, 0, OPT_ALLOW_MISSING},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"max-pixels", required_argument, 0, OPT_MAX_PIXELS},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *models[MAX_MODELS], *images = NULL, *order = NULL, *out = NULL, *merge = NULL;
    int nmodels = 0, header = -1, sep_given = 0, algo_given = 0, c;
    ck_conv_algo algo = CK_CONV_AUTO;
    char sep = ',';
    ck_submission_format fmt;
    ck_submission_format_init(&fmt);
    ck_view views[CK_MAX_VIEWS] = {CK_VIEW_ORIGINAL};
    pred_opts o = {.views = views, .nviews = 1, .nshards = 1, .loaders = 0};
    long v;
    while ((c = getopt_long(argc, argv, "m:i:o:w:f:b:j:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (nmodels == MAX_MODELS)
                return ck_cli_usage_error(prog, "too many models");
            models[nmodels++] = optarg;
            break;
        case 'i': images = optarg; break;
        case OPT_ORDER: order = optarg; break;
        case 'o': out = optarg; break;
        case 'w': o.weights = optarg; break;
        case 'f':
            if (strcmp(optarg, "probs") == 0)
                fmt.kind = CK_SUB_PROBS;
            else if (strcmp(optarg, "label") == 0)
                fmt.kind = CK_SUB_LABEL;
            else
                return ck_cli_usage_error(prog, "unknown --format (probs or label): '%s'", optarg);
            break;
        case OPT_LABEL_NAMES: fmt.label_names = 1; break;
        case OPT_HEADER: header = 1; break;
        case OPT_NO_HEADER: header = 0; break;
        case OPT_SEP:
            if (parse_sep(optarg, &sep))
                return ck_cli_usage_error(prog, "invalid --sep '%s'", optarg);
            sep_given = 1;
            break;
        case OPT_PRECISION:
            if (ck_cli_parse_long(optarg, 1, 17, &v))
                return ck_cli_usage_error(prog, "--precision must be 1..17, not '%s'", optarg);
            fmt.precision = (int)v;
            break;
        case OPT_CLIP:
            if (ck_cli_parse_double(optarg, &fmt.clip) || !(fmt.clip >= 0 && fmt.clip < 0.5))
                return ck_cli_usage_error(prog, "--clip must be a number in [0, 0.5), not '%s'", optarg);
            break;
        case OPT_TTA:
            if ((o.nviews = ck_tta_parse(optarg, views)) < 0) {
                ck_cli_fail(NULL);
                return ck_cli_try_help(prog);
            }
            break;
        case 'b':
            if (ck_cli_parse_long(optarg, 1, MAX_BATCH, &v))
                return ck_cli_count_error(prog, "--batch", optarg, 1, MAX_BATCH);
            o.batch = (int)v;
            break;
        case 'j':
            if (ck_cli_parse_threads(optarg, 0, &o.threads))
                return ck_cli_count_error(prog, "--threads", optarg, 0, ck_thread_limit());
            break;
        case OPT_LOADERS:
            if (ck_cli_parse_threads(optarg, 1, &o.loaders))
                return ck_cli_count_error(prog, "--loaders", optarg, 1, ck_thread_limit());
            break;
        case OPT_MAX_PIXELS:
            if (ck_cli_max_pixels(prog, optarg))
                return 2;
            break;
        case OPT_DEVICE:
            if (!ck_device_name_valid(optarg))
                return ck_cli_usage_error(prog, "--device must be cpu, cuda, cuda:N or auto, not '%s'", optarg);
            o.device = optarg;
            break;
        case OPT_CONV_ALGO:
            if (ck_conv_algo_parse(optarg, &algo) != 0) {
                ck_error_clear();
                return ck_cli_usage_error(prog, "--conv-algo must be auto, fp32, winograd or bf16, not '%s'", optarg);
            }
            algo_given = 1;
            break;
        case OPT_SHARD: {
            int n = 0;
            if (sscanf(optarg, "%d/%d%n", &o.shard, &o.nshards, &n) != 2 || optarg[n] || o.nshards < 1 ||
                o.shard < 0 || o.shard >= o.nshards)
                return ck_cli_usage_error(prog, "--shard wants I/N with 0 <= I < N, not '%s'", optarg);
            break;
        }
        case OPT_MERGE: merge = optarg; break;
        case OPT_ALLOW_MISSING: o.allow_missing = 1; break;
        case OPT_PROGRESS: o.progress = 1; break;
        case 'h': usage(stdout); return 0;
        default: return ck_cli_try_help(prog);
        }
    }
    if (merge) {
        if (optind >= argc)
            return ck_cli_usage_error(prog, "--merge needs the shard files as arguments");
        if (nmodels || images || out)
            return ck_cli_usage_error(prog, "--merge takes only OUT and the shard files");
        if (ck_submission_merge(merge, (const char *const *)argv + optind, argc - optind))
            return ck_cli_fail(NULL);
        return 0;
    }
    if (optind < argc)
        return ck_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
    if (!nmodels)
        return ck_cli_usage_error(prog, "no model: give -m MODEL.ckpt");
    if (!images)
        return ck_cli_usage_error(prog, "no test images: give --images DIR");
    if (!out)
        return ck_cli_usage_error(prog, "no output: give -o OUT.csv");
    if (fmt.label_names && fmt.kind != CK_SUB_LABEL)
        return ck_cli_usage_error(prog, "--label-names goes with --format label");

    if (ck_image_init(argv[0]))
        return ck_cli_fail(NULL);
    int rc = 0;
    ck_checkpoint *ckpts[MAX_MODELS] = {0};
    for (int m = 0; m < nmodels && !rc; m++) {
        ckpts[m] = ck_checkpoint_load(models[m]);
        rc = !ckpts[m] || (m && same_classes(ckpts[0], ckpts[m]));
        if (!rc && algo_given)
            ck_checkpoint_set_conv_algo(ckpts[m], algo);
    }
    pred_rows rows = {0};
    if (!rc)
        rc = order ? rows_from_order(&rows, order, images) : rows_from_folder(&rows, images);
    if (!rc)
        rc = check_missing(&rows, images, o.shard, o.nshards, o.allow_missing);
    if (!rc && order && fmt.kind == CK_SUB_PROBS)
        rc = rows_check_classes(&rows, order, models[0], ck_checkpoint_num_classes(ckpts[0]));
    ck_submission *s = NULL;
    const char **names = NULL;
    if (!rc) {
        int K = ck_checkpoint_num_classes(ckpts[0]);
        s = ck_submission_new(rows.n, K, CK_SUB_PROBS);
        names = calloc((size_t)K, sizeof *names);
        rc = !s || !names;
        for (int k = 0; !rc && k < K; k++)
            names[k] = ck_checkpoint_class_name(ckpts[0], k);
        for (int i = 0; !rc && i < rows.n; i++)
            rc = ck_submission_set_name(s, i, rows.names[i]);
        o.models = ckpts;
        o.nmodels = nmodels;
        if (!rc)
            rc = predict_run(&o, &rows, s);
    }
    if (!rc) {
        /* Shape of the output: explicit options, else the sample's. */
        int ncols = fmt.kind == CK_SUB_PROBS ? 1 + ck_submission_nclass(s) : 2;
        fmt.sep = sep_given ? sep : (order ? rows.sample_sep : ',');
        fmt.header = header >= 0 ? header : rows.sample_header;
        if (fmt.header && rows.sample_header && rows.sample_ncols == ncols)
            fmt.header_cells = (const char *const *)rows.header_cells;
        fmt.class_names = names;
        rc = o.nshards > 1 ? ck_submission_write_shard(s, out, &fmt, o.shard, o.nshards)
                           : ck_submission_write(s, out, &fmt);
        if (!rc)
            fprintf(stderr, "ck-predict: wrote %s (%d rows%s, %d model%s x %d view%s)\n", out,
                    o.nshards > 1 ? (rows.n - o.shard + o.nshards - 1) / o.nshards : rows.n,
                    o.nshards > 1 ? " of a shard" : "", nmodels, nmodels > 1 ? "s" : "", o.nviews,
                    o.nviews > 1 ? "s" : "");
    }
    if (rc)
        ck_cli_fail(NULL);
    free(names);
    ck_submission_free(s);
    rows_free(&rows);
    for (int m = 0; m < nmodels; m++)
        ck_checkpoint_free(ckpts[m]);
    return rc ? 1 : 0;
}
