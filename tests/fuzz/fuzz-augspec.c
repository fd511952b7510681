/* Fuzz the augmentation spec parser (augment/spec.c): parse, check that the
 * canonical form parses to the same canonical form, and apply the spec to a
 * small image (sampling and rendering read every parsed field). */
#include "fuzz.h"
#include "ck/augment.h"
#include "ck/error.h"
#include "ck/rng.h"

#include <stdlib.h>
#include <string.h>

enum { SIDE = 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    ck_aug_spec *s = ck_aug_spec_parse(text);
    if (s) {
        char *canon = ck_aug_spec_to_string(s);
        ck_aug_spec *again = canon ? ck_aug_spec_parse(canon) : NULL;
        char *canon2 = again ? ck_aug_spec_to_string(again) : NULL;
        if (!canon2 || strcmp(canon, canon2) != 0)
            fuzz_fail("augspec: canonical form does not round-trip", canon ? canon : text);
        uint8_t src[SIDE * SIDE * 3], dst[SIDE * SIDE * 3];
        for (size_t i = 0; i < sizeof src; i++)
            src[i] = (uint8_t)(i * 37u);
        for (uint64_t k = 0; k < 4; k++) {
            ck_rng rng = ck_rng_make(1, k, 0);
            (void)ck_aug_apply_rgb(s, src, SIDE, SIDE, dst, SIDE, SIDE, &rng);
        }
        free(canon2);
        ck_aug_spec_free(again);
        free(canon);
        ck_aug_spec_free(s);
    }
    free(text);
    ck_error_clear();
    return 0;
}
