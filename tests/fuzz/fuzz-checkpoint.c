/* Fuzz the checkpoint reader (lib/checkpoint): the safetensors container,
 * the "ck" metadata (format, version, arch, classes, base weights, state),
 * and, for small architectures, the tensors restored into a model.
 *
 * Two kinds of input: a whole checkpoint file (starts with a safetensors
 * header length and '{'), or the "ck" metadata text alone, which the target
 * wraps into a checkpoint without tensors: random mutations of the JSON
 * would otherwise almost never survive the escaping and length of the
 * safetensors header around it. */
#include "fuzz.h"
#include "ck/backend.h"
#include "ck/checkpoint.h"
#include "ck/error.h"
#include "ck/model.h"

#include "ck/json.h"

#include <stdlib.h>
#include <string.h>

static ck_backend *be;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    be = ck_backend_new("cpu", 1);
    if (!be)
        fuzz_fail("checkpoint: no CPU backend", ck_error_buffer());
    return 0;
}

/* A model is built only for architectures that cost little to build: the
 * fuzzer is after the reader, not the size of the model a file asks for
 * (the model's own limits check that). */
static int small_arch(const ck_net_config *cfg)
{
    if (cfg->input_size > 64 || cfg->num_classes > 64)
        return 0;
    for (int i = 0; i < cfg->num_hidden; i++)
        if (cfg->hidden[i] > 64)
            return 0;
    return 1;
}

static int is_safetensors(const uint8_t *data, size_t size)
{
    if (size < 9 || data[8] != '{')
        return 0;
    uint64_t n = 0;
    for (int b = 7; b >= 0; b--)
        n = (n << 8) | data[b];
    return n <= size - 8;
}

/* A checkpoint file without tensors whose "ck" metadata is `meta`; NULL when
 * meta is not valid UTF-8 (a JSON string cannot hold it). */
static uint8_t *wrap_metadata(const uint8_t *meta, size_t n, size_t *len)
{
    ck_json_writer *w = ck_json_writer_new(0);
    ck_json_begin_object(w);
    ck_json_key(w, "__metadata__");
    ck_json_begin_object(w);
    ck_json_kv_string(w, "format", CK_CHECKPOINT_FORMAT);
    ck_json_kv_string(w, "version", "1");
    ck_json_key(w, "ck");
    ck_json_write_string_n(w, (const char *)meta, n);
    ck_json_end_object(w);
    ck_json_end_object(w);
    size_t hlen = 0;
    const char *header = ck_json_writer_text(w, &hlen);
    uint8_t *file = header ? malloc(8 + hlen) : NULL;
    if (file) {
        for (int b = 0; b < 8; b++)
            file[b] = (uint8_t)((uint64_t)hlen >> (8 * b));
        memcpy(file + 8, header, hlen);
        *len = 8 + hlen;
    }
    ck_json_writer_free(w);
    return file;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *wrapped = NULL;
    if (!is_safetensors(data, size)) {
        if (memchr(data, 0, size) || !(wrapped = wrap_metadata(data, size, &size))) {
            ck_error_clear();
            return 0;
        }
        data = wrapped;
    }
    ck_checkpoint *c = ck_checkpoint_load(fuzz_file(0, data, size));
    if (c) {
        for (int k = 0; k < ck_checkpoint_num_classes(c); k++)
            if (!ck_checkpoint_class_id(c, k) || !ck_checkpoint_class_name(c, k))
                fuzz_fail("checkpoint", "a class without id or name");
        (void)ck_checkpoint_preprocessing(c);
        (void)ck_checkpoint_base_sha256(c);
        (void)ck_checkpoint_base_size(c);
        (void)ck_checkpoint_epoch(c);
        (void)ck_checkpoint_best_val_loss(c);
        (void)ck_checkpoint_optimizer(c);
        (void)ck_checkpoint_optimizer_step(c);
        if (small_arch(ck_checkpoint_config(c))) {
            ck_model *m = ck_model_new(be, ck_checkpoint_config(c), 1);
            if (m)
                (void)ck_checkpoint_restore(c, m, NULL);
            ck_model_free(m);
        }
    }
    ck_checkpoint_free(c);
    free(wrapped);
    ck_error_clear();
    return 0;
}
