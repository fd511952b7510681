/* Data-parallel replicas and the all-reduce abstraction (ck/multigpu.h).
 * The arithmetic lives here, backend-agnostic, so the CPU tests check the
 * same code that drives NCCL on GPUs. Owned by the CUDA engineer. */
#include "multigpu_impl.h"

#include "ck/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the in-process communicator ---------------------------------------- */

typedef struct local_state {
    float *sum;
    float *tmp;
    size_t cap; /* floats */
} local_state;

static float *grow(local_state *s, size_t n)
{
    if (n <= s->cap)
        return s->sum;
    float *a = realloc(s->sum, n * sizeof(float));
    if (a)
        s->sum = a;
    float *b = a ? realloc(s->tmp, n * sizeof(float)) : NULL;
    if (b)
        s->tmp = b;
    if (!a || !b) {
        ck_error("multigpu", "out of memory for %zu floats", n);
        return NULL;
    }
    s->cap = n;
    return s->sum;
}

static int local_allreduce(ck_comm *c, ck_tensor *const *bufs, int count)
{
    local_state *s = c->impl;
    for (int k = 0; k < count; k++) {
        size_t n = ck_tensor_numel(bufs[k]);
        if (!grow(s, n))
            return -1;
        /* Replica order, float accumulation: deterministic. */
        if (ck_tensor_download(bufs[k], s->sum, n * sizeof(float)))
            return -1;
        for (int r = 1; r < c->nlocal; r++) {
            if (ck_tensor_download(bufs[r * count + k], s->tmp, n * sizeof(float)))
                return -1;
            for (size_t i = 0; i < n; i++)
                s->sum[i] += s->tmp[i];
        }
        for (int r = 0; r < c->nlocal; r++)
            if (ck_tensor_upload(bufs[r * count + k], s->sum, n * sizeof(float)))
                return -1;
    }
    return 0;
}

static int local_broadcast(ck_comm *c, ck_tensor *const *bufs, int count)
{
    local_state *s = c->impl;
    for (int k = 0; k < count; k++) {
        size_t nbytes = ck_tensor_nbytes(bufs[k]);
        if (!grow(s, (nbytes + sizeof(float) - 1) / sizeof(float)))
            return -1;
        if (ck_tensor_download(bufs[k], s->sum, nbytes))
            return -1;
        for (int r = 1; r < c->nlocal; r++)
            if (ck_tensor_upload(bufs[r * count + k], s->sum, nbytes))
                return -1;
    }
    return 0;
}

static void local_destroy(ck_comm *c)
{
    local_state *s = c->impl;
    if (s) {
        free(s->sum);
        free(s->tmp);
        free(s);
    }
    free(c);
}

static const ck_comm_ops local_ops = {local_allreduce, local_broadcast, local_destroy};

ck_comm *ck_comm_new_local(int nlocal)
{
    if (nlocal < 1) {
        ck_error("multigpu", "bad number of replicas %d", nlocal);
        return NULL;
    }
    ck_comm *c = calloc(1, sizeof *c);
    local_state *s = calloc(1, sizeof *s);
    if (!c || !s) {
        free(c);
        free(s);
        ck_error("multigpu", "out of memory");
        return NULL;
    }
    c->ops = &local_ops;
    c->impl = s;
    c->nlocal = c->world = nlocal;
    c->rank0 = 0;
    return c;
}

ck_comm *ck_comm_new_nccl(ck_backend *const *bes, int nlocal, int nnodes, int node_rank, const char *id_file)
{
    if (nlocal < 1 || (nnodes > 1 && (node_rank < 0 || node_rank >= nnodes))) {
        ck_error("multigpu", "bad replica count %d or node rank %d of %d", nlocal, node_rank, nnodes);
        return NULL;
    }
#ifdef CK_HAVE_CUDA
    return ck_cuda_nccl_comm_new(bes, nlocal, nnodes, node_rank, id_file);
#else
    (void)bes, (void)id_file;
    ck_error("multigpu", "ck was built without CUDA: NCCL is unavailable");
    return NULL;
#endif
}

void ck_comm_free(ck_comm *c)
{
    if (c)
        c->ops->destroy(c);
}

int ck_comm_world(const ck_comm *c) { return c->world; }
int ck_comm_rank(const ck_comm *c, int r) { return c->rank0 + r; }

static int check_bufs(const ck_comm *c, ck_tensor *const *bufs, int count, int f32_only)
{
    if (count < 0 || (count > 0 && !bufs)) {
        ck_error("multigpu", "bad tensor list");
        return -1;
    }
    for (int k = 0; k < count; k++)
        for (int r = 0; r < c->nlocal; r++) {
            const ck_tensor *t = bufs[r * count + k], *t0 = bufs[k];
            if (!t || ck_tensor_numel(t) != ck_tensor_numel(t0) || t->dtype != t0->dtype
                || (f32_only && t->dtype != CK_F32)) {
                ck_error("multigpu", "tensor %d of replica %d does not match replica 0's%s", k, r,
                         f32_only ? " (or is not f32)" : "");
                return -1;
            }
        }
    return 0;
}

/* The collectives write the tensors behind ops.c's back: new versions
 * (see struct ck_tensor) so no backend cache outlives the old contents. */
static void touch_all(ck_comm *c, ck_tensor *const *bufs, int count)
{
    for (int i = 0; i < count * c->nlocal; i++)
        ck_tensor_touch(bufs[i]);
}

int ck_comm_allreduce_sum(ck_comm *c, ck_tensor *const *bufs, int count)
{
    if (check_bufs(c, bufs, count, 1))
        return -1;
    touch_all(c, bufs, count);
    return count ? c->ops->allreduce_sum(c, bufs, count) : 0;
}

int ck_comm_broadcast(ck_comm *c, ck_tensor *const *bufs, int count)
{
    if (check_bufs(c, bufs, count, 0))
        return -1;
    touch_all(c, bufs, count);
    return count ? c->ops->broadcast(c, bufs, count) : 0;
}

/* ---- replicas ----------------------------------------------------------- */

struct ck_dp {
    int n;
    ck_backend **bes;
    ck_model **models;
    ck_comm *comm;
};

void ck_dp_shard(int batch, int world, int rank, int *start, int *count)
{
    if (world < 1 || rank < 0 || rank >= world || batch < 0) {
        *start = *count = 0;
        return;
    }
    int base = batch / world, extra = batch % world;
    *count = base + (rank < extra);
    *start = rank * base + (rank < extra ? rank : extra);
}

/* "0" -> "cuda:0"; anything else is a ck_backend_new device name. */
static ck_backend *open_device(const char *item, int threads)
{
    char name[64];
    const char *p = item;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p != item && *p == '\0') {
        snprintf(name, sizeof name, "cuda:%s", item);
        return ck_backend_new(name, threads);
    }
    return ck_backend_new(item, threads);
}

static int split_devices(const char *list, char ***out)
{
    if (!list || !*list) {
        ck_error("multigpu", "empty device list");
        return -1;
    }
    int n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    char **items = calloc((size_t)n, sizeof *items);
    char *copy = strdup(list);
    if (!items || !copy) {
        free(items);
        free(copy);
        ck_error("multigpu", "out of memory");
        return -1;
    }
    int k = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        items[k++] = tok;
    if (k != n) {
        ck_error("multigpu", "empty entry in device list '%s'", list);
        free(items);
        free(copy);
        return -1;
    }
    /* items[0] owns the copy. */
    *out = items;
    return n;
}

ck_dp *ck_dp_new(const ck_dp_config *dc, const ck_net_config *cfg, int max_batch)
{
    char **items = NULL;
    int n = split_devices(dc ? dc->devices : NULL, &items);
    if (n < 0)
        return NULL;
    ck_dp *dp = calloc(1, sizeof *dp);
    if (dp) {
        dp->bes = calloc((size_t)n, sizeof *dp->bes);
        dp->models = calloc((size_t)n, sizeof *dp->models);
    }
    if (!dp || !dp->bes || !dp->models) {
        if (dp) {
            free(dp->bes);
            free(dp->models);
            free(dp);
        }
        free(items[0]);
        free(items);
        ck_error("multigpu", "out of memory");
        return NULL;
    }
    dp->n = n;
    int all_cuda = 1;
    for (int r = 0; r < n; r++) {
        dp->bes[r] = open_device(items[r], dc->threads);
        if (!dp->bes[r])
            goto fail;
        all_cuda &= !ck_backend_is_cpu(dp->bes[r]);
        dp->models[r] = ck_model_new(dp->bes[r], cfg, max_batch);
        if (!dp->models[r])
            goto fail;
    }
    if (dc->nnodes > 1 || (all_cuda && n > 1 && ck_cuda_built()))
        dp->comm = ck_comm_new_nccl(dp->bes, n, dc->nnodes, dc->node_rank, dc->id_file);
    else
        dp->comm = ck_comm_new_local(n);
    if (!dp->comm)
        goto fail;
    free(items[0]);
    free(items);
    return dp;
fail:
    free(items[0]);
    free(items);
    ck_dp_free(dp);
    return NULL;
}

void ck_dp_free(ck_dp *dp)
{
    if (!dp)
        return;
    ck_comm_free(dp->comm);
    for (int r = 0; r < dp->n; r++) {
        ck_model_free(dp->models[r]);
        ck_backend_free(dp->bes[r]);
    }
    free(dp->models);
    free(dp->bes);
    free(dp);
}

int ck_dp_replicas(const ck_dp *dp) { return dp->n; }
int ck_dp_world(const ck_dp *dp) { return dp->comm->world; }
int ck_dp_rank(const ck_dp *dp, int r) { return dp->comm->rank0 + r; }
ck_backend *ck_dp_backend(ck_dp *dp, int r) { return dp->bes[r]; }
ck_model *ck_dp_model(ck_dp *dp, int r) { return dp->models[r]; }
ck_comm *ck_dp_comm(ck_dp *dp) { return dp->comm; }

/* bufs[r·count + k] = tensor k of replica r, for the parameters selected. */
static ck_tensor **gather(ck_dp *dp, int grads, int *count)
{
    int np = ck_model_param_count(dp->models[0]);
    int k = 0;
    for (int i = 0; i < np; i++)
        k += !grads || ck_model_param_trainable(dp->models[0], i);
    ck_tensor **bufs = calloc((size_t)(k ? k : 1) * dp->n, sizeof *bufs);
    if (!bufs) {
        ck_error("multigpu", "out of memory");
        return NULL;
    }
    for (int r = 0; r < dp->n; r++) {
        int j = 0;
        for (int i = 0; i < np; i++) {
            if (grads && !ck_model_param_trainable(dp->models[0], i))
                continue;
            bufs[r * k + j++] = grads ? ck_model_param_grad(dp->models[r], i) : ck_model_param(dp->models[r], i);
        }
    }
    *count = k;
    return bufs;
}

int ck_dp_sync_params(ck_dp *dp)
{
    int count = 0;
    ck_tensor **bufs = gather(dp, 0, &count);
    if (!bufs)
        return -1;
    int rc = ck_comm_broadcast(dp->comm, bufs, count);
    free(bufs);
    return rc;
}

int ck_dp_average_grads(ck_dp *dp, const double *weight, double total)
{
    if (weight && !(total > 0.0)) {
        ck_error("multigpu", "total weight %g is not positive", total);
        return -1;
    }
    int count = 0;
    ck_tensor **bufs = gather(dp, 1, &count);
    if (!bufs)
        return -1;
    int rc = 0;
    /* Pre-scale, then sum: Σ_r (w_r/total)·g_r. A zero share clears the
     * tensor instead of scaling, so NaNs from an empty shard vanish. */
    for (int r = 0; r < dp->n && rc == 0; r++) {
        double share = weight ? weight[r] / total : 1.0 / dp->comm->world;
        for (int k = 0; k < count && rc == 0; k++) {
            ck_tensor *t = bufs[r * count + k];
            rc = share == 0.0 ? ck_tensor_fill(t, 0.0f) : share == 1.0 ? 0 : ck_scale(dp->bes[r], t, (float)share);
        }
    }
    if (rc == 0)
        rc = ck_comm_allreduce_sum(dp->comm, bufs, count);
    free(bufs);
    return rc;
}

typedef struct job {
    ck_dp *dp;
    int r;
    ck_dp_fn fn;
    void *ctx;
    int rc;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    j->rc = j->fn(j->dp, j->r, j->ctx);
    return NULL;
}

int ck_dp_parallel(ck_dp *dp, ck_dp_fn fn, void *ctx)
{
    if (dp->n == 1)
        return fn(dp, 0, ctx);
    job *jobs = calloc((size_t)dp->n, sizeof *jobs);
    pthread_t *th = calloc((size_t)dp->n, sizeof *th);
    int *started = calloc((size_t)dp->n, sizeof *started);
    if (!jobs || !th || !started) {
        free(jobs);
        free(th);
        free(started);
        ck_error("multigpu", "out of memory");
        return -1;
    }
    int rc = 0;
    for (int r = 0; r < dp->n; r++) {
        jobs[r] = (job){dp, r, fn, ctx, 0};
        if (pthread_create(&th[r], NULL, run_job, &jobs[r]) == 0) {
            started[r] = 1;
        } else {
            /* No thread: run it here rather than fail the step. */
            run_job(&jobs[r]);
        }
    }
    for (int r = 0; r < dp->n; r++) {
        if (started[r])
            pthread_join(th[r], NULL);
        if (jobs[r].rc != 0)
            rc = -1;
    }
    free(jobs);
    free(th);
    free(started);
    return rc;
}
