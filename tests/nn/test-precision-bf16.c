/* bf16 precision of the trained layers (ck_net_config.precision).
 *
 * 1. ck_round_bf16 against ck_f32_to_bf16 (ck/dtype.h) and against values
 *    worked out by hand: ties to even, NaN stays NaN, infinities, overflow
 *    to infinity, subnormals, in place, more elements than one thread takes.
 * 2. One training step of VGG16 with block5 trained (three 3×3 convs on
 *    2×2 maps) and a head of dense_1 (16), batch norm, ReLU, predictions,
 *    from given features, against a naive double reference with the same
 *    rounding rule:
 *    - forward, layer by layer from the model's own input to each layer:
 *      every trained layer's output holds bf16 values, equal to the
 *      reference's except one bf16 step off where the reference value lies
 *      within 1e-3 of a step of a rounding midpoint (an fp32 and a double
 *      sum may fall on either side of it); the batch norm ran in fp32;
 *    - backward from the model's forward values: the gradients of the dense
 *      layers within 1e-5, those of the convs (below data gradients summed
 *      over 16 to 4608 terms, which may round either way) within 1e-4 of
 *      their norm;
 *    - the gradients are not those of a reference that leaves the data
 *      gradients unrounded (the batch norm's backward sees predictions'
 *      rounded dx), nor those of the fp32 model, which matches the
 *      unrounded reference instead: the rounding happened where it should.
 */
#include "nn_util.h"

#include "ck/dtype.h"
#include "ck/ops.h"
#include "model_internal.h"

#include <float.h>
#include <stdint.h>

/* ---- 1. the operation --------------------------------------------------- */

static float from_bits(uint32_t u) { return ck_bits_f32(u); }

static void test_round_op(ck_backend *be)
{
    /* input bits, expected bits (worked out by hand) */
    static const uint32_t cases[][2] = {
        {0x00000000u, 0x00000000u}, {0x80000000u, 0x80000000u}, /* signed zeros */
        {0x7f800000u, 0x7f800000u}, {0xff800000u, 0xff800000u}, /* infinities */
        {0x3f800000u, 0x3f800000u},                             /* 1 */
        {0x3f808000u, 0x3f800000u},                             /* 1 + 2^-8: tie, to even (down) */
        {0x3f818000u, 0x3f820000u},                             /* 1 + 3·2^-8: tie, to even (up) */
        {0x3f808001u, 0x3f810000u},                             /* just above a tie: up */
        {0x3f817fffu, 0x3f810000u},                             /* just below a tie: down */
        {0xbf818000u, 0xbf820000u},                             /* negative tie to even */
        {0x7f7fffffu, 0x7f800000u},                             /* FLT_MAX rounds to infinity */
        {0x7f7f7fffu, 0x7f7f0000u},                             /* the largest value that stays finite */
        {0x00000001u, 0x00000000u},                             /* smallest subnormal: to zero */
        {0x00018000u, 0x00020000u},                             /* subnormal tie to even */
        {0x00008000u, 0x00000000u},                             /* subnormal tie to even (zero) */
        {0x7fc00000u, 0x7fc00000u},                             /* quiet NaN */
        {0x7f800001u, 0x7fc00000u},                             /* signalling NaN: quiet, top payload kept */
        {0xffa5a5a5u, 0xffe50000u},                             /* negative NaN with payload */
    };
    const int nc = (int)(sizeof cases / sizeof cases[0]);
    const int n = 300007; /* several threads' worth */
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    CHECK(x && y);
    uint64_t s = 0x243f6a8885a308d3ull;
    for (int i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = i < nc ? from_bits(cases[i][0]) : from_bits((uint32_t)(s >> 32));
    }
    ck_tensor *tx = ck_tensor_new_1d(be, CK_F32, n), *ty = ck_tensor_new_1d(be, CK_F32, n);
    CHECK(tx && ty);
    CHECK(ck_tensor_upload(tx, x, (size_t)n * sizeof *x) == 0);
    CHECK(ck_round_bf16(be, tx, ty) == 0);
    CHECK(ck_tensor_download(ty, y, (size_t)n * sizeof *y) == 0);
    for (int i = 0; i < nc; i++) {
        uint32_t got = ck_f32_bits(y[i]);
        if (got != cases[i][1])
            fprintf(stderr, "round 0x%08x: got 0x%08x, expected 0x%08x\n", cases[i][0], got, cases[i][1]);
        CHECK(got == cases[i][1]);
        CHECK(ck_f32_bits(ck_bf16_to_f32(ck_f32_to_bf16(x[i]))) == cases[i][1]);
    }
    int bad = 0, nan_kept = 1;
    for (int i = 0; i < n; i++) {
        bad += ck_f32_bits(y[i]) != ck_f32_bits(ck_bf16_to_f32(ck_f32_to_bf16(x[i])));
        if (isnan(x[i]) && !isnan(y[i]))
            nan_kept = 0;
    }
    CHECK(bad == 0);
    CHECK(nan_kept);
    /* in place */
    CHECK(ck_round_bf16(be, tx, tx) == 0);
    float *z = malloc((size_t)n * sizeof *z);
    CHECK(z && ck_tensor_download(tx, z, (size_t)n * sizeof *z) == 0);
    CHECK(memcmp(z, y, (size_t)n * sizeof *z) == 0);
    /* F32 only, same element count */
    ck_tensor *small = ck_tensor_new_1d(be, CK_F32, 3), *b16 = ck_tensor_new_1d(be, CK_BF16, n);
    CHECK(ck_round_bf16(be, tx, small) != 0);
    CHECK(ck_round_bf16(be, b16, ty) != 0);
    ck_error_clear();
    ck_tensor_free(small);
    ck_tensor_free(b16);
    ck_tensor_free(tx);
    ck_tensor_free(ty);
    free(x);
    free(y);
    free(z);
}

/* ---- 2. a training step -----------------------------------------------------
 */

/* block5 on 2×2 maps (train_blocks 1, input 32), a batch of 4, a head of
 * global average pool -> dense_1 (16) -> batch norm -> ReLU -> predictions.
 * The batch norm matters: it is the fp32 consumer through which the
 * rounding of predictions' data gradient shows (a conv or dense consumer
 * would round it again anyway). */
enum { N = 4, S = 2, C = 512, K = 3, H = 16, CLASSES = 3 };
#define ACT (N * S * S * C)
#define WK (3 * 3 * C * C)
#define NT (K + 2) /* trained conv / dense layers: convs, dense_1, predictions */

static double rb(double v) { return ck_bf16_to_f32(ck_f32_to_bf16((float)v)); }

/* The distance of v from the nearest bf16 rounding midpoint, in bf16 steps. */
static double tie_margin(double v)
{
    uint32_t u = ck_f32_bits((float)fabs(v));
    if (u >= 0x7f800000u)
        return 0.5;
    double lo = ck_bits_f32(u & 0xffff0000u), step = ck_bits_f32((u & 0xffff0000u) + 0x10000u) - lo;
    return fabs((fabs(v) - lo) / step - 0.5);
}

/* The bf16 step at |v|. */
static double bf16_step(double v)
{
    uint32_t u = ck_f32_bits((float)fabs(v)) & 0xffff0000u;
    return ck_bits_f32(u + 0x10000u) - ck_bits_f32(u);
}

static int is_bf16(float v) { return ck_f32_bits(ck_bf16_to_f32(ck_f32_to_bf16(v))) == ck_f32_bits(v); }

static void round_all(double *a, size_t n, int on)
{
    if (on)
        for (size_t i = 0; i < n; i++)
            a[i] = rb(a[i]);
}

/* x [N,S,S,C] NHWC, w [3,3,C,C] HWIO, 'same' zero padding */
static void conv_fwd(const double *x, const double *w, const double *b, double *y)
{
    for (int n = 0; n < N; n++)
        for (int h = 0; h < S; h++)
            for (int q = 0; q < S; q++) {
                double *yo = y + ((size_t)(n * S + h) * S + q) * C;
                for (int co = 0; co < C; co++)
                    yo[co] = b[co];
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        int ih = h + kh - 1, iw = q + kw - 1;
                        if (ih < 0 || ih >= S || iw < 0 || iw >= S)
                            continue;
                        const double *xi = x + ((size_t)(n * S + ih) * S + iw) * C;
                        for (int ci = 0; ci < C; ci++) {
                            const double *wr = w + ((size_t)(kh * 3 + kw) * C + ci) * C;
                            for (int co = 0; co < C; co++)
                                yo[co] += xi[ci] * wr[co];
                        }
                    }
            }
}

static void conv_bwd(const double *x, const double *w, const double *g, double *dw, double *db, double *dx)
{
    memset(dw, 0, WK * sizeof *dw);
    memset(db, 0, C * sizeof *db);
    if (dx)
        memset(dx, 0, ACT * sizeof *dx);
    for (int n = 0; n < N; n++)
        for (int h = 0; h < S; h++)
            for (int q = 0; q < S; q++) {
                const double *go = g + ((size_t)(n * S + h) * S + q) * C;
                for (int co = 0; co < C; co++)
                    db[co] += go[co];
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        int ih = h + kh - 1, iw = q + kw - 1;
                        if (ih < 0 || ih >= S || iw < 0 || iw >= S)
                            continue;
                        const double *xi = x + ((size_t)(n * S + ih) * S + iw) * C;
                        double *dxi = dx ? dx + ((size_t)(n * S + ih) * S + iw) * C : NULL;
                        for (int ci = 0; ci < C; ci++) {
                            const double *wr = w + ((size_t)(kh * 3 + kw) * C + ci) * C;
                            double *dwr = dw + ((size_t)(kh * 3 + kw) * C + ci) * C;
                            double acc = 0;
                            for (int co = 0; co < C; co++) {
                                dwr[co] += xi[ci] * go[co];
                                acc += go[co] * wr[co];
                            }
                            if (dxi)
                                dxi[ci] += acc;
                        }
                    }
            }
}

/* y [N,out] = x [N,in] · w [in,out] + b */
static void dense_fwd(const double *x, const double *w, const double *b, double *y, int in, int out)
{
    for (int n = 0; n < N; n++)
        for (int j = 0; j < out; j++) {
            double z = b[j];
            for (int i = 0; i < in; i++)
                z += x[n * in + i] * w[i * out + j];
            y[n * out + j] = z;
        }
}

static void dense_bwd(const double *x, const double *w, const double *g, double *dw, double *db, double *dx, int in,
                      int out)
{
    memset(dw, 0, (size_t)in * out * sizeof *dw);
    memset(db, 0, (size_t)out * sizeof *db);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < out; j++) {
            db[j] += g[n * out + j];
            for (int i = 0; i < in; i++)
                dw[i * out + j] += x[n * in + i] * g[n * out + j];
        }
    for (int n = 0; n < N; n++)
        for (int i = 0; i < in; i++) {
            double a = 0;
            for (int j = 0; j < out; j++)
                a += g[n * out + j] * w[i * out + j];
            dx[n * in + i] = a;
        }
}

typedef struct net {
    ck_model *m;
    int conv[K], pool, gap, d1, bn, act, d2;
} net;

static const char *lname(int k)
{
    static const char *names[NT] = {"block5_conv1", "block5_conv2", "block5_conv3", "dense_1", "predictions"};
    return names[k];
}
static size_t dw_numel(int k) { return k < K ? (size_t)WK : k == K ? (size_t)C * H : (size_t)H * CLASSES; }
static size_t db_numel(int k) { return k < K ? (size_t)C : k == K ? (size_t)H : (size_t)CLASSES; }

static float *get_f(const ck_tensor *t, size_t n)
{
    float *h = malloc(n * sizeof *h);
    CHECK(h && ck_tensor_numel(t) >= n && ck_tensor_download(t, h, n * sizeof *h) == 0);
    return h;
}

static double *to_d(const float *f, size_t n)
{
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++)
        d[i] = f[i];
    return d;
}

static double *param_d(ck_model *m, int k, const char *what, size_t n, int grad)
{
    char name[64];
    snprintf(name, sizeof name, "%s/%s", lname(k), what);
    int i = ck_model_param_find(m, name);
    CHECK(i >= 0);
    float *f = get_f(grad ? ck_model_param_grad(m, i) : ck_model_param(m, i), n);
    double *d = to_d(f, n);
    free(f);
    return d;
}

static int find(ck_model *m, const char *name)
{
    int i = ck_model_layer_find(m, name);
    CHECK(i >= 0);
    return i;
}

static net make_net(ck_backend *be, ck_precision prec)
{
    ck_net_config c;
    ck_net_config_default(&c);
    c.num_classes = CLASSES;
    c.pool = CK_POOL_AVG;
    c.num_hidden = 1;
    c.hidden[0] = H;
    c.batchnorm = 1;
    c.dropout = 0.0f;
    c.train_blocks = 1;
    c.frozen_algo = CK_CONV_FP32;
    c.precision = prec;
    c.seed = 11;
    net t;
    memset(&t, 0, sizeof t);
    if (!(t.m = ck_model_new(be, &c, N))) {
        fprintf(stderr, "%s", ck_error_buffer());
        exit(1);
    }
    for (int k = 0; k < K; k++)
        t.conv[k] = find(t.m, lname(k));
    t.pool = find(t.m, "block5_pool");
    t.gap = t.pool + 1;
    t.d1 = find(t.m, "dense_1");
    t.bn = find(t.m, "batch_normalization_1");
    t.act = find(t.m, "activation_1");
    t.d2 = find(t.m, "predictions");
    CHECK(t.m->layers[t.gap].type == L_GAP && t.m->first_param_layer == t.conv[0]);
    /* nonzero biases (the fp32 bias add), a batch norm that is not the identity
     */
    float v[C];
    for (int k = 0; k < NT; k++) {
        size_t nb = db_numel(k);
        for (size_t i = 0; i < nb; i++)
            v[i] = 0.01f * sinf(0.7f * (float)i + (float)k);
        char name[64];
        snprintf(name, sizeof name, "%s/bias", lname(k));
        CHECK(ck_model_param_set(t.m, name, v, nb) == 0);
    }
    for (int i = 0; i < H; i++)
        v[i] = 0.8f + 0.03f * (float)i;
    CHECK(ck_model_param_set(t.m, "batch_normalization_1/gamma", v, H) == 0);
    for (int i = 0; i < H; i++)
        v[i] = 0.1f * cosf((float)i);
    CHECK(ck_model_param_set(t.m, "batch_normalization_1/beta", v, H) == 0);
    return t;
}

typedef struct grads {
    double *dw[NT], *db[NT];
} grads;

static void grads_free(grads *g)
{
    for (int k = 0; k < NT; k++) {
        free(g->dw[k]);
        free(g->db[k]);
    }
}

static grads model_grads(net *t, const ck_tensor *feat, const int32_t *labels)
{
    float loss = 0;
    CHECK(ck_model_zero_grad(t->m) == 0);
    CHECK(ck_model_train_step(t->m, CK_FROM_FEATURES, feat, labels, 1, &loss, NULL) == 0);
    CHECK(isfinite(loss));
    grads g;
    for (int k = 0; k < NT; k++) {
        g.dw[k] = param_d(t->m, k, "kernel", dw_numel(k), 1);
        g.db[k] = param_d(t->m, k, "bias", db_numel(k), 1);
    }
    return g;
}

/* Forward check of one trained layer: the model's output y against the
 * reference pre-rounding values pre (ReLU after when relu). */
typedef struct fwd_count {
    int not_bf16, off, near;
} fwd_count;

static void check_out(fwd_count *c, const float *y, const double *pre, size_t n, int relu)
{
    for (size_t i = 0; i < n; i++) {
        double r = relu && pre[i] <= 0 ? 0.0 : rb(pre[i]);
        c->not_bf16 += !is_bf16(y[i]);
        if (y[i] != (float)r) {
            c->near++;
            c->off += !(tie_margin(pre[i]) < 1e-3 && fabs(y[i] - r) <= bf16_step(r) * 1.01);
        }
    }
}

/* The reference backward from the model's forward values, rounding as bf16
 * precision does when round_io (inputs, weights, incoming gradients) and
 * round_dx (data gradients). With check_fwd, also the model's forward,
 * layer by layer from the model's own input to each layer. */
static grads reference(net *t, const float *feat, const int32_t *labels, int round_io, int round_dx, int check_fwd)
{
    ck_model *m = t->m;
    double *w[NT], *b[NT];
    for (int k = 0; k < NT; k++) {
        w[k] = param_d(m, k, "kernel", dw_numel(k), 0);
        b[k] = param_d(m, k, "bias", db_numel(k), 0);
        round_all(w[k], dw_numel(k), round_io);
    }
    /* the model's forward values */
    float *yf[K], *pf = get_f(m->out[t->pool], (size_t)N * C), *gf = get_f(m->out[t->gap], (size_t)N * C);
    float *hf = get_f(m->out[t->d1], (size_t)N * H), *bnf = get_f(m->out[t->bn], (size_t)N * H);
    float *af = get_f(m->out[t->act], (size_t)N * H), *lf = get_f(m->out[t->d2], (size_t)N * CLASSES);
    for (int k = 0; k < K; k++)
        yf[k] = get_f(m->out[t->conv[k]], ACT);
    /* the inputs of the trained conv / dense layers, rounded */
    double *x[NT];
    x[0] = to_d(feat, ACT);
    for (int k = 1; k < K; k++)
        x[k] = to_d(yf[k - 1], ACT);
    x[K] = to_d(gf, (size_t)N * C);
    x[K + 1] = to_d(af, (size_t)N * H);
    for (int k = 0; k < NT; k++)
        round_all(x[k], k < K ? ACT : k == K ? (size_t)N * C : (size_t)N * H, round_io);

    if (check_fwd) {
        fwd_count c = {0, 0, 0};
        double *pre = malloc(ACT * sizeof *pre);
        for (int k = 0; k < K; k++) {
            conv_fwd(x[k], w[k], b[k], pre);
            check_out(&c, yf[k], pre, ACT, 1);
        }
        dense_fwd(x[K], w[K], b[K], pre, C, H);
        check_out(&c, hf, pre, (size_t)N * H, 0);
        dense_fwd(x[K + 1], w[K + 1], b[K + 1], pre, H, CLASSES);
        check_out(&c, lf, pre, (size_t)N * CLASSES, 0);
        free(pre);
        fprintf(stderr, "forward: %d values one bf16 step off next to a rounding midpoint\n", c.near);
        CHECK(c.not_bf16 == 0);
        CHECK(c.off == 0);
        CHECK(c.near < 40);
        /* fp32 layers between: the max-pool and the 1×1 average pass values on */
        for (int i = 0; i < N * C; i++) {
            int n = i / C, ch = i % C;
            float mx = yf[K - 1][(n * S * S) * C + ch];
            for (int p = 1; p < S * S; p++)
                mx = fmaxf(mx, yf[K - 1][(n * S * S + p) * C + ch]);
            CHECK(pf[i] == mx && gf[i] == pf[i]);
        }
    }

    grads g;
    for (int k = 0; k < NT; k++) {
        g.dw[k] = malloc(dw_numel(k) * sizeof(double));
        g.db[k] = malloc(db_numel(k) * sizeof(double));
    }
    /* softmax cross-entropy (mean) from the model's logits */
    double dl[N * CLASSES], da[N * H], dh[N * H], dg[N * C];
    for (int n = 0; n < N; n++) {
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < CLASSES; j++)
            mx = fmax(mx, lf[n * CLASSES + j]);
        for (int j = 0; j < CLASSES; j++)
            sum += exp(lf[n * CLASSES + j] - mx);
        for (int j = 0; j < CLASSES; j++)
            dl[n * CLASSES + j] = (exp(lf[n * CLASSES + j] - mx) / sum - (j == labels[n])) / N;
    }
    round_all(dl, N * CLASSES, round_io);
    dense_bwd(x[K + 1], w[K + 1], dl, g.dw[K + 1], g.db[K + 1], da, H, CLASSES);
    round_all(da, N * H, round_dx);
    /* ReLU, then batch norm with batch statistics, in fp32 */
    const double eps = m->layers[t->bn].bn_eps;
    int gi = ck_model_param_find(m, "batch_normalization_1/gamma");
    float *gam = get_f(ck_model_param(m, gi), H);
    float *bet = get_f(ck_model_param(m, ck_model_param_find(m, "batch_normalization_1/beta")), H);
    for (int j = 0; j < H; j++) {
        double mean = 0, var = 0, sdy = 0, sdyx = 0, dy[N], xh[N];
        for (int n = 0; n < N; n++)
            mean += hf[n * H + j] / (double)N;
        for (int n = 0; n < N; n++)
            var += (hf[n * H + j] - mean) * (hf[n * H + j] - mean) / N;
        double invstd = 1.0 / sqrt(var + eps);
        for (int n = 0; n < N; n++) {
            xh[n] = (hf[n * H + j] - mean) * invstd;
            dy[n] = af[n * H + j] > 0 ? da[n * H + j] : 0.0;
            sdy += dy[n];
            sdyx += dy[n] * xh[n];
            if (check_fwd) /* the batch norm ran in fp32 on the model's values */
                CHECK(fabs(bnf[n * H + j] - (gam[j] * xh[n] + bet[j])) <= 1e-5);
        }
        for (int n = 0; n < N; n++)
            dh[n * H + j] = gam[j] * invstd / N * (N * dy[n] - sdy - xh[n] * sdyx);
    }
    round_all(dh, N * H, round_io);
    dense_bwd(x[K], w[K], dh, g.dw[K], g.db[K], dg, C, H);
    round_all(dg, N * C, round_dx);
    /* global average over 1×1, max-pool: to the first maximum */
    double *dy = calloc(ACT, sizeof(double)), *dx = malloc(ACT * sizeof(double));
    for (int n = 0; n < N; n++)
        for (int ch = 0; ch < C; ch++) {
            int best = 0;
            for (int p = 1; p < S * S; p++)
                if (yf[K - 1][(n * S * S + p) * C + ch] > yf[K - 1][(n * S * S + best) * C + ch])
                    best = p;
            dy[(n * S * S + best) * C + ch] = dg[n * C + ch];
        }
    for (int k = K - 1; k >= 0; k--) {
        for (int i = 0; i < ACT; i++)
            dy[i] = yf[k][i] > 0 ? dy[i] : 0.0;
        round_all(dy, ACT, round_io);
        conv_bwd(x[k], w[k], dy, g.dw[k], g.db[k], k ? dx : NULL);
        if (k) {
            round_all(dx, ACT, round_dx);
            memcpy(dy, dx, ACT * sizeof *dy);
        }
    }
    for (int k = 0; k < NT; k++) {
        free(w[k]);
        free(b[k]);
        free(x[k]);
    }
    for (int k = 0; k < K; k++)
        free(yf[k]);
    free(pf), free(gf), free(hf), free(bnf), free(af), free(lf), free(gam), free(bet), free(dy), free(dx);
    return g;
}

/* max |a-b| / max|b|, and the norm of a-b relative to that of b */
static double max_rel(const double *a, const double *b, size_t n, double *norm_rel)
{
    double mb = 0, md = 0, nd = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        mb = fmax(mb, fabs(b[i]));
        md = fmax(md, fabs(a[i] - b[i]));
        nd += (a[i] - b[i]) * (a[i] - b[i]);
        nb += b[i] * b[i];
    }
    if (norm_rel)
        *norm_rel = sqrt(nd / (nb > 0 ? nb : 1));
    return md / (mb > 0 ? mb : 1);
}

/* Elementwise |a-b| <= rtol·|b| + 1e-7·max|b|. */
static int close_all(const double *a, const double *b, size_t n, double rtol)
{
    double mb = 0;
    for (size_t i = 0; i < n; i++)
        mb = fmax(mb, fabs(b[i]));
    for (size_t i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= rtol * fabs(b[i]) + 1e-7 * mb))
            return 0;
    return 1;
}

static void test_step(ck_backend *be)
{
    net bf = make_net(be, CK_PRECISION_BF16), fp = make_net(be, CK_PRECISION_FP32);
    float *feat = malloc(ACT * sizeof *feat);
    for (int i = 0; i < ACT; i++) /* post-ReLU-like features, not bf16 values */
        feat[i] = fmaxf(0.0f, sinf(0.37f * (float)i) + 0.3f) * 1.7f + 1e-3f * cosf((float)i);
    int shape[4] = {N, S, S, C};
    ck_tensor *tf = ck_tensor_new(be, CK_F32, 4, shape);
    CHECK(tf && ck_tensor_upload(tf, feat, ACT * sizeof *feat) == 0);
    const int32_t labels[N] = {0, 2, 1, 2};

    grads gb = model_grads(&bf, tf, labels);
    grads ref = reference(&bf, feat, labels, 1, 1, 1);
    grads ref_nodx = reference(&bf, feat, labels, 1, 0, 0);
    grads gf = model_grads(&fp, tf, labels);
    grads ref_fp = reference(&fp, feat, labels, 0, 0, 0);

    for (int k = NT - 1; k >= 0; k--)
        for (int part = 0; part < 2; part++) {
            size_t n = part ? db_numel(k) : dw_numel(k);
            double *a = part ? gb.db[k] : gb.dw[k], *r = part ? ref.db[k] : ref.dw[k];
            double *r0 = part ? ref_nodx.db[k] : ref_nodx.dw[k];
            double *f = part ? gf.db[k] : gf.dw[k], *rf = part ? ref_fp.db[k] : ref_fp.dw[k];
            double nrel, nrel_nodx, nrel_fp, nrel_fpref;
            double mrel = max_rel(a, r, n, &nrel);
            max_rel(a, r0, n, &nrel_nodx);
            max_rel(a, f, n, &nrel_fp);
            max_rel(f, rf, n, &nrel_fpref);
            fprintf(stderr,
                    "%-12s %s: vs reference max %.1e norm %.1e | vs reference "
                    "without dx rounding %.1e | "
                    "vs fp32 model %.1e | fp32 model vs unrounded reference %.1e\n",
                    lname(k), part ? "db" : "dW", mrel, nrel, nrel_nodx, nrel_fp, nrel_fpref);
            /* the convs sit below data gradients that are sums of 16 to
             * 4608 terms: fp32 and double may round one either way */
            if (k >= K)
                CHECK(close_all(a, r, n, 1e-5));
            else
                CHECK(nrel <= 1e-4);
            if (k == K && part)
                continue;  /* dense_1's bias feeds the batch norm: its gradient is 0 up
                              to noise */
            if (k < K + 1) /* below the batch norm */
                CHECK(nrel_nodx > 1e-3);
            CHECK(nrel_fp > 1e-3);
            CHECK(nrel_fpref <= 1e-5);
        }
    /* inference runs the same rounded path */
    float probs[N * CLASSES];
    CHECK(ck_model_forward(bf.m, CK_FROM_FEATURES, tf, probs) == 0);
    float *lf = get_f(bf.m->out[bf.d2], (size_t)N * CLASSES);
    for (int i = 0; i < N * CLASSES; i++)
        CHECK(is_bf16(lf[i]));
    free(lf);

    grads_free(&gb), grads_free(&ref), grads_free(&ref_nodx), grads_free(&gf), grads_free(&ref_fp);
    ck_tensor_free(tf);
    free(feat);
    ck_model_free(bf.m);
    ck_model_free(fp.m);
}

static void test_config(ck_backend *be)
{
    ck_precision p;
    CHECK(ck_precision_parse("bf16", &p) == 0 && p == CK_PRECISION_BF16);
    CHECK(ck_precision_parse("fp32", &p) == 0 && p == CK_PRECISION_FP32);
    CHECK(ck_precision_parse("fp16", &p) != 0);
    CHECK(strstr(ck_error_buffer(), "fp16") != NULL);
    ck_error_clear();
    CHECK(!strcmp(ck_precision_name(CK_PRECISION_BF16), "bf16"));
    ck_net_config c;
    ck_net_config_default(&c);
    CHECK(c.precision == CK_PRECISION_FP32);
    c.precision = (ck_precision)7;
    CHECK(ck_model_new(be, &c, 2) == NULL);
    ck_error_clear();
}

int main(void)
{
    ck_backend *be = test_backend();
    test_round_op(be);
    test_config(be);
    test_step(be);
    ck_backend_free(be);
    return check_report("test-precision-bf16");
}
