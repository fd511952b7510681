/* cpu_kernels.h — the CPU backend's entries of ck_backend_ops (private).
 * Each ck_cpu_<op> has the signature of the table entry; arguments were
 * validated by ops.c. */
#ifndef CK_CPU_KERNELS_H
#define CK_CPU_KERNELS_H

#include "cpu_internal.h"

/* One ck_cpu_<op> per entry of ops_list.h: cpu_backend.c (fill, copy),
 * cpu_conv.c, cpu_layers.c, cpu_loss.c, cpu_update.c. */
#define CK_CPU_OP_DECL(op, params) int ck_cpu_##op params;
CK_BACKEND_OPS(CK_CPU_OP_DECL)
#undef CK_CPU_OP_DECL

/* The reference fp32 path (im2col + one GEMM per chunk of pixels), usable
 * by the fast kernels' tests for comparison (cpu_conv.c). */
int ck_cpu_conv3x3_fp32(ck_backend *be, const float *x, int n, int h, int w, int ci,
                        const float *wt, const float *bias, int co, float *y, int relu);

/* Helpers shared by the kernels (cpu_blas.c). */
/* Row-major C[m,n] = alpha·op(A)·op(B) + beta·C, safe for zero sizes
 * (OpenBLAS rejects ld = 0 and prints through xerbla). Split over the
 * threads in tiles fixed by the shape: the same bytes at any thread count,
 * inside a parallel region too. */
void ck_cpu_sgemm(ck_backend *be, int trans_a, int trans_b, long m, long n, long k, float alpha,
                  const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);
/* The same on the calling thread only (callers that split the work
 * themselves, in tiles fixed by the shape, for the same bytes at any
 * thread count). */
void ck_cpu_sgemm_serial(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                         const float *b, long ldb, float beta, float *c, long ldc);
/* The tiles ck_cpu_sgemm uses, for callers that fuse work into each tile
 * (im2col before, bias after): rows of a tile of an [m, k]·[k, n] product
 * (4 MiB of A, at most 1024 rows so small products still spread), and
 * columns: all of them unless there are under 4 row tiles (small maps),
 * then a quarter, a multiple of 16. */
long ck_cpu_gemm_tile_rows(long m, long k);
long ck_cpu_gemm_tile_cols(long row_tiles, long n);
/* out[j] = beta·out[j] + Σ_i a[i,j] for a row-major [rows, cols]; summed in
 * double, deterministic whatever the thread count. */
void ck_cpu_colsum(ck_backend *be, const float *a, long rows, long cols, float beta, float *out);

/* Loops shorter than this run on one thread: waking the pool costs more. */
#define CK_CPU_PAR_MIN 32768

#endif
