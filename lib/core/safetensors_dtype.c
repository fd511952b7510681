/* safetensors dtypes and their conversion to float32. */
#include "ck/safetensors.h"
#include "ck/dtype.h"
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
