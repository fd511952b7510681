/* Shared by the tests/train C tests: a tiny synthetic dataset on disk and
 * a random weights file, in a fresh temporary folder. */
#ifndef CK_TRAIN_FIXTURE_H
#define CK_TRAIN_FIXTURE_H

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/image.h"
#include "ck/synth.h"
#include "ck/table.h"
#include "ck/train.h"
#include "ck/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fixture {
    char dir[256];
    char images[300], manifest[300], labels[300], weights[300];
} fixture;

static inline int fixture_make(fixture *fx, int nclasses, int per_class, int with_weights)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(fx->dir, sizeof fx->dir, "%s/ck-train-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->images, sizeof fx->images, "%s/img", fx->dir);
    snprintf(fx->manifest, sizeof fx->manifest, "%s/train.tsv", fx->dir);
    snprintf(fx->labels, sizeof fx->labels, "%s/labels.tsv", fx->dir);
    snprintf(fx->weights, sizeof fx->weights, "%s/w.h5", fx->dir);
    if (ck_mkdir_p(fx->images) != 0)
        return -1;
    ck_manifest *m = ck_manifest_new();
    uint8_t rgb[32 * 32 * 3];
    int n = nclasses * per_class;
    for (int i = 0; i < n; i++) {
        int cls = i % nclasses;
        char name[64], path[400], lab[16];
        snprintf(name, sizeof name, "im_%03d.png", i);
        snprintf(path, sizeof path, "%s/%s", fx->images, name);
        snprintf(lab, sizeof lab, "%d", cls);
        if (ck_synth_draw(cls, 11, (uint64_t)i, 32, rgb) != 0 || ck_image_save_rgb(path, rgb, 32, 32, 0) != 0 ||
            ck_manifest_add(m, name, lab) != 0) {
            ck_manifest_free(m);
            return -1;
        }
    }
    int rc = ck_manifest_save(m, fx->manifest);
    ck_manifest_free(m);
    FILE *f = fopen(fx->labels, "w");
    if (rc != 0 || !f)
        return -1;
    fprintf(f, "label_id\tlabel_name\n");
    for (int k = 0; k < nclasses; k++) {
        char nm[64];
        ck_synth_class_name(k, nm, sizeof nm);
        fprintf(f, "%d\t%s\n", k, nm);
    }
    fclose(f);
    if (with_weights && ck_weights_write_random_h5(fx->weights, 5, 0) != 0)
        return -1;
    return 0;
}

/* Training options on the fixture: its data and weights, output `out`,
 * batches of 8, a head of 32, one thread, quiet, the reference fp32 conv
 * (the cheapest under ASan); the caller sets the rest. */
static inline void fixture_options(const fixture *fx, ck_train_options *o, const char *out)
{
    ck_train_options_init(o);
    ck_train_options_set(o, "weights", fx->weights);
    ck_train_options_set(o, "train", fx->manifest);
    ck_train_options_set(o, "images", fx->images);
    ck_train_options_set(o, "labels", fx->labels);
    ck_train_options_set(o, "output", out);
    ck_train_options_set(o, "batch", "8");
    ck_train_options_set(o, "threads", "1");
    ck_train_options_set(o, "head", "32");
    ck_train_options_set(o, "progress", "-1");
    ck_train_options_set(o, "conv-algo", "fp32");
}

/* ck_train_run quietly; a failure's message goes to stderr. */
static inline int fixture_run(const ck_train_options *o, const ck_checkpoint *resume, volatile sig_atomic_t *stop)
{
    ck_train_io io = {.msg = NULL, .stop = stop, .resume = resume};
    int rc = ck_train_run(o, &io);
    free(io.summary);
    if (rc < 0)
        fprintf(stderr, "%s", ck_error_buffer());
    ck_error_clear();
    return rc;
}

/* Resume from `ckpt` with the checkpoint's own options, to `epochs`. */
static inline int fixture_resume(const char *ckpt, int epochs, int lthreads)
{
    ck_checkpoint *c = ck_checkpoint_load(ckpt);
    if (!c)
        return -1;
    ck_train_options o;
    ck_train_options_init(&o);
    char buf[32];
    int rc = ck_train_options_from_json(&o, ck_checkpoint_training(c));
    snprintf(buf, sizeof buf, "%d", epochs);
    ck_train_options_set(&o, "epochs", buf);
    snprintf(buf, sizeof buf, "%d", lthreads);
    ck_train_options_set(&o, "loader-threads", buf);
    if (rc == 0)
        rc = fixture_run(&o, c, NULL);
    ck_train_options_clear(&o);
    ck_checkpoint_free(c);
    return rc;
}

static inline void fixture_free(fixture *fx)
{
    char cmd[400];
    if (!getenv("CK_KEEP_TMP")) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", fx->dir);
    }
}

#endif
