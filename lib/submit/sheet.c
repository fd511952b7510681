/* Contact sheets of images with captions (see ck/worst.h): libvips' text
 * operation for the captions, arrayjoin for the grid. */
#include "ck/worst.h"

#include "ck/error.h"
#include "ck/image.h"

#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

static void vips_failed(const char *path, const char *what)
{
    ck_error("sheet", "%s: %s failed: %s", path, what, vips_error_buffer());
    vips_error_clear();
}

/* Whether the text operation has a real font: without one, pango draws
 * every character as the same box, so a narrow and a wide word come out
 * equally wide (or the operation fails). */
static int have_font(void)
{
    VipsImage *narrow = NULL, *wide = NULL;
    int ok = !vips_text(&narrow, "iiii", "font", "sans 8", NULL) && !vips_text(&wide, "MMMM", "font", "sans 8", NULL) &&
             vips_image_get_width(narrow) < vips_image_get_width(wide);
    vips_error_clear();
    if (narrow)
        g_object_unref(narrow);
    if (wide)
        g_object_unref(wide);
    return ok;
}

/* The caption as a tile×CK_SHEET_CAPTION_H RGB image, black on white; NULL
 * when no text could be drawn (no fonts: the operation fails or has no ink). */
static VipsImage *caption_image(const char *text, int tile)
{
    VipsImage *mask = NULL, *band = NULL, *inv = NULL, *rgb = NULL;
    double ink = 0;
    char *escaped = g_markup_escape_text(text, -1);
    if (vips_text(&mask, escaped, "font", "sans 8", NULL) || vips_max(mask, &ink, NULL) ||
        ink <= 0 ||
        vips_embed(mask, &band, 2, 2, tile, CK_SHEET_CAPTION_H, "extend", VIPS_EXTEND_BLACK, NULL) ||
        vips_invert(band, &inv, NULL)) {
        vips_error_clear();
        g_free(escaped);
        if (mask)
            g_object_unref(mask);
        if (band)
            g_object_unref(band);
        return NULL;
    }
    VipsImage *three[3] = {inv, inv, inv};
    if (vips_bandjoin(three, &rgb, 3, NULL))
        vips_error_clear();
    g_free(escaped);
    g_object_unref(mask);
    g_object_unref(band);
    g_object_unref(inv);
    return rgb;
}

/* The image fitted in a tile×tile square on white: malloc'd RGB8. */
static uint8_t *tile_pixels(const char *file, int tile)
{
    int w, h;
    if (ck_image_size(file, &w, &h))
        return NULL;
    int fw = w >= h ? tile : (int)((long)w * tile / h), fh = w >= h ? (int)((long)h * tile / w) : tile;
    fw = fw < 1 ? 1 : fw;
    fh = fh < 1 ? 1 : fh;
    uint8_t *img = ck_image_load_rgb(file, fw, fh, NULL, NULL);
    uint8_t *out = img ? malloc((size_t)tile * tile * 3) : NULL;
    if (img && !out)
        ck_error("sheet", "out of memory");
    if (out) {
        memset(out, 255, (size_t)tile * tile * 3);
        int x0 = (tile - fw) / 2, y0 = (tile - fh) / 2;
        for (int y = 0; y < fh; y++)
            memcpy(out + ((size_t)(y0 + y) * tile + x0) * 3, img + (size_t)y * fw * 3, (size_t)fw * 3);
    }
    free(img);
    return out;
}

int ck_sheet_write(const char *path, const char *const *images, const char *const *captions, int n, int cols,
                   int tile, int *text_drawn)
{
    if (n < 1 || cols < 1 || tile < 8) {
        ck_error("sheet", "%s: nothing to draw (%d images, %d columns, tile %d)", path, n, cols, tile);
        return -1;
    }
    if (ck_image_init(NULL))
        return -1;
    /* Refused before anything is drawn: the sheet is held in memory whole. */
    int across = cols < n ? cols : n, down = (n + across - 1) / across;
    uint64_t sw = (uint64_t)across * (uint64_t)(tile + CK_SHEET_GAP) - CK_SHEET_GAP,
             sh = (uint64_t)down * (uint64_t)(tile + CK_SHEET_CAPTION_H + CK_SHEET_GAP) - CK_SHEET_GAP;
    if (sw * sh > ck_image_max_pixels()) {
        ck_error("sheet", "%s: %llux%llu is over the pixel limit of %llu: draw fewer images", path,
                 (unsigned long long)sw, (unsigned long long)sh, (unsigned long long)ck_image_max_pixels());
        return -1;
    }
    int rc = -1, text = have_font();
    uint8_t **pix = calloc((size_t)n, sizeof *pix);
    VipsImage **cells = calloc((size_t)n, sizeof *cells);
    VipsImage **caps = calloc((size_t)n, sizeof *caps);
    VipsImage *sheet = NULL;
    if (!pix || !cells || !caps) {
        ck_error("sheet", "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (!(pix[i] = tile_pixels(images[i], tile)))
            goto done;
    for (int i = 0; text && i < n; i++)
        text = (caps[i] = caption_image(captions[i] ? captions[i] : "", tile)) != NULL;
    for (int i = 0; i < n; i++) {
        VipsImage *im = vips_image_new_from_memory(pix[i], (size_t)tile * tile * 3, tile, tile, 3, VIPS_FORMAT_UCHAR);
        if (!im) {
            vips_failed(path, "image");
            goto done;
        }
        if (!text) {
            cells[i] = im;
            continue;
        }
        int bad = vips_join(im, caps[i], &cells[i], VIPS_DIRECTION_VERTICAL, NULL);
        g_object_unref(im);
        if (bad) {
            vips_failed(path, "join");
            goto done;
        }
    }
    double white[3] = {255, 255, 255};
    VipsArrayDouble *bg = vips_array_double_new(white, 3);
    int bad = vips_arrayjoin(cells, &sheet, n, "across", across, "shim", CK_SHEET_GAP, "background",
                             bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    if (bad) {
        vips_failed(path, "arrayjoin");
        goto done;
    }
    size_t len;
    void *rgb = vips_image_write_to_memory(sheet, &len);
    if (!rgb) {
        vips_failed(path, "rendering");
        goto done;
    }
    rc = ck_image_save_rgb(path, rgb, vips_image_get_width(sheet), vips_image_get_height(sheet), 0);
    g_free(rgb);
    if (text_drawn)
        *text_drawn = text;
done:
    if (sheet)
        g_object_unref(sheet);
    for (int i = 0; i < n; i++) {
        if (cells && cells[i])
            g_object_unref(cells[i]);
        if (caps && caps[i])
            g_object_unref(caps[i]);
        if (pix)
            free(pix[i]);
    }
    free(pix);
    free(cells);
    free(caps);
    return rc;
}
