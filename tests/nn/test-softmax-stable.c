/* Log-softmax stays exact for huge logits: (z - max) - log Σ exp(z - max),
 * not z - (max + log Σ), which rounds log Σ away at |max| ~ 3e38 (a head
 * bias of 3e38 gave rows of 0s and two 1s). Probabilities finite, summing
 * to 1; loss and gradients finite. (GPU: tests/cuda/test-backend-ops.c.) */
#include "check.h"

#include "ck/backend.h"
#include "ck/error.h"
#include "ck/ops.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

enum { N = 4, C = 4 };

int main(void)
{
    ck_backend *be = ck_backend_new("cpu", 1);
    if (!be) {
        fprintf(stderr, "%s", ck_error_buffer());
        return 1;
    }
    const float big = 3e38f;
    const float zh[N * C] = {big, big, 0, 0,                    /* tie at the top: 1/2, 1/2 */
                             -big, 1, 2, 3,                      /* ordinary row beside -3e38 */
                             FLT_MAX, FLT_MAX, FLT_MAX, FLT_MAX, /* all equal: 1/4 each */
                             big, big, big, -big};               /* three-way tie: 1/3 */
    const int32_t lab[N] = {0, 3, 2, 1};
    ck_tensor *z = ck_tensor_new_2d(be, CK_F32, N, C), *p = ck_tensor_new_2d(be, CK_F32, N, C);
    ck_tensor *d = ck_tensor_new_2d(be, CK_F32, N, C), *l = ck_tensor_new_1d(be, CK_I32, N);
    CHECK(z && p && d && l);
    CHECK(ck_tensor_upload(z, zh, sizeof zh) == 0 && ck_tensor_upload(l, lab, sizeof lab) == 0);
    float ph[N * C], dh[N * C];
    for (int pass = 0; pass < 2; pass++) {
        float loss = NAN;
        int correct = -1;
        CHECK((pass == 0 ? ck_softmax_forward(be, z, p) : ck_softmax_xent(be, z, l, NULL, 0.1f, p, d, &loss, &correct)) == 0);
        CHECK(ck_tensor_download(p, ph, sizeof ph) == 0);
        for (int i = 0; i < N; i++) {
            double sum = 0;
            for (int j = 0; j < C; j++) {
                CHECK(isfinite(ph[i * C + j]) && ph[i * C + j] >= 0);
                sum += ph[i * C + j];
            }
            CHECK_CLOSE(sum, 1.0, 1e-6, 1e-6);
        }
        CHECK_CLOSE(ph[0], 0.5, 1e-6, 0) ;
        CHECK_CLOSE(ph[1], 0.5, 1e-6, 0);
        CHECK(ph[2] == 0 && ph[4] == 0);
        /* softmax(1, 2, 3) */
        double e = exp(1.0) + exp(2.0) + exp(3.0);
        CHECK_CLOSE(ph[7], exp(3.0) / e, 1e-6, 0);
        for (int j = 0; j < C; j++)
            CHECK_CLOSE(ph[8 + j], 0.25, 1e-6, 0);
        CHECK_CLOSE(ph[12], 1.0 / 3, 1e-6, 0);
        if (pass == 1) {
            CHECK(isfinite(loss));
            /* Row losses with smoothing 0.1 would be infinite where a class
             * has p = 0 (the ε/C term); only finiteness and the ties' exact
             * values matter here: -log p for the labelled class of row 0 is
             * log 2, and dlogits are finite. */
            CHECK(ck_tensor_download(d, dh, sizeof dh) == 0);
            for (int k = 0; k < N * C; k++)
                CHECK(isfinite(dh[k]));
        }
    }
    /* Without smoothing the loss is exact: (log 2 + -log softmax(1,2,3)[2]
     * + log 4 + log 3) / 4. */
    float loss = NAN;
    CHECK(ck_softmax_xent(be, z, l, NULL, 0.0f, p, d, &loss, NULL) == 0);
    double want = (log(2.0) - (3.0 - log(exp(1.0) + exp(2.0) + exp(3.0))) + log(4.0) + log(3.0)) / 4;
    CHECK_CLOSE(loss, want, 1e-6, 0);
    ck_tensor_free(z), ck_tensor_free(p), ck_tensor_free(d), ck_tensor_free(l);
    ck_backend_free(be);
    return check_report("test-softmax-stable");
}
