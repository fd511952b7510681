/* bench-conv — one 3×3 convolution, fp32 (im2col + GEMM) vs Winograd, per
 * shape: the measurements behind CK_CONV_AUTO's rule on the CPU
 * (lib/cpu/cpu_conv.c, docs/performance.md).
 *
 *   bench-conv [--threads N] [--repeats N] [--batch N] [--gemm K] [SIZE:CI:CO ...]
 *
 * --gemm avx512|blas caps the kernel of Winograd's GEMMs (default: the
 * best this CPU has), to compare them on one machine; --chunk T forces
 * Winograd's tiles per chunk (the tuning of wg_chunk_tiles).
 * Default shapes: the VGG16 layers at the spatial sizes of 32, 64 and 224
 * pixel inputs. Winograd is timed with its weight transform cached (the
 * steady state of a frozen layer). Output, tab-separated:
 *   conv <size> <ci> <co> <batch> <fp32 ms> <winograd ms> <auto ms> <fp32/winograd> <bf16 ms>
 * (bf16: the best bf16 kernel of this CPU, weights packed once; the fp32
 * path where it has none).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ck/backend.h"
#include "ck/error.h"
#include "ck/ops.h"
#include "ck/rng.h"

#include "conv_winograd.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int fill_random(ck_tensor *t, uint64_t seed, double scale)
{
    size_t n = ck_tensor_numel(t);
    float *h = malloc(n * sizeof *h);
    if (!h)
        return -1;
    ck_rng r = ck_rng_make(seed, 0, 0);
    for (size_t i = 0; i < n; i++)
        h[i] = (float)ck_rng_range(&r, -scale, scale);
    int rc = ck_tensor_upload(t, h, n * sizeof *h);
    free(h);
    return rc;
}

/* Median milliseconds of `repeats` calls after one warm-up call. */
static double time_conv(ck_backend *be, ck_tensor *x, ck_tensor *w, ck_tensor *b, ck_tensor *y,
                        ck_conv_algo algo, int repeats)
{
    double t[64];
    if (repeats > 64)
        repeats = 64;
    for (int i = -1; i < repeats; i++) {
        double t0 = now();
        if (ck_conv3x3_forward(be, x, w, b, y, 1, algo))
            return -1;
        if (i >= 0)
            t[i] = (now() - t0) * 1e3;
    }
    qsort(t, repeats, sizeof *t, cmp_double);
    return t[repeats / 2];
}

static int run_shape(ck_backend *be, int size, int ci, int co, int batch, int repeats)
{
    int rc = -1;
    ck_tensor *x = ck_tensor_new_4d(be, CK_F32, batch, size, size, ci);
    ck_tensor *y = ck_tensor_new_4d(be, CK_F32, batch, size, size, co);
    int ws[4] = {3, 3, ci, co};
    ck_tensor *w = ck_tensor_new(be, CK_F32, 4, ws);
    ck_tensor *b = ck_tensor_new_1d(be, CK_F32, co);
    if (!x || !y || !w || !b || fill_random(x, 1, 100.0) || fill_random(w, 2, 0.05) || fill_random(b, 3, 0.1))
        goto done;
    double f = time_conv(be, x, w, b, y, CK_CONV_FP32, repeats);
    double g = time_conv(be, x, w, b, y, CK_CONV_WINOGRAD, repeats);
    double a = time_conv(be, x, w, b, y, CK_CONV_AUTO, repeats);
    double h = time_conv(be, x, w, b, y, CK_CONV_BF16, repeats);
    if (f < 0 || g < 0 || a < 0 || h < 0)
        goto done;
    printf("conv\t%d\t%d\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.2f\t%.3f\n", size, ci, co, batch, f, g, a, f / g, h);
    fflush(stdout);
    rc = 0;
done:
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_tensor_free(w);
    ck_tensor_free(b);
    return rc;
}

int main(int argc, char **argv)
{
    int threads = 2, repeats = 5, batch = 32;
    static const struct option lo[] = {{"threads", required_argument, 0, 't'},
                                       {"repeats", required_argument, 0, 'r'},
                                       {"batch", required_argument, 0, 'b'},
                                       {"gemm", required_argument, 0, 'g'},
                                       {"chunk", required_argument, 0, 'c'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 't': threads = atoi(optarg); break;
        case 'r': repeats = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'c': ck_cpu_winograd_set_chunk(atol(optarg)); break;
        case 'g':
            if (!strcmp(optarg, "avx512") || !strcmp(optarg, "blas")) {
                ck_cpu_winograd_set_kernel(optarg[0] == 'b' ? CK_WG_BLAS : CK_WG_AVX512);
                break;
            }
            fprintf(stderr, "bench-conv: --gemm: avx512 or blas\nTry 'bench-conv --help'.\n");
            return 2;
        case 'h':
            printf("Usage: bench-conv [--threads N] [--repeats N] [--batch N] [--gemm K] [SIZE:CI:CO ...]\n"
                   "Times one 3x3 convolution with fp32, winograd and auto (ms, median),\n"
                   "then fp32/winograd and bf16 (the best bf16 kernel; fp32 where none).\n"
                   "  --gemm K   avx512|blas: the best kernel Winograd's GEMMs may use\n"
                   "  --chunk T  Winograd tiles per chunk (default: from the channel counts)\n");
            return 0;
        default: fprintf(stderr, "Try 'bench-conv --help'.\n"); return 2;
        }
    }
    if (threads < 0 || repeats < 1 || batch < 1) {
        fprintf(stderr, "bench-conv: bad number\nTry 'bench-conv --help'.\n");
        return 2;
    }
    ck_backend *be = ck_backend_new("cpu", threads);
    if (!be) {
        fprintf(stderr, "bench-conv: %s\n", ck_error_buffer());
        return 1;
    }
    static const int vgg[][3] = {{1, 3, 64},    {1, 64, 64},   {2, 64, 128},  {2, 128, 128},
                                 {4, 128, 256}, {4, 256, 256}, {8, 256, 512}, {8, 512, 512},
                                 {16, 512, 512}};
    int rc = 0;
    if (optind < argc) {
        for (int i = optind; i < argc && !rc; i++) {
            int s, ci, co;
            if (sscanf(argv[i], "%d:%d:%d", &s, &ci, &co) != 3 || s < 1 || ci < 1 || co < 1) {
                fprintf(stderr, "bench-conv: bad shape '%s'\nTry 'bench-conv --help'.\n", argv[i]);
                ck_backend_free(be);
                return 2;
            }
            rc = run_shape(be, s, ci, co, batch, repeats);
        }
    } else {
        const int inputs[] = {32, 64, 224};
        for (int k = 0; k < 3 && !rc; k++)
            for (size_t i = 0; i < sizeof vgg / sizeof vgg[0] && !rc; i++) {
                int s = inputs[k] / vgg[i][0];
                if (s >= 1 && (inputs[k] < 224 || s <= 56))
                    rc = run_shape(be, s, vgg[i][1], vgg[i][2], inputs[k] == 224 ? 1 : batch, repeats);
            }
    }
    if (rc)
        fprintf(stderr, "bench-conv: %s\n", ck_error_buffer());
    ck_backend_free(be);
    return rc ? 1 : 0;
}
