/* backend_impl.h — what a backend implements (private to lib/nn, lib/cpu
 * and lib/cuda).
 *
 * A backend fills a ck_backend_ops table (memory entries, then one entry
 * per operation of ops_list.h). The public functions in ops.c
 * validate shapes and dtypes and then call these entries, so an
 * implementation may assume its arguments are consistent. Every entry
 * returns 0, or -1 after ck_error(). Naming follows llm.c: the CPU kernel of
 * an operation is ck_cpu_<op>, the CUDA one ck_cuda_<op>.
 */
#ifndef CK_BACKEND_IMPL_H
#define CK_BACKEND_IMPL_H

#include "ck/backend.h"
#include "ck/ops.h"
#include "ops_list.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ck_tensor {
    ck_backend *be;
    ck_dtype dtype;
    int ndim;
    int shape[CK_MAX_DIMS];
    size_t capacity; /* bytes allocated */
    void *data;      /* backend memory (host for CPU, device for CUDA) */
    /* Content stamp: a new value from one process-wide counter on every
     * write through the public API (tensor.c's upload/fill/copy, every
     * ops.c operation's outputs and updated parameters), so equal
     * (tensor, version) means equal contents and a value is never reused,
     * not even by a later tensor at the same address. Backends key caches
     * of derived data on it (the CPU's Winograd weight transforms). Code
     * writing t->data behind the API's back must call ck_tensor_touch(). */
    uint64_t version;
};

/* Give t a new version (see struct ck_tensor); tensor.c. */
void ck_tensor_touch(ck_tensor *t);

typedef struct ck_backend_ops {
    const char *name;

    /* memory */
    void *(*alloc)(ck_backend *be, size_t nbytes);
    void (*free)(ck_backend *be, void *ptr);
    int (*upload)(ck_backend *be, void *dst, const void *host, size_t nbytes);
    int (*download)(ck_backend *be, void *host, const void *src, size_t nbytes);
    int (*sync)(ck_backend *be);
    void (*destroy)(ck_backend *be); /* frees backend-private state */

    /* Drop whatever the backend derived from t's contents (e.g. the CPU's
     * cached Winograd weights) before t goes; NULL when it keeps nothing. */
    void (*forget)(ck_backend *be, const ck_tensor *t);

    /* the operations, in the order of ops_list.h */
#define CK_OP_ENTRY(op, params) int(*op) params;
    CK_BACKEND_OPS(CK_OP_ENTRY)
#undef CK_OP_ENTRY
} ck_backend_ops;

struct ck_backend {
    const ck_backend_ops *ops;
    char name[128];
    int threads;
    int is_cpu;
    /* Keeping frozen layers' activations in bf16 pays here (the model asks
     * for it with frozen_algo bf16 or auto): tensor-core GPUs, where the
     * conversions would otherwise cost more memory traffic than the
     * convolutions save. The CPU's bf16 kernel converts internally. */
    int bf16_act;
    void *impl; /* backend-private state */
};

/* Give a buffer another dtype and shape within its capacity (contents
 * undefined afterwards): the model's ping-pong activation buffers hold f32
 * or bf16 layer by layer. -1 with an error when it does not fit. */
int ck_tensor_retype(ck_tensor *t, ck_dtype dt, int ndim, const int *shape);

/* Constructors of the concrete backends. */
ck_backend *ck_cpu_backend_new(int threads);
#ifdef CK_HAVE_CUDA
/* In lib/cuda; device index >= 0. NULL with an error when no device. */
ck_backend *ck_cuda_backend_new(int device, int threads);
int ck_cuda_device_count(void);
#endif

#ifdef __cplusplus
}
#endif
#endif
