/* Fuzz the .npy reader (lib/io/npy.c: ck_npy_parse, and ck_npy_read on the
 * same bytes through a file). Property: an accepted array written back
 * with ck_npy_header and its data parses to the same shape and bits. */
#include "fuzz.h"
#include "ck/error.h"
#include "ck/npy.h"

#include <stdlib.h>
#include <string.h>

static void round_trip(const ck_npy *a)
{
    char head[256];
    long hlen = ck_npy_header(head, sizeof head, a->ndim, a->shape);
    if (hlen < 0 || hlen % 64)
        fuzz_fail("npy", "an accepted shape has no header");
    size_t n = (size_t)hlen + a->count * 4;
    char *buf = malloc(n);
    if (!buf)
        abort();
    memcpy(buf, head, (size_t)hlen);
    memcpy(buf + hlen, a->data, a->count * 4);
    ck_npy *b = ck_npy_parse(buf, n, "again.npy");
    if (!b || b->ndim != a->ndim || b->count != a->count ||
        memcmp(b->shape, a->shape, (size_t)a->ndim * sizeof *a->shape) ||
        memcmp(b->data, a->data, a->count * 4))
        fuzz_fail("npy: written back, it reads differently", ck_error_buffer());
    ck_npy_free(b);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_npy *a = ck_npy_parse(data, size, "fuzz.npy");
    if (a) {
        size_t count = 1;
        for (int i = 0; i < a->ndim; i++)
            count *= (size_t)a->shape[i];
        if (count != a->count || a->ndim < 0 || a->ndim > CK_NPY_MAX_DIMS)
            fuzz_fail("npy", "count is not the product of the shape");
        round_trip(a);
    }
    ck_error_clear();
    ck_npy *f = ck_npy_read(fuzz_file(0, data, size));
    if (!a != !f)
        fuzz_fail("npy", "reading the file and parsing its bytes disagree");
    ck_npy_free(f);
    ck_npy_free(a);
    ck_error_clear();
    return 0;
}
