/* ck/image.h — load and save images as packed 8-bit RGB (libvips).
 *
 * Every image becomes 8-bit sRGB with exactly 3 bands, row-major, no padding
 * (pixel (x,y) channel c at rgb[(y*w + x)*3 + c]):
 *   - grayscale (1 band) is replicated to R=G=B;
 *   - an alpha channel is flattened on BLACK (like libvips' default and like
 *     PIL's convert("RGB") for the usual case of transparent pixels stored
 *     as black; a half-transparent pixel becomes colour·alpha);
 *   - palette images are expanded;
 *   - 16-bit images are scaled to 8 bits (v >> 8), CMYK/Lab/... are converted
 *     to sRGB by libvips.
 *
 * Resizing (out_w, out_h > 0 and different from the file's size) uses a
 * separable triangle ("bilinear") filter with half-pixel centres whose
 * support widens when shrinking, i.e. PIL's Image.resize(BILINEAR), which is
 * what torchvision's Resize does on PIL images; results match PIL to ±1.
 *
 * Errors name the file: "x.png: 0-byte file", "x.png: not an image (...)",
 * "x.png: not a regular file", "x.png: 65000x65000 is 4225000000 pixels, over the limit ...",
 * "x.png: truncated or corrupt image (...)", "x.png: No such file...".
 * All functions are thread-safe once ck_image_init() has been called (it is
 * also called implicitly on first use).
 */
#ifndef CK_IMAGE_H
#define CK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* VIPS_INIT, operation cache off (it only costs time for one-shot images),
 * libvips worker threads limited to 1 (ck parallelises over whole images).
 * Idempotent and thread-safe; argv0 may be NULL. 0 or -1 with an error. */
int ck_image_init(const char *argv0);

/* Load any image file to RGB8. If out_w and out_h are > 0 the image is
 * resized to exactly out_w×out_h (aspect not kept); if both are 0 it keeps
 * its size. *w and *h (may be NULL) receive the returned size. Pixels are
 * malloc'd (free()); NULL and an error naming the file on failure. */
uint8_t *ck_image_load_rgb(const char *path, int out_w, int out_h, int *w, int *h);

/* Same into a caller-provided buffer of out_w*out_h*3 bytes (out_w, out_h
 * must be > 0): no per-image malloc of the result, for loader threads that
 * reuse batch buffers. 0 or -1 with an error naming the file. */
int ck_image_load_rgb_into(const char *path, int out_w, int out_h, uint8_t *dst);

/* Decode an in-memory file (e.g. stdin). `name` is used in error messages.
 * Same conventions as ck_image_load_rgb(). */
uint8_t *ck_image_decode_rgb(const void *data, size_t len, const char *name,
                             int out_w, int out_h, int *w, int *h);

/* Size of an image file without decoding the pixels. 0 or -1 + error. */
int ck_image_size(const char *path, int *w, int *h);

/* Input limits, checked by every function above before anything is
 * decoded: the path must be a regular file ("not a regular file": FIFOs,
 * devices and folders are refused before they are opened); the format is
 * taken from the header and only raster loaders are used (PNG, JPEG, WebP,
 * TIFF, GIF, PPM; never SVG, PDF or ImageMagick); the header's
 * width×height must not exceed the pixel limit; a file larger than 16 bytes
 * per allowed pixel (+16 MiB) is refused unread. */
#define CK_IMAGE_DEFAULT_MAX_PIXELS 100000000ULL     /* 100 megapixels */
#define CK_IMAGE_MAX_PIXELS_CAP (1ULL << 40)
/* The limit: ck_image_set_max_pixels()'s value, else the environment
 * variable CK_MAX_PIXELS, else the default. */
uint64_t ck_image_max_pixels(void);
/* Process-wide; n in 1..CK_IMAGE_MAX_PIXELS_CAP. 0 or -1 + error. */
int ck_image_set_max_pixels(uint64_t n);
/* A pixel count as options and CK_MAX_PIXELS give it (plain decimal,
 * 1..CK_IMAGE_MAX_PIXELS_CAP). 0, or -1 without touching *out. */
int ck_image_parse_pixels(const char *s, uint64_t *out);
/* The header checks alone on an in-memory file (format allowed, size within
 * the limit), without decoding pixels; *w, *h (may be NULL) get the size.
 * 0 or -1 + an error naming `name`. */
int ck_image_probe(const void *data, size_t len, const char *name, int *w, int *h);

/* Output formats. */
typedef enum ck_image_format {
    CK_IMAGE_UNKNOWN = 0,
    CK_IMAGE_PNG,
    CK_IMAGE_JPEG,
    CK_IMAGE_WEBP
} ck_image_format;

/* From a file name's extension (.png, .jpg/.jpeg, .webp; case-insensitive)
 * or a bare format name ("png", "jpg", "jpeg", "webp"). UNKNOWN otherwise. */
ck_image_format ck_image_format_from_name(const char *name);
/* From the first bytes of a file (magic numbers). UNKNOWN otherwise. */
ck_image_format ck_image_format_sniff(const void *data, size_t len);
/* "png", "jpg", "webp" (NULL for UNKNOWN). */
const char *ck_image_format_ext(ck_image_format f);

/* Encode RGB8 to a malloc'd buffer (free()); *len receives its size.
 * quality 1..100 for JPEG/WebP (0 = default 90; ignored for PNG).
 * JPEG is written baseline with 4:2:0 chroma subsampling (like PIL and
 * ImageMagick: smaller and faster than libvips' 4:4:4 default); WebP lossy;
 * PNG zlib level 6 with adaptive filters (PIL's defaults; PNG goes through
 * libpng directly, everything else through libvips). NULL + error. */
void *ck_image_encode_rgb(const uint8_t *rgb, int w, int h, ck_image_format f,
                          int quality, size_t *len);

/* Save to `path`, format from its extension, written atomically (temporary
 * file + rename: never a half-written image; not fsync'ed, for speed with
 * thousands of small outputs). 0 or -1 + error naming path. */
int ck_image_save_rgb(const char *path, const uint8_t *rgb, int w, int h, int quality);

/* Resize RGB8 src (sw×sh) to dst (dw×dh) with the PIL-style bilinear filter
 * described above. Pure C, thread-safe, no libvips. 0 or -1 + error. */
int ck_image_resize_rgb(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);

#ifdef __cplusplus
}
#endif
#endif
