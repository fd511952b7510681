/* ck/sha256.h — SHA-256 of a file, for verifying weight files and recording
 * the base weights' identity in checkpoints (OpenSSL's libcrypto; part of
 * ck_weights). */
#ifndef CK_SHA256_H
#define CK_SHA256_H

#ifdef __cplusplus
extern "C" {
#endif

/* Hex digest of a whole file into hex[65] (and its size in bytes into
 * *size_out when not NULL); -1 with an error naming the file on failure. */
int ck_sha256_file(const char *path, char hex[65], long long *size_out);
/* SHA-256 and MD5 (Keras publishes its files by MD5 only) in one read;
 * md5 may be NULL. */
int ck_file_digests(const char *path, char sha256[65], char md5[33], long long *size_out);

#ifdef __cplusplus
}
#endif
#endif
