/* Setting up a training run: data, split, network, optimizer, cache. */
#include "trainer_internal.h"
#include "ck/error.h"
#include "ck/strmap.h"
#include "ck/fs.h"
#include "ck/json.h"
#include "ck/split.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Problems that do not stop training but make its result mean less. On
 * io->msg even with -q: they are not progress. */
static void warn(const trainer *t, const char *fmt, ...) CK_PRINTF(2, 3);
static void warn(const trainer *t, const char *fmt, ...)
{
    if (!t->io || !t->io->msg)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("warning: ", t->io->msg);
    vfprintf(t->io->msg, fmt, ap);
    fputc('\n', t->io->msg);
    va_end(ap);
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Rows and a hash of the training list (file, label per row; FNV-1a, 64
 * bits: it detects change, nothing adversarial), recorded in checkpoints: a
 * resumed run on other data would silently train on a different set. */
static uint64_t hash_manifest(uint64_t h, const ck_manifest *m)
{
    for (int i = 0; i < ck_manifest_count(m); i++) {
        const char *f = ck_manifest_file(m, i), *l = ck_manifest_label(m, i);
        h = ck_fnv1a64(h, f, strlen(f) + 1);
        h = ck_fnv1a64(h, l ? l : "", l ? strlen(l) + 1 : 1);
    }
    return h;
}

static void hash_rows(trainer *t)
{
    uint64_t h = hash_manifest(CK_FNV1A64_INIT, t->man);
    t->data_rows = ck_manifest_count(t->man);
    for (int k = 0; k < t->nextra; k++) {
        h = hash_manifest(h, t->extra_man[k]);
        t->data_rows += ck_manifest_count(t->extra_man[k]);
    }
    snprintf(t->data_hash, sizeof t->data_hash, "%016llx", (unsigned long long)h);
}

/* Degenerate data: one class with images is an error (nothing to learn);
 * classes without training images, a validation set that is the training
 * set, and skipped folder entries are warnings. */
static int check_data(trainer *t)
{
    const ck_train_options *o = t->o;
    const char *skipped;
    int nskip = ck_manifest_skipped(t->man, &skipped);
    if (nskip)
        warn(t, "%s: skipped %d entr%s that %s not a regular file (first: %s)", o->train, nskip,
             nskip == 1 ? "y" : "ies", nskip == 1 ? "is" : "are", skipped);
    int *all = calloc((size_t)t->ncls, sizeof *all), *tr = calloc((size_t)t->ncls, sizeof *tr);
    if (!all || !tr) {
        free(all);
        free(tr);
        ck_error("train", "out of memory");
        return -1;
    }
    ck_dataset_class_counts(t->all, t->ncls, all);
    ck_dataset_class_counts(t->train, t->ncls, tr);
    int present = 0, first = -1, empty = 0;
    for (int k = 0; k < t->ncls; k++)
        if (all[k] && !present++)
            first = k;
    int rc = 0;
    if (present < 2) {
        ck_error("train", "%s: every image is in class '%s' but %s has %d classes: a classifier needs images of "
                 "at least 2 classes", o->train, first >= 0 ? ck_labels_name(t->labels, first) : "?",
                 o->labels ? o->labels : "the label list", t->ncls);
        rc = -1;
    }
    for (int k = 0; rc == 0 && k < t->ncls; k++)
        if (!tr[k] && empty++ < 10)
            warn(t, "class '%s' (id %s) has no training images: the model will never predict it",
                 ck_labels_name(t->labels, k), ck_labels_id(t->labels, k));
    if (rc == 0 && empty > 10)
        warn(t, "%d classes of %d have no training images", empty, t->ncls);
    free(all);
    free(tr);
    if (rc == 0 && o->val_manifest && (same_file(o->val_manifest, o->train) || !strcmp(o->val_manifest, o->train)))
        warn(t, "--val-manifest %s is the training manifest: validation measures fit to the training images, "
             "and the best checkpoint and early stopping choose by it", o->val_manifest);
    return rc;
}

static int utf8(const char *s)
{
    return !s || ck_utf8_valid(s, strlen(s));
}

/* Class names go into the checkpoint's JSON metadata: refuse what JSON
 * cannot hold now, not at the first checkpoint after an epoch. */
static int check_class_names(trainer *t)
{
    const ck_train_options *o = t->o;
    for (int k = 0; k < t->ncls; k++) {
        const char *id = ck_labels_id(t->labels, k), *name = ck_labels_name(t->labels, k);
        if (utf8(id) && utf8(name))
            continue;
        int line = 0;
        if (o->labels) {
            size_t n;
            char *text = ck_read_file(o->labels, &n);
            int at = 1;
            for (char *p = text, *nl; !line && p && p < text + n; p = nl + 1, at++) {
                nl = memchr(p, '\n', (size_t)(text + n - p));
                nl = nl ? nl : text + n;
                if (!ck_utf8_valid(p, (size_t)(nl - p)))
                    line = at;
            }
            free(text);
        } else {
            for (int i = 0; !line && i < ck_manifest_count(t->man); i++)
                if (!strcmp(ck_manifest_label(t->man, i), id))
                    line = ck_manifest_line(t->man, i);
        }
        ck_error("train", "%s:%d: class name is not valid UTF-8 (checkpoints store names as UTF-8; convert the "
                 "file, e.g. with iconv)", o->labels ? o->labels : o->train, line);
        return -1;
    }
    return 0;
}

/* A training set: a manifest (images relative to *images) or a folder per
 * class (then *images is the folder). */
static ck_manifest *read_set(const char *train, const char **images)
{
    ck_manifest *m = is_dir(train) ? ck_manifest_from_folders(train) : ck_manifest_read(train);
    if (is_dir(train))
        *images = train;
    if (m && ck_manifest_count(m) == 0) {
        ck_error("train", "%s: no images listed", train);
        ck_manifest_free(m);
        return NULL;
    }
    return m;
}

/* The 2nd and later --train sets appended to t->all (training rows only). */
static int add_extra_sets(trainer *t)
{
    const ck_train_options *o = t->o;
    t->nextra = ck_train_extra_count(o->extra_train);
    if (t->nextra && !(t->extra_man = calloc((size_t)t->nextra, sizeof *t->extra_man))) {
        ck_error("train", "out of memory");
        return -1;
    }
    for (int k = 0; k < t->nextra; k++) {
        char *tr = ck_train_extra_at(o->extra_train, k), *im = ck_train_extra_at(o->extra_images, k);
        const char *images = im;
        ck_dataset *ds = NULL, *all = NULL;
        if (tr && im && (t->extra_man[k] = read_set(tr, &images)) &&
            (ds = ck_dataset_from_manifest(t->extra_man[k], images, t->labels)) &&
            (all = ck_dataset_concat(t->all, ds))) {
            ck_dataset_free(t->all);
            t->all = all;
            if (t->msg)
                fprintf(t->msg, "Training set %d: %s, %d rows (training only, never validation)\n", k + 2, tr,
                        ck_dataset_count(ds));
        }
        ck_dataset_free(ds);
        free(tr);
        free(im);
        if (!all)
            return -1;
    }
    return 0;
}

/* Training rows and validation rows (holdout, k-fold, a separate manifest
 * or none) of the first --train set; the later sets only train. */
static int setup_data(trainer *t)
{
    const ck_train_options *o = t->o;
    const char *images = o->images;
    if (!o->train) {
        ck_error("train", "no training data (--train MANIFEST or --train DIR/)");
        return -1;
    }
    if (!(t->man = read_set(o->train, &images)))
        return -1;
    t->labels = o->labels ? ck_labels_read(o->labels) : ck_labels_from_manifest(t->man);
    if (!t->labels)
        return -1;
    t->ncls = ck_labels_count(t->labels);
    if (t->ncls < 2) {
        ck_error("train", "%s: need at least 2 classes, found %d", o->labels ? o->labels : o->train, t->ncls);
        return -1;
    }
    if (check_class_names(t) != 0)
        return -1;
    t->all = ck_dataset_from_manifest(t->man, images, t->labels);
    if (!t->all)
        return -1;
    int n1 = ck_dataset_count(t->all); /* rows a split may take */
    if (add_extra_sets(t) != 0)
        return -1;
    int n = ck_dataset_count(t->all);
    int *cls = malloc(sizeof *cls * (size_t)n);
    int *tr = malloc(sizeof *tr * (size_t)n);
    int *va = malloc(sizeof *va * (size_t)n);
    unsigned char *is_val = calloc((size_t)n, 1);
    int rc = -1;
    if (!cls || !tr || !va || !is_val) {
        ck_error("train", "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++)
        cls[i] = ck_dataset_class(t->all, i);
    if (o->val_manifest) {
        t->val_man = ck_manifest_read(o->val_manifest);
        if (!t->val_man || !(t->val = ck_dataset_from_manifest(t->val_man, o->images, t->labels)))
            goto done;
    } else if (o->folds >= 2) {
        int *fold_of = malloc(sizeof *fold_of * (size_t)n);
        if (!fold_of || ck_split_kfold(cls, n1, o->folds, (uint64_t)o->seed, fold_of) != 0) {
            free(fold_of);
            goto done;
        }
        for (int i = 0; i < n1; i++)
            is_val[i] = fold_of[i] == o->fold;
        free(fold_of);
    } else if (o->val > 0) {
        if (ck_split_holdout(cls, n1, o->val, (uint64_t)o->seed, is_val) != 0)
            goto done;
    }
    int ntr = 0, nva = 0;
    for (int i = 0; i < n; i++) {
        if (is_val[i])
            va[nva++] = i;
        else
            tr[ntr++] = i;
    }
    if (ntr == 0) {
        ck_error("train", "%s: no training rows left after the validation split", o->train);
        goto done;
    }
    if (!(t->train = ck_dataset_subset(t->all, tr, ntr)))
        goto done;
    if (nva > 0 && !(t->val = ck_dataset_subset(t->all, va, nva)))
        goto done;
    t->ntrain = ntr;
    t->nval = t->val ? ck_dataset_count(t->val) : 0;
    hash_rows(t);
    rc = check_data(t);
done:
    free(cls);
    free(tr);
    free(va);
    free(is_val);
    return rc;
}

static int setup_class_weights(trainer *t)
{
    if (strcmp(t->o->class_weight, "auto") != 0)
        return 0;
    int *counts = calloc((size_t)t->ncls, sizeof *counts);
    t->class_w = malloc(sizeof *t->class_w * (size_t)t->ncls);
    if (!counts || !t->class_w) {
        free(counts);
        ck_error("train", "out of memory");
        return -1;
    }
    ck_dataset_class_counts(t->train, t->ncls, counts);
    /* sklearn's "balanced": N / (C · n_c); a class absent from the training
     * rows gets 1 (it never appears as a target anyway). */
    for (int k = 0; k < t->ncls; k++)
        t->class_w[k] = counts[k] ? (float)((double)t->ntrain / ((double)t->ncls * counts[k])) : 1.0f;
    free(counts);
    return 0;
}

/* The base weights decide the backbone (recognised from the file). */
static int load_base(trainer *t)
{
    if (!(t->weights = ck_weights_load(t->o->weights)))
        return -1;
    t->cfg.arch = ck_weights_arch(t->weights);
    t->cfg.layout = ck_weights_layout(t->weights);
    return 0;
}

/* --gpus: one replica per device (trainer_dp.c); m, be and opt are
 * replica 0's and hold a shard of the batch (t->mb samples). */
static int setup_network_dp(trainer *t)
{
    const ck_train_options *o = t->o;
    if (!o->weights) {
        ck_error("train", "no base weights (--weights FILE)");
        return -1;
    }
    ck_optim_config oc;
    ck_lr_config lc;
    if (load_base(t) != 0 || ck_train_optim_config(o, &oc) != 0 ||
        ck_train_lr_config(o, &lc) != 0 || trainer_dp_setup(t, &oc) != 0)
        return -1;
    if (!(t->sched = ck_lr_new(&lc)))
        return -1;
    int S = t->cfg.input_size;
    t->x = ck_tensor_new_4d(t->be, CK_U8, t->mb, S, S, 3);
    t->labels_host = malloc(sizeof *t->labels_host * (size_t)o->batch);
    if (!t->x || !t->labels_host)
        return -1;
    return 0;
}

static int setup_network(trainer *t)
{
    const ck_train_options *o = t->o;
    if (ck_train_model_config(o, t->ncls, &t->cfg) != 0)
        return -1;
    if (o->gpus && *o->gpus)
        return setup_network_dp(t);
    t->mb = o->batch;
    t->be = ck_backend_new(o->device, o->threads);
    if (!t->be)
        return -1;
    if (!o->weights) {
        ck_error("train", "no base weights (--weights FILE; 'make -C pretrained' fetches the "
                 "official file, 'ck-weights random' makes a test file)");
        return -1;
    }
    if (load_base(t) != 0)
        return -1;
    t->m = ck_model_new(t->be, &t->cfg, o->batch);
    if (!t->m || ck_model_load_weights(t->m, t->weights) != 0)
        return -1;
    if (ck_model_set_loss(t->m, (float)o->label_smoothing, t->class_w) != 0)
        return -1;
    ck_optim_config oc;
    ck_lr_config lc;
    if (ck_train_optim_config(o, &oc) != 0 || ck_train_lr_config(o, &lc) != 0)
        return -1;
    t->opt = ck_optim_new(t->m, &oc);
    t->sched = ck_lr_new(&lc);
    if (!t->opt || !t->sched)
        return -1;
    int S = t->cfg.input_size;
    t->x = ck_tensor_new_4d(t->be, CK_U8, o->batch, S, S, 3);
    t->labels_host = malloc(sizeof *t->labels_host * (size_t)o->batch);
    if (!t->x || !t->labels_host)
        return -1;
    return 0;
}

static int setup_loaders(trainer *t)
{
    const ck_train_options *o = t->o;
    if (o->aug && *o->aug) {
        t->aug = ck_aug_spec_parse(o->aug);
        if (!t->aug)
            return -1;
        if (ck_aug_spec_is_identity(t->aug)) {
            ck_aug_spec_free(t->aug);
            t->aug = NULL;
        }
    }
    ck_loader_config lc = {
        .size = t->cfg.input_size,
        .batch = o->batch,
        .threads = o->loader_threads > 0 ? o->loader_threads : ck_backend_loader_threads(t->be, 2),
        .aug = t->aug,
        .seed = (uint64_t)o->seed,
    };
    t->ltrain = ck_loader_new(t->train, &lc);
    if (!t->ltrain)
        return -1;
    if (t->val) {
        lc.aug = NULL;
        t->lval = ck_loader_new(t->val, &lc);
        if (!t->lval)
            return -1;
    }
    return 0;
}

/* The frozen part sees identical inputs every epoch when there is no
 * augmentation, or with --aug-views K (K fixed augmented views per image):
 * then its activations are computed once and kept. */
static int setup_cache(trainer *t)
{
    const ck_train_options *o = t->o;
    ck_cache_kind kind;
    char *path = NULL;
    if (ck_cache_parse(o->cache, &kind, &path) != 0)
        return -1;
    int cacheable = (!t->aug || o->aug_views > 0) && !(o->cutmix > 0);
    if (kind == CK_CACHE_NONE || !cacheable || t->cfg.train_blocks >= 5) {
        if (kind != CK_CACHE_NONE && o->cutmix > 0 && t->msg)
            fprintf(t->msg, "Note: no feature cache: --cutmix pastes a box of another image into the inputs "
                            "every step\n");
        else if (kind != CK_CACHE_NONE && !cacheable && t->msg)
            fprintf(t->msg, "Note: no feature cache: --aug changes the inputs every epoch "
                            "(use --aug-views K to cache K fixed augmented views)\n");
        free(path);
        return 0;
    }
    t->views = t->aug ? o->aug_views : 1;
    t->fnumel = ck_model_feature_numel(t->m);
    long slots = (long)t->ntrain * t->views + t->nval;
    double bytes = (double)slots * (double)t->fnumel * (o->cache_fp16 ? 2 : 4);
    if (kind == CK_CACHE_MEMORY) {
        /* Beyond half the machine's memory the cache would crowd out
         * everything else: recompute instead, and say how to cache. */
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        double ram = pages > 0 && psize > 0 ? (double)pages * (double)psize : 0;
        if (ram > 0 && bytes > 0.5 * ram) {
            if (t->msg)
                fprintf(t->msg, "Note: no feature cache: %.0f MB would not fit in memory "
                                "(try --cache-fp16 or --cache disk:PATH)\n", bytes / 1e6);
            free(path);
            return 0;
        }
    }
    t->cache = ck_fcache_new(kind, path, slots, t->fnumel, o->cache_fp16);
    free(path);
    if (!t->cache)
        return -1;
    int shape[4] = {t->mb, 0, 0, 0};
    int fs[3];
    ck_model_feature_shape(t->m, fs);
    shape[1] = fs[0];
    shape[2] = fs[1];
    shape[3] = fs[2];
    t->feat = ck_tensor_new(t->be, CK_F32, 4, shape);
    t->feat_host = malloc(sizeof *t->feat_host * t->fnumel * (size_t)o->batch);
    if (!t->feat || !t->feat_host) {
        ck_error("train", "out of memory");
        return -1;
    }
    return 0;
}

int trainer_setup(trainer *t)
{
    if (setup_data(t) != 0 || setup_class_weights(t) != 0 || setup_network(t) != 0 ||
        setup_loaders(t) != 0 || setup_cache(t) != 0 || trainer_dp_buffers(t) != 0)
        return -1;
    if (t->o->mixup > 0 || t->o->cutmix > 0) {
        size_t B = (size_t)t->o->batch, S = (size_t)t->cfg.input_size;
        if (t->dp || (!t->cache && !(t->o->cutmix > 0))) {
            ck_error("train", "--mixup mixes the cached frozen features (manifold mixup): it needs the feature "
                     "cache (not --cache none, nor --aug without --aug-views) and one device (no --gpus; "
                     "nor does --cutmix run with --gpus)");
            return -1;
        }
        if (t->cache)
            t->mix_host = malloc(sizeof *t->mix_host * t->fnumel * B);
        else
            t->mix_rgb = malloc(B * S * S * 3);
        t->mix_perm = malloc(sizeof *t->mix_perm * B);
        t->labels_b = malloc(sizeof *t->labels_b * B);
        if (!(t->mix_host || t->mix_rgb) || !t->mix_perm || !t->labels_b) {
            ck_error("train", "out of memory");
            return -1;
        }
    }
    /* Of replica 0's weights: every replica holds the same after a step. */
    if (t->o->ema > 0 && !(t->ema = ck_ema_new(t->m, (float)t->o->ema)))
        return -1;
    /* The decay is given at each epoch's ck_ema_accumulate. */
    if (t->o->swa_from > 0 && (!(t->swa = ck_ema_new(t->m, 0.5f)) || !(t->swa_path = ck_train_swa_path(t->o->out))))
        return -1;
    t->best_val = INFINITY;
    t->last_path = t->o->out ? ck_train_last_path(t->o->out) : NULL;
    t->training_json = ck_train_options_to_json(t->o);
    if ((t->o->out && !t->last_path) || !t->training_json)
        return -1;
    return 0;
}

void trainer_teardown(trainer *t)
{
    ck_loader_free(t->ltrain);
    ck_loader_free(t->lval);
    ck_fcache_free(t->cache);
    ck_aug_spec_free(t->aug);
    ck_tensor_free(t->x);
    ck_tensor_free(t->feat);
    free(t->feat_host);
    free(t->labels_host);
    free(t->mix_host);
    free(t->mix_rgb);
    free(t->mix_perm);
    free(t->labels_b);
    free(t->class_w);
    ck_lr_free(t->sched);
    ck_ema_free(t->ema);
    ck_ema_free(t->swa);
    free(t->swa_path);
    trainer_dp_teardown(t); /* replicas own be, m and opt then */
    ck_optim_free(t->opt);
    ck_model_free(t->m);
    ck_weights_free(t->weights);
    ck_backend_free(t->be);
    ck_dataset_free(t->train);
    ck_dataset_free(t->val);
    ck_dataset_free(t->all);
    ck_labels_free(t->labels);
    ck_manifest_free(t->man);
    ck_manifest_free(t->val_man);
    for (int k = 0; k < t->nextra && t->extra_man; k++)
        ck_manifest_free(t->extra_man[k]);
    free(t->extra_man);
    free(t->hist);
    free(t->last_path);
    free(t->training_json);
}
