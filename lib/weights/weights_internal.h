/* Private to lib/weights: the ck_weights struct, the tensors a file of each
 * (arch, layout) must hold, recognition of a file's tensors against them,
 * and the per-format loaders. */
#ifndef CK_WEIGHTS_INTERNAL_H
#define CK_WEIGHTS_INTERNAL_H

#include "ck/arch.h"
#include "ck/rng.h"
#include "ck/strmap.h"
#include "ck/weights.h"

#include <stddef.h>
#include <stdint.h>

/* ResNet50 keras has 318 base tensors; VGG's top adds 6. */
#define WT_MAX_TENSORS 340
#define WT_TOP_TENSORS 6

typedef struct wt_tensor {
    char name[64]; /* canonical, "block1_conv1/kernel" */
    int ndim;
    int shape[4];
    float *data;
} wt_tensor;

struct ck_weights {
    char *path;
    const char *format;        /* "hdf5" or "safetensors" */
    const char *preprocessing; /* "caffe" or "torch" (follows the layout) */
    char sha256[65];
    char md5[33];
    long long size;
    ck_weights_origin origin;
    long long seed;
    ck_arch arch;
    ck_layout layout;
    int has_top;
    int n;
    wt_tensor t[WT_MAX_TENSORS]; /* base in network order, then the top */
};

/* The tensors of (arch, layout): the base (ck_arch_tensor), then for VGG
 * the top fc1, fc2, predictions (kernel [in,out], bias) when `top`. */
int wt_expected(ck_arch a, ck_layout l, int top, wt_tensor *out, int max);

/* How a file names canonical tensors. */
typedef enum wt_naming {
    WT_NAMES_CANONICAL = 0,  /* ck's canonical names and HWIO shapes (and Keras h5) */
    WT_NAMES_TORCHVISION = 1 /* state_dict names, [out,in,kh,kw] / [out,in] */
} wt_naming;

/* torchvision's state_dict name of a canonical tensor of arch a into out;
 * -1 when it has none. */
int wt_torch_name(ck_arch a, const char *canonical, char out[96]);

/* What a file holds, by the file's own names, before any data is read: the
 * shapes as stored; `src` locates the data for the format's reader. */
typedef struct wt_entry {
    char name[96];
    int ndim;
    int shape[4];
    char src[192];
} wt_entry;

typedef struct wt_index {
    wt_entry *e;
    int n, cap;
    ck_strmap map; /* name -> entry */
} wt_index;

/* Add an entry (a repeated name keeps the first); -1 out of memory. */
int wt_index_add(wt_index *x, const char *name, int ndim, const long long *shape, const char *src);
void wt_index_free(wt_index *x);

/* The recognised form of a file. */
typedef struct wt_match {
    ck_arch arch;
    ck_layout layout;
    wt_naming naming;
    int top;               /* the VGG top is present (and complete) */
    int n;                 /* tensors to load */
    wt_tensor want[WT_MAX_TENSORS]; /* canonical name and shape */
    const wt_entry *from[WT_MAX_TENSORS];
} wt_match;

/* Recognise the file among (arch, layout, naming) candidates: the one all
 * of whose base tensors are present with the right shapes (most tensors
 * wins; then `hint` layout; then the smaller). Otherwise -1 and an error
 * naming the file and, for the closest candidate, the tensor it expected
 * and did not find or the tensor whose shape is wrong with both shapes.
 * `namings` is a bit set of 1 << wt_naming. */
int wt_recognise(const wt_index *x, const char *path, unsigned namings, ck_layout hint, wt_match *m);

/* Take ownership of `data` (freed on error) as the next tensor, named and
 * shaped as `want` (canonical layout). Checks finiteness. */
int ck_weights_add(ck_weights *w, const wt_tensor *want, float *data);
/* Set the weights' arch, layout, preprocessing from a match. */
void wt_adopt(ck_weights *w, const wt_match *m);
/* After loading: every tensor of the arch present (n, has_top). */
int ck_weights_check_complete(ck_weights *w);

/* Shape text "[3,3,64,64]" into buf. */
void wt_shape_text(int ndim, const int *shape, char *buf, size_t n);

int ck_weights_load_h5(ck_weights *w);
/* Same from an HDF5 file image in memory (the fuzz target); w->path names
 * it in messages. */
int ck_weights_load_h5_image(ck_weights *w, const void *data, size_t size);
int ck_weights_load_safetensors(ck_weights *w);

/* Random values (weights_random.c): a tensor's canonical values for a seed,
 * generated in order, n at a time. VGG16 keeps its historical stream (He
 * normal per layer, zero biases); the others draw per element with Philox
 * keyed by the canonical name, so both layouts hold the same values. */
typedef struct wt_gen {
    int kind;      /* 0 sequential normal, 1 zeros, 2 per-element normal, 3 per-element uniform */
    double a, b;   /* std, or uniform lo/hi */
    uint64_t seed;
    uint32_t id;
    size_t pos;
    ck_rng r;
} wt_gen;

void wt_gen_init(wt_gen *g, ck_arch a, uint64_t seed, const wt_tensor *t, int vgg16_layer);
void wt_gen_fill(wt_gen *g, float *out, size_t n);

#endif
