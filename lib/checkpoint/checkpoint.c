/* ck_checkpoint: trained tensors + JSON metadata in a safetensors file
 * (format described in ck/checkpoint.h). */
#include "ck/checkpoint.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/ops.h"
#include "ck/optim.h"
#include "ck/safetensors.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Prefix of the trained weights kept beside their averages (--ema). */
#define TRAINED "trained/"
/* Prefix of a running SWA average (--swa-from), kept for resume. */
#define SWA "swa/"

struct ck_checkpoint {
    char *path;
    ck_st_file *st;
    ck_json *meta;
    ck_labels *labels;
    ck_net_config cfg;
    const char *base_sha, *base_path, *base_origin;
    long long base_size;
    int base_embedded;
    long long random_seed;
};

/* A float config value as the short decimal it was given as (0.01, not
 * 0.009999999776). */
static double short_number(float x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", (double)x);
    return strtod(buf, NULL);
}

static void kv_float(ck_json_writer *w, const char *key, float x)
{
    ck_json_kv_number(w, key, short_number(x));
}

static void write_arch(ck_json_writer *w, const ck_net_config *c)
{
    ck_json_begin_object(w);
    ck_json_kv_string(w, "name", ck_arch_name(c->arch));
    ck_json_kv_string(w, "layout", ck_layout_name(c->layout));
    ck_json_kv_int(w, "input_size", c->input_size);
    ck_json_kv_int(w, "num_classes", c->num_classes);
    ck_json_kv_string(w, "pool", ck_head_pool_name(c->pool));
    ck_json_key(w, "hidden");
    ck_json_begin_array(w);
    for (int i = 0; i < c->num_hidden; i++)
        ck_json_write_int(w, c->hidden[i]);
    ck_json_end_array(w);
    kv_float(w, "dropout", c->dropout);
    ck_json_kv_bool(w, "batchnorm", c->batchnorm);
    kv_float(w, "bn_momentum", c->bn_momentum);
    kv_float(w, "bn_eps", c->bn_eps);
    ck_json_kv_int(w, "train_blocks", c->train_blocks);
    ck_json_kv_string(w, "frozen_algo", ck_conv_algo_name(c->frozen_algo));
    ck_json_kv_string(w, "precision", ck_precision_name(c->precision));
    /* As text: JSON numbers are doubles for most readers. */
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    ck_json_kv_string(w, "seed", seed);
    ck_json_end_object(w);
}

static int read_arch(const ck_json *a, const char *what, ck_net_config *c)
{
    ck_net_config_default(c);
    const char *name = ck_json_type_of(a) == CK_JSON_OBJECT ? ck_json_string(ck_json_get(a, "name")) : NULL;
    if (!name || ck_arch_parse(name, &c->arch) != 0) {
        ck_error_clear();
        ck_error("checkpoint", "%s: unsupported architecture '%s' (expected vgg16, vgg19 or resnet50)", what,
                 name ? name : "");
        return -1;
    }
    /* Checkpoints from before ck knew other layouts are Keras VGG16 ones. */
    const char *layout = ck_json_string(ck_json_get(a, "layout"));
    if (layout && ck_layout_parse(layout, &c->layout) != 0)
        goto bad;
    int64_t v;
    if (!ck_json_int64(ck_json_get(a, "input_size"), &v) || v <= 0 || v > 4096)
        goto bad;
    c->input_size = (int)v;
    if (!ck_json_int64(ck_json_get(a, "num_classes"), &v) || v < 2 || v > 1000000)
        goto bad;
    c->num_classes = (int)v;
    const char *pool = ck_json_string(ck_json_get(a, "pool"));
    if (!pool || ck_head_pool_parse(pool, &c->pool) != 0)
        goto bad;
    const ck_json *h = ck_json_get(a, "hidden");
    if (ck_json_type_of(h) != CK_JSON_ARRAY || ck_json_size(h) > CK_MAX_HIDDEN)
        goto bad;
    c->num_hidden = ck_json_size(h);
    for (int i = 0; i < c->num_hidden; i++) {
        if (!ck_json_int64(ck_json_at(h, i), &v) || v <= 0 || v > 1 << 20)
            goto bad;
        c->hidden[i] = (int)v;
    }
    c->dropout = (float)ck_json_number(ck_json_get(a, "dropout"), 0);
    c->batchnorm = ck_json_bool(ck_json_get(a, "batchnorm"), 0);
    c->bn_momentum = (float)ck_json_number(ck_json_get(a, "bn_momentum"), c->bn_momentum);
    c->bn_eps = (float)ck_json_number(ck_json_get(a, "bn_eps"), c->bn_eps);
    if (!ck_json_int64(ck_json_get(a, "train_blocks"), &v) || v < 0 || v > 5)
        goto bad;
    c->train_blocks = (int)v;
    const char *algo = ck_json_string(ck_json_get(a, "frozen_algo"));
    if (algo && ck_conv_algo_parse(algo, &c->frozen_algo) != 0)
        goto bad;
    /* Checkpoints from before --precision are fp32 ones. */
    const char *precision = ck_json_string(ck_json_get(a, "precision"));
    if (precision && ck_precision_parse(precision, &c->precision) != 0)
        goto bad;
    const char *seed = ck_json_string(ck_json_get(a, "seed"));
    c->seed = seed ? strtoull(seed, NULL, 10) : 0;
    return 0;
bad:
    ck_error_clear();
    ck_error("checkpoint", "%s: malformed \"arch\" metadata", what);
    return -1;
}

/* The "state" object: the trainer's members, plus the optimizer's kind and
 * step taken from the optimizer itself. */
static int write_state(ck_json_writer *w, const char *state_json, const ck_optim *opt, const char *path)
{
    ck_json *st = NULL;
    if (state_json) {
        st = ck_json_parse(state_json, strlen(state_json), "checkpoint state");
        if (!st || ck_json_type_of(st) != CK_JSON_OBJECT) {
            ck_json_free(st);
            ck_error("checkpoint", "%s: state is not a JSON object", path);
            return -1;
        }
    }
    ck_json_begin_object(w);
    for (int i = 0; i < ck_json_size(st); i++) {
        if (opt && !strcmp(ck_json_key_at(st, i), "optimizer"))
            continue;
        ck_json_key(w, ck_json_key_at(st, i));
        ck_json_write_value(w, ck_json_at(st, i));
    }
    if (opt) {
        ck_json_key(w, "optimizer");
        ck_json_begin_object(w);
        ck_json_kv_string(w, "kind", ck_optim_kind_name(ck_optim_get_config(opt)->kind));
        ck_json_kv_int(w, "step", ck_optim_steps(opt));
        ck_json_end_object(w);
    }
    ck_json_end_object(w);
    ck_json_free(st);
    return 0;
}

static char *build_meta(const char *path, ck_model *m, const ck_optim *opt, const ck_checkpoint_meta *meta)
{
    const ck_net_config *cfg = ck_model_config(m);
    ck_json_writer *w = ck_json_writer_new(0);
    if (!w)
        return NULL;
    ck_json_begin_object(w);
    ck_json_kv_string(w, "format", CK_CHECKPOINT_FORMAT);
    ck_json_kv_int(w, "version", CK_CHECKPOINT_VERSION);
    ck_json_key(w, "classes");
    ck_json_begin_array(w);
    for (int k = 0; k < ck_labels_count(meta->labels); k++) {
        ck_json_begin_object(w);
        ck_json_kv_string(w, "id", ck_labels_id(meta->labels, k));
        ck_json_kv_string(w, "name", ck_labels_name(meta->labels, k));
        ck_json_end_object(w);
    }
    ck_json_end_array(w);
    ck_json_kv_int(w, "input_size", cfg->input_size);
    ck_json_key(w, "preprocessing");
    ck_json_begin_object(w);
    const char *pre = ck_arch_preprocessing(cfg->arch, cfg->layout);
    ck_preprocess_spec spec;
    ck_preprocess_spec_of(pre, &spec);
    ck_json_kv_string(w, "kind", pre);
    ck_json_kv_string(w, "order", spec.bgr ? "BGR" : "RGB");
    ck_json_key(w, "mean");
    ck_json_begin_array(w);
    for (int k = 0; k < 3; k++)
        ck_json_write_number(w, short_number(spec.mean[k]));
    ck_json_end_array(w);
    ck_json_key(w, "scale");
    ck_json_begin_array(w);
    for (int k = 0; k < 3; k++)
        ck_json_write_number(w, short_number(spec.scale[k]));
    ck_json_end_array(w);
    ck_json_end_object(w);
    ck_json_key(w, "arch");
    write_arch(w, cfg);
    ck_json_key(w, "frozen_layers");
    ck_json_begin_array(w);
    for (int i = 0; i < ck_model_param_count(m); i++) {
        /* one entry per frozen layer with weights: its first parameter */
        const char *pn = ck_model_param_name(m, i), *slash = strchr(pn, '/');
        const char *prev = i ? ck_model_param_name(m, i - 1) : NULL;
        if (ck_model_param_kind(m, i) != CK_PARAM_FROZEN || !slash
            || (prev && strncmp(prev, pn, (size_t)(slash - pn)) == 0 && prev[slash - pn] == '/'))
            continue;
        ck_json_write_string_n(w, pn, (size_t)(slash - pn));
    }
    ck_json_end_array(w);
    ck_json_kv_string(w, "conv_algo", ck_conv_algo_name(cfg->frozen_algo));
    ck_json_key(w, "base_weights");
    ck_json_begin_object(w);
    const ck_weights *b = meta->base;
    ck_json_kv_string(w, "sha256", b ? ck_weights_sha256(b) : "");
    ck_json_kv_int(w, "size", b ? ck_weights_file_size(b) : 0);
    ck_json_kv_string(w, "path", meta->base_path ? meta->base_path : b ? ck_weights_path(b) : "");
    ck_json_kv_string(w, "origin", b ? ck_weights_origin_name(ck_weights_origin_of(b)) : "none");
    ck_json_kv_int(w, "random_seed", b ? ck_weights_random_seed(b) : -1);
    ck_json_kv_bool(w, "embedded", meta->embed_base);
    ck_json_end_object(w);
    ck_json_key(w, "training");
    ck_json *tr = meta->training_json ? ck_json_parse(meta->training_json, strlen(meta->training_json), "training options") : NULL;
    if (meta->training_json && !tr) {
        ck_json_writer_free(w);
        return NULL;
    }
    if (tr)
        ck_json_write_value(w, tr);
    else {
        ck_json_begin_object(w);
        ck_json_end_object(w);
    }
    ck_json_free(tr);
    ck_json_key(w, "state");
    if (write_state(w, meta->state_json, opt, path) != 0) {
        ck_json_writer_free(w);
        return NULL;
    }
    ck_json_end_object(w);
    char *s = ck_json_writer_take(w);
    ck_json_writer_free(w);
    return s;
}

static int add_tensor(ck_st_writer *w, const char *name, const ck_tensor *t, const float *data)
{
    int64_t shape[CK_MAX_DIMS];
    int nd = ck_tensor_ndim(t);
    for (int d = 0; d < nd; d++)
        shape[d] = ck_tensor_dim(t, d);
    return ck_st_writer_add_copy(w, name, CK_ST_F32, nd, shape, data);
}

/* The host buffer that tensors are copied through, grown to n floats (its
 * contents are not kept); NULL with an error (buf freed) when out of memory. */
static float *staging(float *buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return buf;
    free(buf);
    *cap = n;
    buf = malloc(n * sizeof *buf);
    if (!buf) {
        *cap = 0;
        ck_error("checkpoint", "out of memory");
    }
    return buf;
}

int ck_checkpoint_save(const char *path, ck_model *m, const ck_optim *opt, const ck_checkpoint_meta *meta)
{
    if (!meta || !meta->labels) {
        ck_error("checkpoint", "%s: class labels are required", path);
        return -1;
    }
    if (ck_labels_count(meta->labels) != ck_model_config(m)->num_classes) {
        ck_error("checkpoint", "%s: %d labels for a model with %d classes", path,
                 ck_labels_count(meta->labels), ck_model_config(m)->num_classes);
        return -1;
    }
    int rc = -1;
    float *buf = NULL;
    size_t cap = 0;
    char *json = NULL;
    ck_st_writer *w = ck_st_writer_new();
    if (!w)
        goto done;
    for (int i = 0; i < ck_model_param_count(m); i++) {
        ck_param_kind kind = ck_model_param_kind(m, i);
        if (kind == CK_PARAM_FROZEN && !meta->embed_base)
            continue;
        const ck_tensor *t = ck_model_param(m, i);
        size_t n = ck_tensor_numel(t);
        if (!(buf = staging(buf, &cap, n)))
            goto done;
        const char *name = ck_model_param_name(m, i);
        const ck_tensor *avg = meta->ema ? ck_ema_average(meta->ema, i) : NULL;
        char key[512];
        snprintf(key, sizeof key, "%s%s", avg ? TRAINED : "", name);
        if (ck_model_param_get(m, name, buf, n) != 0 || add_tensor(w, key, t, buf) != 0)
            goto done;
        if (avg && (ck_tensor_download(avg, buf, n * sizeof *buf) != 0 || add_tensor(w, name, t, buf) != 0))
            goto done;
        const ck_tensor *swa = meta->swa ? ck_ema_average(meta->swa, i) : NULL;
        snprintf(key, sizeof key, SWA "%s", name);
        if (swa && (ck_tensor_download(swa, buf, n * sizeof *buf) != 0 || add_tensor(w, key, t, buf) != 0))
            goto done;
    }
    if (opt) {
        for (int i = 0; i < ck_optim_state_count(opt); i++) {
            const char *name = ck_optim_state_name(opt, i);
            const ck_tensor *t = ck_optim_state((ck_optim *)opt, i);
            size_t n = ck_tensor_numel(t);
            if (!(buf = staging(buf, &cap, n)))
                goto done;
            char key[512];
            snprintf(key, sizeof key, "optim/%s", name);
            if (ck_optim_state_get(opt, name, buf, n) != 0 || add_tensor(w, key, t, buf) != 0)
                goto done;
        }
    }
    json = build_meta(path, m, opt, meta);
    if (!json)
        goto done;
    char ver[16];
    snprintf(ver, sizeof ver, "%d", CK_CHECKPOINT_VERSION);
    if (ck_st_writer_set_metadata(w, "format", CK_CHECKPOINT_FORMAT) != 0 ||
        ck_st_writer_set_metadata(w, "version", ver) != 0 ||
        ck_st_writer_set_metadata(w, "ck", json) != 0)
        goto done;
    rc = ck_st_writer_write(w, path);
done:
    free(json);
    free(buf);
    ck_st_writer_free(w);
    return rc;
}

/* ---- loading ---------------------------------------------------------------- */

void ck_checkpoint_free(ck_checkpoint *c)
{
    if (!c)
        return;
    ck_st_close(c->st);
    ck_json_free(c->meta);
    ck_labels_free(c->labels);
    free(c->path);
    free(c);
}

/* An integer member in [lo, hi], else fallback: converting a number such
 * as 1e300 from a (hostile) file to an integer type is undefined. */
static int64_t json_int(const ck_json *v, int64_t lo, int64_t hi, int64_t fallback)
{
    int64_t x;
    return ck_json_int64(v, &x) && x >= lo && x <= hi ? x : fallback;
}

ck_checkpoint *ck_checkpoint_load(const char *path)
{
    ck_checkpoint *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(path))) {
        free(c);
        ck_error("checkpoint", "out of memory");
        return NULL;
    }
    c->st = ck_st_open(path);
    if (!c->st) {
        ck_error("checkpoint", "%s: not a readable checkpoint", path);
        goto fail;
    }
    const char *fmt = ck_st_metadata(c->st, "format");
    const char *text = ck_st_metadata(c->st, "ck");
    if (!fmt || strcmp(fmt, CK_CHECKPOINT_FORMAT) != 0 || !text) {
        ck_error("checkpoint", "%s: not a ck checkpoint (a safetensors file without "
                 "\"format\": \"" CK_CHECKPOINT_FORMAT "\" metadata)", path);
        goto fail;
    }
    const char *ver = ck_st_metadata(c->st, "version");
    if (!ver || atoi(ver) != CK_CHECKPOINT_VERSION) {
        ck_error("checkpoint", "%s: checkpoint version %s is not supported (this ck reads version %d)",
                 path, ver ? ver : "(none)", CK_CHECKPOINT_VERSION);
        goto fail;
    }
    c->meta = ck_json_parse(text, strlen(text), path);
    if (!c->meta || ck_json_type_of(c->meta) != CK_JSON_OBJECT) {
        ck_error("checkpoint", "%s: malformed metadata", path);
        goto fail;
    }
    if (read_arch(ck_json_get(c->meta, "arch"), path, &c->cfg) != 0)
        goto fail;
    const ck_json *cls = ck_json_get(c->meta, "classes");
    int n = ck_json_size(cls);
    if (ck_json_type_of(cls) != CK_JSON_ARRAY || n != c->cfg.num_classes) {
        ck_error("checkpoint", "%s: \"classes\" does not list %d classes", path, c->cfg.num_classes);
        goto fail;
    }
    const char **ids = calloc((size_t)n, sizeof *ids);
    const char **names = calloc((size_t)n, sizeof *names);
    int ok = ids && names;
    for (int k = 0; ok && k < n; k++) {
        ids[k] = ck_json_string(ck_json_get(ck_json_at(cls, k), "id"));
        names[k] = ck_json_string(ck_json_get(ck_json_at(cls, k), "name"));
        ok = ids[k] && names[k];
    }
    if (ok)
        c->labels = ck_labels_new(n, ids, names);
    free(ids);
    free(names);
    if (!ok || !c->labels) {
        ck_error("checkpoint", "%s: malformed \"classes\" metadata", path);
        goto fail;
    }
    const ck_json *bw = ck_json_get(c->meta, "base_weights");
    c->base_sha = ck_json_string(ck_json_get(bw, "sha256"));
    c->base_path = ck_json_string(ck_json_get(bw, "path"));
    c->base_origin = ck_json_string(ck_json_get(bw, "origin"));
    c->base_size = json_int(ck_json_get(bw, "size"), 0, INT64_MAX, 0);
    c->base_embedded = ck_json_bool(ck_json_get(bw, "embedded"), 0);
    c->random_seed = json_int(ck_json_get(bw, "random_seed"), INT64_MIN, INT64_MAX, -1);
    if (!c->base_sha || !c->base_path || !c->base_origin) {
        ck_error("checkpoint", "%s: malformed \"base_weights\" metadata", path);
        goto fail;
    }
    return c;
fail:
    ck_checkpoint_free(c);
    return NULL;
}

const char *ck_checkpoint_path(const ck_checkpoint *c) { return c->path; }
int ck_checkpoint_num_classes(const ck_checkpoint *c) { return c->cfg.num_classes; }
const char *ck_checkpoint_class_id(const ck_checkpoint *c, int k) { return ck_labels_id(c->labels, k); }
const char *ck_checkpoint_class_name(const ck_checkpoint *c, int k) { return ck_labels_name(c->labels, k); }
const ck_net_config *ck_checkpoint_config(const ck_checkpoint *c) { return &c->cfg; }
int ck_checkpoint_input_size(const ck_checkpoint *c) { return c->cfg.input_size; }

const char *ck_checkpoint_preprocessing(const ck_checkpoint *c)
{
    const char *k = ck_json_string(ck_json_get(ck_json_get(c->meta, "preprocessing"), "kind"));
    return k ? k : "caffe";
}

const char *ck_checkpoint_base_sha256(const ck_checkpoint *c) { return c->base_sha; }
long long ck_checkpoint_base_size(const ck_checkpoint *c) { return c->base_size; }
const char *ck_checkpoint_base_origin(const ck_checkpoint *c) { return c->base_origin; }
int ck_checkpoint_base_embedded(const ck_checkpoint *c) { return c->base_embedded; }
const ck_json *ck_checkpoint_metadata(const ck_checkpoint *c) { return c->meta; }
const ck_json *ck_checkpoint_training(const ck_checkpoint *c) { return ck_json_get(c->meta, "training"); }
const ck_json *ck_checkpoint_state(const ck_checkpoint *c) { return ck_json_get(c->meta, "state"); }

int ck_checkpoint_epoch(const ck_checkpoint *c)
{
    return (int)json_int(ck_json_get(ck_checkpoint_state(c), "epoch"), 0, INT_MAX, 0);
}

double ck_checkpoint_best_val_loss(const ck_checkpoint *c)
{
    return ck_json_number(ck_json_get(ck_checkpoint_state(c), "best_val_loss"), NAN);
}

const char *ck_checkpoint_optimizer(const ck_checkpoint *c)
{
    const char *k = ck_json_string(ck_json_get(ck_json_get(ck_checkpoint_state(c), "optimizer"), "kind"));
    return k ? k : "";
}

long long ck_checkpoint_optimizer_step(const ck_checkpoint *c)
{
    int64_t v = 0;
    ck_json_int64(ck_json_get(ck_json_get(ck_checkpoint_state(c), "optimizer"), "step"), &v);
    return v;
}

static void shape_text(char *buf, size_t n, int nd, const int64_t *s)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < nd && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? "," : "", (long long)s[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

/* Copy tensor `name` from the file into dst after checking its shape
 * against t's. 1 copied, 0 absent, -1 error. */
static int fetch(const ck_checkpoint *c, const char *name, const ck_tensor *t, float **buf, size_t *cap)
{
    ck_st_tensor st;
    if (!ck_st_find(c->st, name, &st))
        return 0;
    int nd = ck_tensor_ndim(t);
    int64_t want[CK_MAX_DIMS];
    int same = st.ndim == nd && st.dtype == CK_ST_F32;
    for (int d = 0; d < nd; d++) {
        want[d] = ck_tensor_dim(t, d);
        if (same && st.shape[d] != want[d])
            same = 0;
    }
    if (!same) {
        char a[96], b[96];
        shape_text(a, sizeof a, st.ndim, st.shape);
        shape_text(b, sizeof b, nd, want);
        ck_error("checkpoint", "%s: tensor '%s' has shape %s (%s), the architecture expects %s (F32): "
                 "checkpoint from another architecture?", c->path, name, a, ck_st_dtype_name(st.dtype), b);
        return -1;
    }
    if ((size_t)st.count > *cap) {
        free(*buf);
        *cap = (size_t)st.count;
        *buf = malloc(*cap * sizeof **buf);
        if (!*buf) {
            *cap = 0;
            ck_error("checkpoint", "out of memory");
            return -1;
        }
    }
    if (ck_st_to_f32(&st, *buf) != 0)
        return -1;
    for (int64_t i = 0; i < st.count; i++)
        if (!isfinite((*buf)[i])) {
            ck_error("checkpoint", "%s: tensor '%s' holds NaN or infinity", c->path, name);
            return -1;
        }
    return 1;
}

int ck_checkpoint_restore(const ck_checkpoint *c, ck_model *m, ck_optim *opt)
{
    const ck_net_config *mc = ck_model_config(m);
    if (mc->num_classes != c->cfg.num_classes || mc->input_size != c->cfg.input_size ||
        mc->num_hidden != c->cfg.num_hidden || mc->train_blocks != c->cfg.train_blocks ||
        mc->pool != c->cfg.pool || mc->batchnorm != c->cfg.batchnorm) {
        ck_error("checkpoint", "%s: the checkpoint's architecture differs from the model's "
                 "(classes, input size, head, pooling or unfrozen blocks)", c->path);
        return -1;
    }
    float *buf = NULL;
    size_t cap = 0;
    int rc = -1, used = 0;
    for (int i = 0; i < ck_model_param_count(m); i++) {
        const char *name = ck_model_param_name(m, i);
        ck_st_tensor found;
        /* ck_model_param() would compute the lazy initial values of a frozen
         * layer that the checkpoint does not hold (14.7 M for VGG16). */
        if (ck_model_param_kind(m, i) == CK_PARAM_FROZEN && !ck_st_find(c->st, name, &found))
            continue;
        int r = fetch(c, name, ck_model_param(m, i), &buf, &cap);
        if (r < 0)
            goto done;
        if (r == 0) {
            if (ck_model_param_kind(m, i) == CK_PARAM_FROZEN)
                continue;
            ck_error("checkpoint", "%s: tensor '%s' is missing: checkpoint from another architecture?",
                     c->path, name);
            goto done;
        }
        used++;
        if (ck_model_param_set(m, name, buf, ck_tensor_numel(ck_model_param(m, i))) != 0)
            goto done;
    }
    int optim_tensors = 0;
    for (int i = 0; i < ck_st_count(c->st); i++) {
        const char *name = ck_st_name(c->st, i);
        if (!strncmp(name, "optim/", 6))
            optim_tensors++;
        else if (!strncmp(name, TRAINED, strlen(TRAINED)) && ck_model_param_find(m, name + strlen(TRAINED)) >= 0)
            continue;
        else if (!strncmp(name, SWA, strlen(SWA)) && ck_model_param_find(m, name + strlen(SWA)) >= 0)
            continue;
        else if (ck_model_param_find(m, name) < 0) {
            ck_error("checkpoint", "%s: tensor '%s' does not belong to this architecture", c->path, name);
            goto done;
        }
    }
    (void)used;
    if (opt) {
        const char *kind = ck_checkpoint_optimizer(c);
        if (!*kind || strcmp(kind, ck_optim_kind_name(ck_optim_get_config(opt)->kind)) != 0) {
            ck_error("checkpoint", "%s: optimizer state is for '%s', not '%s'", c->path, *kind ? kind : "(none)",
                     ck_optim_kind_name(ck_optim_get_config(opt)->kind));
            goto done;
        }
        for (int i = 0; i < ck_optim_state_count(opt); i++) {
            const char *name = ck_optim_state_name(opt, i);
            char key[512];
            snprintf(key, sizeof key, "optim/%s", name);
            int r = fetch(c, key, ck_optim_state(opt, i), &buf, &cap);
            if (r < 0)
                goto done;
            if (r == 0) {
                ck_error("checkpoint", "%s: optimizer state '%s' is missing", c->path, key);
                goto done;
            }
            if (ck_optim_state_set(opt, name, buf, ck_tensor_numel(ck_optim_state(opt, i))) != 0)
                goto done;
        }
        ck_optim_set_steps(opt, (long)ck_checkpoint_optimizer_step(c));
    }
    rc = 0;
done:
    free(buf);
    return rc;
}

int ck_checkpoint_restore_ema(const ck_checkpoint *c, ck_model *m, ck_ema *ema)
{
    float *buf = NULL;
    size_t cap = 0;
    int rc = -1;
    for (int i = 0; i < ck_model_param_count(m); i++) {
        if (ck_model_param_kind(m, i) == CK_PARAM_FROZEN)
            continue;
        const char *name = ck_model_param_name(m, i);
        const ck_tensor *t = ck_model_param(m, i);
        size_t n = ck_tensor_numel(t);
        char key[512];
        snprintf(key, sizeof key, TRAINED "%s", name);
        int r = fetch(c, key, t, &buf, &cap);
        if (r < 0)
            goto done;
        if (r == 0 && !ema)
            continue;
        if (r == 0) {
            ck_error("checkpoint", "%s: tensor '%s' is missing: a checkpoint saved with --ema keeps the "
                     "trained weights beside their averages", c->path, key);
            goto done;
        }
        if (ck_model_param_set(m, name, buf, n) != 0)
            goto done;
        if (ema && ((r = fetch(c, name, t, &buf, &cap)) <= 0 || ck_ema_set(ema, i, buf, n) != 0)) {
            if (r == 0)
                ck_error("checkpoint", "%s: tensor '%s' is missing", c->path, name);
            goto done;
        }
    }
    rc = 0;
done:
    free(buf);
    return rc;
}

int ck_checkpoint_restore_swa(const ck_checkpoint *c, ck_model *m, ck_ema *swa)
{
    float *buf = NULL;
    size_t cap = 0;
    int rc = -1;
    for (int i = 0; i < ck_model_param_count(m); i++) {
        if (!ck_ema_average(swa, i))
            continue;
        const ck_tensor *t = ck_model_param(m, i);
        char key[512];
        snprintf(key, sizeof key, SWA "%s", ck_model_param_name(m, i));
        int r = fetch(c, key, t, &buf, &cap);
        if (r == 0)
            ck_error("checkpoint", "%s: tensor '%s' is missing: a run with --swa-from keeps its running average "
                     "in its checkpoints", c->path, key);
        if (r <= 0 || ck_ema_set(swa, i, buf, ck_tensor_numel(t)) != 0)
            goto done;
    }
    rc = 0;
done:
    free(buf);
    return rc;
}

/* Find the base weights file: override, recorded path, then relative to the
 * checkpoint's folder. Returns a malloc'd path or NULL (nothing found). */
static char *find_base(const ck_checkpoint *c, const char *override)
{
    if (override)
        return strdup(override);
    if (*c->base_path && ck_file_exists(c->base_path))
        return strdup(c->base_path);
    if (*c->base_path && c->base_path[0] != '/') {
        const char *slash = strrchr(c->path, '/');
        if (slash) {
            char *dir = strndup(c->path, (size_t)(slash - c->path));
            char *p = dir ? ck_path_join(dir, c->base_path) : NULL;
            free(dir);
            if (p && ck_file_exists(p))
                return p;
            free(p);
        }
    }
    return NULL;
}

/* hex is NULL when the size alone differs (the file was not hashed). */
static int base_differs(const ck_checkpoint *c, const char *path, const char *hex, long long size)
{
    ck_error("checkpoint", "base weights '%s' differ from those checkpoint %s was trained with "
             "(%s%.16s%s%lld bytes; expected sha256 %.16s..., %lld bytes): pass the original "
             "file with --weights", path, c->path, hex ? "sha256 " : "", hex ? hex : "", hex ? "..., " : "",
             size, c->base_sha, c->base_size);
    return -1;
}

/* The base file as recorded in the checkpoint (sha256 and size), loaded.
 * The size is checked first, so a truncated or foreign file fails before it
 * is parsed; the sha256 is the one ck_weights_load computed (the file is
 * hashed once). */
static ck_weights *load_base(const ck_checkpoint *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        ck_error_system(errno, "checkpoint", "cannot open base weights %s", path);
        return NULL;
    }
    if ((long long)st.st_size != c->base_size) {
        base_differs(c, path, NULL, (long long)st.st_size);
        return NULL;
    }
    ck_weights *w = ck_weights_load(path);
    if (w && (strcmp(ck_weights_sha256(w), c->base_sha) != 0 || ck_weights_file_size(w) != c->base_size)) {
        base_differs(c, path, ck_weights_sha256(w), ck_weights_file_size(w));
        ck_weights_free(w);
        return NULL;
    }
    return w;
}

void ck_checkpoint_set_conv_algo(ck_checkpoint *c, ck_conv_algo algo)
{
    c->cfg.frozen_algo = algo;
}

ck_model *ck_checkpoint_build_model(const ck_checkpoint *c, ck_backend *be, const char *override, int max_batch)
{
    ck_model *m = ck_model_new(be, &c->cfg, max_batch);
    if (!m)
        return NULL;
    int need_file = !c->base_embedded && strcmp(c->base_origin, "none") != 0;
    if (need_file) {
        char *p = find_base(c, override);
        if (!p || !ck_file_exists(p)) {
            if (!strcmp(c->base_origin, "random") && c->random_seed >= 0)
                ck_error("checkpoint", "base weights '%s' not found (checkpoint %s was trained on a random "
                         "weights file, sha256 %.16s...; recreate it with 'ck-weights random --seed %lld -o %s' "
                         "or pass it with --weights)", p ? p : c->base_path, c->path, c->base_sha,
                         c->random_seed, c->base_path);
            else
                ck_error("checkpoint", "base weights '%s' not found (checkpoint %s was trained with sha256 "
                         "%.16s..., %lld bytes; pass the file with --weights)", p ? p : c->base_path,
                         c->path, c->base_sha, c->base_size);
            free(p);
            ck_model_free(m);
            return NULL;
        }
        ck_weights *w = NULL;
        if (!(w = load_base(c, p)) || ck_model_load_weights(m, w) != 0) {
            ck_weights_free(w);
            free(p);
            ck_model_free(m);
            return NULL;
        }
        ck_weights_free(w);
        free(p);
    }
    if (ck_checkpoint_restore(c, m, NULL) != 0) {
        ck_model_free(m);
        return NULL;
    }
    return m;
}
