/* ck-eval — score a submission against the truth, or check its format
 * against the sample submission before uploading it. */
#include "ck-eval/eval_internal.h"
#include "common/cli.h"
#include "ck/fs.h"

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
          "      --eps EPS            log-loss clipping (default 1e-15, like scikit-learn)\n"
          "      --top K              top-K accuracy (default 5)\n"
          "  -s, --summary            one line: logloss=... accuracy=... topK=... rows=N\n"
          "  -c, --check SAMPLE       check SUBMISSION against the sample submission: rows\n"
          "                           and order, columns, header, numbers in [0,1] summing\n"
          "                           to 1; prints each problem with its line number\n"
          "      --tolerance T        allowed |row sum - 1| for --check (default 0.001)\n"
          "      --max-reports N      problems printed by --check (default 50; 0 = all)\n"
          "  -h, --help               display this help and exit\n"
          "\n"
          "Exit status: 0 success (--check: no problem), 1 a problem or runtime error,\n"
          "2 usage error.\n",
          f);
}

static const char prog[] = "ck-eval";

enum { OPT_CONFUSION = 256, OPT_CONFUSION_CSV, OPT_EPS, OPT_TOP, OPT_TOL, OPT_MAXREP };

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"truth", required_argument, 0, 't'},
        {"labels", required_argument, 0, 'l'},
        {"confusion", required_argument, 0, OPT_CONFUSION},
        {"confusion-csv", required_argument, 0, OPT_CONFUSION_CSV},
        {"eps", required_argument, 0, OPT_EPS},
        {"top", required_argument, 0, OPT_TOP},
        {"summary", no_argument, 0, 's'},
        {"check", required_argument, 0, 'c'},
        {"tolerance", required_argument, 0, OPT_TOL},
        {"max-reports", required_argument, 0, OPT_MAXREP},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *truth = NULL, *labels_path = NULL, *svg = NULL, *csv = NULL, *sample = NULL;
    double eps = 1e-15, tol = 1e-3;
    int top = 5, summary = 0, max_reports = 50, c;
    long v;
    while ((c = getopt_long(argc, argv, "t:l:sc:h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': truth = optarg; break;
        case 'l': labels_path = optarg; break;
        case OPT_CONFUSION: svg = optarg; break;
        case OPT_CONFUSION_CSV: csv = optarg; break;
        case OPT_EPS:
            if (ck_cli_parse_double(optarg, &eps) || !(eps >= 0 && eps < 0.5))
                return ck_cli_usage_error(prog, "--eps must be a number in [0, 0.5)");
            break;
        case OPT_TOP:
            if (ck_cli_parse_long(optarg, 1, INT_MAX, &v))
                return ck_cli_usage_error(prog, "--top must be a positive integer");
            top = (int)v;
            break;
        case 's': summary = 1; break;
        case 'c': sample = optarg; break;
        case OPT_TOL:
            if (ck_cli_parse_double(optarg, &tol) || !(tol >= 0))
                return ck_cli_usage_error(prog, "--tolerance must be a non-negative number");
            break;
        case OPT_MAXREP:
            if (ck_cli_parse_long(optarg, 0, INT_MAX, &v))
                return ck_cli_usage_error(prog, "--max-reports must be a non-negative integer");
            max_reports = (int)v;
            break;
        case 'h': usage(stdout); return 0;
        default: return ck_cli_try_help(prog);
        }
    }
    if (optind != argc - 1)
        return ck_cli_usage_error(prog, "%s",
                                  optind >= argc ? "missing submission file" : "only one submission file at a time");
    const char *sub = argv[optind];
    if (!truth == !sample)
        return ck_cli_usage_error(prog, "give either --truth (score) or --check (validate)");
    if (ck_cli_input(prog, truth, "--truth") || ck_cli_input(prog, labels_path, "--labels") ||
        ck_cli_input(prog, sample, "--check") || ck_cli_input(prog, sub, "SUBMISSION") ||
        ck_cli_output(prog, svg, "--confusion", CK_OUT_STDOUT) ||
        ck_cli_output(prog, csv, "--confusion-csv", CK_OUT_STDOUT))
        return 2;

    ck_labels *labels = NULL;
    if (labels_path && !(labels = ck_labels_read(labels_path)))
        return ck_cli_fail(NULL);
    int n = labels ? ck_labels_count(labels) : 0;
    const char **names = NULL;
    if (labels && (names = calloc((size_t)n, sizeof *names)))
        for (int k = 0; k < n; k++)
            names[k] = ck_labels_name(labels, k);

    int rc = 0;
    if (sample) {
        ck_check_opts o;
        ck_check_opts_init(&o);
        o.tolerance = tol;
        o.max_reports = max_reports;
        o.nclass_names = n;
        o.class_names = names;
        int rows = 0, problems = ck_submission_check(sample, sub, &o, stdout, &rows);
        if (problems < 0)
            rc = ck_cli_fail(NULL);
        else if (problems > 0) {
            printf("FAILED: %d problem(s) in %s\n", problems, sub);
            rc = 1;
        } else {
            printf("OK: %d rows\n", rows);
        }
    } else {
        int nclass = 0;
        ck_sub_kind kind;
        ck_metrics *m = eval_score(truth, labels, sub, eps, &nclass, &kind);
        if (!m) {
            rc = ck_cli_fail(NULL);
        } else {
            const char *const *nm = names && n == nclass ? names : NULL;
            if (summary)
                eval_print_summary(stdout, m, top);
            else
                eval_print_report(stdout, m, nm, sub, kind, eps, top);
            if ((svg && ck_metrics_write_confusion_svg(m, nm, svg)) ||
                (csv && ck_metrics_write_confusion_csv(m, nm, csv)))
                rc = ck_cli_fail(NULL);
            ck_metrics_free(m);
        }
    }
    free(names);
    ck_labels_free(labels);
    return rc;
}
