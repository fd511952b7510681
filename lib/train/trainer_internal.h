/* trainer_internal.h — the training loop's state, shared by trainer*.c. */
#ifndef CK_TRAINER_INTERNAL_H
#define CK_TRAINER_INTERNAL_H

#include "ck/augment.h"
#include "ck/checkpoint.h"
#include "ck/dataset.h"
#include "ck/labels.h"
#include "ck/multigpu.h"
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
    ck_manifest **extra_man;   /* the 2nd and later --train sets */
    int nextra;
    ck_labels *labels;
    ck_dataset *all, *train, *val; /* val may be NULL */
    int ncls, ntrain, nval;
    int data_rows;             /* rows of --train, and a hash of them, so that */
    char data_hash[17];        /* a resumed run checks they did not change */
    ck_aug_spec *aug;
    ck_loader *ltrain, *lval;

    /* network */
    ck_backend *be;
    ck_weights *weights;
    ck_model *m;
    ck_optim *opt;
    ck_lr_schedule *sched;
    ck_ema *ema;               /* --ema: averages of m's weights; NULL = off */
    ck_ema *swa;               /* --swa-from: running mean of the weights at
                                * the end of swa_n epochs; NULL = off */
    int swa_n;
    ck_net_config cfg;
    float *class_w;            /* NULL = none */
    ck_tensor *x;              /* U8 [B,S,S,3] */
    ck_tensor *feat;           /* F32 [B,h,w,c] (cache only) */
    float *feat_host;          /* B × fnumel */
    int32_t *labels_host;      /* B */
    /* --mixup (on cached features), --cutmix (on images, no cache) */
    float *mix_host;           /* B × fnumel: the mixed batch */
    uint8_t *mix_rgb;          /* B × S·S·3: the mixed images (no cache) */
    int *mix_perm;             /* B: the partner of each row */
    int32_t *labels_b;         /* B: the partner rows' labels */
    float mix_lam;             /* weight of labels_host in the batch on t->feat */
    int mixed;                 /* the batch on t->feat is a mixed one */
    int mb;                    /* batch capacity of m, x and feat: B, or a
                                * replica's shard ceil(B / world) with --gpus */

    /* data parallelism (--gpus; trainer_dp.c). NULL: one backend, one model.
     * Otherwise be, m and opt are replica 0's, which validates, extracts
     * the cached features and is saved. */
    ck_dp *dp;
    ck_optim **dp_opt;         /* per replica; [0] == opt */
    ck_tensor **dp_x;          /* per replica U8 shard input; [0] == x */
    ck_tensor **dp_feat;       /* per replica F32 shard features; [0] == feat */
    ck_tensor **dp_red;        /* per replica F32[8]: cross-node sums and broadcasts */
    int stop_seen;             /* several nodes: the stop request, agreed by all */

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

    char *last_path;           /* NULL for --find-lr (no -o) */
    char *swa_path;            /* --swa-from: where the average goes */
    char *training_json;

    /* --find-lr (lrfind.c): NULL when training */
    ck_lr_find_result *find;
    int find_steps;            /* N */
    double find_avg, find_min; /* running average, least smoothed loss */
    int find_done;             /* a loss was not finite */
} trainer;

/* lrfind.c */
int lrfind_start(trainer *t, ck_lr_find_result *r);
double lrfind_lr(const trainer *t);
/* Record a step's loss; 1 when the test is over. */
int lrfind_record(trainer *t, double lr, double loss);
/* Suggestion, message and plot at the end. */
int lrfind_finish(trainer *t);

/* trainer_state.c */
char *trainer_state_json(const trainer *t);
int trainer_state_restore(trainer *t, const ck_json *state);
int trainer_save(trainer *t, const char *path);
int trainer_save_swa(trainer *t);
int trainer_write_curves(trainer *t);
/* --plot FILE: draw(svg path, data) writes an SVG; FILE.png is rendered
 * from FILE.svg beside it. */
int trainer_plot(const char *plot, int (*draw)(const char *svg, const void *data), const void *data);

/* trainer_dp.c */
int trainer_dp_setup(trainer *t, const ck_optim_config *oc);
int trainer_dp_buffers(trainer *t);
void trainer_dp_teardown(trainer *t);
int trainer_dp_restore(trainer *t, const ck_checkpoint *ck);
void trainer_dp_describe(const trainer *t);
int trainer_dp_multinode(const trainer *t);
/* Forward+backward of a global batch of n samples held on the host (U8
 * pixels or F32 features by `from`), split over the replicas; gradients
 * averaged. *loss, *correct: of the whole global batch (all nodes). */
int trainer_dp_forward_backward(trainer *t, ck_model_start from, const void *host, const int32_t *labels, int n,
                                float *loss, int *correct);
int trainer_dp_optim_step(trainer *t, float lr);
/* Several nodes: every node gets global rank 0's n values. */
int trainer_dp_agree(trainer *t, double *v, int n);
/* 1 when this process writes checkpoints, curves and logs (rank 0). */
int trainer_writes_files(const trainer *t);

/* trainer_setup.c */
int trainer_setup(trainer *t);
void trainer_teardown(trainer *t);

#endif
