/* Seeded random weights laid out as the files users download (Keras HDF5,
 * torchvision safetensors), so that the whole pipeline, and Keras or
 * PyTorch themselves, can run offline on every architecture. */
#include "weights_internal.h"
#include "h5_util.h"
#include "ck/error.h"
#include "ck/strmap.h"
#include "ck/fs.h"
#include "ck/rng.h"
#include "ck/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values ---------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

void wt_gen_init(wt_gen *g, ck_arch a, uint64_t seed, const wt_tensor *t, int vgg16_layer)
{
    memset(g, 0, sizeof *g);
    g->seed = seed;
    g->id = ck_fnv1a32(t->name);
    int kernel = ends_with(t->name, "/kernel");
    size_t fan_in = t->ndim == 4 ? (size_t)t->shape[0] * t->shape[1] * t->shape[2] : (size_t)t->shape[0];
    if (a == CK_ARCH_VGG16) {
        /* The first stream: one sequential He-normal stream per layer. */
        g->kind = kernel ? 0 : 1;
        g->a = sqrt(2.0 / (double)fan_in);
        g->r = ck_rng_make(seed, (uint64_t)vgg16_layer, 0);
        return;
    }
    if (kernel) {
        g->kind = 2;
        g->a = sqrt(2.0 / (double)fan_in);
        return;
    }
    g->kind = 3;
    if (ends_with(t->name, "/gamma") || ends_with(t->name, "/moving_variance")) {
        g->a = 0.5;
        g->b = 1.5;
    } else if (ends_with(t->name, "/beta") || ends_with(t->name, "/moving_mean")) {
        g->a = -0.2;
        g->b = 0.2;
    } else { /* conv and dense biases: small, so that folding them matters */
        g->a = -0.05;
        g->b = 0.05;
    }
}

/* Per element e (stateless, so any split of the work gives the same bytes):
 * normal from two words of Philox block e/2, uniform from one word of
 * block e/4. */
static float element(const wt_gen *g, size_t e)
{
    uint32_t out[4];
    if (g->kind == 2) {
        ck_philox_at(g->seed, g->id, (uint32_t)(e >> 1), 0x6e6f726du, out);
        int k = (int)(e & 1) * 2;
        double u1 = ((double)(out[k] >> 8) + 1.0) * (1.0 / 16777216.0);
        double u2 = (double)(out[k + 1] >> 8) * (1.0 / 16777216.0);
        return (float)(g->a * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
    ck_philox_at(g->seed, g->id, (uint32_t)(e >> 2), 0x756e6966u, out);
    return (float)(g->a + (g->b - g->a) * (double)ck_u32_to_unit(out[e & 3]));
}

void wt_gen_fill(wt_gen *g, float *out, size_t n)
{
    if (g->kind == 0) {
        for (size_t i = 0; i < n; i++)
            out[i] = (float)(g->a * ck_rng_normal(&g->r));
    } else if (g->kind == 1) {
        memset(out, 0, n * sizeof *out);
    } else {
        /* Stateless per element: the same bytes at any thread count. */
        const long long m = (long long)n;
        const size_t pos = g->pos;
#pragma omp parallel for schedule(static) if (m > 65536)
        for (long long i = 0; i < m; i++)
            out[i] = element(g, pos + (size_t)i);
    }
    g->pos += n;
}

/* The VGG16 stream's layer index: convs 0..12, then fc1, fc2, predictions. */
static int vgg16_layer_index(const char *tensor)
{
    for (int k = 0; ck_vgg16_layer_name(k); k++) {
        size_t n = strlen(ck_vgg16_layer_name(k));
        if (strncmp(tensor, ck_vgg16_layer_name(k), n) == 0 && tensor[n] == '/')
            return k;
    }
    return 0;
}

static size_t numel(const wt_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

/* ---- Keras HDF5 -------------------------------------------------------------- */

/* Rows generated and written at a time (bounded memory for fc1's 411 MB). */
#define BLOCK_FLOATS (1u << 22)
#define MAX_LAYERS (CK_ARCH_MAX_NODES + 8)

/* Keras layer names in the file's order, the layers without weights too
 * (input, pads, ReLUs, adds, pools, flatten). */
static int keras_layer_names(ck_arch a, int with_top, char names[][32])
{
    ck_arch_node nodes[CK_ARCH_MAX_NODES];
    int nn = ck_arch_nodes(a, CK_LAYOUT_KERAS, nodes, CK_ARCH_MAX_NODES);
    if (nn < 0)
        return -1;
    int n = 0;
    snprintf(names[n++], 32, "input_1");
    for (int i = 0; i < nn; i++) {
        /* Keras pads explicitly before ResNet's stem conv and pool. */
        if (strcmp(nodes[i].name, "conv1_conv") == 0)
            snprintf(names[n++], 32, "conv1_pad");
        if (strcmp(nodes[i].name, "pool1_pool") == 0)
            snprintf(names[n++], 32, "pool1_pad");
        snprintf(names[n++], 32, "%s", nodes[i].name);
    }
    if (with_top) {
        snprintf(names[n++], 32, "flatten");
        snprintf(names[n++], 32, "fc1");
        snprintf(names[n++], 32, "fc2");
        snprintf(names[n++], 32, "predictions");
    }
    return n;
}

static hid_t make_group(hid_t parent, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    hid_t g = -1;
    /* No modification times: the same seed must give the same bytes. */
    if (gcpl >= 0 && H5Pset_obj_track_times(gcpl, 0) >= 0)
        g = H5Gcreate2(parent, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (gcpl >= 0)
        H5Pclose(gcpl);
    return g;
}

static hid_t make_dataset(hid_t g, const char *name, int ndim, const int *shape)
{
    hsize_t dims[4];
    for (int d = 0; d < ndim; d++)
        dims[d] = (hsize_t)shape[d];
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t d = -1;
    if (space >= 0 && dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0)
        d = H5Dcreate2(g, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return d;
}

/* Generate and write a tensor in row blocks. */
static int write_values(hid_t d, wt_gen *g, const wt_tensor *t, float *buf)
{
    size_t rows = (size_t)t->shape[0], row = 1;
    for (int k = 1; k < t->ndim; k++)
        row *= (size_t)t->shape[k];
    size_t block = BLOCK_FLOATS / row;
    if (block < 1)
        block = 1;
    hid_t fspace = H5Dget_space(d);
    if (fspace < 0)
        return -1;
    int rc = 0;
    for (size_t r0 = 0; r0 < rows && rc == 0; r0 += block) {
        size_t nr = rows - r0 < block ? rows - r0 : block;
        wt_gen_fill(g, buf, nr * row);
        hsize_t start[4] = {r0, 0, 0, 0}, count[4];
        for (int k = 0; k < t->ndim; k++)
            count[k] = (hsize_t)t->shape[k];
        count[0] = nr;
        hid_t mspace = H5Screate_simple(t->ndim, count, NULL);
        if (mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dwrite(d, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf) < 0)
            rc = -1;
        if (mspace >= 0)
            H5Sclose(mspace);
    }
    H5Sclose(fspace);
    return rc;
}

/* One layer group: weight_names and its datasets. VGG as the official
 * files (Keras 1 names "block1_conv1_W_1:0" in the group); ResNet50 with
 * Keras 2 names "conv1_bn/gamma:0" (datasets in a nested group). */
static int write_layer(hid_t f, ck_arch a, const char *layer, const wt_tensor *all, int nall, uint64_t seed,
                       float *buf)
{
    hid_t g = make_group(f, layer);
    if (g < 0)
        return -1;
    const wt_tensor *mine[4];
    int n = 0;
    size_t len = strlen(layer);
    for (int i = 0; i < nall && n < 4; i++)
        if (strncmp(all[i].name, layer, len) == 0 && all[i].name[len] == '/')
            mine[n++] = &all[i];
    char wnames[4][96];
    const char *wlist[4];
    hid_t sub = -1, ds[4] = {-1, -1, -1, -1};
    int rc = -1;
    int keras2 = a == CK_ARCH_RESNET50;
    for (int k = 0; k < n; k++) {
        const char *kind = mine[k]->name + len + 1;
        if (keras2)
            snprintf(wnames[k], sizeof wnames[k], "%s/%s:0", layer, kind);
        else
            snprintf(wnames[k], sizeof wnames[k], "%s_%s_1:0", layer, strcmp(kind, "kernel") == 0 ? "W" : "b");
        wlist[k] = wnames[k];
    }
    if (h5_write_string_list(g, "weight_names", wlist, n) < 0)
        goto out;
    if (n && keras2 && (sub = make_group(g, layer)) < 0)
        goto out;
    for (int k = 0; k < n; k++)
        if ((ds[k] = make_dataset(keras2 ? sub : g, keras2 ? strchr(wnames[k], '/') + 1 : wnames[k],
                                  mine[k]->ndim, mine[k]->shape)) < 0)
            goto out;
    for (int k = 0; k < n; k++) {
        wt_gen gen;
        wt_gen_init(&gen, a, seed, mine[k], a == CK_ARCH_VGG16 ? vgg16_layer_index(mine[k]->name) : 0);
        if (write_values(ds[k], &gen, mine[k], buf) < 0)
            goto out;
    }
    rc = 0;
out:
    for (int k = 0; k < n; k++)
        if (ds[k] >= 0)
            H5Dclose(ds[k]);
    if (sub >= 0)
        H5Gclose(sub);
    H5Gclose(g);
    return rc;
}

static int write_h5_file(const char *tmp, ck_arch a, uint64_t seed, int with_top, const wt_tensor *all, int nall)
{
    int rc = -1;
    float *buf = malloc((size_t)(BLOCK_FLOATS + 25088) * sizeof *buf);
    char (*keras)[32] = malloc(MAX_LAYERS * sizeof *keras);
    const char **names = malloc(MAX_LAYERS * sizeof *names);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t f = -1;
    if (!buf || !keras || !names || fcpl < 0)
        goto out;
    H5Pset_obj_track_times(fcpl, 0);
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    if (f < 0)
        goto out;
    int n = keras_layer_names(a, with_top, keras);
    if (n < 0)
        goto out;
    for (int k = 0; k < n; k++)
        names[k] = keras[k];
    if (h5_write_string_list(f, "layer_names", names, n) < 0 ||
        h5_write_string_attr(f, "backend", "tensorflow") < 0 ||
        h5_write_string_attr(f, "keras_version", "2.2.4") < 0 ||
        h5_write_i32_attr(f, "ck_random_weights", 1) < 0 || h5_write_u64_attr(f, "ck_seed", seed) < 0)
        goto out;
    for (int k = 0; k < n; k++)
        if (write_layer(f, a, names[k], all, nall, seed, buf) < 0)
            goto out;
    rc = 0;
out:
    if (f >= 0 && H5Fclose(f) < 0)
        rc = -1;
    if (fcpl >= 0)
        H5Pclose(fcpl);
    free(names);
    free(keras);
    free(buf);
    return rc;
}

static int write_random_h5(const char *path, ck_arch a, uint64_t seed, int with_top, const wt_tensor *all,
                           int nall)
{
    /* HDF5 writes by name: into the named temporary of the one writer. */
    ck_atomic_file *af = ck_atomic_open(path, CK_OUT_SYNC | CK_OUT_NAMED);
    const char *tmp = ck_atomic_tmp_path(af);
    if (!af)
        return -1;
    if (!tmp) {
        ck_atomic_abort(af);
        ck_error("weights", "%s: HDF5 weights need a regular file", path);
        return -1;
    }
    char h5msg[256];
    h5_quiet q;
    h5_quiet_begin(&q);
    int rc = write_h5_file(tmp, a, seed, with_top, all, nall);
    if (rc < 0)
        ck_error("weights", "cannot write %s (%s; disk full?)", path, h5_error_text(h5msg, sizeof h5msg));
    h5_quiet_end(&q);
    if (rc < 0) {
        ck_atomic_abort(af);
        return -1;
    }
    return ck_atomic_commit(af);
}

/* ---- torchvision safetensors ------------------------------------------------- */

/* Canonical values → torchvision layout: HWIO → OIHW, [in,out] → [out,in]
 * (fc1's rows from Keras's (h,w,c) to torchvision's (c,h,w)). */
static void to_torch(const wt_tensor *t, const float *src, float *dst)
{
    if (t->ndim == 4) {
        int KH = t->shape[0], KW = t->shape[1], I = t->shape[2], O = t->shape[3];
        for (int h = 0; h < KH; h++)
            for (int x = 0; x < KW; x++)
                for (int i = 0; i < I; i++)
                    for (int o = 0; o < O; o++)
                        dst[(((size_t)o * I + i) * KH + h) * KW + x] = src[(((size_t)h * KW + x) * I + i) * O + o];
    } else if (t->ndim == 2) {
        int I = t->shape[0], O = t->shape[1];
        int is_fc1 = strcmp(t->name, "fc1/kernel") == 0;
        for (int row = 0; row < I; row++) {
            int i = is_fc1 ? (row % 512) * 49 + row / 512 : row; /* row = p*512 + c → c*49 + p */
            for (int o = 0; o < O; o++)
                dst[(size_t)o * I + i] = src[(size_t)row * O + o];
        }
    } else {
        memcpy(dst, src, numel(t) * sizeof *dst);
    }
}

static int write_random_torch(const char *path, ck_arch a, uint64_t seed, const wt_tensor *all, int nall)
{
    ck_st_writer *sw = ck_st_writer_new();
    float **bufs = calloc((size_t)nall + 2, sizeof *bufs);
    size_t most = 2048 * 1000;
    for (int i = 0; i < nall; i++)
        if (numel(&all[i]) > most)
            most = numel(&all[i]);
    float *canon = malloc(most * sizeof *canon);
    static const int64_t zero = 0;
    int rc = -1;
    if (!sw || !bufs || !canon) {
        ck_error("weights", "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < nall; i++) {
        const wt_tensor *t = &all[i];
        char name[96];
        if (wt_torch_name(a, t->name, name) < 0) {
            ck_error("weights", "%s: no torchvision name for %s", path, t->name);
            goto out;
        }
        size_t n = numel(t);
        if (!(bufs[i] = malloc(n * sizeof **bufs))) {
            ck_error("weights", "%s: out of memory", path);
            goto out;
        }
        wt_gen gen;
        wt_gen_init(&gen, a, seed, t, a == CK_ARCH_VGG16 ? vgg16_layer_index(t->name) : 0);
        wt_gen_fill(&gen, canon, n);
        to_torch(t, canon, bufs[i]);
        int64_t shape[4];
        int nd = t->ndim;
        for (int d = 0; d < nd; d++)
            shape[d] = t->shape[d];
        if (nd == 4) {
            shape[0] = t->shape[3];
            shape[1] = t->shape[2];
            shape[2] = t->shape[0];
            shape[3] = t->shape[1];
        } else if (nd == 2) {
            shape[0] = t->shape[1];
            shape[1] = t->shape[0];
        }
        if (ck_st_writer_add(sw, name, CK_ST_F32, nd, shape, bufs[i]) < 0)
            goto out;
        /* torchvision's BatchNorm2d also saves a step counter, which ck
         * ignores. */
        if (ends_with(name, ".running_var")) {
            char nbt[96];
            snprintf(nbt, sizeof nbt, "%.*snum_batches_tracked", (int)(strlen(name) - strlen("running_var")), name);
            if (ck_st_writer_add(sw, nbt, CK_ST_I64, 0, NULL, &zero) < 0)
                goto out;
        }
    }
    if (a == CK_ARCH_RESNET50) {
        /* The ImageNet classifier, as in torchvision's state_dict (ck ignores
         * it). */
        wt_tensor fc[2] = {{"fc.weight", 2, {1000, 2048, 0, 0}, NULL}, {"fc.bias", 1, {1000, 0, 0, 0}, NULL}};
        for (int k = 0; k < 2; k++) {
            wt_gen gen;
            wt_gen_init(&gen, a, seed, &fc[k], 0);
            if (!(bufs[nall + k] = malloc(numel(&fc[k]) * sizeof **bufs))) {
                ck_error("weights", "%s: out of memory", path);
                goto out;
            }
            wt_gen_fill(&gen, bufs[nall + k], numel(&fc[k]));
            int64_t shape[2] = {fc[k].shape[0], fc[k].shape[1]};
            if (ck_st_writer_add(sw, fc[k].name, CK_ST_F32, fc[k].ndim, shape, bufs[nall + k]) < 0)
                goto out;
        }
    }
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
    if (ck_st_writer_set_metadata(sw, "format", "pt") < 0 ||
        ck_st_writer_set_metadata(sw, "ck_random_weights", "1") < 0 ||
        ck_st_writer_set_metadata(sw, "ck_seed", seed_text) < 0)
        goto out;
    rc = ck_st_writer_write(sw, path);
out:
    ck_st_writer_free(sw);
    if (bufs)
        for (int i = 0; i < nall + 2; i++)
            free(bufs[i]);
    free(bufs);
    free(canon);
    return rc;
}

int ck_weights_write_random(const char *path, ck_arch a, ck_layout l, uint64_t seed, int with_top)
{
    if (with_top && a == CK_ARCH_RESNET50) {
        ck_error("weights", "%s: random weights with top exist for VGG only, not %s", path, ck_arch_name(a));
        return -1;
    }
    wt_tensor *all = malloc(WT_MAX_TENSORS * sizeof *all);
    if (!all) {
        ck_error("weights", "%s: out of memory", path);
        return -1;
    }
    int n = wt_expected(a, l, with_top, all, WT_MAX_TENSORS);
    int rc = n < 0 ? -1
             : l == CK_LAYOUT_KERAS ? write_random_h5(path, a, seed, with_top, all, n)
                                    : write_random_torch(path, a, seed, all, n);
    free(all);
    return rc;
}

int ck_weights_write_random_h5(const char *path, uint64_t seed, int with_top)
{
    return ck_weights_write_random(path, CK_ARCH_VGG16, CK_LAYOUT_KERAS, seed, with_top);
}
