/* Backend selection and the small enum helpers of ck/backend.h. */
#include "backend_impl.h"

#include "ck/error.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ck_thread_limit(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > 1024 ? 4096 : (int)(4 * n);
}

int ck_device_name_valid(const char *device)
{
    if (!device || !*device || !strcmp(device, "cpu") || !strcmp(device, "auto") || !strcmp(device, "cuda"))
        return 1;
    if (strncmp(device, "cuda:", 5) != 0)
        return 0;
    char *end;
    long v = strtol(device + 5, &end, 10);
    return end != device + 5 && !*end && v >= 0 && v <= 1024 && device[5] >= '0' && device[5] <= '9';
}

ck_backend *ck_backend_new(const char *device, int threads)
{
    if (!device || !*device)
        device = "auto";
    /* The OpenMP runtime gives each thread a stack: 100000 overflow it. */
    if (threads < 0 || threads > ck_thread_limit()) {
        ck_error("backend", "%d threads: the limit is %d (4 per core)", threads, ck_thread_limit());
        return NULL;
    }
    if (strcmp(device, "cpu") == 0)
        return ck_cpu_backend_new(threads);
    if (strcmp(device, "auto") == 0) {
#ifdef CK_HAVE_CUDA
        if (ck_cuda_device_count() > 0) {
            ck_backend *be = ck_cuda_backend_new(0, threads);
            if (be)
                return be;
            /* A GPU that cannot be opened is not fatal for "auto". */
            ck_error_clear();
        }
#endif
        return ck_cpu_backend_new(threads);
    }
    if (strncmp(device, "cuda", 4) == 0 && (device[4] == '\0' || device[4] == ':')) {
        int index = 0;
        if (device[4] == ':') {
            char *end;
            long v = strtol(device + 5, &end, 10);
            if (end == device + 5 || *end || v < 0 || v > 1024) {
                ck_error("backend", "bad device '%s' (expected cuda or cuda:N)", device);
                return NULL;
            }
            index = (int)v;
        }
#ifdef CK_HAVE_CUDA
        return ck_cuda_backend_new(index, threads);
#else
        (void)index;
        ck_error("backend", "ck was built without CUDA support (device '%s')", device);
        return NULL;
#endif
    }
    ck_error("backend", "unknown device '%s' (expected cpu, cuda, cuda:N or auto)", device);
    return NULL;
}

void ck_backend_free(ck_backend *be)
{
    if (!be)
        return;
    be->ops->destroy(be);
}

const char *ck_backend_name(const ck_backend *be) { return be->name; }
int ck_backend_is_cpu(const ck_backend *be) { return be->is_cpu; }
int ck_backend_threads(const ck_backend *be) { return be->threads; }
int ck_backend_sync(ck_backend *be) { return be->ops->sync(be); }

int ck_backend_loader_threads(const ck_backend *be, int cpu_default)
{
    if (!be || be->is_cpu)
        return cpu_default;
    long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;
    return n < cpu_default ? cpu_default : n > 16 ? 16 : (int)n;
}

int ck_cuda_built(void)
{
#ifdef CK_HAVE_CUDA
    return 1;
#else
    return 0;
#endif
}

int ck_cuda_available(void)
{
#ifdef CK_HAVE_CUDA
    return ck_cuda_device_count() > 0;
#else
    return 0;
#endif
}

size_t ck_dtype_size(ck_dtype t)
{
    switch (t) {
    case CK_F32: return 4;
    case CK_BF16: return 2;
    case CK_F16: return 2;
    case CK_I32: return 4;
    case CK_U8: return 1;
    }
    return 0;
}

const char *ck_dtype_name(ck_dtype t)
{
    switch (t) {
    case CK_F32: return "f32";
    case CK_BF16: return "bf16";
    case CK_F16: return "f16";
    case CK_I32: return "i32";
    case CK_U8: return "u8";
    }
    return "?";
}

const char *ck_conv_algo_name(ck_conv_algo a)
{
    switch (a) {
    case CK_CONV_AUTO: return "auto";
    case CK_CONV_FP32: return "fp32";
    case CK_CONV_WINOGRAD: return "winograd";
    case CK_CONV_BF16: return "bf16";
    }
    return "?";
}

int ck_conv_algo_parse(const char *s, ck_conv_algo *out)
{
    static const ck_conv_algo all[] = {CK_CONV_AUTO, CK_CONV_FP32, CK_CONV_WINOGRAD, CK_CONV_BF16};
    for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, ck_conv_algo_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    ck_error("backend", "unknown convolution algorithm '%s' (expected auto, fp32, winograd or bf16)",
             s ? s : "");
    return -1;
}
