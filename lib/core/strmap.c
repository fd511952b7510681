/* String -> int hash map used for duplicate detection and label lookup. */
#include "ck/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

uint64_t ck_fnv1a64(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

uint32_t ck_fnv1a32(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static uint64_t hash_str(const char *s)
{
    return ck_fnv1a64(CK_FNV1A64_INIT, s, strlen(s));
}

static size_t slot_of(const ck_strmap *m, const char *key)
{
    size_t mask = m->cap - 1, i = (size_t)hash_str(key) & mask;
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & mask;
    return i;
}

static int grow(ck_strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    ck_strmap bigger = {calloc(cap, sizeof(char *)), malloc(cap * sizeof(int)), cap, 0};
    if (!bigger.keys || !bigger.vals) {
        free(bigger.keys);
        free(bigger.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i]) {
            size_t j = slot_of(&bigger, m->keys[i]);
            bigger.keys[j] = m->keys[i];
            bigger.vals[j] = m->vals[i];
            bigger.n++;
        }
    }
    free(m->keys);
    free(m->vals);
    *m = bigger;
    return 0;
}

int ck_strmap_put(ck_strmap *m, const char *key, int val)
{
    /* Keep the load factor under 1/2 so probes stay short. */
    if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
        return -2;
    size_t i = slot_of(m, key);
    if (m->keys[i])
        return m->vals[i];
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return -1;
}

int ck_strmap_get(const ck_strmap *m, const char *key)
{
    if (!m->cap)
        return -1;
    size_t i = slot_of(m, key);
    return m->keys[i] ? m->vals[i] : -1;
}

void ck_strmap_clear(ck_strmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}
