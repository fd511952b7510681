/* ck-split — stratified train/validation split (holdout or k-fold) of a
 * label table, written in the style of the input table. */
#include "common/cli.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/labels.h"
#include "ck/rng.h"
#include "ck/split.h"
#include "ck/table.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fputs("Usage: ck-split -m TABLE -o DIR [--val FRACTION | --folds K] [OPTION]...\n"
          "Split a label table into training and validation tables, stratified by class\n"
          "(every class keeps its proportion), reproducibly for a given seed.\n"
          "\n"
          "  -m, --manifest TABLE     the labelled table (train_master.tsv, train.csv, ...;\n"
          "                           '-' for standard input), or a folder laid out as\n"
          "                           TABLE/<class>/<image>\n"
          "  -o, --output DIR         folder for the outputs (created if needed)\n"
          "  -v, --val FRACTION       holdout: this fraction of each class goes to\n"
          "                           validation, 0 < FRACTION < 1 (default 0.2)\n"
          "  -k, --folds K            k-fold: K pairs of tables instead of one pair\n"
          "  -s, --seed S             random seed (default 1); same seed, same split\n"
          "  -l, --labels FILE        label table (label_master.tsv) that defines the\n"
          "                           classes; default: the labels found in TABLE\n"
          "      --file-column NAME   column holding file names (header name or number)\n"
          "      --label-column NAME  column holding labels (header name or number)\n"
          "  -q, --quiet              do not print the per-class counts\n"
          "  -h, --help               display this help and exit\n"
          "      --version            output version information and exit\n"
          "\n"
          "Outputs keep the input's separator, header and column names; the extension is\n"
          ".tsv for tab-separated input and .csv for comma-separated input:\n"
          "  holdout  DIR/train.tsv, DIR/val.tsv\n"
          "  k-fold   DIR/fold0_train.tsv, DIR/fold0_val.tsv, ... DIR/fold{K-1}_val.tsv\n"
          "Rows keep their input order. Every class with two or more rows keeps at least\n"
          "one training row; per class, the validation count is within 1 of FRACTION\n"
          "times the class size, and the total is round(FRACTION x rows). A table of\n"
          "counts per class is printed to standard error.\n"
          "\n"
          "Examples:\n"
          "  ck-split -m train_master.tsv --val 0.3 -o split\n"
          "  ck-split -m train_master.tsv -l label_master.tsv --folds 5 --seed 7 -o cv\n"
          "  ck-split -m images/ --val 0.1 -o split      # images/<class>/<file>\n"
          "\n"
          "Exit status: 0 success, 1 runtime error (unreadable or malformed table,\n"
          "unknown label, cannot write), 2 usage error.\n",
          f);
}

static const char prog[] = "ck-split";

static int is_dir(const char *p)
{
    struct stat st;
    return strcmp(p, "-") != 0 && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Write the rows of m where sel(i) into DIR/NAME.EXT. */
static int save_part(const ck_manifest *m, const int *rows, int n, const char *dir, const char *name)
{
    char file[256];
    snprintf(file, sizeof file, "%s.%s", name, ck_manifest_sep(m) == '\t' ? "tsv" : "csv");
    char *path = ck_path_join(dir, file);
    ck_manifest *part = path ? ck_manifest_subset(m, rows, n) : NULL;
    int rc = part ? ck_manifest_save(part, path) : -1;
    ck_manifest_free(part);
    free(path);
    return rc;
}

/* Per-class table on stderr: total, then one column per part. */
static void print_counts(const ck_labels *l, const int *cls, int n, const int *part, int nparts,
                         const char *const *titles)
{
    int ncls = ck_labels_count(l);
    long *cnt = calloc((size_t)(ncls + 1) * (size_t)(nparts + 1), sizeof *cnt);
    if (!cnt)
        return;
    for (int i = 0; i < n; i++) {
        cnt[(size_t)cls[i] * (size_t)(nparts + 1)]++;
        cnt[(size_t)cls[i] * (size_t)(nparts + 1) + 1 + (size_t)part[i]]++;
    }
    for (int c = 0; c < ncls; c++)
        for (int j = 0; j <= nparts; j++)
            cnt[(size_t)ncls * (size_t)(nparts + 1) + (size_t)j] += cnt[(size_t)c * (size_t)(nparts + 1) + (size_t)j];
    fprintf(stderr, "%-28s %7s", "class", "total");
    for (int j = 0; j < nparts; j++)
        fprintf(stderr, " %7s", titles[j]);
    fputc('\n', stderr);
    for (int c = 0; c <= ncls; c++) {
        char name[64];
        if (c == ncls)
            snprintf(name, sizeof name, "total");
        else if (strcmp(ck_labels_id(l, c), ck_labels_name(l, c)) == 0)
            snprintf(name, sizeof name, "%s", ck_labels_id(l, c));
        else
            snprintf(name, sizeof name, "%s %s", ck_labels_id(l, c), ck_labels_name(l, c));
        fprintf(stderr, "%-28s", name);
        for (int j = 0; j <= nparts; j++)
            fprintf(stderr, " %7ld", cnt[(size_t)c * (size_t)(nparts + 1) + (size_t)j]);
        fputc('\n', stderr);
    }
    free(cnt);
}

enum { OPT_FILECOL = 256, OPT_LABELCOL, OPT_VERSION };

static const struct option longopts[] = {
    {"manifest", required_argument, 0, 'm'},
    {"output", required_argument, 0, 'o'},
    {"val", required_argument, 0, 'v'},
    {"folds", required_argument, 0, 'k'},
    {"seed", required_argument, 0, 's'},
    {"labels", required_argument, 0, 'l'},
    {"file-column", required_argument, 0, OPT_FILECOL},
    {"label-column", required_argument, 0, OPT_LABELCOL},
    {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, OPT_VERSION},
    {0, 0, 0, 0},
};

/* The command line. */
typedef struct args {
    const char *manifest, *outdir, *labels_path, *file_col, *label_col;
    double val;
    int folds, quiet, have_val;
    unsigned long long seed;
} args;

/* One option; returns -1 to go on, else the exit status. */
static int parse_option(void *ctx, int c)
{
    args *a = ctx;
    switch (c) {
    case 'm': a->manifest = optarg; break;
    case 'o': a->outdir = optarg; break;
    case 'v':
        if (ck_cli_parse_double(optarg, &a->val) || !(a->val > 0 && a->val < 1))
            return ck_cli_usage_error(prog, "invalid --val '%s' (a fraction between 0 and 1)", optarg);
        a->have_val = 1;
        break;
    case 'k': {
        long k;
        if (ck_cli_parse_long(optarg, 2, 1000000, &k))
            return ck_cli_usage_error(prog, "invalid --folds '%s' (an integer >= 2)", optarg);
        a->folds = (int)k;
        break;
    }
    case 's':
        if (ck_cli_parse_ull(optarg, 10, &a->seed))
            return ck_cli_usage_error(prog, "invalid --seed '%s' (a non-negative integer)", optarg);
        break;
    case 'l': a->labels_path = optarg; break;
    case OPT_FILECOL: a->file_col = optarg; break;
    case OPT_LABELCOL: a->label_col = optarg; break;
    case 'q': a->quiet = 1; break;
    case 'h': usage(stdout); return 0;
    case OPT_VERSION: return ck_cli_version(prog);
    default: return ck_cli_try_help(prog);
    }
    return -1;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, args *a)
{
    *a = (args){.val = 0.2, .seed = CK_DEFAULT_SEED};
    int rc = ck_cli_options(argc, argv, prog, "m:o:v:k:s:l:qh", longopts, parse_option, a);
    if (rc >= 0)
        return rc;
    if (optind < argc)
        return ck_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
    if (!a->manifest)
        return ck_cli_usage_error(prog, "missing --manifest");
    if (!a->outdir)
        return ck_cli_usage_error(prog, "missing --output");
    if (a->have_val && a->folds)
        return ck_cli_usage_error(prog, "--val and --folds are exclusive");
    if (ck_cli_input(prog, a->manifest, "--manifest") || ck_cli_input(prog, a->labels_path, "--labels") ||
        ck_cli_output(prog, a->outdir, "--output", CK_OUT_FOLDER | CK_OUT_MKDIR))
        return 2;
    if (is_dir(a->manifest) && (a->file_col || a->label_col))
        return ck_cli_usage_error(prog, "--file-column/--label-column do not apply to a folder");
    return -1;
}

/* foldF_train / foldF_val for every fold, then the per-class table. */
static int write_folds(const args *a, const ck_manifest *m, const ck_labels *l, const int *cls, int n, int *part,
                       int *rows)
{
    int folds = a->folds;
    if (ck_split_kfold(cls, n, folds, a->seed, part) < 0)
        return -1;
    for (int f = 0; f < folds; f++) {
        char name[64];
        int nt = 0, nv = 0;
        for (int i = 0; i < n; i++)
            if (part[i] != f)
                rows[nt++] = i;
        snprintf(name, sizeof name, "fold%d_train", f);
        if (save_part(m, rows, nt, a->outdir, name) < 0)
            return -1;
        for (int i = 0; i < n; i++)
            if (part[i] == f)
                rows[nv++] = i;
        snprintf(name, sizeof name, "fold%d_val", f);
        if (save_part(m, rows, nv, a->outdir, name) < 0)
            return -1;
    }
    if (!a->quiet) {
        char(*buf)[16] = calloc((size_t)folds, sizeof *buf);
        const char **titles = calloc((size_t)folds, sizeof *titles);
        for (int f = 0; buf && titles && f < folds; f++) {
            snprintf(buf[f], sizeof buf[f], "fold%d", f);
            titles[f] = buf[f];
        }
        if (buf && titles)
            print_counts(l, cls, n, part, folds, titles);
        free(titles);
        free(buf);
    }
    return 0;
}

/* train / val, then the per-class table. */
static int write_holdout(const args *a, const ck_manifest *m, const ck_labels *l, const int *cls, int n, int *part,
                         int *rows)
{
    unsigned char *is_val = malloc((size_t)n);
    if (!is_val || ck_split_holdout(cls, n, a->val, a->seed, is_val) < 0) {
        free(is_val);
        return -1;
    }
    int nt = 0, nv = 0;
    for (int i = 0; i < n; i++)
        part[i] = is_val[i];
    free(is_val);
    for (int i = 0; i < n; i++)
        if (!part[i])
            rows[nt++] = i;
    if (save_part(m, rows, nt, a->outdir, "train") < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (part[i])
            rows[nv++] = i;
    if (save_part(m, rows, nv, a->outdir, "val") < 0)
        return -1;
    if (!a->quiet)
        print_counts(l, cls, n, part, 2, (const char *const[]){"train", "val"});
    return 0;
}

int main(int argc, char **argv)
{
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    ck_manifest *m = is_dir(a.manifest) ? ck_manifest_from_folders(a.manifest)
                                        : ck_manifest_read_columns(a.manifest, a.file_col, a.label_col);
    ck_labels *l = NULL;
    int *cls = NULL, *part = NULL, *rows = NULL;
    rc = 1;
    if (!m)
        goto done;
    const char *skipped;
    int nskip = ck_manifest_skipped(m, &skipped);
    if (nskip)
        fprintf(stderr, "%s: warning: skipped %d entries that are not regular files (first: %s)\n", prog, nskip,
                skipped);
    l = a.labels_path ? ck_labels_read(a.labels_path) : ck_labels_from_manifest(m);
    int n = ck_manifest_count(m);
    cls = malloc((size_t)n * sizeof *cls);
    part = malloc((size_t)n * sizeof *part);
    rows = malloc((size_t)n * sizeof *rows);
    if (!l || !cls || !part || !rows || ck_labels_index_manifest(l, m, cls) < 0)
        goto done;
    if (a.folds > n) {
        ck_error("ck-split", "%s: %d folds for %d rows", ck_manifest_path(m), a.folds, n);
        goto done;
    }
    if (ck_mkdir_p(a.outdir) < 0)
        goto done;
    rc = (a.folds ? write_folds(&a, m, l, cls, n, part, rows) : write_holdout(&a, m, l, cls, n, part, rows)) ? 1 : 0;
done:
    if (rc)
        ck_cli_fail(NULL);
    free(cls);
    free(part);
    free(rows);
    ck_labels_free(l);
    ck_manifest_free(m);
    return rc;
}
