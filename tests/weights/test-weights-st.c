/* ck_weights on safetensors: torchvision names transposed to HWIO exactly,
 * ck's canonical names (round trip through ck_weights_write_safetensors,
 * origin kept), and the error paths. */
#include "check.h"
#include "load_fails.h"
#include "ck/error.h"
#include "ck/safetensors.h"
#include "ck/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const int torch_index[] = {0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28};
static const int cin[] = {3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512};
static const int cout[] = {64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512};
static const char *const conv[] = {"block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
                                   "block3_conv1", "block3_conv2", "block3_conv3", "block4_conv1",
                                   "block4_conv2", "block4_conv3", "block5_conv1", "block5_conv2",
                                   "block5_conv3"};

/* Exact in float32: o, i < 512 need 19 bits, h/4 and w/16 four more. */
static float wval(int o, int i, int h, int w)
{
    return (float)o * 1000.0f + (float)i + (float)h * 0.25f + (float)w * 0.0625f;
}

/* torchvision-named file; `skip` leaves out one layer, `bad` gives one the
 * wrong shape; an extra classifier.6 of another size must be ignored. */
static void write_torch(const char *path, int skip, int bad)
{
    ck_st_writer *sw = ck_st_writer_new();
    float *bufs[26] = {0};
    for (int k = 0; k < 13; k++) {
        if (k == skip)
            continue;
        int O = cout[k], I = cin[k] + (k == bad);
        float *wt = malloc((size_t)O * I * 9 * sizeof *wt);
        float *b = malloc((size_t)O * sizeof *b);
        for (int o = 0; o < O; o++) {
            b[o] = (float)o + 0.5f;
            for (int i = 0; i < I; i++)
                for (int h = 0; h < 3; h++)
                    for (int x = 0; x < 3; x++)
                        wt[(((size_t)o * I + i) * 3 + h) * 3 + x] = wval(o, i, h, x);
        }
        char wn[64], bn[64];
        snprintf(wn, sizeof wn, "features.%d.weight", torch_index[k]);
        snprintf(bn, sizeof bn, "features.%d.bias", torch_index[k]);
        int64_t ws[4] = {O, I, 3, 3}, bs[1] = {O};
        CHECK(ck_st_writer_add(sw, wn, CK_ST_F32, 4, ws, wt) == 0);
        CHECK(ck_st_writer_add(sw, bn, CK_ST_F32, 1, bs, b) == 0);
        bufs[2 * k] = wt;
        bufs[2 * k + 1] = b;
    }
    static float head[20 * 4096];
    int64_t hs[2] = {20, 4096};
    CHECK(ck_st_writer_add(sw, "classifier.6.weight", CK_ST_F32, 2, hs, head) == 0);
    CHECK(ck_st_writer_write(sw, path) == 0);
    ck_st_writer_free(sw);
    for (int k = 0; k < 26; k++)
        free(bufs[k]);
}

static void test_torch(void)
{
    write_torch("torch.safetensors", -1, -1);
    ck_error_clear();
    ck_weights *w = ck_weights_load("torch.safetensors");
    if (!w)
        fprintf(stderr, "%s", ck_error_buffer());
    CHECK(w != NULL);
    if (!w)
        return;
    CHECK(ck_weights_count(w) == 26);
    CHECK(ck_weights_has_top(w) == 0);
    CHECK(strcmp(ck_weights_preprocessing(w), "torch") == 0);
    CHECK(strcmp(ck_weights_format(w), "safetensors") == 0);
    CHECK(ck_weights_origin_of(w) == CK_WEIGHTS_UNKNOWN);
    for (int k = 0; k < 13; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s/kernel", conv[k]);
        int ndim, s[4];
        const float *v = ck_weights_get(w, name, &ndim, s);
        CHECK(v && ndim == 4 && s[0] == 3 && s[1] == 3 && s[2] == cin[k] && s[3] == cout[k]);
        long bad = 0;
        for (int h = 0; v && h < 3; h++)
            for (int x = 0; x < 3; x++)
                for (int i = 0; i < cin[k]; i++)
                    for (int o = 0; o < cout[k]; o++)
                        bad += v[(((size_t)h * 3 + x) * cin[k] + i) * cout[k] + o] != wval(o, i, h, x);
        CHECK(bad == 0);
        snprintf(name, sizeof name, "%s/bias", conv[k]);
        const float *b = ck_weights_get(w, name, &ndim, s);
        CHECK(b && ndim == 1 && s[0] == cout[k] && b[cout[k] - 1] == (float)cout[k] - 0.5f);
    }
    ck_weights_free(w);
    unlink("torch.safetensors");
}

static void test_torch_errors(void)
{
    write_torch("torch-missing.safetensors", 12, -1);
    fails("torch-missing.safetensors", "tensor \"features.28.weight\" (block5_conv3/kernel) missing (the closest known weights file is vgg16, torchvision layout");
    write_torch("torch-shape.safetensors", -1, 3);
    fails("torch-shape.safetensors", "tensor \"features.7.weight\" (block2_conv2/kernel) has shape [128,129,3,3], vgg16 needs [128,128,3,3]");
    unlink("torch-missing.safetensors");
    unlink("torch-shape.safetensors");

    ck_st_writer *sw = ck_st_writer_new();
    float x[4] = {0};
    int64_t s[1] = {4};
    ck_st_writer_add(sw, "something.else", CK_ST_F32, 1, s, x);
    ck_st_writer_write(sw, "other.safetensors");
    ck_st_writer_free(sw);
    fails("other.safetensors", "tensor \"block1_conv1/kernel\" missing");
    unlink("other.safetensors");

    /* Canonical names with an integer dtype (and the rest missing: the
     * dtype is checked once the file is recognised; test-weights-arch
     * checks it on a complete file). */
    sw = ck_st_writer_new();
    static int32_t k1[3 * 3 * 3 * 64];
    int64_t ks[4] = {3, 3, 3, 64};
    ck_st_writer_add(sw, "block1_conv1/kernel", CK_ST_I32, 4, ks, k1);
    ck_st_writer_write(sw, "intdtype.safetensors");
    ck_st_writer_free(sw);
    fails("intdtype.safetensors", "tensor \"block1_conv1/bias\" missing");
    unlink("intdtype.safetensors");

    /* A corrupt safetensors file: errors come from the strict reader. */
    FILE *fp = fopen("corrupt.safetensors", "wb");
    fwrite("\x11\0\0\0\0\0\0\0{\"a\":{\"dtype\":1}}", 1, 25, fp);
    fclose(fp);
    fails("corrupt.safetensors", "tensor \"a\"");
    unlink("corrupt.safetensors");
    ck_error_clear();
}

static void test_canonical(void)
{
    CHECK(ck_weights_write_random_h5("st-rand.h5", 11, 0) == 0);
    ck_weights *a = ck_weights_load("st-rand.h5");
    CHECK(a != NULL);
    if (!a)
        return;
    CHECK(ck_weights_write_safetensors(a, "st-rand.safetensors") == 0);
    ck_weights *b = ck_weights_load("st-rand.safetensors");
    CHECK(b != NULL);
    if (b) {
        CHECK(strcmp(ck_weights_format(b), "safetensors") == 0);
        CHECK(strcmp(ck_weights_preprocessing(b), "caffe") == 0);
        CHECK(ck_weights_origin_of(b) == CK_WEIGHTS_RANDOM && ck_weights_random_seed(b) == 11);
        CHECK(ck_weights_count(b) == ck_weights_count(a));
        for (int k = 0; k < ck_weights_count(a); k++) {
            const char *name = ck_weights_name(a, k);
            CHECK(strcmp(name, ck_weights_name(b, k)) == 0);
            int na, nb, sa[4], sb[4];
            const float *va = ck_weights_get(a, name, &na, sa);
            const float *vb = ck_weights_get(b, name, &nb, sb);
            CHECK(va && vb && na == nb && memcmp(sa, sb, sizeof sa) == 0);
            size_t n = 1;
            for (int d = 0; d < na; d++)
                n *= (size_t)sa[d];
            CHECK(va && vb && memcmp(va, vb, n * sizeof *va) == 0);
        }
        ck_st_file *f = ck_st_open("st-rand.safetensors");
        CHECK(f && strcmp(ck_st_metadata(f, "ck_source_sha256"), ck_weights_sha256(a)) == 0);
        ck_st_close(f);
    }
    ck_weights_free(b);
    ck_weights_free(a);
    unlink("st-rand.h5");
    unlink("st-rand.safetensors");
}

int main(void)
{
    test_torch();
    test_torch_errors();
    test_canonical();
    return check_report("test-weights-st");
}
