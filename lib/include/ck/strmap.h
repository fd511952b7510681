/* ck/strmap.h — the string -> int hash map (file names, ids, labels).
 *
 * Keys are borrowed, not copied: they must outlive the map (they are the
 * strings the table, label list or submission owns). Open addressing,
 * FNV-1a; it grows as keys are added. A zeroed ck_strmap is an empty map. */
#ifndef CK_STRMAP_H
#define CK_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_strmap {
    const char **keys;
    int *vals;
    size_t cap; /* power of two, 0 when empty */
    size_t n;
} ck_strmap;

/* Insert key -> val unless present. Returns the existing value when the key
 * was already there, -1 when inserted, -2 on out of memory. */
int ck_strmap_put(ck_strmap *m, const char *key, int val);
/* Value for key, -1 if absent. */
int ck_strmap_get(const ck_strmap *m, const char *key);
/* Free the table; the map is empty (and usable) again. */
void ck_strmap_clear(ck_strmap *m);

/* FNV-1a, the map's hash, for anything that needs a quick non-adversarial
 * hash: 64 bits over n bytes, continuing from h (start with
 * CK_FNV1A64_INIT), and 32 bits of a string. */
#define CK_FNV1A64_INIT 1469598103934665603ull
uint64_t ck_fnv1a64(uint64_t h, const void *data, size_t n);
uint32_t ck_fnv1a32(const char *s);

#ifdef __cplusplus
}
#endif
#endif
