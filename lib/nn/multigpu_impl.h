/* multigpu_impl.h — what a ck_comm implementation provides (private to
 * lib/nn/multigpu.c and lib/cuda/nccl.cu). Owned by the CUDA backend. */
#ifndef CK_MULTIGPU_IMPL_H
#define CK_MULTIGPU_IMPL_H

#include "backend_impl.h"
#include "ck/multigpu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_comm_ops {
    /* See ck_comm_allreduce_sum / ck_comm_broadcast; arguments checked. */
    int (*allreduce_sum)(ck_comm *c, ck_tensor *const *bufs, int count);
    int (*broadcast)(ck_comm *c, ck_tensor *const *bufs, int count);
    void (*destroy)(ck_comm *c); /* frees impl and c */
} ck_comm_ops;

struct ck_comm {
    const ck_comm_ops *ops;
    int nlocal;
    int world;
    int rank0; /* global rank of local replica 0 */
    void *impl;
};

#ifdef CK_HAVE_CUDA
/* lib/cuda/nccl.cu; an error when ck was built without NCCL. */
ck_comm *ck_cuda_nccl_comm_new(ck_backend *const *bes, int nlocal, int nnodes, int node_rank,
                               const char *id_file);
#endif

#ifdef __cplusplus
}
#endif
#endif
