/* ck/dtype.h — tensor element types and the scalar float conversions.
 *
 * f32 <-> bf16 / f16 round to nearest even and keep NaN a (quiet) NaN, as
 * PyTorch does; the CUDA kernels use the hardware conversions, which round
 * the same way. The conversions are inline because the CPU backend calls
 * them per element in its conversion loops. */
#ifndef CK_DTYPE_H
#define CK_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ck_dtype {
    CK_F32 = 0,
    CK_BF16 = 1, /* storage for frozen layers / feature caches */
    CK_F16 = 2,
    CK_I32 = 3,  /* class labels */
    CK_U8 = 4    /* raw RGB pixels, dropout masks */
} ck_dtype;

/* Bytes per element (0 for an unknown value). */
size_t ck_dtype_size(ck_dtype t);
/* "f32", "bf16", ... ("?" for an unknown value). */
const char *ck_dtype_name(ck_dtype t);

static inline uint32_t ck_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float ck_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t ck_f32_to_bf16(float f)
{
    uint32_t u = ck_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet NaN */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static inline float ck_bf16_to_f32(uint16_t h)
{
    return ck_bits_f32((uint32_t)h << 16);
}

static inline uint16_t ck_f32_to_f16(float f)
{
    uint32_t u = ck_f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t absu = u & 0x7fffffffu;
    if (absu > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u);
    if (absu >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00u);
    if (absu < 0x38800000u) { /* below the smallest normal half: subnormal */
        /* Adding 0.5 lets the FPU do the round-to-nearest-even of the
         * subnormal mantissa; the half bits are the low ones of the sum. */
        float t = ck_bits_f32(absu) + 0.5f;
        return (uint16_t)(sign | (ck_f32_bits(t) - 0x3f000000u));
    }
    uint32_t mant_odd = (absu >> 13) & 1;
    absu += 0xc8000fffu + mant_odd; /* rebias exponent (-112<<23) and round */
    return (uint16_t)(sign | (absu >> 13));
}

static inline float ck_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
    if (exp == 0) {
        /* zero or subnormal: mant · 2^-24 exactly */
        float v = (float)mant * (1.0f / 16777216.0f);
        return ck_bits_f32(ck_f32_bits(v) | sign);
    }
    if (exp == 31)
        return ck_bits_f32(sign | 0x7f800000u | (mant << 13));
    return ck_bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

#ifdef __cplusplus
}
#endif
#endif
