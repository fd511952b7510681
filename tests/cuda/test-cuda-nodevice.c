/* Without a usable GPU (always the case in CI), asking for CUDA must fail
 * cleanly with a message, "auto" must fall back to the CPU, and nothing
 * may crash or leak. Skips on a machine that has a GPU. */
#include "check.h"

#include "ck/backend.h"
#include "ck/error.h"

#include <string.h>

int main(void)
{
    if (ck_cuda_available()) {
        fprintf(stderr, "test-cuda-nodevice: skipped: a CUDA device is present\n");
        return 77;
    }
    ck_backend *be = ck_backend_new("cuda:0", 1);
    CHECK(be == NULL);
    const char *msg = ck_error_buffer();
    fprintf(stderr, "expected error: %s", msg);
    CHECK(ck_cuda_built() ? strstr(msg, "no CUDA device") != NULL : strstr(msg, "without CUDA") != NULL);
    ck_error_clear();

    be = ck_backend_new("cuda:3", 1);
    CHECK(be == NULL);
    ck_error_clear();

    be = ck_backend_new("auto", 1);
    CHECK(be != NULL && ck_backend_is_cpu(be));
    ck_backend_free(be);
    return check_report("test-cuda-nodevice");
}
