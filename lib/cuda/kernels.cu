/* Small element-wise and reduction kernels: fill/copy with dtype
 * conversion, transposes, bias+ReLU, column sums, ReLU, pooling,
 * add, preprocessing and the vector utilities (scale, axpy, sum of squares).
 * They are memory-bound; grid-stride loops, one element per thread step. */
#include "cuda_internal.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#define TPB 256

/* ---- dtype helpers ------------------------------------------------------ */

template <typename T> __device__ __forceinline__ float ld(const T *p, size_t i);
template <> __device__ __forceinline__ float ld<float>(const float *p, size_t i) { return p[i]; }
template <> __device__ __forceinline__ float ld<__nv_bfloat16>(const __nv_bfloat16 *p, size_t i)
{
    return __bfloat162float(p[i]);
}
template <> __device__ __forceinline__ float ld<__half>(const __half *p, size_t i) { return __half2float(p[i]); }

template <typename T> __device__ __forceinline__ void st(T *p, size_t i, float v);
template <> __device__ __forceinline__ void st<float>(float *p, size_t i, float v) { p[i] = v; }
/* Round to nearest even, like the CPU's conversions. */
template <> __device__ __forceinline__ void st<__nv_bfloat16>(__nv_bfloat16 *p, size_t i, float v)
{
    p[i] = __float2bfloat16_rn(v);
}
template <> __device__ __forceinline__ void st<__half>(__half *p, size_t i, float v) { p[i] = __float2half_rn(v); }

/* ---- fill / convert / copy ---------------------------------------------- */

template <typename T> __global__ void k_fill(T *p, size_t n, T v)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        p[i] = v;
}

template <typename S, typename D> __global__ void k_convert(const S *s, D *d, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        st<D>(d, i, ld<S>(s, i));
}

template <typename S, typename D> static void launch_convert(cudaStream_t s, const void *src, void *dst, size_t n)
{
    k_convert<S, D><<<ck_cu_blocks(n, TPB), TPB, 0, s>>>((const S *)src, (D *)dst, n);
}

int ck_cu_convert(ck_backend *be, const void *src, ck_dtype st_, void *dst, ck_dtype dt, size_t n)
{
    cudaStream_t s = ck_cu(be)->stream;
    if (n == 0)
        return 0;
    if (st_ == dt) {
        CK_CU(cudaMemcpyAsync(dst, src, n * ck_dtype_size(st_), cudaMemcpyDeviceToDevice, s));
        return 0;
    }
#define CONV(S_, D_, TS, TD) else if (st_ == S_ && dt == D_) launch_convert<TS, TD>(s, src, dst, n)
    if (0) {
    }
    CONV(CK_F32, CK_BF16, float, __nv_bfloat16);
    CONV(CK_F32, CK_F16, float, __half);
    CONV(CK_BF16, CK_F32, __nv_bfloat16, float);
    CONV(CK_F16, CK_F32, __half, float);
    CONV(CK_BF16, CK_F16, __nv_bfloat16, __half);
    CONV(CK_F16, CK_BF16, __half, __nv_bfloat16);
    else {
        ck_error("cuda", "cannot convert %s to %s", ck_dtype_name(st_), ck_dtype_name(dt));
        return -1;
    }
#undef CONV
    CK_LAUNCHED("convert");
    return 0;
}

int ck_cuda_fill(ck_backend *be, ck_tensor *t, float value)
{
    CK_ON_DEVICE(be);
    cudaStream_t s = ck_cu(be)->stream;
    size_t n = ck_cu_numel(t);
    if (n == 0)
        return 0;
    if (value == 0.0f) {
        /* All-zero bytes is 0 in every dtype. */
        CK_CU(cudaMemsetAsync(t->data, 0, n * ck_dtype_size(t->dtype), s));
        return 0;
    }
    unsigned g = ck_cu_blocks(n, TPB);
    switch (t->dtype) {
    case CK_F32: k_fill<float><<<g, TPB, 0, s>>>((float *)t->data, n, value); break;
    /* Host-side rounding: the same conversions as the CPU backend. */
    case CK_BF16: {
        __nv_bfloat16_raw r;
        r.x = ck_f32_to_bf16(value);
        k_fill<__nv_bfloat16><<<g, TPB, 0, s>>>((__nv_bfloat16 *)t->data, n, __nv_bfloat16(r));
        break;
    }
    case CK_F16: {
        __half_raw r;
        r.x = ck_f32_to_f16(value);
        k_fill<__half><<<g, TPB, 0, s>>>((__half *)t->data, n, __half(r));
        break;
    }
    case CK_I32: k_fill<int32_t><<<g, TPB, 0, s>>>((int32_t *)t->data, n, (int32_t)value); break;
    case CK_U8: k_fill<uint8_t><<<g, TPB, 0, s>>>((uint8_t *)t->data, n, (uint8_t)value); break;
    }
    CK_LAUNCHED("fill");
    return 0;
}

int ck_cuda_copy(ck_backend *be, ck_tensor *dst, const ck_tensor *src)
{
    CK_ON_DEVICE(be);
    if (dst->data == src->data && dst->dtype == src->dtype)
        return 0;
    return ck_cu_convert(be, src->data, src->dtype, dst->data, dst->dtype, ck_cu_numel(src));
}

/* ---- transpose (HWIO <-> KRSC) ------------------------------------------- */

/* 32×32 tiles through shared memory so both reads and writes coalesce. */
template <typename S, typename D>
__global__ void k_transpose(const S *src, D *dst, int rows, int cols, float beta)
{
    __shared__ float tile[32][33];
    int c0 = blockIdx.x * 32, r0 = blockIdx.y * 32;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        int r = r0 + j, c = c0 + threadIdx.x;
        if (r < rows && c < cols)
            tile[j][threadIdx.x] = ld<S>(src, (size_t)r * cols + c);
    }
    __syncthreads();
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        int c = c0 + j, r = r0 + threadIdx.x;
        if (r < rows && c < cols) {
            size_t o = (size_t)c * rows + r;
            float v = tile[threadIdx.x][j];
            if (beta != 0.0f)
                v += beta * ld<D>(dst, o);
            st<D>(dst, o, v);
        }
    }
}

template <typename S, typename D>
static void launch_transpose(cudaStream_t s, const void *src, void *dst, int rows, int cols, float beta)
{
    dim3 grid((cols + 31) / 32, (rows + 31) / 32), block(32, 8);
    k_transpose<S, D><<<grid, block, 0, s>>>((const S *)src, (D *)dst, rows, cols, beta);
}

int ck_cu_transpose(ck_backend *be, const void *src, ck_dtype st_, void *dst, ck_dtype dt, int rows, int cols,
                    float beta)
{
    cudaStream_t s = ck_cu(be)->stream;
    if ((size_t)rows * cols == 0)
        return 0;
    if ((cols + 31) / 32 > 0x7fffffff || (rows + 31) / 32 > 65535) {
        ck_error("cuda", "transpose of %d×%d is too large", rows, cols);
        return -1;
    }
#define TR(S_, D_, TS, TD) else if (st_ == S_ && dt == D_) launch_transpose<TS, TD>(s, src, dst, rows, cols, beta)
    if (0) {
    }
    TR(CK_F32, CK_F32, float, float);
    TR(CK_F32, CK_BF16, float, __nv_bfloat16);
    TR(CK_BF16, CK_BF16, __nv_bfloat16, __nv_bfloat16);
    TR(CK_BF16, CK_F32, __nv_bfloat16, float);
    TR(CK_F16, CK_F32, __half, float);
    TR(CK_F16, CK_BF16, __half, __nv_bfloat16);
    TR(CK_F32, CK_F16, float, __half);
    TR(CK_F16, CK_F16, __half, __half);
    else {
        ck_error("cuda", "cannot transpose %s to %s", ck_dtype_name(st_), ck_dtype_name(dt));
        return -1;
    }
#undef TR
    CK_LAUNCHED("transpose");
    return 0;
}

/* ---- bias + ReLU epilogue, column sums ----------------------------------- */

__global__ void k_bias_act(float *y, const float *b, size_t n, int cols, int relu)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = y[i] + (b ? b[i % cols] : 0.0f);
        y[i] = relu && v < 0.0f ? 0.0f : v;
    }
}

int ck_cu_bias_act(ck_backend *be, float *y, const float *b, size_t rows, int cols, int relu)
{
    size_t n = rows * (size_t)cols;
    if (n == 0 || (!b && !relu))
        return 0;
    k_bias_act<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>(y, b, n, cols, relu);
    CK_LAUNCHED("bias_act");
    return 0;
}

/* Pass 1: block (32 columns × 8 row-lanes) sums a fixed chunk of rows
 * into partial[chunk][col]; pass 2 adds the chunks in order. Fixed chunking
 * keeps the result independent of timing (no atomics). */
#define COLSUM_CHUNK 1024
__global__ void k_colsum_partial(const float *x, size_t rows, int cols, float *partial)
{
    __shared__ float acc[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    size_t r0 = (size_t)blockIdx.y * COLSUM_CHUNK;
    size_t r1 = r0 + COLSUM_CHUNK < rows ? r0 + COLSUM_CHUNK : rows;
    float s = 0.0f;
    if (c < cols)
        for (size_t r = r0 + threadIdx.y; r < r1; r += 8)
            s += x[r * cols + c];
    acc[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        float t = 0.0f;
        for (int j = 0; j < 8; j++)
            t += acc[j][threadIdx.x];
        partial[(size_t)blockIdx.y * cols + c] = t;
    }
}

__global__ void k_colsum_final(const float *partial, int chunks, int cols, float *out, float beta)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols)
        return;
    float s = 0.0f;
    for (int k = 0; k < chunks; k++)
        s += partial[(size_t)k * cols + c];
    out[c] = beta == 0.0f ? s : beta * out[c] + s;
}

int ck_cu_colsum(ck_backend *be, const float *x, size_t rows, int cols, float *out, float beta)
{
    cudaStream_t s = ck_cu(be)->stream;
    if (cols == 0)
        return 0;
    size_t chunks = (rows + COLSUM_CHUNK - 1) / COLSUM_CHUNK;
    if (chunks == 0)
        chunks = 1;
    if (chunks > 65535) {
        ck_error("cuda", "column sum over %zu rows is too large", rows);
        return -1;
    }
    float *partial = (float *)ck_cu_scratch(be, CK_CU_PARTIAL, chunks * cols * sizeof(float));
    if (!partial)
        return -1;
    dim3 grid((cols + 31) / 32, (unsigned)chunks), block(32, 8);
    k_colsum_partial<<<grid, block, 0, s>>>(x, rows, cols, partial);
    CK_LAUNCHED("colsum");
    k_colsum_final<<<(cols + TPB - 1) / TPB, TPB, 0, s>>>(partial, (int)chunks, cols, out, beta);
    CK_LAUNCHED("colsum");
    return 0;
}

/* ---- ReLU ------------------------------------------------------------------ */

__global__ void k_relu(const float *x, float *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void k_relu_back(const float *y, const float *dy, float *dx, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

int ck_cuda_relu_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(x);
    if (n == 0)
        return 0;
    k_relu<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>((const float *)x->data, (float *)y->data, n);
    CK_LAUNCHED("relu");
    return 0;
}

int ck_cuda_relu_backward(ck_backend *be, const ck_tensor *y, const ck_tensor *dy, ck_tensor *dx)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(y);
    if (n == 0)
        return 0;
    k_relu_back<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>((const float *)y->data, (const float *)dy->data,
                                                                    (float *)dx->data, n);
    CK_LAUNCHED("relu_backward");
    return 0;
}

/* ---- rounding to bf16 ------------------------------------------------------
 * The bit rule of ck_f32_to_bf16 (ck/dtype.h) rather than
 * __float2bfloat16_rn, which turns every NaN into the canonical 0x7fff: the
 * same bits as the CPU backend, NaN payloads included. */

__global__ void k_round_bf16(const float *x, float *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        unsigned u = __float_as_uint(x[i]);
        if ((u & 0x7fffffffu) > 0x7f800000u)
            u |= 0x400000u; /* NaN: quiet, payload's top bits kept */
        else
            u += 0x7fffu + ((u >> 16) & 1u);
        y[i] = __uint_as_float(u & 0xffff0000u);
    }
}

int ck_cuda_round_bf16(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(x);
    if (n == 0)
        return 0;
    k_round_bf16<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>((const float *)x->data, (float *)y->data, n);
    CK_LAUNCHED("round_bf16");
    return 0;
}

/* ---- 2×2 max pooling --------------------------------------------------------
 * Our own kernels rather than cudnnPooling*: the window scan order
 * (0,0),(0,1),(1,0),(1,1) with a strict '>' sends the gradient to the first
 * maximal element exactly like the CPU backend and PyTorch, ties included
 * (after ReLU, all-zero windows are common), and NHWC needs no descriptors. */

template <typename T>
__global__ void k_maxpool2(const T *x, T *y, int n, int h, int w, int c)
{
    int ho = h / 2, wo = w / 2;
    size_t total = (size_t)n * ho * wo * c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)(i % c);
        size_t p = i / c;
        int ox = (int)(p % wo);
        p /= wo;
        int oy = (int)(p % ho);
        size_t b = p / ho;
        const T *base = x + (((b * h + 2 * oy) * w + 2 * ox) * c + ch);
        size_t row = (size_t)w * c;
        /* Compared as floats, stored as found: exact in any dtype. */
        T m = base[0];
        m = (float)base[c] > (float)m ? base[c] : m;
        m = (float)base[row] > (float)m ? base[row] : m;
        m = (float)base[row + c] > (float)m ? base[row + c] : m;
        y[i] = m;
    }
}

__global__ void k_maxpool2_back(const float *x, const float *dy, float *dx, int n, int h, int w, int c)
{
    int ho = h / 2, wo = w / 2;
    size_t total = (size_t)n * ho * wo * c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)(i % c);
        size_t p = i / c;
        int ox = (int)(p % wo);
        p /= wo;
        int oy = (int)(p % ho);
        size_t b = p / ho;
        size_t off = ((b * h + 2 * oy) * w + 2 * ox) * c + ch;
        size_t row = (size_t)w * c;
        size_t idx[4] = {off, off + c, off + row, off + row + c};
        int best = 0;
        float m = x[idx[0]];
        for (int k = 1; k < 4; k++)
            if (x[idx[k]] > m) {
                m = x[idx[k]];
                best = k;
            }
        /* Every input element belongs to exactly one window: write all
         * four so dx needs no separate clearing. */
        for (int k = 0; k < 4; k++)
            dx[idx[k]] = k == best ? dy[i] : 0.0f;
    }
}

int ck_cuda_maxpool2_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(y);
    if (n == 0)
        return 0;
    if (x->dtype == CK_BF16)
        k_maxpool2<__nv_bfloat16><<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>(
            (const __nv_bfloat16 *)x->data, (__nv_bfloat16 *)y->data, x->shape[0], x->shape[1], x->shape[2],
            x->shape[3]);
    else
        k_maxpool2<float><<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>(
            (const float *)x->data, (float *)y->data, x->shape[0], x->shape[1], x->shape[2], x->shape[3]);
    CK_LAUNCHED("maxpool2");
    return 0;
}

int ck_cuda_maxpool2_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *y, const ck_tensor *dy,
                              ck_tensor *dx)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(y);
    if (n == 0)
        return 0;
    k_maxpool2_back<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>(
        (const float *)x->data, (const float *)dy->data, (float *)dx->data, x->shape[0], x->shape[1], x->shape[2],
        x->shape[3]);
    CK_LAUNCHED("maxpool2_backward");
    return 0;
}

/* ---- general max pooling -----------------------------------------------
 * k×k windows, stride and padding that never wins; the same first-maximum
 * rule as above. Backward gathers: one thread per input element sums, in
 * window order, the gradients of the windows whose first maximum it is, so
 * there are no atomics and the sums match the CPU's bit for bit. */

__device__ __forceinline__ void pool_clip(int o0, int k, int n, int *lo, int *hi)
{
    *lo = o0 < 0 ? -o0 : 0;
    *hi = o0 + k > n ? n - o0 : k;
}

__global__ void k_maxpool(const float *x, float *y, int n, int h, int w, int c, int ho, int wo, int k, int s, int pad)
{
    size_t total = (size_t)n * ho * wo * c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)(i % c);
        size_t p = i / c;
        int ox = (int)(p % wo);
        p /= wo;
        int oy = (int)(p % ho);
        size_t b = p / ho;
        int y0 = oy * s - pad, x0 = ox * s - pad, ylo, yhi, xlo, xhi;
        pool_clip(y0, k, h, &ylo, &yhi);
        pool_clip(x0, k, w, &xlo, &xhi);
        float m = 0.0f;
        int first = 1;
        for (int ky = ylo; ky < yhi; ky++)
            for (int kx = xlo; kx < xhi; kx++) {
                float v = x[((b * h + y0 + ky) * w + x0 + kx) * c + ch];
                if (first || v > m)
                    m = v;
                first = 0;
            }
        y[i] = m;
    }
}

__global__ void k_maxpool_back(const float *x, const float *y, const float *dy, float *dx, int n, int h, int w, int c,
                               int ho, int wo, int k, int s, int pad)
{
    size_t total = (size_t)n * h * w * c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)(i % c);
        size_t p = i / c;
        int ix = (int)(p % w);
        p /= w;
        int iy = (int)(p % h);
        size_t b = p / h;
        /* Windows covering (iy, ix): oy·s - pad <= iy < oy·s - pad + k. */
        int oy0 = iy + pad - k + 1 > 0 ? (iy + pad - k + 1 + s - 1) / s : 0;
        int oy1 = (iy + pad) / s < ho - 1 ? (iy + pad) / s : ho - 1;
        int ox0 = ix + pad - k + 1 > 0 ? (ix + pad - k + 1 + s - 1) / s : 0;
        int ox1 = (ix + pad) / s < wo - 1 ? (ix + pad) / s : wo - 1;
        float acc = 0.0f;
        for (int oy = oy0; oy <= oy1; oy++)
            for (int ox = ox0; ox <= ox1; ox++) {
                size_t o = ((b * ho + oy) * wo + ox) * c + ch;
                float m = y[o];
                int y0 = oy * s - pad, x0 = ox * s - pad, ylo, yhi, xlo, xhi;
                pool_clip(y0, k, h, &ylo, &yhi);
                pool_clip(x0, k, w, &xlo, &xhi);
                int fy = -1, fx = -1;
                for (int ky = ylo; ky < yhi && fy < 0; ky++)
                    for (int kx = xlo; kx < xhi; kx++)
                        if (x[((b * h + y0 + ky) * w + x0 + kx) * c + ch] == m) {
                            fy = y0 + ky, fx = x0 + kx;
                            break;
                        }
                if (fy == iy && fx == ix)
                    acc += dy[o];
            }
        dx[i] = acc;
    }
}

int ck_cuda_maxpool_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y, int k, int stride, int pad)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(y);
    if (n == 0)
        return 0;
    k_maxpool<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>(
        (const float *)x->data, (float *)y->data, x->shape[0], x->shape[1], x->shape[2], x->shape[3], y->shape[1],
        y->shape[2], k, stride, pad);
    CK_LAUNCHED("maxpool");
    return 0;
}

int ck_cuda_maxpool_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *y, const ck_tensor *dy,
                             ck_tensor *dx, int k, int stride, int pad)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(x);
    if (n == 0)
        return 0;
    k_maxpool_back<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>(
        (const float *)x->data, (const float *)y->data, (const float *)dy->data, (float *)dx->data, x->shape[0],
        x->shape[1], x->shape[2], x->shape[3], y->shape[1], y->shape[2], k, stride, pad);
    CK_LAUNCHED("maxpool_backward");
    return 0;
}

/* ---- global average pooling -------------------------------------------- */

__global__ void k_avgpool(const float *x, float *y, int n, int hw, int c)
{
    size_t total = (size_t)n * c;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        size_t b = i / c;
        int ch = (int)(i % c);
        const float *p = x + b * hw * c + ch;
        float s = 0.0f;
        for (int k = 0; k < hw; k++)
            s += p[(size_t)k * c];
        y[i] = s / (float)hw;
    }
}

__global__ void k_avgpool_back(const float *dy, float *dx, int n, int hw, int c)
{
    size_t total = (size_t)n * hw * c;
    float inv = 1.0f / (float)hw;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
        int ch = (int)(i % c);
        size_t b = i / ((size_t)hw * c);
        dx[i] = dy[b * c + ch] * inv;
    }
}

int ck_cuda_avgpool_global_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y)
{
    CK_ON_DEVICE(be);
    int n = x->shape[0], hw = x->shape[1] * x->shape[2], c = x->shape[3];
    if ((size_t)n * c == 0)
        return 0;
    k_avgpool<<<ck_cu_blocks((size_t)n * c, TPB), TPB, 0, ck_cu(be)->stream>>>((const float *)x->data,
                                                                              (float *)y->data, n, hw, c);
    CK_LAUNCHED("avgpool_global");
    return 0;
}

int ck_cuda_avgpool_global_backward(ck_backend *be, const ck_tensor *dy, ck_tensor *dx)
{
    CK_ON_DEVICE(be);
    int n = dx->shape[0], hw = dx->shape[1] * dx->shape[2], c = dx->shape[3];
    size_t total = (size_t)n * hw * c;
    if (total == 0)
        return 0;
    k_avgpool_back<<<ck_cu_blocks(total, TPB), TPB, 0, ck_cu(be)->stream>>>((const float *)dy->data,
                                                                           (float *)dx->data, n, hw, c);
    CK_LAUNCHED("avgpool_global_backward");
    return 0;
}

/* ---- input preprocessing ---------------------------------------------- */

__global__ void k_preprocess(const uint8_t *rgb, float *out, size_t pixels, ck_preprocess_spec p)
{
    const int s0 = p.bgr ? 2 : 0, s2 = 2 - s0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < pixels; i += (size_t)gridDim.x * blockDim.x) {
        const uint8_t *q = rgb + 3 * i;
        float *o = out + 3 * i;
        /* __fmul_rn/__fsub_rn: no FMA contraction, the CPU's exact bits */
        o[0] = __fmul_rn(__fsub_rn((float)q[s0], p.mean[0]), p.scale[0]);
        o[1] = __fmul_rn(__fsub_rn((float)q[1], p.mean[1]), p.scale[1]);
        o[2] = __fmul_rn(__fsub_rn((float)q[s2], p.mean[2]), p.scale[2]);
    }
}

int ck_cuda_preprocess(ck_backend *be, const ck_tensor *rgb, const ck_preprocess_spec *p, ck_tensor *out)
{
    CK_ON_DEVICE(be);
    size_t pixels = ck_cu_numel(rgb) / 3;
    if (pixels == 0)
        return 0;
    k_preprocess<<<ck_cu_blocks(pixels, TPB), TPB, 0, ck_cu(be)->stream>>>((const uint8_t *)rgb->data,
                                                                         (float *)out->data, pixels, *p);
    CK_LAUNCHED("preprocess");
    return 0;
}

/* ---- add ------------------------------------------------------------------ */

__global__ void k_add(const float *a, const float *b, float *y, size_t n, int relu)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float v = __fadd_rn(a[i], b[i]);
        y[i] = relu && !(v > 0.0f) ? 0.0f : v; /* the CPU's test: -0 and NaN give +0 */
    }
}

int ck_cuda_add_forward(ck_backend *be, const ck_tensor *a, const ck_tensor *b, ck_tensor *y, int relu)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(a);
    if (n == 0)
        return 0;
    k_add<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>((const float *)a->data, (const float *)b->data,
                                                             (float *)y->data, n, relu);
    CK_LAUNCHED("add");
    return 0;
}

/* ---- scale, axpy, sum of squares ---------------------------------------- */

__global__ void k_scale(float *t, size_t n, float a)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        t[i] *= a;
}

__global__ void k_axpy(float a, const float *x, float *y, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] += a * x[i];
}

int ck_cuda_scale(ck_backend *be, ck_tensor *t, float a)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(t);
    if (n == 0)
        return 0;
    k_scale<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>((float *)t->data, n, a);
    CK_LAUNCHED("scale");
    return 0;
}

int ck_cuda_axpy(ck_backend *be, float a, const ck_tensor *x, ck_tensor *y)
{
    CK_ON_DEVICE(be);
    size_t n = ck_cu_numel(x);
    if (n == 0)
        return 0;
    k_axpy<<<ck_cu_blocks(n, TPB), TPB, 0, ck_cu(be)->stream>>>(a, (const float *)x->data, (float *)y->data, n);
    CK_LAUNCHED("axpy");
    return 0;
}

/* Fixed grid: each block writes one partial double, the host adds them in
 * order, so the result does not depend on scheduling. NaN/inf propagate. */
#define SSQ_BLOCKS 256
template <typename T> __global__ void k_sum_squares(const T *x, size_t n, double *partial)
{
    __shared__ double acc[TPB];
    double s = 0.0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        double v = ld<T>(x, i);
        s += v * v;
    }
    acc[threadIdx.x] = s;
    __syncthreads();
    for (int k = TPB / 2; k > 0; k /= 2) {
        if ((int)threadIdx.x < k)
            acc[threadIdx.x] += acc[threadIdx.x + k];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        partial[blockIdx.x] = acc[0];
}

int ck_cuda_sum_squares(ck_backend *be, const ck_tensor *t, double *out)
{
    CK_ON_DEVICE(be);
    ck_cuda *c = ck_cu(be);
    size_t n = ck_cu_numel(t);
    double *partial = (double *)ck_cu_scratch(be, CK_CU_PARTIAL, SSQ_BLOCKS * sizeof(double));
    if (!partial)
        return -1;
    switch (t->dtype) {
    case CK_F32: k_sum_squares<float><<<SSQ_BLOCKS, TPB, 0, c->stream>>>((const float *)t->data, n, partial); break;
    case CK_BF16:
        k_sum_squares<__nv_bfloat16><<<SSQ_BLOCKS, TPB, 0, c->stream>>>((const __nv_bfloat16 *)t->data, n, partial);
        break;
    case CK_F16: k_sum_squares<__half><<<SSQ_BLOCKS, TPB, 0, c->stream>>>((const __half *)t->data, n, partial); break;
    default: ck_error("cuda", "sum_squares: unsupported dtype %s", ck_dtype_name(t->dtype)); return -1;
    }
    CK_LAUNCHED("sum_squares");
    double host[SSQ_BLOCKS];
    if (be->ops->download(be, host, partial, sizeof host) != 0)
        return -1;
    double s = 0.0;
    for (int i = 0; i < SSQ_BLOCKS; i++)
        s += host[i];
    *out = s;
    return 0;
}
