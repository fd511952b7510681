/* Synthetic classes: deterministic bytes, distinct names, balanced classes. */
#include "check.h"

#include "ck/error.h"
#include "ck/synth.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
    enum { S = 32 };
    uint8_t a[S * S * 3], b[S * S * 3];
    CHECK(ck_synth_draw(3, 7, 11, S, a) == 0);
    CHECK(ck_synth_draw(3, 7, 11, S, b) == 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(ck_synth_draw(3, 7, 12, S, b) == 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(ck_synth_draw(3, 8, 11, S, b) == 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(ck_synth_draw(4, 7, 11, S, b) == 0);
    CHECK(memcmp(a, b, sizeof a) != 0);

    /* Not flat: the object and the background differ. */
    int lo = 255, hi = 0;
    for (size_t i = 0; i < sizeof a; i++) {
        lo = a[i] < lo ? a[i] : lo;
        hi = a[i] > hi ? a[i] : hi;
    }
    CHECK(hi - lo > 60);

    /* Class colour shows: the mean red of class 0 (red) beats its blue. */
    double red = 0, blue = 0;
    for (int item = 0; item < 20; item++) {
        ck_synth_draw(0, 1, (uint64_t)item, S, a);
        for (int p = 0; p < S * S; p++) {
            red += a[p * 3];
            blue += a[p * 3 + 2];
        }
    }
    CHECK(red > blue * 1.05);

    char names[CK_SYNTH_MAX_CLASSES][64];
    for (int c = 0; c < CK_SYNTH_MAX_CLASSES; c++)
        CHECK(ck_synth_class_name(c, names[c], sizeof names[c]) == 0);
    CHECK(strcmp(names[0], "red_circle_plain") == 0);
    for (int c = 0; c < CK_SYNTH_MAX_CLASSES; c++)
        for (int d = 0; d < c; d++)
            if (strcmp(names[c], names[d]) == 0) {
                CHECK(!"class names are unique");
                c = d = CK_SYNTH_MAX_CLASSES;
            }
    char tiny[8];
    CHECK(ck_synth_class_name(CK_SYNTH_MAX_CLASSES, tiny, sizeof tiny) < 0);
    CHECK(ck_synth_draw(0, 1, 1, 4, a) < 0);
    ck_error_clear();

    int cls[103], count[10] = {0}, again[103];
    CHECK(ck_synth_assign(10, 103, 5, 0, cls) == 0);
    CHECK(ck_synth_assign(10, 103, 5, 0, again) == 0 && memcmp(cls, again, sizeof cls) == 0);
    for (int i = 0; i < 103; i++)
        count[cls[i]]++;
    for (int c = 0; c < 10; c++)
        CHECK(count[c] == 10 || count[c] == 11);
    CHECK(ck_synth_assign(10, 103, 5, 1, again) == 0 && memcmp(cls, again, sizeof cls) != 0);
    return check_report("test-synth");
}
