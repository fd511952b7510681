/* 3×3 'same' convolutions on the CPU: im2col + one GEMM per chunk.
 *
 * NHWC makes im2col cheap: the 9·Ci values of an output pixel are 9 runs of
 * Ci contiguous floats (3 runs of 3·Ci away from the border), ordered
 * (ky, kx, ci) like the rows of an HWIO kernel, so the convolution of a
 * chunk of pixels is col [pixels, 9·Ci] × W [9·Ci, Co]. Chunks bound the
 * col buffer (a scratch buffer reused across calls) to CONV_COL_BYTES.
 *
 * Backward data is itself a 'same' convolution of dy with the kernel
 * flipped in space and transposed (W'[ky,kx,co,ci] = W[2-ky,2-kx,ci,co]),
 * so it reuses the forward path: no col2im scatter, which would need
 * atomics or per-thread copies to parallelise.
 * Backward filter: dW [9·Ci, Co] += colᵀ × dy, chunk by chunk.
 */
#include "cpu_kernels.h"
#include "ck/dtype.h"

#include <omp.h>
#include <string.h>

#define CONV_COL_BYTES ((size_t)32 << 20)

typedef struct conv_geom {
    int n, h, w, ci; /* input */
    int k, s, p;     /* window, stride, padding */
    int ho, wo, co;  /* output */
} conv_geom;


/* Rows p0..p1-1 (flattened n,y,x pixels) of the im2col matrix of x. */
static void im2col(int threads, const float *x, int h, int w, int c, long p0, long p1, float *col)
{
    const long K = 9L * c;
    const size_t run = (size_t)c * sizeof(float);
#pragma omp parallel for num_threads(threads) if (threads > 1 && (p1 - p0) * K > CK_CPU_PAR_MIN) schedule(static)
    for (long p = p0; p < p1; p++) {
        long img = p / ((long)h * w);
        int rem = (int)(p - img * h * w);
        int yy = rem / w, xx = rem % w;
        float *dst = col + (p - p0) * K;
        const float *base = x + img * (long)h * w * c;
        for (int ky = 0; ky < 3; ky++) {
            int sy = yy + ky - 1;
            float *d = dst + ky * 3 * c;
            if (sy < 0 || sy >= h) {
                memset(d, 0, 3 * run);
                continue;
            }
            const float *row = base + (long)sy * w * c;
            if (xx >= 1 && xx + 1 < w) {
                memcpy(d, row + (long)(xx - 1) * c, 3 * run);
                continue;
            }
            for (int kx = 0; kx < 3; kx++) {
                int sx = xx + kx - 1;
                if (sx < 0 || sx >= w)
                    memset(d + kx * c, 0, run);
                else
                    memcpy(d + kx * c, row + (long)sx * c, run);
            }
        }
    }
}

/* Rows of a col chunk for the passes that walk the chunks in order (the
 * backward ones): the col buffer bounded to CONV_COL_BYTES. */
static long chunk_rows(long m, long k)
{
    long rows = (long)(CONV_COL_BYTES / ((size_t)k * sizeof(float)));
    if (rows < 16)
        rows = 16;
    return rows < m ? rows : m;
}

/* ReLU on rows of `cols` values, `ld` apart. */
static void relu_rows(float *y, long rows, long cols, long ld)
{
    for (long r = 0; r < rows; r++) {
        float *v = y + r * ld;
        for (long j = 0; j < cols; j++)
            v[j] = v[j] > 0.0f ? v[j] : 0.0f;
    }
}

/* CK_CONV_AUTO: Winograd where it beat im2col + GEMM on a 2-core Zen 3
 * (bench/vgg16/bench-conv, docs/performance.md): not for Ci < 16 (the
 * GEMMs' K = Ci is too short to run well; VGG16's first layer), nor for
 * images under 4 pixels a side (a 6×6 tile then yields 2×2 outputs: as many
 * multiplies as direct, plus the transforms; block5 of 32-pixel inputs),
 * nor for fewer than 16 tiles in all (36 GEMMs of a few rows each). */
static int auto_winograd(int n, int h, int w, int ci)
{
    long tiles = (long)n * ((h + 3) / 4) * ((w + 3) / 4);
    return ci >= 16 && h >= 4 && w >= 4 && tiles >= 16;
}

/* Winograd with the kernel's transform kept in the backend's cache, so
 * frozen layers transform once per process. */
static int winograd_cached(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const float *bias,
                           ck_tensor *y, int relu)
{
    const int n = x->shape[0], h = x->shape[1], wd = x->shape[2], ci = x->shape[3];
    const int co = y->shape[3];
    if (n <= 0 || h <= 0 || wd <= 0 || ci <= 0 || co <= 0)
        return 1;
    int fresh;
    size_t ub = sizeof(float) * 36 * (size_t)ci * co;
    float *u = ck_cpu_cache_get(be, w, CK_CPU_CACHE_WINOGRAD, ub, &fresh);
    if (!u) /* over the cache's budget: transform into scratch */
        return ck_cpu_conv3x3_winograd(be, x->data, n, h, wd, ci, w->data, bias, co, y->data, relu);
    if (fresh)
        ck_cpu_winograd_weights(be, w->data, ci, co, u);
    return ck_cpu_conv3x3_winograd_u(be, x->data, n, h, wd, ci, u, bias, co, y->data, relu);
}

/* bf16 activations: widen x into scratch slot 4, compute in f32 into slot
 * 5, round y to bf16 (the backend's dtype-converting copy). The CPU twin
 * of a GPU's bf16 activations; the model does not ask for them on the CPU
 * (no bf16_act). */
static int conv_forward_bf16_act(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,
                                 ck_tensor *y, int relu, ck_conv_algo algo)
{
    ck_tensor xf = *x, yf = *y;
    xf.dtype = yf.dtype = CK_F32;
    if (x->dtype == CK_BF16 && (!(xf.data = ck_cpu_scratch(be, 4, ck_tensor_numel(x) * sizeof(float)))
                                || be->ops->copy(be, &xf, x)))
        return -1;
    if (y->dtype == CK_BF16 && !(yf.data = ck_cpu_scratch(be, 5, ck_tensor_numel(y) * sizeof(float))))
        return -1;
    if (ck_cpu_conv3x3_forward(be, &xf, w, b, &yf, relu, algo))
        return -1;
    return y->dtype == CK_BF16 ? be->ops->copy(be, y, &yf) : 0;
}

int ck_cpu_conv3x3_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                           const ck_tensor *b, ck_tensor *y, int relu, ck_conv_algo algo)
{
    if (x->dtype == CK_BF16 || y->dtype == CK_BF16)
        return conv_forward_bf16_act(be, x, w, b, y, relu, algo);
    const int n = x->shape[0], h = x->shape[1], wd = x->shape[2], ci = x->shape[3];
    const int co = y->shape[3];
    const float *bias = b ? b->data : NULL;
    int r;
    if (algo == CK_CONV_BF16 || w->dtype == CK_BF16) {
        r = ck_cpu_conv3x3_bf16_cached(be, x, w, bias, y, relu);
        if (r <= 0)
            return r;
    } else if (algo == CK_CONV_WINOGRAD || (algo == CK_CONV_AUTO && auto_winograd(n, h, wd, ci))) {
        r = winograd_cached(be, x, w, bias, y, relu);
        if (r <= 0)
            return r;
    }
    /* fp32 reference path (also the fall-back when a fast kernel declines). */
    const float *wt = w->data;
    if (w->dtype == CK_BF16) {
        size_t nw = 9 * (size_t)ci * co;
        float *wf = ck_cpu_scratch(be, 1, nw * sizeof(float));
        if (!wf)
            return -1;
        const uint16_t *wb = w->data;
        for (size_t i = 0; i < nw; i++)
            wf[i] = ck_bf16_to_f32(wb[i]);
        wt = wf;
    }
    return ck_cpu_conv3x3_fp32(be, x->data, n, h, wd, ci, wt, bias, co, y->data, relu);
}

int ck_cpu_conv3x3_backward_data(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx)
{
    const int n = dy->shape[0], h = dy->shape[1], wd = dy->shape[2], co = dy->shape[3];
    const int ci = dx->shape[3];
    /* W'[ky,kx,co,ci] = W[2-ky,2-kx,ci,co] */
    float *wf = ck_cpu_scratch(be, 1, 9 * (size_t)ci * co * sizeof(float));
    if (!wf)
        return -1;
    const float *src = w->data;
    for (int t = 0; t < 9; t++) {
        const float *s = src + (size_t)(8 - t) * ci * co;
        float *d = wf + (size_t)t * co * ci;
        for (int i = 0; i < ci; i++)
            for (int o = 0; o < co; o++)
                d[(size_t)o * ci + i] = s[(size_t)i * co + o];
    }
    return ck_cpu_conv3x3_fp32(be, dy->data, n, h, wd, co, wf, NULL, ci, dx->data, 0);
}

/* ---- general convolutions (the graph backbones) ----------------------------
 *
 * Any square k×k kernel with stride s and symmetric zero padding p, F32.
 * The same im2col idea as above: the k·k·Ci values of an output pixel are
 * k runs of k·Ci contiguous floats (one per kernel row) away from the
 * border, in HWIO row order. A 1×1 stride-1 unpadded convolution needs no
 * im2col at all: NHWC x already is the [N·H·W, Ci] matrix. A strided 1×1
 * convolution's im2col is the gather of its strided pixels.
 * Backward data scatters dcol = dy·Wᵀ back (col2im); threads split the
 * channels, so every dx element is summed in one fixed order without
 * atomics. (The 3×3 'same' shape never gets here: ops.c sends it to the
 * conv3x3 kernels above, whose fp32 forward and backward-filter passes are
 * these general ones with the faster 3×3 im2col: wrappers at the end.) */

static conv_geom geom_of(const ck_tensor *x, const ck_tensor *wt, const ck_tensor *y, int stride, int pad)
{
    conv_geom g = {x->shape[0], x->shape[1], x->shape[2], x->shape[3], wt->shape[0], stride, pad,
                   y->shape[1], y->shape[2], y->shape[3]};
    return g;
}

static int direct_1x1(const conv_geom *g) { return g->k == 1 && g->s == 1 && g->p == 0; }

/* Rows p0..p1-1 (flattened n,oy,ox output pixels) of the im2col matrix. */
static void im2col_general(int threads, const float *x, const conv_geom *g, long p0, long p1, float *col)
{
    const int k = g->k, ci = g->ci;
    const long K = (long)k * k * ci;
    const size_t run = (size_t)ci * sizeof(float);
    const long plane = (long)g->ho * g->wo;
#pragma omp parallel for num_threads(threads) if (threads > 1 && (p1 - p0) * K > CK_CPU_PAR_MIN) schedule(static)
    for (long p = p0; p < p1; p++) {
        long img = p / plane;
        int rem = (int)(p - img * plane);
        int y0 = (rem / g->wo) * g->s - g->p, x0 = (rem % g->wo) * g->s - g->p;
        float *dst = col + (p - p0) * K;
        const float *base = x + img * (long)g->h * g->w * ci;
        for (int ky = 0; ky < k; ky++) {
            int sy = y0 + ky;
            float *d = dst + (long)ky * k * ci;
            if (sy < 0 || sy >= g->h) {
                memset(d, 0, (size_t)k * run);
                continue;
            }
            const float *row = base + (long)sy * g->w * ci;
            if (x0 >= 0 && x0 + k <= g->w) {
                memcpy(d, row + (long)x0 * ci, (size_t)k * run);
                continue;
            }
            for (int kx = 0; kx < k; kx++) {
                int sx = x0 + kx;
                if (sx < 0 || sx >= g->w)
                    memset(d + (long)kx * ci, 0, run);
                else
                    memcpy(d + (long)kx * ci, row + (long)sx * ci, run);
            }
        }
    }
}

/* The 3×3 'same' geometry has its own, faster im2col. */
static void im2col_any(int threads, const float *x, const conv_geom *g, long p0, long p1, float *col)
{
    if (g->k == 3 && g->s == 1 && g->p == 1 && g->ho == g->h && g->wo == g->w)
        im2col(threads, x, g->h, g->w, g->ci, p0, p1, col);
    else
        im2col_general(threads, x, g, p0, p1, col);
}

/* dx += the col2im of rows p0..p1-1 of dcol. Threads own blocks of 16
 * channels (a cache line) and walk all rows in order: windows overlap, so
 * splitting rows would race. */
static void col2im_add(int threads, const float *dcol, const conv_geom *g, long p0, long p1, float *dx)
{
    const int k = g->k, ci = g->ci;
    const long K = (long)k * k * ci;
    const long plane = (long)g->ho * g->wo;
    const int blocks = (ci + 15) / 16;
#pragma omp parallel for num_threads(threads) if (threads > 1 && blocks > 1 && (p1 - p0) * K > CK_CPU_PAR_MIN) \
    schedule(static)
    for (int bl = 0; bl < blocks; bl++) {
        const int c0 = bl * 16, c1 = c0 + 16 < ci ? c0 + 16 : ci;
        for (long p = p0; p < p1; p++) {
            long img = p / plane;
            int rem = (int)(p - img * plane);
            int y0 = (rem / g->wo) * g->s - g->p, x0 = (rem % g->wo) * g->s - g->p;
            const float *src = dcol + (p - p0) * K;
            float *base = dx + img * (long)g->h * g->w * ci;
            for (int ky = 0; ky < k; ky++) {
                int sy = y0 + ky;
                if (sy < 0 || sy >= g->h)
                    continue;
                for (int kx = 0; kx < k; kx++) {
                    int sx = x0 + kx;
                    if (sx < 0 || sx >= g->w)
                        continue;
                    float *d = base + ((long)sy * g->w + sx) * ci;
                    const float *s = src + ((long)ky * k + kx) * ci;
                    for (int c = c0; c < c1; c++)
                        d[c] += s[c];
                }
            }
        }
    }
}

/* C's starting value for the GEMM of a tile: the bias (plus the residual
 * rows), so the GEMM accumulates onto it (beta 1) and neither OpenBLAS's
 * C := 0 pass nor a separate bias or add pass runs. */
static void tile_init(float *o, long rows, long cols, long ld, const float *bias, const float *res)
{
    for (long i = 0; i < rows; i++) {
        float *v = o + i * ld;
        const float *q = res ? res + i * ld : NULL;
        if (bias && q)
            for (long j = 0; j < cols; j++)
                v[j] = bias[j] + q[j];
        else /* a loop, not memcpy: rows are short and a call each costs */
            for (long j = 0; j < cols; j++)
                v[j] = bias ? bias[j] : q[j];
    }
}

/* The forward pass of every im2col + GEMM convolution (3×3 'same' too):
 * each thread takes whole tiles of output pixels × output columns (the
 * tiles ck_cpu_sgemm would use, fixed by the shape), im2col (or, 1×1
 * stride 1, the input rows themselves), C := bias + residual, one
 * single-threaded GEMM onto it, ReLU while the tile is in cache. res (may
 * be NULL) has out's shape. */
static int gemm_conv_forward(ck_backend *be, const conv_geom *gp, const float *in, const float *wt,
                             const float *bias, const float *res, float *out, int relu)
{
    const conv_geom g = *gp;
    const long m = (long)g.n * g.ho * g.wo, k = (long)g.k * g.k * g.ci;
    if (m == 0 || g.co == 0)
        return 0;
    const int direct = direct_1x1(&g), nt = be->threads;
    const long chunk = ck_cpu_gemm_tile_rows(m, k > 0 ? k : 1);
    const long nchunks = (m + chunk - 1) / chunk;
    const long cb = ck_cpu_gemm_tile_cols(nchunks, g.co), ncb = (g.co + cb - 1) / cb, items = nchunks * ncb;
    const int used = items < nt ? (int)items : nt;
    float *col = NULL;
    if (!direct && k > 0 && !(col = ck_cpu_scratch(be, 0, (size_t)used * chunk * k * sizeof(float))))
        return -1;
#pragma omp parallel num_threads(used)
    {
        float *mine = direct || k == 0 ? NULL : col + (size_t)omp_get_thread_num() * chunk * k;
        long have = -1; /* the row chunk im2col'd into mine */
#pragma omp for schedule(dynamic, 1)
        for (long it = 0; it < items; it++) {
            const long c = it / ncb, j0 = it % ncb * cb, cols = g.co - j0 < cb ? g.co - j0 : cb;
            long p0 = c * chunk, rows = m - p0 < chunk ? m - p0 : chunk;
            const float *a = in + p0 * k;
            if (!direct && k > 0) {
                if (have != c)
                    im2col_any(1, in, &g, p0, p0 + rows, mine);
                have = c;
                a = mine;
            }
            float *o = out + p0 * g.co + j0;
            const int init = bias || res;
            if (init)
                tile_init(o, rows, cols, g.co, bias ? bias + j0 : NULL, res ? res + p0 * g.co + j0 : NULL);
            /* k = 0 (no input channels): C := 0 or the bias alone */
            ck_cpu_sgemm_serial(0, 0, rows, cols, k, 1.0f, a, k > 0 ? k : 1, wt + j0, g.co, init ? 1.0f : 0.0f, o,
                                g.co);
            if (relu)
                relu_rows(o, rows, cols, g.co);
        }
    }
    return 0;
}

int ck_cpu_conv_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,
                        const ck_tensor *r, ck_tensor *y, int stride, int pad, int relu)
{
    const conv_geom g = geom_of(x, w, y, stride, pad);
    return gemm_conv_forward(be, &g, x->data, w->data, b ? b->data : NULL, r ? r->data : NULL, y->data, relu);
}

int ck_cpu_conv_backward_data(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx, int stride,
                              int pad)
{
    const conv_geom g = geom_of(dx, w, dy, stride, pad);
    const long m = (long)g.n * g.ho * g.wo, k = (long)g.k * g.k * g.ci;
    float *d = dx->data;
    if (direct_1x1(&g)) { /* dx [N·H·W, Ci] = dy · Wᵀ */
        if (m > 0 && g.ci > 0)
            ck_cpu_sgemm(be, 0, 1, m, g.ci, g.co, 1.0f, dy->data, g.co, w->data, g.co, 0.0f, d, g.ci);
        return 0;
    }
    const long nx = (long)g.n * g.h * g.w * g.ci;
#pragma omp parallel for num_threads(be->threads) if (nx > CK_CPU_PAR_MIN) schedule(static)
    for (long i = 0; i < nx; i++)
        d[i] = 0.0f;
    if (m == 0 || k == 0)
        return 0;
    /* Chunks in order: dcol = dy·Wᵀ with the GEMM split over the threads,
     * then the scatter split over channels. */
    const long chunk = chunk_rows(m, k);
    float *dcol = ck_cpu_scratch(be, 0, (size_t)chunk * k * sizeof(float));
    if (!dcol)
        return -1;
    const float *gy = dy->data;
    for (long p0 = 0; p0 < m; p0 += chunk) {
        long rows = m - p0 < chunk ? m - p0 : chunk;
        ck_cpu_sgemm(be, 0, 1, rows, k, g.co, 1.0f, gy + p0 * g.co, g.co, w->data, g.co, 0.0f, dcol, k);
        col2im_add(be->threads, dcol, &g, p0, p0 + rows, d);
    }
    return 0;
}

/* dW = beta·dW + colᵀ·dy (db likewise from dy's column sums): chunks of
 * pixels in order, each im2col'ed by all threads and multiplied with the
 * GEMM split over dW's tiles, so every sum has one order at any thread
 * count and no per-thread dW copies need reducing. */
static int gemm_conv_backward_filter(ck_backend *be, const conv_geom *gp, const float *x, const float *gy,
                                     float *dwp, float *db, float beta)
{
    const conv_geom g = *gp;
    const long m = (long)g.n * g.ho * g.wo, k = (long)g.k * g.k * g.ci;
    if (m == 0 || k == 0) {
        ck_cpu_sgemm(be, 1, 0, k, g.co, 0, 1.0f, NULL, 1, NULL, 1, beta, dwp, g.co); /* beta·dW */
    } else if (direct_1x1(&g)) {
        /* dW [Ci, Co] = xᵀ · dy */
        ck_cpu_sgemm(be, 1, 0, k, g.co, m, 1.0f, x, k, gy, g.co, beta, dwp, g.co);
    } else {
        const long chunk = chunk_rows(m, k);
        float *col = ck_cpu_scratch(be, 0, (size_t)chunk * k * sizeof(float));
        if (!col)
            return -1;
        for (long p0 = 0; p0 < m; p0 += chunk) {
            long rows = m - p0 < chunk ? m - p0 : chunk;
            im2col_any(be->threads, x, &g, p0, p0 + rows, col);
            ck_cpu_sgemm(be, 1, 0, k, g.co, rows, 1.0f, col, k, gy + p0 * g.co, g.co, p0 == 0 ? beta : 1.0f, dwp,
                         g.co);
        }
    }
    if (db)
        ck_cpu_colsum(be, gy, m, g.co, beta, db);
    return 0;
}

int ck_cpu_conv_backward_filter(ck_backend *be, const ck_tensor *x, const ck_tensor *dy, ck_tensor *dw,
                                ck_tensor *db, int stride, int pad, float beta)
{
    const conv_geom g = geom_of(x, dw, dy, stride, pad);
    return gemm_conv_backward_filter(be, &g, x->data, dy->data, dw->data, db ? db->data : NULL, beta);
}

/* The 3×3 kernels' fp32 forward and backward filter: the general passes
 * above with the 3×3 geometry (im2col_any picks the faster 3×3 im2col). */
int ck_cpu_conv3x3_fp32(ck_backend *be, const float *x, int n, int h, int w, int ci,
                        const float *wt, const float *bias, int co, float *y, int relu)
{
    const conv_geom g = {n, h, w, ci, 3, 1, 1, h, w, co};
    return gemm_conv_forward(be, &g, x, wt, bias, NULL, y, relu);
}

int ck_cpu_conv3x3_backward_filter(ck_backend *be, const ck_tensor *x, const ck_tensor *dy,
                                   ck_tensor *dw, ck_tensor *db, float beta)
{
    const conv_geom g = geom_of(x, dw, dy, 1, 1);
    return gemm_conv_backward_filter(be, &g, x->data, dy->data, dw->data, db ? db->data : NULL, beta);
}
