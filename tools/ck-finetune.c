/* ck-finetune — transfer learning on a frozen VGG16 base (see --help and
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

enum { OPT_SUMMARY = 1000, OPT_RESUME, OPT_PROGRESS, OPT_TABLE };

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

int main(int argc, char **argv)
{
    ck_cli_blas_setup(argv);
    /* Long options mirror the option table (ck/train.h) one to one, so a
     * new training option needs one line here and none elsewhere. */
    int ntab = ck_train_option_count();
    struct option *lo = calloc((size_t)ntab + 16, sizeof *lo);
    char *set = calloc((size_t)ntab, 1);
    if (!lo || !set)
        return 1;
    int k = 0;
    for (int i = 0; i < ntab; i++) {
        const char *name = ck_train_option_name(i);
        if (!strcmp(name, "progress"))
            continue;
        int flag = !strcmp(name, "batchnorm") || !strcmp(name, "nesterov") || !strcmp(name, "cache-fp16") ||
                   !strcmp(name, "embed-base");
        lo[k++] = (struct option){name, flag ? no_argument : required_argument, NULL, OPT_TABLE + i};
    }
    lo[k++] = (struct option){"summary", no_argument, NULL, OPT_SUMMARY};
    lo[k++] = (struct option){"resume", required_argument, NULL, OPT_RESUME};
    lo[k++] = (struct option){"progress", no_argument, NULL, OPT_PROGRESS};
    lo[k++] = (struct option){"quiet", no_argument, NULL, 'q'};
    lo[k++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[k++] = (struct option){0, 0, 0, 0};
    static const struct { char c; const char *name; } shorts[] = {
        {'w', "weights"}, {'t', "train"}, {'i', "images"}, {'l', "labels"}, {'o', "output"},
        {'e', "epochs"}, {'b', "batch"}, {'j', "threads"}};

    ck_train_options cli;
    ck_train_options_init(&cli);
    int summary = 0, rc = 2;
    const char *resume = NULL;
    int c;
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
            int idx = -1;
            for (int i = 0; i < ntab; i++)
                if (!strcmp(ck_train_option_name(i), name))
                    idx = i;
            if (ck_train_options_set(&cli, name, optarg) != 0) {
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
        case OPT_SUMMARY: summary = 1; break;
        case OPT_RESUME:
            if (!*optarg) {
                rc = usage_error("%s", "--resume: empty path");
                goto out;
            }
            resume = optarg;
            break;
        case OPT_PROGRESS: cli.progress = 1; break;
        case 'q': cli.progress = -1; break;
        case 'h':
            finetune_usage(stdout);
            rc = 0;
            goto out;
        case ':':
            rc = usage_error("option '%s' needs a value", argv[optind - 1]);
            goto out;
        default:
            rc = usage_error("unknown option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        rc = usage_error("unexpected argument '%s'", argv[optind]);
        goto out;
    }

    if (summary) {
        rc = finetune_summary(&cli, stdout) == 0 ? 0 : 1;
        if (rc)
            print_errors();
        goto out;
    }

    ck_train_options opts;
    ck_train_options_init(&opts);
    ck_checkpoint *ck = NULL;
    if (resume) {
        ck = ck_checkpoint_load(resume);
        if (!ck || ck_train_options_from_json(&opts, ck_checkpoint_training(ck)) != 0) {
            print_errors();
            rc = 1;
            goto out_opts;
        }
        /* Options that do not change the numbers may be given again (more
         * epochs, another log); the others keep the checkpoint's values. */
        for (int i = 0; i < ntab; i++) {
            const char *name = ck_train_option_name(i);
            int forced = !strcmp(name, "progress");
            if (!set[i] && !forced)
                continue;
            char *v = ck_train_options_get(&cli, name);
            char *old = ck_train_options_get(&opts, name);
            if (ck_train_option_resumable(name) || forced) {
                ck_train_options_set(&opts, name, v);
            } else if (v && old && strcmp(v, old) != 0) {
                fprintf(stderr, "ck-finetune: ignoring --%s %s: resuming keeps the checkpoint's value %s\n",
                        name, v, old);
            }
            free(v);
            free(old);
        }
        if (ck_checkpoint_epoch(ck) >= opts.epochs && ck_json_bool(ck_json_get(ck_checkpoint_state(ck), "complete"), 1)) {
            fprintf(stderr, "ck-finetune: %s has already trained %d of %d epochs; pass --epochs N to train longer\n",
                    resume, ck_checkpoint_epoch(ck), opts.epochs);
            rc = 0;
            goto out_opts;
        }
    } else {
        for (int i = 0; i < ntab; i++)
            if (set[i] || !strcmp(ck_train_option_name(i), "progress")) {
                char *v = ck_train_options_get(&cli, ck_train_option_name(i));
                ck_train_options_set(&opts, ck_train_option_name(i), v);
                free(v);
            }
        const char *missing = !opts.weights ? "--weights FILE" : !opts.train ? "--train MANIFEST|DIR"
                              : !opts.out ? "-o CHECKPOINT" : NULL;
        if (missing) {
            rc = usage_error("missing %s", missing);
            goto out_opts;
        }
    }
    if (ck_train_options_check(&opts) != 0) {
        char *e = ck_error_take();
        size_t n = e ? strlen(e) : 0;
        if (n && e[n - 1] == '\n')
            e[n - 1] = '\0';
        rc = usage_error("%s", e ? e : "bad options");
        free(e);
        goto out_opts;
    }

    install_handlers();
    ck_train_io io = {.msg = stderr, .stop = &stop_flag, .resume = ck};
    int r = ck_train_run(&opts, &io);
    if (r == CK_TRAIN_INTERRUPTED) {
        rc = 130;
    } else if (r != 0) {
        print_errors();
        rc = 1;
    } else {
        rc = 0;
    }
    free(io.summary);
out_opts:
    ck_checkpoint_free(ck);
    ck_train_options_clear(&opts);
out:
    ck_train_options_clear(&cli);
    free(lo);
    free(set);
    return rc;
}
