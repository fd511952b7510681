/* ck/backend.h — backends and tensors (ggml-style).
 *
 * All numeric work goes through a ck_backend: an opaque object with a table
 * of operations (lib/nn/backend_impl.h). The CPU backend (OpenBLAS, pthreads)
 * is the reference; the CUDA/cuDNN backend implements the same table.
 * Model code never touches backend memory directly: tensors live on a
 * backend and moving data in or out is explicit (upload/download).
 *
 * Layout: activations are NHWC (batch, height, width, channels), row-major,
 * contiguous. Convolution kernels are HWIO (kh, kw, in, out) — the Keras
 * layout, so Keras weights load without a transpose and a 3×3 'same'
 * convolution is one GEMM of [N·H·W, 9·Cin] × [9·Cin, Cout] on the CPU.
 * Dense kernels are [in, out] (Keras); a dense input is [N, features].
 *
 * Threading: the CPU backend parallelises inside each operation with one
 * OpenMP pool (OpenBLAS itself runs single-threaded, called per thread on
 * blocks of rows or columns), over the batch or over rows; results do not
 * depend on the thread count except through floating-point summation order
 * in split GEMMs, which the tests tolerate.
 */
#ifndef CK_BACKEND_H
#define CK_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "ck/dtype.h"
#include "ck/threads.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_backend ck_backend;
typedef struct ck_tensor ck_tensor;

#define CK_MAX_DIMS 4

/* device: "cpu", "cuda", "cuda:N" or "auto" (CUDA when built and a GPU is
 * usable, else CPU). threads: CPU threads (0 = all cores; at most
 * ck_thread_limit()). NULL with an error ("ck was built without CUDA",
 * "no CUDA device") on failure. */
ck_backend *ck_backend_new(const char *device, int threads);
/* Whether ck_backend_new() would understand the device name (cpu, auto,
 * cuda, cuda:N; NULL and "" mean auto), for option checks before any work. */
int ck_device_name_valid(const char *device);
void ck_backend_free(ck_backend *be);
/* The i-th compute backend built in ("cpu", then e.g. "cuda"), NULL past
 * the last: what --version lists. */
const char *ck_backend_kind(int i);
/* Short description, e.g. "cpu (OpenBLAS, 2 threads)". */
const char *ck_backend_name(const ck_backend *be);
int ck_backend_is_cpu(const ck_backend *be);
int ck_backend_threads(const ck_backend *be);
/* Wait for queued work (no-op on the CPU). */
int ck_backend_sync(ck_backend *be);
/* Image-decoding threads to run beside this backend: cpu_default next to
 * CPU compute (which wants the cores); with a GPU the cores are free, and
 * decoding and resizing is what keeps it waiting: all but one, up to 16. */
int ck_backend_loader_threads(const ck_backend *be, int cpu_default);
/* OpenBLAS picks its kernels once, when it is loaded, from the CPU or from
 * the environment variable OPENBLAS_CORETYPE. Version 0.3.21 (Debian 12)
 * does not know recent CPUs and falls back to weaker kernels: AVX2 ones on
 * Zen 4/5, SSE3 ("Prescott") on Sapphire Rapids, 2-8x slower SGEMM. Returns
 * the core name to put in OPENBLAS_CORETYPE before a process starts
 * ("SkylakeX" or "Haswell"), or NULL when the loaded kernels already suit
 * the CPU or the variable is set (the user's choice stands). */
const char *ck_cpu_blas_better_core(void);
/* 1 when this build has the CUDA backend and a device is usable. */
int ck_cuda_available(void);
/* 1 when this build includes the CUDA backend at all. */
int ck_cuda_built(void);

/* How 3×3 convolutions are computed (forward only; backward is fp32).
 * FP32 is the reference (im2col + GEMM). WINOGRAD uses F(4×4,3×3) in fp32
 * (≈1e-5 relative error). BF16 stores frozen weights/activations in bf16
 * with fp32 accumulation (≈1e-2 relative). AUTO picks per backend/shape. */
typedef enum ck_conv_algo {
    CK_CONV_AUTO = 0,
    CK_CONV_FP32 = 1,
    CK_CONV_WINOGRAD = 2,
    CK_CONV_BF16 = 3
} ck_conv_algo;
const char *ck_conv_algo_name(ck_conv_algo a);
/* Parse "auto|fp32|winograd|bf16"; -1 with an error when unknown. */
int ck_conv_algo_parse(const char *s, ck_conv_algo *out);

/* ---- tensors ---------------------------------------------------------- */

/* New tensor on `be` (contents undefined). Returns NULL with an error. */
ck_tensor *ck_tensor_new(ck_backend *be, ck_dtype dtype, int ndim, const int *shape);
ck_tensor *ck_tensor_new_1d(ck_backend *be, ck_dtype dtype, int d0);
ck_tensor *ck_tensor_new_2d(ck_backend *be, ck_dtype dtype, int d0, int d1);
ck_tensor *ck_tensor_new_4d(ck_backend *be, ck_dtype dtype, int n, int h, int w, int c);
void ck_tensor_free(ck_tensor *t);

ck_backend *ck_tensor_backend(const ck_tensor *t);
ck_dtype ck_tensor_dtype(const ck_tensor *t);
int ck_tensor_ndim(const ck_tensor *t);
int ck_tensor_dim(const ck_tensor *t, int i);
size_t ck_tensor_numel(const ck_tensor *t);
size_t ck_tensor_nbytes(const ck_tensor *t);
/* Change the shape in place; the new element count must not exceed the
 * allocated capacity (used to run a smaller last batch in buffers sized for
 * the largest one: buffers are allocated once and reused). */
int ck_tensor_reshape(ck_tensor *t, int ndim, const int *shape);
/* Shorthand: set dimension 0 (the batch). */
int ck_tensor_set_batch(ck_tensor *t, int n);

/* Host <-> backend copies of raw bytes in the tensor's dtype.
 * nbytes must equal ck_tensor_nbytes(t) for the whole-tensor forms. */
int ck_tensor_upload(ck_tensor *t, const void *host, size_t nbytes);
int ck_tensor_download(const ck_tensor *t, void *host, size_t nbytes);
/* Partial copies at a byte offset into the tensor. */
int ck_tensor_upload_at(ck_tensor *t, size_t offset, const void *host, size_t nbytes);
int ck_tensor_download_at(const ck_tensor *t, size_t offset, void *host, size_t nbytes);

/* Fill with a value (float tensors) — 0 is valid for every dtype. */
int ck_tensor_fill(ck_tensor *t, float value);
/* dst = src, same element count, same backend; converts between F32, BF16
 * and F16 when dtypes differ. */
int ck_tensor_copy(ck_tensor *dst, const ck_tensor *src);

#ifdef __cplusplus
}
#endif
#endif
