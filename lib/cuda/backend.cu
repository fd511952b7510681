/* The CUDA backend object: device, stream, library handles, memory and
 * host<->device copies. The operations live in the other files. */
#include "cuda_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ck_cu_blas_string(cublasStatus_t s)
{
    /* cublasGetStatusString exists since CUDA 11.4. */
    return cublasGetStatusString(s);
}

int ck_cuda_device_count(void)
{
    int n = 0;
    /* No driver, no device or a sandbox without /dev/nvidia*: all mean
     * "zero usable devices", not an error for callers probing for a GPU. */
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

/* Environment switches (documented in docs/gpu.md). */
static int env_flag(const char *name, int dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    return strcmp(s, "0") != 0 && strcmp(s, "off") != 0 && strcmp(s, "no") != 0;
}

void *ck_cu_scratch(ck_backend *be, int slot, size_t nbytes)
{
    ck_cuda *c = ck_cu(be);
    if (nbytes == 0)
        nbytes = 1;
    if (c->scratch_size[slot] >= nbytes)
        return c->scratch[slot];
    if (c->scratch[slot]) {
        /* cudaFree waits for queued work that may still read the buffer. */
        cudaError_t e = cudaFree(c->scratch[slot]);
        c->scratch[slot] = NULL;
        c->scratch_size[slot] = 0;
        if (e != cudaSuccess) {
            ck_error("cuda", "cudaFree: %s", cudaGetErrorString(e));
            return NULL;
        }
    }
    /* Grow by 1/4 extra so that slowly increasing shapes do not
     * reallocate every call. */
    size_t want = nbytes + nbytes / 4;
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, want);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        ck_error("cuda", "out of GPU memory allocating %zu bytes of scratch: %s", want,
                 cudaGetErrorString(e));
        return NULL;
    }
    c->scratch[slot] = p;
    c->scratch_size[slot] = want;
    return p;
}

static void *cu_alloc(ck_backend *be, size_t nbytes)
{
    if (cudaSetDevice(ck_cu(be)->device) != cudaSuccess) {
        ck_error("cuda", "cannot select device %d", ck_cu(be)->device);
        return NULL;
    }
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, nbytes ? nbytes : 1);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        ck_error("cuda", "out of GPU memory allocating %zu bytes: %s", nbytes, cudaGetErrorString(e));
        return NULL;
    }
    return p;
}

static void cu_free(ck_backend *be, void *ptr)
{
    if (!ptr)
        return;
    /* Errors cannot be reported from a free; a sticky error will surface
     * at the next checked call. */
    (void)cudaSetDevice(ck_cu(be)->device);
    (void)cudaFree(ptr);
}

/* Pageable host memory cannot be DMA'd asynchronously, so copies go
 * through two pinned staging buffers used in turn: while the GPU copies
 * out of one, the CPU fills the other. */
static int cu_upload(ck_backend *be, void *dst, const void *host, size_t nbytes)
{
    ck_cuda *c = ck_cu(be);
    CK_ON_DEVICE(be);
    size_t done = 0;
    int k = 0;
    while (done < nbytes) {
        size_t n = nbytes - done < CK_CU_STAGING_BYTES ? nbytes - done : CK_CU_STAGING_BYTES;
        /* The previous copy out of this buffer must have finished. */
        CK_CU(cudaEventSynchronize(c->staging_done[k]));
        memcpy(c->staging[k], (const char *)host + done, n);
        CK_CU(cudaMemcpyAsync((char *)dst + done, c->staging[k], n, cudaMemcpyHostToDevice, c->stream));
        CK_CU(cudaEventRecord(c->staging_done[k], c->stream));
        done += n;
        k ^= 1;
    }
    return 0;
}

static int cu_download(ck_backend *be, void *host, const void *src, size_t nbytes)
{
    ck_cuda *c = ck_cu(be);
    CK_ON_DEVICE(be);
    /* Queue the first chunk, then always have the next one in flight while
     * copying the finished one out of its staging buffer. */
    size_t chunk = CK_CU_STAGING_BYTES;
    size_t nchunks = (nbytes + chunk - 1) / chunk;
    for (size_t i = 0; i < nchunks && i < 2; i++) {
        size_t off = i * chunk, n = nbytes - off < chunk ? nbytes - off : chunk;
        CK_CU(cudaMemcpyAsync(c->staging[i & 1], (const char *)src + off, n, cudaMemcpyDeviceToHost, c->stream));
        CK_CU(cudaEventRecord(c->staging_done[i & 1], c->stream));
    }
    for (size_t i = 0; i < nchunks; i++) {
        size_t off = i * chunk, n = nbytes - off < chunk ? nbytes - off : chunk;
        int k = (int)(i & 1);
        CK_CU(cudaEventSynchronize(c->staging_done[k]));
        memcpy((char *)host + off, c->staging[k], n);
        size_t next = i + 2;
        if (next < nchunks) {
            size_t noff = next * chunk, nn = nbytes - noff < chunk ? nbytes - noff : chunk;
            CK_CU(cudaMemcpyAsync(c->staging[k], (const char *)src + noff, nn, cudaMemcpyDeviceToHost,
                                  c->stream));
            CK_CU(cudaEventRecord(c->staging_done[k], c->stream));
        }
    }
    if (nchunks == 0)
        CK_CU(cudaStreamSynchronize(c->stream));
    return 0;
}

static int cu_sync(ck_backend *be)
{
    CK_ON_DEVICE(be);
    CK_CU(cudaStreamSynchronize(ck_cu(be)->stream));
    return 0;
}

static void cu_destroy(ck_backend *be)
{
    ck_cuda *c = ck_cu(be);
    if (!c)
        return;
    (void)cudaSetDevice(c->device);
    if (c->stream)
        (void)cudaStreamSynchronize(c->stream);
    ck_cuda_conv_cache_free(c);
    for (int i = 0; i < CK_CU_SLOTS; i++)
        if (c->scratch[i])
            (void)cudaFree(c->scratch[i]);
    for (int i = 0; i < 2; i++) {
        if (c->staging[i])
            (void)cudaFreeHost(c->staging[i]);
        if (c->staging_done[i])
            (void)cudaEventDestroy(c->staging_done[i]);
    }
    if (c->xdesc) (void)cudnnDestroyTensorDescriptor(c->xdesc);
    if (c->ydesc) (void)cudnnDestroyTensorDescriptor(c->ydesc);
    if (c->bdesc) (void)cudnnDestroyTensorDescriptor(c->bdesc);
    if (c->wdesc) (void)cudnnDestroyFilterDescriptor(c->wdesc);
    if (c->cdesc) (void)cudnnDestroyConvolutionDescriptor(c->cdesc);
    if (c->relu) (void)cudnnDestroyActivationDescriptor(c->relu);
    if (c->dnn)
        (void)cudnnDestroy(c->dnn);
    if (c->blas)
        (void)cublasDestroy(c->blas);
    if (c->stream)
        (void)cudaStreamDestroy(c->stream);
    free(c);
    be->impl = NULL;
    /* ck_backend_free() leaves freeing the object itself to the backend. */
    free(be);
}

static const ck_backend_ops cuda_ops = {
    "cuda",
    cu_alloc,
    cu_free,
    cu_upload,
    cu_download,
    cu_sync,
    cu_destroy,
    NULL, /* forget: nothing is derived from tensor contents */
#define CK_CUDA_OP_ENTRY(op, params) ck_cuda_##op,
    CK_BACKEND_OPS(CK_CUDA_OP_ENTRY)
#undef CK_CUDA_OP_ENTRY
};

/* Creates handles and descriptors; -1 with an error (the caller frees). */
static int cu_init(ck_backend *be, ck_cuda *c)
{
    CK_CU(cudaSetDevice(c->device));
    CK_CU(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    CK_BLAS(cublasCreate(&c->blas));
    CK_BLAS(cublasSetStream(c->blas, c->stream));
    /* Results must not depend on the TF32 switch beyond rounding: pedantic
     * math when off keeps cuBLAS from picking reduced-precision paths. */
    CK_BLAS(cublasSetMathMode(c->blas, c->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
    CK_DNN(cudnnCreate(&c->dnn));
    CK_DNN(cudnnSetStream(c->dnn, c->stream));
    CK_DNN(cudnnCreateTensorDescriptor(&c->xdesc));
    CK_DNN(cudnnCreateTensorDescriptor(&c->ydesc));
    CK_DNN(cudnnCreateTensorDescriptor(&c->bdesc));
    CK_DNN(cudnnCreateFilterDescriptor(&c->wdesc));
    CK_DNN(cudnnCreateConvolutionDescriptor(&c->cdesc));
    CK_DNN(cudnnCreateActivationDescriptor(&c->relu));
    CK_DNN(cudnnSetActivationDescriptor(c->relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    for (int i = 0; i < 2; i++) {
        CK_CU(cudaHostAlloc(&c->staging[i], CK_CU_STAGING_BYTES, cudaHostAllocDefault));
        CK_CU(cudaEventCreateWithFlags(&c->staging_done[i], cudaEventDisableTiming));
        /* Recorded once so the first wait on it returns at once. */
        CK_CU(cudaEventRecord(c->staging_done[i], c->stream));
    }

    cudaDeviceProp prop;
    CK_CU(cudaGetDeviceProperties(&prop, c->device));
    size_t v = cudnnGetVersion();
    snprintf(be->name, sizeof be->name, "cuda:%d (%.60s, cuDNN %zu.%zu, TF32 %s)", c->device, prop.name,
             v / 10000, (v / 100) % 100, c->tf32 ? "on" : "off");
    return 0;
}

ck_backend *ck_cuda_backend_new(int device, int threads)
{
    int n = ck_cuda_device_count();
    if (n <= 0) {
        ck_error("cuda", "no CUDA device (driver missing or no GPU visible)");
        return NULL;
    }
    if (device < 0 || device >= n) {
        ck_error("cuda", "no CUDA device %d (%d device%s visible)", device, n, n == 1 ? "" : "s");
        return NULL;
    }
    ck_backend *be = (ck_backend *)calloc(1, sizeof *be);
    ck_cuda *c = (ck_cuda *)calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        ck_error("cuda", "out of memory");
        return NULL;
    }
    be->ops = &cuda_ops;
    be->threads = threads > 0 ? threads : 1;
    be->is_cpu = 0;
    be->impl = c;
    c->device = device;
    c->tf32 = env_flag("CK_CUDA_TF32", 1);
    be->bf16_act = env_flag("CK_CUDA_BF16_ACT", 1);
    c->find = env_flag("CK_CUDA_FIND", 1);
    const char *ws = getenv("CK_CUDA_WORKSPACE_MB");
    c->workspace_limit = (size_t)(ws && atol(ws) > 0 ? atol(ws) : 1024) << 20;
    if (cu_init(be, c) != 0) {
        cu_destroy(be);
        return NULL;
    }
    return be;
}
