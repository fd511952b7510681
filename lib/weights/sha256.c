/* ck_sha256_file over OpenSSL's libcrypto: EVP uses the CPU's SHA
 * instructions where it has them (figures in docs/performance.md). */
#include "ck/sha256.h"
#include "ck/error.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

int ck_sha256_file(const char *path, char hex[65], long long *size_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ck_error_system(errno, "sha256", "%s", path);
        return -1;
    }
    size_t bufsize = 1 << 20;
    unsigned char *buf = malloc(bufsize);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = buf && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    if (!ok)
        ck_error("sha256", "%s: out of memory", path);
    size_t n;
    long long total = 0;
    while (ok && (n = fread(buf, 1, bufsize, f)) > 0) {
        ok = EVP_DigestUpdate(ctx, buf, n) == 1;
        total += (long long)n;
    }
    if (ok && ferror(f)) {
        ck_error("sha256", "%s: read error", path);
        ok = 0;
    }
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (ok && (EVP_DigestFinal_ex(ctx, dg, &len) != 1 || len != 32)) {
        ck_error("sha256", "%s: libcrypto failed", path);
        ok = 0;
    }
    EVP_MD_CTX_free(ctx);
    free(buf);
    fclose(f);
    if (!ok)
        return -1;
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[dg[i] >> 4];
        hex[2 * i + 1] = digits[dg[i] & 15];
    }
    hex[64] = '\0';
    if (size_out)
        *size_out = total;
    return 0;
}
