/* conv_bf16_amx.c — the AMX-BF16 kernel of conv_bf16.c (code in
 * conv_bf16_amx_kernel.h). Compiled with -mamx-tile -mamx-bf16 where the
 * compiler has them (lib/CMakeLists.txt); only called after
 * ck_cpu_bf16_best() found AMX-BF16 and was granted the tile state.
 */
#include "conv_bf16.h"

#if defined(__AMX_TILE__) && defined(__AMX_BF16__)
/* Own asm rather than gcc 12's <immintrin.h> tile intrinsics: those tell
 * the compiler neither that ldtilecfg reads 64 bytes (it declares 8: the
 * rest of the configuration could be dropped as dead stores) nor that
 * tileloadd / tilestored touch memory (the accumulators read back after a
 * tilestored could be taken from before it). Tile numbers are immediates. */
#define CK_AMX_STR_(x) #x
#define CK_AMX_STR(x) CK_AMX_STR_(x)
#define AMX_LOADCFG(cfg) __asm__ volatile("ldtilecfg %0" ::"m"(*(const ck_amx_cfg *)(cfg)))
#define AMX_RELEASE() __asm__ volatile("tilerelease" ::: "memory")
#define AMX_ZERO(t) __asm__ volatile("tilezero %%tmm" CK_AMX_STR(t)::)
#define AMX_LOAD(t, base, stride)                                                               \
    __asm__ volatile("tileloadd (%0,%1,1), %%tmm" CK_AMX_STR(t)::"r"((const void *)(base)), \
                     "r"((long)(stride))                                                        \
                     : "memory")
#define AMX_STORE(t, base, stride)                                                               \
    __asm__ volatile("tilestored %%tmm" CK_AMX_STR(t) ", (%0,%1,1)" ::"r"((void *)(base)), \
                     "r"((long)(stride))                                                         \
                     : "memory")
/* AT&T order: tdpbf16ps b, a, c computes c += a·b */
#define AMX_DP(c, a, b) __asm__ volatile("tdpbf16ps %%tmm" CK_AMX_STR(b) ", %%tmm" CK_AMX_STR(a) ", %%tmm" CK_AMX_STR(c)::)
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
