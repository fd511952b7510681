/* ck-eval's text output. */
#include "eval_internal.h"

#include <math.h>
#include <string.h>

static void print_score(FILE *out, const char *what, double v)
{
    if (isnan(v))
        fprintf(out, "%-16s n/a\n", what);
    else
        fprintf(out, "%-16s %.6f\n", what, v);
}

void eval_print_summary(FILE *out, const ck_metrics *m, int top)
{
    double ll = ck_metrics_log_loss(m), tk = ck_metrics_top_k(m, top);
    fprintf(out, "logloss=");
    fprintf(out, isnan(ll) ? "nan" : "%.6f", ll);
    fprintf(out, " accuracy=%.6f top%d=", ck_metrics_accuracy(m), top);
    fprintf(out, isnan(tk) ? "nan" : "%.6f", tk);
    fprintf(out, " rows=%ld\n", ck_metrics_count(m));
}

static const char *name_of(const char *const *names, int k, char *buf, size_t n)
{
    if (names && names[k])
        return names[k];
    snprintf(buf, n, "%d", k);
    return buf;
}

void eval_print_report(FILE *out, const ck_metrics *m, const char *const *names, const char *sub_path,
                       ck_sub_kind kind, double eps, int top)
{
    int n = ck_metrics_nclass(m);
    fprintf(out, "submission:      %s (%ld rows, %s)\n", sub_path, ck_metrics_count(m),
            kind == CK_SUB_PROBS ? "probabilities" : "labels");
    if (kind == CK_SUB_PROBS) {
        char what[40];
        fprintf(out, "%-16s %.6f  (probabilities clipped to [%g, 1-%g], rows renormalised)\n", "log loss:",
                ck_metrics_log_loss(m), eps, eps);
        snprintf(what, sizeof what, "top-%d accuracy:", top);
        fprintf(out, "%-16s %.6f  (%ld/%ld)\n", "accuracy:", ck_metrics_accuracy(m), ck_metrics_correct(m),
                ck_metrics_count(m));
        print_score(out, what, ck_metrics_top_k(m, top));
    } else {
        fprintf(out, "%-16s n/a (label submission)\n", "log loss:");
        fprintf(out, "%-16s %.6f  (%ld/%ld)\n", "accuracy:", ck_metrics_accuracy(m), ck_metrics_correct(m),
                ck_metrics_count(m));
    }

    int w = 8;
    for (int k = 0; names && k < n; k++)
        if (names[k] && (int)strlen(names[k]) + 4 > w)
            w = (int)strlen(names[k]) + 4;
    fprintf(out, "\n%-*s %9s %9s %9s %8s\n", w + 4, "class", "precision", "recall", "f1", "support");
    char buf[24];
    for (int k = 0; k < n; k++) {
        ck_class_scores s = ck_metrics_class(m, k);
        fprintf(out, "%3d %-*s %9.4f %9.4f %9.4f %8ld\n", k, w, names && names[k] ? names[k] : "", s.precision,
                s.recall, s.f1, s.support);
    }
    ck_class_scores mac = ck_metrics_macro(m);
    fprintf(out, "%-*s %9.4f %9.4f %9.4f %8ld\n", w + 4, "macro avg", mac.precision, mac.recall, mac.f1,
            mac.support);

    const long *cm = ck_metrics_confusion(m);
    long big = 1;
    for (int i = 0; i < n * n; i++)
        if (cm[i] > big)
            big = cm[i];
    int cw = 2;
    for (long v = big; v >= 10; v /= 10)
        cw++;
    if (cw < 3)
        cw = 3;
    fprintf(out, "\nconfusion matrix (rows: truth, columns: predicted)\n%*s", 4, "");
    for (int j = 0; j < n; j++)
        fprintf(out, "%*d", cw + 1, j);
    fputc('\n', out);
    for (int i = 0; i < n; i++) {
        fprintf(out, "%3d ", i);
        for (int j = 0; j < n; j++)
            fprintf(out, "%*ld", cw + 1, cm[(size_t)i * (size_t)n + (size_t)j]);
        fprintf(out, "  %s\n", names ? name_of(names, i, buf, sizeof buf) : "");
    }
}
