/* The augmentation operations on pixels: spec parsing, exact flips, shifts
 * with every fill mode, 90° rotations, erasing and crop ranges. */
#include "check.h"

#include "ck/augment.h"
#include "ck/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W 17
#define H 17

static uint8_t src[H * W * 3];

static void make_source(void)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = src + (y * W + x) * 3;
            p[0] = (uint8_t)(x * 13 + 1);
            p[1] = (uint8_t)(y * 11 + 2);
            p[2] = (uint8_t)(x * y + 3);
        }
}

static const uint8_t *px(const uint8_t *img, int w, int x, int y)
{
    return img + ((size_t)y * w + x) * 3;
}

static int same_px(const uint8_t *a, const uint8_t *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

/* Identity parameters for a W×H → W×H copy. */
static ck_aug_params base_params(void)
{
    ck_aug_params p;
    memset(&p, 0, sizeof p);
    p.in_w = p.out_w = p.crop_w = W;
    p.in_h = p.out_h = p.crop_h = H;
    ck_aug_params_update(&p);
    return p;
}

static void test_spec(void)
{
    const char *good[] = {
        "", "none", "crop=0.8:1,rotate=15,flip=h,shift=0.1,erase=0.5,fill=reflect",
        "crop=0.5", "crop=0.08:1:0.75:1.3333", "flip=hv", "flip=v:0.2", "flip=h:0.3+v:0.1",
        "shift=4", "shift=0.1:0.2", "erase=0.5:0.02:0.2", "erase=1:0.1:0.2:0.5:2",
        "erase_fill=noise,erase=0.5", "erase-fill=124:116:104", "fill=constant:7",
        "fill=constant:1:2:3", "fill=wrap", "size=64x48", "size=224", " rotate = 5 ",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_aug_spec *s = ck_aug_spec_parse(good[i]);
        CHECK(s != NULL);
        if (!s) {
            fprintf(stderr, "rejected good spec '%s': %s", good[i], ck_error_buffer());
            ck_error_clear();
            continue;
        }
        /* The canonical form parses back to the same canonical form. */
        char *a = ck_aug_spec_to_string(s);
        ck_aug_spec *s2 = ck_aug_spec_parse(a);
        CHECK(s2 != NULL);
        char *b = s2 ? ck_aug_spec_to_string(s2) : NULL;
        CHECK(b && !strcmp(a, b));
        free(a);
        free(b);
        ck_aug_spec_free(s);
        ck_aug_spec_free(s2);
    }
    const char *bad[] = {
        "rotat=3", "crop=0", "crop=0.9:0.5", "crop=1.5", "crop=0.5:1:2:1", "rotate=-1",
        "rotate=abc", "flip=x", "flip=h:2", "flip=h+", "shift=-0.1", "shift=1.5",
        "erase=2", "erase=0.5:0.3", "erase-fill=blue", "fill=mirror", "fill=constant:300",
        "size=0x3", "size=3y4", "crop=0.5,,rotate=3", "rotate", "rotate=5,", "rotate=nan",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_error_clear();
        ck_aug_spec *s = ck_aug_spec_parse(bad[i]);
        CHECK(s == NULL);
        /* The message quotes the offending spec. */
        CHECK(strstr(ck_error_buffer(), "bad token") != NULL);
        ck_aug_spec_free(s);
    }
    ck_error_clear();
    ck_aug_spec *s = ck_aug_spec_parse("erase=0.5,rotate=10.0,flip=h:0.5,crop=0.8:1");
    char *c = ck_aug_spec_to_string(s);
    CHECK(!strcmp(c, "crop=0.8:1,rotate=10,flip=h,erase=0.5"));
    free(c);
    CHECK(!ck_aug_spec_is_identity(s));
    ck_aug_spec_free(s);
    s = ck_aug_spec_parse("rotate=3,rotate=0,size=32x16"); /* the last one wins */
    CHECK(ck_aug_spec_is_identity(s));
    int sw = 0, sh = 0;
    CHECK(ck_aug_spec_size(s, &sw, &sh) == 1 && sw == 32 && sh == 16);
    ck_aug_spec_free(s);
    ck_aug_spec_free(NULL);
}

static void test_identity_and_flips(void)
{
    uint8_t out[H * W * 3];
    ck_aug_spec *s = ck_aug_spec_parse("");
    ck_aug_params p = base_params();
    CHECK(ck_aug_render_rgb(s, &p, src, out) == 0);
    CHECK(memcmp(out, src, sizeof out) == 0);

    p.flip_h = 1;
    ck_aug_params_update(&p);
    ck_aug_render_rgb(s, &p, src, out);
    int bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            bad += !same_px(px(out, W, x, y), px(src, W, W - 1 - x, y));
    CHECK(bad == 0);

    p.flip_h = 0;
    p.flip_v = 1;
    ck_aug_params_update(&p);
    ck_aug_render_rgb(s, &p, src, out);
    bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            bad += !same_px(px(out, W, x, y), px(src, W, x, H - 1 - y));
    CHECK(bad == 0);
    ck_aug_spec_free(s);
}

/* Expected source index for an out-of-range coordinate, written
 * independently of the library's arithmetic. */
static int expect_index(int i, int n, const char *mode)
{
    if (!strcmp(mode, "nearest"))
        return i < 0 ? 0 : i >= n ? n - 1 : i;
    if (!strcmp(mode, "wrap"))
        return ((i % n) + n) % n;
    /* reflect: ... c b a | a b c ... | c b a */
    while (i < 0 || i >= n)
        i = i < 0 ? -i - 1 : 2 * n - 1 - i;
    return i;
}

static void test_shifts(void)
{
    const char *modes[] = {"nearest", "reflect", "wrap", "constant:9:8:7"};
    const int shifts[][2] = {{3, -2}, {-5, 4}, {0, 1}, {16, 0}, {-20, 25}};
    uint8_t out[H * W * 3];
    for (size_t m = 0; m < 4; m++) {
        char spec[64];
        snprintf(spec, sizeof spec, "fill=%s", modes[m]);
        ck_aug_spec *s = ck_aug_spec_parse(spec);
        CHECK(s != NULL);
        for (size_t k = 0; k < sizeof shifts / sizeof *shifts; k++) {
            ck_aug_params p = base_params();
            p.shift_x = shifts[k][0];
            p.shift_y = shifts[k][1];
            ck_aug_params_update(&p);
            ck_aug_render_rgb(s, &p, src, out);
            int bad = 0;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    int sx = x - shifts[k][0], sy = y - shifts[k][1];
                    const uint8_t *o = px(out, W, x, y);
                    if (m == 3) {
                        static const uint8_t c[3] = {9, 8, 7};
                        int inside = sx >= 0 && sx < W && sy >= 0 && sy < H;
                        bad += !same_px(o, inside ? px(src, W, sx, sy) : c);
                    } else {
                        bad += !same_px(o, px(src, W, expect_index(sx, W, modes[m]),
                                              expect_index(sy, H, modes[m])));
                    }
                }
            if (bad)
                fprintf(stderr, "shift %d,%d fill=%s: %d wrong pixels\n", shifts[k][0],
                        shifts[k][1], modes[m], bad);
            CHECK(bad == 0);
        }
        ck_aug_spec_free(s);
    }
}

static void test_rotations(void)
{
    uint8_t out[H * W * 3];
    ck_aug_spec *s = ck_aug_spec_parse("fill=constant");
    for (int q = -1; q <= 4; q++) {
        ck_aug_params p = base_params();
        p.angle = 90.0 * q;
        ck_aug_params_update(&p);
        ck_aug_render_rgb(s, &p, src, out);
        int bad = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                /* Counter-clockwise quarter turns as transposes and flips. */
                int sx, sy;
                switch (((q % 4) + 4) % 4) {
                case 0: sx = x; sy = y; break;
                case 1: sx = W - 1 - y; sy = x; break;
                case 2: sx = W - 1 - x; sy = H - 1 - y; break;
                default: sx = y; sy = H - 1 - x; break;
                }
                bad += !same_px(px(out, W, x, y), px(src, W, sx, sy));
            }
        if (bad)
            fprintf(stderr, "rotation %d: %d wrong pixels\n", 90 * q, bad);
        CHECK(bad == 0);
    }
    /* A small rotation keeps the centre pixel (odd size: exact centre). */
    ck_aug_params p = base_params();
    p.angle = 7;
    ck_aug_params_update(&p);
    ck_aug_render_rgb(s, &p, src, out);
    CHECK(same_px(px(out, W, W / 2, H / 2), px(src, W, W / 2, H / 2)));
    ck_aug_spec_free(s);
}

static void test_erase(void)
{
    enum { EW = 40, EH = 30 };
    static uint8_t big[EH * EW * 3], out[EH * EW * 3];
    memset(big, 200, sizeof big);
    ck_aug_spec *s = ck_aug_spec_parse("erase=0.5:0.1:0.2,erase-fill=0");
    int erased = 0, n = 1000, bad_area = 0, bad_pixels = 0;
    for (int i = 0; i < n; i++) {
        ck_rng r = ck_rng_make(7, (uint64_t)i, 0);
        ck_aug_params p;
        ck_aug_sample(s, EW, EH, EW, EH, &r, &p);
        ck_aug_render_rgb(s, &p, big, out);
        int zeros = 0;
        for (int k = 0; k < EW * EH; k++)
            zeros += out[3 * k] == 0 && out[3 * k + 1] == 0 && out[3 * k + 2] == 0;
        if (!p.erase) {
            bad_pixels += zeros != 0;
            continue;
        }
        erased++;
        bad_pixels += zeros != p.erase_w * p.erase_h;
        /* Area within the range up to the rounding of each side. */
        double a = (double)p.erase_w * p.erase_h, A = EW * EH;
        double slack = p.erase_w + p.erase_h + 1;
        bad_area += a < 0.1 * A - slack || a > 0.2 * A + slack;
        bad_area += p.erase_x < 0 || p.erase_y < 0 || p.erase_x + p.erase_w > EW ||
                    p.erase_y + p.erase_h > EH;
    }
    CHECK(bad_area == 0);
    CHECK(bad_pixels == 0);
    CHECK(erased > 440 && erased < 560);
    ck_aug_spec_free(s);

    /* mean fill: the box gets the image's mean colour; noise: varied. */
    s = ck_aug_spec_parse("erase=1:0.3:0.3:1:1");
    ck_rng r = ck_rng_make(1, 2, 3);
    CHECK(ck_aug_apply_rgb(s, big, EW, EH, out, EW, EH, &r) == 0);
    CHECK(memcmp(out, big, sizeof out) == 0);
    ck_aug_spec_free(s);
    s = ck_aug_spec_parse("erase=1:0.3:0.3:1:1,erase-fill=noise");
    r = ck_rng_make(1, 2, 3);
    ck_aug_apply_rgb(s, big, EW, EH, out, EW, EH, &r);
    int changed = 0;
    for (size_t k = 0; k < sizeof out; k++)
        changed += out[k] != 200;
    CHECK(changed > (int)(0.25 * EW * EH * 3));
    ck_aug_spec_free(s);
}

static void test_crop(void)
{
    const double smin = 0.3, smax = 0.6, rmin = 0.5, rmax = 2.0;
    ck_aug_spec *s = ck_aug_spec_parse("crop=0.3:0.6:0.5:2");
    int bad = 0, fallback = 0;
    double lo = 1, hi = 0;
    for (int i = 0; i < 2000; i++) {
        ck_rng r = ck_rng_make(3, (uint64_t)i, 1);
        ck_aug_params p;
        ck_aug_sample(s, 64, 48, 32, 32, &r, &p);
        bad += p.crop_x < 0 || p.crop_y < 0 || p.crop_x + p.crop_w > 64 ||
               p.crop_y + p.crop_h > 48 || p.out_w != 32 || p.out_h != 32;
        double area = (double)p.crop_w * p.crop_h / (64.0 * 48.0);
        double aspect = (double)p.crop_w / p.crop_h;
        /* Rounding each side to whole pixels moves area and aspect a bit. */
        double ea = (p.crop_w + p.crop_h + 1) / (64.0 * 48.0);
        double er = aspect * (1.0 / p.crop_w + 1.0 / p.crop_h);
        if (area < smin - ea || area > smax + ea || aspect < rmin - er || aspect > rmax + er)
            fallback++;
        if (area < lo)
            lo = area;
        if (area > hi)
            hi = area;
    }
    CHECK(bad == 0);
    CHECK(fallback == 0);
    CHECK(lo < smin + 0.05 && hi > smax - 0.05); /* the whole range is used */
    ck_aug_spec_free(s);

    /* A crop with the output the crop's size copies pixels exactly. */
    s = ck_aug_spec_parse("");
    ck_aug_params p = base_params();
    p.crop_x = 3;
    p.crop_y = 5;
    p.crop_w = p.out_w = 8;
    p.crop_h = p.out_h = 6;
    ck_aug_params_update(&p);
    uint8_t out[8 * 6 * 3];
    ck_aug_render_rgb(s, &p, src, out);
    int wrong = 0;
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 8; x++)
            wrong += !same_px(px(out, 8, x, y), px(src, W, x + 3, y + 5));
    CHECK(wrong == 0);
    ck_aug_spec_free(s);
}

/* Regression (fuzz-augspec): aspect ratios that the parser accepts but no
 * image can have gave crop and erase sides outside int (undefined
 * behaviour, reported by UBSan's float-cast-overflow). Every box must still
 * lie inside its image. */
static void test_extreme_aspect(void)
{
    static const char *const specs[] = {"crop=0.08:1:0.75:1e30", "crop=0.5:1:1e-30:1e-29",
                                        "erase=1:0.02:0.33:1e-30:1e30", "erase=1:0.5:1:1e300:1e300"};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        ck_aug_spec *s = ck_aug_spec_parse(specs[k]);
        CHECK(s != NULL);
        int bad = 0;
        for (int i = 0; s && i < 200; i++) {
            ck_rng r = ck_rng_make(5, (uint64_t)i, 0);
            ck_aug_params p;
            bad += ck_aug_sample(s, 64, 48, 32, 24, &r, &p) != 0;
            bad += p.crop_w < 1 || p.crop_h < 1 || p.crop_x < 0 || p.crop_y < 0 ||
                   p.crop_x + p.crop_w > 64 || p.crop_y + p.crop_h > 48;
            bad += p.erase && (p.erase_w < 1 || p.erase_h < 1 || p.erase_x < 0 || p.erase_y < 0 ||
                               p.erase_x + p.erase_w > 32 || p.erase_y + p.erase_h > 24);
        }
        CHECK(bad == 0);
        ck_aug_spec_free(s);
    }
}

static void test_determinism(void)
{
    ck_aug_spec *s = ck_aug_spec_parse("crop=0.5:1,rotate=20,flip=hv,shift=0.2,erase=0.7,erase-fill=noise,fill=reflect");
    enum { OW = 24, OH = 20 };
    uint8_t a[OW * OH * 3], b[OW * OH * 3];
    ck_rng r1 = ck_rng_make(11, 5, 2), r2 = ck_rng_make(11, 5, 2), r3 = ck_rng_make(12, 5, 2);
    ck_aug_apply_rgb(s, src, W, H, a, OW, OH, &r1);
    ck_aug_apply_rgb(s, src, W, H, b, OW, OH, &r2);
    CHECK(memcmp(a, b, sizeof a) == 0);
    ck_aug_apply_rgb(s, src, W, H, b, OW, OH, &r3);
    CHECK(memcmp(a, b, sizeof a) != 0);
    ck_rng r4 = ck_rng_make(11, 5, 2);
    ck_aug_params p;
    ck_aug_sample(s, W, H, OW, OH, &r4, &p);
    char *json = ck_aug_params_json(&p);
    CHECK(json && json[0] == '{' && strstr(json, "\"crop\":["));
    free(json);
    /* Bad sizes are errors, not crashes. */
    ck_rng r5 = ck_rng_make(1, 1, 1);
    CHECK(ck_aug_apply_rgb(s, src, 0, H, a, OW, OH, &r5) == -1);
    CHECK(ck_aug_apply_rgb(s, src, W, H, a, 0, OH, &r5) == -1);
    ck_error_clear();
    ck_aug_spec_free(s);
}

int main(void)
{
    make_source();
    test_spec();
    test_identity_and_flips();
    test_shifts();
    test_rotations();
    test_erase();
    test_crop();
    test_extreme_aspect();
    test_determinism();
    return check_report("test-augment-ops");
}
