/* CutMix (Yun et al. 2019): a box of one image pasted into another, the
 * targets mixed by the box's share of the area. */
#include "ck/train.h"

#include <math.h>
#include <string.h>

static int clip(int v, int n)
{
    return v < 0 ? 0 : v > n ? n : v;
}

double ck_cutmix_box(ck_rng *r, double alpha, int h, int w, int box[4])
{
    double cut = sqrt(1.0 - ck_rng_beta(r, alpha, alpha));
    int ch = (int)(h * cut), cw = (int)(w * cut);
    int cy = (int)ck_rng_below(r, (uint32_t)h), cx = (int)ck_rng_below(r, (uint32_t)w);
    box[0] = clip(cy - ch / 2, h);
    box[1] = clip(cx - cw / 2, w);
    box[2] = clip(cy + ch / 2, h);
    box[3] = clip(cx + cw / 2, w);
    /* The box clipped at an edge covers less than drawn: the targets
     * follow the pixels actually pasted. */
    return 1.0 - (double)(box[2] - box[0]) * (box[3] - box[1]) / ((double)h * w);
}

void ck_cutmix_paste(void *dst, const void *src, size_t elem, int n, int h, int w, int c, const int *perm,
                     const int box[4])
{
    size_t row = elem * (size_t)w * c, img = row * h;
    size_t off = elem * (size_t)box[1] * c, len = elem * (size_t)(box[3] - box[1]) * c;
    memcpy(dst, src, img * (size_t)n);
    for (int j = 0; j < n; j++)
        for (int y = box[0]; y < box[2]; y++)
            memcpy((char *)dst + img * j + row * y + off, (const char *)src + img * perm[j] + row * y + off, len);
}
