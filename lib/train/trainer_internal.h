/* trainer_internal.h — the training loop's state, shared by trainer*.c. */
#ifndef CK_TRAINER_INTERNAL_H
#define CK_TRAINER_INTERNAL_H

#include "ck/augment.h"
#include "ck/checkpoint.h"
#include "ck/dataset.h"
#include "ck/labels.h"
#include "ck/optim.h"
#include "ck/table.h"
#include "ck/train.h"

typedef struct trainer {
    const ck_train_options *o;
    ck_train_io *io;
    FILE *msg;                 /* NULL when quiet */
    int bar_mode;              /* ck_progress mode */

    /* data */
    ck_manifest *man, *val_man;
    ck_labels *labels;
    ck_dataset *all, *train, *val; /* val may be NULL */
    int ncls, ntrain, nval;
    ck_aug_spec *aug;
    ck_loader *ltrain, *lval;

    /* network */
    ck_backend *be;
    ck_weights *weights;
    ck_model *m;
    ck_optim *opt;
    ck_lr_schedule *sched;
    ck_vgg16_config cfg;
    float *class_w;            /* NULL = none */
    ck_tensor *x;              /* U8 [B,S,S,3] */
    ck_tensor *feat;           /* F32 [B,h,w,c] (cache only) */
    float *feat_host;          /* B × fnumel */
    int32_t *labels_host;      /* B */

    /* frozen-feature cache */
    ck_fcache *cache;          /* NULL = recompute the frozen part every step */
    int views;                 /* augmented views per image in the cache (1 = plain) */
    size_t fnumel;
    double extract_s;          /* time of the extraction pass */

    /* progress of the run (saved in checkpoints) */
    int epoch_done;            /* completed epochs */
    int batch_done;            /* batches completed in the unfinished epoch */
    double run_loss, run_seconds;
    long run_correct, run_seen;
    double best_val;           /* +inf until the first validation */
    int best_epoch, bad_epochs;
    ck_epoch_record *hist;
    int nhist;

    char *last_path;
    char *training_json;
} trainer;

/* trainer_state.c */
char *trainer_state_json(const trainer *t);
int trainer_state_restore(trainer *t, const ck_json *state);
int trainer_save(trainer *t, const char *path);
int trainer_write_curves(trainer *t);

/* trainer_setup.c */
int trainer_setup(trainer *t);
void trainer_teardown(trainer *t);

#endif
