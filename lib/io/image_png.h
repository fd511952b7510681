/* Private to lib/io/image.c: the libpng fast path (see image_png.c). */
#ifndef CK_IMAGE_PNG_H
#define CK_IMAGE_PNG_H

#include <stddef.h>
#include <stdint.h>

/* PNG bytes → malloc'd RGB8, or NULL + an error naming `name`. */
uint8_t *ck_png_decode(const void *data, size_t len, const char *name, int *w, int *h);
/* RGB8 → malloc'd PNG bytes, or NULL + error. */
void *ck_png_encode(const uint8_t *rgb, int w, int h, size_t *len);

#endif
