/* ck_train_options: one table of options shared by the command line, the
 * checkpoint's "training" metadata and --resume. */
#include "ck/train.h"
#include "ck/image.h"
#include "ck/augment.h"
#include "ck/backend.h"
#include "ck/dataset.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/json.h"
#include "ck/rng.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef enum opt_type { T_STR, T_INT, T_DBL, T_FLAG, T_I64 } opt_type;

typedef struct opt_def {
    const char *name;
    opt_type type;
    size_t off;
    const char *def;   /* default as text (NULL: unset string) */
    int resumable;     /* may differ on --resume: does not change the numbers;
                        * 2: run placement, not saved in checkpoints */
} opt_def;

#define O(f) offsetof(ck_train_options, f)
/* A macro's value as a string literal (the defaults are text). */
#define TEXT_(x) #x
#define TEXT(x) TEXT_(x)
static const opt_def defs[] = {
    {"weights", T_STR, O(weights), NULL, 1},
    {"train", T_STR, O(train), NULL, 1},
    {"images", T_STR, O(images), NULL, 1},
    {"labels", T_STR, O(labels), NULL, 1},
    {"extra-train", T_STR, O(extra_train), NULL, 1}, {"extra-images", T_STR, O(extra_images), NULL, 1},
    {"val-manifest", T_STR, O(val_manifest), NULL, 1},
    {"val", T_DBL, O(val), "0.2", 0},
    {"folds", T_INT, O(folds), "0", 0},
    {"fold", T_INT, O(fold), "0", 0},
    {"output", T_STR, O(out), NULL, 1},
    {"input-size", T_INT, O(input_size), "32", 0},
    {"head", T_STR, O(head), "256", 0},
    {"pool", T_STR, O(pool), "flatten", 0},
    {"batchnorm", T_FLAG, O(batchnorm), "0", 0},
    {"dropout", T_DBL, O(dropout), "0.5", 0},
    {"unfreeze", T_STR, O(unfreeze), "none", 0},
    {"conv-algo", T_STR, O(conv_algo), "auto", 0},
    {"precision", T_STR, O(precision), "fp32", 0},
    {"epochs", T_INT, O(epochs), "10", 1},
    {"batch", T_INT, O(batch), "32", 0},
    {"lr", T_DBL, O(lr), "0.001", 0},
    {"optimizer", T_STR, O(optimizer), "adam", 0},
    {"momentum", T_DBL, O(momentum), "0.9", 0},
    {"nesterov", T_FLAG, O(nesterov), "0", 0},
    {"weight-decay", T_DBL, O(weight_decay), "0", 0},
    {"schedule", T_STR, O(schedule), "constant", 0},
    {"warmup", T_DBL, O(warmup), "0", 0},
    {"class-weight", T_STR, O(class_weight), "none", 0},
    {"label-smoothing", T_DBL, O(label_smoothing), "0", 0},
    {"early-stop", T_INT, O(early_stop), "0", 1},
    {"ema", T_DBL, O(ema), "0", 0},
    {"swa-from", T_INT, O(swa_from), "0", 0},
    {"mixup", T_DBL, O(mixup), "0", 0},
    {"cutmix", T_DBL, O(cutmix), "0", 0},
    {"mix-prob", T_DBL, O(mix_prob), "1", 0},
    {"aug", T_STR, O(aug), NULL, 0},
    {"aug-views", T_INT, O(aug_views), "0", 0},
    {"cache", T_STR, O(cache), "memory", 1},
    {"cache-fp16", T_FLAG, O(cache_fp16), "0", 0},
    {"loader-threads", T_INT, O(loader_threads), "0", 1},
    {"seed", T_I64, O(seed), TEXT(CK_DEFAULT_SEED), 0},
    {"threads", T_INT, O(threads), "0", 1},
    {"device", T_STR, O(device), "cpu", 1},
    {"log", T_STR, O(log), NULL, 1},
    {"plot", T_STR, O(plot), NULL, 1},
    {"embed-base", T_FLAG, O(embed_base), "0", 1},
    {"progress", T_INT, O(progress), "0", 1},
    /* placement (resumable 2): left out of checkpoints */
    {"gpus", T_STR, O(gpus), NULL, 2},
    {"nodes", T_INT, O(nodes), "1", 2},
    {"node-rank", T_INT, O(node_rank), "0", 2},
    {"nccl-id-file", T_STR, O(nccl_id_file), NULL, 2},
    {"max-pixels", T_I64, O(max_pixels), "0", 2},
    {"find-lr", T_FLAG, O(find_lr), "0", 2}, {"find-lr-steps", T_INT, O(find_lr_steps), "100", 2},
};
#undef O
#define NDEFS ((int)(sizeof defs / sizeof defs[0]))

static const opt_def *find_def(const char *name)
{
    for (int i = 0; i < NDEFS; i++)
        if (!strcmp(defs[i].name, name))
            return &defs[i];
    return NULL;
}

int ck_train_option_count(void) { return NDEFS; }
const char *ck_train_option_name(int i) { return i >= 0 && i < NDEFS ? defs[i].name : NULL; }

int ck_train_option_resumable(const char *name)
{
    const opt_def *d = find_def(name);
    return d ? d->resumable : 0;
}

static int set_def(ck_train_options *o, const opt_def *d, const char *v)
{
    char *p = (char *)o + d->off;
    char *end = NULL;
    errno = 0;
    switch (d->type) {
    case T_STR: {
        char **s = (char **)p;
        free(*s);
        *s = v ? strdup(v) : NULL;
        if (v && !*s) {
            ck_error("options", "out of memory");
            return -1;
        }
        return 0;
    }
    case T_FLAG:
        if (!v || !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) {
            *(int *)p = 1;
            return 0;
        }
        if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) {
            *(int *)p = 0;
            return 0;
        }
        ck_error("options", "--%s: '%s' is not a yes/no value", d->name, v);
        return -1;
    case T_INT: {
        long x = v ? strtol(v, &end, 10) : 0;
        if (!v || !*v || *end || errno || x < -1000000000L || x > 1000000000L) {
            ck_error("options", "--%s: '%s' is not an integer", d->name, v ? v : "");
            return -1;
        }
        *(int *)p = (int)x;
        return 0;
    }
    case T_I64: {
        long long x = v ? strtoll(v, &end, 10) : 0;
        if (!v || !*v || *end || errno) {
            ck_error("options", "--%s: '%s' is not an integer", d->name, v ? v : "");
            return -1;
        }
        *(long long *)p = x;
        return 0;
    }
    case T_DBL: {
        double x = v ? strtod(v, &end) : 0;
        if (!v || !*v || *end || errno || !isfinite(x)) {
            ck_error("options", "--%s: '%s' is not a number", d->name, v ? v : "");
            return -1;
        }
        *(double *)p = x;
        return 0;
    }
    }
    return -1;
}

void ck_train_options_init(ck_train_options *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < NDEFS; i++)
        if (defs[i].def)
            set_def(o, &defs[i], defs[i].def);
}

void ck_train_options_clear(ck_train_options *o)
{
    if (!o)
        return;
    for (int i = 0; i < NDEFS; i++)
        if (defs[i].type == T_STR) {
            char **s = (char **)((char *)o + defs[i].off);
            free(*s);
            *s = NULL;
        }
}

int ck_train_options_set(ck_train_options *o, const char *name, const char *value)
{
    const opt_def *d = find_def(name);
    if (!d) {
        ck_error("options", "unknown option '%s'", name);
        return -1;
    }
    return set_def(o, d, value);
}

char *ck_train_options_get(const ck_train_options *o, const char *name)
{
    const opt_def *d = find_def(name);
    if (!d)
        return NULL;
    const char *p = (const char *)o + d->off;
    char buf[64];
    switch (d->type) {
    case T_STR: {
        const char *s = *(char *const *)p;
        return strdup(s ? s : "");
    }
    case T_FLAG:
    case T_INT:
        snprintf(buf, sizeof buf, "%d", *(const int *)p);
        break;
    case T_I64:
        snprintf(buf, sizeof buf, "%lld", *(const long long *)p);
        break;
    case T_DBL:
        snprintf(buf, sizeof buf, "%.17g", *(const double *)p);
        break;
    }
    return strdup(buf);
}

char *ck_train_options_to_json(const ck_train_options *o)
{
    ck_json_writer *w = ck_json_writer_new(0);
    if (!w) {
        ck_error("options", "out of memory");
        return NULL;
    }
    ck_json_begin_object(w);
    for (int i = 0; i < NDEFS; i++) {
        const opt_def *d = &defs[i];
        const char *p = (const char *)o + d->off;
        if (d->resumable == 2)
            continue;
        ck_json_key(w, d->name);
        switch (d->type) {
        case T_STR: {
            const char *s = *(char *const *)p;
            if (s)
                ck_json_write_string(w, s);
            else
                ck_json_write_null(w);
            break;
        }
        case T_FLAG:
            ck_json_write_bool(w, *(const int *)p);
            break;
        case T_INT:
            ck_json_write_int(w, *(const int *)p);
            break;
        case T_I64:
            ck_json_write_int(w, *(const long long *)p);
            break;
        case T_DBL:
            ck_json_write_number(w, *(const double *)p);
            break;
        }
    }
    ck_json_end_object(w);
    char *s = ck_json_writer_take(w);
    ck_json_writer_free(w);
    return s;
}

int ck_train_options_from_json(ck_train_options *o, const ck_json *obj)
{
    if (ck_json_type_of(obj) != CK_JSON_OBJECT) {
        ck_error("options", "training options are not a JSON object");
        return -1;
    }
    for (int i = 0; i < ck_json_size(obj); i++) {
        const char *key = ck_json_key_at(obj, i);
        const ck_json *v = ck_json_at(obj, i);
        const opt_def *d = find_def(key);
        if (!d) {
            ck_error("options", "unknown training option '%s' in checkpoint", key);
            return -1;
        }
        int rc;
        switch (ck_json_type_of(v)) {
        case CK_JSON_NULL:
            rc = d->type == T_STR ? set_def(o, d, NULL) : -1;
            break;
        case CK_JSON_TRUE:
        case CK_JSON_FALSE:
            rc = set_def(o, d, ck_json_bool(v, 0) ? "1" : "0");
            break;
        case CK_JSON_NUMBER:
            rc = set_def(o, d, ck_json_number_text(v));
            break;
        case CK_JSON_STRING:
            rc = set_def(o, d, ck_json_string(v));
            break;
        default:
            rc = -1;
        }
        if (rc != 0) {
            ck_error("options", "bad value for training option '%s' in checkpoint", key);
            return -1;
        }
    }
    return 0;
}

/* ---- derived configurations ----------------------------------------------- */

static int parse_head(const char *s, ck_net_config *cfg)
{
    cfg->num_hidden = 0;
    if (!s || !*s || !strcmp(s, "none") || !strcmp(s, "0"))
        return 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v <= 0 || v > 65536 || (*end && *end != ',')) {
            ck_error("options", "--head: '%s' is not a list of layer widths like 256 or 256,128", s);
            return -1;
        }
        if (cfg->num_hidden == CK_MAX_HIDDEN) {
            ck_error("options", "--head: at most %d hidden layers", CK_MAX_HIDDEN);
            return -1;
        }
        cfg->hidden[cfg->num_hidden++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* "none" -> 0, "block5" -> 1, "block4,block5" -> 2, ... "all" -> 5: the set
 * must be the top k stages, since training a stage needs gradients from
 * every stage above it. ResNet's stages are named conv1..conv5 (Keras'
 * prefixes); either spelling means the same stage of any backbone. */
static int parse_unfreeze(const char *s, int *blocks)
{
    if (!s || !*s || !strcmp(s, "none")) {
        *blocks = 0;
        return 0;
    }
    if (!strcmp(s, "all")) {
        *blocks = 5;
        return 0;
    }
    int seen[6] = {0};
    const char *p = s;
    while (*p) {
        int b;
        int len = 0;
        if ((sscanf(p, "block%d%n", &b, &len) != 1 && sscanf(p, "conv%d%n", &b, &len) != 1) || b < 1 || b > 5
            || (p[len] && p[len] != ',')) {
            ck_error("options", "--unfreeze: '%s' is not none, all or a list like block4,block5 (VGG) or conv5 "
                     "(ResNet)", s);
            return -1;
        }
        seen[b] = 1;
        p += len;
        if (*p == ',')
            p++;
    }
    int k = 0;
    while (k < 5 && seen[5 - k])
        k++;
    for (int b = 1; b <= 5 - k; b++)
        if (seen[b]) {
            ck_error("options", "--unfreeze: '%s': unfrozen stages must be the top ones "
                     "(block5, block4,block5, ... or conv5, conv4,conv5, ...)", s);
            return -1;
        }
    *blocks = k;
    return 0;
}

int ck_train_model_config(const ck_train_options *o, int num_classes, ck_net_config *cfg)
{
    ck_net_config_default(cfg);
    if (o->input_size < 32 || o->input_size % 32 != 0 || o->input_size > 1024) {
        ck_error("options", "--input-size: %d is not a multiple of 32 between 32 and 1024", o->input_size);
        return -1;
    }
    cfg->input_size = o->input_size;
    cfg->num_classes = num_classes;
    if (ck_head_pool_parse(o->pool, &cfg->pool) != 0)
        return -1;
    if (parse_head(o->head, cfg) != 0)
        return -1;
    if (o->dropout < 0 || o->dropout >= 1) {
        ck_error("options", "--dropout: %g is not in [0,1)", o->dropout);
        return -1;
    }
    cfg->dropout = (float)o->dropout;
    cfg->batchnorm = o->batchnorm;
    if (parse_unfreeze(o->unfreeze, &cfg->train_blocks) != 0)
        return -1;
    if (ck_conv_algo_parse(o->conv_algo, &cfg->frozen_algo) != 0)
        return -1;
    if (ck_precision_parse(o->precision, &cfg->precision) != 0) {
        ck_error_clear();
        ck_error("options", "--precision: '%s' is not fp32 or bf16", o->precision ? o->precision : "");
        return -1;
    }
    cfg->seed = (uint64_t)o->seed;
    return 0;
}

int ck_train_optim_config(const ck_train_options *o, ck_optim_config *cfg)
{
    ck_optim_kind kind;
    if (ck_optim_kind_parse(o->optimizer, &kind) != 0)
        return -1;
    ck_optim_config_default(cfg, kind);
    if (!(o->momentum >= 0 && o->momentum < 1)) {
        ck_error("options", "--momentum: %g is not in [0,1)", o->momentum);
        return -1;
    }
    if (kind == CK_OPT_SGD) {
        cfg->momentum = (float)o->momentum;
        cfg->nesterov = o->nesterov;
        if (o->nesterov && o->momentum <= 0) {
            ck_error("options", "--nesterov needs --momentum > 0");
            return -1;
        }
    }
    if (o->weight_decay < 0) {
        ck_error("options", "--weight-decay: %g is negative", o->weight_decay);
        return -1;
    }
    cfg->weight_decay = (float)o->weight_decay;
    return 0;
}

int ck_train_lr_config(const ck_train_options *o, ck_lr_config *cfg)
{
    const char *s = o->schedule ? o->schedule : "constant";
    char kind[32];
    size_t n = strcspn(s, ":");
    if (n >= sizeof kind)
        n = sizeof kind - 1;
    memcpy(kind, s, n);
    kind[n] = '\0';
    ck_lr_kind k;
    if (ck_lr_kind_parse(kind, &k) != 0)
        return -1;
    ck_lr_config_default(cfg, k);
    if (!(o->lr > 0)) {
        ck_error("options", "--lr: %g must be positive", o->lr);
        return -1;
    }
    cfg->lr = (float)o->lr;
    cfg->epochs = o->epochs;
    cfg->warmup_epochs = (float)o->warmup;
    const char *args = s[n] == ':' ? s + n + 1 : NULL;
    if (k == CK_LR_STEP && args) {
        int e;
        float g;
        if (sscanf(args, "%d:%f", &e, &g) != 2 || e <= 0 || !(g > 0)) {
            ck_error("options", "--schedule: '%s' is not step:K:GAMMA (e.g. step:10:0.1)", s);
            return -1;
        }
        cfg->step_epochs = e;
        cfg->gamma = g;
    } else if (k == CK_LR_PLATEAU && args) {
        int p;
        float f;
        if (sscanf(args, "%d:%f", &p, &f) != 2 || p < 0 || !(f > 0 && f < 1)) {
            ck_error("options", "--schedule: '%s' is not plateau:PATIENCE:FACTOR (e.g. plateau:3:0.1)", s);
            return -1;
        }
        cfg->patience = p;
        cfg->factor = f;
    } else if (args) {
        ck_error("options", "--schedule: '%s' takes no parameters", kind);
        return -1;
    }
    if (o->warmup < 0 || (k == CK_LR_PLATEAU && o->warmup > 0)) {
        ck_error("options", "--warmup: not available with this schedule");
        return -1;
    }
    return 0;
}

/* --gpus: "all", or a comma list of GPU numbers or device names. */
static int gpus_valid(const char *s)
{
    if (!strcmp(s, "all"))
        return 1;
    char tok[32];
    for (const char *p = s;; p++) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof tok)
            return 0;
        memcpy(tok, p, n);
        tok[n] = '\0';
        char *end;
        long v = strtol(tok, &end, 10);
        int number = end != tok && !*end && tok[0] >= '0' && tok[0] <= '9' && v <= 1024;
        if (!number && !(strcmp(tok, "auto") && ck_device_name_valid(tok)))
            return 0;
        p += n;
        if (!*p)
            return 1;
    }
}

/* Inputs registered, outputs checked (and their folders created) before
 * any image is decoded: a bad output path fails now, not at the first
 * checkpoint. --resume is not an input here: it is read whole before
 * training and is meant to be overwritten by the next checkpoint. */
static int check_paths(const ck_train_options *o)
{
    if (o->nccl_id_file && !*o->nccl_id_file) {
        ck_error("options", "--nccl-id-file: empty path");
        return -1;
    }
    /* Option values go into the checkpoint's JSON metadata. */
    for (int i = 0; i < ck_train_option_count(); i++) {
        char *v = ck_train_options_get(o, ck_train_option_name(i));
        int bad = v && !ck_utf8_valid(v, strlen(v));
        free(v);
        if (bad) {
            ck_error("options", "--%s: the value is not valid UTF-8 (checkpoints store it as UTF-8 text)",
                     ck_train_option_name(i));
            return -1;
        }
    }
    for (int k = 0; k < ck_train_extra_count(o->extra_train); k++) {
        char *tr = ck_train_extra_at(o->extra_train, k), *im = ck_train_extra_at(o->extra_images, k);
        int bad = !tr || ck_io_input_add(tr, "--train") || (im && ck_io_input_add(im, "--images"));
        free(tr);
        free(im);
        if (bad)
            return -1;
    }
    if (ck_io_input_add(o->weights, "--weights") || ck_io_input_add(o->train, "--train") ||
        ck_io_input_add(o->images, "--images") || ck_io_input_add(o->labels, "--labels") ||
        ck_io_input_add(o->val_manifest, "--val-manifest"))
        return -1;
    char *last = o->out && *o->out ? ck_train_last_path(o->out) : NULL;
    char *swa = o->out && *o->out && o->swa_from > 0 ? ck_train_swa_path(o->out) : NULL;
    int rc = ck_output_check(o->out, "-o", CK_OUT_MKDIR) || ck_output_check(last, "-o (.last)", CK_OUT_MKDIR) ||
             ck_output_check(swa, "-o (.swa)", CK_OUT_MKDIR) ||
             ck_output_check(o->log, "--log", CK_OUT_MKDIR) || ck_output_check(o->plot, "--plot", CK_OUT_MKDIR);
    free(last);
    free(swa);
    ck_cache_kind kind;
    char *scratch = NULL;
    if (!rc && ck_cache_parse(o->cache, &kind, &scratch) == 0 && scratch) {
        struct stat st;
        rc = ck_output_check(scratch, "--cache disk:", CK_OUT_MKDIR);
        if (!rc && lstat(scratch, &st) == 0) {
            ck_error("options", "--cache disk:%s: the file exists; the cache is a scratch file, give a new name",
                     scratch);
            rc = -1;
        }
    }
    free(scratch);
    return rc ? -1 : 0;
}

int ck_train_options_check(const ck_train_options *o)
{
    ck_net_config mc;
    ck_optim_config oc;
    ck_lr_config lc;
    if (ck_train_model_config(o, 2, &mc) != 0 || ck_train_optim_config(o, &oc) != 0 ||
        ck_train_lr_config(o, &lc) != 0)
        return -1;
    if (o->epochs < 1) {
        ck_error("options", "--epochs: must be at least 1");
        return -1;
    }
    if (lc.kind == CK_LR_ONECYCLE && oc.kind == CK_OPT_SGD && !(oc.momentum > 0)) {
        ck_error("options", "--schedule onecycle cycles the SGD momentum: --momentum 0 turns it off");
        return -1;
    }
    if (o->batch < 1 || o->batch > 65536) {
        ck_error("options", "--batch: %d is out of range", o->batch);
        return -1;
    }
    if (o->val < 0 || o->val >= 1) {
        ck_error("options", "--val: %g is not in [0,1)", o->val);
        return -1;
    }
    if (o->folds != 0 && (o->folds < 2 || o->fold < 0 || o->fold >= o->folds)) {
        ck_error("options", "--folds %d --fold %d: need folds >= 2 and 0 <= fold < folds", o->folds, o->fold);
        return -1;
    }
    if (ck_train_extra_count(o->extra_train) != ck_train_extra_count(o->extra_images)) {
        ck_error("options", "--train and --images given %d and %d times: a second or later --train pairs with "
                 "the --images of the same rank", ck_train_extra_count(o->extra_train) + 1,
                 ck_train_extra_count(o->extra_images) + 1);
        return -1;
    }
    if (o->folds && o->val_manifest) {
        ck_error("options", "--folds and --val-manifest cannot be combined");
        return -1;
    }
    if (strcmp(o->class_weight, "none") && strcmp(o->class_weight, "auto")) {
        ck_error("options", "--class-weight: '%s' is not auto or none", o->class_weight);
        return -1;
    }
    if (o->mixup < 0 || o->mixup > 1000) {
        ck_error("options", "--mixup: %g is not a Beta parameter in (0,1000] (e.g. 0.4), or 0 for off", o->mixup);
        return -1;
    }
    if (o->cutmix < 0 || o->cutmix > 1000) {
        ck_error("options", "--cutmix: %g is not a Beta parameter in (0,1000] (e.g. 1), or 0 for off", o->cutmix);
        return -1;
    }
    if (!(o->mix_prob > 0 && o->mix_prob <= 1)) {
        ck_error("options", "--mix-prob: %g is not a share of the batches in (0,1]", o->mix_prob);
        return -1;
    }
    if (o->mix_prob < 1 && !(o->mixup > 0) && !(o->cutmix > 0)) {
        ck_error("options", "--mix-prob needs --mixup A or --cutmix A");
        return -1;
    }
    if (o->ema != 0 && !(o->ema > 0 && o->ema < 1)) {
        ck_error("options", "--ema: %g is not a decay in (0,1) (e.g. 0.999)", o->ema);
        return -1;
    }
    if (o->find_lr_steps < 10 || o->find_lr_steps > 100000) {
        ck_error("options", "--find-lr-steps: %d is not between 10 and 100000", o->find_lr_steps);
        return -1;
    }
    if (o->swa_from < 0 || o->swa_from > o->epochs) {
        ck_error("options", "--swa-from: epoch %d is not between 1 and --epochs %d (0 = off)", o->swa_from,
                 o->epochs);
        return -1;
    }
    if (o->label_smoothing < 0 || o->label_smoothing >= 1) {
        ck_error("options", "--label-smoothing: %g is not in [0,1)", o->label_smoothing);
        return -1;
    }
    if (o->aug_views < 0 || o->aug_views > 1000) {
        ck_error("options", "--aug-views: %d is out of range", o->aug_views);
        return -1;
    }
    if (o->aug_views > 0 && !(o->aug && *o->aug)) {
        ck_error("options", "--aug-views needs --aug SPEC");
        return -1;
    }
    if (o->aug && *o->aug) {
        ck_aug_spec *spec = ck_aug_spec_parse(o->aug);
        if (!spec)
            return -1;
        ck_aug_spec_free(spec);
    }
    ck_cache_kind ck;
    char *cp = NULL;
    if (ck_cache_parse(o->cache, &ck, &cp) != 0)
        return -1;
    free(cp);
    if (o->early_stop < 0 || o->threads < 0 || o->loader_threads < 0) {
        ck_error("options", "--early-stop, --threads and --loader-threads must not be negative");
        return -1;
    }
    if (o->threads > ck_thread_limit() || o->loader_threads > ck_thread_limit()) {
        ck_error("options", "--%s %d: the limit is %d (4 per core)", o->threads > ck_thread_limit() ? "threads" :
                 "loader-threads", o->threads > ck_thread_limit() ? o->threads : o->loader_threads, ck_thread_limit());
        return -1;
    }
    if (o->gpus && *o->gpus && !gpus_valid(o->gpus)) {
        ck_error("options", "--gpus: '%s' is not 'all' or a list like 0,1 (or cpu,cpu)", o->gpus);
        return -1;
    }
    if (!ck_device_name_valid(o->device)) {
        ck_error("options", "--device: '%s' is not cpu, cuda, cuda:N or auto", o->device);
        return -1;
    }
    if (o->max_pixels < 0 || (unsigned long long)o->max_pixels > CK_IMAGE_MAX_PIXELS_CAP) {
        ck_error("options", "--max-pixels: %lld is out of range (1 to %llu)", o->max_pixels, CK_IMAGE_MAX_PIXELS_CAP);
        return -1;
    }
    if (o->epochs > 1000000 || o->early_stop > 1000000 || o->folds > 1000) {
        ck_error("options", "--epochs, --early-stop (at most 1000000) or --folds (at most 1000) out of range");
        return -1;
    }
    if (o->nodes < 1 || o->nodes > 65536 || o->node_rank < 0 || o->node_rank >= o->nodes) {
        ck_error("options", "--nodes %d --node-rank %d: need nodes >= 1 and 0 <= node-rank < nodes", o->nodes,
                 o->node_rank);
        return -1;
    }
    if (o->nodes > 1 && (!o->gpus || !*o->gpus || !o->nccl_id_file || !*o->nccl_id_file)) {
        ck_error("options", "--nodes %d needs --gpus LIST and --nccl-id-file PATH", o->nodes);
        return -1;
    }
    return check_paths(o);
}

int ck_train_extra_count(const char *list)
{
    int n = list && *list ? 1 : 0;
    for (const char *p = list; n && *p; p++)
        n += *p == '\n';
    return n;
}

char *ck_train_extra_at(const char *list, int k)
{
    const char *p = list;
    for (int i = 0; p && i < k; i++)
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    if (!p) {
        ck_error("options", "extra training set %d: no such entry", k + 2);
        return NULL;
    }
    char *s = strndup(p, strcspn(p, "\n"));
    if (!s)
        ck_error("options", "out of memory");
    return s;
}

/* out with `tag` (".last") before its extension. */
static char *tagged_path(const char *out, const char *tag)
{
    const char *base = strrchr(out, '/');
    base = base ? base + 1 : out;
    const char *dot = strrchr(base, '.');
    size_t n = strlen(out) + strlen(tag) + 1;
    char *s = malloc(n);
    if (!s)
        return NULL;
    if (dot && dot != base)
        snprintf(s, n, "%.*s%s%s", (int)(dot - out), out, tag, dot);
    else
        snprintf(s, n, "%s%s", out, tag);
    return s;
}

char *ck_train_last_path(const char *out)
{
    return tagged_path(out, ".last");
}

char *ck_train_swa_path(const char *out)
{
    return tagged_path(out, ".swa");
}
