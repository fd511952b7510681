/* ck_sha256_file and ck_file_digests (sha256 and md5 in one read) over OpenSSL's libcrypto: EVP uses the CPU's SHA
 * instructions where it has them (figures in docs/performance.md). */
#include "ck/sha256.h"
#include "ck/error.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

static void to_hex(const unsigned char *dg, int n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) {
        hex[2 * i] = digits[dg[i] >> 4];
        hex[2 * i + 1] = digits[dg[i] & 15];
    }
    hex[2 * n] = '\0';
}

int ck_sha256_file(const char *path, char hex[65], long long *size_out)
{
    return ck_file_digests(path, hex, NULL, size_out);
}

int ck_file_digests(const char *path, char sha256[65], char md5[33], long long *size_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ck_error_system(errno, "sha256", "%s", path);
        return -1;
    }
    size_t bufsize = 1 << 20;
    unsigned char *buf = malloc(bufsize);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new(), *mctx = md5 ? EVP_MD_CTX_new() : NULL;
    int ok = buf && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             (!md5 || (mctx && EVP_DigestInit_ex(mctx, EVP_md5(), NULL) == 1));
    if (!ok)
        ck_error("sha256", "%s: out of memory", path);
    size_t n;
    long long total = 0;
    while (ok && (n = fread(buf, 1, bufsize, f)) > 0) {
        ok = EVP_DigestUpdate(ctx, buf, n) == 1 && (!md5 || EVP_DigestUpdate(mctx, buf, n) == 1);
        total += (long long)n;
    }
    if (ok && ferror(f)) {
        ck_error("sha256", "%s: read error", path);
        ok = 0;
    }
    unsigned char dg[EVP_MAX_MD_SIZE], mdg[EVP_MAX_MD_SIZE];
    unsigned int len = 0, mlen = 0;
    if (ok && (EVP_DigestFinal_ex(ctx, dg, &len) != 1 || len != 32 ||
               (md5 && (EVP_DigestFinal_ex(mctx, mdg, &mlen) != 1 || mlen != 16)))) {
        ck_error("sha256", "%s: libcrypto failed", path);
        ok = 0;
    }
    EVP_MD_CTX_free(ctx);
    EVP_MD_CTX_free(mctx);
    free(buf);
    fclose(f);
    if (!ok)
        return -1;
    to_hex(dg, 32, sha256);
    if (md5)
        to_hex(mdg, 16, md5);
    if (size_out)
        *size_out = total;
    return 0;
}
