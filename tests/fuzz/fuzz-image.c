/* Fuzz the image decoder (lib/io/image.c, lib/io/image_png.c): format
 * sniffing, decoding at the native size and decoding with a resize.
 *
 * The pixel limit: an input whose header claims more than FUZZ_MAX_PIXELS
 * is not decoded, so that the fuzzer looks for crashes rather than for
 * (legitimately) large images. The header is read here, the same way for
 * every format; when lib/io/image.c checks the pixel count itself (issue 11,
 * "image bombs"), replace header_pixels() by setting the library's limit to
 * FUZZ_MAX_PIXELS and decode every input. */
#include "fuzz.h"
#include "ck/error.h"
#include "ck/image.h"

#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#define FUZZ_MAX_PIXELS (1LL << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    if (ck_image_init((*argv)[0]) != 0)
        fuzz_fail("image: cannot start libvips", ck_error_buffer());
    return 0;
}

/* Width × height from the header: PNG's IHDR directly (ck decodes PNG with
 * libpng), everything else through libvips' lazy header read. -1 when no
 * header could be read: the decoder then fails the same way. */
static long long header_pixels(const uint8_t *data, size_t size)
{
    if (ck_image_format_sniff(data, size) == CK_IMAGE_PNG) {
        if (size < 24)
            return -1;
        unsigned long long w = 0, h = 0;
        for (int i = 0; i < 4; i++) {
            w = (w << 8) | data[16 + i];
            h = (h << 8) | data[20 + i];
        }
        return (long long)(w * h);
    }
    if (!vips_foreign_find_load_buffer(data, size)) {
        vips_error_clear();
        return -1;
    }
    VipsImage *im = vips_image_new_from_buffer(data, size, "", NULL);
    if (!im) {
        vips_error_clear();
        return -1;
    }
    long long px = (long long)im->Xsize * im->Ysize;
    g_object_unref(im);
    return px;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)ck_image_format_sniff(data, size);
    if (header_pixels(data, size) > FUZZ_MAX_PIXELS)
        return 0;
    int w = 0, h = 0;
    uint8_t *rgb = ck_image_decode_rgb(data, size, "fuzz-image", 0, 0, &w, &h);
    if (rgb && (w <= 0 || h <= 0))
        fuzz_fail("image", "decoded to an empty size");
    free(rgb);
    ck_error_clear();
    rgb = ck_image_decode_rgb(data, size, "fuzz-image", 16, 12, &w, &h);
    if (rgb && (w != 16 || h != 12))
        fuzz_fail("image", "resized to the wrong size");
    free(rgb);
    ck_error_clear();
    return 0;
}
