/* ck-eval — score a submission against the truth, or check its format
 * against the sample submission before uploading it. */
#include "ck-eval/eval_internal.h"
#include "common/cli.h"
#include "ck/fs.h"

#include "ck/image.h"
#include "ck/labels.h"

#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("Usage: ck-eval --truth LABELS.tsv [OPTION]... SUBMISSION.csv\n"
          "       ck-eval --check SAMPLE_SUBMIT.csv [OPTION]... SUBMISSION.csv\n"
          "Score a submission (multi-class log loss, accuracy, top-k accuracy, per-class\n"
          "precision/recall/F1, confusion matrix), or validate it against the sample.\n"
          "\n"
          "  -t, --truth FILE         true labels: file name + label id (or name) per row\n"
          "  -l, --labels FILE        label table (label_master.tsv): class names, and\n"
          "                           label names in the truth or the submission\n"
          "      --confusion FILE.svg write the confusion matrix as a picture\n"
          "      --confusion-csv FILE write the confusion matrix as CSV ('-': stdout)\n"
          "      --worst N            list the N most confidently wrong rows (highest log\n"
          "                           loss first) after the scores: file, true, predicted,\n"
          "                           probability of the predicted class, loss\n"
          "      --sheet FILE.png     with --worst: draw those rows' images in a contact\n"
          "                           sheet with their labels (.png, .jpg or .webp)\n"
          "      --images DIR         the images of the truth's rows, for --sheet\n"
          "      --eps EPS            log-loss clipping (default 1e-15, like scikit-learn)\n"
          "      --top K              top-K accuracy (default 5)\n"
          "  -s, --summary            one line: logloss=... accuracy=... topK=... rows=N\n"
          "  -c, --check SAMPLE       check SUBMISSION against the sample submission: rows\n"
          "                           and order, columns, header, numbers in [0,1] summing\n"
          "                           to 1; prints each problem with its line number\n"
          "      --tolerance T        allowed |row sum - 1| for --check (default 0.001)\n"
          "      --max-reports N      problems printed by --check (default 50; 0 = all)\n"
          "  -h, --help               display this help and exit\n"
          "      --version            show the version and exit\n"
          "\n"
          "Exit status: 0 success (--check: no problem), 1 a problem or runtime error,\n"
          "2 usage error.\n",
          f);
}

static const char prog[] = "ck-eval";

enum { OPT_CONFUSION = 256, OPT_CONFUSION_CSV, OPT_WORST, OPT_SHEET, OPT_IMAGES, OPT_EPS, OPT_TOP, OPT_TOL, OPT_MAXREP, OPT_VERSION };

static const struct option longopts[] = {
    {"truth", required_argument, 0, 't'},
    {"labels", required_argument, 0, 'l'},
    {"confusion", required_argument, 0, OPT_CONFUSION},
    {"confusion-csv", required_argument, 0, OPT_CONFUSION_CSV},
    {"worst", required_argument, 0, OPT_WORST},
    {"sheet", required_argument, 0, OPT_SHEET},
    {"images", required_argument, 0, OPT_IMAGES},
    {"eps", required_argument, 0, OPT_EPS},
    {"top", required_argument, 0, OPT_TOP},
    {"summary", no_argument, 0, 's'},
    {"check", required_argument, 0, 'c'},
    {"tolerance", required_argument, 0, OPT_TOL},
    {"max-reports", required_argument, 0, OPT_MAXREP},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, OPT_VERSION},
    {0, 0, 0, 0},
};

/* The command line. */
typedef struct args {
    const char *truth, *labels_path, *svg, *csv, *sample, *sub, *sheet, *images;
    double eps, tol;
    int top, summary, max_reports, worst;
} args;

/* One option; returns -1 to go on, else the exit status. */
static int parse_option(void *ctx, int c)
{
    args *a = ctx;
    long v;
    switch (c) {
    case 't': a->truth = optarg; break;
    case 'l': a->labels_path = optarg; break;
    case OPT_CONFUSION: a->svg = optarg; break;
    case OPT_CONFUSION_CSV: a->csv = optarg; break;
    case OPT_WORST:
        if (ck_cli_parse_long(optarg, 1, 100000, &v))
            return ck_cli_usage_error(prog, "--worst must be an integer in 1..100000");
        a->worst = (int)v;
        break;
    case OPT_SHEET: a->sheet = optarg; break;
    case OPT_IMAGES: a->images = optarg; break;
    case OPT_EPS:
        if (ck_cli_parse_double(optarg, &a->eps) || !(a->eps >= 0 && a->eps < 0.5))
            return ck_cli_usage_error(prog, "--eps must be a number in [0, 0.5)");
        break;
    case OPT_TOP:
        if (ck_cli_parse_long(optarg, 1, INT_MAX, &v))
            return ck_cli_usage_error(prog, "--top must be a positive integer");
        a->top = (int)v;
        break;
    case 's': a->summary = 1; break;
    case 'c': a->sample = optarg; break;
    case OPT_TOL:
        if (ck_cli_parse_double(optarg, &a->tol) || !(a->tol >= 0))
            return ck_cli_usage_error(prog, "--tolerance must be a non-negative number");
        break;
    case OPT_MAXREP:
        if (ck_cli_parse_long(optarg, 0, INT_MAX, &v))
            return ck_cli_usage_error(prog, "--max-reports must be a non-negative integer");
        a->max_reports = (int)v;
        break;
    case 'h': usage(stdout); return 0;
    case OPT_VERSION: return ck_cli_version(prog);
    default: return ck_cli_try_help(prog);
    }
    return -1;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, args *a)
{
    *a = (args){.eps = 1e-15, .tol = 1e-3, .top = 5, .max_reports = 50};
    int rc = ck_cli_options(argc, argv, prog, "t:l:sc:h", longopts, parse_option, a);
    if (rc >= 0)
        return rc;
    if (optind != argc - 1)
        return ck_cli_usage_error(prog, "%s",
                                  optind >= argc ? "missing submission file" : "only one submission file at a time");
    a->sub = argv[optind];
    if (!a->truth == !a->sample)
        return ck_cli_usage_error(prog, "give either --truth (score) or --check (validate)");
    if ((a->worst || a->sheet || a->images) && !a->truth)
        return ck_cli_usage_error(prog, "--worst, --sheet and --images go with --truth");
    if (a->sheet && !a->worst)
        return ck_cli_usage_error(prog, "--sheet draws the rows of --worst N: give --worst");
    if (!a->sheet != !a->images)
        return ck_cli_usage_error(prog, "--sheet and --images go together");
    if (a->sheet && ck_image_format_from_name(a->sheet) == CK_IMAGE_UNKNOWN)
        return ck_cli_usage_error(prog, "--sheet: unknown image extension (use .png, .jpg or .webp)");
    if (ck_cli_input(prog, a->truth, "--truth") || ck_cli_input(prog, a->labels_path, "--labels") ||
        ck_cli_input(prog, a->sample, "--check") || ck_cli_input(prog, a->sub, "SUBMISSION") ||
        ck_cli_output(prog, a->svg, "--confusion", CK_OUT_STDOUT) ||
        ck_cli_output(prog, a->csv, "--confusion-csv", CK_OUT_STDOUT) ||
        ck_cli_output(prog, a->sheet, "--sheet", 0))
        return 2;
    return -1;
}

/* --check: validate the submission against the sample. */
static int check(const args *a, const char **names, int n)
{
    ck_check_opts o;
    ck_check_opts_init(&o);
    o.tolerance = a->tol;
    o.max_reports = a->max_reports;
    o.nclass_names = n;
    o.class_names = names;
    int rows = 0, problems = ck_submission_check(a->sample, a->sub, &o, stdout, &rows);
    if (problems < 0)
        return ck_cli_fail(NULL);
    if (problems > 0) {
        printf("FAILED: %d problem(s) in %s\n", problems, a->sub);
        return 1;
    }
    printf("OK: %d rows\n", rows);
    return 0;
}

/* --truth: score the submission. */
static int score(const args *a, const ck_labels *labels, const char **names, int n)
{
    int nclass = 0, rc = 0;
    ck_sub_kind kind;
    ck_worst *worst = NULL;
    ck_manifest *truth = NULL;
    ck_metrics *m = eval_score(a->truth, labels, a->sub, a->eps, a->worst, &worst, &truth, &nclass, &kind);
    if (!m)
        return ck_cli_fail(NULL);
    const char *const *nm = names && n == nclass ? names : NULL;
    if (a->summary)
        eval_print_summary(stdout, m, a->top);
    else
        eval_print_report(stdout, m, nm, a->sub, kind, a->eps, a->top);
    if ((a->svg && ck_metrics_write_confusion_svg(m, nm, a->svg)) ||
        (a->csv && ck_metrics_write_confusion_csv(m, nm, a->csv)))
        rc = ck_cli_fail(NULL);
    if (!rc && worst) {
        putchar('\n');
        eval_print_worst(stdout, worst, truth, nm);
    }
    int text = 1;
    if (!rc && a->sheet && eval_write_sheet(a->sheet, a->images, worst, truth, nm, &text))
        rc = ck_cli_fail(NULL);
    if (!rc && a->sheet && !text)
        fprintf(stderr, "%s: no fonts for the captions: %s has the images only, in the order of the list\n", prog,
                a->sheet);
    ck_worst_free(worst);
    ck_manifest_free(truth);
    ck_metrics_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    ck_labels *labels = NULL;
    if (a.labels_path && !(labels = ck_labels_read(a.labels_path)))
        return ck_cli_fail(NULL);
    int n = labels ? ck_labels_count(labels) : 0;
    const char **names = NULL;
    if (labels && (names = calloc((size_t)n, sizeof *names)))
        for (int k = 0; k < n; k++)
            names[k] = ck_labels_name(labels, k);
    rc = a.sample ? check(&a, names, n) : score(&a, labels, names, n);
    free(names);
    ck_labels_free(labels);
    return rc;
}
