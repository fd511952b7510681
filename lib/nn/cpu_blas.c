/* GEMM wrapper and column sums shared by the CPU kernels. */
#include "cpu_kernels.h"

#include <cblas.h>

void ck_cpu_sgemm(ck_backend *be, int trans_a, int trans_b, long m, long n, long k, float alpha,
                  const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {
        /* The product is empty: C = beta·C (beta 0 must clear, even NaN). */
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    (void)be;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
                (blasint)ldc);
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
