/* Fuzz the submission checker (lib/submit, the `ck-eval --check` path) and
 * the submission reader. The input is "SAMPLE\0SUBMISSION" (split at the
 * first NUL byte), or a submission alone, checked against a fixed sample
 * of 4 rows and 3 classes. */
#include "fuzz.h"
#include "ck/error.h"
#include "ck/submission.h"

#include <string.h>

static const char fixed_sample[] = "a.png,0.3,0.3,0.4\nb.png,0.3,0.3,0.4\nc.png,0.3,0.3,0.4\nd.png,0.3,0.3,0.4\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    const char *sample, *sub;
    if (nul) {
        sample = fuzz_file(0, data, (size_t)(nul - data));
        sub = fuzz_file(1, nul + 1, size - (size_t)(nul - data) - 1);
    } else {
        sample = fuzz_file(0, (const uint8_t *)fixed_sample, sizeof fixed_sample - 1);
        sub = fuzz_file(1, data, size);
    }
    static const char *const names[] = {"cat", "dog", "fox"};
    ck_check_opts o;
    ck_check_opts_init(&o);
    int nrows = 0;
    (void)ck_submission_check(sample, sub, &o, fuzz_null_stream(), &nrows);
    ck_error_clear();
    o.nclass_names = 3;
    o.class_names = names;
    o.max_reports = 0;
    (void)ck_submission_check(sample, sub, &o, fuzz_null_stream(), &nrows);
    ck_error_clear();

    for (int pass = 0; pass < 2; pass++) {
        ck_submission *s = pass ? ck_submission_read(sub, 3, names) : ck_submission_read(sub, 0, NULL);
        for (int r = 0; s && r < ck_submission_nrows(s); r++) {
            const char *name = ck_submission_name(s, r);
            if (name && ck_submission_find(s, name) < 0)
                fuzz_fail("submission", "a row's name does not find a row");
            int k = ck_submission_label(s, r);
            if (k < -1 || k >= ck_submission_nclass(s))
                fuzz_fail("submission", "a label outside the classes");
        }
        ck_submission_free(s);
        ck_error_clear();
    }
    return 0;
}
