/* ck/synth.h — procedurally drawn classes for synthetic contests.
 *
 * Class k is a combination of a shape, a texture and a colour palette:
 *   shape   = k % 8  (circle, square, triangle, cross, ring, star, crescent, frame)
 *   texture = k % 5  (plain, stripes, checks, dots, noise)
 *   palette = k % 7  (red, orange, yellow, green, cyan, blue, purple)
 * 8, 5 and 7 are pairwise coprime, so the first 280 classes are distinct
 * combinations and any two of the first 35 differ in at least two of the three.
 * Each image has a random position, scale, rotation, colour jitter, a
 * cluttered low-contrast background and pixel noise, drawn anti-aliased from
 * ck_rng_make(seed, item, 0): the same (cls, seed, item, size) always gives
 * the same bytes, on any thread.
 *
 *   uint8_t rgb[32 * 32 * 3];
 *   ck_synth_draw(3, seed, 17, 32, rgb);   // class 3, item 17
 */
#ifndef CK_SYNTH_H
#define CK_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CK_SYNTH_MAX_CLASSES 280

/* Draw a size×size RGB image (row-major, 3 bytes per pixel, no padding)
 * into rgb. 0 <= cls < CK_SYNTH_MAX_CLASSES, 8 <= size <= 4096. -1 and an
 * error on bad arguments. */
int ck_synth_draw(int cls, uint64_t seed, uint64_t item, int size, uint8_t *rgb);

/* Descriptive class name, e.g. "red_circle_plain", "green_star_stripes":
 * palette_shape_texture. Unique per class. -1 on bad cls. */
int ck_synth_class_name(int cls, char *buf, size_t bufsize);

/* Class of item `item` in a balanced set of n items over nclasses classes:
 * item i gets class perm(i) % nclasses where perm is a seeded shuffle of
 * 0..n-1 (so counts differ by at most 1). stream separates e.g. train (0)
 * and test (1). Fills cls[0..n). */
int ck_synth_assign(int nclasses, int n, uint64_t seed, uint64_t stream, int *cls);

#ifdef __cplusplus
}
#endif
#endif
