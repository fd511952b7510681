/* ck_weights on every architecture and layout of ck/arch.h: random files
 * written, recognised and loaded (every canonical tensor, right shape); the
 * same values in both layouts of a seed; torchvision's names and [out,in,
 * kh,kw] kernels checked here by hand against the canonical tensors; the
 * canonical convert round trip; recognition errors naming the tensor; md5
 * verification. */
#include "check.h"
#include "load_fails.h"
#include "ck/arch.h"
#include "ck/error.h"
#include "ck/safetensors.h"
#include "ck/sha256.h"
#include "ck/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEED 5

static const char *file_of(ck_arch a, ck_layout l)
{
    static char path[64];
    snprintf(path, sizeof path, "%s-%s.%s", ck_arch_name(a), ck_layout_name(l),
             l == CK_LAYOUT_KERAS ? "h5" : "safetensors");
    return path;
}

/* Each random file loaded once (ResNet50 files are about 100 MB). */
static ck_weights *loaded[CK_ARCH_COUNT][2];

static ck_weights *load(const char *path)
{
    ck_error_clear();
    ck_weights *w = ck_weights_load(path);
    if (!w)
        fprintf(stderr, "%s\n", ck_error_buffer());
    CHECK(w != NULL);
    return w;
}

static size_t numel(int ndim, const int *shape)
{
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= (size_t)shape[d];
    return n;
}

/* Every canonical tensor of (a, l) present with its shape, in order. */
static void check_complete(const ck_weights *w, ck_arch a, ck_layout l)
{
    int n = ck_arch_tensor_count(a, l);
    CHECK(ck_weights_count(w) == n);
    for (int i = 0; i < n; i++) {
        char name[64];
        int nd, shape[4], gnd, gshape[4];
        CHECK(ck_arch_tensor(a, l, i, name, &nd, shape) == 0);
        const float *v = ck_weights_get(w, name, &gnd, gshape);
        CHECK(v != NULL && gnd == nd && memcmp(gshape, shape, (size_t)nd * sizeof *shape) == 0);
        CHECK(strcmp(ck_weights_name(w, i), name) == 0);
    }
}

static void test_every_layout(void)
{
    for (int a = 0; a < CK_ARCH_COUNT; a++)
        for (int l = 0; l < 2; l++) {
            const char *path = file_of((ck_arch)a, (ck_layout)l);
            CHECK(ck_weights_write_random(path, (ck_arch)a, (ck_layout)l, SEED, 0) == 0);
            ck_weights *w = load(path);
            if (!w)
                continue;
            CHECK(ck_weights_arch(w) == (ck_arch)a);
            CHECK(ck_weights_layout(w) == (ck_layout)l);
            CHECK(strcmp(ck_weights_format(w), l == CK_LAYOUT_KERAS ? "hdf5" : "safetensors") == 0);
            CHECK(strcmp(ck_weights_preprocessing(w), l == CK_LAYOUT_KERAS ? "caffe" : "torch") == 0);
            CHECK(ck_weights_origin_of(w) == CK_WEIGHTS_RANDOM && ck_weights_random_seed(w) == SEED);
            CHECK(ck_weights_has_top(w) == 0);
            check_complete(w, (ck_arch)a, (ck_layout)l);
            loaded[a][l] = w;
        }
    /* The counts the task states. */
    CHECK(ck_arch_tensor_count(CK_ARCH_RESNET50, CK_LAYOUT_KERAS) == 318);
    CHECK(ck_arch_tensor_count(CK_ARCH_RESNET50, CK_LAYOUT_TORCHVISION) == 265);
    CHECK(ck_arch_tensor_count(CK_ARCH_VGG19, CK_LAYOUT_KERAS) == 32);
}

/* Same seed, both layouts: the same canonical values (torchvision's ResNet
 * has no conv biases); and the statistics are in their ranges. */
static void test_values(void)
{
    for (int a = 0; a < CK_ARCH_COUNT; a++) {
        const ck_weights *k = loaded[a][CK_LAYOUT_KERAS], *t = loaded[a][CK_LAYOUT_TORCHVISION];
        if (!k || !t)
            continue;
        int same = 1;
        for (int i = 0; i < ck_weights_count(t); i++) {
            const char *name = ck_weights_name(t, i);
            int nd, shape[4];
            const float *vt = ck_weights_get(t, name, &nd, shape);
            const float *vk = ck_weights_get(k, name, NULL, NULL);
            same = same && vk && memcmp(vk, vt, numel(nd, shape) * sizeof *vt) == 0;
        }
        CHECK(same);
        /* Kernels He-normal: std close to sqrt(2/fan_in). */
        int nd, shape[4];
        const float *v = ck_weights_get(k, a == CK_ARCH_RESNET50 ? "conv4_block1_2_conv/kernel" : "block4_conv2/kernel",
                                        &nd, shape);
        CHECK(v && nd == 4);
        if (v) {
            size_t n = numel(nd, shape);
            double s2 = 0, m = 0;
            for (size_t i = 0; i < n; i++) {
                m += v[i];
                s2 += (double)v[i] * v[i];
            }
            double want = 2.0 / (shape[0] * shape[1] * shape[2]);
            CHECK(fabs(m / n) < 0.01 * sqrt(want) * 10 && fabs(s2 / n / want - 1.0) < 0.02);
        }
        const float *b = ck_weights_get(k, a == CK_ARCH_RESNET50 ? "conv1_conv/bias" : "block1_conv1/bias", &nd, shape);
        float bmax = 0;
        for (int i = 0; b && i < shape[0]; i++)
            bmax = fmaxf(bmax, fabsf(b[i]));
        /* VGG16 keeps its first stream (zero biases); the others have small
         * random ones. */
        CHECK(b && (a == CK_ARCH_VGG16 ? bmax == 0.0f : bmax > 0.01f && bmax <= 0.05f));
        if (a == CK_ARCH_RESNET50) {
            static const char *const stat[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
            static const float lo[4] = {0.5f, -0.2f, -0.2f, 0.5f}, hi[4] = {1.5f, 0.2f, 0.2f, 1.5f};
            for (int s = 0; s < 4; s++) {
                char name[64];
                snprintf(name, sizeof name, "conv3_block2_2_bn/%s", stat[s]);
                const float *x = ck_weights_get(k, name, &nd, shape);
                CHECK(x && nd == 1 && shape[0] == 128);
                float mn = 9, mx = -9;
                for (int i = 0; x && i < shape[0]; i++) {
                    mn = fminf(mn, x[i]);
                    mx = fmaxf(mx, x[i]);
                }
                CHECK(mn >= lo[s] && mx < hi[s] && mx - mn > 0.5f * (hi[s] - lo[s]));
            }
        }
    }
}

/* torchvision's names and layouts, read from the file with the
 * safetensors reader and compared by hand with the canonical tensors. */
static void check_torch_pair(const ck_st_file *f, const ck_weights *w, const char *tname, const char *cname)
{
    ck_st_tensor t;
    int nd, s[4];
    const float *c = ck_weights_get(w, cname, &nd, s);
    int found = ck_st_find(f, tname, &t);
    CHECK(found && c && t.dtype == CK_ST_F32 && t.ndim == nd);
    if (!found || !c || t.ndim != nd)
        return;
    const float *src = t.data;
    int ok = 1;
    if (nd == 4) { /* [out,in,kh,kw] vs [kh,kw,in,out] */
        ok = t.shape[0] == s[3] && t.shape[1] == s[2] && t.shape[2] == s[0] && t.shape[3] == s[1];
        for (int o = 0; ok && o < s[3]; o += 7)
            for (int i = 0; i < s[2]; i += 5)
                for (int h = 0; h < s[0]; h++)
                    for (int x = 0; x < s[1]; x++)
                        ok = ok && src[(((size_t)o * s[2] + i) * s[0] + h) * s[1] + x] ==
                                       c[(((size_t)h * s[1] + x) * s[2] + i) * s[3] + o];
    } else {
        ok = t.shape[0] == s[0] && memcmp(src, c, (size_t)s[0] * sizeof *c) == 0;
    }
    if (!ok)
        fprintf(stderr, "%s does not hold %s\n", tname, cname);
    CHECK(ok);
}

static void test_torch_names(void)
{
    static const char *const resnet[][2] = {
        {"conv1.weight", "conv1_conv/kernel"},
        {"bn1.running_var", "conv1_bn/moving_variance"},
        {"layer1.0.conv2.weight", "conv2_block1_2_conv/kernel"},
        {"layer1.0.downsample.0.weight", "conv2_block1_0_conv/kernel"},
        {"layer1.0.downsample.1.bias", "conv2_block1_0_bn/beta"},
        {"layer3.5.bn3.running_mean", "conv4_block6_3_bn/moving_mean"},
        {"layer4.2.bn3.weight", "conv5_block3_3_bn/gamma"},
        {"layer4.2.conv3.weight", "conv5_block3_3_conv/kernel"},
    };
    static const char *const vgg19[][2] = {
        {"features.0.weight", "block1_conv1/kernel"},
        {"features.16.weight", "block3_conv4/kernel"},
        {"features.16.bias", "block3_conv4/bias"},
        {"features.34.weight", "block5_conv4/kernel"},
    };
    for (int pass = 0; pass < 2; pass++) {
        ck_arch a = pass ? CK_ARCH_VGG19 : CK_ARCH_RESNET50;
        const char *path = file_of(a, CK_LAYOUT_TORCHVISION);
        const ck_weights *w = loaded[a][CK_LAYOUT_TORCHVISION];
        ck_st_file *f = ck_st_open(path);
        CHECK(f != NULL);
        if (w && f) {
            int n = pass ? 4 : 8;
            for (int i = 0; i < n; i++)
                check_torch_pair(f, w, pass ? vgg19[i][0] : resnet[i][0], pass ? vgg19[i][1] : resnet[i][1]);
            if (!pass) {
                /* As torchvision writes them, and ignored on load. */
                ck_st_tensor t;
                CHECK(ck_st_find(f, "layer2.3.bn1.num_batches_tracked", &t) && t.dtype == CK_ST_I64 && t.ndim == 0);
                CHECK(ck_st_find(f, "fc.weight", &t) && t.ndim == 2 && t.shape[0] == 1000 && t.shape[1] == 2048);
                CHECK(ck_weights_get(w, "conv1_conv/bias", NULL, NULL) == NULL);
            }
        }
        ck_st_close(f);
    }
}

/* Same seed, same bytes (no time stamps in the nested HDF5 groups either);
 * another seed, other values. */
static void test_deterministic(void)
{
    char h1[65], h2[65];
    for (int l = 0; l < 2; l++) {
        const char *again = l ? "again.safetensors" : "again.h5";
        CHECK(ck_weights_write_random(again, CK_ARCH_RESNET50, (ck_layout)l, SEED, 0) == 0);
        CHECK(ck_sha256_file(file_of(CK_ARCH_RESNET50, (ck_layout)l), h1, NULL) == 0);
        CHECK(ck_sha256_file(again, h2, NULL) == 0);
        CHECK(strcmp(h1, h2) == 0);
        unlink(again);
    }
    CHECK(ck_weights_write_random("other.safetensors", CK_ARCH_VGG19, CK_LAYOUT_TORCHVISION, SEED + 1, 0) == 0);
    ck_weights *o = load("other.safetensors");
    const ck_weights *w = loaded[CK_ARCH_VGG19][CK_LAYOUT_TORCHVISION];
    if (o && w) {
        const float *x = ck_weights_get(o, "block3_conv4/kernel", NULL, NULL);
        const float *y = ck_weights_get(w, "block3_conv4/kernel", NULL, NULL);
        CHECK(x && y && x[0] != y[0] && x[1000] != y[1000]);
        CHECK(ck_weights_random_seed(o) == SEED + 1);
    }
    ck_weights_free(o);
    unlink("other.safetensors");
}

/* (VGG's top is tested on VGG16 files by test-weights-h5/-st: the same
 * code, and 550 MB per random file.) */
static void test_top(void)
{
    ck_error_clear();
    CHECK(ck_weights_write_random("r-top.h5", CK_ARCH_RESNET50, CK_LAYOUT_KERAS, SEED, 1) == -1);
    CHECK(strstr(ck_error_buffer(), "VGG only") != NULL);
    CHECK(access("r-top.h5", F_OK) != 0);
}

/* Convert to ck's canonical safetensors and back: arch, layout, values
 * (VGG's two layouts have the same tensors: the metadata tells them
 * apart). Leaves canon-resnet50-keras.safetensors for test_errors. */
static void test_convert(void)
{
    static const int which[4][2] = {{CK_ARCH_RESNET50, CK_LAYOUT_TORCHVISION},
                                    {CK_ARCH_VGG19, CK_LAYOUT_TORCHVISION},
                                    {CK_ARCH_VGG16, CK_LAYOUT_KERAS},
                                    {CK_ARCH_RESNET50, CK_LAYOUT_KERAS}};
    for (int q = 0; q < 4; q++) {
        int a = which[q][0], l = which[q][1];
        {
            const ck_weights *w = loaded[a][l];
            if (!w)
                continue;
            CHECK(ck_weights_write_safetensors(w, q == 3 ? "canon-resnet50-keras.safetensors" : "canon.safetensors") == 0);
            ck_weights *c = load(q == 3 ? "canon-resnet50-keras.safetensors" : "canon.safetensors");
            if (c) {
                CHECK(ck_weights_arch(c) == (ck_arch)a && ck_weights_layout(c) == (ck_layout)l);
                CHECK(strcmp(ck_weights_preprocessing(c), ck_weights_preprocessing(w)) == 0);
                CHECK(ck_weights_origin_of(c) == CK_WEIGHTS_RANDOM && ck_weights_random_seed(c) == SEED);
                CHECK(ck_weights_count(c) == ck_weights_count(w));
                int same = 1;
                for (int i = 0; i < ck_weights_count(w); i++) {
                    int nd, s[4];
                    const float *x = ck_weights_get(w, ck_weights_name(w, i), &nd, s);
                    const float *y = ck_weights_get(c, ck_weights_name(w, i), NULL, NULL);
                    same = same && y && memcmp(x, y, numel(nd, s) * sizeof *x) == 0;
                }
                CHECK(same);
                ck_st_file *f = ck_st_open(q == 3 ? "canon-resnet50-keras.safetensors" : "canon.safetensors");
                CHECK(f && strcmp(ck_st_metadata(f, "ck_arch"), ck_arch_name((ck_arch)a)) == 0);
                CHECK(f && strcmp(ck_st_metadata(f, "ck_layout"), ck_layout_name((ck_layout)l)) == 0);
                ck_st_close(f);
            }
            ck_weights_free(c);
        }
    }
    unlink("canon.safetensors");
}

/* A copy of `src` with one tensor dropped, reshaped, retyped, or metadata
 * changed (tensors share the source's mapping until written). */
typedef struct edit {
    const char *drop;
    const char *reshape; /* first dim + 1 (the data gets one more row) */
    const char *to_i32;
    const char *meta_key, *meta_value;
    const char *drop_meta;
} edit;

static void rewrite(const char *src, const char *dst, const edit *e)
{
    ck_st_file *f = ck_st_open(src);
    ck_st_writer *sw = ck_st_writer_new();
    CHECK(f && sw);
    if (!f || !sw) {
        ck_st_close(f);
        ck_st_writer_free(sw);
        return;
    }
    void *extra = NULL;
    for (int i = 0; i < ck_st_count(f); i++) {
        ck_st_tensor t;
        CHECK(ck_st_tensor_at(f, i, &t) == 1);
        if (e->drop && strcmp(t.name, e->drop) == 0)
            continue;
        int64_t shape[CK_ST_MAX_DIMS];
        memcpy(shape, t.shape, sizeof shape);
        const void *data = t.data;
        ck_st_dtype dtype = t.dtype;
        if (e->reshape && strcmp(t.name, e->reshape) == 0) {
            size_t row = t.nbytes / (size_t)t.shape[0];
            extra = calloc(1, t.nbytes + row);
            memcpy(extra, t.data, t.nbytes);
            data = extra;
            shape[0]++;
        }
        if (e->to_i32 && strcmp(t.name, e->to_i32) == 0)
            dtype = CK_ST_I32; /* same element size, other type */
        CHECK(ck_st_writer_add_copy(sw, t.name, dtype, t.ndim, shape, data) == 0);
    }
    static const char *const keys[] = {"format", "ck_random_weights", "ck_seed", "ck_arch", "ck_layout",
                                       "ck_preprocessing"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (ck_st_metadata(f, keys[i]) && !(e->drop_meta && strcmp(keys[i], e->drop_meta) == 0))
            ck_st_writer_set_metadata(sw, keys[i], ck_st_metadata(f, keys[i]));
    if (e->meta_key)
        ck_st_writer_set_metadata(sw, e->meta_key, e->meta_value);
    CHECK(ck_st_writer_write(sw, dst) == 0);
    ck_st_writer_free(sw);
    free(extra);
    ck_st_close(f);
}

static void test_errors(void)
{
    const char *tv = file_of(CK_ARCH_RESNET50, CK_LAYOUT_TORCHVISION);
    rewrite(tv, "bad.safetensors", &(edit){.drop = "layer3.2.bn2.running_var"});
    fails("bad.safetensors", "tensor \"layer3.2.bn2.running_var\" (conv4_block3_2_bn/moving_variance) missing "
                             "(the closest known weights file is resnet50, torchvision layout, torchvision names)");
    rewrite(tv, "bad.safetensors", &(edit){.reshape = "layer2.0.downsample.0.weight"});
    fails("bad.safetensors", "tensor \"layer2.0.downsample.0.weight\" (conv3_block1_0_conv/kernel) has shape "
                             "[513,256,1,1], resnet50 needs [512,256,1,1]");

    /* Canonical files: the keras layout's extra conv biases decide. */
    rewrite("canon-resnet50-keras.safetensors", "bad.safetensors", &(edit){.reshape = "conv5_block2_1_bn/gamma"});
    fails("bad.safetensors", "tensor \"conv5_block2_1_bn/gamma\" has shape [513], resnet50 needs [512] (resnet50, keras layout)");
    rewrite("canon-resnet50-keras.safetensors", "bad.safetensors", &(edit){.drop = "conv2_block3_3_conv/bias"});
    fails("bad.safetensors", "tensor \"conv2_block3_3_conv/bias\" missing (the closest known weights file is resnet50, keras layout)");
    rewrite("canon-resnet50-keras.safetensors", "bad.safetensors", &(edit){.to_i32 = "conv1_conv/kernel"});
    fails("bad.safetensors", "tensor \"conv1_conv/kernel\" has dtype I32");
    rewrite("canon-resnet50-keras.safetensors", "bad.safetensors", &(edit){.meta_key = "ck_arch", .meta_value = "vgg19"});
    fails("bad.safetensors", "metadata says ck_arch \"vgg19\" but the tensors are resnet50's");

    /* A canonical VGG file without ck_layout: the older ck_preprocessing
     * "torch" still means torchvision. */
    if (loaded[CK_ARCH_VGG16][CK_LAYOUT_TORCHVISION])
        CHECK(ck_weights_write_safetensors(loaded[CK_ARCH_VGG16][CK_LAYOUT_TORCHVISION], "canon.safetensors") == 0);
    rewrite("canon.safetensors", "old.safetensors", &(edit){.drop_meta = "ck_layout"});
    ck_weights *w = load("old.safetensors");
    CHECK(w && ck_weights_layout(w) == CK_LAYOUT_TORCHVISION && strcmp(ck_weights_preprocessing(w), "torch") == 0);
    ck_weights_free(w);

    /* Nothing known: the closest is the smallest, named by its first
     * tensor. */
    ck_st_writer *sw = ck_st_writer_new();
    float x[4] = {0};
    int64_t s[1] = {4};
    ck_st_writer_add(sw, "encoder.weight", CK_ST_F32, 1, s, x);
    ck_st_writer_write(sw, "bad.safetensors");
    ck_st_writer_free(sw);
    fails("bad.safetensors", "tensor \"block1_conv1/kernel\" missing (the closest known weights file is vgg16");
    unlink("bad.safetensors");
    unlink("old.safetensors");
    unlink("canon.safetensors");
    unlink("canon-resnet50-keras.safetensors");
}

/* MD5 (RFC 1321's "abc") beside SHA-256 from one read; verification by
 * md5 and the official files' identities. */
static void test_md5(void)
{
    FILE *fp = fopen("abc.txt", "wb");
    fputs("abc", fp);
    fclose(fp);
    char sha[65], md5[33];
    long long size = 0;
    CHECK(ck_file_digests("abc.txt", sha, md5, &size) == 0 && size == 3);
    CHECK(strcmp(md5, "900150983cd24fb0d6963f7d28e17f72") == 0);
    CHECK(strcmp(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    const char *why = NULL;
    CHECK(ck_weights_verify_digests("abc.txt", -1, NULL, "900150983cd24fb0d6963f7d28e17f72", &why) == 1 && !why);
    CHECK(ck_weights_verify_digests("abc.txt", 3, sha, md5, &why) == 1);
    CHECK(ck_weights_verify_digests("abc.txt", -1, NULL, "900150983cd24fb0d6963f7d28e17f73", &why) == 0 &&
          strstr(why, "md5"));
    CHECK(ck_weights_verify_digests("abc.txt", 4, NULL, md5, &why) == 0 && strstr(why, "size"));
    unlink("abc.txt");

    const char *r = file_of(CK_ARCH_RESNET50, CK_LAYOUT_KERAS);
    const ck_weights *w = loaded[CK_ARCH_RESNET50][CK_LAYOUT_KERAS];
    CHECK(ck_file_digests(r, sha, md5, NULL) == 0);
    CHECK(w && strcmp(ck_weights_md5(w), md5) == 0 && strcmp(ck_weights_sha256(w), sha) == 0);
    CHECK(ck_weights_verify_arch(r, CK_ARCH_RESNET50, &why) == 0 && strstr(why, "md5 differs"));
    CHECK(ck_weights_verify_arch(r, CK_ARCH_VGG16, &why) == 0 && strstr(why, "size differs"));
    ck_arch a = CK_ARCH_VGG19;
    CHECK(ck_weights_identify(r, &a) == 0 && a == CK_ARCH_VGG19);
    CHECK(ck_weights_identify("no-such.h5", &a) == -1 && strstr(ck_error_buffer(), "no-such.h5"));
    const ck_weights_official *o = ck_weights_official_of(CK_ARCH_RESNET50);
    CHECK(o && strcmp(o->md5, "4d473c1dd8becc155b73f8504c6f6626") == 0 && !o->sha256 && o->size < 0);
    o = ck_weights_official_of(CK_ARCH_VGG19);
    CHECK(o && strcmp(o->md5, "253f8cb515780f3b799900260a226db6") == 0);
    CHECK(strstr(ck_weights_official_of(CK_ARCH_VGG16)->file, "vgg16") != NULL);
}

int main(void)
{
    test_every_layout();
    test_values();
    test_torch_names();
    test_deterministic();
    test_top();
    test_convert();
    test_errors();
    test_md5();
    for (int a = 0; a < CK_ARCH_COUNT; a++)
        for (int l = 0; l < 2; l++) {
            ck_weights_free(loaded[a][l]);
            unlink(file_of((ck_arch)a, (ck_layout)l));
        }
    return check_report("test-weights-arch");
}
