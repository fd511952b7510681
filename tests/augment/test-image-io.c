/* Image loading and saving: every input layout becomes RGB8, bad files are
 * reported by name, resizing matches PIL's BILINEAR, outputs round-trip. */
#include "check.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/image.h"

#include <vips/vips.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static char *tmp_path(const char *name)
{
    return ck_path_join(dir, name);
}

/* A pattern with few distinct colours, so that palette PNGs are lossless. */
static void pattern(uint8_t *rgb, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)((x / 4) * 60);
            p[1] = (uint8_t)((y / 4) * 50);
            p[2] = (uint8_t)(((x + y) / 8) * 70);
        }
}

/* Save a libvips image as PNG with the given options, then unref it. */
static void save_png(VipsImage *img, const char *name, int palette, int bitdepth)
{
    char *path = tmp_path(name);
    int rc = palette ? vips_pngsave(img, path, "palette", TRUE, "Q", 100, "dither", 0.0, NULL)
                     : vips_pngsave(img, path, "bitdepth", bitdepth, NULL);
    if (rc)
        fprintf(stderr, "cannot write %s: %s\n", path, vips_error_buffer());
    CHECK(rc == 0);
    g_object_unref(img);
    free(path);
}

static void test_roundtrip(void)
{
    enum { w = 20, h = 12 };
    uint8_t rgb[w * h * 3];
    pattern(rgb, w, h);
    char *png = tmp_path("rt.png"), *jpg = tmp_path("rt.jpg"), *webp = tmp_path("rt.webp");
    CHECK(ck_image_save_rgb(png, rgb, w, h, 0) == 0);
    CHECK(ck_image_save_rgb(jpg, rgb, w, h, 95) == 0);
    CHECK(ck_image_save_rgb(webp, rgb, w, h, 95) == 0);
    int lw = 0, lh = 0;
    uint8_t *back = ck_image_load_rgb(png, 0, 0, &lw, &lh);
    CHECK(back && lw == w && lh == h && !memcmp(back, rgb, sizeof rgb));
    free(back);
    back = ck_image_load_rgb(jpg, 0, 0, &lw, &lh);
    CHECK(back && lw == w && lh == h);
    free(back);
    back = ck_image_load_rgb(webp, 0, 0, &lw, &lh);
    CHECK(back && lw == w && lh == h);
    free(back);
    CHECK(ck_image_size(png, &lw, &lh) == 0 && lw == w && lh == h);
    uint8_t into[10 * 6 * 3];
    CHECK(ck_image_load_rgb_into(png, 10, 6, into) == 0);
    /* Unknown extension: error, nothing written. */
    char *bmp = tmp_path("rt.bmp");
    CHECK(ck_image_save_rgb(bmp, rgb, w, h, 0) == -1);
    CHECK(!ck_file_exists(bmp));
    ck_error_clear();
    free(bmp);
    free(png);
    free(jpg);
    free(webp);
    CHECK(ck_image_format_from_name("A.JPEG") == CK_IMAGE_JPEG);
    CHECK(ck_image_format_from_name("webp") == CK_IMAGE_WEBP);
    CHECK(ck_image_format_from_name("x.gif") == CK_IMAGE_UNKNOWN);
}

static void test_layouts(void)
{
    enum { w = 16, h = 16 };
    uint8_t rgb[w * h * 3], grey[w * h], rgba[w * h * 4];
    uint16_t rgb16[w * h * 3];
    pattern(rgb, w, h);
    for (int i = 0; i < w * h; i++) {
        grey[i] = (uint8_t)(i * 7);
        memcpy(rgba + 4 * i, rgb + 3 * i, 3);
        rgba[4 * i + 3] = (i % 2) ? 255 : 0; /* opaque / fully transparent */
        for (int c = 0; c < 3; c++)
            rgb16[3 * i + c] = (uint16_t)(rgb[3 * i + c] * 257);
    }
    save_png(vips_image_new_from_memory_copy(grey, sizeof grey, w, h, 1, VIPS_FORMAT_UCHAR),
             "grey.png", 0, 8);
    save_png(vips_image_new_from_memory_copy(rgba, sizeof rgba, w, h, 4, VIPS_FORMAT_UCHAR),
             "rgba.png", 0, 8);
    save_png(vips_image_new_from_memory_copy(rgb, sizeof rgb, w, h, 3, VIPS_FORMAT_UCHAR),
             "palette.png", 1, 8);
    VipsImage *img16 = vips_image_new_from_memory_copy(rgb16, sizeof rgb16, w, h, 3, VIPS_FORMAT_USHORT);
    img16->Type = VIPS_INTERPRETATION_RGB16;
    save_png(img16, "rgb16.png", 0, 16);

    int lw, lh, bad;
    char *p = tmp_path("grey.png");
    uint8_t *out = ck_image_load_rgb(p, 0, 0, &lw, &lh);
    CHECK(out && lw == w && lh == h);
    bad = 0;
    for (int i = 0; out && i < w * h; i++)
        bad += out[3 * i] != grey[i] || out[3 * i + 1] != grey[i] || out[3 * i + 2] != grey[i];
    CHECK(bad == 0);
    free(out);
    free(p);

    p = tmp_path("rgba.png");
    out = ck_image_load_rgb(p, 0, 0, &lw, &lh);
    CHECK(out != NULL);
    bad = 0;
    for (int i = 0; out && i < w * h; i++)
        for (int c = 0; c < 3; c++)
            bad += out[3 * i + c] != ((i % 2) ? rgb[3 * i + c] : 0); /* flattened on black */
    CHECK(bad == 0);
    free(out);
    free(p);

    const char *same[] = {"palette.png", "rgb16.png"};
    for (int k = 0; k < 2; k++) {
        p = tmp_path(same[k]);
        out = ck_image_load_rgb(p, 0, 0, &lw, &lh);
        CHECK(out && lw == w && lh == h && !memcmp(out, rgb, sizeof rgb));
        if (!out)
            fprintf(stderr, "%s", ck_error_buffer());
        free(out);
        free(p);
    }
}

static void expect_error(const char *name, const char *what)
{
    char *p = tmp_path(name);
    ck_error_clear();
    int w, h;
    uint8_t *out = ck_image_load_rgb(p, 0, 0, &w, &h);
    CHECK(out == NULL);
    const char *msg = ck_error_buffer();
    int ok = strstr(msg, name) && strstr(msg, what);
    if (!ok)
        fprintf(stderr, "for %s expected '%s' in: %s", name, what, msg);
    CHECK(ok);
    uint8_t buf[4 * 4 * 3];
    ck_error_clear();
    CHECK(ck_image_load_rgb_into(p, 4, 4, buf) == -1);
    CHECK(strstr(ck_error_buffer(), name) != NULL);
    ck_error_clear();
    free(out);
    free(p);
}

static void test_bad_files(void)
{
    enum { w = 32, h = 32 };
    uint8_t rgb[w * h * 3];
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(i * 2654435761u >> 13); /* incompressible */
    size_t len;
    void *png = ck_image_encode_rgb(rgb, w, h, CK_IMAGE_PNG, 0, &len);
    CHECK(png && len > 200);
    char *p = tmp_path("truncated.png");
    ck_atomic_write(p, png, len / 2);
    free(p);
    void *jpg = ck_image_encode_rgb(rgb, w, h, CK_IMAGE_JPEG, 90, &len);
    p = tmp_path("truncated.jpg");
    ck_atomic_write(p, jpg, len / 2);
    free(p);
    free(png);
    free(jpg);
    p = tmp_path("empty.png");
    ck_atomic_write(p, "", 0);
    free(p);
    p = tmp_path("text.png");
    const char *text = "file_name\tlabel_id\ntrain_0.png\t3\n";
    ck_atomic_write(p, text, strlen(text));
    free(p);

    expect_error("empty.png", "0-byte file");
    expect_error("truncated.png", "truncated");
    expect_error("truncated.jpg", "truncated");
    expect_error("text.png", "not an image");
    expect_error("missing.png", "No such file");
}

static void test_resize_matches_pil(void)
{
    enum { w = 5, h = 4 };
    uint8_t a[w * h * 3];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = a + (y * w + x) * 3;
            p[0] = (uint8_t)((x * 53 + y * 17) % 256);
            p[1] = (uint8_t)((x * x * 11 + y * 71) % 256);
            p[2] = (uint8_t)((255 - x * 40 - y * 9) % 256);
        }
    /* PIL 9.4: Image.fromarray(a).resize((w, h), Image.BILINEAR). */
    static const uint8_t up[] = {23,5,238,106,49,175,189,143,112,29,30,235,112,74,172,195,168,109,39,71,230,122,115,167,205,209,104,49,112,225,132,156,162,215,177,99,58,152,219,141,182,156,214,136,93,68,193,214,151,109,151,140,114,88,74,218,211,157,63,148,94,100,85};
    static const uint8_t wide[] = {5,21,252,28,26,235,61,34,210,94,55,185,128,82,160,161,117,135,194,163,110,217,197,92,26,107,242,49,112,225,82,120,200,115,141,175,149,168,150,182,203,125,215,177,100,238,155,82,46,192,231,69,197,214,102,194,189,135,102,164,169,73,139,202,108,114,134,111,89,79,112,71};
    uint8_t o1[3 * 7 * 3], o2[8 * 3 * 3];
    CHECK(ck_image_resize_rgb(a, w, h, o1, 3, 7) == 0);
    CHECK(ck_image_resize_rgb(a, w, h, o2, 8, 3) == 0);
    int d1 = 0, d2 = 0;
    for (size_t i = 0; i < sizeof o1; i++)
        d1 = abs(o1[i] - up[i]) > d1 ? abs(o1[i] - up[i]) : d1;
    for (size_t i = 0; i < sizeof o2; i++)
        d2 = abs(o2[i] - wide[i]) > d2 ? abs(o2[i] - wide[i]) : d2;
    CHECK(d1 <= 1);
    CHECK(d2 <= 1);
}

/* Saving: a new file and a replaced one (the two ways of image.c's atomic
 * write) hold the right pixels, get ordinary permissions (0666 less the
 * umask), and leave no temporary file; a missing folder is an error that
 * names the file. */
static void test_save_replace(void)
{
    enum { w = 6, h = 5 };
    uint8_t a[w * h * 3], b[w * h * 3];
    memset(a, 10, sizeof a);
    memset(b, 200, sizeof b);
    char *p = tmp_path("replace.png");
    mode_t um = umask(022);
    CHECK(ck_image_save_rgb(p, a, w, h, 0) == 0);
    CHECK(ck_image_save_rgb(p, b, w, h, 0) == 0);
    umask(um);
    int iw = 0, ih = 0;
    uint8_t *got = ck_image_load_rgb(p, 0, 0, &iw, &ih);
    CHECK(got && iw == w && ih == h && memcmp(got, b, sizeof b) == 0);
    free(got);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0644);
    DIR *d = opendir(dir);
    int leftovers = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        leftovers += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    CHECK(leftovers == 0);
    free(p);
    p = tmp_path("no-such-folder/x.png");
    ck_error_clear();
    CHECK(ck_image_save_rgb(p, a, w, h, 0) == -1 && strstr(ck_error_buffer(), "no-such-folder/x.png"));
    ck_error_clear();
    free(p);
}

int main(void)
{
    if (ck_image_init("test-image-io")) {
        fprintf(stderr, "%s", ck_error_buffer());
        return 1;
    }
    snprintf(dir, sizeof dir, "ck-image-io-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_roundtrip();
    test_save_replace();
    test_layouts();
    test_bad_files();
    test_resize_matches_pil();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report("test-image-io");
}
