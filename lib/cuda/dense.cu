/* Dense layers with cuBLAS. cuBLAS is column-major; a row-major [r,c]
 * matrix is the column-major [c,r] matrix, i.e. its transpose, so
 *   y = x·w      (row-major)  <=>  yᵀ = wᵀ·xᵀ  (column-major)
 * and every product below is written in that transposed form. */
#include "cuda_internal.h"

/* Gradients of an empty batch: beta·dw and beta·db. */
static int scale_or_clear(ck_backend *be, ck_tensor *t, float beta)
{
    if (!t || beta == 1.0f)
        return 0;
    return beta == 0.0f ? ck_cuda_fill(be, t, 0.0f) : ck_cuda_scale(be, t, beta);
}

int ck_cuda_dense_forward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *b,
                          ck_tensor *y)
{
    CK_ON_DEVICE(be);
    ck_cuda *c = ck_cu(be);
    int n = x->shape[0], k = w->shape[0], m = w->shape[1];
    if (n == 0 || m == 0)
        return 0;
    if (k == 0)
        return ck_cuda_fill(be, y, 0.0f) != 0
                   ? -1
                   : ck_cu_bias_act(be, (float *)y->data, b ? (const float *)b->data : NULL, (size_t)n, m, 0);
    const float one = 1.0f, zero = 0.0f;
    /* yᵀ[m,n] = wᵀ[m,k] · xᵀ[k,n] */
    CK_BLAS(cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, (const float *)w->data, m,
                        (const float *)x->data, k, &zero, (float *)y->data, m));
    return ck_cu_bias_act(be, (float *)y->data, b ? (const float *)b->data : NULL, (size_t)n, m, 0);
}

int ck_cuda_dense_backward(ck_backend *be, const ck_tensor *x, const ck_tensor *w, const ck_tensor *dy,
                           ck_tensor *dx, ck_tensor *dw, ck_tensor *db, float beta)
{
    CK_ON_DEVICE(be);
    ck_cuda *c = ck_cu(be);
    int n = x->shape[0], k = w->shape[0], m = w->shape[1];
    const float one = 1.0f, zero = 0.0f;
    if (n == 0)
        return scale_or_clear(be, dw, beta) || scale_or_clear(be, db, beta) ? -1 : 0;
    if (dw && k > 0 && m > 0) {
        /* dwᵀ[m,k] = dyᵀ[m,n] · x[n,k]  (x is xᵀ in column-major: transpose it) */
        CK_BLAS(cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, m, k, n, &one, (const float *)dy->data, m,
                            (const float *)x->data, k, &beta, (float *)dw->data, m));
    }
    if (db && m > 0 && ck_cu_colsum(be, (const float *)dy->data, (size_t)n, m, (float *)db->data, beta) != 0)
        return -1;
    if (dx && k > 0) {
        if (m == 0)
            return ck_cuda_fill(be, dx, 0.0f);
        /* dxᵀ[k,n] = w[k,m] · dyᵀ[m,n]  (w is wᵀ in column-major: transpose it) */
        CK_BLAS(cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, k, n, m, &one, (const float *)w->data, m,
                            (const float *)dy->data, m, &zero, (float *)dx->data, k));
    }
    return 0;
}
