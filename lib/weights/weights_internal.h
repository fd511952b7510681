/* Private to lib/weights: the ck_weights struct, the VGG16 layer table and
 * the per-format loaders. */
#ifndef CK_WEIGHTS_INTERNAL_H
#define CK_WEIGHTS_INTERNAL_H

#include "ck/weights.h"

/* One VGG16 layer with weights, in network order. */
typedef struct vgg16_layer {
    const char *name; /* "block1_conv1", "fc1", ... */
    int is_dense;
    int in, out;
    int torch_index;  /* features.N / classifier.N in torchvision */
} vgg16_layer;

#define VGG16_CONV_LAYERS 13
#define VGG16_ALL_LAYERS 16
extern const vgg16_layer ck_vgg16_layers[VGG16_ALL_LAYERS];

typedef struct wt_tensor {
    char *name; /* canonical, "block1_conv1/kernel" */
    int ndim;
    int shape[4];
    float *data;
} wt_tensor;

struct ck_weights {
    char *path;
    const char *format;        /* "hdf5" or "safetensors" */
    const char *preprocessing; /* "caffe" or "torch" */
    char sha256[65];
    long long size;
    ck_weights_origin origin;
    long long seed;
    int has_top;
    int n;
    wt_tensor t[2 * VGG16_ALL_LAYERS]; /* kernel, bias per layer */
};

/* Expected shape of a layer's kernel (HWIO or [in,out]) / bias. */
int ck_vgg16_kernel_shape(const vgg16_layer *l, int shape[4]);
/* 0 when a kernel/bias of this shape fits the layer, else -1 and an error. */
int ck_weights_check_shape(const ck_weights *w, const vgg16_layer *l, int is_bias, int ndim,
                           const int shape[4]);
/* Find a layer by name (NULL when not a VGG16 layer with weights). */
const vgg16_layer *ck_vgg16_find(const char *name);
/* Take ownership of `data` (freed on error) as tensor "<layer>/<kind>",
 * checking the shape against VGG16. -1 and an error naming file and layer. */
int ck_weights_add(ck_weights *w, const vgg16_layer *l, int is_bias, int ndim, const int shape[4],
                   float *data);
/* After loading: every conv layer present, and either all or none of the
 * top. Sets has_top. */
int ck_weights_check_complete(ck_weights *w);

int ck_weights_load_h5(ck_weights *w);
/* Same from an HDF5 file image in memory (the fuzz target); w->path names
 * it in messages. */
int ck_weights_load_h5_image(ck_weights *w, const void *data, size_t size);
int ck_weights_load_safetensors(ck_weights *w);

#endif
