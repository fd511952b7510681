/* cpu_kernels.h — the CPU backend's entries of ck_backend_ops (private).
 * Each ck_cpu_<op> has the signature of the table entry; arguments were
 * validated by ops.c. */
#ifndef CK_CPU_KERNELS_H
#define CK_CPU_KERNELS_H

#include "cpu_internal.h"

/* cpu_conv.c */
int ck_cpu_conv3x3_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                           const ck_tensor *b, ck_tensor *y, int relu, ck_conv_algo algo);
int ck_cpu_conv3x3_backward_data(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx);
int ck_cpu_conv3x3_backward_filter(ck_backend *be, const ck_tensor *x, const ck_tensor *dy,
                                   ck_tensor *dw, ck_tensor *db, float beta);
/* The reference fp32 path (im2col + one GEMM per chunk of pixels), usable
 * by the fast kernels' tests for comparison. */
int ck_cpu_conv3x3_fp32(ck_backend *be, const float *x, int n, int h, int w, int ci,
                        const float *wt, const float *bias, int co, float *y, int relu);

/* cpu_layers.c */
int ck_cpu_relu_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y);
int ck_cpu_relu_backward(ck_backend *be, const ck_tensor *y, const ck_tensor *dy, ck_tensor *dx);
int ck_cpu_maxpool2_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y);
int ck_cpu_maxpool2_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *y,
                             const ck_tensor *dy, ck_tensor *dx);
int ck_cpu_avgpool_global_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y);
int ck_cpu_avgpool_global_backward(ck_backend *be, const ck_tensor *dy, ck_tensor *dx);
int ck_cpu_dense_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                         const ck_tensor *b, ck_tensor *y);
int ck_cpu_dense_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                          const ck_tensor *dy, ck_tensor *dx, ck_tensor *dw, ck_tensor *db, float beta);
int ck_cpu_dropout_forward(ck_backend *be, const ck_tensor *x, ck_tensor *y, ck_tensor *mask,
                           float rate, uint64_t seed, uint32_t step);
int ck_cpu_dropout_backward(ck_backend *be, const ck_tensor *dy, const ck_tensor *mask,
                            ck_tensor *dx, float rate);
int ck_cpu_batchnorm_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *gamma,
                             const ck_tensor *beta_, ck_tensor *running_mean, ck_tensor *running_var,
                             ck_tensor *save_mean, ck_tensor *save_invstd, ck_tensor *y,
                             int training, float momentum, float eps);
int ck_cpu_batchnorm_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *dy,
                              const ck_tensor *gamma, const ck_tensor *save_mean,
                              const ck_tensor *save_invstd, ck_tensor *dx, ck_tensor *dgamma,
                              ck_tensor *dbeta, float beta);

/* cpu_loss.c */
int ck_cpu_softmax_forward(ck_backend *be, const ck_tensor *logits, ck_tensor *probs);
int ck_cpu_softmax_xent(ck_backend *be, const ck_tensor *logits, const ck_tensor *labels,
                        const ck_tensor *class_weights, float smoothing, ck_tensor *probs,
                        ck_tensor *dlogits, float *loss, int *correct);
int ck_cpu_preprocess_caffe(ck_backend *be, const ck_tensor *rgb, const float mean_bgr[3], ck_tensor *out);

/* cpu_update.c */
int ck_cpu_sgd_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *velocity,
                      float lr, float momentum, int nesterov, float weight_decay);
int ck_cpu_adam_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *m,
                       ck_tensor *v, float lr, float beta1, float beta2, float eps,
                       float weight_decay, int decoupled, long t);
int ck_cpu_rmsprop_update(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *sq,
                          float lr, float rho, float eps, float weight_decay);
int ck_cpu_scale(ck_backend *be, ck_tensor *t, float a);
int ck_cpu_axpy(ck_backend *be, float a, const ck_tensor *x, ck_tensor *y);
int ck_cpu_sum_squares(ck_backend *be, const ck_tensor *t, double *out);

/* Helpers shared by the kernels (cpu_blas.c). */
/* Row-major C[m,n] = alpha·op(A)·op(B) + beta·C, safe for zero sizes
 * (OpenBLAS rejects ld = 0 and prints through xerbla). */
void ck_cpu_sgemm(ck_backend *be, int trans_a, int trans_b, long m, long n, long k, float alpha,
                  const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);
/* out[j] = beta·out[j] + Σ_i a[i,j] for a row-major [rows, cols]; summed in
 * double, deterministic whatever the thread count. */
void ck_cpu_colsum(ck_backend *be, const float *a, long rows, long cols, float beta, float *out);

/* Loops shorter than this run on one thread: waking the pool costs more. */
#define CK_CPU_PAR_MIN 32768

#endif
