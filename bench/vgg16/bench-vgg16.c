/* bench-vgg16 — images/s of the VGG16 conv base and of a fine-tuning step.
 *
 * Rows (compare with peer_torch.py, which runs the same ones):
 *   fwd224b1   conv base forward, 224×224, batch 1
 *   fwd224b16  conv base forward, 224×224, batch 16
 *   fwd64b64   conv base forward, 64×64, batch 64
 *   fwd32b64   conv base forward, 32×32 (the contest's images), batch 64
 *   ft224b16   one fine-tuning step, 224×224, batch 16: blocks 1–4 frozen
 *              (inference, --algo), block5 + head (256 hidden, dropout,
 *              20 classes) trained, SGD momentum 0.9
 * and the GPU rows ('--rows gpu'; too slow for a 2-core CPU):
 *   fwd224b64, fwd224b256   conv base forward, 224×224, batch 64 / 256
 *   ft224b64                the fine-tuning step at batch 64
 * GFLOP/s counts direct-convolution FLOPs whatever the algorithm:
 * 30.69 GFLOP per 224 image for the base (scaled by (S/224)²), 35.31 for
 * the fine-tuning step (+ block5 backward: data and filter gradients, no
 * data gradient into frozen block4). Peak RSS is the process's (run one
 * row per process to attribute it, as run.sh does).
 *
 * --check also prints the accuracy cost of the fast paths: the full conv
 * base (13 layers, He-initialised random weights from the seed, or
 * --weights FILE) at 224 (batch 1) and 32 px (batch 16), fp32 vs winograd
 * vs bf16, max|diff|/max|fp32| and the RMS relative difference.
 *
 * Output lines are tab-separated for run.sh:
 *   ck <row> <algo> <median img/s> <min> <max> <GFLOP/s at median> <peak RSS MiB>
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ck/backend.h"
#include "ck/error.h"
#include "ck/model.h"
#include "ck/optim.h"
#include "ck/rng.h"
#include "ck/weights.h"

#include "conv_bf16.h"

#define GFLOP_BASE_224 30.69
#define GFLOP_FT_224 35.31

typedef struct row {
    const char *name;
    int size, batch, finetune;
    int gpu; /* in '--rows gpu', not in '--rows all' */
} row;

static const row rows[] = {
    {"fwd224b1", 224, 1, 0, 0},
    {"fwd224b16", 224, 16, 0, 0},
    {"fwd64b64", 64, 64, 0, 0},
    {"fwd32b64", 32, 64, 0, 0},
    {"ft224b16", 224, 16, 1, 0},
    {"fwd224b64", 224, 64, 0, 1},
    {"fwd224b256", 224, 256, 0, 1},
    {"ft224b64", 224, 64, 1, 1},
};
#define NROWS ((int)(sizeof rows / sizeof rows[0]))

typedef struct opts {
    const char *rows, *device, *weights;
    ck_conv_algo algo;
    int repeats, warmup, threads, check;
    uint64_t seed;
} opts;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

/* Random preprocessed-looking input (caffe range) on the backend. */
static ck_tensor *random_input(ck_backend *be, int n, int s, uint64_t seed)
{
    ck_tensor *x = ck_tensor_new_4d(be, CK_F32, n, s, s, 3);
    if (!x)
        return NULL;
    size_t cnt = (size_t)n * s * s * 3;
    float *h = malloc(cnt * sizeof *h);
    if (!h) {
        ck_tensor_free(x);
        ck_error("bench", "out of memory");
        return NULL;
    }
    ck_rng r = ck_rng_make(seed, 0, 0);
    for (size_t i = 0; i < cnt; i++)
        h[i] = (float)ck_rng_range(&r, -120.0, 130.0);
    int rc = ck_tensor_upload(x, h, cnt * sizeof *h);
    free(h);
    if (rc) {
        ck_tensor_free(x);
        return NULL;
    }
    return x;
}

static ck_model *make_model(ck_backend *be, const opts *o, int size, int batch, int finetune,
                            ck_conv_algo algo, const ck_weights *w)
{
    ck_net_config cfg;
    ck_net_config_default(&cfg);
    cfg.input_size = size;
    cfg.num_classes = 20;
    cfg.train_blocks = finetune ? 1 : 0;
    cfg.frozen_algo = algo;
    cfg.seed = o->seed;
    ck_model *m = ck_model_new(be, &cfg, batch);
    if (m && w && ck_model_load_weights(m, w)) {
        ck_model_free(m);
        return NULL;
    }
    return m;
}

/* Times one row; prints its line. */
static int run_row(ck_backend *be, const opts *o, const row *r, const ck_weights *w)
{
    int rc = -1;
    ck_model *m = make_model(be, o, r->size, r->batch, r->finetune, o->algo, w);
    ck_tensor *x = m ? random_input(be, r->batch, r->size, o->seed + 1) : NULL;
    ck_tensor *feat = NULL;
    ck_optim *opt = NULL;
    int32_t *labels = calloc(r->batch, sizeof *labels);
    double *times = calloc(o->repeats, sizeof *times);
    if (!x || !times || !labels)
        goto done;
    if (r->finetune) {
        ck_optim_config oc;
        ck_optim_config_default(&oc, CK_OPT_SGD);
        oc.momentum = 0.9f;
        if (!(opt = ck_optim_new(m, &oc)))
            goto done;
        for (int i = 0; i < r->batch; i++)
            labels[i] = i % 20;
    } else {
        int fs[3];
        ck_model_feature_shape(m, fs);
        if (!(feat = ck_tensor_new_4d(be, CK_F32, r->batch, fs[0], fs[1], fs[2])))
            goto done;
    }
    for (int it = -o->warmup; it < o->repeats; it++) {
        double t0 = now();
        if (r->finetune) {
            float loss;
            if (ck_model_zero_grad(m) ||
                ck_model_train_step(m, CK_FROM_INPUT, x, labels, (uint32_t)(it + o->warmup), &loss, NULL) ||
                ck_optim_step(opt, 1e-4f))
                goto done;
        } else if (ck_model_features(m, x, feat)) {
            goto done;
        }
        if (ck_backend_sync(be))
            goto done;
        if (it >= 0)
            times[it] = now() - t0;
    }
    qsort(times, o->repeats, sizeof *times, cmp_double);
    double med = times[o->repeats / 2];
    if (o->repeats % 2 == 0)
        med = 0.5 * (times[o->repeats / 2 - 1] + times[o->repeats / 2]);
    double scale = (double)r->size * r->size / (224.0 * 224.0);
    double gflop = (r->finetune ? GFLOP_FT_224 : GFLOP_BASE_224) * scale * r->batch;
    printf("ck\t%s\t%s\t%.3f\t%.3f\t%.3f\t%.1f\t%.0f\n", r->name, ck_conv_algo_name(o->algo),
           r->batch / med, r->batch / times[o->repeats - 1], r->batch / times[0], gflop / med,
           peak_rss_mib());
    fflush(stdout);
    rc = 0;
done:
    free(times);
    free(labels);
    ck_optim_free(opt);
    ck_tensor_free(feat);
    ck_tensor_free(x);
    ck_model_free(m);
    return rc;
}

/* Features of the full conv base at s px (batch n) for each algorithm vs
 * fp32. */
static int check_accuracy(ck_backend *be, const opts *o, const ck_weights *w, int s, int n)
{
    const ck_conv_algo algos[] = {CK_CONV_FP32, CK_CONV_WINOGRAD, CK_CONV_BF16};
    float *out[3] = {0};
    size_t cnt = 0;
    int rc = -1;
    ck_tensor *x = random_input(be, n, s, o->seed + 2);
    if (!x)
        return -1;
    for (int a = 0; a < 3; a++) {
        ck_model *m = make_model(be, o, s, n, 0, algos[a], w);
        ck_tensor *f = NULL;
        int fs[3];
        if (m) {
            ck_model_feature_shape(m, fs);
            f = ck_tensor_new_4d(be, CK_F32, n, fs[0], fs[1], fs[2]);
        }
        cnt = (size_t)n * fs[0] * fs[1] * fs[2];
        int ok = f && (out[a] = malloc(cnt * sizeof(float))) && !ck_model_features(m, x, f) &&
                 !ck_tensor_download(f, out[a], cnt * sizeof(float));
        ck_tensor_free(f);
        ck_model_free(m);
        if (!ok)
            goto done;
    }
    for (int a = 1; a < 3; a++) {
        double e = 0, mx = 0, se = 0, sr = 0;
        for (size_t i = 0; i < cnt; i++) {
            double d = fabs((double)out[a][i] - out[0][i]);
            e = fmax(e, d);
            mx = fmax(mx, fabs(out[0][i]));
            se += d * d;
            sr += (double)out[0][i] * out[0][i];
        }
        /* Bit-identical to fp32 means the kernel declined and the fp32
         * path ran (bf16 on a CPU without AVX-512 BF16). */
        if (e == 0.0 && a == 2)
            printf("check\tfeatures%d\t%s_vs_fp32\tdeclined (fp32 fallback ran)\n", s, ck_conv_algo_name(algos[a]));
        else
            printf("check\tfeatures%d\t%s_vs_fp32\tmax_rel %.2e\trms_rel %.2e\n", s, ck_conv_algo_name(algos[a]),
                   mx > 0 ? e / mx : e, sr > 0 ? sqrt(se / sr) : sqrt(se));
    }
    rc = 0;
done:
    for (int a = 0; a < 3; a++)
        free(out[a]);
    ck_tensor_free(x);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bench-vgg16 [OPTION]...\n"
            "Time the VGG16 conv base forward and a fine-tuning step (images/s).\n\n"
            "  --rows LIST     all (the CPU rows), gpu (fwd224b64,fwd224b256,ft224b64),\n"
            "                  none, or a comma list of row names (fwd224b1,fwd224b16,\n"
            "                  fwd64b64,fwd32b64,ft224b16 and the gpu ones)\n"
            "  --algo A        fp32|winograd|bf16|auto for the frozen convolutions (auto)\n"
            "  --repeats N     timed repetitions per row, median reported (5)\n"
            "  --warmup N      untimed repetitions first (1)\n"
            "  --threads N     CPU threads (0 = all cores; default 0)\n"
            "  --device D      cpu|cuda|auto (cpu)\n"
            "  --weights FILE  conv base weights (default: He-initialised from --seed)\n"
            "  --seed N        seed of random weights and inputs (1)\n"
            "  --check         print the accuracy of winograd and bf16 vs fp32 features\n"
            "  --bf16-kernel K the CPU kernel of --algo bf16: best (default: amx where\n"
            "                  the CPU has AMX-BF16, else avx512bf16), amx, avx512bf16\n"
            "  --help          this text\n\n"
            "Set OPENBLAS_CORETYPE before starting (see docs/performance.md).\n");
}

int main(int argc, char **argv)
{
    opts o = {"all", "cpu", NULL, CK_CONV_AUTO, 5, 1, 0, 0, 1};
    static const struct option lo[] = {
        {"rows", required_argument, 0, 'r'},    {"algo", required_argument, 0, 'a'},
        {"repeats", required_argument, 0, 'n'}, {"warmup", required_argument, 0, 'W'},
        {"threads", required_argument, 0, 't'}, {"device", required_argument, 0, 'd'},
        {"weights", required_argument, 0, 'w'}, {"seed", required_argument, 0, 's'},
        {"check", no_argument, 0, 'c'},         {"help", no_argument, 0, 'h'},
        {"bf16-kernel", required_argument, 0, 'k'},
        {0, 0, 0, 0}};
    int c;
    char *end;
    ck_bf16_kernel bf16_kernel = CK_BF16_NONE; /* the best */
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'r': o.rows = optarg; break;
        case 'a':
            if (ck_conv_algo_parse(optarg, &o.algo)) {
                fprintf(stderr, "bench-vgg16: %sTry 'bench-vgg16 --help'.\n", ck_error_buffer());
                return 2;
            }
            break;
        case 'n': case 'W': case 't': {
            long v = strtol(optarg, &end, 10);
            if (*end || v < (c == 'n') || v > 1000) {
                fprintf(stderr, "bench-vgg16: bad number '%s'\nTry 'bench-vgg16 --help'.\n", optarg);
                return 2;
            }
            *(c == 'n' ? &o.repeats : c == 'W' ? &o.warmup : &o.threads) = (int)v;
            break;
        }
        case 'd': o.device = optarg; break;
        case 'w': o.weights = optarg; break;
        case 's': o.seed = strtoull(optarg, NULL, 10); break;
        case 'c': o.check = 1; break;
        case 'k':
            if (!strcmp(optarg, "amx"))
                bf16_kernel = CK_BF16_AMX;
            else if (!strcmp(optarg, "avx512bf16"))
                bf16_kernel = CK_BF16_AVX512;
            else if (strcmp(optarg, "best")) {
                fprintf(stderr, "bench-vgg16: unknown bf16 kernel '%s'\nTry 'bench-vgg16 --help'.\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: fprintf(stderr, "Try 'bench-vgg16 --help'.\n"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench-vgg16: unexpected argument '%s'\nTry 'bench-vgg16 --help'.\n", argv[optind]);
        return 2;
    }
    int want[NROWS] = {0};
    if (!strcmp(o.rows, "all") || !strcmp(o.rows, "gpu")) {
        for (int i = 0; i < NROWS; i++)
            want[i] = rows[i].gpu == !strcmp(o.rows, "gpu");
    } else if (strcmp(o.rows, "none")) { /* "none": only --check */
        char *list = strdup(o.rows), *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            int i = 0;
            while (i < NROWS && strcmp(rows[i].name, t))
                i++;
            if (i == NROWS) {
                fprintf(stderr, "bench-vgg16: unknown row '%s'\nTry 'bench-vgg16 --help'.\n", t);
                free(list);
                return 2;
            }
            want[i] = 1;
        }
        free(list);
    }

    int status = 0;
    ck_weights *w = NULL;
    ck_backend *be = ck_backend_new(o.device, o.threads);
    if (!be || (o.weights && !(w = ck_weights_load(o.weights)))) {
        status = 1;
        goto out;
    }
    fprintf(stderr, "bench-vgg16: %s\n", ck_backend_name(be));
    if (bf16_kernel != CK_BF16_NONE && !ck_cpu_bf16_can_run(bf16_kernel)) {
        fprintf(stderr, "bench-vgg16: this CPU cannot run the %s kernel\n", ck_cpu_bf16_kernel_name(bf16_kernel));
        status = 1;
        goto out;
    }
    ck_cpu_bf16_use(bf16_kernel);
    fprintf(stderr, "bench-vgg16: bf16 kernel (--algo bf16 on the CPU): %s\n",
            ck_cpu_bf16_kernel_name(bf16_kernel != CK_BF16_NONE ? bf16_kernel : ck_cpu_bf16_best()));
    for (int i = 0; i < NROWS && !status; i++)
        if (want[i] && run_row(be, &o, &rows[i], w))
            status = 1;
    /* 224 px batch 1, and the contest's 32 px at batch 16 (block5 is 2×2 there) */
    if (!status && o.check && (check_accuracy(be, &o, w, 224, 1) || check_accuracy(be, &o, w, 32, 16)))
        status = 1;
out:
    if (status)
        fprintf(stderr, "bench-vgg16: %s", ck_error_buffer());
    ck_weights_free(w);
    ck_backend_free(be);
    return status;
}
