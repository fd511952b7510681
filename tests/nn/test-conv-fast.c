/* test-conv-fast.c — the fast forward convolutions against a direct one.
 *
 * Reference: a naive 3×3 'same' convolution in double precision. Errors are
 * measured as max|fast − ref| / max|ref| over the whole output (per-element
 * relative error is meaningless next to zero crossings). Tolerances:
 *   Winograd F(4×4,3×3) fp32   2e-5  (measured 1e-6..6e-6)
 *   bf16 (inputs and weights rounded to bf16, fp32 sums)  1e-2 (measured ~3e-3)
 * Shapes include H, W not multiples of 4 (14×14, 7×7, 2×2, 1×1, 9×13),
 * Ci = 3 and odd channel counts, with and without ReLU, and the Winograd
 * multi-chunk path (forced small chunks). Both bf16 layouts are tested:
 * AMX-BF16 where the CPU has it, else the AMX kernel's code on the tile
 * emulator; AVX-512 BF16 where present, else its portable twin; without
 * either native kernel ck_cpu_conv3x3_bf16 must decline. vgg_layers()
 * compares them with the fp32 path on every VGG16 layer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ck/backend.h"
#include "ck/error.h"
#include "ck/ops.h"
#include "ck/rng.h"

#include "conv_bf16.h"
#include "conv_winograd.h"
#include "cpu_kernels.h"

typedef struct shape {
    int n, h, w, ci, co, relu;
} shape;

static const shape shapes[] = {
    {2, 14, 14, 16, 24, 1}, {1, 7, 7, 8, 40, 0},  {3, 2, 2, 5, 7, 1},  {2, 1, 1, 6, 33, 0},
    {1, 9, 13, 3, 64, 1},   {2, 16, 16, 64, 48, 0}, {1, 5, 6, 1, 1, 0}, {1, 12, 8, 3, 17, 0},
    /* the AVX-512 GEMM kernel: K-blocks (ci > 128), a 64 + 16 column split,
     * row remainders, and the few-tiles mode with 16-wide slices */
    {1, 18, 22, 144, 80, 1}, {2, 9, 9, 32, 32, 0}, {1, 4, 4, 16, 16, 1},
};

static void fill(float *a, size_t n, uint64_t seed, float lo, float hi)
{
    ck_rng r = ck_rng_make(seed, 0, 0);
    for (size_t i = 0; i < n; i++)
        a[i] = (float)ck_rng_range(&r, lo, hi);
}

static void direct(const float *x, const shape *s, const float *wt, const float *b, double *y)
{
    for (int i = 0; i < s->n; i++)
        for (int r = 0; r < s->h; r++)
            for (int c = 0; c < s->w; c++)
                for (int o = 0; o < s->co; o++) {
                    double acc = b[o];
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int rr = r + ky - 1, cc = c + kx - 1;
                            if (rr < 0 || rr >= s->h || cc < 0 || cc >= s->w)
                                continue;
                            const float *xp = x + (((size_t)i * s->h + rr) * s->w + cc) * s->ci;
                            const float *wp = wt + ((size_t)(ky * 3 + kx) * s->ci) * s->co + o;
                            for (int k = 0; k < s->ci; k++)
                                acc += (double)xp[k] * wp[(size_t)k * s->co];
                        }
                    if (s->relu && acc < 0)
                        acc = 0;
                    y[(((size_t)i * s->h + r) * s->w + c) * s->co + o] = acc;
                }
}

static double rel_err(const float *y, const double *ref, size_t n)
{
    double e = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)y[i] - ref[i]);
        if (!(d <= e)) /* also catches NaN */
            e = d;
        if (fabs(ref[i]) > m)
            m = fabs(ref[i]);
    }
    return m > 0 ? e / m : e;
}

static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

/* Documented bound of the bf16 kernels (docs/performance.md). */
#define BF16_TOL 1e-2

/* The kernel to test for each bf16 layout: AMX or its run on the tile
 * emulator, AVX-512 BF16 or the portable twin. */
static void bf16_kernels(ck_bf16_kernel ks[2])
{
    ks[0] = ck_cpu_bf16_can_run(CK_BF16_AMX) ? CK_BF16_AMX : CK_BF16_AMX_EMU;
    ks[1] = ck_cpu_bf16_can_run(CK_BF16_AVX512) ? CK_BF16_AVX512 : CK_BF16_PORTABLE;
}

/* Kernel k on shape s against ref: every output written, within the bound. */
static void check_bf16(ck_backend *be, ck_bf16_kernel k, const shape *s, const float *x, const void *wt,
                       ck_dtype wdt, const float *b, float *y, const double *ref, const char *what)
{
    size_t ny = (size_t)s->n * s->h * s->w * s->co;
    ck_bf16_kernel old = ck_cpu_bf16_use(k);
    memset(y, 0xff, ny * sizeof *y); /* NaN: every element must be written */
    int rc = ck_cpu_conv3x3_bf16(be, x, s->n, s->h, s->w, s->ci, wt, wdt, b, s->co, y, s->relu);
    ck_cpu_bf16_use(old);
    CHECK(rc == 0);
    double e = rel_err(y, ref, ny);
    fprintf(stderr, "bf16 (%s) n=%d %3dx%-3d ci=%-3d co=%-3d%s: max err/max|ref| %.2e\n", ck_cpu_bf16_kernel_name(k),
            s->n, s->h, s->w, s->ci, s->co, what, e);
    CHECK(e <= BF16_TOL);
}

static void one_shape(ck_backend *be, const shape *s, int idx)
{
    size_t nx = (size_t)s->n * s->h * s->w * s->ci, ny = (size_t)s->n * s->h * s->w * s->co;
    size_t nw = 9 * (size_t)s->ci * s->co;
    float *x = malloc(nx * sizeof *x), *wt = malloc(nw * sizeof *wt), *b = malloc(s->co * sizeof *b);
    float *y = malloc(ny * sizeof *y);
    uint16_t *wb = malloc(nw * sizeof *wb);
    double *ref = malloc(ny * sizeof *ref);
    fill(x, nx, 100 + idx, -0.5f, 1.0f);
    fill(wt, nw, 200 + idx, -0.3f, 0.3f);
    fill(b, s->co, 300 + idx, -0.2f, 0.2f);
    direct(x, s, wt, b, ref);

    /* Winograd, automatic chunking, then forced small chunks. */
    for (int forced = 0; forced < 2; forced++) {
        long old = ck_cpu_winograd_set_chunk(forced ? 2 : 0);
        memset(y, 0xff, ny * sizeof *y); /* NaN: every element must be written */
        int rc = ck_cpu_conv3x3_winograd(be, x, s->n, s->h, s->w, s->ci, wt, b, s->co, y, s->relu);
        ck_cpu_winograd_set_chunk(old);
        CHECK(rc == 0);
        double e = rel_err(y, ref, ny);
        fprintf(stderr, "winograd%s n=%d %2dx%-2d ci=%-2d co=%-2d relu=%d: max err/max|ref| %.2e\n",
                forced ? " (2-tile chunks)" : "", s->n, s->h, s->w, s->ci, s->co, s->relu, e);
        CHECK(e <= 2e-5);
    }

    /* bf16, each layout with its native kernel or its plain-C twin: f32
     * weights, then weights already in bf16 (same result). */
    ck_bf16_kernel ks[2];
    bf16_kernels(ks);
    for (size_t i = 0; i < nw; i++)
        wb[i] = to_bf16(wt[i]);
    for (int ki = 0; ki < 2; ki++) {
        check_bf16(be, ks[ki], s, x, wt, CK_F32, b, y, ref, "");
        check_bf16(be, ks[ki], s, x, wb, CK_BF16, b, y, ref, " bf16 weights");
    }

    free(x), free(wt), free(b), free(y), free(wb), free(ref);
}

/* Through the public op: algo WINOGRAD must agree with FP32 to Winograd
 * accuracy, and BF16 must give a close result (or the fp32 fallback). */
static void public_op(ck_backend *be)
{
    const int n = 2, h = 10, w = 6, ci = 12, co = 20;
    ck_tensor *x = ck_tensor_new_4d(be, CK_F32, n, h, w, ci);
    int wshape[4] = {3, 3, ci, co};
    ck_tensor *wt = ck_tensor_new(be, CK_F32, 4, wshape);
    ck_tensor *b = ck_tensor_new_1d(be, CK_F32, co);
    ck_tensor *y = ck_tensor_new_4d(be, CK_F32, n, h, w, co);
    CHECK(x && wt && b && y);
    if (!x || !wt || !b || !y)
        goto done;
    size_t nx = (size_t)n * h * w * ci, nw = 9 * (size_t)ci * co, ny = (size_t)n * h * w * co;
    float *hx = malloc(nx * 4), *hw = malloc(nw * 4), *hb = malloc(co * 4);
    float *y32 = malloc(ny * 4), *yf = malloc(ny * 4);
    fill(hx, nx, 1, -1, 1);
    fill(hw, nw, 2, -0.2f, 0.2f);
    fill(hb, co, 3, -0.1f, 0.1f);
    CHECK(ck_tensor_upload(x, hx, nx * 4) == 0);
    CHECK(ck_tensor_upload(wt, hw, nw * 4) == 0);
    CHECK(ck_tensor_upload(b, hb, co * 4) == 0);
    CHECK(ck_conv3x3_forward(be, x, wt, b, y, 1, CK_CONV_FP32) == 0);
    CHECK(ck_tensor_download(y, y32, ny * 4) == 0);
    const ck_conv_algo algos[] = {CK_CONV_WINOGRAD, CK_CONV_BF16, CK_CONV_AUTO};
    const double tol[] = {2e-5, 1e-2, 1e-2};
    for (int a = 0; a < 3; a++) {
        CHECK(ck_conv3x3_forward(be, x, wt, b, y, 1, algos[a]) == 0);
        CHECK(ck_tensor_download(y, yf, ny * 4) == 0);
        double e = 0, m = 0;
        for (size_t i = 0; i < ny; i++) {
            e = fmax(e, fabs(yf[i] - y32[i]));
            m = fmax(m, fabs(y32[i]));
        }
        fprintf(stderr, "public op %s vs fp32: %.2e\n", ck_conv_algo_name(algos[a]), e / m);
        CHECK(e / m <= tol[a]);
    }
    /* Packed bf16 weights are cached per weight tensor: new contents
     * must be repacked, not served stale. */
    for (size_t i = 0; i < nw; i++)
        hw[i] = -hw[i];
    CHECK(ck_tensor_upload(wt, hw, nw * 4) == 0);
    CHECK(ck_conv3x3_forward(be, x, wt, b, y, 1, CK_CONV_FP32) == 0);
    CHECK(ck_tensor_download(y, y32, ny * 4) == 0);
    CHECK(ck_conv3x3_forward(be, x, wt, b, y, 1, CK_CONV_BF16) == 0);
    CHECK(ck_tensor_download(y, yf, ny * 4) == 0);
    double e = 0, m = 0;
    for (size_t i = 0; i < ny; i++) {
        e = fmax(e, fabs(yf[i] - y32[i]));
        m = fmax(m, fabs(y32[i]));
    }
    fprintf(stderr, "public op bf16 after new weights vs fp32: %.2e\n", e / m);
    CHECK(e / m <= BF16_TOL);
    free(hx), free(hw), free(hb), free(y32), free(yf);
done:
    ck_tensor_free(x), ck_tensor_free(wt), ck_tensor_free(b), ck_tensor_free(y);
}

static float from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* bf16 activations through the public ops (what a GPU model passes between
 * frozen layers; the CPU is their reference twin): conv with bf16 x and/or
 * y must equal the fp32 conv of the widened x, rounded once when y is
 * bf16; max-pool on bf16 must equal the f32 max-pool exactly. */
static void bf16_activations(ck_backend *be)
{
    const int n = 2, h = 6, w = 8, ci = 16, co = 24;
    size_t nx = (size_t)n * h * w * ci, nw = 9 * (size_t)ci * co, ny = (size_t)n * h * w * co;
    int wshape[4] = {3, 3, ci, co};
    ck_tensor *x32 = ck_tensor_new_4d(be, CK_F32, n, h, w, ci), *x16 = ck_tensor_new_4d(be, CK_BF16, n, h, w, ci);
    ck_tensor *wt = ck_tensor_new(be, CK_F32, 4, wshape), *b = ck_tensor_new_1d(be, CK_F32, co);
    ck_tensor *y32 = ck_tensor_new_4d(be, CK_F32, n, h, w, co), *y16 = ck_tensor_new_4d(be, CK_BF16, n, h, w, co);
    ck_tensor *p32 = ck_tensor_new_4d(be, CK_F32, n, h / 2, w / 2, co);
    ck_tensor *p16 = ck_tensor_new_4d(be, CK_BF16, n, h / 2, w / 2, co);
    float *hx = malloc(nx * 4), *hw = malloc(nw * 4), *hb = malloc(co * 4), *ref = malloc(ny * 4);
    float *got = malloc(ny * 4), *pref = malloc(ny * 4);
    uint16_t *hx16 = malloc(nx * 2), *g16 = malloc(ny * 2);
    CHECK(x32 && x16 && wt && b && y32 && y16 && p32 && p16);
    if (!x32 || !x16 || !wt || !b || !y32 || !y16 || !p32 || !p16)
        goto done;
    fill(hx, nx, 11, -1, 1);
    fill(hw, nw, 12, -0.2f, 0.2f);
    fill(hb, co, 13, -0.1f, 0.1f);
    for (size_t i = 0; i < nx; i++) {
        hx16[i] = to_bf16(hx[i]);
        hx[i] = from_bf16(hx16[i]); /* the f32 x is the widened bf16 x */
    }
    CHECK(ck_tensor_upload(x32, hx, nx * 4) == 0 && ck_tensor_upload(x16, hx16, nx * 2) == 0);
    CHECK(ck_tensor_upload(wt, hw, nw * 4) == 0 && ck_tensor_upload(b, hb, co * 4) == 0);
    CHECK(ck_conv3x3_forward(be, x32, wt, b, y32, 1, CK_CONV_FP32) == 0);
    CHECK(ck_tensor_download(y32, ref, ny * 4) == 0);
    /* within bf16 rounding (the CPU bf16 kernel also rounds the weights) */
    for (int xi = 0; xi < 2; xi++)
        for (int yi = 0; yi < 2; yi++) {
            if (!xi && !yi)
                continue;
            ck_tensor *x = xi ? x16 : x32, *y = yi ? y16 : y32;
            CHECK(ck_conv3x3_forward(be, x, wt, b, y, 1, CK_CONV_BF16) == 0);
            if (yi) {
                CHECK(ck_tensor_download(y16, g16, ny * 2) == 0);
                for (size_t i = 0; i < ny; i++)
                    got[i] = from_bf16(g16[i]);
            } else {
                CHECK(ck_tensor_download(y32, got, ny * 4) == 0);
            }
            double e = 0, m = 0;
            for (size_t i = 0; i < ny; i++) {
                e = fmax(e, fabs(got[i] - ref[i]));
                m = fmax(m, fabs(ref[i]));
            }
            fprintf(stderr, "conv bf16 activations x=%s y=%s: max err/max|ref| %.2e\n", xi ? "bf16" : "f32",
                    yi ? "bf16" : "f32", e / m);
            CHECK(e / m <= 1e-2);
        }
    /* max-pool of the bf16 conv output vs f32 max-pool of its widening */
    CHECK(ck_conv3x3_forward(be, x16, wt, b, y16, 1, CK_CONV_BF16) == 0);
    CHECK(ck_tensor_download(y16, g16, ny * 2) == 0);
    for (size_t i = 0; i < ny; i++)
        got[i] = from_bf16(g16[i]);
    CHECK(ck_tensor_upload(y32, got, ny * 4) == 0);
    CHECK(ck_maxpool2_forward(be, y32, p32) == 0 && ck_maxpool2_forward(be, y16, p16) == 0);
    size_t np = ny / 4;
    CHECK(ck_tensor_download(p32, pref, np * 4) == 0 && ck_tensor_download(p16, g16, np * 2) == 0);
    int same = 1;
    for (size_t i = 0; i < np; i++)
        same &= from_bf16(g16[i]) == pref[i];
    fprintf(stderr, "maxpool bf16 vs f32: %s\n", same ? "identical" : "DIFFERENT");
    CHECK(same);
    /* mixed dtypes are refused */
    CHECK(ck_maxpool2_forward(be, y16, p32) == -1);
    CHECK(ck_conv3x3_forward(be, x16, wt, b, y32, 1, CK_CONV_FP32) == -1);
done:
    free(hx), free(hw), free(hb), free(ref), free(got), free(pref), free(hx16), free(g16);
    ck_tensor_free(x32), ck_tensor_free(x16), ck_tensor_free(wt), ck_tensor_free(b);
    ck_tensor_free(y32), ck_tensor_free(y16), ck_tensor_free(p32), ck_tensor_free(p16);
}

static const char *kernel_name(int k)
{
    return k == CK_WG_AVX512 ? "avx512" : "openblas";
}

/* ck_cpu_wg_gemm (AVX-512 kernel where usable) against a double-precision
 * GEMM, over row/column/K remainders and strided operands. */
static void wg_gemm_cases(void)
{
    const int ms[] = {1, 5, 6, 7, 13, 49};
    const int ns[] = {16, 32, 48, 64, 80, 144, 17};
    const int ks[] = {1, 3, 128, 129, 300};
    for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
            for (size_t c = 0; c < sizeof ks / sizeof *ks; c++) {
                int m = ms[a], n = ns[b], k = ks[c];
                long lda = k + 3, ldb = n + 16, ldc = n + 5;
                float *A = malloc(sizeof(float) * m * lda), *B = malloc(sizeof(float) * k * ldb);
                float *C = malloc(sizeof(float) * m * ldc);
                fill(A, (size_t)m * lda, 10 + a, -1, 1);
                fill(B, (size_t)k * ldb, 20 + b, -1, 1);
                for (long i = 0; i < m * ldc; i++)
                    C[i] = 7.0f; /* must be overwritten, and the gaps kept */
                ck_cpu_wg_gemm(m, n, k, A, lda, B, ldb, C, ldc);
                double e = 0;
                int gaps = 1;
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double r = 0;
                        for (int p = 0; p < k; p++)
                            r += (double)A[i * lda + p] * B[p * ldb + j];
                        e = fmax(e, fabs(C[i * ldc + j] - r) / sqrt((double)k));
                    }
                    for (long j = n; j < ldc && i + 1 < m; j++)
                        gaps &= C[i * ldc + j] == 7.0f;
                }
                if (!(e < 1e-5) || !gaps)
                    fprintf(stderr, "wg_gemm m=%d n=%d k=%d (%s): err %.2e gaps %d\n", m, n, k,
                            kernel_name(ck_cpu_wg_gemm_kernel(n)), e, gaps);
                CHECK(e < 1e-5 && gaps);
                free(A), free(B), free(C);
            }
    fprintf(stderr, "winograd GEMM kernel (n=16): %s\n", kernel_name(ck_cpu_wg_gemm_kernel(16)));
}

/* The bf16 kernels against the fp32 path (ck_cpu_conv3x3_fp32) on every
 * VGG16 convolution: the 13 layers at 32 px (batch 3), some at 64 and
 * 224 px, and remainders (channels and widths not multiples of the tile
 * sizes, batch 1 and odd batches). Native kernels run every shape; the
 * plain-C twins (slow) only shapes up to TWIN_MACS multiply-adds. */
#define TWIN_MACS 1.6e8

static const shape vgg_shapes[] = {
    /* 32 px: blocks 1-5 */
    {3, 32, 32, 3, 64, 1}, {3, 32, 32, 64, 64, 1}, {3, 16, 16, 64, 128, 1}, {3, 16, 16, 128, 128, 1},
    {3, 8, 8, 128, 256, 1}, {3, 8, 8, 256, 256, 1}, {3, 8, 8, 256, 256, 1}, {3, 4, 4, 256, 512, 1},
    {3, 4, 4, 512, 512, 1}, {3, 4, 4, 512, 512, 1}, {3, 2, 2, 512, 512, 1}, {3, 2, 2, 512, 512, 1},
    {3, 2, 2, 512, 512, 1},
    /* 64 and 224 px */
    {2, 32, 32, 64, 128, 1}, {1, 8, 8, 512, 512, 1}, {1, 224, 224, 3, 64, 1}, {1, 56, 56, 128, 256, 1},
    {1, 14, 14, 512, 512, 1},
    /* remainders */
    {3, 9, 13, 40, 48, 0}, {1, 5, 17, 33, 17, 1}, {5, 3, 2, 5, 7, 0}, {1, 1, 1, 1, 1, 0},
    {2, 7, 31, 96, 80, 1}, {1, 1, 40, 64, 32, 0},
};

static void vgg_layers(ck_backend *be)
{
    ck_bf16_kernel want[4] = {CK_BF16_AMX, CK_BF16_AVX512, CK_BF16_AMX_EMU, CK_BF16_PORTABLE};
    for (int k = 0; k < 2; k++)
        fprintf(stderr, "bf16 kernel %s: %s\n", ck_cpu_bf16_kernel_name(want[k]),
                ck_cpu_bf16_can_run(want[k]) ? "runs natively" : "SKIPPED (this CPU lacks it); its plain-C twin runs instead");
    for (size_t si = 0; si < sizeof vgg_shapes / sizeof *vgg_shapes; si++) {
        const shape *s = &vgg_shapes[si];
        size_t nx = (size_t)s->n * s->h * s->w * s->ci, ny = (size_t)s->n * s->h * s->w * s->co;
        size_t nw = 9 * (size_t)s->ci * s->co;
        double macs = (double)ny * 9 * s->ci;
        float *x = malloc(nx * sizeof *x), *wt = malloc(nw * sizeof *wt), *b = malloc(s->co * sizeof *b);
        float *ref = malloc(ny * sizeof *ref), *y = malloc(ny * sizeof *y);
        double *refd = malloc(ny * sizeof *refd);
        fill(x, nx, 500 + si, 0.0f, 1.0f); /* post-ReLU activations */
        fill(wt, nw, 600 + si, -0.1f, 0.1f);
        fill(b, s->co, 700 + si, -0.1f, 0.1f);
        CHECK(ck_cpu_conv3x3_fp32(be, x, s->n, s->h, s->w, s->ci, wt, b, s->co, ref, s->relu) == 0);
        for (size_t i = 0; i < ny; i++)
            refd[i] = ref[i];
        for (int k = 0; k < 4; k++) {
            ck_bf16_kernel kk = want[k];
            int twin = kk == CK_BF16_AMX_EMU || kk == CK_BF16_PORTABLE;
            /* a twin stands in for its native kernel only where that is missing */
            if (!ck_cpu_bf16_can_run(kk) || (twin && ck_cpu_bf16_can_run(want[k - 2])))
                continue;
            if (twin && macs > TWIN_MACS) {
                fprintf(stderr, "bf16 (%s) n=%d %3dx%-3d ci=%-3d co=%-3d: skipped (%.0fM multiply-adds: too slow in plain C)\n",
                        ck_cpu_bf16_kernel_name(kk), s->n, s->h, s->w, s->ci, s->co, macs / 1e6);
                continue;
            }
            check_bf16(be, kk, s, x, wt, CK_F32, b, y, refd, " vs fp32");
        }
        free(x), free(wt), free(b), free(ref), free(y), free(refd);
    }
}

/* The tile emulator must refuse what the hardware refuses, or the AMX
 * kernel's tests on it would prove nothing about tile shapes. */
static void amx_emulator_faults(void)
{
    CHECK(ck_bf16_amx_emu_faults() == 0);
    ck_bf16_amx_begin_amx_emu(34); /* 68 bytes per A row: over 64 */
    CHECK(ck_bf16_amx_emu_faults() == 1);
    ck_bf16_amx_begin_amx_emu(0); /* B tiles of 0 rows but 64 bytes per row */
    CHECK(ck_bf16_amx_emu_faults() == 1);
    ck_bf16_amx_begin_amx_emu(32);
    ck_bf16_amx_end_amx_emu();
    CHECK(ck_bf16_amx_emu_faults() == 0);
}

int main(void)
{
    ck_backend *be = ck_backend_new("cpu", 2);
    if (!be) {
        fprintf(stderr, "%s", ck_error_buffer());
        return 1;
    }
    fprintf(stderr, "best bf16 kernel on this CPU: %s\n", ck_cpu_bf16_kernel_name(ck_cpu_bf16_best()));
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        one_shape(be, &shapes[i], (int)i);

    /* Without emulation a CPU lacking AVX-512 BF16 must decline (1). */
    if (ck_cpu_bf16_best() == CK_BF16_NONE) {
        float x[4] = {1, 2, 3, 4}, wt[9] = {0}, y[4];
        CHECK(ck_cpu_conv3x3_bf16(be, x, 1, 2, 2, 1, wt, CK_F32, NULL, 1, y, 0) == 1);
    }
    /* Every GEMM kernel this CPU can run: the best first, then OpenBLAS,
     * the path of CPUs without AVX-512. */
    for (int k = CK_WG_AVX512; k >= CK_WG_BLAS; k--) {
        if (k < CK_WG_AVX512 && ck_cpu_wg_gemm_kernel(16) < k)
            continue;
        int old = ck_cpu_winograd_set_kernel(k);
        if (k < CK_WG_AVX512)
            for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
                one_shape(be, &shapes[i], (int)i);
        wg_gemm_cases();
        ck_cpu_winograd_set_kernel(old);
    }
    amx_emulator_faults();
    vgg_layers(be);
    public_op(be);
    bf16_activations(be);
    ck_backend_free(be);
    return check_report("test-conv-fast");
}
