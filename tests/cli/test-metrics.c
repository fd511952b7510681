/* ck/metrics.h on hand-computed cases. */
#include "check.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    /* 3 classes, 4 rows:
     *   truth 0, p = .7 .2 .1   -> predicted 0, rank 0, -log .7
     *   truth 1, p = .5 .3 .2   -> predicted 0, rank 1, -log .3
     *   truth 2, p = .1 .1 .8   -> predicted 2, rank 0, -log .8
     *   truth 2, p = .6 .4 0    -> predicted 0, rank 2, -log(1e-15 / (1 + 1e-15)) */
    ck_metrics *m = ck_metrics_new(3);
    CHECK(m != NULL);
    double rows[4][3] = {{.7, .2, .1}, {.5, .3, .2}, {.1, .1, .8}, {.6, .4, 0}};
    int truth[4] = {0, 1, 2, 2};
    for (int i = 0; i < 4; i++)
        CHECK(ck_metrics_add_probs(m, truth[i], rows[i]) == 0);
    double eps = 1e-15;
    double expect = (-log(.7) - log(.3) - log(.8) - log(eps / (1 + eps))) / 4;
    CHECK_CLOSE(ck_metrics_log_loss(m), expect, 1e-12, 0);
    CHECK_CLOSE(ck_metrics_accuracy(m), 0.5, 0, 1e-15);
    CHECK(ck_metrics_correct(m) == 2);
    CHECK_CLOSE(ck_metrics_top_k(m, 1), 0.5, 0, 1e-15);
    CHECK_CLOSE(ck_metrics_top_k(m, 2), 0.75, 0, 1e-15);
    CHECK_CLOSE(ck_metrics_top_k(m, 5), 1.0, 0, 1e-15);
    /* Confusion: truth 0 -> 0; truth 1 -> 0; truth 2 -> 2, 0. */
    const long *cm = ck_metrics_confusion(m);
    long want[9] = {1, 0, 0, 1, 0, 0, 1, 0, 1};
    CHECK(memcmp(cm, want, sizeof want) == 0);
    /* Class 0: precision 1/3, recall 1, F1 0.5; class 1: 0/0/0;
     * class 2: precision 1, recall .5, F1 2/3. */
    ck_class_scores c0 = ck_metrics_class(m, 0), c1 = ck_metrics_class(m, 1), c2 = ck_metrics_class(m, 2);
    CHECK_CLOSE(c0.precision, 1.0 / 3, 1e-12, 0);
    CHECK_CLOSE(c0.recall, 1, 0, 1e-15);
    CHECK_CLOSE(c0.f1, 0.5, 1e-12, 0);
    CHECK(c0.support == 1 && c0.predicted == 3);
    CHECK(c1.precision == 0 && c1.recall == 0 && c1.f1 == 0 && c1.support == 1);
    CHECK_CLOSE(c2.precision, 1, 0, 1e-15);
    CHECK_CLOSE(c2.recall, 0.5, 0, 1e-15);
    CHECK_CLOSE(c2.f1, 2.0 / 3, 1e-12, 0);
    ck_class_scores mac = ck_metrics_macro(m);
    CHECK_CLOSE(mac.f1, (0.5 + 0 + 2.0 / 3) / 3, 1e-12, 0);
    CHECK_CLOSE(mac.precision, (1.0 / 3 + 0 + 1) / 3, 1e-12, 0);

    /* Rows that do not sum to 1 are renormalised before the log. */
    ck_metrics *r = ck_metrics_new(2);
    double un[2] = {0.2, 0.6};
    CHECK(ck_metrics_add_probs(r, 1, un) == 0);
    CHECK_CLOSE(ck_metrics_log_loss(r), -log(0.75), 1e-12, 0);
    /* Ties: the lower label id ranks first (numpy.argmax). */
    double tie[2] = {0.5, 0.5};
    CHECK(ck_metrics_add_probs(r, 1, tie) == 0);
    CHECK_CLOSE(ck_metrics_top_k(r, 1), 0.5, 0, 1e-15);
    CHECK(ck_metrics_confusion(r)[2] == 1); /* truth 1 predicted 0 */
    /* Label rows: accuracy yes, log loss no. */
    ck_metrics *l = ck_metrics_new(4);
    CHECK(ck_metrics_add_label(l, 3, 3) == 0);
    CHECK(ck_metrics_add_label(l, 2, 1) == 0);
    CHECK(isnan(ck_metrics_log_loss(l)));
    CHECK(isnan(ck_metrics_top_k(l, 5)));
    CHECK_CLOSE(ck_metrics_accuracy(l), 0.5, 0, 1e-15);
    CHECK(ck_metrics_add_label(l, 4, 0) == -1);
    CHECK(strstr(ck_error_buffer(), "out of range") != NULL);
    ck_error_clear();

    /* Confusion files. */
    char dir[] = "cli-metrics-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *csv = ck_path_join(dir, "cm.csv"), *svg = ck_path_join(dir, "cm.svg");
    const char *names[3] = {"cat", "dog, big", "eel"};
    CHECK(ck_metrics_write_confusion_csv(m, names, csv) == 0);
    char *text = ck_read_file(csv, NULL);
    CHECK(text && strcmp(text, "truth\\predicted,cat,\"dog, big\",eel\n"
                               "cat,1,0,0\n\"dog, big\",1,0,0\neel,1,0,1\n") == 0);
    free(text);
    CHECK(ck_metrics_write_confusion_svg(m, names, svg) == 0);
    text = ck_read_file(svg, NULL);
    CHECK(text && strncmp(text, "<svg", 4) == 0 && strstr(text, "</svg>") && strstr(text, ">eel</text>"));
    free(text);
    unlink(csv);
    unlink(svg);
    rmdir(dir);
    free(csv);
    free(svg);

    ck_metrics_free(m);
    ck_metrics_free(r);
    ck_metrics_free(l);
    ck_metrics_free(NULL);
    return check_report("test-metrics");
}
