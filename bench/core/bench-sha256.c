/* bench-sha256: SHA-256 throughput of the packaged candidates (OpenSSL's
 * libcrypto EVP, nettle, GLib's GChecksum) on a file held in memory, and
 * of ck_sha256_file on the file itself (page cache). Median of 5 runs, MB/s.
 * Usage: bench-sha256 FILE   (e.g. a 58 MB `ck-weights random` file) */
#include "ck/sha256.h"

#include <glib.h>
#include <openssl/evp.h>
#ifdef CK_BENCH_NETTLE
#include <nettle/sha2.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void hex32(const unsigned char d[32], char hex[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static void h_openssl(const unsigned char *p, size_t n, char hex[65])
{
    unsigned char d[32];
    unsigned int len = 32;
    EVP_Digest(p, n, d, &len, EVP_sha256(), NULL);
    hex32(d, hex);
}

static void h_glib(const unsigned char *p, size_t n, char hex[65])
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(c, p, (gssize)n);
    snprintf(hex, 65, "%s", g_checksum_get_string(c));
    g_checksum_free(c);
}

#ifdef CK_BENCH_NETTLE
static void h_nettle(const unsigned char *p, size_t n, char hex[65])
{
    struct sha256_ctx c;
    unsigned char d[32];
    sha256_init(&c);
    sha256_update(&c, n, p);
    sha256_digest(&c, 32, d);
    hex32(d, hex);
}
#endif

static const char *file_path;
static void h_ck_file(const unsigned char *p, size_t n, char hex[65])
{
    (void)p;
    (void)n;
    if (ck_sha256_file(file_path, hex, NULL) < 0)
        snprintf(hex, 65, "error");
}

static void run(const char *name, void (*h)(const unsigned char *, size_t, char *), const unsigned char *p,
                size_t n)
{
    double t[RUNS];
    char hex[65] = "";
    for (int r = 0; r < RUNS; r++) {
        double t0 = now();
        h(p, n, hex);
        t[r] = now() - t0;
    }
    qsort(t, RUNS, sizeof *t, cmp_double);
    printf("%-28s %8.0f MB/s  (median of %d, %.1f ms)  %.16s...\n", name, (double)n / 1e6 / t[RUNS / 2], RUNS,
           1e3 * t[RUNS / 2], hex);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench-sha256 FILE\n");
        return 2;
    }
    file_path = argv[1];
    gchar *data = NULL;
    gsize n = 0;
    if (!g_file_get_contents(file_path, &data, &n, NULL)) {
        fprintf(stderr, "bench-sha256: cannot read %s\n", file_path);
        return 1;
    }
    printf("%s: %.1f MB\n", file_path, (double)n / 1e6);
    run("openssl libcrypto (EVP)", h_openssl, (const unsigned char *)data, n);
#ifdef CK_BENCH_NETTLE
    run("nettle", h_nettle, (const unsigned char *)data, n);
#endif
    run("glib GChecksum", h_glib, (const unsigned char *)data, n);
    run("ck_sha256_file (from file)", h_ck_file, (const unsigned char *)data, n);
    g_free(data);
    return 0;
}
