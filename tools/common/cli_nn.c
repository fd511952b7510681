/* The command-line helpers of the tools that run the network; see cli.h. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ck/backend.h"

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
