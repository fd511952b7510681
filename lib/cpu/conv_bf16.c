/* conv_bf16.c — 3×3 'same' convolution with bf16 inputs and weights and
 * fp32 accumulation, for frozen layers (inference only).
 *
 * Why: AVX-512 BF16 (vdpbf16ps) does two multiply-adds per fp32 lane, so a
 * bf16 convolution has twice the fp32 peak and reads half the bytes. The
 * price is bf16 rounding of activations and weights (8-bit mantissa):
 * about 1e-2 relative error per layer, fine for frozen feature extractors,
 * not for training (backward stays fp32).
 *
 * Each image is converted once to a zero-padded bf16 copy, so the kernel
 * needs no border tests and no im2col buffer: an output pixel's 9 taps are
 * read straight from the padded image (implicit GEMM). Work is split over
 * (output-channel block, row) pairs; a block's packed weights (9·ci·32 bf16,
 * at most 288 KiB) stay in L2 while a thread walks its rows.
 *
 * Dispatch: the AVX-512 kernel runs when the CPU has AVX-512 BF16; other
 * CPUs decline (return 1) and the caller uses the fp32 path. The portable
 * kernel computes the same thing in plain C; tests switch it on with
 * ck_cpu_bf16_set_emulation() to check the packing on any machine.
 */
#include <string.h>

#include "ck/error.h"
#include "conv_bf16.h"
#include "cpu_internal.h"
#include "ck/dtype.h"

static int bf16_emulation;

int ck_cpu_bf16_set_emulation(int on)
{
    int old = bf16_emulation;
    bf16_emulation = on;
    return old;
}

int ck_cpu_bf16_native(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

/* Weights (f32 or bf16, HWIO) into the kernel's layout (conv_bf16.h). */
static void pack_weights(ck_backend *be, const void *wt, ck_dtype dt, int ci, int cip, int co,
                         uint16_t *wp)
{
    const int ncob = (co + CK_BF16_COB - 1) / CK_BF16_COB;
    const float *wf = wt;
    const uint16_t *wb = wt;
#pragma omp parallel for collapse(2) num_threads(be->threads) schedule(static)
    for (int cob = 0; cob < ncob; cob++)
        for (int tap = 0; tap < 9; tap++) {
            uint16_t *dst = wp + ((size_t)cob * 9 + tap) * (size_t)cip * CK_BF16_COB;
            for (int c2 = 0; c2 < cip / 2; c2++)
                for (int half = 0; half < 2; half++)
                    for (int j = 0; j < 16; j++)
                        for (int e = 0; e < 2; e++) {
                            int i = 2 * c2 + e, o = cob * CK_BF16_COB + half * 16 + j;
                            uint16_t v = 0;
                            if (i < ci && o < co) {
                                size_t at = ((size_t)tap * ci + i) * co + o;
                                v = dt == CK_BF16 ? wb[at] : ck_f32_to_bf16(wf[at]);
                            }
                            dst[c2 * 64 + half * 32 + j * 2 + e] = v;
                        }
        }
}

/* One image (x [h][w][ci] f32) into the zero-padded bf16 copy. */
static void pad_image(ck_backend *be, const float *x, int h, int w, int ci, int cip, uint16_t *xp)
{
    const size_t prow = (size_t)(w + 2) * cip;
    memset(xp, 0, prow * sizeof(uint16_t));
    memset(xp + (size_t)(h + 1) * prow, 0, prow * sizeof(uint16_t));
#pragma omp parallel for num_threads(be->threads) schedule(static)
    for (int r = 0; r < h; r++) {
        uint16_t *d = xp + (size_t)(r + 1) * prow;
        const float *s = x + (size_t)r * w * ci;
        memset(d, 0, cip * sizeof(uint16_t));
        memset(d + (size_t)(w + 1) * cip, 0, cip * sizeof(uint16_t));
        for (int px = 0; px < w; px++) {
            uint16_t *dp = d + (size_t)(px + 1) * cip;
            const float *sp = s + (size_t)px * ci;
            for (int c = 0; c < ci; c++)
                dp[c] = ck_f32_to_bf16(sp[c]);
            if (cip > ci)
                dp[ci] = 0;
        }
    }
}

void ck_bf16_conv_row_portable(const ck_bf16_conv *c, int row, int cob)
{
    const int o0 = cob * CK_BF16_COB;
    const int on = c->co - o0 < CK_BF16_COB ? c->co - o0 : CK_BF16_COB;
    const uint16_t *wb = c->wp + (size_t)cob * 9 * c->cip * CK_BF16_COB;
    for (int px = 0; px < c->w; px++) {
        float acc[CK_BF16_COB] = {0};
        for (int tap = 0; tap < 9; tap++) {
            const uint16_t *xs = c->xp + ((size_t)(row + tap / 3) * (c->w + 2) + px + tap % 3) * c->cip;
            const uint16_t *ws = wb + (size_t)tap * c->cip * CK_BF16_COB;
            for (int c2 = 0; c2 < c->cip / 2; c2++) {
                float a0 = ck_bf16_to_f32(xs[2 * c2]), a1 = ck_bf16_to_f32(xs[2 * c2 + 1]);
                const uint16_t *wk = ws + c2 * 64;
                for (int o = 0; o < CK_BF16_COB; o++)
                    acc[o] += a0 * ck_bf16_to_f32(wk[2 * o]) + a1 * ck_bf16_to_f32(wk[2 * o + 1]);
            }
        }
        float *dst = c->y + ((size_t)row * c->w + px) * c->co + o0;
        for (int o = 0; o < on; o++) {
            float v = acc[o] + (c->bias ? c->bias[o0 + o] : 0.0f);
            dst[o] = c->relu && v < 0.0f ? 0.0f : v;
        }
    }
}

int ck_cpu_conv3x3_bf16(ck_backend *be, const float *x, int n, int h, int w, int ci,
                        const void *wt, ck_dtype wt_dtype, const float *bias, int co,
                        float *y, int relu)
{
    int native = ck_cpu_bf16_native();
    if (!native && !bf16_emulation)
        return 1;
    if (n <= 0 || h <= 0 || w <= 0 || ci <= 0 || co <= 0 ||
        (wt_dtype != CK_F32 && wt_dtype != CK_BF16))
        return 1;
    const int cip = (ci + 1) & ~1;
    const int ncob = (co + CK_BF16_COB - 1) / CK_BF16_COB;
    const size_t img_in = (size_t)h * w * ci, img_out = (size_t)h * w * co;
    uint16_t *wp = ck_cpu_scratch(be, 2, (size_t)ncob * 9 * cip * CK_BF16_COB * sizeof(uint16_t));
    uint16_t *xp = ck_cpu_scratch(be, 3, (size_t)(h + 2) * (w + 2) * cip * sizeof(uint16_t));
    if (!wp || !xp)
        return -1;
    pack_weights(be, wt, wt_dtype, ci, cip, co, wp);
    void (*row_fn)(const ck_bf16_conv *, int, int) =
        native ? ck_bf16_conv_row_avx512 : ck_bf16_conv_row_portable;
    for (int img = 0; img < n; img++) {
        pad_image(be, x + img * img_in, h, w, ci, cip, xp);
        ck_bf16_conv cv = {xp, wp, bias, y + img * img_out, h, w, cip, co, relu};
#pragma omp parallel for collapse(2) num_threads(be->threads) schedule(static)
        for (int cob = 0; cob < ncob; cob++)
            for (int r = 0; r < h; r++)
                row_fn(&cv, r, cob);
    }
    return 0;
}
