/* conv_winograd.h — test hook of conv_winograd.c (private). */
#ifndef CK_CONV_WINOGRAD_H
#define CK_CONV_WINOGRAD_H

/* Tests only: force the number of tiles per chunk (0 = automatic) so that
 * small shapes exercise the multi-chunk path. Returns the previous value. */
long ck_cpu_winograd_set_chunk(long tiles);

/* The per-position GEMM C[m×n] = A[m×k]·B[k×n] (row-major, leading
 * dimensions lda/ldb/ldc, C overwritten): the kernel of
 * conv_winograd_avx512.c where the CPU has AVX-512 and n % 16 == 0, else
 * OpenBLAS. (An AVX2 twin of that kernel was no faster than OpenBLAS's
 * Haswell kernels on these layers: docs/performance.md.) */
void ck_cpu_wg_gemm(long m, int n, int k, const float *a, long lda, const float *b, long ldb, float *c,
                    long ldc);
void ck_cpu_wg_gemm_avx512(long m, int n, int k, const float *a, long lda, const float *b, long ldb,
                           float *c, long ldc);

/* Tests and benchmarks: the best kernel ck_cpu_wg_gemm may use:
 * CK_WG_AVX512 (default) or CK_WG_BLAS. Returns the previous. */
enum { CK_WG_BLAS = 0, CK_WG_AVX512 = 1 };
int ck_cpu_winograd_set_kernel(int best);
/* The kernel ck_cpu_wg_gemm uses for n columns on this CPU (CK_WG_*). */
int ck_cpu_wg_gemm_kernel(int n);

#endif
