/* ck_weights on Keras HDF5 files: ck's random files (round trip, same bytes
 * for a seed), Keras 1/2 layouts written here with the HDF5 C API (fixed-
 * and variable-length string attributes, model_weights group, with top),
 * and every corruption path. Datasets other than block1_conv1 are left
 * unwritten (HDF5 reads them as zeros), which keeps the test files tiny. */
#include "check.h"
#include "load_fails.h"
#include "ck/error.h"
#include "ck/rng.h"
#include "ck/sha256.h"
#include "ck/weights.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const conv[] = {"block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
                                   "block3_conv1", "block3_conv2", "block3_conv3", "block4_conv1",
                                   "block4_conv2", "block4_conv3", "block5_conv1", "block5_conv2",
                                   "block5_conv3"};
static const int cin[] = {3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512};
static const int cout[] = {64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512};

typedef struct kopts {
    int vlen;              /* variable-length string attributes */
    int keras2;            /* "<layer>/kernel:0" names in a nested group */
    int model_weights;     /* everything under /model_weights (full-model file) */
    int top;               /* 1 fc1+fc2+predictions, 2 fc1 only */
    const char *skip;      /* layer left out entirely */
    const char *bad_shape; /* layer whose kernel has the wrong shape */
    const char *int_dtype; /* layer whose kernel is int32 */
    const char *no_data;   /* layer whose kernel dataset is missing */
    int no_layer_names;
} kopts;

static void string_attr(hid_t obj, const char *name, const char *const *list, int n, int vlen)
{
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t type = H5Tcopy(H5T_C_S1);
    if (vlen) {
        H5Tset_size(type, H5T_VARIABLE);
        hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        if (n)
            H5Awrite(a, type, list);
        H5Aclose(a);
    } else {
        size_t size = 1;
        for (int k = 0; k < n; k++)
            if (strlen(list[k]) > size)
                size = strlen(list[k]);
        char *buf = calloc((size_t)(n ? n : 1), size);
        for (int k = 0; k < n; k++)
            memcpy(buf + (size_t)k * size, list[k], strlen(list[k]));
        H5Tset_size(type, size);
        hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, type, buf);
        H5Aclose(a);
        free(buf);
    }
    H5Tclose(type);
    H5Sclose(space);
}

/* Keras writes an empty float64 array for layers without weights. */
static void empty_float_attr(hid_t obj, const char *name)
{
    hsize_t dims[1] = {0};
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t a = H5Acreate2(obj, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Aclose(a);
    H5Sclose(space);
}

static float pattern(size_t i)
{
    return (float)(i % 1000) * 0.001f - 0.5f;
}

static void dataset(hid_t g, const char *name, int ndim, const hsize_t *dims, hid_t type, int fill)
{
    /* Intermediate groups for Keras 2's "layer/kernel:0". */
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t d = H5Dcreate2(g, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (fill) {
        hssize_t n = H5Sget_simple_extent_npoints(space);
        float *buf = malloc((size_t)n * sizeof *buf);
        for (hssize_t i = 0; i < n; i++)
            buf[i] = ndim == 1 ? 100.0f + (float)i : pattern((size_t)i);
        H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        free(buf);
    }
    H5Dclose(d);
    H5Sclose(space);
    H5Pclose(lcpl);
}

static void weight_layer(hid_t parent, const char *layer, int ndim, const hsize_t *kdims, hsize_t nout,
                         const kopts *o, int fill)
{
    hid_t g = H5Gcreate2(parent, layer, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    char wn[80], bn[80];
    if (o->keras2) {
        snprintf(wn, sizeof wn, "%s/kernel:0", layer);
        snprintf(bn, sizeof bn, "%s/bias:0", layer);
    } else {
        snprintf(wn, sizeof wn, "%s_W_1:0", layer);
        snprintf(bn, sizeof bn, "%s_b_1:0", layer);
    }
    const char *names[2] = {wn, bn};
    string_attr(g, "weight_names", names, 2, o->vlen);
    int is = ndim == 4 && o->bad_shape && strcmp(o->bad_shape, layer) == 0;
    hsize_t bad[4] = {3, 3, is ? kdims[2] + 1 : 0, is ? kdims[3] : 0};
    if (!(o->no_data && strcmp(o->no_data, layer) == 0)) {
        hid_t type = o->int_dtype && strcmp(o->int_dtype, layer) == 0 ? H5T_STD_I32LE : H5T_IEEE_F32LE;
        dataset(g, wn, ndim, is ? bad : kdims, type, fill);
    }
    dataset(g, bn, 1, &nout, H5T_IEEE_F32LE, fill);
    H5Gclose(g);
}

static void write_keras(const char *path, const kopts *o)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t root = o->model_weights ? H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : f;
    const char *names[32];
    int n = 0;
    names[n++] = "input_1";
    for (int k = 0; k < 13; k++) {
        if (o->skip && strcmp(o->skip, conv[k]) == 0)
            continue;
        names[n++] = conv[k];
        hsize_t kd[4] = {3, 3, (hsize_t)cin[k], (hsize_t)cout[k]};
        weight_layer(root, conv[k], 4, kd, (hsize_t)cout[k], o, k == 0);
    }
    names[n++] = "block5_pool";
    hid_t g = H5Gcreate2(root, "input_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    empty_float_attr(g, "weight_names");
    H5Gclose(g);
    g = H5Gcreate2(root, "block5_pool", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    string_attr(g, "weight_names", NULL, 0, o->vlen);
    H5Gclose(g);
    if (o->top) {
        static const char *const fc[] = {"fc1", "fc2", "predictions"};
        static const hsize_t fin[] = {25088, 4096, 4096}, fout[] = {4096, 4096, 1000};
        for (int k = 0; k < (o->top == 2 ? 1 : 3); k++) {
            names[n++] = fc[k];
            hsize_t kd[2] = {fin[k], fout[k]};
            weight_layer(root, fc[k], 2, kd, fout[k], o, 0);
        }
    }
    if (!o->no_layer_names)
        string_attr(root, "layer_names", names, n, o->vlen);
    string_attr(f, "backend", (const char *[]){"tensorflow"}, 1, o->vlen);
    if (root != f)
        H5Gclose(root);
    H5Fclose(f);
}

static void check_pattern(const ck_weights *w)
{
    int ndim = 0, shape[4] = {0};
    const float *k = ck_weights_get(w, "block1_conv1/kernel", &ndim, shape);
    CHECK(k && ndim == 4 && shape[0] == 3 && shape[1] == 3 && shape[2] == 3 && shape[3] == 64);
    int bad = 0;
    for (size_t i = 0; k && i < 3 * 3 * 3 * 64; i++)
        bad += k[i] != pattern(i);
    CHECK(bad == 0);
    const float *b = ck_weights_get(w, "block1_conv1/bias", &ndim, shape);
    CHECK(b && ndim == 1 && shape[0] == 64 && b[0] == 100.0f && b[63] == 163.0f);
    const float *z = ck_weights_get(w, "block5_conv3/kernel", &ndim, shape);
    CHECK(z && ndim == 4 && shape[2] == 512 && shape[3] == 512 && z[0] == 0.0f);
}

static void test_layouts(void)
{
    for (int mask = 0; mask < 8; mask++) {
        kopts o = {.vlen = mask & 1, .keras2 = (mask >> 1) & 1, .model_weights = (mask >> 2) & 1};
        write_keras("layout.h5", &o);
        ck_error_clear();
        ck_weights *w = ck_weights_load("layout.h5");
        if (!w)
            fprintf(stderr, "layout %d: %s", mask, ck_error_buffer());
        CHECK(w != NULL);
        if (!w)
            continue;
        CHECK(ck_weights_count(w) == 26);
        CHECK(strcmp(ck_weights_name(w, 0), "block1_conv1/kernel") == 0);
        CHECK(strcmp(ck_weights_name(w, 25), "block5_conv3/bias") == 0);
        CHECK(ck_weights_name(w, 26) == NULL);
        CHECK(ck_weights_has_top(w) == 0);
        CHECK(ck_weights_origin_of(w) == CK_WEIGHTS_UNKNOWN);
        CHECK(ck_weights_random_seed(w) == -1);
        CHECK(strcmp(ck_weights_preprocessing(w), "caffe") == 0);
        CHECK(strcmp(ck_weights_format(w), "hdf5") == 0);
        CHECK(strlen(ck_weights_sha256(w)) == 64);
        CHECK(ck_weights_file_size(w) > 0);
        CHECK(ck_weights_get(w, "fc1/kernel", NULL, NULL) == NULL);
        check_pattern(w);
        ck_weights_free(w);
    }
    unlink("layout.h5");
}

static void test_top(void)
{
    kopts o = {.top = 1, .keras2 = 1};
    write_keras("top.h5", &o);
    ck_weights *w = ck_weights_load("top.h5");
    CHECK(w != NULL);
    if (w) {
        CHECK(ck_weights_has_top(w) == 1);
        CHECK(ck_weights_count(w) == 32);
        int ndim, shape[4];
        CHECK(ck_weights_get(w, "fc1/kernel", &ndim, shape) && ndim == 2 && shape[0] == 25088 && shape[1] == 4096);
        CHECK(ck_weights_get(w, "predictions/bias", &ndim, shape) && ndim == 1 && shape[0] == 1000);
        CHECK(strcmp(ck_weights_name(w, 31), "predictions/bias") == 0);
        check_pattern(w);
    }
    ck_weights_free(w);
    unlink("top.h5");
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (n)
        fwrite(data, 1, n, fp);
    fclose(fp);
}

static void test_errors(void)
{
    kopts o;
    o = (kopts){.skip = "block3_conv2"};
    write_keras("missing.h5", &o);
    fails("missing.h5", "tensor \"block3_conv2/kernel\" missing (the closest known weights file is vgg16, keras layout)");
    o = (kopts){.bad_shape = "block4_conv1", .vlen = 1};
    write_keras("shape.h5", &o);
    fails("shape.h5", "tensor \"block4_conv1/kernel\" has shape [3,3,257,512], vgg16 needs [3,3,256,512]");
    o = (kopts){.int_dtype = "block2_conv2"};
    write_keras("dtype.h5", &o);
    fails("dtype.h5", "tensor block2_conv2/kernel: dataset 'block2_conv2/block2_conv2_W_1:0' is not floating point");
    o = (kopts){.no_data = "block5_conv1", .keras2 = 1};
    write_keras("nodata.h5", &o);
    fails("nodata.h5", "layer block5_conv1: cannot open dataset 'block5_conv1/kernel:0'");
    o = (kopts){.no_layer_names = 1};
    write_keras("nonames.h5", &o);
    fails("nonames.h5", "no 'layer_names' attribute");
    o = (kopts){.top = 2};
    write_keras("halftop.h5", &o);
    fails("halftop.h5", "tensor \"fc2/kernel\" missing (the top is incomplete)");

    write_bytes("empty.h5", "", 0);
    fails("empty.h5", "empty file (0 bytes)");
    unsigned char junk[4096];
    ck_rng r = ck_rng_make(1, 2, 3);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)ck_rng_u32(&r);
    write_bytes("junk.h5", junk, sizeof junk);
    fails("junk.h5", "neither an HDF5");
    write_bytes("text.h5", "layer_names,block1_conv1\n", 25);
    fails("text.h5", "neither an HDF5");
    memcpy(junk, "\x89HDF\r\n\x1a\n", 8);
    write_bytes("sig.h5", junk, sizeof junk);
    fails("sig.h5", "cannot open as HDF5");
    fails("does-not-exist.h5", "No such file");
    const char *files[] = {"missing.h5", "shape.h5", "dtype.h5", "nodata.h5", "nonames.h5",
                           "halftop.h5", "empty.h5", "junk.h5", "text.h5", "sig.h5"};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++)
        unlink(files[k]);
    ck_error_clear();
}

static void test_random(void)
{
    CHECK(ck_weights_write_random_h5("rand7.h5", 7, 0) == 0);
    CHECK(ck_weights_write_random_h5("rand7b.h5", 7, 0) == 0);
    char h7[65], h7b[65], h8[65] = "0000000000000000000000000000000000000000000000000000000000000000";
    long long size;
    CHECK(ck_sha256_file("rand7.h5", h7, &size) == 0);
    CHECK(ck_sha256_file("rand7b.h5", h7b, NULL) == 0);
    CHECK(strcmp(h7, h7b) == 0); /* same seed, same bytes */
    CHECK(size > 58000000 && size < 60000000);

    ck_weights *w = ck_weights_load("rand7.h5");
    CHECK(w != NULL);
    if (w) {
        CHECK(ck_weights_count(w) == 26 && !ck_weights_has_top(w));
        CHECK(ck_weights_origin_of(w) == CK_WEIGHTS_RANDOM);
        CHECK(ck_weights_random_seed(w) == 7);
        CHECK(strcmp(ck_weights_sha256(w), h7) == 0 && ck_weights_file_size(w) == size);
        static const int layer_index[] = {0, 12};
        for (int k = 0; k < 2; k++) {
            int li = layer_index[k];
            char name[64];
            snprintf(name, sizeof name, "%s/kernel", conv[li]);
            int ndim, shape[4];
            const float *v = ck_weights_get(w, name, &ndim, shape);
            CHECK(v && ndim == 4 && shape[2] == cin[li] && shape[3] == cout[li]);
            /* He normal from one Philox stream per layer (pins the bytes). */
            ck_rng r = ck_rng_make(7, (uint64_t)li, 0);
            double std = sqrt(2.0 / (9.0 * cin[li]));
            int same = 0;
            for (int i = 0; v && i < 100; i++)
                same += v[i] == (float)(std * ck_rng_normal(&r));
            CHECK(same == 100);
            /* Another seed gives other values. */
            ck_rng r8 = ck_rng_make(8, (uint64_t)li, 0);
            CHECK(v && v[0] != (float)(std * ck_rng_normal(&r8)));
            snprintf(name, sizeof name, "%s/bias", conv[li]);
            const float *b = ck_weights_get(w, name, &ndim, shape);
            CHECK(b && ndim == 1 && shape[0] == cout[li] && b[0] == 0.0f && b[cout[li] - 1] == 0.0f);
        }
        /* Standard deviation of a big layer is close to He's. */
        int ndim, shape[4];
        const float *v = ck_weights_get(w, "block4_conv2/kernel", &ndim, shape);
        double s2 = 0;
        size_t n = 9 * 512 * 512;
        for (size_t i = 0; v && i < n; i++)
            s2 += (double)v[i] * v[i];
        CHECK_CLOSE(sqrt(s2 / (double)n), sqrt(2.0 / (9 * 512)), 0.01, 0);
    }
    ck_weights_free(w);
    ck_weights_free(NULL);

    /* Verification: not the official file; a file matches its own identity. */
    const char *why = NULL;
    CHECK(ck_weights_verify_official("rand7.h5", &why) == 0 && why && strstr(why, "size"));
    CHECK(ck_weights_verify_file("rand7.h5", size, h7, &why) == 1 && why == NULL);
    CHECK(ck_weights_verify_file("rand7.h5", size, h8, &why) == 0 && strstr(why, "sha256"));
    ck_error_clear();
    CHECK(ck_weights_verify_official("nope.h5", &why) == -1 && strstr(ck_error_buffer(), "nope.h5"));

    /* Damaged raw data (HDF5 has no checksum there): 0xff bytes are NaNs. */
    size_t n;
    FILE *fp = fopen("rand7.h5", "rb");
    char *whole = malloc((size_t)size);
    n = fread(whole, 1, (size_t)size, fp);
    fclose(fp);
    memset(whole + 30000, 0xff, 16);
    write_bytes("nan.h5", whole, n);
    fails("nan.h5", "holds NaN or infinity");
    free(whole);
    /* A truncated copy. */
    fp = fopen("rand7.h5", "rb");
    char *half = malloc(20000000);
    n = fread(half, 1, 20000000, fp);
    fclose(fp);
    write_bytes("trunc.h5", half, n);
    fails("trunc.h5", "truncated");
    /* Damaged metadata: overwrite the start of the file after the superblock. */
    memset(half + 96, 0xff, 4000);
    write_bytes("corrupt.h5", half, n);
    fails("corrupt.h5", NULL);
    free(half);
    const char *files[] = {"rand7.h5", "rand7b.h5", "trunc.h5", "corrupt.h5", "nan.h5"};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++)
        unlink(files[k]);

    ck_error_clear();
    CHECK(ck_weights_write_random_h5("no-such-dir/x.h5", 1, 0) < 0);
    CHECK(strstr(ck_error_buffer(), "no-such-dir/x.h5") != NULL);
    ck_error_clear();
}

/* ck_sha256_file against known digests: FIPS 180-2's "abc" and two-block
 * vectors, the empty file, and a file over the 1 MiB read buffer. */
static void test_sha256(void)
{
    char hex[65];
    long long size = -1;
    write_bytes("sha-abc", "abc", 3);
    CHECK(ck_sha256_file("sha-abc", hex, &size) == 0 && size == 3);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    write_bytes("sha-448", m, strlen(m));
    CHECK(ck_sha256_file("sha-448", hex, NULL) == 0);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
    write_bytes("sha-empty", "", 0);
    CHECK(ck_sha256_file("sha-empty", hex, &size) == 0 && size == 0);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    size_t n = 3000001;
    unsigned char *big = malloc(n);
    CHECK(big != NULL);
    for (size_t i = 0; big && i < n; i++)
        big[i] = (unsigned char)((i * 7 + i / 251) & 255);
    if (big)
        write_bytes("sha-big", big, n);
    free(big);
    CHECK(ck_sha256_file("sha-big", hex, &size) == 0 && size == (long long)n);
    CHECK(strcmp(hex, "3efb4bdb697619b067ab6fd6eca4eca06a42a82040b737e2d42c9c36f289716d") == 0);
    ck_error_clear();
    CHECK(ck_sha256_file("sha-missing", hex, NULL) == -1);
    CHECK(strstr(ck_error_buffer(), "sha-missing") != NULL);
    ck_error_clear();
    unlink("sha-abc");
    unlink("sha-448");
    unlink("sha-empty");
    unlink("sha-big");
}

/* The one layer table, as the rest of the kit sees it. */
static void test_layer_names(void)
{
    for (int k = 0; k < 13; k++)
        CHECK(ck_vgg16_layer_name(k) && strcmp(ck_vgg16_layer_name(k), conv[k]) == 0);
    CHECK(ck_vgg16_layer_name(13) && strcmp(ck_vgg16_layer_name(13), "fc1") == 0);
    CHECK(ck_vgg16_layer_name(15) && strcmp(ck_vgg16_layer_name(15), "predictions") == 0);
    CHECK(ck_vgg16_layer_name(16) == NULL && ck_vgg16_layer_name(-1) == NULL);
}

int main(void)
{
    test_layouts();
    test_top();
    test_errors();
    test_random();
    test_sha256();
    test_layer_names();
    return check_report("test-weights-h5");
}
