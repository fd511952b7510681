/* Drawing the random parameters of one copy, and composing crop, resize,
 * rotation, shift and flips into one inverse affine map. */
#include "aug_internal.h"

#include "ck/error.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Uniform integer in [lo, hi] (Python's randint(lo, hi+1) in torch). */
static int rand_int(ck_rng *r, int lo, int hi)
{
    return lo + (int)ck_rng_below(r, (uint32_t)(hi - lo + 1));
}

/* A side length in pixels, rounded half-even (Python's round()). Extreme
 * aspect ratios of a spec give sides far outside int: they are clamped,
 * and the callers' range checks then reject them. */
static int round_side(double x)
{
    x = nearbyint(x);
    return !(x >= 0) ? 0 : x > INT_MAX ? INT_MAX : (int)x;
}

/* torchvision RandomResizedCrop.get_params: 10 tries, then a centre crop
 * with the aspect clamped to the range. Python's round() is
 * round-half-even, hence nearbyint(). */
static void sample_crop(const ck_aug_spec *s, ck_rng *r, ck_aug_params *p)
{
    int W = p->in_w, H = p->in_h;
    double area = (double)W * H;
    double lr0 = log(s->crop_rmin), lr1 = log(s->crop_rmax);
    for (int t = 0; t < 10; t++) {
        double target = area * ck_rng_range(r, s->crop_smin, s->crop_smax);
        double aspect = exp(lr0 < lr1 ? ck_rng_range(r, lr0, lr1) : lr0);
        int w = round_side(sqrt(target * aspect));
        int h = round_side(sqrt(target / aspect));
        if (w > 0 && w <= W && h > 0 && h <= H) {
            p->crop_y = rand_int(r, 0, H - h);
            p->crop_x = rand_int(r, 0, W - w);
            p->crop_w = w;
            p->crop_h = h;
            return;
        }
    }
    double in_ratio = (double)W / H;
    int w = W, h = H;
    if (in_ratio < s->crop_rmin)
        h = round_side(w / s->crop_rmin);
    else if (in_ratio > s->crop_rmax)
        w = round_side(h * s->crop_rmax);
    if (w < 1)
        w = 1;
    if (h < 1)
        h = 1;
    p->crop_w = w;
    p->crop_h = h;
    p->crop_x = (W - w) / 2;
    p->crop_y = (H - h) / 2;
}

static double sample_shift(ck_rng *r, double f, int size)
{
    if (f <= 0)
        return 0;
    if (f >= 1) {
        int n = (int)f;
        return rand_int(r, -n, n);
    }
    return ck_rng_range(r, -f, f) * size;
}

/* torchvision RandomErasing.get_params on the output image; a box that
 * rounds to zero pixels counts as a failed try. */
static void sample_erase(const ck_aug_spec *s, ck_rng *r, ck_aug_params *p)
{
    int W = p->out_w, H = p->out_h;
    if (ck_rng_uniform_double(r) >= s->erase)
        return;
    double area = (double)W * H;
    double lr0 = log(s->erase_rmin), lr1 = log(s->erase_rmax);
    for (int t = 0; t < 10; t++) {
        double target = area * ck_rng_range(r, s->erase_smin, s->erase_smax);
        double aspect = exp(lr0 < lr1 ? ck_rng_range(r, lr0, lr1) : lr0);
        int h = round_side(sqrt(target * aspect));
        int w = round_side(sqrt(target / aspect));
        if (!(h < H && w < W) || h < 1 || w < 1)
            continue;
        p->erase_y = rand_int(r, 0, H - h);
        p->erase_x = rand_int(r, 0, W - w);
        p->erase_w = w;
        p->erase_h = h;
        p->erase = 1;
        return;
    }
}

int ck_aug_sample(const ck_aug_spec *s, int in_w, int in_h, int out_w, int out_h,
                  ck_rng *rng, ck_aug_params *p)
{
    if (in_w < 1 || in_h < 1) {
        ck_error("augment", "bad input size %dx%d", in_w, in_h);
        return -1;
    }
    if (out_w <= 0 || out_h <= 0) {
        if (!ck_aug_spec_size(s, &out_w, &out_h)) {
            out_w = in_w;
            out_h = in_h;
        }
    }
    memset(p, 0, sizeof *p);
    p->in_w = in_w;
    p->in_h = in_h;
    p->out_w = out_w;
    p->out_h = out_h;
    p->crop_w = in_w;
    p->crop_h = in_h;
    if (s) {
        /* Fixed draw order: crop, angle, shift, flips, erase, noise seed.
         * Disabled operations draw nothing. */
        if (s->crop)
            sample_crop(s, rng, p);
        if (s->rotate > 0)
            p->angle = ck_rng_range(rng, -s->rotate, s->rotate);
        if (s->shift) {
            p->shift_x = sample_shift(rng, s->shift_x, out_w);
            p->shift_y = sample_shift(rng, s->shift_y, out_h);
        }
        if (s->flip_h > 0)
            p->flip_h = ck_rng_uniform_double(rng) < s->flip_h;
        if (s->flip_v > 0)
            p->flip_v = ck_rng_uniform_double(rng) < s->flip_v;
        if (s->erase > 0) {
            sample_erase(s, rng, p);
            if (p->erase && s->erase_fill == CK_ERASE_NOISE)
                p->noise_seed = ck_rng_u64(rng);
        }
    }
    ck_aug_params_update(p);
    return 0;
}

void ck_aug_params_update(ck_aug_params *p)
{
    double W = p->out_w, H = p->out_h;
    /* Snap multiples of 90° so that they resample exactly. */
    double c, s;
    double q = p->angle / 90.0;
    if (fabs(q - nearbyint(q)) < 1e-9) {
        static const double cs[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
        int k = (int)(((long)nearbyint(q) % 4 + 4) % 4);
        c = cs[k][0];
        s = cs[k][1];
    } else {
        double rad = p->angle * (M_PI / 180.0);
        c = cos(rad);
        s = sin(rad);
    }
    /* Output centre u' -> undo flip (u1 = a·u' + b) -> undo shift -> undo
     * the counter-clockwise rotation about the centre -> crop/resize. */
    double au = p->flip_h ? -1 : 1, bu = p->flip_h ? W : 0;
    double av = p->flip_v ? -1 : 1, bv = p->flip_v ? H : 0;
    double cx = W / 2, cy = H / 2;
    double kx = (double)p->crop_w / W, ky = (double)p->crop_h / H;
    double du = bu - p->shift_x - cx, dv = bv - p->shift_y - cy;
    p->m[0] = kx * c * au;
    p->m[1] = -kx * s * av;
    p->m[2] = kx * (cx + c * du - s * dv) + p->crop_x;
    p->m[3] = ky * s * au;
    p->m[4] = ky * c * av;
    p->m[5] = ky * (cy + s * du + c * dv) + p->crop_y;
}

char *ck_aug_params_json(const ck_aug_params *p)
{
    char erase[96] = "null";
    if (p->erase)
        snprintf(erase, sizeof erase, "[%d,%d,%d,%d]", p->erase_x, p->erase_y, p->erase_w,
                 p->erase_h);
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"in\":[%d,%d],\"out\":[%d,%d],\"crop\":[%d,%d,%d,%d],\"angle\":%.4f,"
             "\"shift\":[%.4f,%.4f],\"flip\":[%d,%d],\"erase\":%s}",
             p->in_w, p->in_h, p->out_w, p->out_h, p->crop_x, p->crop_y, p->crop_w, p->crop_h,
             p->angle, p->shift_x, p->shift_y, p->flip_h, p->flip_v, erase);
    char *r = strdup(buf);
    if (!r)
        ck_error("augment", "out of memory");
    return r;
}
