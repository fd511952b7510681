/* Backend selection and the small enum helpers of ck/backend.h. */
#include "backend_impl.h"

#include "ck/error.h"
#include "ck/threads.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The backends built in, in the order "auto" prefers them last to first
 * (the CPU is the fallback). A new backend adds its row here. */
static ck_backend *cpu_open(int index, int threads)
{
    (void)index;
    return ck_cpu_backend_new(threads);
}
static const struct backend_kind {
    const char *name;
    ck_backend *(*open)(int index, int threads);
    int (*count)(void); /* usable devices; NULL: always one */
} kinds[] = {
    {"cpu", cpu_open, NULL},
#ifdef CK_HAVE_CUDA
    {"cuda", ck_cuda_backend_new, ck_cuda_device_count},
#endif
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

const char *ck_backend_kind(int i)
{
    return i >= 0 && i < NKINDS ? kinds[i].name : NULL;
}

/* "auto": the last kind with a device that opens. */
static ck_backend *open_auto(int threads)
{
    for (int i = NKINDS - 1; i > 0; i--)
        if (kinds[i].count() > 0) {
            ck_backend *be = kinds[i].open(0, threads);
            if (be)
                return be;
            /* A device that cannot be opened is not fatal for "auto". */
            ck_error_clear();
        }
    return kinds[0].open(0, threads);
}

/* NAME or NAME:N: the name's length and the index; -1 with an error for a
 * malformed index. */
static int split_device(const char *device, size_t *len, int *index)
{
    *len = strcspn(device, ":");
    *index = 0;
    if (device[*len] == ':') {
        const char *num = device + *len + 1;
        char *end;
        long v = strtol(num, &end, 10);
        if (end == num || *end || *num < '0' || *num > '9' || v > 1024) {
            ck_error("backend", "bad device '%s' (expected NAME or NAME:N, e.g. cuda:1)", device);
            return -1;
        }
        *index = (int)v;
    }
    return 0;
}

/* Index of the kind named by the first len bytes of device, or -1. */
static int find_kind(const char *device, size_t len)
{
    for (int i = 0; i < NKINDS; i++)
        if (strlen(kinds[i].name) == len && strncmp(device, kinds[i].name, len) == 0)
            return i;
    return -1;
}

int ck_device_name_valid(const char *device)
{
    if (!device || !*device || strcmp(device, "auto") == 0)
        return 1;
    size_t len;
    int index;
    if (split_device(device, &len, &index)) {
        ck_error_clear();
        return 0;
    }
    /* "cuda" is a name even where it is not built: that is a runtime error. */
    return find_kind(device, len) >= 0 || (len == 4 && strncmp(device, "cuda", 4) == 0);
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
    if (strcmp(device, "auto") == 0)
        return open_auto(threads);
    size_t len;
    int index;
    if (split_device(device, &len, &index))
        return NULL;
    int k = find_kind(device, len);
    if (k >= 0)
        return kinds[k].open(index, threads);
    if (strncmp(device, "cuda", len) == 0 && len == 4) {
        ck_error("backend", "ck was built without CUDA support (device '%s')", device);
        return NULL;
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
