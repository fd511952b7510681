/* ck/worst.h — the most confidently wrong rows of a scored submission
 * (fastai's plot_top_losses) and a contact sheet of their images.
 *
 *   ck_worst *w = ck_worst_new(16, nclass, 1e-15);
 *   for each row i: ck_worst_add(w, i, truth, probs);
 *   for (k = 0; k < ck_worst_count(w); k++) ck_worst_get(w, k)->loss ...
 *
 * A row is wrong when its arg-max (the first of equal maxima) is not the
 * truth; its loss is ck_metrics_row_loss(). Rows are ranked by loss, highest
 * first, ties by the caller's index (lower first), so the order is the same
 * whatever order the rows arrive in.
 */
#ifndef CK_WORST_H
#define CK_WORST_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_worst ck_worst;

typedef struct ck_worst_row {
    int index;     /* the caller's row number */
    int truth, predicted;
    double prob;   /* probability of the predicted class, as given */
    double loss;   /* -log of the clipped, renormalised p[truth] */
} ck_worst_row;

/* Keep the n worst of rows with nclass probabilities, clipped with eps (as
 * ck_metrics_set_eps). NULL + error when n < 1 or nclass < 1. */
ck_worst *ck_worst_new(int n, int nclass, double eps);
void ck_worst_free(ck_worst *w);
/* One row (truth in 0..nclass-1; probs not modified); a correct row is
 * counted out. 0, or -1 + error when truth is out of range. */
int ck_worst_add(ck_worst *w, int index, int truth, const double *probs);
/* Rows kept (at most n), and the k-th worst (k in 0..count-1). */
int ck_worst_count(const ck_worst *w);
const ck_worst_row *ck_worst_get(const ck_worst *w, int k);

/* Contact sheet: n images in a grid of `cols` columns (row-major), each
 * fitted (aspect kept, centred) in a tile×tile square above a caption band
 * of CK_SHEET_CAPTION_H pixels holding captions[i] (lines split at '\n',
 * drawn with libvips' text operation); cells CK_SHEET_GAP pixels apart on
 * white; cols > n is taken as n. Sheet size: cols·tile + (cols-1)·gap by
 * rows·(tile + caption) + (rows-1)·gap, rows = ceil(n / cols).
 * Without fonts (the text operation fails, draws nothing, or draws every
 * character as the same box: "iiii" is not narrower than "MMMM") the caption
 * bands are left out (cells are tile×tile) and *text_drawn is 0, else 1.
 * Images go through ck_image_load_rgb (its format and pixel checks); the
 * sheet is written atomically as PNG, JPEG or WebP from path's extension;
 * one over ck_image_max_pixels() (with the captions) is refused undrawn.
 * 0, or -1 + error naming the file. */
#define CK_SHEET_CAPTION_H 44
#define CK_SHEET_GAP 4
int ck_sheet_write(const char *path, const char *const *images, const char *const *captions, int n, int cols,
                   int tile, int *text_drawn);

#ifdef __cplusplus
}
#endif
#endif
