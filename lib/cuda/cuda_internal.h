/* cuda_internal.h — state and helpers shared by the CUDA backend's files.
 *
 * Everything here is compiled by nvcc (C++). The backend keeps one stream
 * per ck_backend; cuBLAS, cuDNN and our kernels all run on it, so
 * operations are ordered without explicit synchronisation and the host only
 * waits in download() and sync().
 *
 * Every CUDA/cuBLAS/cuDNN status is checked: CK_CU/CK_BLAS/CK_DNN turn a
 * failure into ck_error("cuda", "<call>: <reason>") and `return -1` from the
 * enclosing function (libvips style: detect here, propagate elsewhere).
 */
#ifndef CK_CUDA_INTERNAL_H
#define CK_CUDA_INTERNAL_H

#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <cudnn.h>

#include "backend_impl.h"
#include "ck/error.h"

/* Long-lived device scratch buffers, grown on demand (contents undefined).
 * One slot per purpose so an operation can hold several at once. */
enum {
    CK_CU_WORKSPACE = 0, /* cuDNN workspace */
    CK_CU_WEIGHTS,       /* transposed / converted conv weights (KRSC) */
    CK_CU_WGRAD,         /* KRSC filter gradient before transposing back */
    CK_CU_XLOW,          /* bf16 copy of the conv input */
    CK_CU_YLOW,          /* bf16 conv output */
    CK_CU_XF32,          /* f32 copy of a bf16 conv input (fp32 fall-back) */
    CK_CU_YF32,          /* f32 conv output before rounding to a bf16 y */
    CK_CU_PARTIAL,       /* partial sums of reductions */
    CK_CU_ROWS,          /* per-row results (losses, argmax hits) */
    CK_CU_SLOTS
};

/* cuDNN algorithm chosen for one convolution shape (cached: Find* runs the
 * candidates, which is too slow to repeat every batch). */
typedef struct ck_cu_algo {
    int kind; /* 0 fwd, 1 bwd data, 2 bwd filter */
    int n, h, w, ci, co;
    int k, stride, pad; /* window (3, 1, 1 for the 'same' 3×3 convolutions) */
    int dtype;   /* cudnnDataType_t of x/w/y */
    int math;    /* cudnnMathType_t used for the search */
    int algo;    /* the chosen algorithm enum */
    int algo_math; /* math type the algorithm wants */
    size_t workspace;
    int fused_ok; /* fwd only: 1 unknown/yes, 0 when the fused bias+ReLU call was refused */
    int unsupported; /* cuDNN has no algorithm for this shape and dtype (remembered: the search is slow) */
    struct ck_cu_algo *next;
} ck_cu_algo;

#define CK_CU_STAGING_BYTES ((size_t)8 << 20)

typedef struct ck_cuda {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    cudnnHandle_t dnn;
    int tf32;              /* tensor-core TF32 for fp32 conv/GEMM */
    int find;              /* 1: cudnnFind* (measured), 0: heuristics (_v7) */
    size_t workspace_limit; /* bytes an algorithm may use */
    void *scratch[CK_CU_SLOTS];
    size_t scratch_size[CK_CU_SLOTS];
    /* Two pinned host buffers used alternately so that copying into one
     * overlaps the DMA out of the other. */
    void *staging[2];
    cudaEvent_t staging_done[2];
    ck_cu_algo *algos;
    /* Descriptors reused by every convolution (set per call: cheap). */
    cudnnTensorDescriptor_t xdesc, ydesc, bdesc;
    cudnnFilterDescriptor_t wdesc;
    cudnnConvolutionDescriptor_t cdesc;
    cudnnActivationDescriptor_t relu;
} ck_cuda;

static inline ck_cuda *ck_cu(ck_backend *be) { return (ck_cuda *)be->impl; }

const char *ck_cu_blas_string(cublasStatus_t s);

#define CK_CU(call)                                                              \
    do {                                                                         \
        cudaError_t e_ = (call);                                                 \
        if (e_ != cudaSuccess) {                                                 \
            ck_error("cuda", "%s: %s", #call, cudaGetErrorString(e_));           \
            return -1;                                                           \
        }                                                                        \
    } while (0)
#define CK_BLAS(call)                                                            \
    do {                                                                         \
        cublasStatus_t s_ = (call);                                              \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                       \
            ck_error("cuda", "%s: %s", #call, ck_cu_blas_string(s_));            \
            return -1;                                                           \
        }                                                                        \
    } while (0)
#define CK_DNN(call)                                                             \
    do {                                                                         \
        cudnnStatus_t s_ = (call);                                               \
        if (s_ != CUDNN_STATUS_SUCCESS) {                                        \
            ck_error("cuda", "%s: %s", #call, cudnnGetErrorString(s_));          \
            return -1;                                                           \
        }                                                                        \
    } while (0)
/* After a kernel launch: launch-configuration errors show up here;
 * faults during execution show up at the next synchronising call. */
#define CK_LAUNCHED(what)                                                        \
    do {                                                                         \
        cudaError_t e_ = cudaGetLastError();                                     \
        if (e_ != cudaSuccess) {                                                 \
            ck_error("cuda", "%s kernel: %s", what, cudaGetErrorString(e_));     \
            return -1;                                                           \
        }                                                                        \
    } while (0)
/* Every entry point selects the backend's device first: one host thread
 * may drive several GPUs (data parallel), and the current device is
 * per-thread state in the CUDA runtime. */
#define CK_ON_DEVICE(be) CK_CU(cudaSetDevice(ck_cu(be)->device))

/* Grid for a grid-stride loop over n elements. */
static inline unsigned ck_cu_blocks(size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    if (b > 65535u * 8u)
        b = 65535u * 8u;
    return b ? (unsigned)b : 1u;
}

static inline size_t ck_cu_numel(const ck_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

/* Scratch buffer of at least nbytes for `slot` (NULL with an error). */
void *ck_cu_scratch(ck_backend *be, int slot, size_t nbytes);

/* Kernels shared between files (kernels.cu). All enqueue on the stream. */
/* dst[c·rows + r] = src[r·cols + c] for a row-major [rows, cols] src,
 * converting between F32/BF16/F16; dst = beta·dst + T(src) when beta != 0
 * (F32 dst only). */
int ck_cu_transpose(ck_backend *be, const void *src, ck_dtype st, void *dst, ck_dtype dt,
                    int rows, int cols, float beta);
/* Element-wise dtype conversion (F32/BF16/F16). */
int ck_cu_convert(ck_backend *be, const void *src, ck_dtype st, void *dst, ck_dtype dt, size_t n);
/* out[c] = beta·out[c] + Σ_r x[r·cols + c] (deterministic two-pass sum). */
int ck_cu_colsum(ck_backend *be, const float *x, size_t rows, int cols, float *out, float beta);
/* y[r·cols + c] += b[c], then ReLU when relu (in place). */
int ck_cu_bias_act(ck_backend *be, float *y, const float *b, size_t rows, int cols, int relu);

/* The operation table's entries (ops_list.h), one file per family:
 * conv.cu, dense.cu, kernels.cu, layers.cu, loss.cu, update.cu. */
#define CK_CUDA_OP_DECL(op, params) int ck_cuda_##op params;
CK_BACKEND_OPS(CK_CUDA_OP_DECL)
#undef CK_CUDA_OP_DECL
void ck_cuda_conv_cache_free(ck_cuda *c);

/* Device pointer and stream of a CUDA backend (for NCCL in lib/cuda/nccl.cu). */
static inline cudaStream_t ck_cu_stream(ck_backend *be) { return ck_cu(be)->stream; }

#endif
