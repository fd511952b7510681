/* conv_bf16.h — the bf16 3×3 convolution's private pieces (conv_bf16*.c).
 *
 * Data layout shared by the portable and the AVX-512 BF16 kernels, so the
 * tests can check the packing with the portable kernel on any CPU:
 *   xp  one image in bf16, zero-padded by 1 pixel: [h+2][w+2][cip],
 *       cip = ci rounded up to even (channels are consumed in pairs);
 *   wp  weights [cob][tap 0..8][cip/2][64]: for output block cob (32
 *       channels) and input pair c2, 64 bf16 = two registers of 16 lanes,
 *       lane j holding (W[tap][2·c2][o], W[tap][2·c2+1][o]) with
 *       o = 32·cob + 16·half + j — the operand order of vdpbf16ps.
 */
#ifndef CK_CONV_BF16_H
#define CK_CONV_BF16_H

#include <stdint.h>

#define CK_BF16_COB 32 /* output channels per block */
#define CK_BF16_PX 8   /* output pixels per micro-tile */

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

/* Tests only: 1 makes ck_cpu_conv3x3_bf16 use the portable kernel on CPUs
 * without AVX-512 BF16 (it declines there otherwise: the portable kernel
 * is slower than the fp32 path and exists to pin down the numerics).
 * Returns the previous value. */
int ck_cpu_bf16_set_emulation(int on);
/* 1 when this CPU runs the AVX-512 BF16 kernel. */
int ck_cpu_bf16_native(void);

#endif
