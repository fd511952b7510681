/* ck-finetune --summary: the model as Keras' model.summary() shows it. */
#include "finetune.h"

#include "ck/backend.h"
#include "ck/error.h"
#include "ck/labels.h"
#include "ck/model.h"
#include "ck/table.h"
#include "ck/weights.h"

#include <sys/stat.h>

static ck_labels *summary_labels(const ck_train_options *o)
{
    if (o->labels)
        return ck_labels_read(o->labels);
    if (!o->train) {
        ck_error("ck-finetune", "--summary needs --labels FILE (or --train) for the number of classes");
        return NULL;
    }
    struct stat st;
    ck_manifest *m = stat(o->train, &st) == 0 && S_ISDIR(st.st_mode) ? ck_manifest_from_folders(o->train)
                                                                      : ck_manifest_read(o->train);
    if (!m)
        return NULL;
    ck_labels *l = ck_labels_from_manifest(m);
    ck_manifest_free(m);
    return l;
}

int finetune_summary(const ck_train_options *o, FILE *out)
{
    int rc = -1;
    ck_backend *be = NULL;
    ck_weights *w = NULL;
    ck_model *m = NULL;
    ck_labels *l = summary_labels(o);
    ck_net_config cfg;
    if (!l || ck_train_model_config(o, ck_labels_count(l), &cfg) != 0)
        goto done;
    /* The backbone is the one the weights file holds (VGG16 without one). */
    if (o->weights) {
        if (!(w = ck_weights_load(o->weights)))
            goto done;
        cfg.arch = ck_weights_arch(w);
        cfg.layout = ck_weights_layout(w);
    }
    if (!(be = ck_backend_new("cpu", 1)) || !(m = ck_model_new(be, &cfg, 1)))
        goto done;
    if (w && ck_model_load_weights(m, w) != 0)
        goto done;
    ck_model_summary(m, out);
    rc = 0;
done:
    ck_model_free(m);
    ck_weights_free(w);
    ck_backend_free(be);
    ck_labels_free(l);
    return rc;
}
