/* ck/multigpu.h — data-parallel training over several GPUs (and nodes).
 *
 * Model: one backend + one model replica per device, all starting from the
 * same parameters. Each step the global batch of B samples is split into
 * world contiguous shards (ck_dp_shard); replica r runs
 * ck_model_train_step on its shard (its mean loss), then
 * ck_dp_average_grads combines the gradients so that every replica holds
 *
 *     g = Σ_r (weight_r / total) · g_r
 *
 * which is exactly the full-batch gradient of the mean loss when weight_r
 * is the normaliser of replica r's mean (its sample count, or Σ of the
 * class weights of its labels with weighted cross-entropy) and total their
 * sum over all replicas of all nodes. Every replica then applies the same
 * optimizer step, so parameters stay identical without being exchanged.
 * What is NOT synchronised: batch-norm batch statistics and moving averages
 * (per replica, like PyTorch DDP without SyncBatchNorm: save replica 0's),
 * and dropout masks, which depend on the element index inside the shard —
 * pass a different step per replica (e.g. step·world + rank) so replicas do
 * not share masks.
 *
 * The gradient arithmetic is written against an abstract all-reduce
 * (ck_comm): an in-process implementation that sums on the host (any
 * backend, used by the CPU tests) and NCCL for CUDA backends (single node:
 * ncclCommInitAll; several nodes: a unique id passed through a shared file,
 * see docs/gpu.md).
 *
 * All functions return 0 / a pointer, or -1 / NULL with ck_error().
 */
#ifndef CK_MULTIGPU_H
#define CK_MULTIGPU_H

#include "ck/backend.h"
#include "ck/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- all-reduce communicator ------------------------------------------ */

typedef struct ck_comm ck_comm;

/* In-process communicator for nlocal replicas on any backends (world ==
 * nlocal): downloads, sums in replica order on the host, uploads. */
ck_comm *ck_comm_new_local(int nlocal);
/* NCCL communicator over the CUDA backends bes[0..nlocal-1] (one per GPU).
 * nnodes <= 1: single process (id_file unused). Otherwise every node runs
 * one process with the same nlocal; node 0 writes a fresh NCCL unique id
 * to id_file (on a shared file system) and the others wait for it (up to
 * 5 minutes); global rank = node_rank·nlocal + local index.
 * Fails with "built without NCCL" / "not a CUDA backend" when unusable. */
ck_comm *ck_comm_new_nccl(ck_backend *const *bes, int nlocal, int nnodes, int node_rank, const char *id_file);
void ck_comm_free(ck_comm *c);
int ck_comm_world(const ck_comm *c);
/* Global rank of local replica r. */
int ck_comm_rank(const ck_comm *c, int r);
/* bufs[r·count + k] is tensor k of local replica r (F32, tensor k has the
 * same element count on every replica). In place, every tensor k becomes
 * the sum over all replicas (of all processes) of tensor k. */
int ck_comm_allreduce_sum(ck_comm *c, ck_tensor *const *bufs, int count);
/* Same layout; every tensor k becomes global rank 0's tensor k (any dtype). */
int ck_comm_broadcast(ck_comm *c, ck_tensor *const *bufs, int count);

/* ---- data-parallel model replicas ------------------------------------- */

typedef struct ck_dp_config {
    /* Comma-separated devices, one replica each: "0,1,2" means cuda:0,
     * cuda:1, cuda:2 (the --gpus syntax); any ck_backend_new device name is
     * accepted too ("cpu,cpu" runs replicas on CPU backends, for tests). */
    const char *devices;
    int threads;         /* CPU threads per backend (0 = all) */
    int nnodes;          /* <= 1: single node */
    int node_rank;       /* 0..nnodes-1 */
    const char *id_file; /* NCCL unique-id file when nnodes > 1 */
} ck_dp_config;

typedef struct ck_dp ck_dp;

/* One backend and one ck_model_new(cfg, max_batch) replica per device;
 * NCCL when every device is CUDA and NCCL is built in, else the local
 * communicator (nnodes > 1 requires NCCL). Replicas start identical (same
 * cfg->seed); load pretrained weights into each, or into replica 0 and
 * call ck_dp_sync_params. max_batch is per replica. */
ck_dp *ck_dp_new(const ck_dp_config *dc, const ck_net_config *cfg, int max_batch);
void ck_dp_free(ck_dp *dp);

int ck_dp_replicas(const ck_dp *dp); /* local */
int ck_dp_world(const ck_dp *dp);    /* all nodes */
int ck_dp_rank(const ck_dp *dp, int r);
ck_backend *ck_dp_backend(ck_dp *dp, int r);
ck_model *ck_dp_model(ck_dp *dp, int r);
ck_comm *ck_dp_comm(ck_dp *dp);

/* Shard of global rank `rank` in a batch of `batch` samples split over
 * `world` ranks: contiguous, sizes differ by at most one (the first
 * batch % world ranks get one more). */
void ck_dp_shard(int batch, int world, int rank, int *start, int *count);

/* Copy every parameter (trainable, frozen and state) from global rank 0
 * to all replicas. */
int ck_dp_sync_params(ck_dp *dp);

/* Replace every replica's trainable gradients by Σ_r (weight[r]/total)·g_r
 * over all replicas of all nodes (see the top of this file). weight holds
 * the local replicas' normalisers; weight NULL means equal shares
 * (1/world each, total ignored). A replica with weight 0 (empty shard)
 * contributes nothing, even if its gradient holds garbage. */
int ck_dp_average_grads(ck_dp *dp, const double *weight, double total);

/* Run fn(dp, r, ctx) for every local replica r at once, one thread each
 * (each GPU gets its own host thread, so replicas overlap). Returns -1
 * when any call failed (their errors are all in the error buffer). */
typedef int (*ck_dp_fn)(ck_dp *dp, int r, void *ctx);
int ck_dp_parallel(ck_dp *dp, ck_dp_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
