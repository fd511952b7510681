/* ck/checkpoint.h: save -> load round trip, metadata, building a model for
 * prediction, and the errors: another architecture, corrupt file, not a
 * checkpoint, base weights missing or different. */
#include "check.h"
#include "train_fixture.h"

#include "ck/checkpoint.h"
#include "ck/optim.h"
#include "ck/safetensors.h"
#include "ck/train.h"

#include <math.h>

static fixture fx;

static int has_error(const char *needle)
{
    const char *e = ck_error_buffer();
    int ok = strstr(e, needle) != NULL;
    if (!ok)
        fprintf(stderr, "expected error containing '%s', got: %s\n", needle, e);
    ck_error_clear();
    return ok;
}

static void copy_file(const char *from, const char *to, long truncate_at, long flip_at)
{
    size_t n;
    char *d = ck_read_file(from, &n);
    if (!d)
        return;
    if (truncate_at >= 0 && (size_t)truncate_at < n)
        n = (size_t)truncate_at;
    if (flip_at >= 0 && (size_t)flip_at < n)
        d[flip_at] ^= 0x5a;
    ck_atomic_write(to, d, n);
    free(d);
}

/* Regression (fuzz-checkpoint): numbers of the metadata too large for their
 * integer fields were converted anyway (undefined behaviour; LLONG_MIN and
 * INT_MIN on x86). They read as absent now. */
static void test_huge_numbers(const char *path)
{
    static const char meta[] =
        "{\"format\":\"ck-checkpoint\",\"version\":1,\"classes\":[{\"id\":\"0\",\"name\":\"a\"},"
        "{\"id\":\"1\",\"name\":\"b\"}],\"arch\":{\"name\":\"vgg16\",\"input_size\":32,"
        "\"num_classes\":2,\"pool\":\"flatten\",\"hidden\":[],\"train_blocks\":0},"
        "\"base_weights\":{\"sha256\":\"\",\"size\":1e300,\"path\":\"\",\"origin\":\"none\","
        "\"random_seed\":-1e300},\"state\":{\"epoch\":1e300}}";
    ck_st_writer *sw = ck_st_writer_new();
    CHECK(ck_st_writer_set_metadata(sw, "format", CK_CHECKPOINT_FORMAT) == 0);
    CHECK(ck_st_writer_set_metadata(sw, "version", "1") == 0);
    CHECK(ck_st_writer_set_metadata(sw, "ck", meta) == 0);
    CHECK(ck_st_writer_write(sw, path) == 0);
    ck_st_writer_free(sw);
    ck_checkpoint *c = ck_checkpoint_load(path);
    CHECK(c != NULL);
    CHECK(c && ck_checkpoint_base_size(c) == 0);
    CHECK(c && ck_checkpoint_epoch(c) == 0);
    ck_checkpoint_free(c);
    ck_error_clear();
}

int main(void)
{
    if (fixture_make(&fx, 3, 1, 1) != 0) {
        fprintf(stderr, "fixture: %s", ck_error_buffer());
        return 1;
    }
    ck_backend *be = ck_backend_new("cpu", 1);
    ck_weights *w = ck_weights_load(fx.weights);
    CHECK(be && w);
    ck_net_config cfg;
    ck_train_options o;
    ck_train_options_init(&o);
    ck_train_options_set(&o, "head", "16");
    ck_train_options_set(&o, "unfreeze", "block5");
    ck_train_options_set(&o, "batchnorm", "1");
    ck_train_options_set(&o, "conv-algo", "fp32");
    CHECK(ck_train_model_config(&o, 3, &cfg) == 0);
    CHECK(cfg.train_blocks == 1 && cfg.num_hidden == 1 && cfg.hidden[0] == 16);
    ck_model *m = ck_model_new(be, &cfg, 4);
    CHECK(m && ck_model_load_weights(m, w) == 0);
    ck_optim_config oc;
    ck_optim_config_default(&oc, CK_OPT_ADAM);
    ck_optim *opt = ck_optim_new(m, &oc);
    /* one step so that the optimizer state is not all zeros */
    int S = 32;
    uint8_t *px = calloc((size_t)4 * S * S * 3, 1);
    for (int i = 0; i < 4 * S * S * 3; i++)
        px[i] = (uint8_t)(i * 7);
    ck_tensor *x = ck_tensor_new_4d(be, CK_U8, 4, S, S, 3);
    int32_t lab[4] = {0, 1, 2, 1};
    float loss;
    CHECK(ck_tensor_upload(x, px, (size_t)4 * S * S * 3) == 0);
    CHECK(ck_model_zero_grad(m) == 0 && ck_model_train_step(m, CK_FROM_INPUT, x, lab, 0, &loss, NULL) == 0);
    CHECK(ck_optim_step(opt, 1e-3f) == 0);

    const char *ids[3] = {"0", "1", "2"}, *names[3] = {"cat", "dog", "fish"};
    ck_labels *labels = ck_labels_new(3, ids, names);
    char *path = ck_path_join(fx.dir, "m.ckpt");
    char *opts_json = ck_train_options_to_json(&o);
    ck_checkpoint_meta meta = {.labels = labels, .base = w, .training_json = opts_json,
                               .state_json = "{\"epoch\": 3, \"best_val_loss\": 0.5}"};
    CHECK(ck_checkpoint_save(path, m, opt, &meta) == 0);

    /* round trip */
    ck_checkpoint *c = ck_checkpoint_load(path);
    CHECK(c != NULL);
    if (c) {
        CHECK(ck_checkpoint_num_classes(c) == 3);
        CHECK(!strcmp(ck_checkpoint_class_name(c, 2), "fish") && !strcmp(ck_checkpoint_class_id(c, 1), "1"));
        CHECK(ck_checkpoint_input_size(c) == 32);
        CHECK(!strcmp(ck_checkpoint_preprocessing(c), "caffe"));
        CHECK(ck_checkpoint_epoch(c) == 3);
        CHECK_CLOSE(ck_checkpoint_best_val_loss(c), 0.5, 0, 1e-12);
        CHECK(!strcmp(ck_checkpoint_optimizer(c), "adam") && ck_checkpoint_optimizer_step(c) == 1);
        CHECK(!strcmp(ck_checkpoint_base_sha256(c), ck_weights_sha256(w)));
        CHECK(ck_checkpoint_base_size(c) == ck_weights_file_size(w));
        CHECK(!strcmp(ck_checkpoint_base_origin(c), "random"));
        CHECK(!ck_checkpoint_base_embedded(c));
        const ck_net_config *cc = ck_checkpoint_config(c);
        CHECK(cc->train_blocks == 1 && cc->batchnorm == 1 && cc->hidden[0] == 16 && cc->seed == cfg.seed);
        CHECK(ck_json_size(ck_json_get(ck_checkpoint_metadata(c), "frozen_layers")) == 10);
        ck_train_options o2;
        ck_train_options_init(&o2);
        CHECK(ck_train_options_from_json(&o2, ck_checkpoint_training(c)) == 0);
        CHECK(!strcmp(o2.unfreeze, "block5") && o2.batchnorm == 1);
        ck_train_options_clear(&o2);

        /* model for prediction: same probabilities */
        ck_model *m2 = ck_checkpoint_build_model(c, be, NULL, 4);
        CHECK(m2 != NULL);
        float p1[12], p2[12];
        CHECK(ck_model_forward(m, CK_FROM_INPUT, x, p1) == 0);
        if (m2) {
            CHECK(ck_model_forward(m2, CK_FROM_INPUT, x, p2) == 0);
            CHECK(memcmp(p1, p2, sizeof p1) == 0);
        }
        ck_model_free(m2);

        /* optimizer state restored: step count and every moment tensor */
        ck_optim *opt2 = ck_optim_new(m, &oc);
        CHECK(ck_checkpoint_restore(c, m, opt2) == 0);
        CHECK(ck_optim_steps(opt2) == 1);
        CHECK(ck_optim_state_count(opt2) == ck_optim_state_count(opt) && ck_optim_state_count(opt) > 0);
        size_t nonzero = 0;
        for (int i = 0; i < ck_optim_state_count(opt); i++) {
            const char *name = ck_optim_state_name(opt, i);
            size_t n = ck_tensor_numel(ck_optim_state(opt, i));
            float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
            CHECK(a && b && ck_optim_state_get(opt, name, a, n) == 0 && ck_optim_state_get(opt2, name, b, n) == 0);
            for (size_t k = 0; a && k < n; k++)
                nonzero += a[k] != 0;
            if (a && b && memcmp(a, b, n * sizeof *a) != 0) {
                fprintf(stderr, "optimizer state %s differs after restore\n", name);
                CHECK(0);
            }
            free(a);
            free(b);
        }
        CHECK(nonzero > 0); /* the comparison saw real moments, not fresh zeros */
        ck_optim_free(opt2);

        /* another architecture */
        ck_net_config other = cfg;
        other.hidden[0] = 8;
        ck_model *m3 = ck_model_new(be, &other, 1);
        CHECK(ck_checkpoint_restore(c, m3, NULL) == -1);
        CHECK(has_error("architecture"));
        ck_model_free(m3);

        /* base weights that differ / are missing */
        char *w2 = ck_path_join(fx.dir, "w2.h5");
        copy_file(fx.weights, w2, -1, 5000000);
        CHECK(ck_checkpoint_build_model(c, be, w2, 1) == NULL);
        CHECK(has_error("differ"));
        /* another size: refused before the file is parsed or hashed */
        copy_file(fx.weights, w2, 1000, -1);
        CHECK(ck_checkpoint_build_model(c, be, w2, 1) == NULL);
        CHECK(has_error("was trained with (1000 bytes; expected sha256"));
        CHECK(ck_checkpoint_build_model(c, be, "/nonexistent/w.h5", 1) == NULL);
        CHECK(strstr(ck_error_buffer(), "'/nonexistent/w.h5'") != NULL); /* names the file it looked for */
        CHECK(has_error("not found"));
        free(w2);
        ck_checkpoint_free(c);
    }

    /* moved weights: found relative to the checkpoint's folder? No: the
     * recorded path is absolute here, so "not found" with a recipe. */
    char *moved = ck_path_join(fx.dir, "moved.h5");
    rename(fx.weights, moved);
    c = ck_checkpoint_load(path);
    CHECK(c && ck_checkpoint_build_model(c, be, NULL, 1) == NULL);
    CHECK(has_error("ck-weights random --seed 5"));
    ck_checkpoint_free(c);
    rename(moved, fx.weights);
    free(moved);

    /* corrupt / truncated checkpoint */
    char *bad = ck_path_join(fx.dir, "bad.ckpt");
    copy_file(path, bad, 100, -1);
    CHECK(ck_checkpoint_load(bad) == NULL);
    CHECK(has_error("bad.ckpt"));
    copy_file(path, bad, -1, 20);  /* inside the JSON header */
    CHECK(ck_checkpoint_load(bad) == NULL);
    CHECK(has_error("bad.ckpt"));
    CHECK(ck_checkpoint_load("/nonexistent.ckpt") == NULL);
    CHECK(has_error("nonexistent.ckpt"));

    /* a safetensors file that is not a checkpoint */
    ck_st_writer *sw = ck_st_writer_new();
    float v[2] = {1, 2};
    int64_t shp[1] = {2};
    ck_st_writer_add(sw, "x", CK_ST_F32, 1, shp, v);
    CHECK(ck_st_writer_write(sw, bad) == 0);
    ck_st_writer_free(sw);
    CHECK(ck_checkpoint_load(bad) == NULL);
    CHECK(has_error("not a ck checkpoint"));
    test_huge_numbers(bad);

    /* embedded base: builds without any weights file */
    meta.embed_base = 1;
    CHECK(ck_checkpoint_save(bad, m, NULL, &meta) == 0);
    c = ck_checkpoint_load(bad);
    CHECK(c && ck_checkpoint_base_embedded(c));
    ck_model *m4 = c ? ck_checkpoint_build_model(c, be, "/nonexistent/w.h5", 4) : NULL;
    CHECK(m4 != NULL);
    if (m4) {
        float p1[12], p2[12];
        CHECK(ck_model_forward(m, CK_FROM_INPUT, x, p1) == 0 && ck_model_forward(m4, CK_FROM_INPUT, x, p2) == 0);
        CHECK(memcmp(p1, p2, sizeof p1) == 0);
    }
    ck_model_free(m4);
    ck_checkpoint_free(c);

    /* curves and the "last" name */
    char *lp = ck_train_last_path("out/model.ckpt");
    CHECK(!strcmp(lp, "out/model.last.ckpt"));
    free(lp);
    lp = ck_train_last_path("dir.v2/model");
    CHECK(!strcmp(lp, "dir.v2/model.last"));
    free(lp);
    ck_epoch_record rec[3] = {{1, 1.0, 0.5, 1.1, 0.4, 1e-3, 2}, {2, 0.7, 0.7, 0.8, 0.6, 1e-3, 1},
                              {3, 0.5, 0.8, NAN, NAN, 1e-4, 1}};
    char *csv = ck_path_join(fx.dir, "e.csv"), *svg = ck_path_join(fx.dir, "c.svg");
    CHECK(ck_curves_write_csv(csv, rec, 3) == 0);
    CHECK(ck_curves_write_svg(svg, rec, 3, "t") == 0);
    size_t n;
    char *text = ck_read_file(csv, &n);
    CHECK(text && strstr(text, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n1,1.000000,0.500000,1.100000,0.400000,0.001,2.000\n"));
    CHECK(text && strstr(text, "\n3,0.500000,0.800000,,,0.0001,1.000\n"));
    free(text);
    text = ck_read_file(svg, &n);
    CHECK(text && strstr(text, "<svg") && strstr(text, "Accuracy") && strstr(text, "validation"));
    free(text);
    free(csv);
    free(svg);

    /* options: table, JSON round trip, errors */
    CHECK(ck_train_options_set(&o, "lr", "abc") == -1);
    CHECK(has_error("--lr"));
    CHECK(ck_train_options_set(&o, "no-such", "1") == -1);
    ck_error_clear();
    ck_train_options_set(&o, "schedule", "step:3");
    ck_lr_config lc;
    CHECK(ck_train_lr_config(&o, &lc) == -1);
    CHECK(has_error("step:K:GAMMA"));
    ck_train_options_set(&o, "schedule", "plateau:2:0.5");
    CHECK(ck_train_lr_config(&o, &lc) == 0 && lc.patience == 2 && fabsf(lc.factor - 0.5f) < 1e-7f);
    ck_train_options_set(&o, "unfreeze", "block4,block5");
    CHECK(ck_train_model_config(&o, 3, &cfg) == 0 && cfg.train_blocks == 2);
    ck_train_options_set(&o, "unfreeze", "block3,block5");
    CHECK(ck_train_model_config(&o, 3, &cfg) == -1);
    ck_error_clear();

    free(opts_json);
    free(bad);
    free(path);
    free(px);
    ck_labels_free(labels);
    ck_tensor_free(x);
    ck_optim_free(opt);
    ck_model_free(m);
    ck_weights_free(w);
    ck_backend_free(be);
    ck_train_options_clear(&o);
    fixture_free(&fx);
    return check_report("test-checkpoint");
}
