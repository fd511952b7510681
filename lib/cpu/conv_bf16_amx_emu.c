/* conv_bf16_amx_emu.c — the AMX kernel's code (conv_bf16_amx_kernel.h) on
 * a tile emulator in plain C, for tests on CPUs without AMX: it computes
 * what tileloadd / tdpbf16ps / tilestored compute (Intel SDM: products of
 * bf16 pairs widened to fp32, accumulated in fp32; rows and bytes per row
 * from the loaded configuration, the rest of a loaded tile zeroed) and
 * counts every use the hardware would fault on (palette, rows > 16, bytes
 * per row > 64, unconfigured tiles, mismatched tdpbf16ps shapes).
 */
#include <stdatomic.h>

#include "ck/dtype.h"
#include "conv_bf16.h"

static _Thread_local struct {
    uint8_t rows[8];
    uint16_t colsb[8];
} emu_cfg;
static _Thread_local uint8_t emu_tile[8][1024] __attribute__((aligned(64)));
static atomic_long emu_fault_count;

static void fault(void)
{
    atomic_fetch_add(&emu_fault_count, 1);
}

long ck_bf16_amx_emu_faults(void)
{
    return atomic_exchange(&emu_fault_count, 0);
}

static int usable(int t)
{
    if (t < 0 || t >= 8 || emu_cfg.rows[t] == 0) {
        fault();
        return 0;
    }
    return 1;
}

static void emu_loadcfg(const void *p)
{
    const uint8_t *b = p;
    uint16_t colsb[16];
    memcpy(colsb, b + 16, sizeof colsb);
    memset(&emu_cfg, 0, sizeof emu_cfg);
    int ok = b[0] == 1;
    for (int i = 2; i < 16; i++)
        ok &= b[i] == 0; /* reserved */
    for (int t = 0; t < 16; t++) {
        int rows = b[48 + t];
        ok &= rows <= 16 && colsb[t] <= 64 && (rows == 0) == (colsb[t] == 0) && (t < 8 || rows == 0);
        if (t < 8) {
            emu_cfg.rows[t] = (uint8_t)rows;
            emu_cfg.colsb[t] = colsb[t];
        }
    }
    if (!ok) {
        memset(&emu_cfg, 0, sizeof emu_cfg);
        fault();
    }
    memset(emu_tile, 0, sizeof emu_tile);
}

static void emu_release(void)
{
    memset(&emu_cfg, 0, sizeof emu_cfg);
}

static void emu_zero(int t)
{
    if (usable(t))
        memset(emu_tile[t], 0, sizeof emu_tile[t]);
}

static void emu_load(int t, const void *base, long stride)
{
    if (!usable(t))
        return;
    memset(emu_tile[t], 0, sizeof emu_tile[t]);
    for (int i = 0; i < emu_cfg.rows[t]; i++)
        memcpy(emu_tile[t] + 64 * i, (const uint8_t *)base + i * stride, emu_cfg.colsb[t]);
}

static void emu_store(int t, void *base, long stride)
{
    if (!usable(t))
        return;
    for (int i = 0; i < emu_cfg.rows[t]; i++)
        memcpy((uint8_t *)base + i * stride, emu_tile[t] + 64 * i, emu_cfg.colsb[t]);
}

static void emu_dp(int c, int a, int b)
{
    if (!usable(c) || !usable(a) || !usable(b))
        return;
    if (c == a || c == b || a == b || emu_cfg.rows[c] != emu_cfg.rows[a] ||
        emu_cfg.colsb[c] != emu_cfg.colsb[b] || emu_cfg.colsb[a] != 4 * emu_cfg.rows[b] ||
        emu_cfg.colsb[c] % 4 || emu_cfg.colsb[a] % 4) {
        fault();
        return;
    }
    for (int m = 0; m < emu_cfg.rows[c]; m++) {
        float cv[16];
        uint16_t av[32];
        memcpy(cv, emu_tile[c] + 64 * m, sizeof cv);
        memcpy(av, emu_tile[a] + 64 * m, sizeof av);
        for (int k = 0; k < emu_cfg.colsb[a] / 4; k++) {
            uint16_t bv[32];
            memcpy(bv, emu_tile[b] + 64 * k, sizeof bv);
            for (int n = 0; n < emu_cfg.colsb[c] / 4; n++) {
                cv[n] += ck_bf16_to_f32(av[2 * k]) * ck_bf16_to_f32(bv[2 * n]);
                cv[n] += ck_bf16_to_f32(av[2 * k + 1]) * ck_bf16_to_f32(bv[2 * n + 1]);
            }
        }
        memcpy(emu_tile[c] + 64 * m, cv, sizeof cv);
    }
}

#define AMX_LOADCFG(cfg) emu_loadcfg(cfg)
#define AMX_RELEASE() emu_release()
#define AMX_ZERO(t) emu_zero(t)
#define AMX_LOAD(t, base, stride) emu_load(t, base, stride)
#define AMX_STORE(t, base, stride) emu_store(t, base, stride)
#define AMX_DP(c, a, b) emu_dp(c, a, b)
#define CK_AMX_FN amx_emu
#include "conv_bf16_amx_kernel.h"
