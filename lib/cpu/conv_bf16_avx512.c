/* conv_bf16_avx512.c — the AVX-512 BF16 micro-kernel of conv_bf16.c.
 *
 * Compiled with -mavx512bf16 (lib/CMakeLists.txt); only called after
 * ck_cpu_bf16_native() said yes. A micro-tile is 8 output pixels of one row
 * × 32 output channels: 16 zmm accumulators. Per input-channel pair it
 * loads 2 weight registers and issues 8 broadcasts and 16 vdpbf16ps, each
 * of which does 32 multiply-adds.
 */
#include <immintrin.h>
#include <string.h>

#include "conv_bf16.h"

static inline __attribute__((always_inline)) void tile(const ck_bf16_conv *c, int row, int x0,
                                                       int cob, const int np)
{
    __m512 acc[CK_BF16_PX][2];
    for (int p = 0; p < np; p++)
        acc[p][0] = acc[p][1] = _mm512_setzero_ps();
    const int cip = c->cip;
    const uint16_t *wb = c->wp + (size_t)cob * 9 * cip * CK_BF16_COB;
    for (int tap = 0; tap < 9; tap++) {
        const uint16_t *xs = c->xp + ((size_t)(row + tap / 3) * (c->w + 2) + x0 + tap % 3) * cip;
        const uint16_t *ws = wb + (size_t)tap * cip * CK_BF16_COB;
        for (int c2 = 0; c2 < cip / 2; c2++) {
            __m512bh w0 = (__m512bh)_mm512_loadu_si512(ws + c2 * 64);
            __m512bh w1 = (__m512bh)_mm512_loadu_si512(ws + c2 * 64 + 32);
            for (int p = 0; p < np; p++) {
                int pair;
                memcpy(&pair, xs + (size_t)p * cip + 2 * c2, sizeof pair);
                __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
                acc[p][0] = _mm512_dpbf16_ps(acc[p][0], a, w0);
                acc[p][1] = _mm512_dpbf16_ps(acc[p][1], a, w1);
            }
        }
    }
    const int o0 = cob * CK_BF16_COB;
    const int on = c->co - o0 < CK_BF16_COB ? c->co - o0 : CK_BF16_COB;
    const __mmask16 m0 = on >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << on) - 1);
    const __mmask16 m1 = on >= 32 ? (__mmask16)0xffff : on <= 16 ? 0 : (__mmask16)((1u << (on - 16)) - 1);
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    if (c->bias) {
        b0 = _mm512_maskz_loadu_ps(m0, c->bias + o0);
        b1 = _mm512_maskz_loadu_ps(m1, c->bias + o0 + 16);
    }
    const __m512 zero = _mm512_setzero_ps();
    for (int p = 0; p < np; p++) {
        __m512 v0 = _mm512_add_ps(acc[p][0], b0), v1 = _mm512_add_ps(acc[p][1], b1);
        if (c->relu) {
            v0 = _mm512_max_ps(v0, zero);
            v1 = _mm512_max_ps(v1, zero);
        }
        float *dst = c->y + ((size_t)row * c->w + x0 + p) * c->co + o0;
        _mm512_mask_storeu_ps(dst, m0, v0);
        _mm512_mask_storeu_ps(dst + 16, m1, v1);
    }
}

void ck_bf16_conv_row_avx512(const ck_bf16_conv *c, int row, int cob)
{
    int x0 = 0;
    for (; x0 + CK_BF16_PX <= c->w; x0 += CK_BF16_PX)
        tile(c, row, x0, cob, CK_BF16_PX);
    /* Row tails get their own constant-size instances so the accumulators
     * stay in registers. */
    switch (c->w - x0) {
    case 7: tile(c, row, x0, cob, 7); break;
    case 6: tile(c, row, x0, cob, 6); break;
    case 5: tile(c, row, x0, cob, 5); break;
    case 4: tile(c, row, x0, cob, 4); break;
    case 3: tile(c, row, x0, cob, 3); break;
    case 2: tile(c, row, x0, cob, 2); break;
    case 1: tile(c, row, x0, cob, 1); break;
    default: break;
    }
}

void ck_bf16_from_f32_avx512(uint16_t *d, const float *x, int n)
{
    int i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(d + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm256_mask_storeu_epi16(d + i, m, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i)));
    }
}
