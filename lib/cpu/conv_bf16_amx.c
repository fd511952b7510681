/* conv_bf16_amx.c — the AMX-BF16 kernel of conv_bf16.c (code in
 * conv_bf16_amx_kernel.h). Compiled with -mamx-tile -mamx-bf16 where the
 * compiler has them (lib/CMakeLists.txt); only called after
 * ck_cpu_bf16_best() found AMX-BF16 and was granted the tile state.
 */
#include "conv_bf16.h"

#if defined(__AMX_TILE__) && defined(__AMX_BF16__)
#include <immintrin.h>

#define AMX_LOADCFG(cfg) _tile_loadconfig(cfg)
#define AMX_RELEASE() _tile_release()
#define AMX_ZERO(t) _tile_zero(t)
#define AMX_LOAD(t, base, stride) _tile_loadd(t, base, stride)
#define AMX_STORE(t, base, stride) _tile_stored(t, base, stride)
#define AMX_DP(c, a, b) _tile_dpbf16ps(c, a, b)
#define CK_AMX_FN amx
#include "conv_bf16_amx_kernel.h"

int ck_bf16_amx_built(void)
{
    return 1;
}
#else
/* A compiler without AMX: ck_cpu_bf16_best() never selects this kernel
 * (ck_bf16_amx_built() says so); the entry points only keep the link. */
int ck_bf16_amx_built(void)
{
    return 0;
}
void ck_bf16_amx_begin_amx(int kc)
{
    (void)kc;
}
void ck_bf16_amx_end_amx(void)
{
}
void ck_bf16_amx_block_amx(const ck_bf16_amx *c, long q0, int cob)
{
    (void)c, (void)q0, (void)cob;
}
#endif
