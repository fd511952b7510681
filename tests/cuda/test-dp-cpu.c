/* Data-parallel gradient averaging (ck/multigpu.h) on CPU replicas: the
 * combined gradient of K shards must equal the full-batch gradient, with
 * plain mean cross-entropy, uneven shards, and class weights + label
 * smoothing (shares = each shard's weight sum). The same code drives NCCL
 * on GPUs; only the communicator differs. */
#include "check.h"

#include "ck/backend.h"
#include "ck/error.h"
#include "ck/model.h"
#include "ck/multigpu.h"
#include "ck/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Each replica is a whole VGG16 (59 MB of conv weights, initialised even
 * when frozen), so keep K small: 2 replicas, 7 samples -> shards 4 and 3. */
enum { K = 2, B = 7, CLASSES = 5 };

static void die(const char *what)
{
    fprintf(stderr, "test-dp-cpu: %s: %s", what, ck_error_buffer());
    exit(1);
}

static void test_shard(void)
{
    int s, c, next = 0, total = 0;
    for (int r = 0; r < 4; r++) {
        ck_dp_shard(10, 4, r, &s, &c);
        CHECK(s == next);
        CHECK(c == (r < 2 ? 3 : 2));
        next = s + c;
        total += c;
    }
    CHECK(total == 10);
    ck_dp_shard(2, 3, 2, &s, &c);
    CHECK(c == 0);
}

/* The in-process all-reduce on plain tensors. */
static void test_allreduce(void)
{
    ck_backend *be[K];
    ck_tensor *t[K * 2];
    ck_comm *comm = ck_comm_new_local(K);
    if (!comm)
        die("comm");
    CHECK(ck_comm_world(comm) == K && ck_comm_rank(comm, 1) == 1);
    for (int r = 0; r < K; r++) {
        be[r] = ck_backend_new("cpu", 1);
        t[r * 2] = ck_tensor_new_1d(be[r], CK_F32, 5);
        t[r * 2 + 1] = ck_tensor_new_1d(be[r], CK_F32, 3);
        float a[5], b[3];
        for (int i = 0; i < 5; i++)
            a[i] = (float)(r * 10 + i);
        for (int i = 0; i < 3; i++)
            b[i] = (float)(r + 1) * 0.5f;
        ck_tensor_upload(t[r * 2], a, sizeof a);
        ck_tensor_upload(t[r * 2 + 1], b, sizeof b);
    }
    CHECK(ck_comm_allreduce_sum(comm, t, 2) == 0);
    for (int r = 0; r < K; r++) {
        float a[5], b[3];
        ck_tensor_download(t[r * 2], a, sizeof a);
        ck_tensor_download(t[r * 2 + 1], b, sizeof b);
        for (int i = 0; i < 5; i++)
            CHECK(a[i] == (float)(10 + 2 * i));
        CHECK(b[0] == 1.5f && b[2] == 1.5f);
    }
    /* Mismatched shapes are refused. */
    ck_tensor *odd[K] = {t[0], t[3]};
    CHECK(ck_comm_allreduce_sum(comm, odd, 1) == -1);
    ck_error_clear();
    for (int r = 0; r < K; r++) {
        ck_tensor_free(t[r * 2]);
        ck_tensor_free(t[r * 2 + 1]);
        ck_backend_free(be[r]);
    }
    ck_comm_free(comm);
}

typedef struct step_ctx {
    const float *x;       /* B features */
    const int32_t *labels;
    size_t feat;          /* floats per sample */
    ck_tensor **inputs;   /* per replica */
} step_ctx;

/* Replica r's share of the batch: its shard, one train step. Runs on
 * its own thread (ck_dp_parallel). */
static int shard_step(ck_dp *dp, int r, void *arg)
{
    step_ctx *sc = arg;
    int start, count;
    ck_dp_shard(B, ck_dp_world(dp), ck_dp_rank(dp, r), &start, &count);
    ck_model *m = ck_dp_model(dp, r);
    ck_tensor *in = sc->inputs[r];
    float loss;
    if (ck_tensor_set_batch(in, count) || ck_tensor_upload(in, sc->x + (size_t)start * sc->feat,
                                                           (size_t)count * sc->feat * sizeof(float)))
        return -1;
    if (ck_model_zero_grad(m))
        return -1;
    return ck_model_train_step(m, CK_FROM_FEATURES, in, sc->labels + start, 0, &loss, NULL);
}

static void compare_grads(ck_model *ref, ck_dp *dp, const char *what)
{
    int np = ck_model_param_count(ref), compared = 0;
    for (int i = 0; i < np; i++) {
        if (!ck_model_param_trainable(ref, i))
            continue;
        ck_tensor *gr = ck_model_param_grad(ref, i);
        size_t n = ck_tensor_numel(gr);
        float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        ck_tensor_download(gr, a, n * sizeof *a);
        double mx = 1e-12;
        for (size_t j = 0; j < n; j++)
            mx = fabs(a[j]) > mx ? fabs(a[j]) : mx;
        for (int r = 0; r < ck_dp_replicas(dp); r++) {
            ck_tensor_download(ck_model_param_grad(ck_dp_model(dp, r), i), b, n * sizeof *b);
            double worst = 0;
            for (size_t j = 0; j < n; j++)
                worst = fmax(worst, fabs((double)a[j] - b[j]));
            check_count++;
            if (!(worst <= 1e-5 * mx)) {
                check_failures++;
                fprintf(stderr, "%s: %s replica %d: max error %.3g (max |g| %.3g)\n", what,
                        ck_model_param_name(ref, i), r, worst, mx);
            }
        }
        compared++;
        free(a);
        free(b);
    }
    CHECK(compared >= 4); /* dense_1 and predictions, kernel and bias */
    fprintf(stderr, "%s: %d gradients compared\n", what, compared);
}

int main(void)
{
    test_shard();
    test_allreduce();

    ck_net_config cfg;
    ck_net_config_default(&cfg);
    cfg.num_classes = CLASSES;
    cfg.hidden[0] = 16;
    cfg.dropout = 0.0f; /* masks depend on the position inside a shard */
    cfg.seed = 7;

    ck_backend *rbe = ck_backend_new("cpu", 1);
    ck_model *ref = rbe ? ck_model_new(rbe, &cfg, B) : NULL;
    ck_dp_config dc = {"cpu,cpu", 1, 1, 0, NULL};
    ck_dp *dp = ck_dp_new(&dc, &cfg, (B + K - 1) / K);
    if (!ref || !dp)
        die("models");
    CHECK(ck_dp_replicas(dp) == K && ck_dp_world(dp) == K);

    int fs[3];
    ck_model_feature_shape(ref, fs);
    size_t feat = ck_model_feature_numel(ref);
    ck_rng rng = ck_rng_make(11, 0, 0);
    float *x = malloc(B * feat * sizeof *x);
    int32_t labels[B];
    for (size_t i = 0; i < B * feat; i++)
        x[i] = (float)fabs(ck_rng_normal(&rng)); /* post-ReLU-like features */
    for (int i = 0; i < B; i++)
        labels[i] = (int32_t)ck_rng_below(&rng, CLASSES);

    /* Replicas must start identical: perturb one, then sync from rank 0. */
    int p0 = ck_model_param_find(ref, "predictions/bias");
    CHECK(p0 >= 0);
    float junk[CLASSES] = {1, 2, 3, 4, 5};
    CHECK(ck_model_param_set(ck_dp_model(dp, 1), "predictions/bias", junk, CLASSES) == 0);
    CHECK(ck_dp_sync_params(dp) == 0);
    float got[CLASSES];
    CHECK(ck_model_param_get(ck_dp_model(dp, 1), "predictions/bias", got, CLASSES) == 0);
    CHECK(got[0] == 0.0f && got[4] == 0.0f);

    ck_tensor *xr = ck_tensor_new_4d(rbe, CK_F32, B, fs[0], fs[1], fs[2]);
    ck_tensor *inputs[K];
    for (int r = 0; r < K; r++)
        inputs[r] = ck_tensor_new_4d(ck_dp_backend(dp, r), CK_F32, (B + K - 1) / K, fs[0], fs[1], fs[2]);
    if (!xr || ck_tensor_upload(xr, x, B * feat * sizeof *x))
        die("input");
    step_ctx sc = {x, labels, feat, inputs};

    for (int weighted = 0; weighted <= 1; weighted++) {
        float cw[CLASSES] = {0.5f, 1.0f, 2.0f, 1.5f, 0.25f};
        float smoothing = weighted ? 0.1f : 0.0f;
        if (ck_model_set_loss(ref, smoothing, weighted ? cw : NULL))
            die("set_loss");
        for (int r = 0; r < K; r++)
            if (ck_model_set_loss(ck_dp_model(dp, r), smoothing, weighted ? cw : NULL))
                die("set_loss");
        float loss;
        if (ck_model_zero_grad(ref) || ck_model_train_step(ref, CK_FROM_FEATURES, xr, labels, 0, &loss, NULL))
            die("reference step");
        if (ck_dp_parallel(dp, shard_step, &sc))
            die("shard steps");
        /* Normaliser of each shard's mean loss: its count, or Σ w_label. */
        double wt[K], total = 0;
        for (int r = 0; r < K; r++) {
            int start, count;
            ck_dp_shard(B, K, r, &start, &count);
            wt[r] = 0;
            for (int i = start; i < start + count; i++)
                wt[r] += weighted ? cw[labels[i]] : 1.0;
            total += wt[r];
        }
        if (ck_dp_average_grads(dp, wt, total))
            die("average");
        compare_grads(ref, dp, weighted ? "class weights + smoothing" : "uneven shards");
    }

    /* Equal shares (weight NULL): 1/world each, i.e. the mean of the
     * replicas' gradients; applied to identical gradients it is a no-op. */
    int pk = ck_model_param_find(ref, "predictions/kernel");
    ck_tensor *g0 = ck_model_param_grad(ck_dp_model(dp, 0), pk);
    size_t gn = ck_tensor_numel(g0);
    float *before = malloc(gn * sizeof *before), *after = malloc(gn * sizeof *after);
    ck_tensor_download(g0, before, gn * sizeof *before);
    CHECK(ck_dp_average_grads(dp, NULL, 0) == 0);
    ck_tensor_download(g0, after, gn * sizeof *after);
    double worst = 0;
    for (size_t j = 0; j < gn; j++)
        worst = fmax(worst, fabs((double)before[j] - after[j]));
    CHECK(worst < 1e-6);
    free(before);
    free(after);

    ck_tensor_free(xr);
    for (int r = 0; r < K; r++)
        ck_tensor_free(inputs[r]);
    free(x);
    ck_dp_free(dp);
    ck_model_free(ref);
    ck_backend_free(rbe);
    return check_report("test-dp-cpu");
}
