/* ck/ops.h — the operations every backend implements.
 *
 * Each public function checks shapes and dtypes once (lib/nn/ops.c) and then
 * dispatches to the backend's table, so the CPU and CUDA backends see only
 * valid calls. All functions return 0, or -1 with an error set.
 * Tensors are F32 unless stated. Layouts: see ck/backend.h (NHWC, HWIO,
 * dense [in,out]). "beta" on gradient outputs: dW = beta·dW + grad, so
 * beta = 0 overwrites and beta = 1 accumulates.
 * In-place (output == input) is allowed where noted.
 */
#ifndef CK_OPS_H
#define CK_OPS_H

#include "ck/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 3×3 'same' convolution, stride 1, zero padding 1, with bias and an
 * optional fused ReLU. x [N,H,W,Ci], w [3,3,Ci,Co], b [Co], y [N,H,W,Co].
 * With algo CK_CONV_BF16 or CK_CONV_AUTO, w, x and y may also be BF16
 * (each independently): a GPU keeps frozen layers' activations in bf16
 * between layers. A backend without a bf16 kernel for the shape computes
 * in fp32 and converts. */
int ck_conv3x3_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                       const ck_tensor *b, ck_tensor *y, int relu, ck_conv_algo algo);
/* dx [N,H,W,Ci] from dy [N,H,W,Co] and w. (dx overwritten.) */
int ck_conv3x3_backward_data(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx);
/* dw [3,3,Ci,Co] and db [Co] (db may be NULL) from x and dy. */
int ck_conv3x3_backward_filter(ck_backend *be, const ck_tensor *x, const ck_tensor *dy,
                               ck_tensor *dw, ck_tensor *db, float beta);

/* General 2-D convolution (the graph backbones' strided, 1×1 and 7×7
 * convs): x [N,H,W,Ci], w [k,k,Ci,Co] (HWIO, square), b [Co] or NULL,
 * y [N,Ho,Wo,Co] with Ho = (H + 2·pad - k)/stride + 1 (floor, likewise Wo),
 * zero padding, optional fused ReLU. k = 3, stride 1, pad 1 is
 * ck_conv3x3_forward (its algorithms and dtypes); other shapes are F32
 * (algo is ignored). */
int ck_conv_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,
                    ck_tensor *y, int stride, int pad, int relu, ck_conv_algo algo);
/* The same with a residual added before the ReLU (ResNet's block output):
 * y = relu(conv(x, w) + b + r), r F32 of y's shape, y F32 and not r. One
 * pass on the CPU (the GEMM accumulates onto b + r); where a backend has no
 * fused kernel (the 3×3 'same' shape), the conv and then ck_add_forward. */
int ck_conv_add_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,
                        const ck_tensor *r, ck_tensor *y, int stride, int pad, int relu, ck_conv_algo algo);
/* dx [N,H,W,Ci] (overwritten) from dy [N,Ho,Wo,Co] and w; the input size
 * is dx's shape. */
int ck_conv_backward_data(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx,
                          int stride, int pad);
/* dw [k,k,Ci,Co] and db [Co] (may be NULL) from x and dy. */
int ck_conv_backward_filter(ck_backend *be, const ck_tensor *x, const ck_tensor *dy, ck_tensor *dw,
                            ck_tensor *db, int stride, int pad, float beta);

/* y = a + b (same shapes), optional fused ReLU; y may be a or b. */
int ck_add_forward(ck_backend *be, const ck_tensor *a, const ck_tensor *b, ck_tensor *y, int relu);

/* k×k max-pool with stride and padding that never wins (PyTorch's -inf):
 * x [N,H,W,C] -> y [N,Ho,Wo,C], Ho = (H + 2·pad - k)/stride + 1. k = 2,
 * stride 2, pad 0 is ck_maxpool2_forward (BF16 too); others are F32.
 * Backward: the gradient goes to the first maximal element of each window. */
int ck_maxpool_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y, int k, int stride, int pad);
int ck_maxpool_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *y, const ck_tensor *dy,
                        ck_tensor *dx, int k, int stride, int pad);

/* y = max(x, 0); in-place allowed. */
int ck_relu_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y);
/* dx = dy · [y > 0]; in-place (dx == dy) allowed. */
int ck_relu_backward(ck_backend *be, const ck_tensor *y, const ck_tensor *dy, ck_tensor *dx);

/* y = x rounded to the nearest bf16 value (ties to even, NaN stays NaN,
 * ck_f32_to_bf16 of ck/dtype.h bit for bit), kept in F32: the bf16 compute
 * of the trained layers under CK_PRECISION_BF16 (ck/model.h) is built from
 * it and the F32 operations. Same element count; in-place allowed. */
int ck_round_bf16(ck_backend *be, const ck_tensor *x, ck_tensor *y);

/* 2×2 max-pool, stride 2 (H and W even). x [N,H,W,C] -> y [N,H/2,W/2,C].
 * Forward also on BF16 (x and y of the same dtype; exact either way). */
int ck_maxpool2_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y);
/* Gradient to the first maximal element of each window (PyTorch's rule). */
int ck_maxpool2_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *y,
                         const ck_tensor *dy, ck_tensor *dx);

/* Global average pool: x [N,H,W,C] -> y [N,C]. */
int ck_avgpool_global_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y);
int ck_avgpool_global_backward(ck_backend *be, const ck_tensor *dy, ck_tensor *dx);

/* Dense: y [N,M] = x [N,K] · w [K,M] + b [M] (b may be NULL).
 * A 4-D x is read as [N, H·W·C] (flatten is free in NHWC; note Keras'
 * Flatten order is the same NHWC order). */
int ck_dense_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                     const ck_tensor *b, ck_tensor *y);
/* dx (may be NULL: skip), dw, db (may be NULL). dx is overwritten. */
int ck_dense_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                      const ck_tensor *dy, ck_tensor *dx, ck_tensor *dw,
                      ck_tensor *db, float beta);

/* Inverted dropout, training only: keep with probability 1-rate, scale kept
 * values by 1/(1-rate). mask is U8 of the same element count (1 = kept),
 * written here and read by backward. The mask is a pure function of (seed,
 * step, element index i) so CPU and CUDA agree bit for bit:
 *   uint32_t r[4]; ck_philox_at(seed, step, i/4, 0, r);
 *   keep = ck_u32_to_unit(r[i % 4]) >= rate;
 * In-place allowed. */
int ck_dropout_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y, ck_tensor *mask,
                       float rate, uint64_t seed, uint32_t step);
int ck_dropout_backward(ck_backend *be, const ck_tensor *dy, const ck_tensor *mask,
                        ck_tensor *dx, float rate);

/* Batch normalisation over the batch of a [N,C] tensor (the head's optional
 * BN), or of an [N,H,W,C] one per channel over N·H·W (a trainable
 * backbone stage). training: use batch statistics, update running stats with
 * momentum (PyTorch convention: running = (1-m)·running + m·batch, unbiased
 * variance for running_var) and save mean/invstd for backward; otherwise use
 * the running statistics. */
int ck_batchnorm_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *gamma,
                         const ck_tensor *beta_, ck_tensor *running_mean, ck_tensor *running_var,
                         ck_tensor *save_mean, ck_tensor *save_invstd, ck_tensor *y,
                         int training, float momentum, float eps);
int ck_batchnorm_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *dy,
                          const ck_tensor *gamma, const ck_tensor *save_mean,
                          const ck_tensor *save_invstd, ck_tensor *dx, ck_tensor *dgamma,
                          ck_tensor *dbeta, float beta);

/* Row-wise softmax of logits [N,C] (numerically stable). */
int ck_softmax_forward(ck_backend *be, const ck_tensor *logits, ck_tensor *probs);

/* Softmax + categorical cross-entropy, matching torch.nn.CrossEntropyLoss
 * (mean reduction): labels I32 [N]; class_weights [C] or NULL; smoothing in
 * [0,1). probs [N,C] receives the softmax; dlogits [N,C] (may be NULL)
 * receives d(mean loss)/d(logits). *loss gets the mean loss, *correct (may
 * be NULL) the number of rows whose argmax equals the label. */
int ck_softmax_xent(ck_backend *be, const ck_tensor *logits, const ck_tensor *labels,
                    const ck_tensor *class_weights, float smoothing, ck_tensor *probs,
                    ck_tensor *dlogits, float *loss, int *correct);

/* Input preprocessing, done on the backend so that only bytes travel to a
 * GPU: rgb U8 [N,H,W,3] -> out F32 [N,H,W,3],
 *   out[..,c] = (rgb[.., bgr ? 2-c : c] - mean[c]) · scale[c].
 * "caffe" (Keras VGG16/ResNet50): bgr, mean B,G,R = 103.939, 116.779,
 * 123.68, scale 1. "torch" (torchvision): RGB, mean 255·(0.485, 0.456,
 * 0.406), scale 1/(255·(0.229, 0.224, 0.225)). */
typedef struct ck_preprocess_spec {
    int bgr;
    float mean[3];
    float scale[3];
} ck_preprocess_spec;
/* The spec of "caffe" or "torch"; -1 with an error otherwise. */
int ck_preprocess_spec_of(const char *kind, ck_preprocess_spec *out);
int ck_preprocess(ck_backend *be, const ck_tensor *rgb, const ck_preprocess_spec *p, ck_tensor *out);

/* ---- optimizers (semantics of torch.optim, one tensor at a time) ------ */

/* SGD: g = grad + wd·p; v = momentum·v + g; step = nesterov ? g + momentum·v : v;
 * p -= lr·step. velocity may be NULL when momentum == 0. */
int ck_sgd_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *velocity,
                  float lr, float momentum, int nesterov, float weight_decay);
/* Adam (decoupled = 0, L2 added to the gradient, torch.optim.Adam) or AdamW
 * (decoupled = 1). t is the 1-based step count for bias correction. */
int ck_adam_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *m,
                   ck_tensor *v, float lr, float beta1, float beta2, float eps,
                   float weight_decay, int decoupled, long t);
/* RMSprop (torch.optim.RMSprop, no momentum, not centered):
 * sq = rho·sq + (1-rho)·g²; p -= lr·g / (sqrt(sq) + eps). */
int ck_rmsprop_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *sq,
                      float lr, float rho, float eps, float weight_decay);

/* ---- small utilities -------------------------------------------------- */
/* t *= a */
int ck_scale(ck_backend *be, ck_tensor *t, float a);
/* y += a·x */
int ck_axpy(ck_backend *be, float a, const ck_tensor *x, ck_tensor *y);
/* Σ t² in double (for gradient norms and NaN/inf detection: returns NaN/inf
 * when t holds one). */
int ck_sum_squares(ck_backend *be, const ck_tensor *t, double *out);

#ifdef __cplusplus
}
#endif
#endif
