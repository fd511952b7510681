/* PNG copy of the learning curves, rendered from the SVG by libvips'
 * svgload (librsvg), so there is one drawing code path. */
#include "ck/train.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/image.h"

#include <vips/vips.h>

int ck_curves_svg_to_png(const char *svg_path, const char *png_path)
{
    if (ck_image_init(NULL) != 0)
        return -1;
    if (!vips_type_find("VipsOperation", "svgload")) {
        ck_error("curves", "%s: this libvips cannot load SVG (no librsvg)", png_path);
        return -1;
    }
    VipsImage *img = NULL;
    if (vips_svgload(svg_path, &img, NULL) != 0) {
        ck_error("curves", "%s: cannot render %s: %s", png_path, svg_path, vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    /* Flatten on white: the SVG's background rect is opaque anyway, but
     * a PNG without alpha is smaller and views the same everywhere. */
    VipsImage *flat = NULL;
    double white[3] = {255, 255, 255};
    VipsArrayDouble *bg = vips_array_double_new(white, 3);
    int rc = vips_flatten(img, &flat, "background", bg, NULL);
    vips_area_unref(VIPS_AREA(bg));
    g_object_unref(img);
    if (rc != 0) {
        ck_error("curves", "%s: %s", png_path, vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    void *buf = NULL;
    size_t len = 0;
    rc = vips_pngsave_buffer(flat, &buf, &len, NULL);
    g_object_unref(flat);
    if (rc != 0) {
        ck_error("curves", "%s: %s", png_path, vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    rc = ck_atomic_write(png_path, buf, len);
    g_free(buf);
    return rc;
}
