/* strmap.h — a small string -> int hash map for lib/io (private).
 *
 * Keys are borrowed, not copied: they must outlive the map (they are the
 * strings the manifest or label list owns). Open addressing, FNV-1a. */
#ifndef CK_IO_STRMAP_H
#define CK_IO_STRMAP_H

#include <stddef.h>

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
void ck_strmap_clear(ck_strmap *m);

#endif
