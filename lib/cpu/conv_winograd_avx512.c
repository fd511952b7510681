/* conv_winograd_avx512.c — the 36 per-position GEMMs of conv_winograd.c
 * with an AVX-512 register-blocked kernel instead of OpenBLAS.
 *
 * Why: those GEMMs are small (M = tiles of a chunk, K = Ci, N = Co of 64 to
 * 512) and their A rows are strided (V is [tile][36][ci]). OpenBLAS packs
 * both operands on every call and makes a separate pass to apply beta = 0;
 * at batch 1 the packing of A alone took half as long as the arithmetic
 * (perf, docs/performance.md). Here nothing is packed: a K-block of a
 * 64-column B panel (KB × 64 floats, 32 KB) stays in L1 while every row
 * block streams past it; A is read in place and broadcast; C is written
 * once per K-block.
 *
 * Micro-tile: 6 rows × 64 columns = 24 zmm accumulators, 4 zmm of B, the
 * A broadcasts folded into the FMAs. Compiled with -mavx512f (lib/
 * CMakeLists.txt); only called after ck_cpu_wg_gemm_avx512_usable().
 */
#include <immintrin.h>

#include "conv_winograd.h"

#define MR 6
#define KB 128

static inline __attribute__((always_inline)) void micro(const int mr, const int nv, long kn,
                                                        const float *a, long lda, const float *b,
                                                        long ldb, float *c, long ldc, int first)
{
    __m512 acc[MR][4];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++)
            acc[r][v] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(c + r * ldc + 16 * v);
    for (long p = 0; p < kn; p++) {
        __m512 bv[4];
        for (int v = 0; v < nv; v++)
            bv[v] = _mm512_loadu_ps(b + p * ldb + 16 * v);
        for (int r = 0; r < mr; r++) {
            const __m512 av = _mm512_set1_ps(a[r * lda + p]);
            for (int v = 0; v < nv; v++)
                acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++)
            _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
}

/* Rows r0..m-1 of one column panel (nv vectors wide) for one K-block:
 * constant mr and nv in each call of micro() so that it unrolls fully. */
static inline __attribute__((always_inline)) void panel(const int nv, long m, long kn, const float *a,
                                                        long lda, const float *b, long ldb, float *c,
                                                        long ldc, int first)
{
    long r = 0;
    for (; r + MR <= m; r += MR)
        micro(MR, nv, kn, a + r * lda, lda, b, ldb, c + r * ldc, ldc, first);
    switch (m - r) {
    case 5: micro(5, nv, kn, a + r * lda, lda, b, ldb, c + r * ldc, ldc, first); break;
    case 4: micro(4, nv, kn, a + r * lda, lda, b, ldb, c + r * ldc, ldc, first); break;
    case 3: micro(3, nv, kn, a + r * lda, lda, b, ldb, c + r * ldc, ldc, first); break;
    case 2: micro(2, nv, kn, a + r * lda, lda, b, ldb, c + r * ldc, ldc, first); break;
    case 1: micro(1, nv, kn, a + r * lda, lda, b, ldb, c + r * ldc, ldc, first); break;
    default: break;
    }
}

void ck_cpu_wg_gemm_avx512(long m, int n, int k, const float *a, long lda, const float *b, long ldb,
                           float *c, long ldc)
{
    for (int j = 0; j < n; j += 64) {
        const int nv = (n - j) >= 64 ? 4 : (n - j) / 16;
        for (long p = 0; p < k; p += KB) {
            const long kn = k - p < KB ? k - p : KB;
            const float *ap = a + p, *bp = b + p * ldb + j;
            float *cp = c + j;
            const int first = p == 0;
            switch (nv) {
            case 4: panel(4, m, kn, ap, lda, bp, ldb, cp, ldc, first); break;
            case 3: panel(3, m, kn, ap, lda, bp, ldb, cp, ldc, first); break;
            case 2: panel(2, m, kn, ap, lda, bp, ldb, cp, ldc, first); break;
            default: panel(1, m, kn, ap, lda, bp, ldb, cp, ldc, first); break;
            }
        }
    }
}
