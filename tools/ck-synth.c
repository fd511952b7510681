/* ck-synth — write a synthetic image-labeling contest in the SIGNATE layout
 * (or folder-per-class), for tests, demos and benchmarks. */
#include "common/cli.h"

#include "ck/threads.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/image.h"
#include "ck/labels.h"
#include "ck/progress.h"
#include "ck/rng.h"
#include "ck/synth.h"
#include "ck/table.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

static void usage(FILE *f)
{
    fputs("Usage: ck-synth -o DIR [OPTION]...\n"
          "Generate a synthetic image-labeling contest: procedurally drawn classes\n"
          "(shape x texture x colour, with random position, scale, rotation, clutter and\n"
          "noise), written as PNG files in the layout of SIGNATE's contests.\n"
          "\n"
          "  -o, --output DIR     folder to create (must be empty or not exist)\n"
          "  -c, --classes N      number of classes, 1..280 (default 20)\n"
          "  -n, --train N        training images (default 2000)\n"
          "  -t, --test N         test images (default 400)\n"
          "  -S, --size PIXELS    image width and height, 8..4096 (default 32)\n"
          "  -s, --seed S         random seed (default 1); same seed, same bytes\n"
          "      --layout L       'signate' (default) or 'folders'\n"
          "  -j, --jobs N         worker threads (default: number of CPUs); the output\n"
          "                       does not depend on N\n"
          "      --force          write into a non-empty DIR (files are overwritten)\n"
          "      --progress       show a progress bar even when stderr is not a terminal\n"
          "  -h, --help           display this help and exit\n"
          "      --version        output version information and exit\n"
          "\n"
          "Layout 'signate':\n"
          "  DIR/train/train_00000.png ...   DIR/test/test_00000.png ...\n"
          "  DIR/train_master.tsv   file_name<TAB>label_id (with header)\n"
          "  DIR/label_master.tsv   label_id<TAB>label_name, e.g. 0  red_circle_plain\n"
          "  DIR/sample_submit.csv  no header: file name, then one uniform probability\n"
          "                         per class in label_id order\n"
          "  DIR/test_labels.tsv    the answers, file_name<TAB>label_id\n"
          "Layout 'folders': DIR/train/<label_name>/train_00000.png ..., the same test/\n"
          "folder and sample_submit.csv (columns in byte order of the class names), and\n"
          "test_labels.tsv with file_name<TAB>label holding class names.\n"
          "Classes are balanced (counts differ by at most 1).\n"
          "\n"
          "Examples:\n"
          "  ck-synth -o contest\n"
          "  ck-synth -o tiny --classes 3 --train 60 --test 30 --seed 7\n"
          "  ck-synth -o big --size 64 --train 20000 --layout folders -j 2\n"
          "\n"
          "Exit status: 0 success, 1 runtime error (cannot write), 2 usage error.\n",
          f);
}

static const char prog[] = "ck-synth";

typedef struct job {
    const char *dir;
    int size, ntrain, ntest, width, folders;
    uint64_t seed;
    const int *train_cls, *test_cls;
    char (*names)[64];
    ck_progress *bar;
} job;

/* The test items' random streams start far above any training item. */
#define TEST_ITEM0 (UINT64_C(1) << 40)

static void image_path(const job *J, int k, char *buf, size_t n)
{
    if (k < J->ntrain) {
        if (J->folders)
            snprintf(buf, n, "%s/train/%s/train_%0*d.png", J->dir, J->names[J->train_cls[k]], J->width, k);
        else
            snprintf(buf, n, "%s/train/train_%0*d.png", J->dir, J->width, k);
    } else {
        snprintf(buf, n, "%s/test/test_%0*d.png", J->dir, J->width, k - J->ntrain);
    }
}

/* Every image, an OpenMP loop over items: item k's pixels depend only on
 * (seed, k), so the bytes do not depend on -j. 0, or -1 after the first
 * failure (the remaining items are skipped). */
static int draw_all(const job *J, int jobs)
{
    int total = J->ntrain + J->ntest, failed = 0;
#pragma omp parallel num_threads(jobs)
    {
        uint8_t *rgb = malloc((size_t)J->size * (size_t)J->size * 3);
        if (!rgb) {
            ck_error("ck-synth", "out of memory");
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic)
        for (int k = 0; k < total; k++) {
            int stop;
#pragma omp atomic read
            stop = failed;
            if (stop)
                continue;
            int cls = k < J->ntrain ? J->train_cls[k] : J->test_cls[k - J->ntrain];
            uint64_t item = k < J->ntrain ? (uint64_t)k : TEST_ITEM0 + (uint64_t)(k - J->ntrain);
            char path[4096];
            image_path(J, k, path, sizeof path);
            if (ck_synth_draw(cls, J->seed, item, J->size, rgb) < 0 ||
                ck_image_save_rgb(path, rgb, J->size, J->size, 0) < 0) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            ck_progress_add(J->bar, 1);
        }
        free(rgb);
    }
    return failed ? -1 : 0;
}

static int dir_is_empty_or_missing(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 1 : -1;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

/* The tables: answers, labels and the sample submission. */
static int write_tables(const job *J, int nclasses)
{
    char path[4096];
    int rc = 0;
    const char *ids[CK_SYNTH_MAX_CLASSES], *names[CK_SYNTH_MAX_CLASSES];
    char idbuf[CK_SYNTH_MAX_CLASSES][16];
    for (int c = 0; c < nclasses; c++) {
        snprintf(idbuf[c], sizeof idbuf[c], "%d", c);
        ids[c] = idbuf[c];
        names[c] = J->names[c];
    }
    /* sample_submit.csv is uniform, so its column order (label id, or for
     * folders the byte order of the names) needs no sorting here. */
    ck_manifest *train = ck_manifest_new(), *test = ck_manifest_new();
    if (!train || !test)
        rc = -1;
    if (rc == 0 && J->folders)
        rc = ck_manifest_set_style(test, '\t', 1, "file_name", "label");
    char file[256];
    for (int k = 0; rc == 0 && k < J->ntrain && !J->folders; k++) {
        snprintf(file, sizeof file, "train_%0*d.png", J->width, k);
        rc = ck_manifest_add(train, file, ids[J->train_cls[k]]);
    }
    for (int k = 0; rc == 0 && k < J->ntest; k++) {
        snprintf(file, sizeof file, "test_%0*d.png", J->width, k);
        rc = ck_manifest_add(test, file, J->folders ? names[J->test_cls[k]] : ids[J->test_cls[k]]);
    }
    if (rc == 0 && !J->folders) {
        snprintf(path, sizeof path, "%s/train_master.tsv", J->dir);
        rc = ck_manifest_save(train, path);
        ck_labels *l = rc == 0 ? ck_labels_new(nclasses, ids, names) : NULL;
        snprintf(path, sizeof path, "%s/label_master.tsv", J->dir);
        rc = l ? ck_labels_save(l, path) : -1;
        ck_labels_free(l);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/test_labels.tsv", J->dir);
        rc = ck_manifest_save(test, path);
    }
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/sample_submit.csv", J->dir);
        ck_atomic_file *f = ck_atomic_open(path, CK_OUT_SYNC);
        FILE *out = ck_atomic_stream(f);
        rc = f ? 0 : -1;
        for (int k = 0; rc == 0 && k < J->ntest; k++) {
            fprintf(out, "test_%0*d.png", J->width, k);
            for (int c = 0; c < nclasses; c++)
                fprintf(out, ",%.6g", 1.0 / nclasses);
            fputc('\n', out);
        }
        if (f)
            rc = rc == 0 ? ck_atomic_commit(f) : (ck_atomic_abort(f), -1);
    }
    ck_manifest_free(train);
    ck_manifest_free(test);
    return rc;
}

enum { OPT_LAYOUT = 256, OPT_FORCE, OPT_PROGRESS, OPT_VERSION };

/* The command line. */
typedef struct synth_args {
    const char *dir;
    long classes, ntrain, ntest, size, jobs;
    unsigned long long seed;
    int folders, force, progress;
} synth_args;

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, synth_args *a)
{
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},
        {"classes", required_argument, 0, 'c'},
        {"train", required_argument, 0, 'n'},
        {"test", required_argument, 0, 't'},
        {"size", required_argument, 0, 'S'},
        {"seed", required_argument, 0, 's'},
        {"layout", required_argument, 0, OPT_LAYOUT},
        {"jobs", required_argument, 0, 'j'},
        {"force", no_argument, 0, OPT_FORCE},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, OPT_VERSION},
        {0, 0, 0, 0},
    };
    const char *dir = NULL;
    long classes = 20, ntrain = 2000, ntest = 400, size = 32, jobs = 0;
    unsigned long long seed = CK_DEFAULT_SEED;
    int folders = 0, force = 0, progress = 0, c;
    ck_cli_name(argv, prog);
    while ((c = getopt_long(argc, argv, "o:c:n:t:S:s:j:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case 'c':
            if (ck_cli_parse_long(optarg, 1, CK_SYNTH_MAX_CLASSES, &classes) < 0)
                return ck_cli_usage_error(prog, "invalid --classes '%s' (1..280)", optarg);
            break;
        case 'n':
            if (ck_cli_parse_long(optarg, 0, 10000000, &ntrain) < 0)
                return ck_cli_usage_error(prog, "invalid --train '%s'", optarg);
            break;
        case 't':
            if (ck_cli_parse_long(optarg, 0, 10000000, &ntest) < 0)
                return ck_cli_usage_error(prog, "invalid --test '%s'", optarg);
            break;
        case 'S':
            if (ck_cli_parse_long(optarg, 8, 4096, &size) < 0)
                return ck_cli_usage_error(prog, "invalid --size '%s' (8..4096)", optarg);
            break;
        case 's':
            if (ck_cli_parse_ull(optarg, 10, &seed))
                return ck_cli_usage_error(prog, "invalid --seed '%s' (a non-negative integer)", optarg);
            break;
        case 'j':
            if (ck_cli_parse_long(optarg, 1, ck_thread_limit(), &jobs) < 0)
                return ck_cli_count_error(prog, "--jobs", optarg, 1, ck_thread_limit());
            break;
        case OPT_LAYOUT:
            if (strcmp(optarg, "signate") == 0)
                folders = 0;
            else if (strcmp(optarg, "folders") == 0)
                folders = 1;
            else
                return ck_cli_usage_error(prog, "invalid --layout '%s' (signate or folders)", optarg);
            break;
        case OPT_FORCE: force = 1; break;
        case OPT_PROGRESS: progress = 1; break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION: return ck_cli_version(prog);
        default: return ck_cli_try_help(prog);
        }
    }
    if (optind < argc)
        return ck_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
    if (!dir)
        return ck_cli_usage_error(prog, "missing --output");
    if (!*dir)
        return ck_cli_usage_error(prog, "--output: empty path");
    if (ntrain + ntest == 0)
        return ck_cli_usage_error(prog, "nothing to generate (--train and --test are 0)");
    *a = (synth_args){.dir = dir, .classes = classes, .ntrain = ntrain, .ntest = ntest, .size = size,
                      .jobs = jobs, .seed = seed, .folders = folders, .force = force, .progress = progress};
    return -1;
}

/* The images (on `jobs` threads), then the tables. */
static int generate(const synth_args *a)
{
    const char *dir = a->dir;
    long classes = a->classes, ntrain = a->ntrain, ntest = a->ntest, size = a->size, jobs = a->jobs;
    unsigned long long seed = a->seed;
    int folders = a->folders, progress = a->progress;
    /* Each worker encodes whole images; libvips' own pool would only add
     * hand-offs for 32x32 pictures. */
    vips_concurrency_set(1);
    vips_cache_set_max(0);
    if (jobs <= 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = ncpu > 0 ? (ncpu < 64 ? ncpu : 64) : 1;
    }

    int rc = 1;
    int *train_cls = malloc((size_t)(ntrain ? ntrain : 1) * sizeof *train_cls);
    int *test_cls = malloc((size_t)(ntest ? ntest : 1) * sizeof *test_cls);
    char (*names)[64] = calloc((size_t)classes, sizeof *names);
    job J = {.dir = dir, .size = (int)size, .ntrain = (int)ntrain, .ntest = (int)ntest,
             .folders = folders, .seed = seed, .train_cls = train_cls, .test_cls = test_cls,
             .names = names};
    long most = ntrain > ntest ? ntrain : ntest;
    J.width = 5;
    for (long p = 100000; p < most && J.width < 9; p *= 10)
        J.width++;
    if (!train_cls || !test_cls || !names) {
        ck_error("ck-synth", "out of memory");
        goto done;
    }
    for (int k = 0; k < classes; k++)
        ck_synth_class_name(k, names[k], sizeof names[k]);
    if (ck_synth_assign((int)classes, (int)ntrain, seed, 0, train_cls) < 0 ||
        ck_synth_assign((int)classes, (int)ntest, seed, 1, test_cls) < 0)
        goto done;

    char path[4096];
    snprintf(path, sizeof path, "%s/test", dir);
    if (ck_mkdir_p(path) < 0)
        goto done;
    for (int k = 0; k < (folders ? classes : 1); k++) {
        if (folders)
            snprintf(path, sizeof path, "%s/train/%s", dir, names[k]);
        else
            snprintf(path, sizeof path, "%s/train", dir);
        if (ck_mkdir_p(path) < 0)
            goto done;
    }

    J.bar = ck_progress_new(stderr, "ck-synth", ntrain + ntest, progress ? 1 : 0);
    int drawn = draw_all(&J, (int)jobs);
    ck_progress_finish(J.bar, NULL);
    ck_progress_free(J.bar);
    if (drawn < 0 || write_tables(&J, (int)classes) < 0)
        goto done;
    rc = 0;
done:
    if (rc)
        ck_cli_fail(NULL);
    free(train_cls);
    free(test_cls);
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    synth_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (!a.force && dir_is_empty_or_missing(a.dir) != 1) {
        fprintf(stderr, "ck-synth: %s: exists and is not empty (use --force to write into it)\n", a.dir);
        return 1;
    }
    if (VIPS_INIT(argv[0]) != 0) {
        fprintf(stderr, "ck-synth: cannot start libvips: %s", vips_error_buffer());
        return 1;
    }
    return generate(&a);
}
