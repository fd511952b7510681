/* Pseudo-label manifests: the confident rows of a prediction, in the shape
 * of a training manifest (ck/predict.h). */
#include "ck/predict.h"

#include "ck/error.h"
#include "ck/fs.h"

#include <math.h>
#include <string.h>

int ck_predict_write_manifest(const ck_submission *s, const char *const *file_names, const char *path,
                              const char *const *label_ids, double min_prob, int *passed, int *predicted)
{
    int K = ck_submission_nclass(s);
    if (ck_submission_kind(s) != CK_SUB_PROBS || !label_ids || !(min_prob >= 0 && min_prob <= 1)) {
        ck_error("predict", "%s: a pseudo-label manifest needs probabilities, label ids and a threshold "
                 "in [0,1] (not %g)", path, min_prob);
        return -1;
    }
    for (int k = 0; k < K; k++)
        if (!label_ids[k] || strpbrk(label_ids[k], "\t\n\r")) {
            ck_error("predict", "%s: label id %d is missing or holds a tab or line break", path, k);
            return -1;
        }
    if (passed)
        memset(passed, 0, (size_t)K * sizeof *passed);
    if (predicted)
        memset(predicted, 0, (size_t)K * sizeof *predicted);
    ck_atomic_file *af = ck_atomic_open(path, CK_OUT_SYNC | CK_OUT_STDOUT);
    if (!af)
        return -1;
    FILE *fp = ck_atomic_stream(af);
    fputs("file_name\tlabel_id\n", fp);
    int written = 0;
    for (int i = 0; i < ck_submission_nrows(s); i++) {
        const char *name = file_names ? file_names[i] : ck_submission_name(s, i);
        if (!name)
            continue;
        if (strpbrk(name, "\t\n\r")) {
            ck_error("predict", "%s: file name '%s' holds a tab or line break", path, name);
            ck_atomic_abort(af);
            return -1;
        }
        const double *p = ck_submission_probs_const(s, i);
        int k = ck_probs_argmax(p, K);
        double lo = p[k];
        for (int c = 0; c < K; c++)
            lo = fmin(lo, p[c]);
        if (p[k] == lo) /* no prediction at all */
            continue;
        if (predicted)
            predicted[k]++;
        if (p[k] < min_prob)
            continue;
        fprintf(fp, "%s\t%s\n", name, label_ids[k]);
        written++;
        if (passed)
            passed[k]++;
    }
    return ck_atomic_commit(af) == 0 ? written : -1;
}
