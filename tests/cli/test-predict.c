/* ck-predict against the library pipeline: a tiny checkpoint (He-initialised
 * VGG16 at 32×32, no weights file) and synthetic images; the tool's output
 * must be byte-identical to forward passes done here, including the TTA and
 * ensemble means (a flip TTA over a 2-model ensemble: 4 passes averaged),
 * and to the same prediction made through the library call (ck/predict.h),
 * whose missing/unreadable-image and shard rules are checked here too;
 * --format manifest (pseudo-labels) byte for byte from the same passes,
 * and the manifest writer's rules on a hand-made submission.
 *
 *   test-predict                 run the checks
 *   test-predict --fixtures DIR  only write the fixtures (used by
 *                                test-predict.sh): DIR/{a,b,other}.ckpt,
 *                                DIR/test/t_N.png, DIR/sample.csv,
 *                                DIR/truth.tsv, DIR/labels.tsv */
#include "check.h"

#include "ck/backend.h"
#include "ck/checkpoint.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/image.h"
#include "ck/labels.h"
#include "ck/model.h"
#include "ck/predict.h"
#include "ck/augment.h"
#include "ck/submission.h"
#include "ck/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTEST 7
#define SIZE 32
static const char *test_names[NTEST] = {"t_10.png", "t_2.png", "t_1.png", "t_3.png", "t_20.png", "t_4.png",
                                        "t_5.png"};
/* The sample's order: deliberately not sorted. */
static const int sample_order[NTEST] = {4, 0, 2, 1, 3, 6, 5};

static int save_checkpoint(const char *path, int nclass, uint64_t seed, const char *const *names)
{
    ck_backend *be = ck_backend_new("cpu", 1);
    ck_net_config cfg;
    ck_net_config_default(&cfg);
    cfg.input_size = SIZE;
    cfg.num_classes = nclass;
    cfg.hidden[0] = 16;
    cfg.seed = seed;
    ck_model *m = be ? ck_model_new(be, &cfg, 1) : NULL;
    const char *ids[4] = {"0", "1", "2", "3"};
    /* A small output layer keeps the probabilities away from 0 and 1, so
     * that the means below are not all alike. */
    float k[16 * 4];
    if (m && ck_model_param_get(m, "predictions/kernel", k, (size_t)16 * nclass) == 0) {
        for (int i = 0; i < 16 * nclass; i++)
            k[i] *= 1e-3f;
        ck_model_param_set(m, "predictions/kernel", k, (size_t)16 * nclass);
    }
    ck_labels *l = ck_labels_new(nclass, ids, names);
    ck_checkpoint_meta meta = {.labels = l};
    int rc = m && l ? ck_checkpoint_save(path, m, NULL, &meta) : -1;
    ck_labels_free(l);
    ck_model_free(m);
    ck_backend_free(be);
    return rc;
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char *p = ck_path_join(dir, name);
    int rc = ck_atomic_write(p, text, strlen(text));
    free(p);
    return rc;
}

static int make_fixtures(const char *dir, int all)
{
    static const char *names[3] = {"red", "green", "blue"}, *other[3] = {"red", "green", "cyan"};
    char *test = ck_path_join(dir, "test");
    int rc = ck_mkdir_p(test);
    uint8_t rgb[SIZE * SIZE * 3];
    char buf[4096] = "", line[128];
    for (int i = 0; i < NTEST && !rc; i++) {
        char *p = ck_path_join(test, test_names[i]);
        rc = ck_synth_draw(i % 3, 5, (uint64_t)i, SIZE, rgb) || ck_image_save_rgb(p, rgb, SIZE, SIZE, 0);
        free(p);
    }
    for (int i = 0; i < NTEST; i++) {
        snprintf(line, sizeof line, "%s,0.333333,0.333333,0.333334\n", test_names[sample_order[i]]);
        strcat(buf, line);
    }
    rc = rc || write_text(dir, "sample.csv", buf);
    strcpy(buf, "file_name\tlabel_id\n");
    for (int i = 0; i < NTEST; i++) {
        snprintf(line, sizeof line, "%s\t%d\n", test_names[i], i % 3);
        strcat(buf, line);
    }
    rc = rc || write_text(dir, "truth.tsv", buf);
    rc = rc || write_text(dir, "labels.tsv", "label_id\tlabel_name\n0\tred\n1\tgreen\n2\tblue\n");
    char *a = ck_path_join(dir, "a.ckpt"), *b = ck_path_join(dir, "b.ckpt"), *o = ck_path_join(dir, "other.ckpt");
    rc = rc || save_checkpoint(a, 3, 11, names) || save_checkpoint(b, 3, 12, names) ||
         (all && save_checkpoint(o, 3, 13, other));
    free(a);
    free(b);
    free(o);
    free(test);
    return rc;
}

/* Probabilities of every test image (in sample order) for one checkpoint
 * and view, computed here with the library. */
static int forward_all(const char *dir, const char *ckpt, double *orig, double *flip)
{
    char *p = ck_path_join(dir, ckpt);
    ck_checkpoint *c = ck_checkpoint_load(p);
    free(p);
    ck_backend *be = ck_backend_new("cpu", 1);
    ck_model *m = c && be ? ck_checkpoint_build_model(c, be, NULL, NTEST) : NULL;
    ck_tensor *x = be ? ck_tensor_new_4d(be, CK_U8, NTEST, SIZE, SIZE, 3) : NULL;
    static uint8_t rgb[NTEST * SIZE * SIZE * 3], v[NTEST * SIZE * SIZE * 3];
    float probs[NTEST * 3];
    int rc = m && x ? 0 : -1;
    for (int i = 0; i < NTEST && !rc; i++) {
        char name[64];
        snprintf(name, sizeof name, "test/%s", test_names[sample_order[i]]);
        char *ip = ck_path_join(dir, name);
        rc = ck_image_load_rgb_into(ip, SIZE, SIZE, rgb + (size_t)i * SIZE * SIZE * 3);
        free(ip);
    }
    for (int view = 0; view < 2 && !rc; view++) {
        ck_tta_apply(view ? CK_VIEW_FLIP : CK_VIEW_ORIGINAL, rgb, v, NTEST, SIZE);
        rc = ck_tensor_upload(x, v, sizeof v) || ck_model_forward(m, CK_FROM_INPUT, x, probs);
        for (int i = 0; i < NTEST * 3 && !rc; i++)
            (view ? flip : orig)[i] = probs[i];
    }
    ck_tensor_free(x);
    ck_model_free(m);
    ck_backend_free(be);
    ck_checkpoint_free(c);
    return rc;
}

/* Format rows like ck-predict's default output and compare with the file. */
static void expect_output(const char *dir, const char *file, const double *p)
{
    ck_submission *s = ck_submission_new(NTEST, 3, CK_SUB_PROBS);
    for (int i = 0; i < NTEST; i++) {
        ck_submission_set_name(s, i, test_names[sample_order[i]]);
        memcpy(ck_submission_probs(s, i), p + 3 * i, 3 * sizeof *p);
    }
    ck_submission_format f;
    ck_submission_format_init(&f);
    char *want = ck_path_join(dir, "want.csv"), *got = ck_path_join(dir, file);
    CHECK(ck_submission_write(s, want, &f) == 0);
    char *a = ck_read_file(want, NULL), *b = ck_read_file(got, NULL);
    int same = a && b && strcmp(a, b) == 0;
    if (!same && a && b) {
        /* BLAS may sum in another order for another batch row count: the
         * last printed digit can differ, nothing more. */
        ck_submission *g = ck_submission_read(got, 3, NULL);
        same = g && ck_submission_nrows(g) == NTEST;
        for (int i = 0; same && i < NTEST; i++) {
            same = strcmp(ck_submission_name(g, i), test_names[sample_order[i]]) == 0;
            for (int k = 0; same && k < 3; k++)
                same = fabs(ck_submission_probs(g, i)[k] - p[3 * i + k]) <= 2e-6;
        }
        ck_submission_free(g);
    }
    if (!same)
        fprintf(stderr, "%s differs from the library's result:\n--- got ---\n%s--- want ---\n%s", file,
                b ? b : "(none)", a ? a : "(none)");
    CHECK(same);
    free(a);
    free(b);
    free(want);
    free(got);
    ck_submission_free(s);
}

/* The rows of the sample, through the library, with the tool's options
 * "-m a.ckpt -m b.ckpt --tta flip -b 3 --loaders 2"; the same bytes as the
 * tool's ens.csv. */
static void library_matches_tool(const char *dir)
{
    char *models[2] = {ck_path_join(dir, "a.ckpt"), ck_path_join(dir, "b.ckpt")};
    char *paths[NTEST];
    const char *names[NTEST];
    for (int i = 0; i < NTEST; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "test/%s", test_names[sample_order[i]]);
        names[i] = test_names[sample_order[i]];
        paths[i] = ck_path_join(dir, rel);
    }
    ck_view views[CK_MAX_VIEWS];
    ck_predict_options o;
    ck_predict_options_init(&o);
    o.device = "cpu";
    o.threads = 1;
    o.batch = 3;
    o.loaders = 2;
    o.views = views;
    o.nviews = ck_tta_parse("flip", views);
    o.progress = -1;
    ck_predict *p = ck_predict_new((const char *const *)models, 2, &o);
    CHECK(p && ck_predict_num_classes(p) == 3 && strcmp(ck_predict_class_names(p)[2], "blue") == 0);
    ck_submission *s = p ? ck_predict_run(p, names, (const char *const *)paths, NTEST) : NULL;
    CHECK(s != NULL);
    ck_submission_format f;
    ck_submission_format_init(&f);
    char *lib = ck_path_join(dir, "lib.csv"), *tool = ck_path_join(dir, "ens.csv");
    CHECK(s && ck_submission_write(s, lib, &f) == 0);
    char *a = ck_read_file(lib, NULL), *b = ck_read_file(tool, NULL);
    CHECK(a && b && strcmp(a, b) == 0);
    free(a);
    free(b);
    free(lib);
    free(tool);
    ck_submission_free(s);
    ck_predict_free(p);
    for (int i = 0; i < NTEST; i++)
        free(paths[i]);
    free(models[0]);
    free(models[1]);
}

static int warnings;
static char warned[512];
static void note_warning(void *ctx, const char *msg)
{
    (void)ctx;
    warnings++;
    snprintf(warned, sizeof warned, "%s", msg);
}

/* A row without an image (NULL path) and an unreadable image: uniform rows
 * with allow_missing (and a warning naming the file), else an error naming
 * it; rows outside the shard stay 0. */
static void library_missing_rows(const char *dir)
{
    char *model = ck_path_join(dir, "a.ckpt"), *good = ck_path_join(dir, "test/t_1.png");
    char *junk = ck_path_join(dir, "junk.png");
    CHECK(ck_atomic_write(junk, "not a png", 9) == 0);
    const char *names[4] = {"t_1.png", "gone.png", "junk.png", "t_1b.png"};
    const char *paths[4] = {good, NULL, junk, good};
    ck_predict_options o;
    ck_predict_options_init(&o);
    o.device = "cpu";
    o.threads = 1;
    o.progress = -1;
    o.warn = note_warning;
    ck_predict *p = ck_predict_new((const char *const *)&model, 1, &o);
    ck_error_clear();
    CHECK(p && ck_predict_run(p, names, paths, 4) == NULL && strstr(ck_error_buffer(), "junk.png"));
    ck_error_clear();
    ck_predict_free(p);

    o.allow_missing = 1;
    p = ck_predict_new((const char *const *)&model, 1, &o);
    ck_submission *s = p ? ck_predict_run(p, names, paths, 4) : NULL;
    CHECK(s != NULL);
    CHECK(warnings == 1 && strstr(warned, "junk.png"));
    for (int k = 0; s && k < 3; k++) {
        CHECK(ck_submission_probs(s, 1)[k] == 1.0 / 3 && ck_submission_probs(s, 2)[k] == 1.0 / 3);
        CHECK_CLOSE(ck_submission_probs(s, 0)[k], ck_submission_probs(s, 3)[k], 1e-5, 1e-7);
    }
    CHECK(s && ck_submission_probs(s, 0)[0] != 1.0 / 3);
    ck_submission_free(s);
    ck_predict_free(p);

    o.shard = 1;
    o.nshards = 2;
    p = ck_predict_new((const char *const *)&model, 1, &o);
    s = p ? ck_predict_run(p, names, paths, 4) : NULL;
    CHECK(s && ck_submission_probs(s, 0)[0] == 0 && ck_submission_probs(s, 2)[0] == 0);
    CHECK(s && ck_submission_probs(s, 1)[0] == 1.0 / 3 && ck_submission_probs(s, 3)[0] > 0);
    ck_submission_free(s);
    ck_predict_free(p);
    free(model);
    free(good);
    free(junk);
}

static int run(const char *fmt, const char *dir, const char *extra)
{
    const char *bin = getenv("CK_BIN");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, bin ? bin : ".", dir, dir, dir, extra);
    return system(cmd);
}

/* ck_predict_write_manifest on known probabilities: the threshold is
 * inclusive, ties go to the first class, uniform rows and rows without a
 * file are never written, label ids (not indices) are written. */
static void manifest_rules(const char *dir)
{
    static const double p[6][3] = {{0.7, 0.2, 0.1}, {0.25, 0.5, 0.25}, {0.3, 0.3, 0.4},
                                   {1 / 3.0, 1 / 3.0, 1 / 3.0}, {0.1, 0.1, 0.8}, {0.45, 0.45, 0.1}};
    const char *files[6] = {"a.png", "b.png", "c.png", "d.png", NULL, "f.png"};
    const char *ids[3] = {"10", "20", "30"}, *bad[3] = {"10", "2\t0", "30"};
    ck_submission *s = ck_submission_new(6, 3, CK_SUB_PROBS);
    for (int i = 0; i < 6; i++) {
        ck_submission_set_name(s, i, "row");
        memcpy(ck_submission_probs(s, i), p[i], sizeof p[i]);
    }
    char *out = ck_path_join(dir, "pseudo-rules.tsv");
    int passed[3], predicted[3];
    CHECK(ck_predict_write_manifest(s, files, out, ids, 0.5, passed, predicted) == 2);
    char *got = ck_read_file(out, NULL);
    CHECK(got && strcmp(got, "file_name\tlabel_id\na.png\t10\nb.png\t20\n") == 0);
    CHECK(passed[0] == 1 && passed[1] == 1 && passed[2] == 0);
    CHECK(predicted[0] == 2 && predicted[1] == 1 && predicted[2] == 1);
    free(got);
    CHECK(ck_predict_write_manifest(s, files, out, ids, 0, NULL, NULL) == 4);
    got = ck_read_file(out, NULL);
    CHECK(got && strcmp(got, "file_name\tlabel_id\na.png\t10\nb.png\t20\nc.png\t30\nf.png\t10\n") == 0);
    free(got);
    /* Bad input: nothing written, the previous file kept. */
    CHECK(ck_predict_write_manifest(s, files, out, bad, 0.5, NULL, NULL) == -1);
    CHECK(ck_predict_write_manifest(s, files, out, ids, 1.5, NULL, NULL) == -1);
    ck_error_clear();
    got = ck_read_file(out, NULL);
    CHECK(got && strncmp(got, "file_name\tlabel_id\na.png", 24) == 0);
    free(got);
    free(out);
    ck_submission_free(s);
}

/* ck-predict --format manifest --min-prob P from model a: the rows (sample
 * order) whose top probability from the passes done here is >= P, byte for
 * byte. P sits in the widest gap between the rows' top probabilities, so
 * that the last printed digit's leeway cannot move a row across it. */
static void pseudo_manifest(const char *dir, const double *a)
{
    double top[NTEST], sorted[NTEST];
    int arg[NTEST];
    for (int i = 0; i < NTEST; i++) {
        arg[i] = ck_probs_argmax(a + 3 * i, 3);
        top[i] = sorted[i] = a[3 * i + arg[i]];
    }
    for (int i = 1; i < NTEST; i++)
        for (int j = i; j > 0 && sorted[j] < sorted[j - 1]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    int g = 0;
    for (int i = 1; i < NTEST - 1; i++)
        if (sorted[i + 1] - sorted[i] > sorted[g + 1] - sorted[g])
            g = i;
    double P = (sorted[g] + sorted[g + 1]) / 2;
    char want[1024] = "file_name\tlabel_id\n", line[128], extra[512];
    int n = 0;
    for (int i = 0; i < NTEST; i++)
        if (top[i] >= P) {
            snprintf(line, sizeof line, "%s\t%d\n", test_names[sample_order[i]], arg[i]);
            strcat(want, line);
            n++;
        }
    CHECK(n > 0 && n < NTEST);
    snprintf(extra, sizeof extra, "pseudo.tsv -m %s/a.ckpt --format manifest --min-prob %.17g 2>%s/pseudo.err", dir,
             P, dir);
    const char *predict = "%s/ck-predict -j 1 --images %s/test --order %s/sample.csv -o %s/%s";
    CHECK(run(predict, dir, extra) == 0);
    char *path = ck_path_join(dir, "pseudo.tsv"), *epath = ck_path_join(dir, "pseudo.err");
    char *got = ck_read_file(path, NULL), *err = ck_read_file(epath, NULL);
    if (!got || strcmp(got, want) != 0)
        fprintf(stderr, "pseudo.tsv:\n--- got ---\n%s--- want ---\n%s", got ? got : "(none)", want);
    CHECK(got && strcmp(got, want) == 0);
    snprintf(line, sizeof line, ": %d of %d rows with a top probability >= ", n, NTEST);
    CHECK(err && strstr(err, line) && strstr(err, "ck-predict:   0 (red): "));
    free(got);
    free(err);
    free(path);
    free(epath);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--fixtures") == 0) {
        if (make_fixtures(argv[2], 1)) {
            fputs(ck_error_buffer(), stderr);
            return 1;
        }
        return 0;
    }
    char dir[] = "cli-predict-XXXXXX";
    if (!mkdtemp(dir) || make_fixtures(dir, 0)) {
        fputs(ck_error_buffer(), stderr);
        return 1;
    }
    const char *predict = "%s/ck-predict -j 1 --images %s/test --order %s/sample.csv -o %s/%s";
    double a[NTEST * 3], af[NTEST * 3], b[NTEST * 3], bf[NTEST * 3], mean[NTEST * 3];
    CHECK(forward_all(dir, "a.ckpt", a, af) == 0);
    CHECK(forward_all(dir, "b.ckpt", b, bf) == 0);

    /* One model, sample order. */
    char extra[512];
    snprintf(extra, sizeof extra, "one.csv -m %s/a.ckpt", dir);
    CHECK(run(predict, dir, extra) == 0);
    expect_output(dir, "one.csv", a);
    /* Ensemble of two models with TTA: mean over the four (model, view) pairs;
     * a batch of 3 splits the 7 images unevenly. */
    snprintf(extra, sizeof extra, "ens.csv -m %s/a.ckpt -m %s/b.ckpt --tta flip -b 3 --loaders 2", dir, dir);
    CHECK(run(predict, dir, extra) == 0);
    for (int i = 0; i < NTEST * 3; i++)
        mean[i] = (a[i] + af[i] + b[i] + bf[i]) / 4;
    expect_output(dir, "ens.csv", mean);
    library_matches_tool(dir);
    library_missing_rows(dir);
    manifest_rules(dir);
    pseudo_manifest(dir, a);

    if (!check_failures) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return check_report("test-predict");
}
