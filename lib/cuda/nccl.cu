/* NCCL implementation of ck_comm (see ck/multigpu.h): one communicator per
 * local GPU, collectives enqueued on each backend's own stream inside one
 * NCCL group, so they are ordered after the backward pass that produced the
 * gradients and before the optimizer step, without host synchronisation. */
#include "cuda_internal.h"
#include "multigpu_impl.h"

#include "ck/fs.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef CK_HAVE_NCCL
#include <nccl.h>

#define CK_NCCL(call)                                                            \
    do {                                                                         \
        ncclResult_t r_ = (call);                                                \
        if (r_ != ncclSuccess) {                                                 \
            ck_error("cuda", "%s: %s", #call, ncclGetErrorString(r_));           \
            return -1;                                                           \
        }                                                                        \
    } while (0)

typedef struct nccl_state {
    ck_backend **bes;
    ncclComm_t *comms;
} nccl_state;

static int nccl_allreduce(ck_comm *c, ck_tensor *const *bufs, int count)
{
    nccl_state *s = (nccl_state *)c->impl;
    CK_NCCL(ncclGroupStart());
    for (int k = 0; k < count; k++)
        for (int r = 0; r < c->nlocal; r++) {
            ck_tensor *t = bufs[r * count + k];
            ncclResult_t e = ncclAllReduce(t->data, t->data, ck_cu_numel(t), ncclFloat, ncclSum, s->comms[r],
                                           ck_cu_stream(s->bes[r]));
            if (e != ncclSuccess) {
                (void)ncclGroupEnd();
                ck_error("cuda", "ncclAllReduce: %s", ncclGetErrorString(e));
                return -1;
            }
        }
    CK_NCCL(ncclGroupEnd());
    return 0;
}

static int nccl_broadcast(ck_comm *c, ck_tensor *const *bufs, int count)
{
    nccl_state *s = (nccl_state *)c->impl;
    CK_NCCL(ncclGroupStart());
    for (int k = 0; k < count; k++)
        for (int r = 0; r < c->nlocal; r++) {
            ck_tensor *t = bufs[r * count + k];
            size_t nbytes = ck_cu_numel(t) * ck_dtype_size(t->dtype);
            ncclResult_t e = ncclBroadcast(t->data, t->data, nbytes, ncclUint8, 0, s->comms[r],
                                           ck_cu_stream(s->bes[r]));
            if (e != ncclSuccess) {
                (void)ncclGroupEnd();
                ck_error("cuda", "ncclBroadcast: %s", ncclGetErrorString(e));
                return -1;
            }
        }
    CK_NCCL(ncclGroupEnd());
    return 0;
}

static void nccl_destroy(ck_comm *c)
{
    nccl_state *s = (nccl_state *)c->impl;
    if (s) {
        for (int r = 0; s->comms && r < c->nlocal; r++)
            if (s->comms[r])
                (void)ncclCommDestroy(s->comms[r]);
        free(s->comms);
        free(s->bes);
        free(s);
    }
    free(c);
}

static const ck_comm_ops nccl_ops = {nccl_allreduce, nccl_broadcast, nccl_destroy};

/* Node 0 publishes the id; the others poll for it. The file must be fresh
 * for this job (a stale one from an earlier run would be read): use a
 * per-job path, as docs/gpu.md explains. */
static int exchange_id(ncclUniqueId *id, int node_rank, const char *id_file)
{
    if (!id_file || !*id_file) {
        ck_error("cuda", "multi-node NCCL needs a unique-id file (--nccl-id-file)");
        return -1;
    }
    if (node_rank == 0) {
        CK_NCCL(ncclGetUniqueId(id));
        return ck_atomic_write(id_file, id, sizeof *id);
    }
    for (int waited_ms = 0; waited_ms < 300000; waited_ms += 100) {
        if (ck_file_exists(id_file)) {
            size_t n = 0;
            char *data = ck_read_file(id_file, &n);
            if (!data)
                return -1;
            int ok = n == sizeof *id;
            if (ok)
                memcpy(id, data, sizeof *id);
            free(data);
            if (!ok) {
                ck_error("cuda", "%s: %zu bytes, expected an NCCL unique id of %zu", id_file, n, sizeof *id);
                return -1;
            }
            return 0;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_error("cuda", "%s: no NCCL unique id from node 0 after 5 minutes", id_file);
    return -1;
}

static int nccl_init(ck_comm *c, nccl_state *s, ck_backend *const *bes, int nnodes, int node_rank,
                     const char *id_file)
{
    int n = c->nlocal;
    int *devs = (int *)malloc(sizeof(int) * n);
    if (!devs) {
        ck_error("cuda", "out of memory");
        return -1;
    }
    for (int r = 0; r < n; r++)
        devs[r] = ck_cu(bes[r])->device;
    ncclResult_t e = ncclSuccess;
    if (nnodes <= 1) {
        e = ncclCommInitAll(s->comms, n, devs);
    } else {
        ncclUniqueId id;
        if (exchange_id(&id, node_rank, id_file) != 0) {
            free(devs);
            return -1;
        }
        e = ncclGroupStart();
        for (int r = 0; e == ncclSuccess && r < n; r++) {
            if (cudaSetDevice(devs[r]) != cudaSuccess) {
                (void)ncclGroupEnd();
                free(devs);
                ck_error("cuda", "cannot select device %d", devs[r]);
                return -1;
            }
            e = ncclCommInitRank(&s->comms[r], c->world, id, c->rank0 + r);
        }
        ncclResult_t e2 = ncclGroupEnd();
        if (e == ncclSuccess)
            e = e2;
    }
    free(devs);
    if (e != ncclSuccess) {
        ck_error("cuda", "NCCL initialisation: %s", ncclGetErrorString(e));
        return -1;
    }
    return 0;
}

ck_comm *ck_cuda_nccl_comm_new(ck_backend *const *bes, int nlocal, int nnodes, int node_rank, const char *id_file)
{
    for (int r = 0; r < nlocal; r++)
        if (!bes[r] || strcmp(bes[r]->ops->name, "cuda") != 0) {
            ck_error("cuda", "NCCL needs CUDA backends (replica %d is %s)", r, bes[r] ? bes[r]->name : "missing");
            return NULL;
        }
    ck_comm *c = (ck_comm *)calloc(1, sizeof *c);
    nccl_state *s = (nccl_state *)calloc(1, sizeof *s);
    if (c) {
        c->ops = &nccl_ops;
        c->impl = s;
        c->nlocal = nlocal;
        c->world = nlocal * (nnodes > 1 ? nnodes : 1);
        c->rank0 = nnodes > 1 ? node_rank * nlocal : 0;
    }
    if (!c || !s || !(s->bes = (ck_backend **)calloc(nlocal, sizeof *s->bes))
        || !(s->comms = (ncclComm_t *)calloc(nlocal, sizeof *s->comms))) {
        if (c)
            nccl_destroy(c);
        else
            free(s);
        ck_error("cuda", "out of memory");
        return NULL;
    }
    memcpy(s->bes, bes, sizeof(ck_backend *) * nlocal);
    if (nccl_init(c, s, bes, nnodes, node_rank, id_file) != 0) {
        nccl_destroy(c);
        return NULL;
    }
    return c;
}

#else /* !CK_HAVE_NCCL */

ck_comm *ck_cuda_nccl_comm_new(ck_backend *const *bes, int nlocal, int nnodes, int node_rank, const char *id_file)
{
    (void)bes, (void)nlocal, (void)nnodes, (void)node_rank, (void)id_file;
    ck_error("cuda", "ck was built without NCCL: multi-GPU training needs libnccl");
    return NULL;
}

#endif
