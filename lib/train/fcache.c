/* ck_fcache: frozen activations computed once and reused every epoch.
 *
 * Memory: one allocation of slots × numel values. Disk: a plain file read
 * and written with pread/pwrite at slot offsets (no mmap, so a cache larger
 * than RAM does not fight the training buffers for memory). F16 halves the
 * size; the values are post-ReLU/pool activations, for which half precision
 * (≈3 significant digits) costs nothing measurable in accuracy.
 */
#include "ck/dataset.h"
#include "ck/dtype.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ck_fcache {
    ck_cache_kind kind;
    char *path;
    int fd;
    long slots;
    size_t numel;
    size_t esize;     /* 4 or 2 */
    uint8_t *mem;
    uint8_t *have;    /* one flag per slot */
    uint16_t *half;   /* conversion buffer for one slot (disk + fp16) */
};

int ck_cache_parse(const char *s, ck_cache_kind *kind, char **path)
{
    *path = NULL;
    if (!strcmp(s, "none")) {
        *kind = CK_CACHE_NONE;
        return 0;
    }
    if (!strcmp(s, "memory")) {
        *kind = CK_CACHE_MEMORY;
        return 0;
    }
    if (!strncmp(s, "disk:", 5) && s[5]) {
        *kind = CK_CACHE_DISK;
        *path = strdup(s + 5);
        if (!*path) {
            ck_error("cache", "out of memory");
            return -1;
        }
        return 0;
    }
    ck_error("cache", "unknown cache '%s' (expected memory, disk:PATH or none)", s);
    return -1;
}

ck_fcache *ck_fcache_new(ck_cache_kind kind, const char *path, long slots, size_t numel, int fp16)
{
    if (kind == CK_CACHE_NONE || slots <= 0 || numel == 0) {
        ck_error("cache", "bad feature cache size");
        return NULL;
    }
    ck_fcache *c = calloc(1, sizeof *c);
    if (!c) {
        ck_error("cache", "out of memory");
        return NULL;
    }
    c->kind = kind;
    c->fd = -1;
    c->slots = slots;
    c->numel = numel;
    c->esize = fp16 ? 2 : 4;
    c->have = calloc((size_t)slots, 1);
    c->half = fp16 ? malloc(numel * 2) : NULL;
    if (!c->have || (fp16 && !c->half))
        goto oom;
    size_t total = (size_t)slots * numel * c->esize;
    if (kind == CK_CACHE_MEMORY) {
        c->mem = malloc(total);
        if (!c->mem) {
            ck_error("cache", "cannot allocate %.1f MB for the feature cache (try --cache-fp16 "
                     "or --cache disk:PATH)", (double)total / 1e6);
            ck_fcache_free(c);
            return NULL;
        }
    } else {
        c->path = strdup(path);
        if (!c->path)
            goto oom;
        c->fd = ck_scratch_open(path);
        if (c->fd < 0) {
            ck_fcache_free(c);
            return NULL;
        }
    }
    return c;
oom:
    ck_fcache_free(c);
    ck_error("cache", "out of memory");
    return NULL;
}

void ck_fcache_free(ck_fcache *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd); /* the name went at creation: nothing is left behind */
    free(c->path);
    free(c->mem);
    free(c->have);
    free(c->half);
    free(c);
}

static int disk_io(ck_fcache *c, int write, long slot, void *buf)
{
    size_t n = c->numel * c->esize;
    off_t off = (off_t)slot * (off_t)n;
    size_t done = 0;
    while (done < n) {
        ssize_t r = write ? pwrite(c->fd, (const char *)buf + done, n - done, off + (off_t)done)
                          : pread(c->fd, (char *)buf + done, n - done, off + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ck_error_system(r < 0 ? errno : EIO, "cache", "cannot %s feature cache %s",
                            write ? "write" : "read", c->path);
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

int ck_fcache_put(ck_fcache *c, long slot, int count, const float *src)
{
    if (slot < 0 || slot + count > c->slots) {
        ck_error("cache", "slot %ld out of range", slot);
        return -1;
    }
    for (int k = 0; k < count; k++, src += c->numel) {
        long s = slot + k;
        if (c->kind == CK_CACHE_MEMORY) {
            uint8_t *dst = c->mem + (size_t)s * c->numel * c->esize;
            if (c->esize == 4) {
                memcpy(dst, src, c->numel * 4);
            } else {
                uint16_t *h = (uint16_t *)dst;
                for (size_t i = 0; i < c->numel; i++)
                    h[i] = ck_f32_to_f16(src[i]);
            }
        } else if (c->esize == 4) {
            if (disk_io(c, 1, s, (void *)src) != 0)
                return -1;
        } else {
            for (size_t i = 0; i < c->numel; i++)
                c->half[i] = ck_f32_to_f16(src[i]);
            if (disk_io(c, 1, s, c->half) != 0)
                return -1;
        }
        c->have[s] = 1;
    }
    return 0;
}

int ck_fcache_get(ck_fcache *c, long slot, int count, float *dst)
{
    if (slot < 0 || slot + count > c->slots) {
        ck_error("cache", "slot %ld out of range", slot);
        return -1;
    }
    for (int k = 0; k < count; k++, dst += c->numel) {
        long s = slot + k;
        if (!c->have[s]) {
            ck_error("cache", "feature cache slot %ld read before it was written", s);
            return -1;
        }
        const uint16_t *h;
        if (c->kind == CK_CACHE_MEMORY) {
            const uint8_t *src = c->mem + (size_t)s * c->numel * c->esize;
            if (c->esize == 4) {
                memcpy(dst, src, c->numel * 4);
                continue;
            }
            h = (const uint16_t *)src;
        } else if (c->esize == 4) {
            if (disk_io(c, 0, s, dst) != 0)
                return -1;
            continue;
        } else {
            if (disk_io(c, 0, s, c->half) != 0)
                return -1;
            h = c->half;
        }
        for (size_t i = 0; i < c->numel; i++)
            dst[i] = ck_f16_to_f32(h[i]);
    }
    return 0;
}

size_t ck_fcache_bytes(const ck_fcache *c)
{
    return (size_t)c->slots * c->numel * c->esize;
}
