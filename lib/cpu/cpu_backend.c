/* The CPU backend: host memory, scratch buffers, and the ops table. */
#include "cpu_kernels.h"
#include "ck/dtype.h"

#include "ck/error.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One cached derivation of a tensor's contents (see ck_cpu_cache_get). */
typedef struct cache_entry {
    const ck_tensor *t; /* NULL = free slot */
    uint64_t version;
    int kind;
    size_t nbytes;
    void *data;
    uint64_t last_use;
} cache_entry;

#define CACHE_ENTRIES 64
#define CACHE_DEFAULT_MB 256

typedef struct cpu_state {
    void *scratch[CK_CPU_SCRATCH_SLOTS];
    size_t scratch_size[CK_CPU_SCRATCH_SLOTS];
    cache_entry cache[CACHE_ENTRIES];
    size_t cache_bytes, cache_limit;
    uint64_t cache_clock;
} cpu_state;

static void *cpu_alloc(ck_backend *be, size_t nbytes)
{
    (void)be;
    /* 64-byte alignment for AVX-512 loads; aligned_alloc wants a multiple. */
    size_t n = (nbytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, n ? n : 64);
    if (!p)
        ck_error("cpu", "out of memory allocating %zu bytes", nbytes);
    return p;
}

static void cpu_free(ck_backend *be, void *ptr)
{
    (void)be;
    free(ptr);
}

void *ck_cpu_scratch(ck_backend *be, int slot, size_t nbytes)
{
    cpu_state *st = be->impl;
    if (slot < 0 || slot >= CK_CPU_SCRATCH_SLOTS) {
        ck_error("cpu", "bad scratch slot %d", slot);
        return NULL;
    }
    if (st->scratch_size[slot] < nbytes) {
        free(st->scratch[slot]);
        st->scratch_size[slot] = 0;
        st->scratch[slot] = cpu_alloc(be, nbytes);
        if (!st->scratch[slot])
            return NULL;
        st->scratch_size[slot] = nbytes;
    }
    return st->scratch[slot];
}

static void cache_drop(cpu_state *st, cache_entry *e)
{
    free(e->data);
    st->cache_bytes -= e->nbytes;
    memset(e, 0, sizeof *e);
}

void *ck_cpu_cache_get(ck_backend *be, const ck_tensor *t, int kind, size_t nbytes, int *fresh)
{
    cpu_state *st = be->impl;
    *fresh = 1;
    if (nbytes == 0 || nbytes > st->cache_limit)
        return NULL;
    cache_entry *hit = NULL, *slot = NULL;
    for (int i = 0; i < CACHE_ENTRIES; i++) {
        cache_entry *e = &st->cache[i];
        if (e->t == t && e->kind == kind)
            hit = e;
    }
    if (hit && hit->version == t->version && hit->nbytes == nbytes) {
        hit->last_use = ++st->cache_clock;
        *fresh = 0;
        return hit->data;
    }
    if (hit) /* stale: the tensor was written since, or reshaped */
        cache_drop(st, hit);
    /* Evict least recently used entries until the new one fits. An evicted
     * buffer of the same size is taken over rather than freed: models
     * taking turns over a full cache then rewrite warm memory instead of
     * touching fresh pages (slow on these VMs). */
    void *reuse = NULL;
    for (;;) {
        cache_entry *lru = NULL;
        slot = NULL;
        for (int i = 0; i < CACHE_ENTRIES; i++) {
            cache_entry *e = &st->cache[i];
            if (!e->t)
                slot = slot ? slot : e;
            else if (!lru || e->last_use < lru->last_use)
                lru = e;
        }
        if (slot && st->cache_bytes + nbytes <= st->cache_limit)
            break;
        /* lru != NULL here: otherwise the cache is empty and nbytes fits */
        if (!reuse && lru->nbytes == nbytes) {
            reuse = lru->data;
            lru->data = NULL;
        }
        cache_drop(st, lru);
    }
    size_t n = (nbytes + 63) & ~(size_t)63;
    slot->data = reuse ? reuse : aligned_alloc(64, n);
    if (!slot->data)
        return NULL; /* the caller falls back to scratch memory */
    slot->t = t;
    slot->version = t->version;
    slot->kind = kind;
    slot->nbytes = nbytes;
    slot->last_use = ++st->cache_clock;
    st->cache_bytes += nbytes;
    return slot->data;
}

void ck_cpu_forget(ck_backend *be, const ck_tensor *t)
{
    cpu_state *st = be->impl;
    for (int i = 0; i < CACHE_ENTRIES; i++)
        if (st->cache[i].t == t)
            cache_drop(st, &st->cache[i]);
}

static int cpu_upload(ck_backend *be, void *dst, const void *host, size_t nbytes)
{
    (void)be;
    if (nbytes)
        memcpy(dst, host, nbytes);
    return 0;
}

static int cpu_download(ck_backend *be, void *host, const void *src, size_t nbytes)
{
    (void)be;
    if (nbytes)
        memcpy(host, src, nbytes);
    return 0;
}

static int cpu_sync(ck_backend *be)
{
    (void)be;
    return 0;
}

static void cpu_destroy(ck_backend *be)
{
    cpu_state *st = be->impl;
    for (int i = 0; i < CK_CPU_SCRATCH_SLOTS; i++)
        free(st->scratch[i]);
    for (int i = 0; i < CACHE_ENTRIES; i++)
        free(st->cache[i].data);
    free(st);
    free(be);
}

int ck_cpu_fill(ck_backend *be, ck_tensor *t, float value)
{
    size_t n = ck_tensor_numel(t);
    if (value == 0.0f) {
        memset(t->data, 0, ck_tensor_nbytes(t));
        return 0;
    }
    if (t->dtype == CK_F32) {
        float *p = t->data;
#pragma omp parallel for num_threads(be->threads) if (n > CK_CPU_PAR_MIN) schedule(static)
        for (size_t i = 0; i < n; i++)
            p[i] = value;
    } else {
        uint16_t h = t->dtype == CK_BF16 ? ck_f32_to_bf16(value) : ck_f32_to_f16(value);
        uint16_t *p = t->data;
        for (size_t i = 0; i < n; i++)
            p[i] = h;
    }
    return 0;
}

static float load_float(ck_dtype d, const void *p, size_t i)
{
    switch (d) {
    case CK_BF16: return ck_bf16_to_f32(((const uint16_t *)p)[i]);
    case CK_F16: return ck_f16_to_f32(((const uint16_t *)p)[i]);
    default: return ((const float *)p)[i];
    }
}

int ck_cpu_copy(ck_backend *be, ck_tensor *dst, const ck_tensor *src)
{
    size_t n = ck_tensor_numel(src);
    if (dst->dtype == src->dtype) {
        if (dst->data != src->data)
            memcpy(dst->data, src->data, ck_tensor_nbytes(src));
        return 0;
    }
    const void *s = src->data;
    ck_dtype sd = src->dtype;
    if (dst->dtype == CK_F32) {
        float *d = dst->data;
#pragma omp parallel for num_threads(be->threads) if (n > CK_CPU_PAR_MIN) schedule(static)
        for (size_t i = 0; i < n; i++)
            d[i] = load_float(sd, s, i);
    } else {
        uint16_t *d = dst->data;
        int bf = dst->dtype == CK_BF16;
#pragma omp parallel for num_threads(be->threads) if (n > CK_CPU_PAR_MIN) schedule(static)
        for (size_t i = 0; i < n; i++) {
            float v = load_float(sd, s, i);
            d[i] = bf ? ck_f32_to_bf16(v) : ck_f32_to_f16(v);
        }
    }
    return 0;
}

static const ck_backend_ops cpu_ops = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .sync = cpu_sync,
    .destroy = cpu_destroy,
    .forget = ck_cpu_forget,
#define CK_CPU_OP_ENTRY(op, params) .op = ck_cpu_##op,
    CK_BACKEND_OPS(CK_CPU_OP_ENTRY)
#undef CK_CPU_OP_ENTRY
};

/* Denormal floats cost a microcode assist per operation (~100 cycles).
 * Training makes them: Adam's first moment of a parameter whose gradient
 * stopped (a dead ReLU) decays by 0.9 per step and is denormal after ~800
 * steps; at 64 px, head epochs went from 0.4 s to 5.5 s that way. So, as
 * oneDNN and TensorFlow do, the CPU backend flushes them to zero (FTZ, DAZ)
 * in the calling thread and its OpenMP workers; threads created later from
 * these inherit the setting. Values under 1.2e-38 become 0: below anything
 * the fp32 fixtures can see. */
static void flush_denormals(int threads)
{
#if defined(__x86_64__) || defined(__SSE2__)
    const unsigned bits = 0x8040; /* MXCSR: FTZ (bit 15) | DAZ (bit 6) */
#pragma omp parallel num_threads(threads)
    __builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() | bits);
    __builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() | bits);
#else
    (void)threads;
#endif
}

ck_backend *ck_cpu_backend_new(int threads)
{
    if (threads < 0) {
        ck_error("cpu", "bad thread count %d", threads);
        return NULL;
    }
    if (threads == 0)
        threads = omp_get_num_procs();
    if (threads < 1)
        threads = 1;
    ck_backend *be = calloc(1, sizeof *be);
    cpu_state *st = calloc(1, sizeof *st);
    if (!be || !st) {
        free(be);
        free(st);
        ck_error("cpu", "out of memory");
        return NULL;
    }
    be->ops = &cpu_ops;
    be->threads = threads;
    be->is_cpu = 1;
    /* bf16 activations pay only on tensor-core GPUs; this switch exists so
     * that machines without one can test the model's bf16-activation path
     * (the CPU ops are its reference twin). */
    const char *act = getenv("CK_CPU_BF16_ACT");
    be->bf16_act = act && !strcmp(act, "1");
    be->impl = st;
    st->cache_limit = (size_t)CACHE_DEFAULT_MB << 20;
    const char *mb = getenv("CK_CPU_CACHE_MB");
    if (mb && *mb) {
        char *end;
        unsigned long long v = strtoull(mb, &end, 10);
        if (*end == '\0')
            st->cache_limit = (size_t)v << 20;
    }
    /* OpenBLAS single-threaded, OpenMP for all parallelism (one thread pool;
     * see cpu_blas.c). Process-wide, which suits every backend. */
    openblas_set_num_threads(1);
    flush_denormals(threads);
    snprintf(be->name, sizeof be->name, "cpu (OpenBLAS %s, %d thread%s)", openblas_get_corename(),
             threads, threads == 1 ? "" : "s");
    return be;
}

const char *ck_cpu_blas_better_core(void)
{
#if defined(__x86_64__)
    if (getenv("OPENBLAS_CORETYPE"))
        return NULL;
    const char *have = openblas_get_corename();
    if (!have)
        return NULL;
    /* SkylakeX's kernels need AVX-512 F, BW, VL and DQ. */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return strcasecmp(have, "skylakex") && strcasecmp(have, "cooperlake") &&
                       strcasecmp(have, "sapphirerapids")
                   ? "SkylakeX"
                   : NULL;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return strcasecmp(have, "haswell") && strcasecmp(have, "zen") && strcasecmp(have, "skylakex")
                   ? "Haswell"
                   : NULL;
#endif
    return NULL;
}
