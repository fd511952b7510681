/* Shared by the tests/train C tests: a tiny synthetic dataset on disk and
 * a random weights file, in a fresh temporary folder. */
#ifndef CK_TRAIN_FIXTURE_H
#define CK_TRAIN_FIXTURE_H

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/image.h"
#include "ck/synth.h"
#include "ck/table.h"
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
