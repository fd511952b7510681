/* The command-line helpers of the tools that run the network; see cli.h. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ck/backend.h"
#include "ck/threads.h"

void ck_cli_blas_setup(char **argv)
{
    const char *core = ck_cpu_blas_better_core();
    if (!core || setenv("OPENBLAS_CORETYPE", core, 1))
        return;
    execv("/proc/self/exe", argv);
    /* Not fatal: the slower kernels still compute the same results. */
    unsetenv("OPENBLAS_CORETYPE");
}

int ck_cli_version_backends(const char *prog)
{
    ck_cli_version(prog);
    fputs("backends:", stdout);
    for (int i = 0; ck_backend_kind(i); i++)
        printf(" %s", ck_backend_kind(i));
    putchar('\n');
    return 0;
}

int ck_cli_run_option(const char *prog, int c, const char *arg, ck_cli_run *r)
{
    long v;
    switch (c) {
    case CK_CLI_OPT_TTA:
        if ((r->nviews = ck_tta_parse(arg, r->views)) < 0) {
            ck_cli_fail(NULL);
            return ck_cli_try_help(prog);
        }
        return -1;
    case 'b':
        if (ck_cli_parse_long(arg, 1, r->max_batch, &v))
            return ck_cli_count_error(prog, "--batch", arg, 1, r->max_batch);
        r->batch = (int)v;
        return -1;
    case 'j':
        if (ck_cli_parse_threads(arg, 0, &r->threads))
            return ck_cli_count_error(prog, "--threads", arg, 0, ck_thread_limit());
        return -1;
    case CK_CLI_OPT_LOADERS:
        if (ck_cli_parse_threads(arg, 1, &r->loaders))
            return ck_cli_count_error(prog, "--loaders", arg, 1, ck_thread_limit());
        return -1;
    case CK_CLI_OPT_MAX_PIXELS:
        return ck_cli_max_pixels(prog, arg) ? 2 : -1;
    case CK_CLI_OPT_DEVICE:
        if (!ck_device_name_valid(arg))
            return ck_cli_usage_error(prog, "--device must be cpu, cuda, cuda:N or auto, not '%s'", arg);
        r->device = arg;
        return -1;
    case CK_CLI_OPT_CONV_ALGO: {
        ck_conv_algo a;
        if (ck_conv_algo_parse(arg, &a) != 0) {
            ck_error_clear();
            return ck_cli_usage_error(prog, "--conv-algo must be auto, fp32, winograd or bf16, not '%s'", arg);
        }
        r->conv_algo = (int)a;
        r->set_conv_algo = 1;
        return -1;
    }
    }
    return 1;
}
