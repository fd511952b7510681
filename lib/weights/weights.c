/* ck_weights: format detection, identity (size, sha256, md5, origin),
 * accessors and verification against the official files. */
#include "weights_internal.h"
#include "ck/error.h"
#include "ck/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const ck_weights_official officials[CK_ARCH_COUNT] = {
    {CK_ARCH_VGG16, CK_VGG16_NOTOP_FILE, CK_VGG16_NOTOP_SIZE, CK_VGG16_NOTOP_SHA256, NULL},
    {CK_ARCH_VGG19, CK_VGG19_NOTOP_FILE, -1, NULL, CK_VGG19_NOTOP_MD5},
    {CK_ARCH_RESNET50, CK_RESNET50_NOTOP_FILE, -1, NULL, CK_RESNET50_NOTOP_MD5},
};

const ck_weights_official *ck_weights_official_of(ck_arch a)
{
    return a >= 0 && a < CK_ARCH_COUNT ? &officials[a] : NULL;
}

/* Whether a file's identity is the expected one (each of size, sha256, md5
 * checked when given); *why says what differs. */
static int matches(const ck_weights_official *o, long long size, const char *sha256, const char *md5,
                   const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!o)
        return 0;
    if (o->size >= 0 && size != o->size) {
        *why = "size differs from the official file";
        return 0;
    }
    if (o->sha256 && strcmp(sha256, o->sha256) != 0) {
        *why = "sha256 differs from the official file";
        return 0;
    }
    if (o->md5 && strcmp(md5, o->md5) != 0) {
        *why = "md5 differs from the official file";
        return 0;
    }
    return 1;
}

static const unsigned char hdf5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

void ck_weights_free(ck_weights *w)
{
    if (!w)
        return;
    for (int k = 0; k < w->n; k++)
        free(w->t[k].data);
    free(w->path);
    free(w);
}

/* What the first bytes say: 1 HDF5, 2 safetensors, 0 neither, -1 error. */
static int sniff(const char *path, long long size)
{
    if (size == 0) {
        ck_error("weights", "%s: empty file (0 bytes)", path);
        return -1;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        ck_error_system(errno, "weights", "cannot open %s", path);
        return -1;
    }
    unsigned char head[9] = {0};
    size_t got = fread(head, 1, sizeof head, fp);
    fclose(fp);
    if (got >= 8 && memcmp(head, hdf5_signature, 8) == 0)
        return 1;
    if (got == 9 && head[8] == '{') {
        uint64_t n = 0;
        for (int b = 7; b >= 0; b--)
            n = (n << 8) | head[b];
        if (n > 0 && n <= (uint64_t)size - 8)
            return 2;
    }
    return 0;
}

ck_weights *ck_weights_load(const char *path)
{
    ck_weights *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        ck_error("weights", "out of memory");
        return NULL;
    }
    w->seed = -1;
    struct stat st;
    if (stat(path, &st) != 0) {
        ck_error_system(errno, "weights", "cannot open %s", path);
        goto bad;
    }
    if (!S_ISREG(st.st_mode)) {
        ck_error("weights", "%s: not a regular file", path);
        goto bad;
    }
    int kind = sniff(path, (long long)st.st_size);
    if (kind < 0)
        goto bad;
    if (kind == 0) {
        ck_error("weights", "%s: neither an HDF5 (Keras .h5) nor a safetensors file", path);
        goto bad;
    }
    if ((kind == 1 ? ck_weights_load_h5(w) : ck_weights_load_safetensors(w)) < 0)
        goto bad;
    if (ck_weights_check_complete(w) < 0)
        goto bad;
    /* Hash last: a broken file fails fast, before reading it twice. */
    if (ck_file_digests(path, w->sha256, w->md5, &w->size) < 0)
        goto bad;
    if (matches(ck_weights_official_of(w->arch), w->size, w->sha256, w->md5, NULL))
        w->origin = CK_WEIGHTS_OFFICIAL;
    return w;
bad:
    ck_weights_free(w);
    return NULL;
}

int ck_weights_count(const ck_weights *w)
{
    return w ? w->n : 0;
}

const char *ck_weights_name(const ck_weights *w, int i)
{
    return w && i >= 0 && i < w->n ? w->t[i].name : NULL;
}

const float *ck_weights_get(const ck_weights *w, const char *name, int *ndim, int shape[4])
{
    if (!w || !name)
        return NULL;
    for (int k = 0; k < w->n; k++)
        if (strcmp(w->t[k].name, name) == 0) {
            if (ndim)
                *ndim = w->t[k].ndim;
            if (shape)
                memcpy(shape, w->t[k].shape, sizeof w->t[k].shape);
            return w->t[k].data;
        }
    return NULL;
}

int ck_weights_has_top(const ck_weights *w)
{
    return w ? w->has_top : 0;
}

ck_weights_origin ck_weights_origin_of(const ck_weights *w)
{
    return w ? w->origin : CK_WEIGHTS_UNKNOWN;
}

const char *ck_weights_origin_name(ck_weights_origin o)
{
    switch (o) {
    case CK_WEIGHTS_OFFICIAL: return "official";
    case CK_WEIGHTS_RANDOM: return "random";
    default: return "unknown";
    }
}

const char *ck_weights_path(const ck_weights *w)
{
    return w ? w->path : NULL;
}

const char *ck_weights_sha256(const ck_weights *w)
{
    return w ? w->sha256 : NULL;
}

long long ck_weights_file_size(const ck_weights *w)
{
    return w ? w->size : -1;
}

long long ck_weights_random_seed(const ck_weights *w)
{
    return w && w->origin == CK_WEIGHTS_RANDOM ? w->seed : -1;
}

const char *ck_weights_preprocessing(const ck_weights *w)
{
    return w ? w->preprocessing : NULL;
}

const char *ck_weights_format(const ck_weights *w)
{
    return w ? w->format : NULL;
}

ck_arch ck_weights_arch(const ck_weights *w)
{
    return w ? w->arch : CK_ARCH_VGG16;
}

ck_layout ck_weights_layout(const ck_weights *w)
{
    return w ? w->layout : CK_LAYOUT_KERAS;
}

const char *ck_weights_md5(const ck_weights *w)
{
    return w ? w->md5 : NULL;
}

int ck_weights_verify_digests(const char *path, long long size, const char *sha256, const char *md5,
                              const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    struct stat st;
    if (stat(path, &st) != 0) {
        ck_error_system(errno, "weights", "cannot open %s", path);
        return -1;
    }
    ck_weights_official o = {CK_ARCH_VGG16, "", size, sha256, md5};
    /* A wrong size needs no read. */
    if (size >= 0 && (long long)st.st_size != size) {
        *why = "size differs from the official file";
        return 0;
    }
    char sha[65], m5[33];
    if (ck_file_digests(path, sha, m5, NULL) < 0)
        return -1;
    return matches(&o, (long long)st.st_size, sha, m5, why);
}

int ck_weights_verify_file(const char *path, long long size, const char *sha256, const char **why)
{
    return ck_weights_verify_digests(path, size, sha256, NULL, why);
}

int ck_weights_verify_arch(const char *path, ck_arch a, const char **why)
{
    const ck_weights_official *o = ck_weights_official_of(a);
    if (!o) {
        ck_error("weights", "no official file for architecture %d", (int)a);
        return -1;
    }
    return ck_weights_verify_digests(path, o->size, o->sha256, o->md5, why);
}

int ck_weights_verify_official(const char *path, const char **why)
{
    return ck_weights_verify_arch(path, CK_ARCH_VGG16, why);
}

int ck_weights_identify(const char *path, ck_arch *arch)
{
    char sha[65], m5[33];
    long long size;
    if (ck_file_digests(path, sha, m5, &size) < 0)
        return -1;
    for (int a = 0; a < CK_ARCH_COUNT; a++)
        if (matches(&officials[a], size, sha, m5, NULL)) {
            if (arch)
                *arch = (ck_arch)a;
            return 1;
        }
    return 0;
}
