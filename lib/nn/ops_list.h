/* ops_list.h — the one list of backend operations (private to lib/nn,
 * lib/cpu and lib/cuda).
 *
 * CK_BACKEND_OPS(X) calls X(name, parameter list) once per operation. The
 * list generates the ck_backend_ops table (backend_impl.h), the CPU and CUDA
 * prototypes (ck_cpu_<name>, ck_cuda_<name>: cpu_kernels.h, cuda_internal.h)
 * and both backends' tables, so adding an operation means adding one line
 * here, its validating wrapper in ops.c and one kernel per backend
 * (docs/engine.md, "Adding an op"). Every operation returns 0, or -1 after
 * ck_error(). The public semantics are documented in ck/ops.h.
 */
#ifndef CK_OPS_LIST_H
#define CK_OPS_LIST_H

#include "ck/backend.h"
#include "ck/ops.h"

#define CK_BACKEND_OPS(X)                                                                              \
    X(fill, (ck_backend * be, ck_tensor * t, float value))                                             \
    X(copy, (ck_backend * be, ck_tensor * dst, const ck_tensor *src))                                  \
    X(conv3x3_forward, (ck_backend * be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,   \
                        ck_tensor *y, int relu, ck_conv_algo algo))                                    \
    X(conv3x3_backward_data, (ck_backend * be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx)) \
    X(conv3x3_backward_filter, (ck_backend * be, const ck_tensor *x, const ck_tensor *dy,              \
                                ck_tensor *dw, ck_tensor *db, float beta))                             \
    X(conv_forward, (ck_backend * be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,      \
                     const ck_tensor *r, ck_tensor *y, int stride, int pad, int relu))                 \
    X(conv_backward_data, (ck_backend * be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx,    \
                           int stride, int pad))                                                       \
    X(conv_backward_filter, (ck_backend * be, const ck_tensor *x, const ck_tensor *dy, ck_tensor *dw,  \
                             ck_tensor *db, int stride, int pad, float beta))                          \
    X(add_forward, (ck_backend * be, const ck_tensor *a, const ck_tensor *b, ck_tensor *y, int relu))  \
    X(maxpool_forward, (ck_backend * be, const ck_tensor *x, ck_tensor *y, int k, int stride, int pad)) \
    X(maxpool_backward, (ck_backend * be, const ck_tensor *x, const ck_tensor *y, const ck_tensor *dy, \
                         ck_tensor *dx, int k, int stride, int pad))                                   \
    X(relu_forward, (ck_backend * be, const ck_tensor *x, ck_tensor *y))                               \
    X(relu_backward, (ck_backend * be, const ck_tensor *y, const ck_tensor *dy, ck_tensor *dx))        \
    X(round_bf16, (ck_backend * be, const ck_tensor *x, ck_tensor *y))                                 \
    X(maxpool2_forward, (ck_backend * be, const ck_tensor *x, ck_tensor *y))                           \
    X(maxpool2_backward, (ck_backend * be, const ck_tensor *x, const ck_tensor *y,                     \
                          const ck_tensor *dy, ck_tensor *dx))                                         \
    X(avgpool_global_forward, (ck_backend * be, const ck_tensor *x, ck_tensor *y))                     \
    X(avgpool_global_backward, (ck_backend * be, const ck_tensor *dy, ck_tensor *dx))                  \
    X(dense_forward, (ck_backend * be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,     \
                      ck_tensor *y))                                                                   \
    X(dense_backward, (ck_backend * be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *dy,   \
                       ck_tensor *dx, ck_tensor *dw, ck_tensor *db, float beta))                       \
    X(dropout_forward, (ck_backend * be, const ck_tensor *x, ck_tensor *y, ck_tensor *mask,            \
                        float rate, uint64_t seed, uint32_t step))                                     \
    X(dropout_backward, (ck_backend * be, const ck_tensor *dy, const ck_tensor *mask, ck_tensor *dx,   \
                         float rate))                                                                  \
    X(batchnorm_forward, (ck_backend * be, const ck_tensor *x, const ck_tensor *gamma,                 \
                          const ck_tensor *beta_, ck_tensor *running_mean, ck_tensor *running_var,     \
                          ck_tensor *save_mean, ck_tensor *save_invstd, ck_tensor *y, int training,    \
                          float momentum, float eps))                                                  \
    X(batchnorm_backward, (ck_backend * be, const ck_tensor *x, const ck_tensor *dy,                   \
                           const ck_tensor *gamma, const ck_tensor *save_mean,                         \
                           const ck_tensor *save_invstd, ck_tensor *dx, ck_tensor *dgamma,             \
                           ck_tensor *dbeta, float beta))                                              \
    X(softmax_forward, (ck_backend * be, const ck_tensor *logits, ck_tensor *probs))                   \
    X(softmax_xent, (ck_backend * be, const ck_tensor *logits, const ck_tensor *labels,                \
                     const ck_tensor *class_weights, float smoothing, ck_tensor *probs,                \
                     ck_tensor *dlogits, float *loss, int *correct))                                   \
    X(preprocess, (ck_backend * be, const ck_tensor *rgb, const ck_preprocess_spec *p, ck_tensor *out)) \
    X(sgd_update, (ck_backend * be, ck_tensor * param, const ck_tensor *grad, ck_tensor *velocity,     \
                   float lr, float momentum, int nesterov, float weight_decay))                        \
    X(adam_update, (ck_backend * be, ck_tensor * param, const ck_tensor *grad, ck_tensor *m,           \
                    ck_tensor *v, float lr, float beta1, float beta2, float eps, float weight_decay,   \
                    int decoupled, long t))                                                            \
    X(rmsprop_update, (ck_backend * be, ck_tensor * param, const ck_tensor *grad, ck_tensor *sq,       \
                       float lr, float rho, float eps, float weight_decay))                            \
    X(scale, (ck_backend * be, ck_tensor * t, float a))                                                \
    X(axpy, (ck_backend * be, float a, const ck_tensor *x, ck_tensor *y))                              \
    X(sum_squares, (ck_backend * be, const ck_tensor *t, double *out))

#endif
