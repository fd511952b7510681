/* test-conv-cache.c — cached Winograd weight transforms never go stale, and
 * the model's lazy initialisation gives the seeded values whenever it runs.
 *
 * The CPU backend keeps U = G g Gᵀ per (kernel tensor, version); every
 * write to a tensor through the API gives it a new version. Each way of
 * writing a kernel (upload, upload_at, fill, copy, an optimizer update,
 * an op's output) is followed by a Winograd convolution that must match the
 * fp32 one with the new values; so must a kernel freed and replaced by a
 * new one (possibly at the same address), a cache too small to hold U, and
 * kernels taking turns in a cache that holds one transform.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ck/backend.h"
#include "ck/error.h"
#include "ck/model.h"
#include "ck/ops.h"
#include "ck/rng.h"

static void fill(float *a, size_t n, uint64_t seed, float lo, float hi)
{
    ck_rng r = ck_rng_make(seed, 0, 0);
    for (size_t i = 0; i < n; i++)
        a[i] = (float)ck_rng_range(&r, lo, hi);
}

enum { N = 2, H = 8, W = 8, CI = 16, CO = 24 };
#define XN ((size_t)N * H * W * CI)
#define WN ((size_t)9 * CI * CO)

/* max|winograd − fp32| / max|fp32| with the kernel's current contents. */
static double wg_error(ck_backend *be, ck_tensor *x, ck_tensor *w, ck_tensor *y)
{
    size_t n = ck_tensor_numel(y);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    double e = 1e9, s = 0;
    if (a && b && !ck_conv3x3_forward(be, x, w, NULL, y, 0, CK_CONV_FP32) && !ck_tensor_download(y, a, n * sizeof *a)
        && !ck_conv3x3_forward(be, x, w, NULL, y, 0, CK_CONV_WINOGRAD) && !ck_tensor_download(y, b, n * sizeof *b)) {
        e = 0;
        for (size_t i = 0; i < n; i++) {
            double d = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
            double m = a[i] > 0 ? a[i] : -a[i];
            e = d > e ? d : e;
            s = m > s ? m : s;
        }
    }
    free(a);
    free(b);
    return s > 0 ? e / s : e;
}

/* Kernels taking turns in a cache that holds one transform (1 MiB, U of a
 * 64×64 kernel is 576 KiB): evictions, buffer reuse, re-transforms. */
static void test_eviction(ck_backend *be)
{
    enum { C = 64 };
    int ws[4] = {3, 3, C, C};
    ck_tensor *x = ck_tensor_new_4d(be, CK_F32, 1, 8, 8, C), *y = ck_tensor_new_4d(be, CK_F32, 1, 8, 8, C);
    ck_tensor *w[3] = {ck_tensor_new(be, CK_F32, 4, ws), ck_tensor_new(be, CK_F32, 4, ws),
                       ck_tensor_new(be, CK_F32, 4, ws)};
    static float h[9 * C * C];
    CHECK(x && y && w[0] && w[1] && w[2]);
    fill(h, 8 * 8 * C, 10, -1, 1);
    CHECK(ck_tensor_upload(x, h, 8 * 8 * C * sizeof(float)) == 0);
    for (int k = 0; k < 3; k++) {
        fill(h, 9 * C * C, 11 + k, -0.1f, 0.1f);
        CHECK(ck_tensor_upload(w[k], h, sizeof h) == 0);
    }
    for (int round = 0; round < 3; round++)
        for (int k = 0; k < 3; k++) {
            CHECK(wg_error(be, x, w[k], y) < 2e-5);
            if (round == 1 && k == 1)
                CHECK(ck_tensor_fill(w[0], 0.01f) == 0);
        }
    for (int k = 0; k < 3; k++)
        ck_tensor_free(w[k]);
    ck_tensor_free(x);
    ck_tensor_free(y);
}

static void test_versions(ck_backend *be)
{
    static float hx[XN], hw[WN];
    ck_tensor *x = ck_tensor_new_4d(be, CK_F32, N, H, W, CI);
    ck_tensor *y = ck_tensor_new_4d(be, CK_F32, N, H, W, CO);
    int ws[4] = {3, 3, CI, CO};
    ck_tensor *w = ck_tensor_new(be, CK_F32, 4, ws);
    ck_tensor *w2 = ck_tensor_new(be, CK_F32, 4, ws);
    ck_tensor *g = ck_tensor_new(be, CK_F32, 4, ws);
    CHECK(x && y && w && w2 && g);
    fill(hx, XN, 1, -1, 1);
    fill(hw, WN, 2, -0.2f, 0.2f);
    CHECK(ck_tensor_upload(x, hx, sizeof hx) == 0 && ck_tensor_upload(w, hw, sizeof hw) == 0);
    CHECK(wg_error(be, x, w, y) < 2e-5); /* transform cached now */
    CHECK(wg_error(be, x, w, y) < 2e-5); /* and reused */

    fill(hw, WN, 3, -0.2f, 0.2f);
    CHECK(ck_tensor_upload(w, hw, sizeof hw) == 0);
    CHECK(wg_error(be, x, w, y) < 2e-5);

    float patch[CO];
    fill(patch, CO, 4, 1, 2);
    CHECK(ck_tensor_upload_at(w, 5 * CI * CO * sizeof(float), patch, sizeof patch) == 0);
    CHECK(wg_error(be, x, w, y) < 2e-5);

    CHECK(ck_tensor_fill(w, 0.03f) == 0);
    CHECK(wg_error(be, x, w, y) < 2e-5);

    fill(hw, WN, 5, -0.2f, 0.2f);
    CHECK(ck_tensor_upload(w2, hw, sizeof hw) == 0 && ck_tensor_copy(w, w2) == 0);
    CHECK(wg_error(be, x, w, y) < 2e-5);

    fill(hw, WN, 6, -1, 1);
    CHECK(ck_tensor_upload(g, hw, sizeof hw) == 0);
    CHECK(ck_sgd_update(be, w, g, NULL, 0.1f, 0.0f, 0, 0.0f) == 0);
    CHECK(wg_error(be, x, w, y) < 2e-5);
    CHECK(ck_axpy(be, 0.5f, g, w) == 0);
    CHECK(wg_error(be, x, w, y) < 2e-5);
    CHECK(ck_scale(be, w, -1.0f) == 0);
    CHECK(wg_error(be, x, w, y) < 2e-5);

    /* A new kernel, likely at the freed one's address. */
    ck_tensor_free(w);
    w = ck_tensor_new(be, CK_F32, 4, ws);
    fill(hw, WN, 7, -0.2f, 0.2f);
    CHECK(w && ck_tensor_upload(w, hw, sizeof hw) == 0);
    CHECK(wg_error(be, x, w, y) < 2e-5);

    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_tensor_free(w);
    ck_tensor_free(w2);
    ck_tensor_free(g);
}

/* Lazy init: the values of a parameter do not depend on when or in which
 * order parameters get initialised, and an overwritten one stays so. */
static void test_lazy_init(ck_backend *be)
{
    ck_net_config cfg;
    ck_net_config_default(&cfg);
    cfg.input_size = 32;
    cfg.num_classes = 5;
    cfg.seed = 42;
    ck_model *a = ck_model_new(be, &cfg, 1), *b = ck_model_new(be, &cfg, 1);
    CHECK(a && b);
    const char *names[] = {"block1_conv2/kernel", "block1_conv1/bias"};
    int np = ck_model_param_count(a);
    /* b: materialise every parameter from the last to the first */
    for (int i = np - 1; i >= 0; i--)
        CHECK(ck_model_param(b, i) != NULL);
    for (int k = 0; k < 2; k++) {
        int i = ck_model_param_find(a, names[k]);
        CHECK(i >= 0);
        size_t n = ck_tensor_numel(ck_model_param(a, i));
        float *va = malloc(n * sizeof *va), *vb = malloc(n * sizeof *vb);
        CHECK(va && vb);
        CHECK(ck_model_param_get(a, names[k], va, n) == 0 && ck_model_param_get(b, names[k], vb, n) == 0);
        CHECK(memcmp(va, vb, n * sizeof *va) == 0);
        free(va);
        free(vb);
    }
    /* the last (dense) kernel, first touched through param_get in a */
    const char *last = ck_model_param_name(a, np - 2);
    size_t n = ck_tensor_numel(ck_model_param(b, np - 2));
    float *va = malloc(n * sizeof *va), *vb = malloc(n * sizeof *vb);
    CHECK(va && vb);
    CHECK(ck_model_param_get(a, last, va, n) == 0 && ck_model_param_get(b, last, vb, n) == 0);
    CHECK(memcmp(va, vb, n * sizeof *va) == 0);
    size_t nz = 0;
    for (size_t i = 0; i < n; i++)
        nz += va[i] != 0.0f;
    CHECK(nz > n / 2); /* really initialised (Glorot-uniform) */
    free(va);
    free(vb);

    /* set before any use: never re-initialised afterwards */
    ck_model *c = ck_model_new(be, &cfg, 1);
    CHECK(c);
    const char *k1 = "block1_conv1/kernel";
    int i1 = ck_model_param_find(c, k1);
    size_t n1 = ck_tensor_numel(ck_model_param(b, i1));
    float *z = calloc(n1, sizeof *z), *back = malloc(n1 * sizeof *back);
    CHECK(z && back);
    z[3] = 1.5f;
    CHECK(ck_model_param_set(c, k1, z, n1) == 0);
    CHECK(ck_model_param(c, i1) != NULL);
    CHECK(ck_model_param_get(c, k1, back, n1) == 0);
    CHECK(memcmp(z, back, n1 * sizeof *z) == 0);
    free(z);
    free(back);
    ck_model_free(a);
    ck_model_free(b);
    ck_model_free(c);
}

int main(void)
{
    ck_backend *be = ck_backend_new("cpu", 2);
    CHECK(be);
    test_versions(be);
    ck_backend_free(be);

    /* a cache too small for U: the transform goes to scratch each call */
    setenv("CK_CPU_CACHE_MB", "0", 1);
    be = ck_backend_new("cpu", 2);
    CHECK(be);
    test_versions(be);
    test_lazy_init(be);
    ck_backend_free(be);

    setenv("CK_CPU_CACHE_MB", "1", 1);
    be = ck_backend_new("cpu", 2);
    CHECK(be);
    test_eviction(be);
    ck_backend_free(be);
    return check_report("test-conv-cache");
}
