/* ck/features.h — what a backbone computes for a list of images, as rows
 * of a .npy file: the loop behind ck-features.
 *
 * The backbone of a weights file (no head) runs in inference mode up to a
 * layer (default the backbone's last, "block5_pool" / "conv5_block3_out")
 * on every image, resized to input_size² by the same loader as ck-predict
 * and ck-finetune, and each image's [h,w,c] output becomes one row:
 *   avg      mean over h,w            -> (n, c)
 *   max      max over h,w             -> (n, c)
 *   flatten  the map in NHWC order    -> (n, h·w·c)
 *   none     the map itself           -> (n, h, w, c)
 * With test-time views (ck/augment.h, e.g. flip) a row is the mean of the
 * views' rows; only the pooled rows (avg, max) take views, since a flipped
 * map holds its values at mirrored positions.
 *
 * Rows are written in the order of the paths given, streamed batch by batch
 * into the .npy writer (ck/npy.h): memory stays at one batch whatever the
 * number of images, and nothing is left at the output on an error. Images
 * are decoded by loader threads while the network runs on the previous
 * batch; a row does not depend on the batch size or thread counts beyond
 * floating-point summation order.
 *
 *   ck_features_options o;
 *   ck_features_options_init(&o);
 *   o.layer = "block3_pool";
 *   ck_features *f = ck_features_new(weights, &o);
 *   ck_features_run(f, paths, n, "feat.npy", 0);
 *
 * Errors: NULL / -1 with ck_error(); an unreadable image names its file.
 * The library never prints except the progress bar (stderr, `progress`).
 */
#ifndef CK_FEATURES_H
#define CK_FEATURES_H

#include <stdint.h>

#include "ck/augment.h"
#include "ck/backend.h"
#include "ck/weights.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ck_feat_pool {
    CK_FEAT_AVG = 0,
    CK_FEAT_MAX = 1,
    CK_FEAT_FLATTEN = 2,
    CK_FEAT_NONE = 3
} ck_feat_pool;

/* "avg" (also "gap"), "max", "flatten", "none"; -1 with an error listing
 * them otherwise. */
int ck_feat_pool_parse(const char *s, ck_feat_pool *out);
const char *ck_feat_pool_name(ck_feat_pool p);

typedef struct ck_features_options {
    const char *layer;    /* backbone layer (Keras name); NULL = the last */
    ck_feat_pool pool;    /* default avg */
    int input_size;       /* images are resized to this square (multiple of
                           * 32, 32..1024); 0 = 32, ck-finetune's default */
    const char *device;   /* cpu, cuda, cuda:N or auto (NULL = auto) */
    int threads;          /* compute threads (0 = all cores) */
    int loaders;          /* decoding threads (0 = ck_backend_loader_threads(be, 1)) */
    int batch;            /* images per forward pass (0 = 64 up to 64 px, else 16) */
    ck_conv_algo conv_algo; /* convolutions (ck/backend.h; 0 = auto: picked per
                           * shape, so rows may move by ~1e-4 with the batch) */
    const ck_view *views; /* test-time views (NULL = the original only) */
    int nviews;
    int progress;         /* progress bar on stderr: 0 on a tty, 1 always, -1 never */
} ck_features_options;

/* Defaults: last layer, avg, 32 px, automatic device and sizes, one view. */
void ck_features_options_init(ck_features_options *o);

/* 0 when `layer` (NULL: the default) names a layer of the backbone of w
 * that the features can come from; else -1 with an error naming the
 * backbone and listing some of its layers. Tools call it to report a bad
 * --layer as a usage error. */
int ck_features_check_layer(const ck_weights *w, const char *layer);

typedef struct ck_features ck_features;

/* Build the backbone of w (borrowed: it may be freed after this call) on
 * the device for o's batch; o is copied (views included). */
ck_features *ck_features_new(const ck_weights *w, const ck_features_options *o);
void ck_features_free(ck_features *f);

/* Shape of one row: dims[0..*ndim) — (c), (h·w·c) or (h, w, c) — and its
 * element count; the layer's name. */
int64_t ck_features_row_shape(const ck_features *f, int *ndim, int64_t dims[3]);
const char *ck_features_layer(const ck_features *f);

/* Compute the rows of paths[0..n) (n >= 1) and write them to the .npy file
 * `out` (shape (n, ...) as above; `flags` as for ck_npy_create). */
int ck_features_run(ck_features *f, const char *const *paths, int n, const char *out, unsigned flags);

#ifdef __cplusplus
}
#endif
#endif
