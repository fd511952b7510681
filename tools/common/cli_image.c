/* The command-line helpers of the tools that decode images; see cli.h. */
#include "cli.h"

#include "ck/error.h"
#include "ck/image.h"

int ck_cli_max_pixels(const char *prog, const char *s)
{
    uint64_t n;
    if (ck_image_parse_pixels(s, &n) || ck_image_set_max_pixels(n)) {
        ck_error_clear();
        return ck_cli_count_error(prog, "--max-pixels", s, 1, (long)CK_IMAGE_MAX_PIXELS_CAP);
    }
    return 0;
}
