/* ck/augment.h — random image augmentation on RGB8 buffers.
 *
 * A spec string describes the random operations; the same string is taken by
 * ck-augment (--aug) and ck-finetune (--aug) and stored in checkpoints in its
 * canonical form. Comma-separated KEY=VALUE tokens, any order, e.g.
 *
 *   crop=0.8:1,rotate=15,flip=h,shift=0.1,erase=0.5,fill=reflect
 *
 *   crop=SMIN[:SMAX[:RMIN:RMAX]]  random resized crop (torchvision
 *                     RandomResizedCrop): area fraction in [SMIN,SMAX]
 *                     (SMAX default 1), aspect w/h log-uniform in [RMIN,RMAX]
 *                     (default 3/4:4/3); 10 tries, then a centre crop.
 *   rotate=DEG        angle uniform in [-DEG, DEG], counter-clockwise,
 *                     about the image centre.
 *   flip=h|v|hv       horizontal/vertical flip with probability 0.5 each;
 *                     h:P / v:P give probabilities, joined by '+':
 *                     flip=h:0.5+v:0.1
 *   shift=F[:FY]      translation uniform in ±F·width and ±FY·height (FY
 *                     defaults to F); F >= 1 means whole pixels (uniform
 *                     integer in [-F, F]), like Keras' width_shift_range.
 *   erase=P[:SMIN:SMAX[:RMIN:RMAX]]  random erasing (torchvision
 *                     RandomErasing) with probability P, area fraction
 *                     [SMIN,SMAX] (default 0.02:0.33), aspect h/w
 *                     log-uniform (default 0.3:3.3), up to 10 tries.
 *   erase-fill=mean|noise|V|R:G:B  what fills the erased box: the image's
 *                     mean colour (default), uniform random bytes, or a
 *                     constant. 124:116:104 reproduces torchvision's value=0
 *                     applied after ImageNet normalisation.
 *   fill=nearest|reflect|wrap|constant[:V|:R:G:B]  uncovered pixels (Keras
 *                     fill_mode names; default nearest): nearest = aaa|abcd,
 *                     reflect = dcba|abcd, wrap = abcd|abcd, constant = V
 *                     (default 0) with a hard edge.
 *   size=WxH          output size for ck-augment (default: the input's
 *                     size); the trainer passes its input size explicitly.
 *   none              no operation (also the empty string).
 *
 * Semantics: crop, resize to the output size, rotation, shift and flips are
 * composed into ONE affine map per image and applied with one bilinear
 * resample (flips act last, as in Keras); erasing is then applied to the
 * output. Integer shifts, flips and multiples of 90° come out pixel-exact.
 * Keys may be written with '_' instead of '-'.
 *
 * Determinism: everything random comes from the ck_rng passed in (for the
 * trainer and ck-augment: ck_rng_make(seed, image index, copy/epoch)), so
 * results are the same bytes at any thread count. Specs are immutable after
 * parsing and may be shared by threads.
 */
#ifndef CK_AUGMENT_H
#define CK_AUGMENT_H

#include <stdint.h>
#include <ck/rng.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_aug_spec ck_aug_spec;

/* NULL and an error naming the bad token ("augment: bad token 'rotat=3'
 * in spec ..."). NULL or "" give the identity spec. */
ck_aug_spec *ck_aug_spec_parse(const char *spec);
/* Canonical form (malloc'd; fixed key order, defaults omitted, "none" for
 * the identity). Parsing it gives an equal spec. */
char *ck_aug_spec_to_string(const ck_aug_spec *s);
void ck_aug_spec_free(ck_aug_spec *s);
/* 1 when the spec does nothing random (no crop/rotate/flip/shift/erase). */
int ck_aug_spec_is_identity(const ck_aug_spec *s);
/* The size=WxH of the spec: 1 and *w,*h set, or 0 when absent. */
int ck_aug_spec_size(const ck_aug_spec *s, int *w, int *h);

/* Sampled parameters of one copy (for --dry-run JSON and tests). */
typedef struct ck_aug_params {
    int in_w, in_h, out_w, out_h;
    /* Crop rectangle in input pixels (whole pixels, inside the input). */
    int crop_x, crop_y, crop_w, crop_h;
    double angle;            /* degrees, counter-clockwise */
    double shift_x, shift_y; /* output pixels, + = right / down */
    int flip_h, flip_v;      /* 0/1 */
    int erase;               /* 1 when a box is erased */
    int erase_x, erase_y, erase_w, erase_h;   /* output pixels */
    uint64_t noise_seed;     /* for erase-fill=noise */
    /* The composed inverse map: output pixel centre (u+0.5, v+0.5) maps to
     * input coordinates x = m[0]·u' + m[1]·v' + m[2], y = m[3]·u' + m[4]·v'
     * + m[5] with u' = u+0.5, v' = v+0.5 (pixel centres at k+0.5). Filled
     * by ck_aug_sample() from the fields above (see ck_aug_params_update). */
    double m[6];
} ck_aug_params;

/* Draw the parameters of one copy. out_w/out_h 0: the spec's size, else the
 * input size. Uses the rng in a fixed order. 0 or -1 + error. */
int ck_aug_sample(const ck_aug_spec *s, int in_w, int in_h, int out_w, int out_h,
                  ck_rng *rng, ck_aug_params *p);
/* Recompute p->m after changing the crop/angle/shift/flip fields by hand
 * (tests). Angles that are multiples of 90° are snapped to exact values. */
void ck_aug_params_update(ck_aug_params *p);
/* Render given parameters: src RGB8 p->in_w×p->in_h → dst p->out_w×p->out_h
 * (fill mode and erase fill from the spec). dst must not alias src. */
int ck_aug_render_rgb(const ck_aug_spec *s, const ck_aug_params *p,
                      const uint8_t *src, uint8_t *dst);

/* Memory-to-memory, used by the trainer's loader threads: sample + render.
 * src RGB8 in_w×in_h → dst RGB8 out_w×out_h (one affine resample, then
 * erasing). Thread-safe; allocates nothing. */
int ck_aug_apply_rgb(const ck_aug_spec *s, const uint8_t *src, int in_w, int in_h,
                     uint8_t *dst, int out_w, int out_h, ck_rng *rng);

/* One JSON object (no newline) describing p, malloc'd: {"in":[w,h],
 * "out":[w,h],"crop":[x,y,w,h],"angle":..,"shift":[x,y],"flip":[h,v],
 * "erase":null|[x,y,w,h]}. */
char *ck_aug_params_json(const ck_aug_params *p);

/* ---- test-time augmentation views ----------------------------------- */

/* Views are cheap, deterministic transforms of the resized input; the
 * prediction is the mean of the probabilities over all views (and over all
 * models of an ensemble, each (model, view) pair weighing the same):
 *   CK_VIEW_ORIGINAL   the image as is (always included)
 *   CK_VIEW_FLIP       mirrored left-right
 *   CK_VIEW_SHIFT_DOWN moved by (+d, +d) pixels (right and down),
 *   CK_VIEW_SHIFT_UP   moved by (-d, -d), d = max(1, size / 16); the edge
 *                      row/column is repeated into the uncovered border.
 * A spec lists view groups separated by commas: "none" (original only),
 * "flip" (+ mirror: 2 views), "shift" (+ both shifts: 3 views),
 * "flip,shift" (4 views). */
typedef enum ck_view {
    CK_VIEW_ORIGINAL = 0,
    CK_VIEW_FLIP = 1,
    CK_VIEW_SHIFT_DOWN = 2,
    CK_VIEW_SHIFT_UP = 3
} ck_view;
#define CK_MAX_VIEWS 4

/* Parse a spec into views[] (CK_MAX_VIEWS entries, original first);
 * returns the number of views or -1 with an error for an unknown word. */
int ck_tta_parse(const char *spec, ck_view *views);
/* Apply a view to n packed RGB images of size×size (src and dst must not
 * overlap). */
void ck_tta_apply(ck_view v, const unsigned char *src, unsigned char *dst, int n, int size);

#ifdef __cplusplus
}
#endif
#endif
