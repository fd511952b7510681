/* GEMM wrapper and column sums shared by the CPU kernels.
 *
 * Threading: OpenBLAS runs single-threaded (set when the backend is made)
 * and all parallelism comes from OpenMP. Two thread pools on the same cores
 * fight: OpenBLAS workers and libgomp workers both spin-wait after their
 * work, and on a 2-core VM measured im2col+GEMM convolutions ran 2-3.5×
 * slower with both pools active than with one. So a large GEMM is split
 * here into row or column blocks, one single-threaded sgemm per thread. */
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

void ck_cpu_sgemm(ck_backend *be, int trans_a, int trans_b, long m, long n, long k, float alpha,
                  const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc)
{
    int nt = be->threads;
    if (nt <= 1 || omp_in_parallel() || m * n * k < GEMM_PAR_MIN || m <= 0 || n <= 0 || k <= 0) {
        ck_cpu_sgemm_serial(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    /* Split the larger of m and n; blocks are multiples of 16 so that the
     * kernels' register tiles stay full. */
    const int split_rows = m >= n;
    const long len = split_rows ? m : n;
    long block = (len + nt - 1) / nt;
    block = (block + 15) / 16 * 16;
    const long parts = (len + block - 1) / block;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long p = 0; p < parts; p++) {
        long s = p * block, e = s + block < len ? s + block : len;
        if (split_rows) {
            /* rows s..e of op(A) and C */
            const float *ap = trans_a ? a + s : a + s * lda;
            sgemm1(trans_a, trans_b, e - s, n, k, alpha, ap, lda, b, ldb, beta, c + s * ldc, ldc);
        } else {
            /* columns s..e of op(B) and C */
            const float *bp = trans_b ? b + s * ldb : b + s;
            sgemm1(trans_a, trans_b, m, e - s, k, alpha, a, lda, bp, ldb, beta, c + s, ldc);
        }
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
