/* Data-parallel training (--gpus, ck/multigpu.h): one model replica per
 * device. Each step the global batch, read once on the host, is split into
 * contiguous shards; replicas run forward+backward at once (one thread
 * each), the gradients are averaged with each shard weighted by the
 * normaliser of its mean loss (sample count, or Σ class weights), so the
 * result equals the single-replica gradient up to rounding; then every
 * replica takes the same optimizer step (identical gradients and state:
 * parameters stay equal without being exchanged). Replica 0 does
 * everything else: feature extraction, validation, checkpoints (its
 * batch-norm moving statistics are the ones saved). */
#include "trainer_internal.h"
#include "ck/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int trainer_dp_multinode(const trainer *t)
{
    return t->dp && ck_dp_world(t->dp) > ck_dp_replicas(t->dp);
}

int trainer_writes_files(const trainer *t)
{
    return !t->dp || ck_dp_rank(t->dp, 0) == 0;
}

/* "all" -> "0,1,...": open GPUs until one fails (there is no public
 * device count; this runs once). */
static char *expand_all(void)
{
    if (!ck_cuda_available()) {
        ck_error("train", "--gpus all: no usable CUDA device%s", ck_cuda_built() ? "" : " (ck was built without CUDA)");
        return NULL;
    }
    char *list = calloc(1, 64 * 4);
    if (!list) {
        ck_error("train", "out of memory");
        return NULL;
    }
    for (int i = 0; i < 64; i++) {
        char name[16];
        snprintf(name, sizeof name, "cuda:%d", i);
        ck_backend *be = ck_backend_new(name, 1);
        if (!be) {
            ck_error_clear();
            break;
        }
        ck_backend_free(be);
        snprintf(list + strlen(list), 8, "%s%d", i ? "," : "", i);
    }
    return list;
}

static int count_items(const char *list)
{
    int n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    return n;
}

int trainer_dp_setup(trainer *t, const ck_optim_config *oc)
{
    const ck_train_options *o = t->o;
    char *all = !strcmp(o->gpus, "all") ? expand_all() : NULL;
    if (!strcmp(o->gpus, "all") && !all)
        return -1;
    const char *devices = all ? all : o->gpus;
    /* A replica holds a shard of ceil(B / world) samples; world is known
     * before the devices are opened (every node has as many). */
    long world = (long)count_items(devices) * o->nodes;
    t->mb = (int)((o->batch + world - 1) / world);
    ck_dp_config dc = {devices, o->threads, o->nodes, o->node_rank, o->nccl_id_file};
    t->dp = ck_dp_new(&dc, &t->cfg, t->mb);
    free(all);
    if (!t->dp) {
        ck_error("train", "--gpus %s: could not set up the replicas", o->gpus);
        return -1;
    }
    int n = ck_dp_replicas(t->dp);
    t->dp_opt = calloc((size_t)n, sizeof *t->dp_opt);
    t->dp_x = calloc((size_t)n, sizeof *t->dp_x);
    t->dp_feat = calloc((size_t)n, sizeof *t->dp_feat);
    t->dp_red = calloc((size_t)n, sizeof *t->dp_red);
    if (!t->dp_opt || !t->dp_x || !t->dp_feat || !t->dp_red) {
        ck_error("train", "out of memory");
        return -1;
    }
    /* Every replica loads the same file: identical start, no transfer. */
    for (int r = 0; r < n; r++) {
        ck_model *m = ck_dp_model(t->dp, r);
        if (ck_model_load_weights(m, t->weights) != 0 ||
            ck_model_set_loss(m, (float)o->label_smoothing, t->class_w) != 0)
            return -1;
        if (!(t->dp_opt[r] = ck_optim_new(m, oc)))
            return -1;
        if (!(t->dp_red[r] = ck_tensor_new_1d(ck_dp_backend(t->dp, r), CK_F32, 8)))
            return -1;
    }
    t->be = ck_dp_backend(t->dp, 0);
    t->m = ck_dp_model(t->dp, 0);
    t->opt = t->dp_opt[0];
    return 0;
}

/* Shard inputs of replicas 1.. (replica 0 uses t->x and t->feat). */
int trainer_dp_buffers(trainer *t)
{
    if (!t->dp)
        return 0;
    int S = t->cfg.input_size, fs[3];
    ck_model_feature_shape(t->m, fs);
    t->dp_x[0] = t->x;
    t->dp_feat[0] = t->feat;
    for (int r = 1; r < ck_dp_replicas(t->dp); r++) {
        ck_backend *be = ck_dp_backend(t->dp, r);
        if (!(t->dp_x[r] = ck_tensor_new_4d(be, CK_U8, t->mb, S, S, 3)))
            return -1;
        if (t->feat && !(t->dp_feat[r] = ck_tensor_new_4d(be, CK_F32, t->mb, fs[0], fs[1], fs[2])))
            return -1;
    }
    return 0;
}

void trainer_dp_teardown(trainer *t)
{
    if (!t->dp)
        return;
    int n = ck_dp_replicas(t->dp);
    for (int r = 0; r < n; r++) {
        if (t->dp_opt)
            ck_optim_free(t->dp_opt[r]);
        if (t->dp_x && r > 0)
            ck_tensor_free(t->dp_x[r]);
        if (t->dp_feat && r > 0)
            ck_tensor_free(t->dp_feat[r]);
        if (t->dp_red)
            ck_tensor_free(t->dp_red[r]);
    }
    free(t->dp_opt);
    free(t->dp_x);
    free(t->dp_feat);
    free(t->dp_red);
    ck_dp_free(t->dp);
    /* Owned by the replicas: the generic teardown must not free them. */
    t->be = NULL;
    t->m = NULL;
    t->opt = NULL;
    t->dp = NULL;
}

/* ck_train_run restored replica 0; the others read the same checkpoint. */
int trainer_dp_restore(trainer *t, const ck_checkpoint *ck)
{
    for (int r = 1; t->dp && r < ck_dp_replicas(t->dp); r++)
        if (ck_checkpoint_restore(ck, ck_dp_model(t->dp, r), t->dp_opt[r]) != 0 ||
            ck_checkpoint_restore_ema(ck, ck_dp_model(t->dp, r), NULL) != 0)
            return -1;
    return 0;
}

void trainer_dp_describe(const trainer *t)
{
    if (!t->dp || !t->msg)
        return;
    int n = ck_dp_replicas(t->dp), world = ck_dp_world(t->dp);
    fprintf(t->msg, "Data parallel: %d replica%s (--gpus %s", n, n > 1 ? "s" : "", t->o->gpus);
    if (world > n)
        fprintf(t->msg, ", node %d of %d: ranks %d-%d of %d", t->o->node_rank, t->o->nodes, ck_dp_rank(t->dp, 0),
                ck_dp_rank(t->dp, n - 1), world);
    fprintf(t->msg, "), %d samples per replica of each batch of %d\n", t->mb, t->o->batch);
    for (int r = 1; r < n; r++)
        fprintf(t->msg, "  replica %d: %s\n", r, ck_backend_name(ck_dp_backend(t->dp, r)));
}

typedef struct fb_ctx {
    trainer *t;
    ck_model_start from;
    const unsigned char *host;
    size_t sample_bytes;
    const int32_t *labels;
    int n;
    uint32_t step;
    float *loss;   /* per local replica */
    int *correct;
} fb_ctx;

static int replica_forward_backward(ck_dp *dp, int r, void *arg)
{
    fb_ctx *c = arg;
    int start, count, world = ck_dp_world(dp), rank = ck_dp_rank(dp, r);
    ck_dp_shard(c->n, world, rank, &start, &count);
    ck_model *m = ck_dp_model(dp, r);
    c->loss[r] = 0;
    c->correct[r] = 0;
    if (ck_model_zero_grad(m) != 0)
        return -1;
    if (count == 0) /* weight 0: ck_dp_average_grads ignores it */
        return 0;
    ck_tensor *in = c->from == CK_FROM_FEATURES ? c->t->dp_feat[r] : c->t->dp_x[r];
    if (ck_tensor_set_batch(in, count) != 0 ||
        ck_tensor_upload(in, c->host + (size_t)start * c->sample_bytes, (size_t)count * c->sample_bytes) != 0)
        return -1;
    /* Distinct dropout masks per replica; world 1 gives the plain step. */
    uint32_t step = c->step * (uint32_t)world + (uint32_t)rank;
    return ck_model_train_step(m, c->from, in, c->labels + start, step, &c->loss[r], &c->correct[r]);
}

/* Normaliser of a shard's mean loss (see ck/multigpu.h). */
static double shard_weight(const trainer *t, const int32_t *labels, int start, int count)
{
    if (!t->class_w)
        return count;
    double w = 0;
    for (int i = start; i < start + count; i++)
        w += t->class_w[labels[i]];
    return w;
}

/* Several nodes: sum v[0..n) (n <= 8) over every replica of every node;
 * replica 0 of each node contributes v, the others zeros. */
static int allreduce_host(trainer *t, float *v, int n)
{
    float buf[8] = {0}, zero[8] = {0};
    memcpy(buf, v, sizeof(float) * (size_t)n);
    for (int r = 0; r < ck_dp_replicas(t->dp); r++)
        if (ck_tensor_upload(t->dp_red[r], r == 0 ? buf : zero, sizeof buf) != 0)
            return -1;
    if (ck_comm_allreduce_sum(ck_dp_comm(t->dp), t->dp_red, 1) != 0 ||
        ck_tensor_download(t->dp_red[0], buf, sizeof buf) != 0)
        return -1;
    memcpy(v, buf, sizeof(float) * (size_t)n);
    return 0;
}

int trainer_dp_forward_backward(trainer *t, ck_model_start from, const void *host, const int32_t *labels, int n,
                                float *loss, int *correct)
{
    int nr = ck_dp_replicas(t->dp), world = ck_dp_world(t->dp);
    float *rl = calloc((size_t)nr, sizeof *rl);
    int *rc_ = calloc((size_t)nr, sizeof *rc_);
    double *w = calloc((size_t)nr, sizeof *w);
    if (!rl || !rc_ || !w) {
        free(rl);
        free(rc_);
        free(w);
        ck_error("train", "out of memory");
        return -1;
    }
    int S = t->cfg.input_size;
    fb_ctx c = {t, from, host, from == CK_FROM_FEATURES ? sizeof(float) * t->fnumel : (size_t)S * S * 3, labels, n,
                (uint32_t)ck_optim_steps(t->opt), rl, rc_};
    int rc = ck_dp_parallel(t->dp, replica_forward_backward, &c);
    /* Every node holds the whole global batch: the total weight is known
     * locally, over all ranks. */
    double total = 0;
    for (int k = 0; k < world; k++) {
        int start, count;
        ck_dp_shard(n, world, k, &start, &count);
        total += shard_weight(t, labels, start, count);
    }
    double lsum = 0;
    long csum = 0;
    for (int r = 0; r < nr && rc == 0; r++) {
        int start, count;
        ck_dp_shard(n, world, ck_dp_rank(t->dp, r), &start, &count);
        w[r] = shard_weight(t, labels, start, count);
        lsum += count ? (double)rl[r] * w[r] : 0.0;
        csum += rc_[r];
    }
    if (rc == 0)
        rc = ck_dp_average_grads(t->dp, w, total);
    if (rc == 0 && trainer_dp_multinode(t)) {
        /* Loss and accuracy of the whole batch, and one stop decision for
         * all nodes (a node stopping alone would hang the others). */
        float v[3] = {(float)lsum, (float)csum, t->io->stop && *t->io->stop ? 1.0f : 0.0f};
        rc = allreduce_host(t, v, 3);
        lsum = v[0];
        csum = lrintf(v[1]);
        t->stop_seen = v[2] > 0;
    }
    *loss = (float)(lsum / total);
    *correct = (int)csum;
    free(rl);
    free(rc_);
    free(w);
    return rc;
}

static int replica_optim_step(ck_dp *dp, int r, void *arg)
{
    (void)dp;
    struct { trainer *t; float lr; } *c = arg;
    return ck_optim_step(c->t->dp_opt[r], c->lr);
}

int trainer_dp_optim_step(trainer *t, float lr)
{
    struct { trainer *t; float lr; } c = {t, lr};
    return ck_dp_parallel(t->dp, replica_optim_step, &c);
}

int trainer_dp_agree(trainer *t, double *v, int n)
{
    if (!trainer_dp_multinode(t))
        return 0;
    if (n > 4) {
        ck_error("train", "internal error: too many values to agree on");
        return -1;
    }
    /* Broadcast copies bytes: the doubles travel exactly. */
    double buf[4] = {0};
    memcpy(buf, v, sizeof(double) * (size_t)n);
    for (int r = 0; r < ck_dp_replicas(t->dp); r++)
        if (ck_tensor_upload(t->dp_red[r], buf, sizeof buf) != 0)
            return -1;
    if (ck_comm_broadcast(ck_dp_comm(t->dp), t->dp_red, 1) != 0 ||
        ck_tensor_download(t->dp_red[0], buf, sizeof buf) != 0)
        return -1;
    memcpy(v, buf, sizeof(double) * (size_t)n);
    return 0;
}
