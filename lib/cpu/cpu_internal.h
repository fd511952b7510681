/* cpu_internal.h — shared by the CPU backend's files (private).
 *
 * Threading: the CPU backend's own loops use OpenMP with the backend's
 * thread count (omp parallel for num_threads(be->threads)); OpenBLAS is set
 * to ONE thread when a CPU backend is made, and large GEMMs are split over
 * the OpenMP threads (ck_cpu_sgemm in cpu_blas.c): two spinning thread
 * pools on the same cores made convolutions 2-3.5x slower (measured). Scratch memory: first touch of fresh memory
 * is very slow on these VMs, so kernels borrow long-lived per-backend
 * scratch buffers instead of malloc/free per call.
 */
#ifndef CK_CPU_INTERNAL_H
#define CK_CPU_INTERNAL_H

#include "backend_impl.h"

/* A scratch buffer of at least nbytes (64-byte aligned) for `slot`
 * (0..CK_CPU_SCRATCH_SLOTS-1), kept and grown across calls; contents are
 * undefined. Slots let one operation hold several buffers at once.
 * NULL with an error when out of memory. Not thread-safe across concurrent
 * operations on the same backend (operations on one backend are serial). */
#define CK_CPU_SCRATCH_SLOTS 8
void *ck_cpu_scratch(ck_backend *be, int slot, size_t nbytes);

/* Cache of data derived from a tensor's contents (e.g. Winograd-transformed
 * weights), keyed by (t, kind) and valid while t->version is unchanged:
 * returns a buffer of nbytes with *fresh = 0 when it already holds the
 * derivation of t's current contents, or *fresh = 1 when the caller must
 * fill it now. NULL (no error set) when the entry would exceed the cache's
 * budget or memory is short: the caller then derives into scratch memory.
 * Budget: CK_CPU_CACHE_MB MiB per backend (environment, read when the
 * backend is made; default 256, 0 disables), least recently used entries
 * evicted first; entries go with their tensor (ck_tensor_free calls
 * ck_cpu_forget) or the backend. Same threading rule as the scratch. */
void *ck_cpu_cache_get(ck_backend *be, const ck_tensor *t, int kind, size_t nbytes, int *fresh);
void ck_cpu_forget(ck_backend *be, const ck_tensor *t);
#define CK_CPU_CACHE_WINOGRAD 1
#define CK_CPU_CACHE_BF16 2     /* AVX-512 layout (conv_bf16.h) */
#define CK_CPU_CACHE_BF16_AMX 3 /* AMX layout */

/* Fast forward 3×3 'same' convolutions (conv_winograd.c, conv_bf16.c).
 * x [n,h,w,ci] NHWC f32, wt [3,3,ci,co] HWIO f32, bias [co], y [n,h,w,co].
 * Return 0, or -1 with an error; 1 when the kernel declines the shape or
 * the CPU lacks the instructions (the caller then falls back to fp32). */
int ck_cpu_conv3x3_winograd(ck_backend *be, const float *x, int n, int h, int w, int ci,
                            const float *wt, const float *bias, int co, float *y, int relu);
/* The same in two steps, for callers that keep the transformed weights:
 * u = 36·ci·co floats ([36][ci][co]) from wt; then the convolution with u
 * (never declines a positive shape). */
void ck_cpu_winograd_weights(ck_backend *be, const float *wt, int ci, int co, float *u);
int ck_cpu_conv3x3_winograd_u(ck_backend *be, const float *x, int n, int h, int w, int ci,
                              const float *u, const float *bias, int co, float *y, int relu);
int ck_cpu_conv3x3_bf16(ck_backend *be, const float *x, int n, int h, int w, int ci,
                        const void *wt, ck_dtype wt_dtype, const float *bias, int co,
                        float *y, int relu);
/* The same with the packed weights kept in the backend's cache, so frozen
 * layers pack once per process (w: f32 or bf16 HWIO tensor). */
int ck_cpu_conv3x3_bf16_cached(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const float *bias,
                               ck_tensor *y, int relu);

#endif
