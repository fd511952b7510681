/* conv_bf16.h — the bf16 3×3 convolution's private pieces (conv_bf16*.c).
 *
 * Kernels (enum ck_bf16_kernel): the AMX-BF16 tile kernel, the AVX-512
 * BF16 (vdpbf16ps) kernel, and two plain-C twins that run anywhere and
 * exist to pin down the numerics and the packing in tests: the portable
 * kernel (AVX-512 layout) and the AMX kernel's own code run on a tile
 * emulator (AMX layout, tile shapes checked as the hardware would).
 *
 * AVX-512 / portable layout:
 *   xp  one image in bf16, zero-padded by 1 pixel: [h+2][w+2][cip],
 *       cip = ci rounded up to even (channels are consumed in pairs);
 *   wp  weights [cob][tap 0..8][cip/2][64]: for output block cob (32
 *       channels) and input pair c2, 64 bf16 = two registers of 16 lanes,
 *       lane j holding (W[tap][2·c2][o], W[tap][2·c2+1][o]) with
 *       o = 32·cob + 16·half + j — the operand order of vdpbf16ps.
 *
 * AMX layout (conv_bf16_amx_kernel.h):
 *   xp  the whole batch in bf16, each image zero-padded by 1 pixel and the
 *       images back to back: pixel q = img·(h+2)·(w+2) + (r+1)·(w+2) + c+1
 *       holds [cip] channels; then CK_AMX_SLACK zero pixels. cip = ci
 *       rounded up to kc, kc = the channels of one tile row (32, or ci
 *       rounded up to even when ci < 32).
 *       Output position q (the same flattening without the +1s) reads tap
 *       (ky,kx) at pixel q + ky·(w+2) + kx, so 16 consecutive positions are
 *       one tile of 16 rows with a constant stride, across row ends; the
 *       positions that fall on padding are computed and dropped.
 *   wp  [cob16][tap][cip/kc][kc/2][16][2]: one B tile (kc/2 rows of 16
 *       output channels × a channel pair, the VNNI order of tdpbf16ps) per
 *       (16 output channels, tap, kc-chunk); co padded to 32 with zeros.
 */
#ifndef CK_CONV_BF16_H
#define CK_CONV_BF16_H

#include <stdint.h>

#define CK_BF16_COB 32 /* output channels per block */
#define CK_BF16_PX 8   /* output pixels per micro-tile (AVX-512) */
#define CK_AMX_Q 32    /* output positions per AMX block (2 tiles of 16) */
#define CK_AMX_SLACK 32

typedef struct ck_bf16_conv {
    const uint16_t *xp;
    const uint16_t *wp;
    const float *bias; /* [co] or NULL */
    float *y;          /* this image's output [h][w][co] */
    int h, w, cip, co, relu;
} ck_bf16_conv;

/* One output row `row`, output channels 32·cob .. (clipped to co). */
void ck_bf16_conv_row_avx512(const ck_bf16_conv *c, int row, int cob);
void ck_bf16_conv_row_portable(const ck_bf16_conv *c, int row, int cob);
/* d[i] = x[i] rounded to bf16 (vcvtneps2bf16), i < n. */
void ck_bf16_from_f32_avx512(uint16_t *d, const float *x, int n);

typedef struct ck_bf16_amx {
    const uint16_t *xp;
    const uint16_t *wp;
    const float *bias; /* [co] or NULL */
    float *y;          /* the batch's output [n][h][w][co] */
    int n, h, w, cip, kc, co, relu;
} ck_bf16_amx;

/* Per thread: load the tile configuration for chunks of kc channels
 * (before the first block), release the tiles (after the last). */
void ck_bf16_amx_begin_amx(int kc);
void ck_bf16_amx_end_amx(void);
/* Output positions q0 .. q0+31 × output channels 32·cob .. (clipped). */
void ck_bf16_amx_block_amx(const ck_bf16_amx *c, long q0, int cob);
/* 1 when conv_bf16_amx.c was compiled with the AMX instructions. */
int ck_bf16_amx_built(void);
/* The same kernel on the tile emulator (conv_bf16_amx_emu.c). */
void ck_bf16_amx_begin_amx_emu(int kc);
void ck_bf16_amx_end_amx_emu(void);
void ck_bf16_amx_block_amx_emu(const ck_bf16_amx *c, long q0, int cob);
/* Number of tile operations the emulator refused since the last call
 * (shapes or configuration the hardware would fault on); resets it. */
long ck_bf16_amx_emu_faults(void);

typedef enum ck_bf16_kernel {
    CK_BF16_NONE = -1, /* no kernel: the caller uses the fp32 path */
    CK_BF16_PORTABLE,  /* plain C, AVX-512 layout (tests) */
    CK_BF16_AMX_EMU,   /* the AMX kernel on the tile emulator (tests) */
    CK_BF16_AVX512,    /* vdpbf16ps */
    CK_BF16_AMX,       /* tdpbf16ps */
} ck_bf16_kernel;

/* The best kernel this CPU runs natively: AMX (CPUID AMX-BF16 and the
 * kernel granted the tile state), else AVX-512 BF16, else CK_BF16_NONE.
 * The AMX permission is asked for once per process. */
ck_bf16_kernel ck_cpu_bf16_best(void);
/* 1 when kernel k can run here (the plain-C ones always can). */
int ck_cpu_bf16_can_run(ck_bf16_kernel k);
/* Tests: make ck_cpu_conv3x3_bf16 use kernel k (CK_BF16_NONE: the best,
 * the default). Returns the previous value. */
ck_bf16_kernel ck_cpu_bf16_use(ck_bf16_kernel k);
/* "amx", "avx512bf16", "amx-emulated", "portable", "none". */
const char *ck_cpu_bf16_kernel_name(ck_bf16_kernel k);

#endif
