/* Fuzz the image input checks and decoder (lib/io/image.c,
 * lib/io/image_png.c): format sniffing, the header check (raster loaders
 * only, pixel limit), decoding at the native size and with a resize.
 *
 * The library's pixel limit is set low (FUZZ_MAX_PIXELS) so that the fuzzer
 * looks for crashes rather than for (legitimately) large images; every input
 * goes through the same checks a tool applies to a file. */
#include "fuzz.h"
#include "ck/error.h"
#include "ck/image.h"

#include <stdlib.h>

#define FUZZ_MAX_PIXELS (1ULL << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    if (ck_image_init((*argv)[0]) != 0 || ck_image_set_max_pixels(FUZZ_MAX_PIXELS) != 0)
        fuzz_fail("image: cannot start libvips", ck_error_buffer());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)ck_image_format_sniff(data, size);
    int pw = 0, ph = 0;
    int probed = ck_image_probe(data, size, "fuzz-image", &pw, &ph);
    ck_error_clear();
    if (probed == 0 && ((uint64_t)pw * (uint64_t)ph > FUZZ_MAX_PIXELS || pw <= 0 || ph <= 0))
        fuzz_fail("image", "the header check passed a size outside the limit");
    int w = 0, h = 0;
    uint8_t *rgb = ck_image_decode_rgb(data, size, "fuzz-image", 0, 0, &w, &h);
    if (rgb && probed != 0)
        fuzz_fail("image", "decoded an input the header check refused");
    if (rgb && (w != pw || h != ph))
        fuzz_fail("image", "decoded to another size than the header says");
    free(rgb);
    ck_error_clear();
    rgb = ck_image_decode_rgb(data, size, "fuzz-image", 16, 12, &w, &h);
    if (rgb && (w != 16 || h != 12))
        fuzz_fail("image", "resized to the wrong size");
    free(rgb);
    ck_error_clear();
    return 0;
}
