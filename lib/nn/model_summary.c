/* ck_model_summary: the table Keras' model.summary() prints. */
#include "model_internal.h"

#include <stdio.h>
#include <string.h>

static const char *keras_type(layer_type t)
{
    switch (t) {
    case L_CONV: return "Conv2D";
    case L_MAXPOOL: return "MaxPooling2D";
    case L_FLATTEN: return "Flatten";
    case L_GAP: return "GlobalAveragePooling2D";
    case L_DROPOUT: return "Dropout";
    case L_DENSE: return "Dense";
    case L_BN: return "BatchNormalization";
    case L_RELU: return "Activation";
    case L_ADD: return "Add";
    }
    return "?";
}

/* 14714688 -> "14,714,688" */
static const char *thousands(long long v, char *buf, size_t n)
{
    char raw[32];
    int len = snprintf(raw, sizeof raw, "%lld", v < 0 ? -v : v);
    size_t o = 0;
    if (v < 0 && o + 1 < n)
        buf[o++] = '-';
    for (int i = 0; i < len && o + 1 < n; i++) {
        if (i && (len - i) % 3 == 0 && o + 1 < n)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static void row(FILE *out, const char *name, const char *shape, long long params)
{
    /* Keras' columns start at 1, 29 and 55 (line length 65). */
    char cell[256];
    snprintf(cell, sizeof cell, " %s", name);
    size_t len = strlen(cell);
    fprintf(out, "%-29s%s", cell, len >= 29 ? " " : "");
    fprintf(out, "%-26s%lld\n", shape, params);
    fprintf(out, "%65s\n", "");
}

void ck_model_summary(const ck_model *m, FILE *out)
{
    char line[66], dline[66];
    memset(line, '_', 65);
    memset(dline, '=', 65);
    line[65] = dline[65] = '\0';
    fprintf(out, "Model: \"%s\"\n%s\n", ck_arch_name(m->cfg.arch), line);
    fprintf(out, "%-29s%-26s%s\n", " Layer (type)", "Output Shape", "Param #");
    fprintf(out, "%s\n", dline);
    char name[128], shape[64];
    int s = m->cfg.input_size;
    snprintf(shape, sizeof shape, "[(None, %d, %d, 3)]", s, s);
    row(out, "input_1 (InputLayer)", shape, 0);
    for (int i = 0; i < m->nlayers; i++) {
        const layer *l = &m->layers[i];
        long long params = 0;
        for (int k = 0; k < l->nparams; k++)
            params += (long long)ck_tensor_numel(m->params[l->param0 + k].t);
        snprintf(name, sizeof name, "%s (%s)", l->name, keras_type(l->type));
        if (l->spatial)
            snprintf(shape, sizeof shape, "(None, %d, %d, %d)", l->h, l->w, l->c);
        else
            snprintf(shape, sizeof shape, "(None, %d)", l->c);
        row(out, name, shape, params);
    }
    long long total, trainable, non;
    ck_model_param_totals(m, &total, &trainable, &non);
    char b[32];
    fprintf(out, "%s\n", dline);
    fprintf(out, "Total params: %s\n", thousands(total, b, sizeof b));
    fprintf(out, "Trainable params: %s\n", thousands(trainable, b, sizeof b));
    fprintf(out, "Non-trainable params: %s\n", thousands(non, b, sizeof b));
    fprintf(out, "%s\n", line);
}
