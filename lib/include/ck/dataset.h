/* ck/dataset.h — training data for ck-finetune: image lists, the
 * prefetching loader and the frozen-feature cache.
 *
 *   ck_dataset   image paths + class indices (+ manifest line for messages)
 *   ck_loader    N threads decode (+ augment) + resize images into a ring of
 *                preallocated uint8 RGB batch buffers while the caller's
 *                thread runs the network on earlier batches
 *   ck_fcache    per-sample frozen activations kept in memory or in a disk
 *                file (F32 or F16), so that epochs after the first only run
 *                the trainable part of the network
 *
 * Determinism: the loader's output for a pass depends only on (dataset,
 * order, seed, copy): item i's augmentation stream is
 * ck_rng_make(seed, ds item id, copy) whatever thread decodes it, so the
 * batches are the same bytes at any loader thread count.
 */
#ifndef CK_DATASET_H
#define CK_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "ck/labels.h"
#include "ck/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dataset ------------------------------------------------------------ */

typedef struct ck_dataset ck_dataset;

/* Rows of a manifest, file names resolved against images_dir (NULL = as
 * written; for a folder manifest pass the folder). Labels mapped with
 * ck_labels_index_manifest (unknown label: "FILE:LINE: unknown label 'x'").
 * Every image is checked to exist and be non-empty (stat only): "FILE:LINE:
 * image 'P' not found" / "is empty (0 bytes)". An empty manifest is an error. */
ck_dataset *ck_dataset_from_manifest(const ck_manifest *m, const char *images_dir,
                                     const ck_labels *labels);
/* Rows idx[0..n) of ds (same item ids, so augmentation streams and cache
 * entries stay those of the full dataset). */
ck_dataset *ck_dataset_subset(const ck_dataset *ds, const int *idx, int n);
/* The rows of a, then those of b, whose item ids follow a's (b's id + a's
 * row count), so that each row keeps its own augmentation stream. */
ck_dataset *ck_dataset_concat(const ck_dataset *a, const ck_dataset *b);
/* Unlabelled images (class -1, item id = position), e.g. test images to
 * predict; paths are copied, not checked (the loader reports what it
 * cannot read). */
ck_dataset *ck_dataset_from_paths(const char *const *paths, int n);
void ck_dataset_free(ck_dataset *ds);

int ck_dataset_count(const ck_dataset *ds);
const char *ck_dataset_path(const ck_dataset *ds, int i);
int ck_dataset_class(const ck_dataset *ds, int i);
/* Stable id of row i: its row in the original manifest. */
int ck_dataset_item_id(const ck_dataset *ds, int i);
/* Per-class row counts (ncls entries). */
void ck_dataset_class_counts(const ck_dataset *ds, int ncls, int *counts);

/* ---- loader ------------------------------------------------------------- */

typedef struct ck_aug_spec ck_aug_spec; /* ck/augment.h */
typedef struct ck_loader ck_loader;

typedef struct ck_loader_config {
    int size;                 /* output size×size RGB */
    int batch;                /* largest batch */
    int threads;              /* decode threads, >= 1 */
    int depth;                /* batches in the ring (0 = threads + 2) */
    const ck_aug_spec *aug;   /* NULL = no augmentation (borrowed) */
    uint64_t seed;            /* augmentation seed */
    int keep_going;           /* 1: an image that cannot be read is zeroed and
                               * flagged in ck_batch.failed (its error left in
                               * the buffer) instead of ending the pass */
} ck_loader_config;

typedef struct ck_batch {
    int n;                 /* samples in this batch (last one may be short) */
    int index;             /* batch number within the pass */
    const uint8_t *rgb;    /* [n, size, size, 3] */
    const int32_t *labels; /* [n] class indices */
    const int *rows;       /* [n] dataset rows (positions in ds) */
    const uint8_t *failed; /* [n] 1: unreadable, zero pixels (keep_going) */
} ck_batch;

ck_loader *ck_loader_new(const ck_dataset *ds, const ck_loader_config *cfg);
/* Begin a pass over dataset rows order[0..n) in batches of cfg->batch
 * (order is copied). augment: apply cfg->aug with stream `copy` (usually
 * the epoch, or the view number for fixed augmented views); 0: plain
 * resize. An unfinished previous pass is abandoned. */
int ck_loader_start(ck_loader *l, const int *order, int n, int augment, uint64_t copy);
/* The next batch, in order; blocks until it is ready. NULL at the end of
 * the pass (ck_loader_failed() == 0) or when an image failed to load
 * (ck_loader_failed() == 1, error set naming the file). The batch stays
 * valid until ck_loader_release(). */
const ck_batch *ck_loader_next(ck_loader *l);
void ck_loader_release(ck_loader *l, const ck_batch *b);
int ck_loader_failed(const ck_loader *l);
void ck_loader_free(ck_loader *l);

/* ---- frozen-feature cache ----------------------------------------------- */

typedef enum ck_cache_kind {
    CK_CACHE_NONE = 0,
    CK_CACHE_MEMORY = 1,
    CK_CACHE_DISK = 2
} ck_cache_kind;

/* "memory" | "disk:PATH" | "none"; *path malloc'd for disk (else NULL). */
int ck_cache_parse(const char *s, ck_cache_kind *kind, char **path);

typedef struct ck_fcache ck_fcache;

/* A cache of `slots` entries of `numel` floats, stored as F32 or (fp16)
 * F16. Disk: the file `path` is created (truncated) and removed by
 * ck_fcache_free; reads and writes use pread/pwrite, so memory use stays
 * small whatever the size. Errors name the file (e.g. disk full). */
ck_fcache *ck_fcache_new(ck_cache_kind kind, const char *path, long slots, size_t numel, int fp16);
/* Store / fetch `count` consecutive slots starting at `slot`. */
int ck_fcache_put(ck_fcache *c, long slot, int count, const float *src);
int ck_fcache_get(ck_fcache *c, long slot, int count, float *dst);
/* Bytes used (memory or file). */
size_t ck_fcache_bytes(const ck_fcache *c);
void ck_fcache_free(ck_fcache *c);

#ifdef __cplusplus
}
#endif
#endif
