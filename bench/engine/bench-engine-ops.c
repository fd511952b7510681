/* Timings of the engine's CPU paths at VGG16 shapes (fp32 reference
 * convolution forward / backward, head training, block5 training step),
 * and with "graph" the general convolutions at ResNet50's shapes.
 * Usage: OPENBLAS_CORETYPE=SkylakeX bench-engine-ops [threads] [repeats] [graph]
 * Prints the median of `repeats` runs after one warm-up. */
#include "ck/model.h"
#include "ck/ops.h"
#include "ck/optim.h"
#include "ck/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define TIME(label, flops, repeats, stmt)                                                       \
    do {                                                                                        \
        double t_[64];                                                                          \
        stmt;                                                                                   \
        for (int r_ = 0; r_ < (repeats); r_++) {                                                \
            double t0_ = now();                                                                 \
            stmt;                                                                               \
            t_[r_] = now() - t0_;                                                               \
        }                                                                                       \
        qsort(t_, (size_t)(repeats), sizeof(double), cmp);                                      \
        double med_ = t_[(repeats) / 2];                                                        \
        printf("%-48s %9.2f ms  %7.1f GFLOP/s\n", label, med_ * 1e3, (flops) / med_ * 1e-9);  \
    } while (0)

static void conv_case(ck_backend *be, const char *name, int n, int s, int ci, int co, int repeats)
{
    ck_tensor *x = ck_tensor_new_4d(be, CK_F32, n, s, s, ci), *y = ck_tensor_new_4d(be, CK_F32, n, s, s, co);
    int ws[4] = {3, 3, ci, co};
    ck_tensor *w = ck_tensor_new(be, CK_F32, 4, ws), *b = ck_tensor_new_1d(be, CK_F32, co);
    ck_tensor *dw = ck_tensor_new(be, CK_F32, 4, ws), *db = ck_tensor_new_1d(be, CK_F32, co);
    ck_tensor *dx = ck_tensor_new_4d(be, CK_F32, n, s, s, ci);
    ck_tensor_fill(x, 0.5f), ck_tensor_fill(w, 0.01f), ck_tensor_fill(b, 0.1f), ck_tensor_fill(y, 1.0f);
    double flops = 2.0 * n * s * s * 9.0 * ci * co;
    char label[128];
    snprintf(label, sizeof label, "%s fwd fp32", name);
    TIME(label, flops, repeats, ck_conv3x3_forward(be, x, w, b, y, 1, CK_CONV_FP32));
    snprintf(label, sizeof label, "%s bwd data", name);
    TIME(label, flops, repeats, ck_conv3x3_backward_data(be, y, w, dx));
    snprintf(label, sizeof label, "%s bwd filter", name);
    TIME(label, flops, repeats, ck_conv3x3_backward_filter(be, x, y, dw, db, 0.0f));
    ck_tensor *all[] = {x, y, w, b, dw, db, dx};
    for (int i = 0; i < 7; i++)
        ck_tensor_free(all[i]);
}

/* A general k×k/stride/pad convolution (ck_conv_*), no bias (torchvision). */
static void graph_conv_case(ck_backend *be, const char *name, int n, int s, int ci, int co, int k, int stride,
                            int pad, int repeats)
{
    int so = (s + 2 * pad - k) / stride + 1, ws[4] = {k, k, ci, co};
    ck_tensor *x = ck_tensor_new_4d(be, CK_F32, n, s, s, ci), *y = ck_tensor_new_4d(be, CK_F32, n, so, so, co);
    ck_tensor *w = ck_tensor_new(be, CK_F32, 4, ws), *dw = ck_tensor_new(be, CK_F32, 4, ws);
    ck_tensor *dx = ck_tensor_new_4d(be, CK_F32, n, s, s, ci);
    ck_tensor_fill(x, 0.5f), ck_tensor_fill(w, 0.01f), ck_tensor_fill(y, 1.0f);
    double flops = 2.0 * n * so * so * (double)k * k * ci * co;
    char label[128];
    snprintf(label, sizeof label, "%s fwd", name);
    TIME(label, flops, repeats, ck_conv_forward(be, x, w, NULL, y, stride, pad, 1, CK_CONV_FP32));
    snprintf(label, sizeof label, "%s bwd data", name);
    TIME(label, flops, repeats, ck_conv_backward_data(be, y, w, dx, stride, pad));
    snprintf(label, sizeof label, "%s bwd filter", name);
    TIME(label, flops, repeats, ck_conv_backward_filter(be, x, y, dw, NULL, stride, pad, 0.0f));
    ck_tensor *all[] = {x, y, w, dw, dx};
    for (int i = 0; i < 5; i++)
        ck_tensor_free(all[i]);
}

static void model_case(ck_backend *be, int train_blocks, int size, int batch, int repeats)
{
    ck_net_config c;
    ck_net_config_default(&c);
    c.input_size = size;
    c.train_blocks = train_blocks;
    ck_model *m = ck_model_new(be, &c, batch);
    if (!m) {
        fprintf(stderr, "%s", ck_error_buffer());
        exit(1);
    }
    int fs[3];
    ck_model_feature_shape(m, fs);
    ck_tensor *f = ck_tensor_new_4d(be, CK_F32, batch, fs[0], fs[1], fs[2]);
    ck_tensor_fill(f, 0.3f);
    int32_t *labels = calloc((size_t)batch, sizeof *labels);
    ck_optim_config oc;
    ck_optim_config_default(&oc, CK_OPT_ADAM);
    ck_optim *o = ck_optim_new(m, &oc);
    char label[128];
    snprintf(label, sizeof label, "train step from %s, %d px, batch %d", ck_model_feature_layer(m), size, batch);
    uint32_t step = 0;
    TIME(label, 0.0, repeats,
         (ck_model_zero_grad(m), ck_model_train_step(m, CK_FROM_FEATURES, f, labels, step++, NULL, NULL),
          ck_optim_step(o, 1e-4f)));
    ck_optim_free(o);
    free(labels);
    ck_tensor_free(f);
    ck_model_free(m);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 0, repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (repeats < 1 || repeats > 64)
        repeats = 5;
    ck_backend *be = ck_backend_new("cpu", threads);
    if (!be) {
        fprintf(stderr, "%s", ck_error_buffer());
        return 1;
    }
    printf("%s\n", ck_backend_name(be));
    if (argc > 3 && !strcmp(argv[3], "graph")) {
        graph_conv_case(be, "stem 7x7/2 224px batch 4", 4, 224, 3, 64, 7, 2, 3, repeats);
        graph_conv_case(be, "1x1 56px batch 8 (256->64)", 8, 56, 256, 64, 1, 1, 0, repeats);
        graph_conv_case(be, "1x1/2 56px batch 8 (256->512)", 8, 56, 256, 512, 1, 2, 0, repeats);
        graph_conv_case(be, "3x3/2 56px batch 8 (128->128)", 8, 56, 128, 128, 3, 2, 1, repeats);
        graph_conv_case(be, "conv5 3x3 7px batch 32 (512)", 32, 7, 512, 512, 3, 1, 1, repeats);
        graph_conv_case(be, "conv5 1x1 7px batch 32 (2048->512)", 32, 7, 2048, 512, 1, 1, 0, repeats);
        ck_backend_free(be);
        return 0;
    }
    conv_case(be, "block5 224px batch 16 (14x14x512)", 16, 14, 512, 512, repeats);
    conv_case(be, "block3 224px batch 4 (56x56x256)", 4, 56, 256, 256, repeats);
    conv_case(be, "block1_conv2 224px batch 1", 1, 224, 64, 64, repeats);
    model_case(be, 0, 224, 64, repeats);
    model_case(be, 1, 224, 16, repeats);
    model_case(be, 0, 32, 256, repeats);
    ck_backend_free(be);
    return 0;
}
