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

/* Whole file into memory; "0-byte file" is its own error because it is the
 * commonest broken download. */
static void *read_whole(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ck_error_system(errno, "image", "%s", path);
        return NULL;
    }
    struct stat st;
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
    default:
        if (!vips_foreign_find_load_buffer(data, len)) {
            vips_error_clear();
            ck_error("image", "%s: not an image (unknown file format)", name);
            return NULL;
        }
        img = vips_image_new_from_buffer(data, len, "", "fail_on", VIPS_FAIL_ON_TRUNCATED,
                                         "access", VIPS_ACCESS_SEQUENTIAL, NULL);
        rc = img ? 0 : -1;
        break;
    }
    if (rc) {
        char why[512];
        vips_reason(why, sizeof why);
        vips_error_clear();
        ck_error("image", "%s: truncated or corrupt image (%s)", name, why);
        return NULL;
    }
    return img;
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
    if (ck_image_format_sniff(data, len) == CK_IMAGE_PNG)
        return ck_png_decode(data, len, name, w, h);
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
    int rc = -1;
    if (ck_image_init(NULL) == 0) {
        VipsImage *img = open_buffer(data, len, path, 1);
        if (img) {
            if (w)
                *w = img->Xsize;
            if (h)
                *h = img->Ysize;
            g_object_unref(img);
            rc = 0;
        }
    }
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
