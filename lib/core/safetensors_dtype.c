/* safetensors dtypes and the float16 / bfloat16 conversions. */
#include "ck/safetensors.h"
#include "ck/error.h"

#include <string.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[CK_ST_DTYPE_COUNT] = {
    [CK_ST_F32] = {"F32", 4},   [CK_ST_F16] = {"F16", 2},   [CK_ST_BF16] = {"BF16", 2},
    [CK_ST_F64] = {"F64", 8},   [CK_ST_I64] = {"I64", 8},   [CK_ST_I32] = {"I32", 4},
    [CK_ST_I16] = {"I16", 2},   [CK_ST_I8] = {"I8", 1},     [CK_ST_U64] = {"U64", 8},
    [CK_ST_U32] = {"U32", 4},   [CK_ST_U16] = {"U16", 2},   [CK_ST_U8] = {"U8", 1},
    [CK_ST_BOOL] = {"BOOL", 1}, [CK_ST_F8_E4M3] = {"F8_E4M3", 1}, [CK_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *ck_st_dtype_name(ck_st_dtype t)
{
    return (unsigned)t < CK_ST_DTYPE_COUNT ? dtypes[t].name : "?";
}

size_t ck_st_dtype_size(ck_st_dtype t)
{
    return (unsigned)t < CK_ST_DTYPE_COUNT ? dtypes[t].size : 0;
}

int ck_st_dtype_parse(const char *name)
{
    if (!name)
        return -1;
    for (int k = 0; k < CK_ST_DTYPE_COUNT; k++)
        if (strcmp(name, dtypes[k].name) == 0)
            return k;
    return -1;
}

static uint32_t f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float x;
    memcpy(&x, &u, 4);
    return x;
}

uint16_t ck_f32_to_bf16(float x)
{
    uint32_t u = f32_bits(x);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u)
        return (uint16_t)((u >> 16) | 0x40); /* NaN stays a (quiet) NaN */
    u += 0x7FFFu + ((u >> 16) & 1u);        /* round to nearest even */
    return (uint16_t)(u >> 16);
}

float ck_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

float ck_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t man = h & 0x3FFu;
    if (exp == 0x1F)
        return bits_f32(sign | 0x7F800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return bits_f32(sign);
        /* Subnormal: man × 2^-24, exact in float. */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t ck_f32_to_f16(float x)
{
    uint32_t u = f32_bits(x);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7FFFFFFFu;
    if (a > 0x7F800000u)
        return sign | 0x7E00u; /* NaN */
    if (a >= 0x477FF000u)      /* rounds to >= 65520: infinity */
        return sign | 0x7C00u;
    if (a < 0x38800000u) {     /* below 2^-14: subnormal or zero */
        if (a < 0x33000000u)   /* below 2^-25: rounds to zero */
            return sign;
        uint32_t e = a >> 23;
        uint32_t m = (a & 0x7FFFFFu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t half = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1)))
            half++;
        return sign | (uint16_t)half;
    }
    uint32_t r = a + 0xFFFu + ((a >> 13) & 1u); /* nearest even at bit 13 */
    return sign | (uint16_t)((r - 0x38000000u) >> 13);
}

int ck_st_to_f32(const ck_st_tensor *t, float *dst)
{
    const unsigned char *p = t->data;
    int64_t n = t->count;
    switch (t->dtype) {
    case CK_ST_F32:
        if (n)
            memcpy(dst, p, (size_t)n * 4);
        return 0;
    case CK_ST_F16:
    case CK_ST_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = t->dtype == CK_ST_F16 ? ck_f16_to_f32(h) : ck_bf16_to_f32(h);
        }
        return 0;
    case CK_ST_F64:
        for (int64_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            dst[i] = (float)d;
        }
        return 0;
    default:
        ck_error("safetensors", "tensor \"%s\": dtype %s is not a floating-point type",
                 t->name ? t->name : "?", ck_st_dtype_name(t->dtype));
        return -1;
    }
}
