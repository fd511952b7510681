/* Backends and tensors: device strings, shapes and reshape, host copies
 * with bounds, fill, and f32 <-> bf16 / f16 conversions. */
#include "nn_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ck/ops.h"

char *openblas_get_corename(void); /* OpenBLAS (cblas.h is not needed here) */

static void test_backends(void)
{
    ck_backend *be = ck_backend_new("cpu", 1);
    CHECK(be && ck_backend_is_cpu(be) && ck_backend_threads(be) == 1);
    CHECK(strncmp(ck_backend_name(be), "cpu", 3) == 0);
    /* next to CPU compute the loaders keep the caller's default */
    CHECK(ck_backend_loader_threads(be, 2) == 2 && ck_backend_loader_threads(be, 1) == 1);
    ck_backend_free(be);
    ck_backend_free(NULL);
    ck_error_clear();
    CHECK(ck_backend_new("tpu", 0) == NULL && strstr(ck_error_buffer(), "unknown device 'tpu'"));
    ck_error_clear();
    CHECK(ck_backend_new("cuda:x", 0) == NULL && strstr(ck_error_buffer(), "cuda:x"));
    ck_error_clear();
    if (!ck_cuda_built()) {
        CHECK(ck_backend_new("cuda", 0) == NULL && strstr(ck_error_buffer(), "built without CUDA"));
        ck_error_clear();
    }
    be = ck_backend_new("auto", 0);
    CHECK(be != NULL);
    ck_backend_free(be);
    /* The table of backends built in: the CPU first, CUDA when built. */
    CHECK(strcmp(ck_backend_kind(0), "cpu") == 0 && ck_backend_kind(-1) == NULL);
    CHECK(ck_cuda_built() ? strcmp(ck_backend_kind(1), "cuda") == 0 && ck_backend_kind(2) == NULL
                          : ck_backend_kind(1) == NULL);
    CHECK(ck_backend_new("cpux", 0) == NULL && strstr(ck_error_buffer(), "unknown device 'cpux'"));
    ck_error_clear();
    ck_conv_algo a;
    CHECK(ck_conv_algo_parse("winograd", &a) == 0 && a == CK_CONV_WINOGRAD);
    CHECK(ck_conv_algo_parse("fast", &a) == -1);
    ck_error_clear();
}

static void test_tensors(ck_backend *be)
{
    ck_tensor *t = ck_tensor_new_4d(be, CK_F32, 4, 3, 2, 5);
    CHECK(ck_tensor_numel(t) == 120 && ck_tensor_nbytes(t) == 480 && ck_tensor_dim(t, -1) == 5);
    OK(ck_tensor_set_batch(t, 2));
    CHECK(ck_tensor_numel(t) == 60);
    CHECK(ck_tensor_set_batch(t, 5) == -1); /* beyond the capacity */
    ck_error_clear();
    int flat[2] = {4, 30};
    OK(ck_tensor_reshape(t, 2, flat));
    float h[120], back[120];
    for (int i = 0; i < 120; i++)
        h[i] = (float)i;
    OK(ck_tensor_upload(t, h, sizeof h));
    CHECK(ck_tensor_upload(t, h, 4) == -1);
    OK(ck_tensor_download_at(t, 40, back, 8));
    CHECK(back[0] == 10 && back[1] == 11);
    CHECK(ck_tensor_download_at(t, 476, back, 8) == -1);
    ck_error_clear();
    OK(ck_tensor_fill(t, 2.5f));
    OK(ck_tensor_download(t, back, sizeof back));
    CHECK(back[0] == 2.5f && back[119] == 2.5f);
    ck_tensor_free(t);
    ck_tensor_free(NULL);

    /* Conversions: exact values survive, rounding is to nearest even. */
    const float vals[] = {0.0f, 1.0f, -2.5f, 65504.0f, 1e-7f, 3.14159265f, 1.00390625f, 1e6f, -0.0f};
    const int nv = (int)(sizeof vals / sizeof vals[0]);
    ck_tensor *f = ck_tensor_new_1d(be, CK_F32, nv), *b = ck_tensor_new_1d(be, CK_BF16, nv);
    ck_tensor *hf = ck_tensor_new_1d(be, CK_F16, nv), *f2 = ck_tensor_new_1d(be, CK_F32, nv);
    OK(ck_tensor_upload(f, vals, sizeof vals));
    OK(ck_tensor_copy(b, f));
    OK(ck_tensor_copy(hf, f));
    uint16_t bb[16], hh[16];
    OK(ck_tensor_download(b, bb, (size_t)nv * 2));
    OK(ck_tensor_download(hf, hh, (size_t)nv * 2));
    CHECK(bb[1] == 0x3f80 && bb[2] == 0xc020);
    CHECK(bb[6] == 0x3f80);          /* 1.00390625 = 1 + 2^-8: a tie, to even */
    CHECK(hh[1] == 0x3c00 && hh[3] == 0x7bff && hh[2] == 0xc100);
    CHECK(hh[4] == 0x0002);          /* 1e-7 is a half subnormal: 1.68 × 2^-24 -> 2 */
    CHECK(hh[7] == 0x7c00);          /* overflow to inf */
    CHECK(hh[8] == 0x8000 && bb[8] == 0x8000);
    OK(ck_tensor_copy(f2, hf));
    OK(ck_tensor_download(f2, back, sizeof vals));
    CHECK(back[3] == 65504.0f && fabsf(back[5] - 3.140625f) < 1e-6f);
    OK(ck_tensor_copy(f2, b));
    OK(ck_tensor_download(f2, back, sizeof vals));
    CHECK(back[2] == -2.5f && fabsf(back[5] - 3.140625f) < 1e-6f);
    ck_tensor *small = ck_tensor_new_1d(be, CK_F32, 3);
    CHECK(ck_tensor_copy(small, f) == -1);
    ck_tensor *u8 = ck_tensor_new_1d(be, CK_U8, nv);
    CHECK(ck_tensor_copy(u8, f) == -1 && strstr(ck_error_buffer(), "cannot convert"));
    ck_error_clear();
    ck_tensor_free(f), ck_tensor_free(b), ck_tensor_free(hf), ck_tensor_free(f2), ck_tensor_free(small);
    ck_tensor_free(u8);
}

/* OPENBLAS_CORETYPE already set: the user's choice stands (NULL); unset:
 * NULL or a core whose instructions this CPU has. */
static void test_blas_core(void)
{
    const char *was = getenv("OPENBLAS_CORETYPE");
    char *saved = was ? strdup(was) : NULL;
    setenv("OPENBLAS_CORETYPE", "Haswell", 1);
    CHECK(ck_cpu_blas_better_core() == NULL);
    unsetenv("OPENBLAS_CORETYPE");
    const char *core = ck_cpu_blas_better_core();
    fprintf(stderr, "OpenBLAS core %s; better: %s\n", openblas_get_corename(), core ? core : "(none)");
    if (core && !strcmp(core, "SkylakeX"))
        CHECK(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"));
    else if (core)
        CHECK(!strcmp(core, "Haswell") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
    if (saved)
        setenv("OPENBLAS_CORETYPE", saved, 1);
    free(saved);
}

/* The CPU backend flushes denormals (cpu_backend.c): a denormal input
 * reads as 0 and a product that would be denormal becomes 0, in OpenMP
 * workers too (a tensor large enough for a parallel loop). */
static void test_denormals(void)
{
    ck_backend *be = ck_backend_new("cpu", 2);
    CHECK(be != NULL);
    if (!be)
        return;
    enum { N = 1 << 17 };
    float *h = malloc(N * sizeof *h);
    ck_tensor *t = ck_tensor_new_1d(be, CK_F32, N);
    CHECK(h && t);
    if (h && t) {
        for (int i = 0; i < N; i++)
            h[i] = i % 2 ? 1e-39f : 1e-30f; /* denormal / normal */
        CHECK(ck_tensor_upload(t, h, N * sizeof *h) == 0);
        CHECK(ck_scale(be, t, 1e-9f) == 0); /* 1e-30 * 1e-9 = 1e-39: denormal */
        CHECK(ck_tensor_download(t, h, N * sizeof *h) == 0);
        int zeros = 0;
        for (int i = 0; i < N; i++)
            zeros += h[i] == 0.0f;
        CHECK(zeros == N);
    }
    ck_tensor_free(t);
    free(h);
    ck_backend_free(be);
}

int main(void)
{
    test_backends();
    test_denormals();
    test_blas_core();
    ck_backend *be = test_backend();
    test_tensors(be);
    ck_backend_free(be);
    return check_report("test-tensor");
}
