/* Procedural images for synthetic contests (see ck/synth.h).
 *
 * Everything is drawn with signed distances in pixel units, so coverage
 * clamp(0.5 - d, 0, 1) gives one pixel of anti-aliasing at any size. */
#include "ck/synth.h"

#include "ck/error.h"
#include "ck/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_SHAPES = 8, N_TEXTURES = 5, N_PALETTES = 7 };

static const char *const shape_names[N_SHAPES] = {"circle", "square", "triangle", "cross",
                                                  "ring", "star", "crescent", "frame"};
static const char *const texture_names[N_TEXTURES] = {"plain", "stripes", "checks", "dots", "noise"};
static const char *const palette_names[N_PALETTES] = {"red", "orange", "yellow", "green",
                                                      "cyan", "blue", "purple"};
/* Hue (degrees) of each palette; spaced so jitter never crosses into a
 * neighbour. */
static const float palette_hue[N_PALETTES] = {0, 30, 58, 120, 185, 228, 282};

#define PI_F 3.14159265358979f

int ck_synth_class_name(int cls, char *buf, size_t bufsize)
{
    if (cls < 0 || cls >= CK_SYNTH_MAX_CLASSES || !buf) {
        ck_error("synth", "class %d out of range (0..%d)", cls, CK_SYNTH_MAX_CLASSES - 1);
        return -1;
    }
    snprintf(buf, bufsize, "%s_%s_%s", palette_names[cls % N_PALETTES], shape_names[cls % N_SHAPES],
             texture_names[cls % N_TEXTURES]);
    return 0;
}

typedef struct {
    float r, g, b;
} rgbf;

static rgbf hsv(float h, float s, float v)
{
    h = fmodf(h, 360.0f);
    if (h < 0)
        h += 360.0f;
    float c = v * s, x = c * (1.0f - fabsf(fmodf(h / 60.0f, 2.0f) - 1.0f)), m = v - c;
    rgbf o;
    switch ((int)(h / 60.0f)) {
    case 0: o = (rgbf){c, x, 0}; break;
    case 1: o = (rgbf){x, c, 0}; break;
    case 2: o = (rgbf){0, c, x}; break;
    case 3: o = (rgbf){0, x, c}; break;
    case 4: o = (rgbf){x, 0, c}; break;
    default: o = (rgbf){c, 0, x}; break;
    }
    return (rgbf){(o.r + m) * 255.0f, (o.g + m) * 255.0f, (o.b + m) * 255.0f};
}

static rgbf mix(rgbf a, rgbf b, float t)
{
    return (rgbf){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

static float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Signed distance (in units of the shape radius, negative inside) of the
 * unit shape at local point (u, v). Convex polygons use the max of edge
 * distances: exact along edges, which is where anti-aliasing matters. */
static float shape_sdf(int shape, float u, float v)
{
    float au = fabsf(u), av = fabsf(v), len = sqrtf(u * u + v * v);
    switch (shape) {
    case 0: /* circle */
        return len - 0.9f;
    case 1: /* square */
        return fmaxf(au, av) - 0.78f;
    case 2: { /* triangle, apothem 0.55 */
        float d = -1e9f;
        for (int k = 0; k < 3; k++) {
            float a = PI_F / 2 + k * 2 * PI_F / 3;
            d = fmaxf(d, u * cosf(a) + v * sinf(a) - 0.55f);
        }
        return d;
    }
    case 3: /* cross */
        return fminf(fmaxf(au - 0.95f, av - 0.3f), fmaxf(au - 0.3f, av - 0.95f));
    case 4: /* ring */
        return fabsf(len - 0.72f) - 0.24f;
    case 5: { /* five-pointed star: radius between notch and tip by angle */
        float a = atan2f(v, u) + PI_F * 2;
        float t = fmodf(a, 2 * PI_F / 5) / (PI_F / 5); /* 0..2, tip at 0 and 2 */
        float rb = 0.42f + 0.58f * fabsf(t - 1.0f);
        return (len - rb) * 0.6f; /* the polar boundary is steeper than its distance */
    }
    case 6: { /* crescent: a disc minus an offset disc */
        float du = u - 0.42f;
        return fmaxf(len - 0.95f, 0.78f - sqrtf(du * du + v * v));
    }
    default: /* frame: square ring */
        return fabsf(fmaxf(au, av) - 0.62f) - 0.2f;
    }
}

/* Texture amount in [0,1] (0 = primary colour, 1 = secondary) at local
 * point (u, v); pixel_r is one pixel in local units, for smoothing. */
static float texture_at(int tex, float u, float v, float pixel_r, ck_rng *r)
{
    const float f = 2.2f * PI_F; /* about 2 periods across the shape radius */
    float s;
    switch (tex) {
    case 1: /* stripes */
        s = sinf(u * f);
        return clampf(0.5f + s / (f * pixel_r * 1.5f), 0, 1);
    case 2: /* checks */
        s = sinf(u * f * 0.8f) * sinf(v * f * 0.8f);
        return clampf(0.5f + s / (f * pixel_r * 1.2f), 0, 1);
    case 3: { /* dots on a lattice */
        float gu = u * 2.2f + 0.25f, gv = v * 2.2f + 0.25f;
        gu -= floorf(gu) + 0.5f;
        gv -= floorf(gv) + 0.5f;
        float d = (sqrtf(gu * gu + gv * gv) - 0.27f) / (2.2f * pixel_r);
        return clampf(0.5f - d, 0, 1);
    }
    case 4: /* noise */
        return ck_rng_uniform(r) < 0.5f ? 0.0f : 1.0f;
    default:
        return 0.0f;
    }
}

static float seg_dist(float px, float py, const float *s)
{
    float dx = s[2] - s[0], dy = s[3] - s[1];
    float t = clampf(((px - s[0]) * dx + (py - s[1]) * dy) / (dx * dx + dy * dy + 1e-6f), 0, 1);
    float ex = px - s[0] - t * dx, ey = py - s[1] - t * dy;
    return sqrtf(ex * ex + ey * ey);
}

int ck_synth_draw(int cls, uint64_t seed, uint64_t item, int size, uint8_t *rgb)
{
    if (cls < 0 || cls >= CK_SYNTH_MAX_CLASSES) {
        ck_error("synth", "class %d out of range (0..%d)", cls, CK_SYNTH_MAX_CLASSES - 1);
        return -1;
    }
    if (size < 8 || size > 4096 || !rgb) {
        ck_error("synth", "image size %d out of range (8..4096)", size);
        return -1;
    }
    int shape = cls % N_SHAPES, tex = cls % N_TEXTURES, pal = cls % N_PALETTES;
    ck_rng r = ck_rng_make(seed, item, 0);
    float S = (float)size;

    /* Background: a dull colour with a gradient, never saturated enough to
     * be mistaken for a palette. */
    rgbf bg0 = hsv(ck_rng_uniform(&r) * 360.0f, 0.05f + 0.3f * ck_rng_uniform(&r), 0.2f + 0.65f * ck_rng_uniform(&r));
    rgbf bg1 = hsv(ck_rng_uniform(&r) * 360.0f, 0.05f + 0.3f * ck_rng_uniform(&r), 0.2f + 0.65f * ck_rng_uniform(&r));
    float ga = ck_rng_uniform(&r) * 2 * PI_F, gc = cosf(ga) / S, gs = sinf(ga) / S;

    /* Clutter: a few faint strokes. */
    enum { MAX_STROKES = 6 };
    int nstrokes = 2 + (int)ck_rng_below(&r, MAX_STROKES - 1);
    float strokes[MAX_STROKES][4], width[MAX_STROKES], alpha[MAX_STROKES];
    rgbf scol[MAX_STROKES];
    for (int k = 0; k < nstrokes; k++) {
        for (int j = 0; j < 4; j++)
            strokes[k][j] = ck_rng_uniform(&r) * S;
        width[k] = S * (0.015f + 0.03f * ck_rng_uniform(&r));
        alpha[k] = 0.2f + 0.3f * ck_rng_uniform(&r);
        scol[k] = hsv(ck_rng_uniform(&r) * 360.0f, 0.1f + 0.3f * ck_rng_uniform(&r), 0.2f + 0.7f * ck_rng_uniform(&r));
    }

    /* The object: position, scale, rotation and colour jitter. */
    float R = S * (0.22f + 0.13f * ck_rng_uniform(&r));
    float cx = S * 0.5f + (ck_rng_uniform(&r) - 0.5f) * (S - 2.2f * R);
    float cy = S * 0.5f + (ck_rng_uniform(&r) - 0.5f) * (S - 2.2f * R);
    float th = ck_rng_uniform(&r) * 2 * PI_F, ct = cosf(th), st = sinf(th);
    float hue = palette_hue[pal] + (ck_rng_uniform(&r) - 0.5f) * 16.0f;
    rgbf c1 = hsv(hue, 0.7f + 0.3f * ck_rng_uniform(&r), 0.7f + 0.3f * ck_rng_uniform(&r));
    /* Secondary: same hue, dark or pale, so the texture reads at any hue. */
    rgbf c2 = ck_rng_uniform(&r) < 0.5f ? hsv(hue, 0.9f, 0.25f + 0.15f * ck_rng_uniform(&r))
                                        : hsv(hue, 0.15f + 0.15f * ck_rng_uniform(&r), 1.0f);
    float shade = 0.25f * (ck_rng_uniform(&r) - 0.5f); /* light from one side */
    float noise_amp = 4.0f + 10.0f * ck_rng_uniform(&r);
    float gain = 0.88f + 0.24f * ck_rng_uniform(&r);
    float pixel_r = 1.0f / R;

    /* Half the images carry a small plain distractor of any shape and hue,
     * so colour or "is there a blob" alone is not the answer. */
    int has_d = ck_rng_uniform(&r) < 0.5f;
    int d_shape = (int)ck_rng_below(&r, N_SHAPES);
    float dR = R * (0.3f + 0.2f * ck_rng_uniform(&r));
    float dcx = dR + ck_rng_uniform(&r) * (S - 2 * dR), dcy = dR + ck_rng_uniform(&r) * (S - 2 * dR);
    float dth = ck_rng_uniform(&r) * 2 * PI_F, dct = cosf(dth), dst = sinf(dth);
    rgbf dcol = hsv(ck_rng_uniform(&r) * 360.0f, 0.5f + 0.5f * ck_rng_uniform(&r), 0.5f + 0.5f * ck_rng_uniform(&r));
    float dalpha = 0.5f + 0.4f * ck_rng_uniform(&r);

    for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
            float px = x + 0.5f, py = y + 0.5f;
            float g = clampf(0.5f + (px - S / 2) * gc + (py - S / 2) * gs, 0, 1);
            rgbf c = mix(bg0, bg1, g);
            for (int k = 0; k < nstrokes; k++) {
                float cov = clampf(0.5f - (seg_dist(px, py, strokes[k]) - width[k]), 0, 1);
                if (cov > 0)
                    c = mix(c, scol[k], cov * alpha[k]);
            }
            if (has_d) {
                float ex = px - dcx, ey = py - dcy;
                float du = (ex * dct + ey * dst) / dR, dv = (-ex * dst + ey * dct) / dR;
                float dcov = clampf(0.5f - shape_sdf(d_shape, du, dv) * dR, 0, 1);
                if (dcov > 0)
                    c = mix(c, dcol, dcov * dalpha);
            }
            float dx = px - cx, dy = py - cy;
            float u = (dx * ct + dy * st) / R, v = (-dx * st + dy * ct) / R;
            float cov = clampf(0.5f - shape_sdf(shape, u, v) * R, 0, 1);
            if (cov > 0) {
                rgbf o = mix(c1, c2, texture_at(tex, u, v, pixel_r, &r));
                float l = 1.0f + shade * u;
                o = (rgbf){o.r * l, o.g * l, o.b * l};
                c = mix(c, o, cov);
            }
            uint8_t *p = rgb + ((size_t)y * (size_t)size + (size_t)x) * 3;
            float ch[3] = {c.r, c.g, c.b};
            for (int j = 0; j < 3; j++) {
                float n = (ck_rng_uniform(&r) + ck_rng_uniform(&r) - 1.0f) * noise_amp;
                p[j] = (uint8_t)lrintf(clampf(ch[j] * gain + n, 0, 255));
            }
        }
    }
    return 0;
}

int ck_synth_assign(int nclasses, int n, uint64_t seed, uint64_t stream, int *cls)
{
    if (nclasses < 1 || nclasses > CK_SYNTH_MAX_CLASSES || n < 0 || (n && !cls)) {
        ck_error("synth", "number of classes must be 1..%d", CK_SYNTH_MAX_CLASSES);
        return -1;
    }
    /* A stream of its own, far from the per-image items. */
    ck_rng r = ck_rng_make(seed, UINT64_MAX - stream, 0x636b6173u);
    for (int i = 0; i < n; i++)
        cls[i] = i;
    ck_rng_shuffle_int(&r, cls, n);
    for (int i = 0; i < n; i++)
        cls[i] %= nclasses;
    return 0;
}
