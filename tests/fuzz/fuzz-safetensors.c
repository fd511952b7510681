/* Fuzz the safetensors reader (lib/core/safetensors_read.c): header
 * validation, tensor lookup and conversion of every tensor's data. */
#include "fuzz.h"
#include "ck/error.h"
#include "ck/safetensors.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_st_file *f = ck_st_open_memory(data, size, "fuzz.safetensors");
    if (f) {
        for (int i = 0; i < ck_st_count(f); i++) {
            ck_st_tensor t, u;
            if (!ck_st_tensor_at(f, i, &t) || !ck_st_find(f, ck_st_name(f, i), &u) || u.data != t.data)
                fuzz_fail("safetensors", "a listed tensor is not found by name");
            /* The data lies inside the file, so this allocation is bounded
             * by the input's size. */
            float *dst = malloc((size_t)(t.count ? t.count : 1) * sizeof *dst);
            if (!dst)
                abort();
            (void)ck_st_to_f32(&t, dst);
            free(dst);
        }
        (void)ck_st_metadata_count(f);
        (void)ck_st_metadata(f, "format");
    }
    ck_st_close(f);
    ck_error_clear();
    return 0;
}
