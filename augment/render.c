/* One bilinear resample through the composed affine map, then erasing.
 * Written directly on RGB8 buffers: for small images this is far cheaper than
 * building a libvips pipeline, and it gives exact control of the fill modes. */
#include "aug_internal.h"

#include "ck/error.h"

#include <math.h>
#include <string.h>

/* Bilinear weights in 11-bit fixed point: integer sample positions give
 * weight 2048/0, i.e. an exact copy of the source pixel. */
#define WBITS 11
#define WONE (1 << WBITS)

/* Map an out-of-range index into [0, n) for the fill modes. */
static inline int fix_index(int i, int n, int mode)
{
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case CK_FILL_REFLECT: { /* dcba|abcd: period 2n, mirrored half */
        int m = i % (2 * n);
        if (m < 0)
            m += 2 * n;
        return m < n ? m : 2 * n - 1 - m;
    }
    case CK_FILL_WRAP: {
        int m = i % n;
        return m < 0 ? m + n : m;
    }
    default: /* nearest, and the inside of a constant-filled border */
        return i < 0 ? 0 : n - 1;
    }
}

/* floor() into an int, with the fraction as a fixed-point weight. Large
 * coordinates are clamped first so that the int conversion stays defined. */
static inline int split_coord(double x, int *w)
{
    if (x < -1e8)
        x = -1e8;
    if (x > 1e8)
        x = 1e8;
    double f = floor(x);
    int wi = (int)lrint((x - f) * WONE);
    int i = (int)f;
    if (wi == WONE) {
        i++;
        wi = 0;
    }
    *w = wi;
    return i;
}

static void resample(const ck_aug_spec *s, const ck_aug_params *p, const uint8_t *src,
                     uint8_t *dst)
{
    const int W = p->in_w, H = p->in_h, OW = p->out_w, OH = p->out_h;
    const double *m = p->m;
    const int mode = s ? s->fill : CK_FILL_NEAREST;
    const uint8_t *cval = s ? s->fill_value : (const uint8_t *)"\0\0\0";
    for (int v = 0; v < OH; v++) {
        /* Sample positions in index space (pixel centres at integers). */
        double vy = v + 0.5;
        double x = m[0] * 0.5 + m[1] * vy + m[2] - 0.5;
        double y = m[3] * 0.5 + m[4] * vy + m[5] - 0.5;
        uint8_t *out = dst + (size_t)v * OW * 3;
        for (int u = 0; u < OW; u++, x += m[0], y += m[3], out += 3) {
            if (mode == CK_FILL_CONSTANT &&
                (x < -0.5 || x >= W - 0.5 || y < -0.5 || y >= H - 0.5)) {
                out[0] = cval[0];
                out[1] = cval[1];
                out[2] = cval[2];
                continue;
            }
            int wx, wy;
            int x0 = split_coord(x, &wx), y0 = split_coord(y, &wy);
            const uint8_t *a, *b, *c, *d;
            if (x0 >= 0 && x0 + 1 < W && y0 >= 0 && y0 + 1 < H) {
                a = src + ((size_t)y0 * W + x0) * 3;
                b = a + 3;
                c = a + (size_t)W * 3;
                d = c + 3;
            } else {
                int xa = fix_index(x0, W, mode), xb = fix_index(x0 + 1, W, mode);
                int ya = fix_index(y0, H, mode), yb = fix_index(y0 + 1, H, mode);
                a = src + ((size_t)ya * W + xa) * 3;
                b = src + ((size_t)ya * W + xb) * 3;
                c = src + ((size_t)yb * W + xa) * 3;
                d = src + ((size_t)yb * W + xb) * 3;
            }
            int ix = WONE - wx, iy = WONE - wy;
            for (int k = 0; k < 3; k++) {
                int top = a[k] * ix + b[k] * wx;
                int bot = c[k] * ix + d[k] * wx;
                out[k] = (uint8_t)((top * iy + bot * wy + (1 << (2 * WBITS - 1))) >> (2 * WBITS));
            }
        }
    }
}

static void erase_box(const ck_aug_spec *s, const ck_aug_params *p, uint8_t *dst)
{
    const int OW = p->out_w;
    uint8_t color[3] = {0, 0, 0};
    if (s->erase_fill == CK_ERASE_CONSTANT) {
        memcpy(color, s->erase_value, 3);
    } else if (s->erase_fill == CK_ERASE_MEAN) {
        uint64_t sum[3] = {0, 0, 0};
        size_t n = (size_t)p->out_w * p->out_h;
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 3; k++)
                sum[k] += dst[i * 3 + k];
        for (int k = 0; k < 3; k++)
            color[k] = (uint8_t)((sum[k] + n / 2) / n);
    }
    ck_rng noise = ck_rng_make(p->noise_seed, 0, 0);
    for (int y = p->erase_y; y < p->erase_y + p->erase_h; y++) {
        uint8_t *row = dst + ((size_t)y * OW + p->erase_x) * 3;
        int n = p->erase_w * 3;
        if (s->erase_fill == CK_ERASE_NOISE) {
            for (int i = 0; i < n; i++)
                row[i] = (uint8_t)(ck_rng_u32(&noise) >> 24);
        } else {
            for (int i = 0; i < n; i += 3)
                memcpy(row + i, color, 3);
        }
    }
}

int ck_aug_render_rgb(const ck_aug_spec *s, const ck_aug_params *p, const uint8_t *src,
                      uint8_t *dst)
{
    if (!src || !dst || p->in_w < 1 || p->in_h < 1 || p->out_w < 1 || p->out_h < 1) {
        ck_error("augment", "bad image buffers or sizes");
        return -1;
    }
    resample(s, p, src, dst);
    if (s && p->erase && p->erase_w > 0 && p->erase_h > 0 && p->erase_x >= 0 &&
        p->erase_y >= 0 && p->erase_x + p->erase_w <= p->out_w &&
        p->erase_y + p->erase_h <= p->out_h)
        erase_box(s, p, dst);
    return 0;
}

int ck_aug_apply_rgb(const ck_aug_spec *s, const uint8_t *src, int in_w, int in_h,
                     uint8_t *dst, int out_w, int out_h, ck_rng *rng)
{
    ck_aug_params p;
    if (out_w < 1 || out_h < 1) {
        ck_error("augment", "bad output size %dx%d", out_w, out_h);
        return -1;
    }
    if (ck_aug_sample(s, in_w, in_h, out_w, out_h, rng, &p))
        return -1;
    return ck_aug_render_rgb(s, &p, src, dst);
}
