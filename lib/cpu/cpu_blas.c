/* GEMM wrapper and column sums shared by the CPU kernels.
 *
 * Threading: OpenBLAS runs single-threaded (set when the backend is made)
 * and all parallelism comes from OpenMP. Two thread pools on the same cores
 * fight: OpenBLAS workers and libgomp workers both spin-wait after their
 * work, and on a 2-core VM measured im2col+GEMM convolutions ran 2-3.5×
 * slower with both pools active than with one. So a large GEMM is split
 * here into tiles, one single-threaded sgemm per tile.
 *
 * The tiles are a function of the shape alone, never of the thread count:
 * OpenBLAS's value for an element of C depends on the row count of the call
 * it sits in (its AVX2 kernels: rows of a 5-row and a 1-row product differ
 * in the last bits), so a split that followed the threads would change the
 * bytes between 1 and 2 threads. */
#include "cpu_kernels.h"

#include <cblas.h>
#include <omp.h>

/* Below this many multiply-adds a GEMM is not worth splitting. */
#define GEMM_PAR_MIN (1L << 18)

static void sgemm1(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                   const float *b, long ldb, float beta, float *c, long ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
                (blasint)ldc);
}

void ck_cpu_sgemm_serial(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                         const float *b, long ldb, float beta, float *c, long ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) { /* the product is empty: C = beta·C (beta 0 must clear, even NaN) */
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    sgemm1(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

long ck_cpu_gemm_tile_rows(long m, long k)
{
    long rows = (long)(((size_t)4 << 20) / ((size_t)k * sizeof(float)));
    rows = rows > 1024 ? 1024 : rows < 16 ? 16 : rows;
    return rows < m ? rows : m;
}

long ck_cpu_gemm_tile_cols(long row_tiles, long n)
{
    if (row_tiles >= 4 || n < 128)
        return n;
    long cb = (n / 4 + 15) / 16 * 16;
    return cb < n ? cb : n;
}

void ck_cpu_sgemm(ck_backend *be, int trans_a, int trans_b, long m, long n, long k, float alpha,
                  const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc)
{
    if (m * n * k < GEMM_PAR_MIN || m <= 0 || n <= 0 || k <= 0) {
        ck_cpu_sgemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    const long rows = ck_cpu_gemm_tile_rows(m, k), row_tiles = (m + rows - 1) / rows;
    const long cols = ck_cpu_gemm_tile_cols(row_tiles, n), col_tiles = (n + cols - 1) / cols;
    const long tiles = row_tiles * col_tiles;
    const int used = tiles < be->threads ? (int)tiles : be->threads;
#pragma omp parallel for num_threads(used) if (used > 1 && !omp_in_parallel()) schedule(dynamic, 1)
    for (long t = 0; t < tiles; t++) {
        const long i0 = t / col_tiles * rows, j0 = t % col_tiles * cols;
        const long mi = m - i0 < rows ? m - i0 : rows, nj = n - j0 < cols ? n - j0 : cols;
        sgemm1(trans_a, trans_b, mi, nj, k, alpha, trans_a ? a + i0 : a + i0 * lda, lda,
               trans_b ? b + j0 * ldb : b + j0, ldb, beta, c + i0 * ldc + j0, ldc);
    }
}

void ck_cpu_colsum(ck_backend *be, const float *a, long rows, long cols, float beta, float *out)
{
    /* Each thread owns a block of 16 columns (one cache line) and walks all
     * rows, so every sum has one fixed order. */
    long blocks = (cols + 15) / 16;
#pragma omp parallel for num_threads(be->threads) if (rows * cols > CK_CPU_PAR_MIN) schedule(static)
    for (long bl = 0; bl < blocks; bl++) {
        long j0 = bl * 16, j1 = j0 + 16 < cols ? j0 + 16 : cols;
        double acc[16] = {0};
        for (long i = 0; i < rows; i++) {
            const float *r = a + i * cols;
            for (long j = j0; j < j1; j++)
                acc[j - j0] += r[j];
        }
        for (long j = j0; j < j1; j++)
            out[j] = (float)((beta == 0.0f ? 0.0 : (double)beta * out[j]) + acc[j - j0]);
    }
}
