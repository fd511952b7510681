/* Helpers shared by the nn tests: the backend under test, fixtures, and
 * array comparisons. CK_TEST_DEVICE picks the backend ("cpu" by default;
 * "cuda" runs the same checks on the GPU backend). */
#ifndef CK_TEST_NN_UTIL_H
#define CK_TEST_NN_UTIL_H

#include "check.h"

#include "ck/backend.h"
#include "ck/error.h"
#include "ck/model.h"
#include "ck/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline ck_backend *test_backend(void)
{
    const char *dev = getenv("CK_TEST_DEVICE");
    ck_backend *be = ck_backend_new(dev && *dev ? dev : "cpu", 2);
    if (!be) {
        fprintf(stderr, "no backend: %s", ck_error_buffer());
        exit(77);
    }
    return be;
}

/* ck_model_summary's text (free it). */
static inline char *summary_text(const ck_model *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_model_summary(m, f);
    fclose(f);
    return buf;
}

/* A head-only VGG16 small enough for step-by-step checks: average pooling,
 * one hidden layer of 8, 3 classes, batches of up to 4. */
static inline ck_model *nn_tiny_head(ck_backend *be, float dropout, int batchnorm, uint64_t seed)
{
    ck_net_config c;
    ck_net_config_default(&c);
    c.num_classes = 3;
    c.pool = CK_POOL_AVG;
    c.hidden[0] = 8;
    c.dropout = dropout;
    c.batchnorm = batchnorm;
    c.seed = seed;
    return ck_model_new(be, &c, 4);
}

/* Fixed features for nn_tiny_head: 4 samples of 1×1×512 in [-1, 1). */
static inline ck_tensor *nn_tiny_features(ck_backend *be)
{
    float f[4 * 512];
    for (int i = 0; i < 4 * 512; i++)
        f[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    ck_tensor *t = ck_tensor_new_4d(be, CK_F32, 4, 1, 1, 512);
    if (t && ck_tensor_upload(t, f, sizeof f) != 0) {
        ck_tensor_free(t);
        return NULL;
    }
    return t;
}

static inline ck_st_file *open_fixture(const char *name)
{
    const char *dir = getenv("CK_TESTDATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/fixtures/nn/%s", dir ? dir : "tests", name);
    ck_st_file *f = ck_st_open(path);
    if (!f) {
        fprintf(stderr, "cannot open fixture: %s", ck_error_buffer());
        exit(1);
    }
    return f;
}

/* Host copy of a fixture tensor (malloc'd); shape into shape[]/ndim. */
static inline void *fx_data(const ck_st_file *f, const char *name, int *ndim, int shape[4], size_t *count)
{
    ck_st_tensor t;
    if (!ck_st_find(f, name, &t)) {
        fprintf(stderr, "fixture tensor %s missing\n", name);
        exit(1);
    }
    if (ndim)
        *ndim = t.ndim;
    for (int i = 0; shape && i < t.ndim && i < 4; i++)
        shape[i] = (int)t.shape[i];
    if (count)
        *count = (size_t)t.count;
    void *p = malloc(t.nbytes ? t.nbytes : 1);
    memcpy(p, t.data, t.nbytes);
    return p;
}

static inline float *fx_f32(const ck_st_file *f, const char *name, size_t *count)
{
    return fx_data(f, name, NULL, NULL, count);
}

/* A backend tensor holding a fixture tensor. */
static inline ck_tensor *fx_tensor(ck_backend *be, const ck_st_file *f, const char *name, ck_dtype dt)
{
    int ndim, shape[4];
    size_t n;
    void *p = fx_data(f, name, &ndim, shape, &n);
    ck_tensor *t = ck_tensor_new(be, dt, ndim, shape);
    if (!t || ck_tensor_upload(t, p, ck_tensor_nbytes(t))) {
        fprintf(stderr, "%s: %s", name, ck_error_buffer());
        exit(1);
    }
    free(p);
    return t;
}

static inline ck_tensor *like(ck_backend *be, const ck_tensor *t, ck_dtype dt)
{
    int shape[4];
    for (int i = 0; i < ck_tensor_ndim(t); i++)
        shape[i] = ck_tensor_dim(t, i);
    return ck_tensor_new(be, dt, ck_tensor_ndim(t), shape);
}

static inline float *download(const ck_tensor *t)
{
    float *p = malloc(ck_tensor_nbytes(t) + 4);
    ck_tensor_download(t, p, ck_tensor_nbytes(t));
    return p;
}

/* Compare n floats: |got - want| <= rtol·(|want| + max|want|·1e-2), the
 * second term so that entries near zero in a large array are judged
 * against its scale. Prints the worst entry on failure. */
static inline int close_arrays(const char *what, const float *got, const float *want, size_t n, double rtol)
{
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    double worst = 0.0;
    size_t wi = 0;
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        double tol = rtol * (fabs(want[i]) + 1e-2 * scale) + 1e-30;
        if (!(err <= tol))
            ok = 0;
        if (!(err / tol <= worst)) {
            worst = err / tol;
            wi = i;
        }
    }
    check_count++;
    if (getenv("CK_TEST_VERBOSE"))
        fprintf(stderr, "%-40s worst %.3g x tolerance (rtol %g)\n", what, worst, rtol);
    if (!ok) {
        check_failures++;
        fprintf(stderr, "MISMATCH %s: element %zu got %.9g want %.9g (%.3g x tolerance, rtol %g)\n", what, wi,
                got[wi], want[wi], worst, rtol);
    }
    return ok;
}

/* Compare a backend tensor with a fixture tensor. */
static inline int close_fx(const char *what, const ck_tensor *t, const ck_st_file *f, const char *name, double rtol)
{
    size_t n;
    float *want = fx_f32(f, name, &n);
    if (n != ck_tensor_numel(t)) {
        check_count++;
        check_failures++;
        fprintf(stderr, "MISMATCH %s: %zu elements, fixture %s has %zu\n", what, ck_tensor_numel(t), name, n);
        free(want);
        return 0;
    }
    float *got = download(t);
    int ok = close_arrays(what, got, want, n, rtol);
    free(got);
    free(want);
    return ok;
}

#define OK(call)                                                                 \
    do {                                                                         \
        check_count++;                                                           \
        if ((call) != 0) {                                                       \
            check_failures++;                                                    \
            fprintf(stderr, "%s:%d: %s failed: %s", __FILE__, __LINE__, #call,   \
                    ck_error_buffer());                                          \
            ck_error_clear();                                                    \
        }                                                                        \
    } while (0)

#endif
