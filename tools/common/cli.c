/* Shared command-line plumbing of the ck-* tools; see cli.h. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ck/fs.h"
#include "ck/threads.h"
#include "ck/version.h"

void ck_cli_name(char **argv, const char *prog)
{
    argv[0] = (char *)prog;
}

int ck_cli_options(int argc, char **argv, const char *prog, const char *shortopts,
                   const struct option *longopts, int (*take)(void *ctx, int c), void *ctx)
{
    int c, rc = -1;
    ck_cli_name(argv, prog);
    while (rc < 0 && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
        rc = take(ctx, c);
    return rc;
}

int ck_cli_version(const char *prog)
{
    printf("%s (ck) %s\n", prog, ck_version());
    return 0;
}

int ck_cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return ck_cli_try_help(prog);
}

int ck_cli_try_help(const char *prog)
{
    fprintf(stderr, "Try '%s --help' for more information.\n", prog);
    return 2;
}

int ck_cli_fail(const char *prog)
{
    if (prog) {
        ck_cli_print_errors(prog);
        return 1;
    }
    fputs(ck_error_buffer(), stderr);
    return 1;
}

/* Messages the tool raised itself already start with "PROG: ": not twice. */
void ck_cli_print_errors(const char *prog)
{
    char *msg = ck_error_take();
    size_t n = strlen(prog);
    if (msg && *msg) {
        char *save = NULL;
        for (char *line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            int named = !strncmp(line, prog, n) && line[n] == ':' && line[n + 1] == ' ';
            fprintf(stderr, "%s%s%s\n", named ? "" : prog, named ? "" : ": ", line);
        }
    }
    free(msg);
}

int ck_cli_usage_from_errors(const char *prog)
{
    ck_cli_print_errors(prog);
    return ck_cli_try_help(prog);
}

int ck_cli_input(const char *prog, const char *path, const char *option)
{
    return ck_io_input_add(path, option) ? ck_cli_usage_from_errors(prog) : 0;
}

int ck_cli_output(const char *prog, const char *path, const char *option, unsigned flags)
{
    if (ck_output_check(path, option, flags))
        return ck_cli_usage_from_errors(prog);
    int n = flags & CK_OUT_FOLDER ? 0 : ck_output_clean_stale(path);
    if (n)
        fprintf(stderr, "%s: removed %d stale temporary file%s of %s (left by an interrupted run)\n", prog, n,
                n == 1 ? "" : "s", path);
    return 0;
}

int ck_cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int ck_cli_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

int ck_cli_parse_ull(const char *s, int base, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int ck_cli_parse_threads(const char *s, long lo, int *out)
{
    long v;
    if (ck_cli_parse_long(s, lo, ck_thread_limit(), &v))
        return -1;
    *out = (int)v;
    return 0;
}

int ck_cli_count_error(const char *prog, const char *opt, const char *s, long lo, long hi)
{
    return ck_cli_usage_error(prog, "%s: '%s' is not a number from %ld to %ld", opt, s, lo, hi);
}
