/* The one way images are opened refuses, before decoding anything: files
 * that are not regular files (a FIFO must not block), headers claiming
 * more pixels than the limit (JPEG and PNG bombs), and formats that are not
 * raster images (SVG named .png). */
#include "check.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/image.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static char *put(const char *name, const void *data, size_t len)
{
    char *p = ck_path_join(dir, name);
    FILE *f = fopen(p, "wb");
    CHECK(f && fwrite(data, 1, len, f) == len);
    if (f)
        fclose(f);
    return p;
}

/* Every loading function refuses path with an error naming it and
 * containing `why`. */
static void refused(const char *path, const char *why)
{
    uint8_t small[8 * 8 * 3];
    int w = 0, h = 0;
    ck_error_clear();
    uint8_t *rgb = ck_image_load_rgb(path, 0, 0, &w, &h);
    CHECK(!rgb && strstr(ck_error_buffer(), path) && strstr(ck_error_buffer(), why));
    if (!strstr(ck_error_buffer(), why))
        fprintf(stderr, "  %s: expected '%s', got: %s", path, why, ck_error_buffer());
    free(rgb);
    ck_error_clear();
    CHECK(ck_image_load_rgb_into(path, 8, 8, small) == -1 && strstr(ck_error_buffer(), why));
    ck_error_clear();
    CHECK(ck_image_size(path, &w, &h) == -1 && strstr(ck_error_buffer(), why));
    ck_error_clear();
}

static void set_be32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
    p[3] = (unsigned char)v;
}

static void test_bombs(void)
{
    uint8_t rgb[16 * 16 * 3];
    memset(rgb, 90, sizeof rgb);
    /* A small valid JPEG whose SOF0 claims 65000x65000. */
    size_t len = 0;
    unsigned char *jpg = ck_image_encode_rgb(rgb, 16, 16, CK_IMAGE_JPEG, 90, &len);
    CHECK(jpg != NULL);
    int patched = 0;
    for (size_t i = 0; jpg && i + 9 < len; i++)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
            jpg[i + 5] = jpg[i + 7] = 65000 >> 8;
            jpg[i + 6] = jpg[i + 8] = 65000 & 255;
            patched = 1;
            break;
        }
    CHECK(patched);
    char *p = put("bomb.jpg", jpg, len);
    refused(p, "pixels, over the limit");
    free(p);
    free(jpg);

    /* A PNG whose IHDR says 60000x60000 (the tool test writes a complete
     * one; the check reads only the header). */
    unsigned char *png = ck_image_encode_rgb(rgb, 16, 16, CK_IMAGE_PNG, 0, &len);
    CHECK(png && len > 24 && !memcmp(png + 12, "IHDR", 4));
    set_be32(png + 16, 60000);
    set_be32(png + 20, 60000);
    p = put("bomb.png", png, len);
    refused(p, "pixels, over the limit");
    free(p);

    /* The limit is adjustable: the same 16x16 PNG is refused under 100
     * pixels and read again under the default. */
    set_be32(png + 16, 16);
    set_be32(png + 20, 16);
    p = put("small.png", png, len);
    CHECK(ck_image_set_max_pixels(100) == 0 && ck_image_max_pixels() == 100);
    refused(p, "pixels, over the limit");
    CHECK(ck_image_probe(png, len, "mem.png", NULL, NULL) == -1 && strstr(ck_error_buffer(), "mem.png"));
    ck_error_clear();
    CHECK(ck_image_set_max_pixels(256) == 0);
    int w = 0, h = 0;
    uint8_t *back = ck_image_load_rgb(p, 0, 0, &w, &h);
    CHECK(back && w == 16 && h == 16);
    free(back);
    CHECK(ck_image_probe(png, len, "mem.png", &w, &h) == 0 && w == 16 && h == 16);
    CHECK(ck_image_set_max_pixels(0) == -1);
    ck_error_clear();
    CHECK(ck_image_set_max_pixels(CK_IMAGE_DEFAULT_MAX_PIXELS) == 0);
    free(p);
    free(png);

    uint64_t v = 7;
    CHECK(ck_image_parse_pixels("200000000", &v) == 0 && v == 200000000);
    CHECK(ck_image_parse_pixels("0", &v) == -1 && ck_image_parse_pixels("-5", &v) == -1);
    CHECK(ck_image_parse_pixels("1e6", &v) == -1 && ck_image_parse_pixels("", &v) == -1);
    CHECK(ck_image_parse_pixels(" 5", &v) == -1 && ck_image_parse_pixels("99999999999999999999", &v) == -1);
    CHECK(v == 200000000);
}

static void test_not_raster(void)
{
    static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"60000\" height=\"60000\">"
                              "<rect width=\"60000\" height=\"60000\"/></svg>\n";
    char *p = put("vector.png", svg, sizeof svg - 1);
    refused(p, "svgload");
    free(p);
    static const char pdf[] = "%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    p = put("doc.jpg", pdf, sizeof pdf - 1);
    ck_error_clear();
    CHECK(ck_image_load_rgb(p, 0, 0, NULL, NULL) == NULL && strstr(ck_error_buffer(), p));
    CHECK(!strstr(ck_error_buffer(), "pixels, over the limit"));
    ck_error_clear();
    free(p);
}

/* Netpbm goes through libvips' PPM loader, which takes garbage headers and
 * short pixel data: checked before it runs. */
static void test_pnm(void)
{
    static const char p3[] = "P3\n# comment\n2 2\n255\n1 2 3 4 5 6\n7 8 9 10 11 12\n";
    char *p = put("ok3.ppm", p3, sizeof p3 - 1);
    int w = 0, h = 0;
    uint8_t *rgb = ck_image_load_rgb(p, 0, 0, &w, &h);
    CHECK(rgb && w == 2 && h == 2 && rgb[0] == 1 && rgb[11] == 12);
    free(rgb);
    free(p);
    unsigned char p6[11 + 12] = "P6\n2 2\n255\n";
    memset(p6 + 11, 7, 12);
    p = put("ok6.ppm", p6, sizeof p6);
    rgb = ck_image_load_rgb(p, 0, 0, &w, &h);
    CHECK(rgb && w == 2 && h == 2 && rgb[11] == 7);
    free(rgb);
    free(p);
    p = put("short6.ppm", p6, sizeof p6 - 1);
    refused(p, "pixel data ends early");
    free(p);
    p = put("short3.ppm", p3, sizeof p3 - 4);
    refused(p, "pixel data ends early");
    free(p);
    p = put("garbage.ppm", "P3 not really\n", 14);
    refused(p, "bad PNM header");
    free(p);
    p = put("zero.ppm", "P6\n5 0\n255\n", 11);
    refused(p, "corrupt");
    free(p);
    p = put("maxval.ppm", "P2\n1 1\n0\n0\n", 11);
    refused(p, "PNM maximum value 0");
    free(p);
    p = put("huge.ppm", "P6\n70000 70000\n255\n\0", 20);
    refused(p, "pixels, over the limit");
    free(p);
    /* 2^32 x 2^32 wraps a 64-bit product to 0: still over the largest limit. */
    CHECK(ck_image_set_max_pixels(CK_IMAGE_MAX_PIXELS_CAP) == 0);
    p = put("wrap.ppm", "P6\n4294967296 4294967296\n255\n\0", 30);
    refused(p, "pixels, over the limit");
    free(p);
    CHECK(ck_image_set_max_pixels(CK_IMAGE_DEFAULT_MAX_PIXELS) == 0);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "FAIL: opening a FIFO blocked\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(1);
    _exit(1);
}

static void test_not_regular(void)
{
    char *fifo = ck_path_join(dir, "fifo.png");
    CHECK(mkfifo(fifo, 0600) == 0);
    signal(SIGALRM, on_alarm);
    alarm(20);
    refused(fifo, "not a regular file");
    alarm(0);
    free(fifo);
    char *sub = ck_path_join(dir, "folder.png");
    CHECK(mkdir(sub, 0700) == 0);
    refused(sub, "not a regular file");
    free(sub);
    refused("/dev/null", "not a regular file");
}

int main(void)
{
    if (ck_image_init("test-image-limits")) {
        fprintf(stderr, "%s", ck_error_buffer());
        return 1;
    }
    snprintf(dir, sizeof dir, "ck-image-limits-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_bombs();
    test_not_raster();
    test_pnm();
    test_not_regular();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report("test-image-limits");
}
