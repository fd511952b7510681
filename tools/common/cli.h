/* common/cli.h — command-line plumbing shared by the ck-* tools, in the
 * coreutils style: usage errors go to stderr with a hint and exit status 2,
 * runtime errors print the library's error buffer and exit status 1.
 * Not part of the library: tools only (linked as ck_cli; the functions at
 * the end, which need the network, as ck_cli_nn, and the image one as
 * ck_cli_image). */
#ifndef CK_CLI_H
#define CK_CLI_H

#include <getopt.h>

#include "ck/augment.h"
#include "ck/error.h" /* CK_PRINTF */

/* getopt names the program in its messages ("unrecognized option") after
 * argv[0], which is the path the tool was run by: make it PROG. */
void ck_cli_name(char **argv, const char *prog);
/* getopt_long over argv (after ck_cli_name), handing each option to
 * take(ctx, c) until it returns an exit status (>= 0: --help, --version,
 * a usage error). Returns that status, or -1 when every option was taken. */
int ck_cli_options(int argc, char **argv, const char *prog, const char *shortopts,
                   const struct option *longopts, int (*take)(void *ctx, int c), void *ctx);
/* --version: "PROG (ck) VERSION" on stdout. Returns 0. */
int ck_cli_version(const char *prog);

/* "PROG: <message>\n" then "Try 'PROG --help' for more information.\n" on
 * stderr. Returns 2, the usage-error exit status. */
int ck_cli_usage_error(const char *prog, const char *fmt, ...) CK_PRINTF(2, 3);
/* Only the "Try 'PROG --help' ..." line, for when getopt already said what
 * was wrong. Returns 2. */
int ck_cli_try_help(const char *prog);

/* Print ck_error_buffer() to stderr, each line prefixed by "PROG: " unless
 * prog is NULL (the buffer's lines already name their domain) or the line
 * already starts with it. Returns 1. */
int ck_cli_fail(const char *prog);
/* Print and clear the error buffer, one "PROG: <line>\n" per message
 * ("PROG: " not repeated when the line starts with it).
 * Not locked: callers with threads serialize it themselves. */
void ck_cli_print_errors(const char *prog);

/* The error buffer as a usage error: one "PROG: <line>" per message, then
 * the hint. Returns 2. */
int ck_cli_usage_from_errors(const char *prog);
/* Paths, checked before any work (docs/outputs.md). Register an input
 * (NULL: option not given) so that no output may overwrite it; 0, or 2
 * after a usage error (an empty path). */
int ck_cli_input(const char *prog, const char *path, const char *option);
/* Check an output (ck_output_check with `flags`) after the inputs are
 * registered, and remove the temporaries a killed run left beside it,
 * saying so on stderr. 0, or 2 after a usage error. */
int ck_cli_output(const char *prog, const char *path, const char *option, unsigned flags);

/* Option values. Each takes the whole string (no trailing junk, not empty)
 * and returns 0, or -1 without touching *out. */
/* Base-10 integer in [lo, hi]. */
int ck_cli_parse_long(const char *s, long lo, long hi, long *out);
/* A number strtod accepts (not out of double's range); callers check the
 * range, which may be open or closed at either end. */
int ck_cli_parse_double(const char *s, double *out);
/* Unsigned integer (a seed) in base (10, or 0 for C prefixes like 0x);
 * a leading '-' is refused rather than wrapped around. */
int ck_cli_parse_ull(const char *s, int base, unsigned long long *out);

/* A thread count (compute or image-loading) in [lo, ck_thread_limit()]:
 * more only costs memory and stacks (100000 crashed the OpenMP runtime). */
int ck_cli_parse_threads(const char *s, long lo, int *out);
/* Usage error for a count option out of [lo, hi] ("--threads: '100000' is
 * not a number from 1 to 8"). Returns 2. */
int ck_cli_count_error(const char *prog, const char *opt, const char *s, long lo, long hi);
/* First thing in main() of the tools that compute: when OpenBLAS loaded
 * kernels weaker than the CPU allows (ck_cpu_blas_better_core), set
 * OPENBLAS_CORETYPE and execute the program again, so that the library
 * loads the right ones (it reads the variable only while loading). If the
 * exec fails the run carries on as it is. Set OPENBLAS_CORETYPE yourself
 * to opt out. */
void ck_cli_blas_setup(char **argv);
/* --version of the tools that compute: ck_cli_version(), then
 * "backends: cpu cuda" (those built in). Returns 0. */
int ck_cli_version_backends(const char *prog);

/* The options of the tools that run a network over images (ck-predict,
 * ck-features; ck_cli_nn): --tta, -b/--batch, -j/--threads, --loaders,
 * --device, --conv-algo, --max-pixels. Add CK_CLI_RUN_LONGOPTS to the
 * getopt_long table (short options "b:j:"), then offer every option to
 * ck_cli_run_option first: 1 when it was not one of these, -1 when it was
 * parsed into *r, 2 after a usage error was printed. */
enum {
    CK_CLI_OPT_TTA = 0x1000,
    CK_CLI_OPT_LOADERS,
    CK_CLI_OPT_DEVICE,
    CK_CLI_OPT_CONV_ALGO,
    CK_CLI_OPT_MAX_PIXELS
};
#define CK_CLI_RUN_LONGOPTS                                                                                       \
    {"tta", required_argument, 0, CK_CLI_OPT_TTA}, {"batch", required_argument, 0, 'b'},                          \
        {"threads", required_argument, 0, 'j'}, {"loaders", required_argument, 0, CK_CLI_OPT_LOADERS},            \
        {"device", required_argument, 0, CK_CLI_OPT_DEVICE}, {"conv-algo", required_argument, 0, CK_CLI_OPT_CONV_ALGO}, \
        {"max-pixels", required_argument, 0, CK_CLI_OPT_MAX_PIXELS}
/* What they set (zeroed = every default). */
typedef struct ck_cli_run {
    int nviews;            /* 0: --tta not given */
    int batch, threads, loaders;
    const char *device;
    int conv_algo, set_conv_algo; /* a ck_conv_algo; 1 when given */
    int max_batch;         /* bound on --batch (set before parsing) */
    ck_view views[CK_MAX_VIEWS];
} ck_cli_run;
int ck_cli_run_option(const char *prog, int c, const char *arg, ck_cli_run *r);
/* What was given, into a library options struct with these field names
 * (ck_predict_options, ck_features_options; its defaults stay otherwise). */
#define CK_CLI_RUN_APPLY(r, o)                                                                                    \
    do {                                                                                                          \
        if ((r)->nviews) {                                                                                        \
            (o)->views = (r)->views;                                                                              \
            (o)->nviews = (r)->nviews;                                                                            \
        }                                                                                                         \
        (o)->batch = (r)->batch;                                                                                  \
        (o)->threads = (r)->threads;                                                                              \
        (o)->loaders = (r)->loaders;                                                                              \
        if ((r)->device)                                                                                          \
            (o)->device = (r)->device;                                                                            \
        if ((r)->set_conv_algo)                                                                                   \
            (o)->conv_algo = (ck_conv_algo)(r)->conv_algo;                                                        \
    } while (0)

/* Tools that decode images (ck_cli_image): --max-pixels N parsed and set
 * as the image header limit (ck/image.h). 0, or the usage-error status 2
 * after the message. */
int ck_cli_max_pixels(const char *prog, const char *s);

#endif
