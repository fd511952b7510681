/* Image decode/encode with libvips (PNG: libpng directly, image_png.c), and
 * a PIL-compatible bilinear resize.
 * Files are read into memory and handed to the loader chosen from their
 * magic bytes: libvips' generic file loader probes every format (about 17
 * opens per file), which dominates for 32×32 images. Pixels are computed in
 * the calling thread with vips_region_prepare(); ck parallelises over whole
 * images instead of inside libvips. */
#include "ck/image.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "image_png.h"

#include <vips/vips.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status;
static const char *init_argv0;

/* Pixel limit: set by ck_image_set_max_pixels(), else CK_MAX_PIXELS (read
 * once), else the default. */
static uint64_t max_pixels_set, max_pixels_env;
static const char *max_pixels_bad; /* CK_MAX_PIXELS that did not parse */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

int ck_image_parse_pixels(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v == 0 || v > CK_IMAGE_MAX_PIXELS_CAP)
        return -1;
    *out = v;
    return 0;
}

static void read_env(void)
{
    const char *env = getenv("CK_MAX_PIXELS");
    if (env && *env && ck_image_parse_pixels(env, &max_pixels_env))
        max_pixels_bad = env;
}

int ck_image_set_max_pixels(uint64_t n)
{
    if (n == 0 || n > CK_IMAGE_MAX_PIXELS_CAP) {
        ck_error("image", "pixel limit %llu is out of range (1 to %llu)", (unsigned long long)n,
                 (unsigned long long)CK_IMAGE_MAX_PIXELS_CAP);
        return -1;
    }
    __atomic_store_n(&max_pixels_set, n, __ATOMIC_RELAXED);
    return 0;
}

uint64_t ck_image_max_pixels(void)
{
    uint64_t n = __atomic_load_n(&max_pixels_set, __ATOMIC_RELAXED);
    if (n)
        return n;
    pthread_once(&env_once, read_env);
    return max_pixels_env ? max_pixels_env : CK_IMAGE_DEFAULT_MAX_PIXELS;
}

/* libvips reports decode problems both as an error (which we turn into a
 * message naming the file) and as g_warning()s on stderr ("error in tile 0 x
 * 16"); the second copy is noise in a tool that processes thousands of
 * files. Set CK_VIPS_WARNINGS=1 to see them. */
static void drop_warning(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)domain, (void)level, (void)msg, (void)data;
}

static void init_vips(void)
{
    const char *show = getenv("CK_VIPS_WARNINGS");
    if (!show || !*show || !strcmp(show, "0"))
        g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, drop_warning, NULL);
    if (VIPS_INIT(init_argv0 ? init_argv0 : "ck")) {
        init_status = -1;
        return;
    }
    /* One-shot images never hit the operation cache; it only costs time
     * and memory. */
    vips_cache_set_max(0);
    vips_concurrency_set(1);
}

int ck_image_init(const char *argv0)
{
    init_argv0 = argv0;
    pthread_once(&init_once, init_vips);
    pthread_once(&env_once, read_env);
    if (max_pixels_bad) {
        ck_error("image", "CK_MAX_PIXELS: '%s' is not a pixel count (an integer from 1 to %llu)", max_pixels_bad,
                 (unsigned long long)CK_IMAGE_MAX_PIXELS_CAP);
        return -1;
    }
    if (init_status) {
        ck_error("image", "cannot start libvips: %s", vips_error_buffer());
        return -1;
    }
    return 0;
}

/* The first line of libvips' error buffer, as the reason in our message. */
static void vips_reason(char *buf, size_t n)
{
    char *msg = vips_error_buffer_copy();
    snprintf(buf, n, "%s", msg && *msg ? msg : "unknown libvips error");
    g_free(msg);
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
}

ck_image_format ck_image_format_sniff(const void *data, size_t len)
{
    const unsigned char *b = data;
    if (len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
        return CK_IMAGE_PNG;
    if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return CK_IMAGE_JPEG;
    if (len >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4))
        return CK_IMAGE_WEBP;
    return CK_IMAGE_UNKNOWN;
}

ck_image_format ck_image_format_from_name(const char *name)
{
    if (!name)
        return CK_IMAGE_UNKNOWN;
    const char *dot = strrchr(name, '.');
    const char *ext = dot ? dot + 1 : name;
    if (!strcasecmp(ext, "png"))
        return CK_IMAGE_PNG;
    if (!strcasecmp(ext, "jpg") || !strcasecmp(ext, "jpeg"))
        return CK_IMAGE_JPEG;
    if (!strcasecmp(ext, "webp"))
        return CK_IMAGE_WEBP;
    return CK_IMAGE_UNKNOWN;
}

const char *ck_image_format_ext(ck_image_format f)
{
    switch (f) {
    case CK_IMAGE_PNG: return "png";
    case CK_IMAGE_JPEG: return "jpg";
    case CK_IMAGE_WEBP: return "webp";
    default: return NULL;
    }
}

/* The pixel count a header claims, against the limit: decoders allocate
 * width×height×bands before reading a single pixel, so a 4 KB file can ask
 * for gigabytes. */
static int check_pixels(const char *name, uint64_t w, uint64_t h)
{
    uint64_t limit = ck_image_max_pixels();
    if (w == 0 || h == 0) {
        ck_error("image", "%s: truncated or corrupt image (size %llux%llu)", name, (unsigned long long)w,
                 (unsigned long long)h);
        return -1;
    }
    if (w > limit / h) { /* w·h > limit without overflow */
        ck_error("image", "%s: %llux%llu is %.0f pixels, over the limit of %llu (raise it with --max-pixels or "
                 "CK_MAX_PIXELS)", name, (unsigned long long)w, (unsigned long long)h, (double)w * (double)h,
                 (unsigned long long)limit);
        return -1;
    }
    return 0;
}

/* The one way image files are opened: the type is checked before open()
 * (a FIFO or a device would block or never end) and again on the open
 * descriptor; O_NONBLOCK keeps a FIFO swapped in between from blocking.
 * The whole file comes into memory; "0-byte file" is its own error because
 * it is the commonest broken download. Files larger than any image within
 * the pixel limit could be (16 bytes a pixel, plus metadata) are refused. */
static void *read_whole(const char *path, size_t *len)
{
    struct stat st;
    if (stat(path, &st)) {
        ck_error_system(errno, "image", "%s", path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        ck_error("image", "%s: not a regular file", path);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        ck_error_system(errno, "image", "%s", path);
        return NULL;
    }
    if (fstat(fd, &st)) {
        ck_error_system(errno, "image", "%s", path);
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        ck_error("image", "%s: not a regular file", path);
        return NULL;
    }
    if (st.st_size == 0) {
        close(fd);
        ck_error("image", "%s: 0-byte file", path);
        return NULL;
    }
    uint64_t max_bytes = ck_image_max_pixels() * 16 + ((uint64_t)16 << 20);
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        ck_error("image", "%s: %lld bytes, larger than any image within the pixel limit of %llu", path,
                 (long long)st.st_size, (unsigned long long)ck_image_max_pixels());
        return NULL;
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *buf = malloc(n);
    if (!buf) {
        close(fd);
        ck_error("image", "%s: out of memory", path);
        return NULL;
    }
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int err = k < 0 ? errno : EIO;
            free(buf);
            close(fd);
            ck_error_system(err, "image", "%s: read failed", path);
            return NULL;
        }
        got += (size_t)k;
    }
    close(fd);
    *len = n;
    return buf;
}

/* Loaders of raster formats only: libvips also renders SVG and PDF (whose
 * size is whatever the file says, at any scale), and reads formats through
 * ImageMagick and others that are not meant for untrusted files. */
static int raster_loader(const char *loader)
{
    static const char *const ok[] = {"pngload", "jpegload", "webpload", "tiffload", "gifload", "ppmload", NULL};
    for (int i = 0; ok[i]; i++) {
        size_t n = strlen(ok[i]);
        if (!strncmp(loader, ok[i], n) && (loader[n] == '\0' || loader[n] == '_'))
            return 1;
    }
    return 0;
}

/* Netpbm (P1..P6): libvips' loader accepts a header of height 0 or
 * garbage and pads short pixel data without complaint, so the header is
 * read here and the pixel data counted. 0 complete, -1 error set. */
static int pnm_check(const unsigned char *b, size_t len, const char *name)
{
    if (len < 2 || b[0] != 'P' || b[1] < '1' || b[1] > '6') {
        ck_error("image", "%s: not a PBM/PGM/PPM image (P1 to P6)", name);
        return -1;
    }
    int kind = b[1] - '0', nval = kind == 1 || kind == 4 ? 2 : 3;
    uint64_t v[3] = {0, 0, 1};
    size_t pos = 2;
    for (int i = 0; i < nval; i++) {
        while (pos < len && (isspace(b[pos]) || b[pos] == '#'))
            if (b[pos++] == '#')
                while (pos < len && b[pos] != '\n')
                    pos++;
        if (pos >= len || !isdigit(b[pos]))
            goto corrupt;
        v[i] = 0;
        for (; pos < len && isdigit(b[pos]); pos++)
            if ((v[i] = v[i] * 10 + (uint64_t)(b[pos] - '0')) > ((uint64_t)1 << 32))
                goto corrupt;
    }
    if (v[2] == 0 || v[2] > 65535) {
        ck_error("image", "%s: truncated or corrupt image (PNM maximum value %llu)", name, (unsigned long long)v[2]);
        return -1;
    }
    if (check_pixels(name, v[0], v[1]))
        return -1;
    uint64_t bands = kind == 3 || kind == 6 ? 3 : 1, samples = v[0] * v[1] * bands;
    if (kind >= 4) {
        uint64_t need = kind == 4 ? (v[0] + 7) / 8 * v[1] : samples * (v[2] > 255 ? 2 : 1);
        if (pos >= len || len - pos - 1 < need)
            goto truncated;
        return 0;
    }
    uint64_t got = 0; /* P1 digits may touch; P2, P3 numbers are separated */
    for (; pos < len && got < samples; pos++)
        if (isdigit(b[pos]) && (kind == 1 || !isdigit(b[pos - 1])))
            got++;
    if (got < samples)
        goto truncated;
    return 0;
corrupt:
    ck_error("image", "%s: truncated or corrupt image (bad PNM header)", name);
    return -1;
truncated:
    ck_error("image", "%s: truncated or corrupt image (pixel data ends early)", name);
    return -1;
}

/* Lazy libvips image for a buffer (pixels are decoded later, on demand).
 * fail_on=truncated turns libvips' "truncated" warnings into errors so that
 * half-downloaded files are reported instead of padded with grey. */
static VipsImage *open_buffer(const void *data, size_t len, const char *name, int jpeg_shrink)
{
    VipsImage *img = NULL;
    int rc;
    void *buf = (void *)data;
    switch (ck_image_format_sniff(data, len)) {
    case CK_IMAGE_PNG:
        rc = vips_pngload_buffer(buf, len, &img, "fail_on", VIPS_FAIL_ON_TRUNCATED,
                                 "access", VIPS_ACCESS_SEQUENTIAL, NULL);
        break;
    case CK_IMAGE_JPEG:
        rc = vips_jpegload_buffer(buf, len, &img, "fail_on", VIPS_FAIL_ON_TRUNCATED,
                                  "access", VIPS_ACCESS_SEQUENTIAL, "shrink",
                                  jpeg_shrink > 1 ? jpeg_shrink : 1, NULL);
        break;
    case CK_IMAGE_WEBP:
        rc = vips_webpload_buffer(buf, len, &img, "fail_on", VIPS_FAIL_ON_TRUNCATED,
                                  "access", VIPS_ACCESS_SEQUENTIAL, NULL);
        break;
    default: {
        /* Through a memory source: some raster loaders (PPM) have no
         * buffer variant, and the buffer probe would pick ImageMagick. */
        VipsSource *src = vips_source_new_from_memory(data, len);
        const char *loader = src ? vips_foreign_find_load_source(src) : NULL;
        if (!loader) {
            vips_error_clear();
            if (src)
                g_object_unref(src);
            ck_error("image", "%s: not an image (unknown file format)", name);
            return NULL;
        }
        /* find_load gives the class name; the nickname is the stable one. */
        const char *nick = vips_nickname_find(g_type_from_name(loader));
        if (!nick || !raster_loader(nick)) {
            g_object_unref(src);
            ck_error("image", "%s: %.*s files are not read (only raster images: PNG, JPEG, WebP, TIFF, GIF, "
                     "PPM)", name, nick ? (int)strcspn(nick, "_") : (int)strlen(loader), nick ? nick : loader);
            return NULL;
        }
        if (!strncmp(nick, "ppmload", 7) && pnm_check(data, len, name)) {
            g_object_unref(src);
            return NULL;
        }
        img = vips_image_new_from_source(src, "", "fail_on", VIPS_FAIL_ON_TRUNCATED, "access",
                                         VIPS_ACCESS_SEQUENTIAL, NULL);
        g_object_unref(src);
        rc = img ? 0 : -1;
        break;
    }
    }
    if (rc) {
        char why[512];
        vips_reason(why, sizeof why);
        vips_error_clear();
        ck_error("image", "%s: truncated or corrupt image (%s)", name, why);
        return NULL;
    }
    if (check_pixels(name, (uint64_t)img->Xsize, (uint64_t)img->Ysize)) {
        g_object_unref(img);
        return NULL;
    }
    return img;
}

/* PNG's size from its IHDR chunk, which must come first. */
static int png_header_size(const unsigned char *b, size_t len, const char *name, uint64_t *w, uint64_t *h)
{
    if (len < 24 || memcmp(b + 12, "IHDR", 4)) {
        ck_error("image", "%s: truncated or corrupt image (no PNG header)", name);
        return -1;
    }
    *w = (uint64_t)b[16] << 24 | (uint64_t)b[17] << 16 | (uint64_t)b[18] << 8 | b[19];
    *h = (uint64_t)b[20] << 24 | (uint64_t)b[21] << 16 | (uint64_t)b[22] << 8 | b[23];
    return 0;
}

int ck_image_probe(const void *data, size_t len, const char *name, int *w, int *h)
{
    if (!name)
        name = "(memory)";
    if (!data || len == 0) {
        ck_error("image", "%s: 0-byte file", name);
        return -1;
    }
    uint64_t W, H;
    if (ck_image_format_sniff(data, len) == CK_IMAGE_PNG) {
        if (png_header_size(data, len, name, &W, &H) || check_pixels(name, W, H))
            return -1;
    } else {
        if (ck_image_init(NULL))
            return -1;
        VipsImage *img = open_buffer(data, len, name, 1);
        if (!img)
            return -1;
        W = (uint64_t)img->Xsize;
        H = (uint64_t)img->Ysize;
        g_object_unref(img);
    }
    if (w)
        *w = (int)W;
    if (h)
        *h = (int)H;
    return 0;
}

/* Any band layout / depth / colour space → uchar with 1 or 3 bands (grey is
 * replicated later, while copying). Takes ownership of `in`. */
static VipsImage *to_rgb8(VipsImage *in)
{
    VipsImage *img = in, *t = NULL;
#define STEP(call)                  \
    do {                            \
        if (call) {                 \
            g_object_unref(img);    \
            return NULL;            \
        }                           \
        g_object_unref(img);        \
        img = t;                    \
    } while (0)
    VipsInterpretation type = vips_image_guess_interpretation(img);
    if (type == VIPS_INTERPRETATION_CMYK || type == VIPS_INTERPRETATION_LAB ||
        type == VIPS_INTERPRETATION_XYZ || type == VIPS_INTERPRETATION_scRGB ||
        type == VIPS_INTERPRETATION_LABS || type == VIPS_INTERPRETATION_HSV)
        STEP(vips_colourspace(img, &t, VIPS_INTERPRETATION_sRGB, NULL));
    if (vips_image_hasalpha(img))
        STEP(vips_flatten(img, &t, NULL)); /* on black; max_alpha from the depth */
    if (img->BandFmt == VIPS_FORMAT_USHORT)
        STEP(vips_rshift_const1(img, &t, 8, NULL));
    if (img->BandFmt != VIPS_FORMAT_UCHAR)
        STEP(vips_cast_uchar(img, &t, NULL));
    if (img->Bands != 1 && img->Bands != 3)
        STEP(vips_extract_band(img, &t, 0, "n", img->Bands >= 3 ? 3 : 1, NULL));
#undef STEP
    return img;
}

/* Decode into a new malloc'd RGB buffer at the file's (possibly JPEG
 * shrunk) size. */
static uint8_t *decode_native(const void *data, size_t len, const char *name, int want_w,
                              int want_h, int *w, int *h)
{
    if (ck_image_format_sniff(data, len) == CK_IMAGE_PNG) {
        uint64_t W, H;
        if (png_header_size(data, len, name, &W, &H) || check_pixels(name, W, H))
            return NULL;
        return ck_png_decode(data, len, name, w, h);
    }
    if (ck_image_init(NULL))
        return NULL;
    VipsImage *img = open_buffer(data, len, name, 1);
    if (!img)
        return NULL;
    /* Shrink-on-load: the JPEG decoder can produce 1/2, 1/4 or 1/8 size
     * almost for free; keep at least the target size so the final resize
     * still filters properly. */
    if (want_w > 0 && want_h > 0 && ck_image_format_sniff(data, len) == CK_IMAGE_JPEG) {
        int shrink = 1;
        while (shrink < 8 && img->Xsize / (shrink * 2) >= want_w &&
               img->Ysize / (shrink * 2) >= want_h)
            shrink *= 2;
        if (shrink > 1) {
            g_object_unref(img);
            if (!(img = open_buffer(data, len, name, shrink)))
                return NULL;
        }
    }
    img = to_rgb8(img);
    if (!img) {
        char why[512];
        vips_reason(why, sizeof why);
        vips_error_clear();
        ck_error("image", "%s: cannot convert to RGB (%s)", name, why);
        return NULL;
    }
    int W = img->Xsize, H = img->Ysize, bands = img->Bands;
    uint8_t *rgb = malloc((size_t)W * H * 3);
    VipsRegion *region = vips_region_new(img);
    VipsRect all = {0, 0, W, H};
    if (!rgb || !region || vips_region_prepare(region, &all)) {
        char why[512];
        vips_reason(why, sizeof why);
        vips_error_clear();
        if (!rgb)
            ck_error("image", "%s: out of memory", name);
        else
            ck_error("image", "%s: truncated or corrupt image (%s)", name, why);
        free(rgb);
        if (region)
            g_object_unref(region);
        g_object_unref(img);
        return NULL;
    }
    for (int y = 0; y < H; y++) {
        const uint8_t *row = (const uint8_t *)VIPS_REGION_ADDR(region, 0, y);
        uint8_t *out = rgb + (size_t)y * W * 3;
        if (bands == 3) {
            memcpy(out, row, (size_t)W * 3);
        } else {
            for (int x = 0; x < W; x++)
                out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = row[x];
        }
    }
    g_object_unref(region);
    g_object_unref(img);
    *w = W;
    *h = H;
    return rgb;
}

uint8_t *ck_image_decode_rgb(const void *data, size_t len, const char *name, int out_w,
                             int out_h, int *w, int *h)
{
    if (!name)
        name = "(memory)";
    if (out_w < 0 || out_h < 0 || (out_w > 0) != (out_h > 0)) {
        ck_error("image", "%s: bad target size %dx%d", name, out_w, out_h);
        return NULL;
    }
    if (len == 0) {
        ck_error("image", "%s: 0-byte file", name);
        return NULL;
    }
    int W, H;
    uint8_t *rgb = decode_native(data, len, name, out_w, out_h, &W, &H);
    if (!rgb)
        return NULL;
    if (out_w > 0 && (out_w != W || out_h != H)) {
        uint8_t *small = malloc((size_t)out_w * out_h * 3);
        if (!small || ck_image_resize_rgb(rgb, W, H, small, out_w, out_h)) {
            if (!small)
                ck_error("image", "%s: out of memory", name);
            free(small);
            free(rgb);
            return NULL;
        }
        free(rgb);
        rgb = small;
        W = out_w;
        H = out_h;
    }
    if (w)
        *w = W;
    if (h)
        *h = H;
    return rgb;
}

uint8_t *ck_image_load_rgb(const char *path, int out_w, int out_h, int *w, int *h)
{
    size_t len;
    void *data = read_whole(path, &len);
    if (!data)
        return NULL;
    uint8_t *rgb = ck_image_decode_rgb(data, len, path, out_w, out_h, w, h);
    free(data);
    return rgb;
}

int ck_image_load_rgb_into(const char *path, int out_w, int out_h, uint8_t *dst)
{
    if (out_w <= 0 || out_h <= 0 || !dst) {
        ck_error("image", "%s: bad target size %dx%d", path, out_w, out_h);
        return -1;
    }
    size_t len;
    void *data = read_whole(path, &len);
    if (!data)
        return -1;
    int W, H;
    uint8_t *rgb = decode_native(data, len, path, out_w, out_h, &W, &H);
    free(data);
    if (!rgb)
        return -1;
    int rc = 0;
    if (W == out_w && H == out_h)
        memcpy(dst, rgb, (size_t)W * H * 3);
    else
        rc = ck_image_resize_rgb(rgb, W, H, dst, out_w, out_h);
    free(rgb);
    return rc;
}

int ck_image_size(const char *path, int *w, int *h)
{
    size_t len;
    void *data = read_whole(path, &len);
    if (!data)
        return -1;
    int rc = ck_image_probe(data, len, path, w, h);
    free(data);
    return rc;
}

void *ck_image_encode_rgb(const uint8_t *rgb, int w, int h, ck_image_format f, int quality,
                          size_t *len)
{
    if (w < 1 || h < 1 || !rgb) {
        ck_error("image", "cannot encode a %dx%d image", w, h);
        return NULL;
    }
    if (f == CK_IMAGE_PNG)
        return ck_png_encode(rgb, w, h, len);
    if (ck_image_init(NULL))
        return NULL;
    if (quality <= 0)
        quality = 90;
    if (quality > 100)
        quality = 100;
    VipsImage *img = vips_image_new_from_memory(rgb, (size_t)w * h * 3, w, h, 3, VIPS_FORMAT_UCHAR);
    if (!img) {
        ck_error("image", "cannot wrap pixels: %s", vips_error_buffer());
        vips_error_clear();
        return NULL;
    }
    void *buf = NULL;
    int rc;
    switch (f) {
    case CK_IMAGE_JPEG:
        rc = vips_jpegsave_buffer(img, &buf, len, "Q", quality, "subsample_mode",
                                  VIPS_FOREIGN_SUBSAMPLE_ON, "strip", TRUE, NULL);
        break;
    case CK_IMAGE_WEBP:
        rc = vips_webpsave_buffer(img, &buf, len, "Q", quality, "strip", TRUE, NULL);
        break;
    default:
        g_object_unref(img);
        ck_error("image", "unknown output format (use png, jpg or webp)");
        return NULL;
    }
    g_object_unref(img);
    if (rc) {
        char why[512];
        vips_reason(why, sizeof why);
        vips_error_clear();
        ck_error("image", "cannot encode %s: %s", ck_image_format_ext(f), why);
        return NULL;
    }
    /* g_malloc is plain malloc since GLib 2.46, so callers may free(). */
    return buf;
}

/* Through the one output function, without CK_OUT_SYNC: a reader never
 * sees a half-written image and a failed write leaves nothing behind, but
 * images are not forced to the disk one by one. With thousands of 2 KB
 * outputs the fsync()s took 10x the CPU work (docs/augment.md); outputs can
 * be regenerated after a power cut, unlike checkpoints. */
static int write_image_file(const char *path, const void *data, size_t len)
{
    ck_atomic_file *f = ck_atomic_open(path, 0);
    if (!f)
        return -1;
    if (ck_atomic_put(f, data, len) != 0) {
        ck_atomic_abort(f);
        return -1;
    }
    return ck_atomic_commit(f);
}

int ck_image_save_rgb(const char *path, const uint8_t *rgb, int w, int h, int quality)
{
    ck_image_format f = ck_image_format_from_name(path);
    if (f == CK_IMAGE_UNKNOWN || !strrchr(path, '.')) {
        ck_error("image", "%s: unknown image extension (use .png, .jpg or .webp)", path);
        return -1;
    }
    size_t len;
    void *buf = ck_image_encode_rgb(rgb, w, h, f, quality, &len);
    if (!buf) {
        ck_error("image", "%s: not written", path);
        return -1;
    }
    int rc = write_image_file(path, buf, len);
    free(buf);
    return rc;
}

/* PIL's resampling for the BILINEAR filter: separable, triangle kernel of
 * support 1 scaled by the reduction factor (so shrinking averages instead of
 * aliasing), half-pixel centres, horizontal pass then vertical, each rounded
 * to 8 bits. Weights are normalised per output pixel. */
typedef struct {
    int *start, *count; /* per output index */
    float *w;           /* count[i] weights at w[i*stride] */
    int stride;
} coeffs;

static int make_coeffs(int in, int out, coeffs *c)
{
    double scale = (double)in / out;
    double fs = scale > 1 ? scale : 1;
    double support = fs; /* triangle support 1 × fs */
    c->stride = (int)ceil(support) * 2 + 1;
    c->start = malloc(sizeof(int) * (size_t)out);
    c->count = malloc(sizeof(int) * (size_t)out);
    c->w = malloc(sizeof(float) * (size_t)out * (size_t)c->stride);
    if (!c->start || !c->count || !c->w)
        return -1;
    for (int i = 0; i < out; i++) {
        double center = (i + 0.5) * scale;
        int lo = (int)(center - support + 0.5);
        int hi = (int)(center + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        int n = hi - lo;
        if (n > c->stride)
            n = c->stride;
        double sum = 0;
        float *w = c->w + (size_t)i * c->stride;
        for (int k = 0; k < n; k++) {
            double t = fabs((k + lo - center + 0.5) / fs);
            double v = t < 1 ? 1 - t : 0;
            w[k] = (float)v;
            sum += v;
        }
        if (sum > 0)
            for (int k = 0; k < n; k++)
                w[k] = (float)(w[k] / sum);
        c->start[i] = lo;
        c->count[i] = n;
    }
    return 0;
}

static void free_coeffs(coeffs *c)
{
    free(c->start);
    free(c->count);
    free(c->w);
}

static inline uint8_t clip8(float v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5f);
}

int ck_image_resize_rgb(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh)
{
    if (!src || !dst || sw < 1 || sh < 1 || dw < 1 || dh < 1) {
        ck_error("image", "bad resize %dx%d -> %dx%d", sw, sh, dw, dh);
        return -1;
    }
    if (sw == dw && sh == dh) {
        memcpy(dst, src, (size_t)sw * sh * 3);
        return 0;
    }
    coeffs cx = {0}, cy = {0};
    uint8_t *tmp = malloc((size_t)dw * sh * 3);
    if (!tmp || make_coeffs(sw, dw, &cx) || make_coeffs(sh, dh, &cy)) {
        free(tmp);
        free_coeffs(&cx);
        free_coeffs(&cy);
        ck_error("image", "out of memory");
        return -1;
    }
    for (int y = 0; y < sh; y++) {
        const uint8_t *row = src + (size_t)y * sw * 3;
        uint8_t *out = tmp + (size_t)y * dw * 3;
        for (int x = 0; x < dw; x++) {
            const float *w = cx.w + (size_t)x * cx.stride;
            const uint8_t *p = row + (size_t)cx.start[x] * 3;
            float r = 0, g = 0, b = 0;
            for (int k = 0; k < cx.count[x]; k++, p += 3) {
                r += w[k] * p[0];
                g += w[k] * p[1];
                b += w[k] * p[2];
            }
            out[3 * x] = clip8(r);
            out[3 * x + 1] = clip8(g);
            out[3 * x + 2] = clip8(b);
        }
    }
    size_t stride = (size_t)dw * 3;
    for (int y = 0; y < dh; y++) {
        const float *w = cy.w + (size_t)y * cy.stride;
        const uint8_t *col = tmp + (size_t)cy.start[y] * stride;
        uint8_t *out = dst + (size_t)y * stride;
        for (size_t i = 0; i < stride; i++) {
            float v = 0;
            for (int k = 0; k < cy.count[y]; k++)
                v += w[k] * col[(size_t)k * stride + i];
            out[i] = clip8(v);
        }
    }
    free(tmp);
    free_coeffs(&cx);
    free_coeffs(&cy);
    return 0;
}
