/* Test-time augmentation views (see ck/augment.h). */
#include "ck/augment.h"

#include "ck/error.h"

#include <string.h>

int ck_tta_parse(const char *spec, ck_view *views)
{
    int flip = 0, shift = 0;
    const char *p = spec ? spec : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 4 && strncmp(p, "flip", 4) == 0)
            flip = 1;
        else if (n == 5 && strncmp(p, "shift", 5) == 0)
            shift = 1;
        else if (!(n == 4 && strncmp(p, "none", 4) == 0) && n) {
            ck_error("tta", "unknown view '%.*s' in '%s' (known: none, flip, shift)", (int)n, p, spec);
            return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    int k = 0;
    views[k++] = CK_VIEW_ORIGINAL;
    if (flip)
        views[k++] = CK_VIEW_FLIP;
    if (shift) {
        views[k++] = CK_VIEW_SHIFT_DOWN;
        views[k++] = CK_VIEW_SHIFT_UP;
    }
    return k;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void ck_tta_apply(ck_view v, const unsigned char *src, unsigned char *dst, int n, int size)
{
    size_t plane = (size_t)size * (size_t)size * 3;
    int d = size / 16 > 1 ? size / 16 : 1;
    if (v == CK_VIEW_SHIFT_UP)
        d = -d;
    for (int i = 0; i < n; i++) {
        const unsigned char *s = src + (size_t)i * plane;
        unsigned char *o = dst + (size_t)i * plane;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int sx = x, sy = y;
                if (v == CK_VIEW_FLIP)
                    sx = size - 1 - x;
                else if (v != CK_VIEW_ORIGINAL) {
                    /* Output (x, y) shows input (x - d, y - d): content moves by +d. */
                    sx = clampi(x - d, 0, size - 1);
                    sy = clampi(y - d, 0, size - 1);
                }
                memcpy(o + ((size_t)y * size + x) * 3, s + ((size_t)sy * size + sx) * 3, 3);
            }
        }
    }
}
