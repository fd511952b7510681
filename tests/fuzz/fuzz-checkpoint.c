/* Fuzz the checkpoint reader (lib/checkpoint): the safetensors container,
 * the "ck" metadata (format, version, arch, classes, base weights, state),
 * and, for small architectures, the tensors restored into a model. */
#include "fuzz.h"
#include "ck/backend.h"
#include "ck/checkpoint.h"
#include "ck/error.h"
#include "ck/model.h"

#include <stdlib.h>

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
static int small_arch(const ck_vgg16_config *cfg)
{
    if (cfg->input_size > 64 || cfg->num_classes > 64)
        return 0;
    for (int i = 0; i < cfg->num_hidden; i++)
        if (cfg->hidden[i] > 64)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
            ck_model *m = ck_vgg16_new(be, ck_checkpoint_config(c), 1);
            if (m)
                (void)ck_checkpoint_restore(c, m, NULL);
            ck_model_free(m);
        }
    }
    ck_checkpoint_free(c);
    ck_error_clear();
    return 0;
}
