/* load_fails.h — shared by the weights tests: loading `path` must fail with
 * an error naming the file and `part` (when not NULL). Include after
 * check.h. */
#ifndef CK_TEST_LOAD_FAILS_H
#define CK_TEST_LOAD_FAILS_H

#include "ck/error.h"
#include "ck/weights.h"

#include <stdio.h>
#include <string.h>

static void fails(const char *path, const char *part)
{
    ck_error_clear();
    ck_weights *w = ck_weights_load(path);
    CHECK(w == NULL);
    const char *e = ck_error_buffer();
    if (!strstr(e, path) || (part && !strstr(e, part))) {
        fprintf(stderr, "%s: error \"%s\" lacks \"%s\"\n", path, e, part ? part : "");
        CHECK(0);
    }
    ck_weights_free(w);
}

#endif
