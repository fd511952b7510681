/* conv_bf16.c — 3×3 'same' convolution with bf16 inputs and weights and
 * fp32 accumulation, for frozen layers (inference only).
 *
 * Why: AVX-512 BF16 (vdpbf16ps) does two multiply-adds per fp32 lane, so a
 * bf16 convolution has twice the fp32 peak and reads half the bytes. The
 * price is bf16 rounding of activations and weights (8-bit mantissa):
 * about 1e-2 relative error per layer, fine for frozen feature extractors,
 * not for training (backward stays fp32).
 *
 * The batch is converted once to zero-padded bf16 copies, so the kernels
 * need no border tests and no im2col buffer: an output pixel's 9 taps are
 * read straight from the padded image (implicit GEMM). Work is split over
 * (output-channel block, image, row) triples (AMX: blocks of 32 positions);
 * a block's packed weights (9·ci·32 bf16, at most 288 KiB) stay in L2
 * while a thread walks its rows.
 *
 * Kernels (conv_bf16.h): AMX-BF16 where the CPU has it and the kernel
 * grants the tile state (arch_prctl), else AVX-512 BF16; other CPUs
 * decline (return 1) and the caller uses the fp32 path. The AMX kernel
 * walks the whole batch as one implicit GEMM (conv_bf16_amx_kernel.h).
 * Packed weights are derived once per weight tensor (the backend's cache)
 * when called through ck_cpu_conv3x3_bf16_cached. The plain-C twins
 * (portable, AMX on the tile emulator) are chosen by tests only.
 */
#include <pthread.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "ck/error.h"
#include "conv_bf16.h"
#include "cpu_internal.h"
#include "ck/dtype.h"

static ck_bf16_kernel bf16_forced = CK_BF16_NONE;

ck_bf16_kernel ck_cpu_bf16_use(ck_bf16_kernel k)
{
    ck_bf16_kernel old = bf16_forced;
    bf16_forced = k;
    return old;
}

const char *ck_cpu_bf16_kernel_name(ck_bf16_kernel k)
{
    switch (k) {
    case CK_BF16_PORTABLE: return "portable";
    case CK_BF16_AMX_EMU: return "amx-emulated";
    case CK_BF16_AVX512: return "avx512bf16";
    case CK_BF16_AMX: return "amx";
    default: return "none";
    }
}

static int avx512bf16_cpu(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static int amx_ok;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

/* CPUID.(7,0):EDX bit 22 AMX-BF16, bit 24 AMX-TILE; then Linux must give
 * this process the tile data state (off by default: it makes signal
 * frames 8 KiB larger). Asked once; a refusal leaves AVX-512. */
static void amx_probe(void)
{
#if defined(__x86_64__) && defined(__GNUC__) && defined(SYS_arch_prctl)
    unsigned a, b, c, d;
    if (!ck_bf16_amx_built() || !__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d >> 22 & 1) ||
        !(d >> 24 & 1))
        return;
    amx_ok = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#endif
}

int ck_cpu_bf16_can_run(ck_bf16_kernel k)
{
    switch (k) {
    case CK_BF16_PORTABLE:
    case CK_BF16_AMX_EMU: return 1;
    case CK_BF16_AVX512: return avx512bf16_cpu();
    case CK_BF16_AMX: pthread_once(&amx_once, amx_probe); return amx_ok;
    default: return 0;
    }
}

ck_bf16_kernel ck_cpu_bf16_best(void)
{
    if (ck_cpu_bf16_can_run(CK_BF16_AMX))
        return CK_BF16_AMX;
    return ck_cpu_bf16_can_run(CK_BF16_AVX512) ? CK_BF16_AVX512 : CK_BF16_NONE;
}

static int is_amx(ck_bf16_kernel k)
{
    return k == CK_BF16_AMX || k == CK_BF16_AMX_EMU;
}

/* Channels per tile row (AMX) and padded channels, per kernel family. */
static int amx_kc(int ci)
{
    return ci >= 32 ? 32 : (ci + 1) & ~1;
}

static int padded_ci(ck_bf16_kernel k, int ci)
{
    if (!is_amx(k))
        return (ci + 1) & ~1;
    int kc = amx_kc(ci);
    return (ci + kc - 1) / kc * kc;
}

static size_t packed_count(ck_bf16_kernel k, int ci, int co)
{
    const size_t ncob = (size_t)(co + CK_BF16_COB - 1) / CK_BF16_COB;
    return ncob * 9 * (size_t)padded_ci(k, ci) * CK_BF16_COB;
}

static uint16_t weight(const void *wt, ck_dtype dt, int ci, int co, int tap, int i, int o)
{
    if (i >= ci || o >= co)
        return 0;
    size_t at = ((size_t)tap * ci + i) * co + o;
    return dt == CK_BF16 ? ((const uint16_t *)wt)[at] : ck_f32_to_bf16(((const float *)wt)[at]);
}

/* Weights into the AMX layout (conv_bf16.h). */
static void pack_weights_amx(ck_backend *be, const void *wt, ck_dtype dt, int ci, int co, uint16_t *wp)
{
    const int kc = amx_kc(ci), cip = padded_ci(CK_BF16_AMX, ci), nk = cip / kc;
    const int ncob16 = 2 * ((co + CK_BF16_COB - 1) / CK_BF16_COB);
    const size_t btile = (size_t)kc / 2 * 32;
#pragma omp parallel for collapse(2) num_threads(be->threads) schedule(static)
    for (int cb = 0; cb < ncob16; cb++)
        for (int tap = 0; tap < 9; tap++)
            for (int kb = 0; kb < nk; kb++) {
                uint16_t *dst = wp + (((size_t)cb * 9 + tap) * nk + kb) * btile;
                for (int p = 0; p < kc / 2; p++)
                    for (int j = 0; j < 16; j++)
                        for (int e = 0; e < 2; e++)
                            dst[p * 32 + j * 2 + e] = weight(wt, dt, ci, co, tap, kb * kc + 2 * p + e, cb * 16 + j);
            }
}

/* Weights (f32 or bf16, HWIO) into the AVX-512 layout (conv_bf16.h). */
static void pack_weights(ck_backend *be, const void *wt, ck_dtype dt, int ci, int co, uint16_t *wp)
{
    const int ncob = (co + CK_BF16_COB - 1) / CK_BF16_COB, cip = (ci + 1) & ~1;
#pragma omp parallel for collapse(2) num_threads(be->threads) schedule(static)
    for (int cob = 0; cob < ncob; cob++)
        for (int tap = 0; tap < 9; tap++) {
            uint16_t *dst = wp + ((size_t)cob * 9 + tap) * (size_t)cip * CK_BF16_COB;
            for (int c2 = 0; c2 < cip / 2; c2++)
                for (int half = 0; half < 2; half++)
                    for (int j = 0; j < 16; j++)
                        for (int e = 0; e < 2; e++)
                            dst[c2 * 64 + half * 32 + j * 2 + e] =
                                weight(wt, dt, ci, co, tap, 2 * c2 + e, cob * CK_BF16_COB + half * 16 + j);
        }
}

/* x[0..n) to bf16, rounded to nearest even: with vcvtneps2bf16 when vec
 * (the native kernels; it also flushes denormals, which vdpbf16ps and
 * tdpbf16ps would read as zero anyway), else ck_f32_to_bf16. */
static void to_bf16(uint16_t *d, const float *x, int n, int vec)
{
    if (vec) {
        ck_bf16_from_f32_avx512(d, x, n);
        return;
    }
    for (int c = 0; c < n; c++)
        d[c] = ck_f32_to_bf16(x[c]);
}

/* n images (x [n][h][w][ci] f32) into zero-padded bf16 copies, back to
 * back: [n][h+2][w+2][cip]. */
static void pad_images(ck_backend *be, const float *x, int n, int h, int w, int ci, int cip, int vec,
                       uint16_t *xp)
{
    const size_t prow = (size_t)(w + 2) * cip, plane = (size_t)(h + 2) * prow;
#pragma omp parallel for collapse(2) num_threads(be->threads) schedule(static)
    for (int img = 0; img < n; img++)
        for (int r = 0; r < h + 2; r++) {
            uint16_t *d = xp + img * plane + (size_t)r * prow;
            if (r == 0 || r == h + 1) {
                memset(d, 0, prow * sizeof(uint16_t));
                continue;
            }
            const float *s = x + ((size_t)img * h + r - 1) * w * ci;
            memset(d, 0, cip * sizeof(uint16_t));
            memset(d + (size_t)(w + 1) * cip, 0, cip * sizeof(uint16_t));
            if (cip == ci) {
                to_bf16(d + cip, s, w * ci, vec);
                continue;
            }
            for (int px = 0; px < w; px++) {
                uint16_t *dp = d + (size_t)(px + 1) * cip;
                to_bf16(dp, s + (size_t)px * ci, ci, vec);
                memset(dp + ci, 0, (size_t)(cip - ci) * sizeof(uint16_t));
            }
        }
}

void ck_bf16_conv_row_portable(const ck_bf16_conv *c, int row, int cob)
{
    const int o0 = cob * CK_BF16_COB;
    const int on = c->co - o0 < CK_BF16_COB ? c->co - o0 : CK_BF16_COB;
    const uint16_t *wb = c->wp + (size_t)cob * 9 * c->cip * CK_BF16_COB;
    for (int px = 0; px < c->w; px++) {
        float acc[CK_BF16_COB] = {0};
        for (int tap = 0; tap < 9; tap++) {
            const uint16_t *xs = c->xp + ((size_t)(row + tap / 3) * (c->w + 2) + px + tap % 3) * c->cip;
            const uint16_t *ws = wb + (size_t)tap * c->cip * CK_BF16_COB;
            for (int c2 = 0; c2 < c->cip / 2; c2++) {
                float a0 = ck_bf16_to_f32(xs[2 * c2]), a1 = ck_bf16_to_f32(xs[2 * c2 + 1]);
                const uint16_t *wk = ws + c2 * 64;
                for (int o = 0; o < CK_BF16_COB; o++)
                    acc[o] += a0 * ck_bf16_to_f32(wk[2 * o]) + a1 * ck_bf16_to_f32(wk[2 * o + 1]);
            }
        }
        float *dst = c->y + ((size_t)row * c->w + px) * c->co + o0;
        for (int o = 0; o < on; o++) {
            float v = acc[o] + (c->bias ? c->bias[o0 + o] : 0.0f);
            dst[o] = c->relu && v < 0.0f ? 0.0f : v;
        }
    }
}

static ck_bf16_kernel chosen_kernel(void)
{
    if (bf16_forced == CK_BF16_NONE)
        return ck_cpu_bf16_best();
    return ck_cpu_bf16_can_run(bf16_forced) ? bf16_forced : CK_BF16_NONE;
}

static void pack(ck_backend *be, ck_bf16_kernel k, const void *wt, ck_dtype dt, int ci, int co, uint16_t *wp)
{
    if (is_amx(k))
        pack_weights_amx(be, wt, dt, ci, co, wp);
    else
        pack_weights(be, wt, dt, ci, co, wp);
}

/* The whole batch as one implicit GEMM over the padded positions. */
static int run_amx(ck_backend *be, ck_bf16_kernel k, const float *x, int n, int h, int w, int ci,
                   const uint16_t *wp, const float *bias, int co, float *y, int relu)
{
    const int kc = amx_kc(ci), cip = padded_ci(k, ci);
    const long pw = w + 2, plane = (long)(h + 2) * pw;
    uint16_t *xp = ck_cpu_scratch(be, 3, ((size_t)n * plane + CK_AMX_SLACK) * cip * sizeof(uint16_t));
    if (!xp)
        return -1;
    pad_images(be, x, n, h, w, ci, cip, k == CK_BF16_AMX && ck_cpu_bf16_can_run(CK_BF16_AVX512), xp);
    memset(xp + (size_t)n * plane * cip, 0, (size_t)CK_AMX_SLACK * cip * sizeof(uint16_t));
    /* positions up to the last real pixel; blocks may run into the slack */
    const long nq = ((long)(n - 1) * plane + (long)(h - 1) * pw + w + CK_AMX_Q - 1) / CK_AMX_Q;
    const int ncob = (co + CK_BF16_COB - 1) / CK_BF16_COB;
    const int emu = k == CK_BF16_AMX_EMU;
    ck_bf16_amx cv = {xp, wp, bias, y, n, h, w, cip, kc, co, relu};
#pragma omp parallel num_threads(be->threads)
    {
        emu ? ck_bf16_amx_begin_amx_emu(kc) : ck_bf16_amx_begin_amx(kc);
#pragma omp for collapse(2) schedule(static)
        for (int cob = 0; cob < ncob; cob++)
            for (long qb = 0; qb < nq; qb++) {
                if (emu)
                    ck_bf16_amx_block_amx_emu(&cv, qb * CK_AMX_Q, cob);
                else
                    ck_bf16_amx_block_amx(&cv, qb * CK_AMX_Q, cob);
            }
        emu ? ck_bf16_amx_end_amx_emu() : ck_bf16_amx_end_amx();
    }
    if (emu && ck_bf16_amx_emu_faults()) {
        ck_error("cpu", "AMX tile emulator: a tile operation the hardware would refuse");
        return -1;
    }
    return 0;
}

static int run(ck_backend *be, ck_bf16_kernel k, const float *x, int n, int h, int w, int ci,
               const uint16_t *wp, const float *bias, int co, float *y, int relu)
{
    if (is_amx(k))
        return run_amx(be, k, x, n, h, w, ci, wp, bias, co, y, relu);
    const int cip = padded_ci(k, ci);
    const int ncob = (co + CK_BF16_COB - 1) / CK_BF16_COB;
    const size_t plane = (size_t)(h + 2) * (w + 2) * cip, img_out = (size_t)h * w * co;
    uint16_t *xp = ck_cpu_scratch(be, 3, (size_t)n * plane * sizeof(uint16_t));
    if (!xp)
        return -1;
    pad_images(be, x, n, h, w, ci, cip, k == CK_BF16_AVX512, xp);
    void (*row_fn)(const ck_bf16_conv *, int, int) =
        k == CK_BF16_AVX512 ? ck_bf16_conv_row_avx512 : ck_bf16_conv_row_portable;
    /* one fan-out for the batch (small images have few rows each); a
     * thread's run of tasks mostly shares cob, whose weights stay in L2 */
#pragma omp parallel for collapse(3) num_threads(be->threads) schedule(static)
    for (int cob = 0; cob < ncob; cob++)
        for (int img = 0; img < n; img++)
            for (int r = 0; r < h; r++) {
                ck_bf16_conv cv = {xp + img * plane, wp, bias, y + img * img_out, h, w, cip, co, relu};
                row_fn(&cv, r, cob);
            }
    return 0;
}

int ck_cpu_conv3x3_bf16(ck_backend *be, const float *x, int n, int h, int w, int ci,
                        const void *wt, ck_dtype wt_dtype, const float *bias, int co,
                        float *y, int relu)
{
    ck_bf16_kernel k = chosen_kernel();
    if (k == CK_BF16_NONE || n <= 0 || h <= 0 || w <= 0 || ci <= 0 || co <= 0 ||
        (wt_dtype != CK_F32 && wt_dtype != CK_BF16))
        return 1;
    uint16_t *wp = ck_cpu_scratch(be, 2, packed_count(k, ci, co) * sizeof(uint16_t));
    if (!wp)
        return -1;
    pack(be, k, wt, wt_dtype, ci, co, wp);
    return run(be, k, x, n, h, w, ci, wp, bias, co, y, relu);
}

int ck_cpu_conv3x3_bf16_cached(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const float *bias,
                               ck_tensor *y, int relu)
{
    const int n = x->shape[0], h = x->shape[1], wd = x->shape[2], ci = x->shape[3];
    const int co = y->shape[3];
    ck_bf16_kernel k = chosen_kernel();
    if (k == CK_BF16_NONE || n <= 0 || h <= 0 || wd <= 0 || ci <= 0 || co <= 0 ||
        (w->dtype != CK_F32 && w->dtype != CK_BF16))
        return 1;
    int fresh;
    size_t nb = packed_count(k, ci, co) * sizeof(uint16_t);
    uint16_t *wp = ck_cpu_cache_get(be, w, is_amx(k) ? CK_CPU_CACHE_BF16_AMX : CK_CPU_CACHE_BF16, nb, &fresh);
    if (!wp) /* over the cache's budget: pack into scratch */
        return ck_cpu_conv3x3_bf16(be, x->data, n, h, wd, ci, w->data, w->dtype, bias, co, y->data, relu);
    if (fresh)
        pack(be, k, w->data, w->dtype, ci, co, wp);
    return run(be, k, x->data, n, h, wd, ci, wp, bias, co, y->data, relu);
}
