/* Tensor element types (ck/dtype.h). In ck_core so that every backend,
 * CUDA included, links the one copy. */
#include "ck/dtype.h"

size_t ck_dtype_size(ck_dtype t)
{
    switch (t) {
    case CK_F32: return 4;
    case CK_BF16: return 2;
    case CK_F16: return 2;
    case CK_I32: return 4;
    case CK_U8: return 1;
    }
    return 0;
}

const char *ck_dtype_name(ck_dtype t)
{
    switch (t) {
    case CK_F32: return "f32";
    case CK_BF16: return "bf16";
    case CK_F16: return "f16";
    case CK_I32: return "i32";
    case CK_U8: return "u8";
    }
    return "?";
}
