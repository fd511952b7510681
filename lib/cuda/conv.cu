/* Convolutions through cuDNN (legacy v7-style API, still in cuDNN 9): the
 * 3×3 'same' ones (fp32 and bf16) and the general k×k ones with stride and
 * padding of the graph backbones (fp32), which only differ in the
 * descriptors: the geometry below.
 *
 * Layouts: activations NHWC map directly to CUDNN_TENSOR_NHWC. Our kernels
 * are HWIO (Keras), but a cuDNN NHWC filter is KRSC = [Co][3][3][Ci]. HWIO
 * viewed as a [9·Ci, Co] matrix transposed is exactly KRSC, so every call
 * transposes the weights on the device into a scratch buffer. Why not
 * cache the transposed copy: weights change after every optimizer step and
 * tensors carry no version counter; the transpose moves ~2× the weight
 * bytes (≤ 2×9.4 MB for a VGG16 block-5 layer), microseconds next to the
 * convolution itself. Correct by construction, nothing to invalidate.
 *
 * Algorithms: cudnnFind* (measured, like torch.backends.cudnn.benchmark)
 * or cudnnGet*_v7 (heuristics, CK_CUDA_FIND=0), cached per shape, dtype
 * and math mode; one workspace buffer is reused by all calls.
 * Math: TF32 tensor cores when the backend has TF32 on
 * (CUDNN_TENSOR_OP_MATH), otherwise CUDNN_FMA_MATH — plain fp32 FMA
 * kernels, which the comparison tests use.
 * CK_CONV_BF16 (frozen layers, forward only): cuDNN runs a bf16
 * convolution with fp32 accumulation on bf16 x and weights (converted when
 * given in f32). A bf16 y gets the bias and ReLU in place; an f32 y gets
 * the bf16 result widened with them. The model passes bf16 activations
 * from layer to layer (backend bf16_act), so the frozen base moves half the
 * bytes and converts nothing between layers.
 */
#include "cuda_internal.h"

#include <cuda_bf16.h>
#include <stdlib.h>

enum { FWD = 0, BWD_DATA = 1, BWD_FILTER = 2 };

void ck_cuda_conv_cache_free(ck_cuda *c)
{
    ck_cu_algo *a = c->algos;
    while (a) {
        ck_cu_algo *next = a->next;
        free(a);
        a = next;
    }
    c->algos = NULL;
}

/* x [n,h,w,ci] convolved with co k×k filters at stride s, zero padding p:
 * y [n,ho,wo,co]. */
typedef struct cu_geom {
    int n, h, w, ci, co, k, s, p, ho, wo;
} cu_geom;

static cu_geom same3x3(int n, int h, int w, int ci, int co)
{
    cu_geom g = {n, h, w, ci, co, 3, 1, 1, h, w};
    return g;
}

/* x [n,h,w,ci] (or dx), y [n,ho,wo,co] (or dy). */
static cu_geom geom_of(const ck_tensor *x, const ck_tensor *y, int k, int s, int p)
{
    cu_geom g = {x->shape[0], x->shape[1], x->shape[2], x->shape[3], y->shape[3], k, s, p, y->shape[1], y->shape[2]};
    return g;
}

/* Describe the convolution g in c's descriptors. */
static int set_descs(ck_cuda *c, const cu_geom *g, cudnnDataType_t dt, cudnnMathType_t math)
{
    CK_DNN(cudnnSetTensor4dDescriptor(c->xdesc, CUDNN_TENSOR_NHWC, dt, g->n, g->ci, g->h, g->w));
    CK_DNN(cudnnSetTensor4dDescriptor(c->ydesc, CUDNN_TENSOR_NHWC, dt, g->n, g->co, g->ho, g->wo));
    CK_DNN(cudnnSetFilter4dDescriptor(c->wdesc, dt, CUDNN_TENSOR_NHWC, g->co, g->ci, g->k, g->k));
    CK_DNN(cudnnSetConvolution2dDescriptor(c->cdesc, g->p, g->p, g->s, g->s, 1, 1, CUDNN_CROSS_CORRELATION,
                                           CUDNN_DATA_FLOAT));
    CK_DNN(cudnnSetConvolutionMathType(c->cdesc, math));
    return 0;
}

static cudnnMathType_t math_for(const ck_cuda *c, cudnnDataType_t dt)
{
    if (dt != CUDNN_DATA_FLOAT)
        return CUDNN_TENSOR_OP_MATH; /* bf16 convolutions are tensor-core only */
    return c->tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
}

/* Pick an algorithm from perf results (sorted fastest first by cuDNN):
 * the first that ran, fits the workspace limit, and — when TF32 is off —
 * does not use tensor cores. Returns 0, or 1 when none qualifies. */
template <typename Perf>
static int pick(const ck_cuda *c, const Perf *perf, int count, cudnnDataType_t dt, ck_cu_algo *out)
{
    for (int i = 0; i < count; i++) {
        if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > c->workspace_limit)
            continue;
        if (dt == CUDNN_DATA_FLOAT && !c->tf32 && perf[i].mathType != CUDNN_DEFAULT_MATH
            && perf[i].mathType != CUDNN_FMA_MATH)
            continue;
        out->algo = (int)perf[i].algo;
        out->algo_math = (int)perf[i].mathType;
        out->workspace = perf[i].memory;
        return 0;
    }
    return 1;
}

#define MAX_ALGOS 16

/* Find (or look up) the algorithm for the convolution described in c's
 * descriptors. Returns the cache entry, or NULL: with an error set, or
 * with *unsupported = 1 when cuDNN has no algorithm for it at all. */
static ck_cu_algo *get_algo(ck_backend *be, int kind, const cu_geom *g, cudnnDataType_t dt, int *unsupported)
{
    const int n = g->n, h = g->h, w = g->w, ci = g->ci, co = g->co;
    ck_cuda *c = ck_cu(be);
    cudnnMathType_t math = math_for(c, dt);
    *unsupported = 0;
    for (ck_cu_algo *a = c->algos; a; a = a->next)
        if (a->kind == kind && a->n == n && a->h == h && a->w == w && a->ci == ci && a->co == co
            && a->k == g->k && a->stride == g->s && a->pad == g->p && a->dtype == (int)dt && a->math == (int)math) {
            *unsupported = a->unsupported;
            return a->unsupported ? NULL : a;
        }

    ck_cu_algo *a = (ck_cu_algo *)calloc(1, sizeof *a);
    if (!a) {
        ck_error("cuda", "out of memory");
        return NULL;
    }
    a->kind = kind;
    a->n = n, a->h = h, a->w = w, a->ci = ci, a->co = co;
    a->k = g->k, a->stride = g->s, a->pad = g->p;
    a->dtype = (int)dt;
    a->math = (int)math;
    a->fused_ok = 1;

    int got = 0, none = 1;
    cudnnStatus_t s = CUDNN_STATUS_SUCCESS;
    if (kind == FWD) {
        cudnnConvolutionFwdAlgoPerf_t perf[MAX_ALGOS];
        s = c->find ? cudnnFindConvolutionForwardAlgorithm(c->dnn, c->xdesc, c->wdesc, c->cdesc, c->ydesc, MAX_ALGOS,
                                                           &got, perf)
                    : cudnnGetConvolutionForwardAlgorithm_v7(c->dnn, c->xdesc, c->wdesc, c->cdesc, c->ydesc,
                                                             MAX_ALGOS, &got, perf);
        if (s == CUDNN_STATUS_SUCCESS)
            none = pick(c, perf, got, dt, a);
    } else if (kind == BWD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[MAX_ALGOS];
        s = c->find ? cudnnFindConvolutionBackwardDataAlgorithm(c->dnn, c->wdesc, c->ydesc, c->cdesc, c->xdesc,
                                                                MAX_ALGOS, &got, perf)
                    : cudnnGetConvolutionBackwardDataAlgorithm_v7(c->dnn, c->wdesc, c->ydesc, c->cdesc, c->xdesc,
                                                                  MAX_ALGOS, &got, perf);
        if (s == CUDNN_STATUS_SUCCESS)
            none = pick(c, perf, got, dt, a);
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[MAX_ALGOS];
        s = c->find ? cudnnFindConvolutionBackwardFilterAlgorithm(c->dnn, c->xdesc, c->ydesc, c->cdesc, c->wdesc,
                                                                  MAX_ALGOS, &got, perf)
                    : cudnnGetConvolutionBackwardFilterAlgorithm_v7(c->dnn, c->xdesc, c->ydesc, c->cdesc, c->wdesc,
                                                                    MAX_ALGOS, &got, perf);
        if (s == CUDNN_STATUS_SUCCESS)
            none = pick(c, perf, got, dt, a);
    }
    if (s != CUDNN_STATUS_SUCCESS && s != CUDNN_STATUS_NOT_SUPPORTED) {
        free(a);
        ck_error("cuda", "cuDNN algorithm search for a %d×%d×%d×%d -> %d %d×%d/%d convolution: %s", n, h, w, ci,
                 co, g->k, g->k, g->s, cudnnGetErrorString(s));
        return NULL;
    }
    if (s == CUDNN_STATUS_NOT_SUPPORTED || none) {
        /* Kept in the cache so the next call does not search again. */
        a->unsupported = 1;
        a->next = c->algos;
        c->algos = a;
        *unsupported = 1;
        return NULL;
    }
    a->next = c->algos;
    c->algos = a;
    return a;
}

/* Like get_algo, and also switches the convolution descriptor to the
 * math type the algorithm was measured with and provides its workspace. */
static ck_cu_algo *prepare(ck_backend *be, int kind, const cu_geom *g, cudnnDataType_t dt, void **ws,
                           int *unsupported)
{
    ck_cuda *c = ck_cu(be);
    ck_cu_algo *a = get_algo(be, kind, g, dt, unsupported);
    if (!a)
        return NULL;
    /* With TF32 off, stay on FMA math whatever the search reported: a
     * reported CUDNN_DEFAULT_MATH would allow TF32 again on Ampere+. */
    cudnnMathType_t m = dt == CUDNN_DATA_FLOAT && !c->tf32 ? CUDNN_FMA_MATH : (cudnnMathType_t)a->algo_math;
    cudnnStatus_t s = cudnnSetConvolutionMathType(c->cdesc, m);
    if (s != CUDNN_STATUS_SUCCESS) {
        ck_error("cuda", "cudnnSetConvolutionMathType: %s", cudnnGetErrorString(s));
        return NULL;
    }
    *ws = ck_cu_scratch(be, CK_CU_WORKSPACE, a->workspace);
    return *ws ? a : NULL;
}

static void no_algo(const cu_geom *g)
{
    ck_error("cuda", "cuDNN has no algorithm for a %d×%d×%d×%d -> %d %d×%d/%d convolution within the workspace "
             "limit (CK_CUDA_WORKSPACE_MB)", g->n, g->h, g->w, g->ci, g->co, g->k, g->k, g->s);
}

/* HWIO weights [k,k,ci,co] (any float dtype) -> KRSC in dtype `dt`, in
 * scratch: HWIO as a [k·k·ci, co] matrix, transposed. */
static void *weights_krsc(ck_backend *be, const ck_tensor *w, ck_dtype dt, const cu_geom *g)
{
    const int rows = g->k * g->k * g->ci;
    void *dst = ck_cu_scratch(be, CK_CU_WEIGHTS, (size_t)rows * g->co * ck_dtype_size(dt));
    if (!dst || ck_cu_transpose(be, w->data, w->dtype, dst, dt, rows, g->co, 0.0f) != 0)
        return NULL;
    return dst;
}

/* y[i] = f32(ylow[i]) + b[i % co], optional ReLU. */
__global__ void k_widen_bias_act(const __nv_bfloat16 *ylow, float *y, const float *b, size_t n, int co, int relu)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = __bfloat162float(ylow[i]) + (b ? b[i % co] : 0.0f);
        y[i] = relu && v < 0.0f ? 0.0f : v;
    }
}

/* In place on a bf16 y: y[i] = bf16(f32(y[i]) + b[i % co]), optional ReLU.
 * Two bf16 values per thread step (co is even in VGG; odd co takes the
 * scalar loop). */
__global__ void k_bias_act_bf16(__nv_bfloat16 *y, const float *b, size_t n, int co, int relu)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = __bfloat162float(y[i]) + (b ? b[i % co] : 0.0f);
        y[i] = __float2bfloat16_rn(relu && v < 0.0f ? 0.0f : v);
    }
}

__global__ void k_bias_act_bf16x2(__nv_bfloat162 *y, const float2 *b, size_t n2, int co2, int relu)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n2; i += (size_t)gridDim.x * blockDim.x) {
        float2 v = __bfloat1622float2(y[i]);
        if (b) {
            float2 bb = b[i % co2];
            v.x += bb.x;
            v.y += bb.y;
        }
        if (relu) {
            v.x = v.x < 0.0f ? 0.0f : v.x;
            v.y = v.y < 0.0f ? 0.0f : v.y;
        }
        y[i] = __float22bfloat162_rn(v);
    }
}

/* Returns 0 done, 1 when cuDNN cannot do it in bf16 (caller falls back to
 * fp32), -1 on error. x and y may each be f32 or bf16: a bf16 x is used as
 * is, a bf16 y receives the convolution directly and the bias and ReLU in
 * place, so layers that pass bf16 activations skip both conversions. */
static int conv_forward_bf16(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,
                             ck_tensor *y, int relu)
{
    ck_cuda *c = ck_cu(be);
    int n = x->shape[0], h = x->shape[1], wd = x->shape[2], ci = x->shape[3], co = y->shape[3];
    size_t nx = (size_t)n * h * wd * ci, ny = (size_t)n * h * wd * co;
    const cu_geom g = same3x3(n, h, wd, ci, co);
    if (set_descs(c, &g, CUDNN_DATA_BFLOAT16, math_for(c, CUDNN_DATA_BFLOAT16)) != 0)
        return -1;
    void *ws = NULL;
    int unsupported = 0;
    ck_cu_algo *a = prepare(be, FWD, &g, CUDNN_DATA_BFLOAT16, &ws, &unsupported);
    if (!a)
        return unsupported ? 1 : -1;
    const void *xl = x->data;
    if (x->dtype != CK_BF16) {
        void *buf = ck_cu_scratch(be, CK_CU_XLOW, nx * 2);
        if (!buf || ck_cu_convert(be, x->data, x->dtype, buf, CK_BF16, nx) != 0)
            return -1;
        xl = buf;
    }
    void *yl = y->dtype == CK_BF16 ? y->data : ck_cu_scratch(be, CK_CU_YLOW, ny * 2);
    if (!yl)
        return -1;
    void *wk = weights_krsc(be, w, CK_BF16, &g);
    if (!wk)
        return -1;
    const float one = 1.0f, zero = 0.0f;
    cudnnStatus_t s = cudnnConvolutionForward(c->dnn, &one, c->xdesc, xl, c->wdesc, wk, c->cdesc,
                                              (cudnnConvolutionFwdAlgo_t)a->algo, ws, a->workspace, &zero, c->ydesc,
                                              yl);
    if (s == CUDNN_STATUS_NOT_SUPPORTED) {
        a->unsupported = 1; /* found but refused at run time: fp32 from now on */
        return 1;
    }
    if (s != CUDNN_STATUS_SUCCESS) {
        ck_error("cuda", "cudnnConvolutionForward (bf16): %s", cudnnGetErrorString(s));
        return -1;
    }
    const float *bias = b ? (const float *)b->data : NULL;
    if (y->dtype == CK_BF16 && co % 2 == 0)
        k_bias_act_bf16x2<<<ck_cu_blocks(ny / 2, 256), 256, 0, c->stream>>>(
            (__nv_bfloat162 *)yl, (const float2 *)bias, ny / 2, co / 2, relu);
    else if (y->dtype == CK_BF16)
        k_bias_act_bf16<<<ck_cu_blocks(ny, 256), 256, 0, c->stream>>>((__nv_bfloat16 *)yl, bias, ny, co, relu);
    else
        k_widen_bias_act<<<ck_cu_blocks(ny, 256), 256, 0, c->stream>>>((const __nv_bfloat16 *)yl, (float *)y->data,
                                                                      bias, ny, co, relu);
    CK_LAUNCHED("conv bf16 epilogue");
    return 0;
}

/* fp32 (TF32 when on) forward of any geometry; bf16 activations (3×3
 * only) are widened and narrowed. */
static int conv_forward_f32(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b, ck_tensor *y,
                            const cu_geom *g, int relu)
{
    ck_cuda *c = ck_cu(be);
    size_t nx = (size_t)g->n * g->h * g->w * g->ci, rows = (size_t)g->n * g->ho * g->wo, ny = rows * g->co;
    const void *xf = x->data;
    void *yf = y->data;
    if (x->dtype == CK_BF16) {
        void *buf = ck_cu_scratch(be, CK_CU_XF32, nx * sizeof(float));
        if (!buf || ck_cu_convert(be, x->data, CK_BF16, buf, CK_F32, nx) != 0)
            return -1;
        xf = buf;
    }
    if (y->dtype == CK_BF16 && !(yf = ck_cu_scratch(be, CK_CU_YF32, ny * sizeof(float))))
        return -1;
    if (set_descs(c, g, CUDNN_DATA_FLOAT, math_for(c, CUDNN_DATA_FLOAT)) != 0)
        return -1;
    void *ws = NULL;
    int unsupported = 0;
    ck_cu_algo *a = prepare(be, FWD, g, CUDNN_DATA_FLOAT, &ws, &unsupported);
    if (!a) {
        if (unsupported)
            no_algo(g);
        return -1;
    }
    void *wk = weights_krsc(be, w, CK_F32, g);
    if (!wk)
        return -1;
    const float one = 1.0f, zero = 0.0f;
    int done = 0;
    if (relu && b && a->fused_ok) {
        /* y = ReLU(conv(x) + 0·z + b): one pass over y instead of two. */
        CK_DNN(cudnnSetTensor4dDescriptor(c->bdesc, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, 1, g->co, 1, 1));
        cudnnStatus_t s = cudnnConvolutionBiasActivationForward(
            c->dnn, &one, c->xdesc, xf, c->wdesc, wk, c->cdesc, (cudnnConvolutionFwdAlgo_t)a->algo, ws,
            a->workspace, &zero, c->ydesc, yf, c->bdesc, b->data, c->relu, c->ydesc, yf);
        if (s == CUDNN_STATUS_SUCCESS)
            done = 1;
        else
            /* Some algorithms have no fused variant (NOT_SUPPORTED, or
             * BAD_PARAM for some layouts): remember and go the separate
             * way, which reports any real problem with the arguments. */
            a->fused_ok = 0;
    }
    if (!done) {
        CK_DNN(cudnnConvolutionForward(c->dnn, &one, c->xdesc, xf, c->wdesc, wk, c->cdesc,
                                       (cudnnConvolutionFwdAlgo_t)a->algo, ws, a->workspace, &zero, c->ydesc, yf));
        if (ck_cu_bias_act(be, (float *)yf, b ? (const float *)b->data : NULL, rows, g->co, relu) != 0)
            return -1;
    }
    if (y->dtype == CK_BF16)
        return ck_cu_convert(be, yf, CK_F32, y->data, CK_BF16, ny);
    return 0;
}

int ck_cuda_conv3x3_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,
                            ck_tensor *y, int relu, ck_conv_algo algo)
{
    CK_ON_DEVICE(be);
    int n = x->shape[0], h = x->shape[1], wd = x->shape[2], ci = x->shape[3], co = y->shape[3];
    if ((size_t)n * h * wd * co == 0)
        return 0;
    /* AUTO runs bf16 when anything is already bf16 (frozen weights stored
     * so, or bf16 activations): nothing carries more precision than that. */
    int low = w->dtype == CK_BF16 || x->dtype == CK_BF16 || y->dtype == CK_BF16;
    if (algo == CK_CONV_BF16 || (algo == CK_CONV_AUTO && low)) {
        int r = conv_forward_bf16(be, x, w, b, y, relu);
        if (r <= 0)
            return r;
        /* cuDNN has no bf16 kernel for this shape on this GPU (block1's
         * 3 input channels, typically): fp32 for this layer only, which
         * the algorithm cache remembers per shape. */
    }
    const cu_geom g = same3x3(n, h, wd, ci, co);
    return conv_forward_f32(be, x, w, b, y, &g, relu);
}

/* With a residual r: the convolution, then the add kernel with the ReLU
 * (cuDNN's fused z input is a later step; this composition keeps the same
 * result as the CPU's one pass up to rounding). */
int ck_cuda_conv_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,
                         const ck_tensor *r, ck_tensor *y, int stride, int pad, int relu)
{
    CK_ON_DEVICE(be);
    const cu_geom g = geom_of(x, y, w->shape[0], stride, pad);
    if ((size_t)g.n * g.ho * g.wo * g.co == 0)
        return 0;
    const int act = r ? 0 : relu;
    int rc;
    if (g.ci == 0) { /* no input channels: the bias alone */
        rc = ck_cuda_fill(be, y, 0.0f) != 0
             || ck_cu_bias_act(be, (float *)y->data, b ? (const float *)b->data : NULL, (size_t)g.n * g.ho * g.wo,
                               g.co, act) != 0;
    } else {
        rc = conv_forward_f32(be, x, w, b, y, &g, act) != 0;
    }
    if (!rc && r)
        rc = ck_cuda_add_forward(be, y, r, y, relu) != 0;
    return rc ? -1 : 0;
}

static int conv_backward_data(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx, const cu_geom *g)
{
    ck_cuda *c = ck_cu(be);
    if ((size_t)g->n * g->h * g->w * g->ci == 0)
        return 0;
    if ((size_t)g->ho * g->wo * g->co == 0) /* no gradient flows back */
        return ck_cuda_fill(be, dx, 0.0f);
    if (set_descs(c, g, CUDNN_DATA_FLOAT, math_for(c, CUDNN_DATA_FLOAT)) != 0)
        return -1;
    void *ws = NULL;
    int unsupported = 0;
    ck_cu_algo *a = prepare(be, BWD_DATA, g, CUDNN_DATA_FLOAT, &ws, &unsupported);
    if (!a) {
        if (unsupported)
            no_algo(g);
        return -1;
    }
    void *wk = weights_krsc(be, w, CK_F32, g);
    if (!wk)
        return -1;
    const float one = 1.0f, zero = 0.0f;
    CK_DNN(cudnnConvolutionBackwardData(c->dnn, &one, c->wdesc, wk, c->ydesc, dy->data, c->cdesc,
                                        (cudnnConvolutionBwdDataAlgo_t)a->algo, ws, a->workspace, &zero, c->xdesc,
                                        dx->data));
    return 0;
}

int ck_cuda_conv3x3_backward_data(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx)
{
    CK_ON_DEVICE(be);
    const cu_geom g = same3x3(dx->shape[0], dx->shape[1], dx->shape[2], dx->shape[3], dy->shape[3]);
    return conv_backward_data(be, dy, w, dx, &g);
}

int ck_cuda_conv_backward_data(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx, int stride,
                               int pad)
{
    CK_ON_DEVICE(be);
    const cu_geom g = geom_of(dx, dy, w->shape[0], stride, pad);
    return conv_backward_data(be, dy, w, dx, &g);
}

static int conv_backward_filter(ck_backend *be, const ck_tensor *x, const ck_tensor *dy, ck_tensor *dw,
                                ck_tensor *db, float beta, const cu_geom *g)
{
    ck_cuda *c = ck_cu(be);
    size_t rows = (size_t)g->n * g->ho * g->wo;
    const int kk = g->k * g->k * g->ci;
    if (rows == 0) {
        /* No data: the gradient is beta·dw (and beta·db). */
        if (beta != 1.0f) {
            ck_tensor *ts[2] = {dw, db};
            for (int i = 0; i < 2; i++)
                if (ts[i] && (beta == 0.0f ? ck_cuda_fill(be, ts[i], 0.0f) : ck_cuda_scale(be, ts[i], beta)) != 0)
                    return -1;
        }
        return 0;
    }
    if (g->co == 0)
        return 0;
    if (kk == 0) /* dw is empty */
        return db ? ck_cu_colsum(be, (const float *)dy->data, rows, g->co, (float *)db->data, beta) : 0;
    if (set_descs(c, g, CUDNN_DATA_FLOAT, math_for(c, CUDNN_DATA_FLOAT)) != 0)
        return -1;
    void *ws = NULL;
    int unsupported = 0;
    ck_cu_algo *a = prepare(be, BWD_FILTER, g, CUDNN_DATA_FLOAT, &ws, &unsupported);
    if (!a) {
        if (unsupported)
            no_algo(g);
        return -1;
    }
    /* cuDNN writes KRSC; transposing back into HWIO applies beta. */
    void *gk = ck_cu_scratch(be, CK_CU_WGRAD, (size_t)kk * g->co * sizeof(float));
    if (!gk)
        return -1;
    const float one = 1.0f, zero = 0.0f;
    CK_DNN(cudnnConvolutionBackwardFilter(c->dnn, &one, c->xdesc, x->data, c->ydesc, dy->data, c->cdesc,
                                          (cudnnConvolutionBwdFilterAlgo_t)a->algo, ws, a->workspace, &zero,
                                          c->wdesc, gk));
    if (ck_cu_transpose(be, gk, CK_F32, dw->data, CK_F32, g->co, kk, beta) != 0)
        return -1;
    if (db)
        return ck_cu_colsum(be, (const float *)dy->data, rows, g->co, (float *)db->data, beta);
    return 0;
}

int ck_cuda_conv3x3_backward_filter(ck_backend *be, const ck_tensor *x, const ck_tensor *dy, ck_tensor *dw,
                                    ck_tensor *db, float beta)
{
    CK_ON_DEVICE(be);
    const cu_geom g = same3x3(x->shape[0], x->shape[1], x->shape[2], x->shape[3], dy->shape[3]);
    return conv_backward_filter(be, x, dy, dw, db, beta, &g);
}

int ck_cuda_conv_backward_filter(ck_backend *be, const ck_tensor *x, const ck_tensor *dy, ck_tensor *dw,
                                 ck_tensor *db, int stride, int pad, float beta)
{
    CK_ON_DEVICE(be);
    const cu_geom g = geom_of(x, dy, dw->shape[0], stride, pad);
    return conv_backward_filter(be, x, dy, dw, db, beta, &g);
}
