/* bench-vgg16 — images/s of a backbone's conv base and of a fine-tuning
 * step: VGG16 (the default), VGG19 or ResNet50 (--arch).
 *
 * Rows (compare with peer_torch.py and peer_onnx.py, which run the same ones):
 *   fwd224b1   conv base forward, 224×224, batch 1
 *   fwd224b16  conv base forward, 224×224, batch 16
 *   fwd64b64   conv base forward, 64×64, batch 64
 *   fwd32b64   conv base forward, 32×32 (the contest's images), batch 64
 *   ft224b16   one fine-tuning step, 224×224, batch 16: stages 1–4 frozen
 *              (inference, --algo; ResNet's BN folded into the convs),
 *              stage 5 (VGG block5, ResNet conv5, BN in training mode) +
 *              head (Flatten, Dense 256, ReLU, Dropout 0.5, Dense 20)
 *              trained, SGD momentum 0.9 (ck-finetune --unfreeze block5 /
 *              conv5)
 * and the GPU rows ('--rows gpu'; too slow for a 2-core CPU):
 *   fwd224b64, fwd224b256   conv base forward, 224×224, batch 64 / 256
 *   ft224b64                the fine-tuning step at batch 64
 *
 * FLOPs (the GFLOP/s column) are counted from the backbone's description
 * (ck/arch.h) at the row's size, whatever algorithm runs: 2·k²·Cin·Cout·Ho·Wo
 * per convolution (a multiply-add is 2 FLOPs) and 2·in·out per dense layer;
 * BN, ReLU, pools and adds are not counted. The fine-tuning step adds the
 * backward of the trained part: the weight gradient of every trained conv
 * and dense layer (as many FLOPs as its forward) and the data gradient of
 * every one except those reading the frozen part (nothing flows into it).
 * Per 224 image, base / step: VGG16 30.69 / 35.36 GFLOP, VGG19 39.02 /
 * 45.53, ResNet50 torchvision v1.5 8.17 / 11.15, ResNet50 Keras v1 7.71 /
 * 10.54 (--flops prints every row). Peak RSS is
 * the process's (run one row per process to attribute it, as run.sh does).
 *
 * --peak measures this CPU's fp32 FMA and bf16 dot-product peaks at
 * --threads (register-only loops of the widest instructions it has), the
 * denominators of run.sh's "% of peak".
 *
 * --check also prints the accuracy cost of the fast paths: the full conv
 * base (random weights from the seed, or --weights FILE) at 224 (batch 1)
 * and 32 px (batch 16), fp32 vs winograd vs bf16, max|diff|/max|fp32| and
 * the RMS relative difference.
 *
 * Output lines are tab-separated for run.sh:
 *   ck <row> <algo> <median img/s> <min> <max> <GFLOP/s at median> <peak RSS MiB>
 *   peak <fp32|bf16> <GFLOP/s>
 */
#include <getopt.h>
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ck/arch.h"
#include "ck/backend.h"
#include "ck/error.h"
#include "ck/model.h"
#include "ck/optim.h"
#include "ck/rng.h"
#include "ck/weights.h"

#include "conv_bf16.h"

/* The head of the fine-tuning rows (as peer_torch.py's). */
#define HEAD_HIDDEN 256
#define HEAD_CLASSES 20

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
    ck_arch arch;
    ck_layout layout;
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

/* GFLOP of one image through the base at size s, plus with `finetune` the
 * head and the backward of the trained stage 5 (formula in the header). */
static double row_gflop(ck_arch a, ck_layout l, int s, int finetune)
{
    ck_arch_node nd[CK_ARCH_MAX_NODES];
    int h[CK_ARCH_MAX_NODES];
    int n = ck_arch_nodes(a, l, nd, CK_ARCH_MAX_NODES);
    double fwd = 0, bwd = 0;
    for (int i = 0; i < n; i++) {
        int hin = nd[i].in0 < 0 ? s : h[nd[i].in0];
        h[i] = hin;
        if (nd[i].type == CK_NODE_CONV || nd[i].type == CK_NODE_MAXPOOL)
            h[i] = (hin + 2 * nd[i].pad - nd[i].k) / nd[i].stride + 1;
        if (nd[i].type != CK_NODE_CONV)
            continue;
        double f = 2.0 * nd[i].k * nd[i].k * nd[i].cin * nd[i].cout * h[i] * h[i];
        fwd += f;
        if (finetune && nd[i].stage == 5) {
            int from_frozen = nd[i].in0 < 0 || nd[nd[i].in0].stage < 5;
            bwd += from_frozen ? f : 2 * f;
        }
    }
    if (n <= 0)
        return 0;
    if (finetune) {
        /* Flatten -> Dense 256 -> Dense 20: forward, weight and data grads */
        double feat = (double)h[n - 1] * h[n - 1] * nd[n - 1].cout;
        fwd += 3 * 2.0 * (feat * HEAD_HIDDEN + HEAD_HIDDEN * HEAD_CLASSES);
    }
    return (fwd + bwd) * 1e-9;
}

/* ---- peak: register-only loops of the widest FMA / bf16 dot ------------ */

#define PEAK_ITERS 30000000L /* ~0.1 s a loop */
#define PEAK_ACC 12 /* independent chains: 2 pipes × latency 4-6 */

typedef struct peak_job {
    int bf16;
    double flop, seconds;
    float sink;
} peak_job;

__attribute__((target("avx512f"))) static double peak_fp32_512(float *sink)
{
    __m512 acc[PEAK_ACC], x = _mm512_set1_ps(1e-7f), y = _mm512_set1_ps(0.999f);
    for (int j = 0; j < PEAK_ACC; j++)
        acc[j] = _mm512_set1_ps((float)j);
    for (long i = 0; i < PEAK_ITERS; i++)
        for (int j = 0; j < PEAK_ACC; j++)
            acc[j] = _mm512_fmadd_ps(acc[j], y, x);
    for (int j = 1; j < PEAK_ACC; j++)
        acc[0] = _mm512_add_ps(acc[0], acc[j]);
    *sink = _mm512_reduce_add_ps(acc[0]);
    return (double)PEAK_ITERS * PEAK_ACC * 16 * 2;
}

__attribute__((target("avx2,fma"))) static double peak_fp32_256(float *sink)
{
    __m256 acc[PEAK_ACC], x = _mm256_set1_ps(1e-7f), y = _mm256_set1_ps(0.999f);
    for (int j = 0; j < PEAK_ACC; j++)
        acc[j] = _mm256_set1_ps((float)j);
    for (long i = 0; i < PEAK_ITERS; i++)
        for (int j = 0; j < PEAK_ACC; j++)
            acc[j] = _mm256_fmadd_ps(acc[j], y, x);
    for (int j = 1; j < PEAK_ACC; j++)
        acc[0] = _mm256_add_ps(acc[0], acc[j]);
    float t[8];
    _mm256_storeu_ps(t, acc[0]);
    *sink = t[0];
    return (double)PEAK_ITERS * PEAK_ACC * 8 * 2;
}

__attribute__((target("avx512f,avx512bf16"))) static double peak_bf16_512(float *sink)
{
    __m512 acc[PEAK_ACC];
    __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3300);
    for (int j = 0; j < PEAK_ACC; j++)
        acc[j] = _mm512_set1_ps((float)j);
    for (long i = 0; i < PEAK_ITERS; i++)
        for (int j = 0; j < PEAK_ACC; j++)
            acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
    for (int j = 1; j < PEAK_ACC; j++)
        acc[0] = _mm512_add_ps(acc[0], acc[j]);
    *sink = _mm512_reduce_add_ps(acc[0]);
    return (double)PEAK_ITERS * PEAK_ACC * 32 * 2; /* 16 lanes × 2 products */
}

static void *peak_thread(void *arg)
{
    peak_job *j = arg;
    double t0 = now();
    if (j->bf16)
        j->flop = peak_bf16_512(&j->sink);
    else if (__builtin_cpu_supports("avx512f"))
        j->flop = peak_fp32_512(&j->sink);
    else
        j->flop = peak_fp32_256(&j->sink);
    j->seconds = now() - t0;
    return NULL;
}

/* GFLOP/s of `threads` threads running the loop at once (best of 3). */
static double measure_peak(int bf16, int threads)
{
    peak_job job[64];
    pthread_t tid[64];
    double best = 0;
    if (threads > 64)
        threads = 64;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now(), flop = 0;
        int started = 0;
        for (int t = 0; t < threads; t++) {
            job[t] = (peak_job){bf16, 0, 0, 0};
            if (pthread_create(&tid[t], NULL, peak_thread, &job[t]))
                break;
            started++;
        }
        for (int t = 0; t < started; t++) {
            pthread_join(tid[t], NULL);
            flop += job[t].flop;
        }
        double g = flop / (now() - t0) * 1e-9;
        best = g > best ? g : best;
    }
    return best;
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
    cfg.arch = o->arch;
    cfg.layout = o->layout;
    cfg.input_size = size;
    cfg.num_classes = HEAD_CLASSES;
    cfg.pool = CK_POOL_FLATTEN;
    cfg.num_hidden = 1;
    cfg.hidden[0] = HEAD_HIDDEN;
    cfg.dropout = 0.5f;
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
            labels[i] = i % HEAD_CLASSES;
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
    double gflop = row_gflop(o->arch, o->layout, r->size, r->finetune) * r->batch;
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
        int fs[3] = {0};
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
            "Time a backbone's conv base forward and a fine-tuning step (images/s).\n\n"
            "  --arch A        vgg16|vgg19|resnet50 (vgg16)\n"
            "  --layout L      keras|torchvision: ResNet50 v1 or v1.5 (keras)\n"
            "  --rows LIST     all (the CPU rows), gpu (fwd224b64,fwd224b256,ft224b64),\n"
            "                  none, or a comma list of row names (fwd224b1,fwd224b16,\n"
            "                  fwd64b64,fwd32b64,ft224b16 and the gpu ones)\n"
            "  --algo A        fp32|winograd|bf16|auto for the frozen convolutions (auto)\n"
            "  --repeats N     timed repetitions per row, median reported (5)\n"
            "  --warmup N      untimed repetitions first (1)\n"
            "  --threads N     CPU threads (0 = all cores; default 0)\n"
            "  --device D      cpu|cuda|auto (cpu)\n"
            "  --weights FILE  conv base weights of --arch/--layout (default: random\n"
            "                  from --seed)\n"
            "  --seed N        seed of random weights and inputs (1)\n"
            "  --check         print the accuracy of winograd and bf16 vs fp32 features\n"
            "  --peak          print this CPU's fp32 FMA and bf16 peaks at --threads\n"
            "  --flops         print each row's GFLOP per image and exit\n"
            "  --bf16-kernel K the CPU kernel of --algo bf16: best (default: amx where\n"
            "                  the CPU has AMX-BF16, else avx512bf16), amx, avx512bf16\n"
            "  --help          this text\n\n"
            "Set OPENBLAS_CORETYPE before starting (see docs/performance.md).\n");
}

int main(int argc, char **argv)
{
    opts o = {"all", "cpu", NULL, CK_ARCH_VGG16, CK_LAYOUT_KERAS, CK_CONV_AUTO, 5, 1, 0, 0, 1};
    int peak = 0, flops = 0;
    static const struct option lo[] = {
        {"rows", required_argument, 0, 'r'},    {"algo", required_argument, 0, 'a'},
        {"repeats", required_argument, 0, 'n'}, {"warmup", required_argument, 0, 'W'},
        {"threads", required_argument, 0, 't'}, {"device", required_argument, 0, 'd'},
        {"weights", required_argument, 0, 'w'}, {"seed", required_argument, 0, 's'},
        {"check", no_argument, 0, 'c'},         {"help", no_argument, 0, 'h'},
        {"bf16-kernel", required_argument, 0, 'k'}, {"arch", required_argument, 0, 'A'},
        {"layout", required_argument, 0, 'L'},  {"peak", no_argument, 0, 'p'},
        {"flops", no_argument, 0, 'f'},         {0, 0, 0, 0}};
    int c;
    char *end;
    ck_bf16_kernel bf16_kernel = CK_BF16_NONE; /* the best */
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'r': o.rows = optarg; break;
        case 'A': case 'L':
            if (c == 'A' ? ck_arch_parse(optarg, &o.arch) : ck_layout_parse(optarg, &o.layout)) {
                fprintf(stderr, "bench-vgg16: %sTry 'bench-vgg16 --help'.\n", ck_error_buffer());
                return 2;
            }
            break;
        case 'p': peak = 1; break;
        case 'f': flops = 1; break;
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

    if (flops) {
        for (int i = 0; i < NROWS; i++)
            printf("flops\t%s\t%s\t%s\t%.3f\n", ck_arch_name(o.arch), ck_layout_name(o.layout), rows[i].name,
                   row_gflop(o.arch, o.layout, rows[i].size, rows[i].finetune));
        return 0;
    }
    if (peak) {
        int t = o.threads > 0 ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
        printf("peak\tfp32\t%.1f\n", measure_peak(0, t));
        if (ck_cpu_bf16_can_run(CK_BF16_AVX512))
            printf("peak\tbf16\t%.1f\n", measure_peak(1, t));
        fflush(stdout);
    }

    int status = 0;
    ck_weights *w = NULL;
    ck_backend *be = ck_backend_new(o.device, o.threads);
    if (!be || (o.weights && !(w = ck_weights_load(o.weights)))) {
        status = 1;
        goto out;
    }
    fprintf(stderr, "bench-vgg16: %s, %s (%s layout)\n", ck_backend_name(be), ck_arch_name(o.arch),
            ck_layout_name(o.layout));
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
