/* conv_winograd.c — 3×3 'same' convolution by Winograd F(4×4,3×3), fp32.
 *
 * Why: a direct/im2col convolution needs 9 multiply-adds per output and
 * input channel and is capped by the machine's fp32 peak; F(4×4,3×3) does
 * a 4×4 output tile with 36 instead of 144, i.e. 4× fewer (Lavin & Gray,
 * "Fast Algorithms for Convolutional Neural Networks", 2015).
 *
 *   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d Bᵀᵀ) ] A     per 6×6 input tile d, 3×3 kernel g
 *
 * The elementwise product summed over input channels is, for each of the
 * 36 tile positions k, one GEMM  M_k[tiles×Co] = V_k[tiles×Ci] · U_k[Ci×Co],
 * done by ck_cpu_wg_gemm (conv_winograd_avx512.c, or OpenBLAS). Tiles are
 * processed in chunks so that the transformed input/output of a chunk
 * stays in cache-sized scratch memory. The weight
 * transform U (4× the kernel's size) is separate: cpu_conv.c keeps it in
 * the backend's cache per (kernel tensor, version), because redoing it per
 * call dominated small inputs (a 512-channel layer writes 38 MB of U while
 * its convolution at 2×2 pixels is 2 MFLOP per image).
 *
 * Layouts: x NHWC, wt HWIO, y NHWC (see ck/backend.h). Transforms work on
 * blocks of channels with fixed-size inner loops so that the compiler
 * vectorises them; target_clones builds AVX-512/AVX2+FMA/baseline versions
 * picked at load time by the CPU.
 *
 * Accuracy: the transforms use the points 0, ±1, ±2, ∞; errors are a few
 * 1e-6..1e-5 relative to the output scale (tests/nn/test-conv-fast.c).
 */
#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#include "conv_winograd.h"
#include "cpu_internal.h"

#define WG_CB 16 /* channels per transform block (one AVX-512 register) */

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define WG_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#endif
#ifndef WG_CLONES
#define WG_CLONES
#endif

typedef struct wg_shape {
    int n, h, w, ci, co;
    int th, tw;     /* tiles per column / row: ceil(h/4), ceil(w/4) */
    long ntiles;    /* n·th·tw */
} wg_shape;

/* ---- weight transform: U[k][ci][co] = (G g Gᵀ)[k] ------------------------ */

/* G·(g0,g1,g2) for the 6 rows of G (vectorised over a block of co). */
#define WG_G(o, g0, g1, g2)                                   \
    do {                                                      \
        (o)[0] = (g0) * 0.25f;                                \
        (o)[1] = ((g0) + (g1) + (g2)) * (-1.0f / 6.0f);       \
        (o)[2] = ((g0) - (g1) + (g2)) * (-1.0f / 6.0f);       \
        (o)[3] = (g0) * (1.0f / 24.0f) + (g1) * (1.0f / 12.0f) + (g2) * (1.0f / 6.0f); \
        (o)[4] = (g0) * (1.0f / 24.0f) - (g1) * (1.0f / 12.0f) + (g2) * (1.0f / 6.0f); \
        (o)[5] = (g2);                                        \
    } while (0)

/* One input channel i, all co: vectorised over blocks of WG_CB outputs. */
WG_CLONES
static void wg_weights(const float *wt, int ci, int co, int i, float *u)
{
    size_t plane = (size_t)ci * co; /* between HWIO (kh,kw) planes and U_k planes */
    for (int o0 = 0; o0 < co; o0 += WG_CB) {
        int on = co - o0 < WG_CB ? co - o0 : WG_CB;
        float g[9][WG_CB], t[18][WG_CB];
        for (int k = 0; k < 9; k++) {
            const float *src = wt + k * plane + (size_t)i * co + o0;
            if (on == WG_CB)
                for (int c = 0; c < WG_CB; c++) g[k][c] = src[c];
            else
                for (int c = 0; c < WG_CB; c++) g[k][c] = c < on ? src[c] : 0.0f;
        }
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < WG_CB; c++) {
                float col[6];
                WG_G(col, g[b][c], g[3 + b][c], g[6 + b][c]);
                for (int a = 0; a < 6; a++) t[a * 3 + b][c] = col[a];
            }
        for (int a = 0; a < 6; a++) {
            float r[6][WG_CB];
            for (int c = 0; c < WG_CB; c++) {
                float o[6];
                WG_G(o, t[a * 3][c], t[a * 3 + 1][c], t[a * 3 + 2][c]);
                for (int b = 0; b < 6; b++) r[b][c] = o[b];
            }
            for (int b = 0; b < 6; b++) {
                float *dst = u + (size_t)(a * 6 + b) * plane + (size_t)i * co + o0;
                if (on == WG_CB)
                    for (int c = 0; c < WG_CB; c++) dst[c] = r[b][c];
                else
                    for (int c = 0; c < on; c++) dst[c] = r[b][c];
            }
        }
    }
}

/* ---- input transform: V[k][t][ci] = (Bᵀ d B)[k] -------------------------- */

/* Bᵀ applied to 6 values s[0..5] (stride st) of one channel lane. */
#define WG_BT(o, s0, s1, s2, s3, s4, s5)             \
    do {                                             \
        (o)[0] = 4.0f * (s0) - 5.0f * (s2) + (s4);   \
        (o)[1] = -4.0f * ((s1) + (s2)) + (s3) + (s4); \
        (o)[2] = 4.0f * ((s1) - (s2)) - (s3) + (s4); \
        (o)[3] = 2.0f * ((s3) - (s1)) - (s2) + (s4); \
        (o)[4] = 2.0f * ((s1) - (s3)) - (s2) + (s4); \
        (o)[5] = 4.0f * (s1) - 5.0f * (s3) + (s5);   \
    } while (0)

/* One tile: src[36] point at the 6×6 input pixels (NULL = zero padding).
 * Writes V[k·vstride + c] for all ci channels. */
WG_CLONES
static void wg_input_tile(const float *const src[36], int ci, float *v, size_t vstride)
{
    for (int c0 = 0; c0 < ci; c0 += WG_CB) {
        int cn = ci - c0 < WG_CB ? ci - c0 : WG_CB;
        float d[36][WG_CB], t[36][WG_CB];
        if (cn == WG_CB) {
            for (int k = 0; k < 36; k++) {
                if (src[k])
                    for (int c = 0; c < WG_CB; c++) d[k][c] = src[k][c0 + c];
                else
                    for (int c = 0; c < WG_CB; c++) d[k][c] = 0.0f;
            }
        } else {
            for (int k = 0; k < 36; k++)
                for (int c = 0; c < WG_CB; c++)
                    d[k][c] = (src[k] && c < cn) ? src[k][c0 + c] : 0.0f;
        }
        /* columns: t[a][j] = Σ_i Bᵀ[a][i] d[i][j] */
        for (int j = 0; j < 6; j++)
            for (int c = 0; c < WG_CB; c++) {
                float o[6];
                WG_BT(o, d[0 + j][c], d[6 + j][c], d[12 + j][c], d[18 + j][c], d[24 + j][c], d[30 + j][c]);
                for (int a = 0; a < 6; a++) t[a * 6 + j][c] = o[a];
            }
        /* rows: v[a][b] = Σ_j t[a][j] B[j][b] */
        for (int a = 0; a < 6; a++)
            for (int c = 0; c < WG_CB; c++) {
                float o[6];
                const int r = a * 6;
                WG_BT(o, t[r][c], t[r + 1][c], t[r + 2][c], t[r + 3][c], t[r + 4][c], t[r + 5][c]);
                for (int b = 0; b < 6; b++) d[r + b][c] = o[b];
            }
        if (cn == WG_CB) {
            for (int k = 0; k < 36; k++)
                for (int c = 0; c < WG_CB; c++) v[k * vstride + c0 + c] = d[k][c];
        } else {
            for (int k = 0; k < 36; k++)
                for (int c = 0; c < cn; c++) v[k * vstride + c0 + c] = d[k][c];
        }
    }
}

static void wg_input_range(const wg_shape *s, const float *x, long t0, long t1, float *v)
{
    for (long t = t0; t < t1; t++) {
        long img = t / ((long)s->th * s->tw);
        int rem = (int)(t % ((long)s->th * s->tw));
        int y0 = (rem / s->tw) * 4 - 1, x0 = (rem % s->tw) * 4 - 1;
        const float *src[36];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++) {
                int yy = y0 + i, xx = x0 + j;
                src[i * 6 + j] = (yy >= 0 && yy < s->h && xx >= 0 && xx < s->w)
                                     ? x + (((size_t)img * s->h + yy) * s->w + xx) * s->ci
                                     : NULL;
            }
        wg_input_tile(src, s->ci, v + (size_t)(t - t0) * 36 * s->ci, s->ci);
    }
}

/* ---- output transform: y = Aᵀ m A + bias, ReLU ---------------------------- */

#define WG_AT(o, s0, s1, s2, s3, s4, s5)                          \
    do {                                                          \
        float p12 = (s1) + (s2), m12 = (s1) - (s2);               \
        float p34 = (s3) + (s4), m34 = (s3) - (s4);               \
        (o)[0] = (s0) + p12 + p34;                                \
        (o)[1] = m12 + 2.0f * m34;                                \
        (o)[2] = p12 + 4.0f * p34;                                \
        (o)[3] = m12 + 8.0f * m34 + (s5);                         \
    } while (0)

/* One tile: m[k·mstride + c] for the 36 positions; dst[16] point at the
 * 4×4 output pixels (NULL = outside the image). */
WG_CLONES
static void wg_output_tile(const float *m, size_t mstride, int co, const float *bias, int relu,
                           float *const dst[16])
{
    for (int c0 = 0; c0 < co; c0 += WG_CB) {
        int cn = co - c0 < WG_CB ? co - c0 : WG_CB;
        float d[36][WG_CB], t[24][WG_CB], o16[16][WG_CB], b[WG_CB];
        if (cn == WG_CB) {
            for (int k = 0; k < 36; k++)
                for (int c = 0; c < WG_CB; c++) d[k][c] = m[k * mstride + c0 + c];
            for (int c = 0; c < WG_CB; c++) b[c] = bias ? bias[c0 + c] : 0.0f;
        } else {
            for (int k = 0; k < 36; k++)
                for (int c = 0; c < WG_CB; c++) d[k][c] = c < cn ? m[k * mstride + c0 + c] : 0.0f;
            for (int c = 0; c < WG_CB; c++) b[c] = (bias && c < cn) ? bias[c0 + c] : 0.0f;
        }
        for (int j = 0; j < 6; j++)
            for (int c = 0; c < WG_CB; c++) {
                float o[4];
                WG_AT(o, d[0 + j][c], d[6 + j][c], d[12 + j][c], d[18 + j][c], d[24 + j][c], d[30 + j][c]);
                for (int a = 0; a < 4; a++) t[a * 6 + j][c] = o[a];
            }
        for (int a = 0; a < 4; a++)
            for (int c = 0; c < WG_CB; c++) {
                float o[4];
                const int r = a * 6;
                WG_AT(o, t[r][c], t[r + 1][c], t[r + 2][c], t[r + 3][c], t[r + 4][c], t[r + 5][c]);
                for (int q = 0; q < 4; q++)
                    o16[a * 4 + q][c] = o[q] + b[c];
            }
        if (relu)
            for (int p = 0; p < 16; p++)
                for (int c = 0; c < WG_CB; c++)
                    o16[p][c] = o16[p][c] > 0.0f ? o16[p][c] : 0.0f;
        for (int p = 0; p < 16; p++) {
            if (!dst[p])
                continue;
            if (cn == WG_CB)
                for (int c = 0; c < WG_CB; c++) dst[p][c0 + c] = o16[p][c];
            else
                for (int c = 0; c < cn; c++) dst[p][c0 + c] = o16[p][c];
        }
    }
}

/* Tiles t0..t1-1, output channels c0..c0+cn-1 (m holds all co channels). */
static void wg_output_range(const wg_shape *s, const float *m, long t0, long t1, int c0, int cn,
                            const float *bias, int relu, float *y)
{
    for (long t = t0; t < t1; t++) {
        long img = t / ((long)s->th * s->tw);
        int rem = (int)(t % ((long)s->th * s->tw));
        int y0 = (rem / s->tw) * 4, x0 = (rem % s->tw) * 4;
        float *dst[16];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                int yy = y0 + i, xx = x0 + j;
                dst[i * 4 + j] = (yy < s->h && xx < s->w)
                                     ? y + (((size_t)img * s->h + yy) * s->w + xx) * s->co + c0
                                     : NULL;
            }
        wg_output_tile(m + (size_t)(t - t0) * 36 * s->co + c0, s->co, cn, bias ? bias + c0 : NULL, relu, dst);
    }
}

/* ---- driver ------------------------------------------------------------- */

/* Tiles per chunk: the chunk's V and M (36·T·(Ci+Co) floats) should fit in
 * a few MB of L2/L3 while each GEMM keeps enough rows (M = T) for OpenBLAS
 * to reach full speed; the weights (36·Ci·Co) are re-read per chunk, so
 * larger channel counts want larger T too. Tuned on the VGG16 layers. */
static long wg_forced_chunk;

long ck_cpu_winograd_set_chunk(long tiles)
{
    long old = wg_forced_chunk;
    wg_forced_chunk = tiles > 0 ? tiles : 0;
    return old;
}

static long wg_chunk_tiles(int ci, int co)
{
    if (wg_forced_chunk)
        return wg_forced_chunk;
    /* ck's kernel packs nothing, so short chunks cost it nothing: V and M
     * then stay in a 2 MB L2 (224 px, 64 channels, batch 1: 8.2 -> 6.4 ms). */
    const int own = ck_cpu_wg_gemm_kernel(co) == CK_WG_AVX512;
    long t = (long)((own ? 3u : 12u) << 19) / (36L * 4 * (ci + co));
    if (t < (own ? 48 : 96))
        t = own ? 48 : 96;
    if (t > 1024)
        t = 1024;
    return t & ~15L;
}

static int wg_kernel_best = CK_WG_AVX512;

int ck_cpu_winograd_set_kernel(int best)
{
    int old = wg_kernel_best;
    wg_kernel_best = best;
    return old;
}

int ck_cpu_wg_gemm_kernel(int n)
{
#if defined(__x86_64__)
    if (wg_kernel_best >= CK_WG_AVX512 && n % 16 == 0 && __builtin_cpu_supports("avx512f"))
        return CK_WG_AVX512;
#else
    (void)n;
#endif
    return CK_WG_BLAS;
}

void ck_cpu_wg_gemm(long m, int n, int k, const float *a, long lda, const float *b, long ldb, float *c,
                    long ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {
        for (long r = 0; r < m; r++)
            memset(c + r * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    switch (ck_cpu_wg_gemm_kernel(n)) {
    case CK_WG_AVX512:
        ck_cpu_wg_gemm_avx512(m, n, k, a, lda, b, ldb, c, ldc);
        break;
    default:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, n, k, 1.0f, a, (int)lda, b, (int)ldb,
                    0.0f, c, (int)ldc);
    }
}

static void wg_gemms(const wg_shape *s, long tn, const float *v, const float *u, float *m, int k0, int k1)
{
    size_t ustride = (size_t)s->ci * s->co;
    for (int k = k0; k < k1; k++)
        ck_cpu_wg_gemm(tn, s->co, s->ci, v + (size_t)k * s->ci, 36L * s->ci, u + k * ustride, s->co,
                       m + (size_t)k * s->co, 36L * s->co);
}

void ck_cpu_winograd_weights(ck_backend *be, const float *wt, int ci, int co, float *u)
{
    int nt = be->threads > 0 ? be->threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1 && (long)ci * co >= 4096) schedule(static)
    for (int i = 0; i < ci; i++)
        wg_weights(wt, ci, co, i, u);
}

int ck_cpu_conv3x3_winograd(ck_backend *be, const float *x, int n, int h, int w, int ci,
                            const float *wt, const float *bias, int co, float *y, int relu)
{
    if (n <= 0 || h <= 0 || w <= 0 || ci <= 0 || co <= 0)
        return 1;
    float *u = ck_cpu_scratch(be, 0, sizeof(float) * 36 * (size_t)ci * co);
    if (!u)
        return -1;
    ck_cpu_winograd_weights(be, wt, ci, co, u);
    return ck_cpu_conv3x3_winograd_u(be, x, n, h, w, ci, u, bias, co, y, relu);
}

int ck_cpu_conv3x3_winograd_u(ck_backend *be, const float *x, int n, int h, int w, int ci,
                              const float *u, const float *bias, int co, float *y, int relu)
{
    if (n <= 0 || h <= 0 || w <= 0 || ci <= 0 || co <= 0)
        return 0;
    wg_shape s = {n, h, w, ci, co, (h + 3) / 4, (w + 3) / 4, 0};
    s.ntiles = (long)n * s.th * s.tw;
    int nt = be->threads > 0 ? be->threads : 1;

    long T = wg_chunk_tiles(ci, co);
    long nchunks = (s.ntiles + T - 1) / T;
    /* Few tiles (small images, batch 1): one chunk, parallel inside it.
     * Many: each thread takes whole chunks (no barriers, private scratch). */
    int per_chunk_parallel = nchunks < 2L * nt;
    if (per_chunk_parallel) {
        T = s.ntiles;
        nchunks = 1;
    }
    /* per chunk: V [T][36][ci] and M [T][36][co]; one V per thread in both
     * modes, M shared in the few-tiles mode. */
    size_t vsz = 36 * (size_t)T * ci, msz = 36 * (size_t)T * co;
    float *buf = ck_cpu_scratch(be, 1, sizeof(float) * (per_chunk_parallel ? nt * vsz + msz : nt * (vsz + msz)));
    if (!buf)
        return -1;

    /* The GEMMs run inside our own threads: OpenBLAS must not spawn more. */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);

#pragma omp parallel num_threads(nt)
    {
        const int me = omp_get_thread_num();
        if (per_chunk_parallel) {
            /* Few tiles: each thread owns a slice of the output channels and
             * transforms the whole input itself (cheap next to the GEMMs:
             * ~co/8 times fewer flops), so no thread ever waits for
             * another: barriers cost a whole time slice on a loaded
             * machine, which made small layers 3-10x slower. */
            const int nth = omp_get_num_threads();
            int per = (co + nth - 1) / nth;
            per = (per + WG_CB - 1) / WG_CB * WG_CB;
            int c0 = me * per, cn = co - c0 < per ? co - c0 : per;
            if (cn > 0) {
                float *v = buf + (size_t)me * vsz, *m = buf + (size_t)nth * vsz;
                size_t ustride = (size_t)ci * co;
                wg_input_range(&s, x, 0, s.ntiles, v);
                for (int k = 0; k < 36; k++)
                    ck_cpu_wg_gemm(T, cn, ci, v + (size_t)k * ci, 36L * ci, u + k * ustride + c0, co,
                                   m + (size_t)k * co + c0, 36L * co);
                wg_output_range(&s, m, 0, s.ntiles, c0, cn, bias, relu, y);
            }
        } else {
            float *v = buf + (size_t)me * (vsz + msz);
            float *m = v + vsz;
#pragma omp for schedule(dynamic, 1)
            for (long c = 0; c < nchunks; c++) {
                long t0 = c * T, t1 = t0 + T < s.ntiles ? t0 + T : s.ntiles;
                wg_input_range(&s, x, t0, t1, v);
                wg_gemms(&s, t1 - t0, v, u, m, 0, 36);
                wg_output_range(&s, m, t0, t1, 0, co, bias, relu, y);
            }
        }
    }
    openblas_set_num_threads(blas_threads);
    return 0;
}
