/* ck-finetune — transfer learning on a frozen ImageNet backbone (see --help and
 * man/ck-finetune.1). A thin main over ck_train_run (lib/train). */
#include "ck-finetune/finetune.h"
#include "common/cli.h"

#include "ck/checkpoint.h"
#include "ck/error.h"
#include "ck/train.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_SUMMARY = 1000, OPT_RESUME, OPT_PROGRESS, OPT_VERSION, OPT_TABLE };

static volatile sig_atomic_t stop_flag;

/* First signal: ask the loop to finish its step and save. A second one
 * means "now": default action. */
static void on_signal(int sig)
{
    if (stop_flag) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_flag = sig;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ck-finetune: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'ck-finetune --help'.\n");
    return 2;
}

static void print_errors(void)
{
    char *e = ck_error_take();
    if (e && *e)
        fputs(e, stderr);
    else
        fputs("ck-finetune: failed\n", stderr);
    free(e);
}

/* Long options mirror the option table (ck/train.h) one to one, so a
 * new training option needs one line here and none elsewhere. */
static struct option *long_options(int ntab)
{
    struct option *lo = calloc((size_t)ntab + 16, sizeof *lo);
    if (!lo)
        return NULL;
    int k = 0;
    for (int i = 0; i < ntab; i++) {
        const char *name = ck_train_option_name(i);
        if (!strcmp(name, "progress") || !strncmp(name, "extra-", 6))
            continue;
        int flag = !strcmp(name, "batchnorm") || !strcmp(name, "nesterov") || !strcmp(name, "cache-fp16") ||
                   !strcmp(name, "embed-base") || !strcmp(name, "find-lr");
        lo[k++] = (struct option){name, flag ? no_argument : required_argument, NULL, OPT_TABLE + i};
    }
    lo[k++] = (struct option){"summary", no_argument, NULL, OPT_SUMMARY};
    lo[k++] = (struct option){"resume", required_argument, NULL, OPT_RESUME};
    lo[k++] = (struct option){"progress", no_argument, NULL, OPT_PROGRESS};
    lo[k++] = (struct option){"quiet", no_argument, NULL, 'q'};
    lo[k++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[k++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    lo[k++] = (struct option){0, 0, 0, 0};
    return lo;
}

static int table_index(const char *name)
{
    for (int i = 0; i < ck_train_option_count(); i++)
        if (!strcmp(ck_train_option_name(i), name))
            return i;
    return -1;
}

/* A second or later --train / --images goes to the extra-train /
 * extra-images list (one path a line): *name and *value are then those of
 * the list. -1 for a path that cannot be on a line of its own. */
static int again(ck_train_options *cli, const char *set, const char **name, const char **value, char **joined)
{
    int first = !strcmp(*name, "train") ? 1 : !strcmp(*name, "images") ? 2 : 0;
    if (!first || !set[table_index(*name)])
        return 0;
    if (strchr(*value, '\n'))
        return -1;
    const char *list = first == 1 ? "extra-train" : "extra-images";
    char *old = ck_train_options_get(cli, list);
    size_t n = (old ? strlen(old) : 0) + strlen(*value) + 2;
    *joined = malloc(n);
    if (*joined)
        snprintf(*joined, n, "%s%s%s", old && *old ? old : "", old && *old ? "\n" : "", *value);
    free(old);
    *name = list;
    *value = *joined;
    return *joined ? 0 : -1;
}

/* The command line: the options given (cli, and set[i] for table option
 * i), --summary and --resume. Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, ck_train_options *cli, char *set, int *summary,
                      const char **resume)
{
    static const struct { char c; const char *name; } shorts[] = {
        {'w', "weights"}, {'t', "train"}, {'i', "images"}, {'l', "labels"}, {'o', "output"},
        {'e', "epochs"}, {'b', "batch"}, {'j', "threads"}};
    int ntab = ck_train_option_count(), c, rc = -1;
    struct option *lo = long_options(ntab);
    if (!lo)
        return 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":w:t:i:l:o:e:b:j:qh", lo, NULL)) != -1) {
        const char *name = NULL;
        if (c >= OPT_TABLE) {
            name = ck_train_option_name(c - OPT_TABLE);
        } else {
            for (size_t s = 0; s < sizeof shorts / sizeof shorts[0]; s++)
                if (shorts[s].c == c)
                    name = shorts[s].name;
        }
        if (name) {
            const char *value = optarg;
            char *joined = NULL;
            if (again(cli, set, &name, &value, &joined) != 0) {
                free(joined);
                rc = usage_error("%s", "--train/--images: a path with a line break, or out of memory");
                goto out;
            }
            int idx = table_index(name), bad = ck_train_options_set(cli, name, value) != 0;
            free(joined);
            if (bad) {
                char *e = ck_error_take();
                size_t n = e ? strlen(e) : 0;
                if (n && e[n - 1] == '\n')
                    e[n - 1] = '\0';
                rc = usage_error("%s", e ? e : name);
                free(e);
                goto out;
            }
            set[idx] = 1;
            continue;
        }
        switch (c) {
        case OPT_SUMMARY: *summary = 1; break;
        case OPT_RESUME:
            if (!*optarg) {
                rc = usage_error("%s", "--resume: empty path");
                goto out;
            }
            *resume = optarg;
            break;
        case OPT_PROGRESS: cli->progress = 1; break;
        case 'q': cli->progress = -1; break;
        case 'h':
            finetune_usage(stdout);
            rc = 0;
            goto out;
        case OPT_VERSION:
            rc = ck_cli_version_backends("ck-finetune");
            goto out;
        case ':':
            rc = usage_error("option '%s' needs a value", argv[optind - 1]);
            goto out;
        default:
            rc = usage_error("unknown option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc)
        rc = usage_error("unexpected argument '%s'", argv[optind]);
out:
    free(lo);
    return rc;
}

/* --resume: the checkpoint's options, with those given again that do not
 * change the numbers. Returns -1 to go on, else the exit status. */
static int options_from_resume(ck_train_options *opts, ck_checkpoint *ck, const char *resume,
                               ck_train_options *cli, const char *set)
{
    int ntab = ck_train_option_count();
    if (ck_train_options_from_json(opts, ck_checkpoint_training(ck)) != 0) {
        print_errors();
        return 1;
    }
    /* Options that do not change the numbers may be given again (more
     * epochs, another log); the others keep the checkpoint's values. */
    for (int i = 0; i < ntab; i++) {
        const char *name = ck_train_option_name(i);
        int forced = !strcmp(name, "progress");
        if (!set[i] && !forced)
            continue;
        char *v = ck_train_options_get(cli, name);
        char *old = ck_train_options_get(opts, name);
        if (ck_train_option_resumable(name) || forced) {
            ck_train_options_set(opts, name, v);
        } else if (v && old && strcmp(v, old) != 0) {
            fprintf(stderr, "ck-finetune: ignoring --%s %s: resuming keeps the checkpoint's value %s\n",
                    name, v, old);
        }
        free(v);
        free(old);
    }
    if (ck_checkpoint_epoch(ck) >= opts->epochs && ck_json_bool(ck_json_get(ck_checkpoint_state(ck), "complete"), 1)) {
        fprintf(stderr, "ck-finetune: %s has already trained %d of %d epochs; pass --epochs N to train longer\n",
                resume, ck_checkpoint_epoch(ck), opts->epochs);
        return 0;
    }
    return -1;
}

/* A new run: the options given over the defaults. Returns -1 to go on,
 * else the exit status. */
static int options_from_cli(ck_train_options *opts, ck_train_options *cli, const char *set)
{
    for (int i = 0; i < ck_train_option_count(); i++)
        if (set[i] || !strcmp(ck_train_option_name(i), "progress")) {
            char *v = ck_train_options_get(cli, ck_train_option_name(i));
            ck_train_options_set(opts, ck_train_option_name(i), v);
            free(v);
        }
    const char *missing = !opts->weights ? "--weights FILE" : !opts->train ? "--train MANIFEST|DIR"
                          : !opts->out && !opts->find_lr ? "-o CHECKPOINT" : NULL;
    if (missing)
        return usage_error("missing %s", missing);
    return -1;
}

/* Check the options, train, report. Returns the exit status. */
static int train(ck_train_options *opts, ck_checkpoint *ck)
{
    int rc;
    if (ck_train_options_check(opts) != 0) {
        char *e = ck_error_take();
        size_t n = e ? strlen(e) : 0;
        if (n && e[n - 1] == '\n')
            e[n - 1] = '\0';
        rc = usage_error("%s", e ? e : "bad options");
        free(e);
        return rc;
    }

    install_handlers();
    ck_train_io io = {.msg = stderr, .stop = &stop_flag, .resume = ck};
    ck_lr_find_result found;
    int r = opts->find_lr ? ck_train_find_lr(opts, &io, &found) : ck_train_run(opts, &io);
    if (opts->find_lr && r == 0) {
        printf("suggested lr: %.3g\n", found.suggested);
        ck_lr_find_result_clear(&found);
    }
    if (r == CK_TRAIN_INTERRUPTED) {
        rc = 130;
    } else if (r != 0) {
        print_errors();
        rc = 1;
    } else {
        rc = 0;
    }
    free(io.summary);
    return rc;
}

int main(int argc, char **argv)
{
    ck_cli_blas_setup(argv);
    char *set = calloc((size_t)ck_train_option_count() + 1, 1);
    if (!set)
        return 1;
    ck_train_options cli, opts;
    ck_train_options_init(&cli);
    ck_train_options_init(&opts);
    int summary = 0;
    const char *resume = NULL;
    ck_checkpoint *ck = NULL;
    int rc = parse_args(argc, argv, &cli, set, &summary, &resume);
    if (rc < 0 && summary) {
        rc = finetune_summary(&cli, stdout) == 0 ? 0 : 1;
        if (rc)
            print_errors();
    }
    if (rc < 0 && resume && cli.find_lr)
        rc = usage_error("%s", "--find-lr is a run of its own: not with --resume");
    if (rc < 0 && resume && !(ck = ck_checkpoint_load(resume))) {
        print_errors();
        rc = 1;
    }
    if (rc < 0)
        rc = ck ? options_from_resume(&opts, ck, resume, &cli, set) : options_from_cli(&opts, &cli, set);
    if (rc < 0)
        rc = train(&opts, ck);
    ck_checkpoint_free(ck);
    ck_train_options_clear(&opts);
    ck_train_options_clear(&cli);
    free(set);
    return rc;
}
