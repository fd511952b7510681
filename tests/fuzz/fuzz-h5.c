/* Fuzz the Keras HDF5 weights reader (lib/weights/weights_h5_read.c) on
 * in-memory file images (HDF5's core driver): layer_names / weight_names
 * attributes, dataset types, ranks and shapes, the data itself, then the
 * completeness check. (libhdf5 itself is not instrumented: coverage guides
 * the fuzzer through ck's code only.) */
#include "fuzz.h"
#include "ck/error.h"
#include "weights_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_weights *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup("fuzz.h5")))
        abort();
    w->seed = -1;
    if (ck_weights_load_h5_image(w, data, size) == 0 && ck_weights_check_complete(w) == 0) {
        for (int i = 0; i < ck_weights_count(w); i++) {
            int nd, shape[4];
            if (!ck_weights_get(w, ck_weights_name(w, i), &nd, shape))
                fuzz_fail("h5", "a loaded tensor is not found by name");
        }
    }
    ck_weights_free(w);
    ck_error_clear();
    return 0;
}
