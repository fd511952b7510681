/* backend_impl.h — what a backend implements (private to lib/nn and lib/cuda).
 *
 * A backend fills a ck_backend_ops table. The public functions in ops.c
 * validate shapes and dtypes and then call these entries, so an
 * implementation may assume its arguments are consistent. Every entry
 * returns 0, or -1 after ck_error(). Naming follows llm.c: the CPU kernel of
 * an operation is ck_cpu_<op>, the CUDA one ck_cuda_<op>.
 */
#ifndef CK_BACKEND_IMPL_H
#define CK_BACKEND_IMPL_H

#include "ck/backend.h"
#include "ck/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ck_tensor {
    ck_backend *be;
    ck_dtype dtype;
    int ndim;
    int shape[CK_MAX_DIMS];
    size_t capacity; /* bytes allocated */
    void *data;      /* backend memory (host for CPU, device for CUDA) */
    /* Content stamp: a new value from one process-wide counter on every
     * write through the public API (tensor.c's upload/fill/copy, every
     * ops.c operation's outputs and updated parameters), so equal
     * (tensor, version) means equal contents and a value is never reused,
     * not even by a later tensor at the same address. Backends key caches
     * of derived data on it (the CPU's Winograd weight transforms). Code
     * writing t->data behind the API's back must call ck_tensor_touch(). */
    uint64_t version;
};

/* Give t a new version (see struct ck_tensor); tensor.c. */
void ck_tensor_touch(ck_tensor *t);

typedef struct ck_backend_ops {
    const char *name;

    /* memory */
    void *(*alloc)(ck_backend *be, size_t nbytes);
    void (*free)(ck_backend *be, void *ptr);
    int (*upload)(ck_backend *be, void *dst, const void *host, size_t nbytes);
    int (*download)(ck_backend *be, void *host, const void *src, size_t nbytes);
    int (*sync)(ck_backend *be);
    void (*destroy)(ck_backend *be); /* frees backend-private state */

    int (*fill)(ck_backend *be, ck_tensor *t, float value);
    int (*copy)(ck_backend *be, ck_tensor *dst, const ck_tensor *src);

    /* layers */
    int (*conv3x3_forward)(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                           const ck_tensor *b, ck_tensor *y, int relu, ck_conv_algo algo);
    int (*conv3x3_backward_data)(ck_backend *be, const ck_tensor *dy, const ck_tensor *w, ck_tensor *dx);
    int (*conv3x3_backward_filter)(ck_backend *be, const ck_tensor *x, const ck_tensor *dy,
                                   ck_tensor *dw, ck_tensor *db, float beta);
    int (*relu_forward)(ck_backend *be, const ck_tensor *x, ck_tensor *y);
    int (*relu_backward)(ck_backend *be, const ck_tensor *y, const ck_tensor *dy, ck_tensor *dx);
    int (*maxpool2_forward)(ck_backend *be, const ck_tensor *x, ck_tensor *y);
    int (*maxpool2_backward)(ck_backend *be, const ck_tensor *x, const ck_tensor *y,
                             const ck_tensor *dy, ck_tensor *dx);
    int (*avgpool_global_forward)(ck_backend *be, const ck_tensor *x, ck_tensor *y);
    int (*avgpool_global_backward)(ck_backend *be, const ck_tensor *dy, ck_tensor *dx);
    int (*dense_forward)(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                         const ck_tensor *b, ck_tensor *y);
    int (*dense_backward)(ck_backend *be, const ck_tensor *x, const ck_tensor *w,
                          const ck_tensor *dy, ck_tensor *dx, ck_tensor *dw, ck_tensor *db, float beta);
    int (*dropout_forward)(ck_backend *be, const ck_tensor *x, ck_tensor *y, ck_tensor *mask,
                           float rate, uint64_t seed, uint32_t step);
    int (*dropout_backward)(ck_backend *be, const ck_tensor *dy, const ck_tensor *mask,
                            ck_tensor *dx, float rate);
    int (*batchnorm_forward)(ck_backend *be, const ck_tensor *x, const ck_tensor *gamma,
                             const ck_tensor *beta_, ck_tensor *running_mean, ck_tensor *running_var,
                             ck_tensor *save_mean, ck_tensor *save_invstd, ck_tensor *y,
                             int training, float momentum, float eps);
    int (*batchnorm_backward)(ck_backend *be, const ck_tensor *x, const ck_tensor *dy,
                              const ck_tensor *gamma, const ck_tensor *save_mean,
                              const ck_tensor *save_invstd, ck_tensor *dx, ck_tensor *dgamma,
                              ck_tensor *dbeta, float beta);
    int (*softmax_forward)(ck_backend *be, const ck_tensor *logits, ck_tensor *probs);
    int (*softmax_xent)(ck_backend *be, const ck_tensor *logits, const ck_tensor *labels,
                        const ck_tensor *class_weights, float smoothing, ck_tensor *probs,
                        ck_tensor *dlogits, float *loss, int *correct);
    int (*preprocess_caffe)(ck_backend *be, const ck_tensor *rgb, const float mean_bgr[3], ck_tensor *out);

    /* optimizers */
    int (*sgd_update)(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *velocity,
                      float lr, float momentum, int nesterov, float weight_decay);
    int (*adam_update)(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *m,
                       ck_tensor *v, float lr, float beta1, float beta2, float eps,
                       float weight_decay, int decoupled, long t);
    int (*rmsprop_update)(ck_backend *be, ck_tensor *param, const ck_tensor *grad, ck_tensor *sq,
                          float lr, float rho, float eps, float weight_decay);

    /* utilities */
    int (*scale)(ck_backend *be, ck_tensor *t, float a);
    int (*axpy)(ck_backend *be, float a, const ck_tensor *x, ck_tensor *y);
    int (*sum_squares)(ck_backend *be, const ck_tensor *t, double *out);
} ck_backend_ops;

struct ck_backend {
    const ck_backend_ops *ops;
    char name[128];
    int threads;
    int is_cpu;
    /* Keeping frozen layers' activations in bf16 pays here (the model asks
     * for it with frozen_algo bf16 or auto): tensor-core GPUs, where the
     * conversions would otherwise cost more memory traffic than the
     * convolutions save. The CPU's bf16 kernel converts internally. */
    int bf16_act;
    void *impl; /* backend-private state */
};

/* Give a buffer another dtype and shape within its capacity (contents
 * undefined afterwards): the model's ping-pong activation buffers hold f32
 * or bf16 layer by layer. -1 with an error when it does not fit. */
int ck_tensor_retype(ck_tensor *t, ck_dtype dt, int ndim, const int *shape);

/* Constructors of the concrete backends. */
ck_backend *ck_cpu_backend_new(int threads);
#ifdef CK_HAVE_CUDA
/* In lib/cuda; device index >= 0. NULL with an error when no device. */
ck_backend *ck_cuda_backend_new(int device, int threads);
int ck_cuda_device_count(void);
#endif

#ifdef __cplusplus
}
#endif
#endif
