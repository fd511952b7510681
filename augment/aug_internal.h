/* Private layout of ck_aug_spec, shared by the parser, the sampler and the
 * renderer. Plain values only: a parsed spec is immutable and shared by the
 * trainer's loader threads. */
#ifndef CK_AUG_INTERNAL_H
#define CK_AUG_INTERNAL_H

#include "ck/augment.h"

enum { CK_FILL_NEAREST, CK_FILL_REFLECT, CK_FILL_WRAP, CK_FILL_CONSTANT };
enum { CK_ERASE_MEAN, CK_ERASE_NOISE, CK_ERASE_CONSTANT };

struct ck_aug_spec {
    int crop;                      /* random resized crop enabled */
    double crop_smin, crop_smax;   /* area fraction */
    double crop_rmin, crop_rmax;   /* aspect w/h */
    double rotate;                 /* max |angle|, degrees */
    double flip_h, flip_v;         /* probabilities */
    int shift;                     /* shift enabled */
    double shift_x, shift_y;       /* fraction (< 1) or pixels (>= 1) */
    double erase;                  /* probability; 0 = off */
    double erase_smin, erase_smax;
    double erase_rmin, erase_rmax; /* aspect h/w */
    int erase_fill;
    uint8_t erase_value[3];
    int fill;
    uint8_t fill_value[3];
    int size_w, size_h;            /* 0 = not set */
};

/* Defaults, also used to omit them from the canonical string. */
#define CK_CROP_RMIN (3.0 / 4.0)
#define CK_CROP_RMAX (4.0 / 3.0)
#define CK_ERASE_SMIN 0.02
#define CK_ERASE_SMAX 0.33
#define CK_ERASE_RMIN 0.3
#define CK_ERASE_RMAX 3.3

#endif
