/* conv_bf16_amx_kernel.h — the AMX-BF16 block of conv_bf16.c, written once
 * and compiled twice: by conv_bf16_amx.c with the AMX instructions and by
 * conv_bf16_amx_emu.c against a tile emulator, so that the packing, the
 * tile shapes and the remainders are tested on CPUs without AMX. The
 * includer defines AMX_LOADCFG, AMX_RELEASE, AMX_ZERO, AMX_LOAD, AMX_STORE,
 * AMX_DP (tile numbers are immediates) and CK_AMX_FN (the name suffix).
 *
 * A block is 32 output positions × 32 output channels: four fp32 C tiles
 * (tmm0..3, 16×16 each), fed per (tap, chunk of kc channels) by two A
 * tiles of 16 positions × kc channels read straight from the padded image
 * (tmm4, tmm5) and two B tiles of packed weights (tmm6, tmm7): each tile
 * loaded is used twice. Layouts: conv_bf16.h.
 */
#include <string.h>

#include "conv_bf16.h"

#ifndef CK_AMX_CFG_DEFINED
#define CK_AMX_CFG_DEFINED
/* The 64-byte operand of ldtilecfg (palette 1). */
typedef struct ck_amx_cfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} ck_amx_cfg;
#endif

#define CK_AMX_CAT_(a, b) a##b
#define CK_AMX_CAT(a, b) CK_AMX_CAT_(a, b)
#define CK_AMX_NAME(f) CK_AMX_CAT(f, CK_AMX_FN)

void CK_AMX_NAME(ck_bf16_amx_begin_)(int kc)
{
    ck_amx_cfg cfg __attribute__((aligned(64)));
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = t < 6 ? 16 : (uint8_t)(kc / 2);
        cfg.colsb[t] = t == 4 || t == 5 ? (uint16_t)(2 * kc) : 64;
    }
    AMX_LOADCFG(&cfg);
}

void CK_AMX_NAME(ck_bf16_amx_end_)(void)
{
    AMX_RELEASE();
}

void CK_AMX_NAME(ck_bf16_amx_block_)(const ck_bf16_amx *c, long q0, int cob)
{
    const long pw = c->w + 2, plane = (long)(c->h + 2) * pw;
    const int cip = c->cip, kc = c->kc, nk = cip / kc;
    const long stride = 2L * cip;
    const size_t btile = (size_t)kc / 2 * 32; /* bf16 per B tile */
    const uint16_t *w0 = c->wp + (size_t)2 * cob * 9 * nk * btile;
    const uint16_t *w1 = w0 + (size_t)9 * nk * btile;
    AMX_ZERO(0);
    AMX_ZERO(1);
    AMX_ZERO(2);
    AMX_ZERO(3);
    for (int tap = 0; tap < 9; tap++) {
        const uint16_t *a = c->xp + (size_t)(q0 + tap / 3 * pw + tap % 3) * cip;
        for (int kb = 0; kb < nk; kb++) {
            size_t wo = ((size_t)tap * nk + kb) * btile;
            AMX_LOAD(4, a + kb * kc, stride);
            AMX_LOAD(5, a + (size_t)16 * cip + kb * kc, stride);
            AMX_LOAD(6, w0 + wo, 64);
            AMX_LOAD(7, w1 + wo, 64);
            AMX_DP(0, 4, 6);
            AMX_DP(1, 4, 7);
            AMX_DP(2, 5, 6);
            AMX_DP(3, 5, 7);
        }
    }
    float acc[CK_AMX_Q * CK_BF16_COB] __attribute__((aligned(64)));
    AMX_STORE(0, acc, 128);
    AMX_STORE(1, acc + 16, 128);
    AMX_STORE(2, acc + 16 * 32, 128);
    AMX_STORE(3, acc + 16 * 32 + 16, 128);

    const int o0 = cob * CK_BF16_COB;
    const int on = c->co - o0 < CK_BF16_COB ? c->co - o0 : CK_BF16_COB;
    float b[CK_BF16_COB] = {0};
    if (c->bias)
        memcpy(b, c->bias + o0, (size_t)on * sizeof *b);
    /* the position of q0, then stepped: no division per row */
    long img = q0 / plane, r = q0 % plane / pw, x = q0 % pw;
    for (int i = 0; i < CK_AMX_Q; i++) {
        if (img < c->n && r < c->h && x < c->w) { /* else a position on the padding */
            float *dst = c->y + (((size_t)img * c->h + r) * c->w + x) * c->co + o0;
            const float *s = acc + i * CK_BF16_COB;
            if (c->relu)
                for (int o = 0; o < on; o++)
                    dst[o] = s[o] + b[o] > 0.0f ? s[o] + b[o] : 0.0f;
            else
                for (int o = 0; o < on; o++)
                    dst[o] = s[o] + b[o];
        }
        if (++x == pw) {
            x = 0;
            if (++r == c->h + 2) {
                r = 0;
                img++;
            }
        }
    }
}
