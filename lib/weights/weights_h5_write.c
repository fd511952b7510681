/* Seeded random VGG16 weights in the layout of the official Keras file, so
 * that the whole pipeline (and Keras itself) can run offline. */
#include "weights_internal.h"
#include "h5_util.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/rng.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Keras layer names, including the layers without weights (input, pools,
 * flatten), into names[KERAS_MAX_LAYERS]; the count. */
#define KERAS_MAX_LAYERS (VGG16_ALL_LAYERS + 7)
static int keras_layer_names(int with_top, char names[][16])
{
    int n = 0;
    snprintf(names[n++], 16, "input_1");
    for (int k = 0; k < VGG16_CONV_LAYERS; k++) {
        const char *name = ck_vgg16_layers[k].name;
        snprintf(names[n++], 16, "%s", name);
        /* A block ends where the next layer's "blockN_" prefix differs. */
        if (k + 1 == VGG16_CONV_LAYERS || strncmp(name, ck_vgg16_layers[k + 1].name, 7) != 0)
            snprintf(names[n++], 16, "%.6s_pool", name);
    }
    if (with_top) {
        snprintf(names[n++], 16, "flatten");
        for (int k = VGG16_CONV_LAYERS; k < VGG16_ALL_LAYERS; k++)
            snprintf(names[n++], 16, "%s", ck_vgg16_layers[k].name);
    }
    return n;
}

/* Rows generated and written at a time (bounded memory for fc1's 411 MB). */
#define BLOCK_FLOATS (1u << 22)

static hid_t make_dataset(hid_t g, const char *name, int ndim, const int *shape)
{
    hsize_t dims[4];
    for (int d = 0; d < ndim; d++)
        dims[d] = (hsize_t)shape[d];
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t d = -1;
    /* No modification times: the same seed must give the same bytes. */
    if (space >= 0 && dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0)
        d = H5Dcreate2(g, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return d;
}

/* He normal: N(0, 2 / fan_in), one Philox stream per layer, generated in
 * row blocks. */
static int write_kernel(hid_t d, int layer_index, uint64_t seed, int ndim, const int *shape, float *buf)
{
    size_t rows = (size_t)shape[0], row = 1;
    for (int k = 1; k < ndim; k++)
        row *= (size_t)shape[k];
    size_t fan_in = ndim == 4 ? (size_t)shape[0] * shape[1] * shape[2] : (size_t)shape[0];
    double std = sqrt(2.0 / (double)fan_in);
    ck_rng r = ck_rng_make(seed, (uint64_t)layer_index, 0);
    size_t block = BLOCK_FLOATS / row;
    if (block < 1)
        block = 1;
    hid_t fspace = H5Dget_space(d);
    if (fspace < 0)
        return -1;
    int rc = 0;
    for (size_t r0 = 0; r0 < rows && rc == 0; r0 += block) {
        size_t nr = rows - r0 < block ? rows - r0 : block;
        for (size_t i = 0; i < nr * row; i++)
            buf[i] = (float)(std * ck_rng_normal(&r));
        hsize_t start[4] = {r0, 0, 0, 0}, count[4];
        for (int k = 0; k < ndim; k++)
            count[k] = (hsize_t)shape[k];
        count[0] = nr;
        hid_t mspace = H5Screate_simple(ndim, count, NULL);
        if (mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dwrite(d, H5T_NATIVE_FLOAT, mspace, fspace, H5P_DEFAULT, buf) < 0)
            rc = -1;
        if (mspace >= 0)
            H5Sclose(mspace);
    }
    H5Sclose(fspace);
    return rc;
}

static int write_layer(hid_t f, const char *name, uint64_t seed, float *buf)
{
    const vgg16_layer *l = ck_vgg16_find(name);
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0 || H5Pset_obj_track_times(gcpl, 0) < 0)
        return -1;
    hid_t g = H5Gcreate2(f, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (g < 0)
        return -1;
    int rc = -1;
    if (!l) {
        rc = h5_write_string_list(g, "weight_names", NULL, 0);
        H5Gclose(g);
        return rc;
    }
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s_W_1:0", name);
    snprintf(bn, sizeof bn, "%s_b_1:0", name);
    const char *names[2] = {wn, bn};
    int shape[4];
    int ndim = ck_vgg16_kernel_shape(l, shape);
    hid_t dk = -1, db = -1;
    if (h5_write_string_list(g, "weight_names", names, 2) < 0)
        goto out;
    dk = make_dataset(g, wn, ndim, shape);
    db = make_dataset(g, bn, 1, &l->out);
    if (dk < 0 || db < 0)
        goto out;
    if (write_kernel(dk, (int)(l - ck_vgg16_layers), seed, ndim, shape, buf) < 0)
        goto out;
    memset(buf, 0, (size_t)l->out * sizeof *buf);
    if (H5Dwrite(db, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        goto out;
    rc = 0;
out:
    if (dk >= 0)
        H5Dclose(dk);
    if (db >= 0)
        H5Dclose(db);
    H5Gclose(g);
    return rc;
}

static int write_file(const char *tmp, uint64_t seed, int with_top)
{
    int rc = -1;
    float *buf = malloc((size_t)(BLOCK_FLOATS + 25088) * sizeof *buf);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    hid_t f = -1;
    if (!buf || fcpl < 0)
        goto out;
    H5Pset_obj_track_times(fcpl, 0);
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    if (f < 0)
        goto out;
    char keras[KERAS_MAX_LAYERS][16];
    const char *names[KERAS_MAX_LAYERS];
    int n = keras_layer_names(with_top, keras);
    for (int k = 0; k < n; k++)
        names[k] = keras[k];
    if (h5_write_string_list(f, "layer_names", names, n) < 0 ||
        h5_write_string_attr(f, "backend", "tensorflow") < 0 ||
        h5_write_string_attr(f, "keras_version", "2.2.4") < 0 ||
        h5_write_i32_attr(f, "ck_random_weights", 1) < 0 || h5_write_u64_attr(f, "ck_seed", seed) < 0)
        goto out;
    for (int k = 0; k < n; k++)
        if (write_layer(f, names[k], seed, buf) < 0)
            goto out;
    rc = 0;
out:
    if (f >= 0 && H5Fclose(f) < 0)
        rc = -1;
    if (fcpl >= 0)
        H5Pclose(fcpl);
    free(buf);
    return rc;
}

int ck_weights_write_random_h5(const char *path, uint64_t seed, int with_top)
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
    int rc = write_file(tmp, seed, with_top);
    if (rc < 0)
        ck_error("weights", "cannot write %s (%s; disk full?)", path, h5_error_text(h5msg, sizeof h5msg));
    h5_quiet_end(&q);
    if (rc < 0) {
        ck_atomic_abort(af);
        return -1;
    }
    return ck_atomic_commit(af);
}
