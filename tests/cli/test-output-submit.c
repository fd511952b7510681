/* A submission whose write fails (disk full, I/O error: the CK_FAULT_WRITE
 * hook) is never visible, not even in part: the previous file stays and no
 * temporary is left. */
#include "check.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/submission.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/ck-test-output-submit-XXXXXX";

static int temporaries(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "exit $(ls -a %s | grep -c '\\.tmp\\.')", dir);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/submit.csv", dir);
    enum { ROWS = 5000, K = 20 };
    ck_submission *s = ck_submission_new(ROWS, K, CK_SUB_PROBS);
    for (int i = 0; i < ROWS; i++) {
        char name[32];
        snprintf(name, sizeof name, "test_%05d.png", i);
        CHECK(ck_submission_set_name(s, i, name) == 0);
        double *p = ck_submission_probs(s, i);
        for (int k = 0; k < K; k++)
            p[k] = 1.0 / K;
    }
    ck_submission_format f;
    ck_submission_format_init(&f);

    /* No file yet: a failure in the middle leaves none. */
    setenv("CK_FAULT_WRITE", "3:ENOSPC", 1);
    CHECK(ck_submission_write(s, path, &f) == -1);
    CHECK(strstr(ck_error_buffer(), "submit.csv") && strstr(ck_error_buffer(), strerror(ENOSPC)));
    ck_error_clear();
    unsetenv("CK_FAULT_WRITE");
    CHECK(!ck_file_exists(path));
    CHECK(temporaries() == 0);

    /* A previous submission stays whole when the next write fails. */
    CHECK(ck_submission_write(s, path, &f) == 0);
    size_t n0;
    char *before = ck_read_file(path, &n0);
    CHECK(before && n0 > 100000);
    ck_submission_probs(s, 0)[0] = 0.5;
    setenv("CK_FAULT_WRITE", "2:EIO", 1);
    CHECK(ck_submission_write(s, path, &f) == -1);
    CHECK(strstr(ck_error_buffer(), strerror(EIO)) != NULL);
    ck_error_clear();
    unsetenv("CK_FAULT_WRITE");
    size_t n1;
    char *after = ck_read_file(path, &n1);
    CHECK(before && after && n0 == n1 && !memcmp(before, after, n0));
    CHECK(temporaries() == 0);
    free(before);
    free(after);
    ck_submission_free(s);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {
    }
    return check_report("test-output-submit");
}
