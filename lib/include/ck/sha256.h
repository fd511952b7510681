/* ck/sha256.h — SHA-256, for verifying weight files and recording the base
 * weights' identity in checkpoints. */
#ifndef CK_SHA256_H
#define CK_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t nbuf;
} ck_sha256;

void ck_sha256_init(ck_sha256 *s);
void ck_sha256_update(ck_sha256 *s, const void *data, size_t n);
void ck_sha256_final(ck_sha256 *s, uint8_t digest[32]);
/* Hex digest of a whole file into hex[65]; -1 with an error set on failure. */
int ck_sha256_file(const char *path, char hex[65], long long *size_out);
void ck_sha256_hex(const uint8_t digest[32], char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
