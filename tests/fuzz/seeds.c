/* fuzz-seeds DIR: write the seed corpora of the fuzz targets into
 * DIR/<target>/ with ck's own writers (tests/fuzz/corpus/ was made with
 * `fuzz-seeds tests/fuzz/corpus`; see docs/fuzzing.md). Small valid files
 * and a few edge cases per target; the regressions found by fuzzing are
 * added next to them by hand, named regress-*. */
#include "ck/backend.h"
#include "ck/checkpoint.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/image.h"
#include "ck/labels.h"
#include "ck/model.h"
#include "ck/npy.h"
#include "ck/safetensors.h"
#include "h5_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *root;

static void die(const char *what)
{
    fprintf(stderr, "fuzz-seeds: %s: %s\n", what, ck_error_buffer());
    exit(1);
}

static char *seed_path(const char *target, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (ck_mkdir_p(path) != 0)
        die(path);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    return path;
}

static void put(const char *target, const char *name, const void *data, size_t n)
{
    const char *path = seed_path(target, name);
    if (ck_atomic_write(path, data, n) != 0)
        die(path);
}

static void put_text(const char *target, const char *name, const char *text)
{
    put(target, name, text, strlen(text));
}

static void json_seeds(void)
{
    put_text("json", "object", "{\"a\":[1,-2.5e3,true,false,null,\"x\\u00e9\\ud83d\\ude00\"],\"b\":{},\"c\":\"\\\"\\\\/\\b\\f\\n\\r\\t\"}");
    put_text("json", "numbers", "[0,-0,1e308,-1e-308,123456789012345678901234567890,9223372036854775807,-9223372036854775808,2.0,1E+2]");
    put_text("json", "nested", "[[[[[[[[[[[[[[[[[[[[{\"k\":[[[[\"deep\"]]]]}]]]]]]]]]]]]]]]]");
    put_text("json", "utf8", "\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"");
    put_text("json", "bad-trailing-comma", "{\"a\":1,}");
    put_text("json", "bad-duplicate-key", "{\"a\":1,\"a\":2}");
    put_text("json", "bad-lone-surrogate", "\"\\ud800\"");
}

static void safetensors_seeds(void)
{
    float f[6] = {1, -2, 3.5f, 0, 1e-30f, -1e30f};
    uint16_t bf[4] = {0x3f80, 0xbf80, 0x7f80, 0x0001};
    uint8_t u = 7;
    int64_t s23[2] = {2, 3}, s4[1] = {4}, s0[1] = {0};
    ck_st_writer *w = ck_st_writer_new();
    if (!w || ck_st_writer_add(w, "dense/kernel", CK_ST_F32, 2, s23, f) != 0 ||
        ck_st_writer_add(w, "dense/bias", CK_ST_BF16, 1, s4, bf) != 0 ||
        ck_st_writer_add(w, "empty", CK_ST_F16, 1, s0, NULL) != 0 ||
        ck_st_writer_add(w, "scalar", CK_ST_U8, 0, NULL, &u) != 0 ||
        ck_st_writer_set_metadata(w, "format", "pt") != 0 ||
        ck_st_writer_write(w, seed_path("safetensors", "tensors")) != 0)
        die("safetensors");
    ck_st_writer_free(w);
    static const char header_only[] = "\x02\x00\x00\x00\x00\x00\x00\x00{}";
    put("safetensors", "empty-header", header_only, sizeof header_only - 1);
}

static void checkpoint_seed(const char *name, int pool_avg, int batchnorm, int hidden)
{
    ck_backend *be = ck_backend_new("cpu", 1);
    ck_net_config cfg;
    ck_net_config_default(&cfg);
    cfg.num_classes = 3;
    cfg.pool = pool_avg ? CK_POOL_AVG : CK_POOL_FLATTEN;
    cfg.batchnorm = batchnorm;
    cfg.num_hidden = hidden > 0;
    cfg.hidden[0] = hidden;
    static const char *const ids[] = {"0", "1", "2"};
    static const char *const names[] = {"cat", "dog", "fox"};
    ck_labels *l = ck_labels_new(3, ids, names);
    ck_model *m = be && l ? ck_model_new(be, &cfg, 1) : NULL;
    ck_checkpoint_meta meta = {.labels = l,
                               .training_json = "{\"epochs\":2,\"lr\":0.01,\"aug\":\"flip=h\"}",
                               .state_json = "{\"epoch\":1,\"best_val_loss\":0.5,\"history\":[]}"};
    if (!m || ck_checkpoint_save(seed_path("checkpoint", name), m, NULL, &meta) != 0)
        die("checkpoint");
    /* Its metadata alone, the other kind of input of fuzz-checkpoint. */
    ck_st_file *f = ck_st_open(seed_path("checkpoint", name));
    char meta_name[256];
    snprintf(meta_name, sizeof meta_name, "%s.meta.json", name);
    if (!f || !ck_st_metadata(f, "ck"))
        die("checkpoint metadata");
    put_text("checkpoint", meta_name, ck_st_metadata(f, "ck"));
    ck_st_close(f);
    ck_model_free(m);
    ck_labels_free(l);
    ck_backend_free(be);
}

static void table_seeds(void)
{
    put_text("table", "train_master.tsv", "file_name\tlabel_id\ntrain_0.png\t3\ntrain_1.png\t0\ntrain_2.png\t19\n");
    put_text("table", "train.csv", "file,label\r\nimg a.png,cat\r\n\"b,c.png\",\"dog \"\"big\"\"\"\r\n");
    put_text("table", "list.txt", "\xEF\xBB\xBFimg001.png,3\nimg002.png,4");
    put_text("table", "label_master.tsv", "label_id\tlabel_name\n0\taquatic_mammals\n1\tfish\n2\tflowers\n");
    put_text("table", "wide.csv", "test_0.png,0.1,0.2,0.7\ntest_1.png,0.5,0.25,0.25\n");
    put_text("table", "one-column", "a.png\n\nb.png\n");
    put_text("table", "bad-ragged", "a.png,1\nb.png\n");
    put_text("table", "bad-quote", "a.png,\"1\nb.png,2\n");
}

static void submission_seeds(void)
{
    put_text("submission", "probs-ok", "a.png,0.2,0.3,0.5\nb.png,1,0,0\nc.png,0.3333,0.3333,0.3334\nd.png,0,0,1\n");
    put_text("submission", "probs-bad", "b.png,0.2,0.3\na.png,nan,0.5,0.5\na.png,2,-1,0\n\ne.png,0x1p-2,0.5,0.25\n");
    static const char labels[] = "file_name,label\nx.png,0\ny.png,1\n\0file_name,label\ny.png,dog\nx.png,7\n";
    put("submission", "labels-with-sample", labels, sizeof labels - 1);
    static const char tsv[] = "id\tcat\tdog\tfox\nq.png\t0.1\t0.1\t0.8\n\0id\tcat\tdog\tfox\r\nq.png\t0.1\t0.1\t0.8\r\n";
    put("submission", "tsv-with-sample", tsv, sizeof tsv - 1);
}

static void augspec_seeds(void)
{
    put_text("augspec", "typical", "crop=0.8:1,rotate=15,flip=h,shift=0.1,erase=0.5,fill=reflect");
    put_text("augspec", "all", "crop=0.08:1:0.75:1.333,rotate=180,flip=h:0.5+v:0.1,shift=2:3,erase=1:0.02:0.33:0.3:3.3,erase-fill=124:116:104,fill=constant:1:2:3,size=8x8");
    put_text("augspec", "none", "none");
    put_text("augspec", "underscores", "erase_fill=noise,fill=wrap,flip=hv");
    put_text("augspec", "bad-token", "rotat=3");
}

static void image_seeds(void)
{
    uint8_t rgb[4 * 3 * 3];
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(i * 23u);
    static const ck_image_format fmts[] = {CK_IMAGE_PNG, CK_IMAGE_JPEG, CK_IMAGE_WEBP};
    for (int k = 0; k < 3; k++) {
        size_t n;
        void *data = ck_image_encode_rgb(rgb, 4, 3, fmts[k], 90, &n);
        if (!data)
            die("image");
        char name[32];
        snprintf(name, sizeof name, "rgb4x3.%s", ck_image_format_ext(fmts[k]));
        put("image", name, data, n);
        free(data);
    }
    put_text("image", "grey.pgm", "P2\n3 2\n255\n0 128 255\n255 128 0\n");
    /* A header that claims 60000x60000: must be refused, not decoded. */
    static const uint8_t bomb[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                   0, 0, 0xea, 0x60, 0, 0, 0xea, 0x60, 1, 0, 0, 0, 0, 0xa8, 0xa9, 0x48, 0xef};
    put("image", "bomb-60000.png", bomb, sizeof bomb);
}

/* A Keras-layout file with one VGG16 layer (block1_conv1) and the given
 * weight names; under "model_weights" when wrapped. */
static void h5_seed(const char *name, int wrapped, const char *kname, const char *bname)
{
    hid_t f = H5Fcreate(seed_path("h5", name), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t root = wrapped ? H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : f;
    static const char *const layers[] = {"input_1", "block1_conv1"};
    const char *const wnames[] = {kname, bname};
    hid_t g = H5Gcreate2(root, "block1_conv1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0 || root < 0 || g < 0 || h5_write_string_list(root, "layer_names", layers, 2) != 0 ||
        h5_write_string_list(g, "weight_names", wnames, 2) != 0)
        die("h5");
    static float kernel[3 * 3 * 3 * 64], bias[64];
    for (size_t i = 0; i < sizeof kernel / sizeof *kernel; i++)
        kernel[i] = (float)(i % 7) - 3;
    const hsize_t kd[4] = {3, 3, 3, 64}, bd[1] = {64};
    /* Keras 2 names ("block1_conv1/kernel:0") are paths below the layer. */
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    for (int k = 0; k < 2; k++) {
        hid_t space = H5Screate_simple(k ? 1 : 4, k ? bd : kd, NULL);
        hid_t d = H5Dcreate2(g, wnames[k], H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (space < 0 || d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, k ? bias : kernel) < 0)
            die("h5 dataset");
        H5Dclose(d);
        H5Sclose(space);
    }
    H5Pclose(lcpl);
    H5Gclose(g);
    if (wrapped)
        H5Gclose(root);
    H5Fclose(f);
}

/* An array written by ck_npy_* into DIR/npy/name. */
static void npy_seed(const char *name, int ndim, const int64_t *shape)
{
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (size_t)shape[i];
    float v[64];
    for (size_t k = 0; k < count && k < 64; k++)
        v[k] = (float)k / 4 - 1;
    ck_npy_writer *w = ck_npy_create(seed_path("npy", name), ndim, shape, 0);
    if (!w || ck_npy_write(w, v, count) || ck_npy_commit(w))
        die(name);
}

/* Headers numpy writes besides ck's: format 2.0, Fortran order, float64,
 * keys in another order. */
static void npy_header_seed(const char *name, int major, const char *dict, size_t data)
{
    char buf[512] = "\x93NUMPY";
    size_t len = strlen(dict), pre = major == 1 ? 10 : 12;
    buf[6] = (char)major;
    buf[7] = 0;
    buf[8] = (char)len;
    buf[9] = buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, len);
    memset(buf + pre + len, 0x3f, data);
    put("npy", name, buf, pre + len + data);
}

static void npy_seeds(void)
{
    int64_t rows[2] = {3, 4}, maps[4] = {2, 2, 2, 3}, one[1] = {5}, empty[2] = {0, 7};
    npy_seed("rows-3x4.npy", 2, rows);
    npy_seed("maps-2x2x2x3.npy", 4, maps);
    npy_seed("vector-5.npy", 1, one);
    npy_seed("scalar.npy", 0, NULL);
    npy_seed("empty-0x7.npy", 2, empty);
    npy_header_seed("v2.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }\n", 8);
    npy_header_seed("keys-reordered.npy", 1, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f4\"}", 8);
    npy_header_seed("bad-fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }\n", 8);
    npy_header_seed("bad-f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 16);
}

/* A ResNet50-style BN layer (conv1_bn) with Keras 2 names: the four
 * statistics in a nested group. */
static void h5_bn_seed(void)
{
    hid_t f = H5Fcreate(seed_path("h5", "keras2-bn.h5"), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    static const char *const layers[] = {"input_1", "conv1_pad", "conv1_bn"};
    static const char *const wnames[] = {"conv1_bn/gamma:0", "conv1_bn/beta:0", "conv1_bn/moving_mean:0",
                                         "conv1_bn/moving_variance:0"};
    hid_t pad = H5Gcreate2(f, "conv1_pad", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "conv1_bn", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0 || pad < 0 || g < 0 || h5_write_string_list(f, "layer_names", layers, 3) != 0 ||
        h5_write_string_list(pad, "weight_names", NULL, 0) != 0 ||
        h5_write_string_list(g, "weight_names", wnames, 4) != 0)
        die("h5 bn");
    static float v[64];
    for (int i = 0; i < 64; i++)
        v[i] = 0.5f + (float)i / 64;
    const hsize_t d1[1] = {64};
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    for (int k = 0; k < 4; k++) {
        hid_t space = H5Screate_simple(1, d1, NULL);
        hid_t d = H5Dcreate2(g, wnames[k], H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (space < 0 || d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
            die("h5 bn dataset");
        H5Dclose(d);
        H5Sclose(space);
    }
    H5Pclose(lcpl);
    H5Gclose(g);
    H5Gclose(pad);
    H5Fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz-seeds DIR\n");
        return 2;
    }
    root = argv[1];
    json_seeds();
    safetensors_seeds();
    checkpoint_seed("head-flatten", 0, 0, 4);
    checkpoint_seed("head-avg-bn", 1, 1, 2);
    checkpoint_seed("head-none", 0, 0, 0);
    table_seeds();
    submission_seeds();
    augspec_seeds();
    image_seeds();
    npy_seeds();
    h5_seed("keras2.h5", 0, "block1_conv1/kernel:0", "block1_conv1/bias:0");
    h5_seed("keras1-model.h5", 1, "block1_conv1_W_1:0", "block1_conv1_b_1:0");
    h5_bn_seed();
    return 0;
}
