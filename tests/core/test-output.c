/* The one output-opening function (ck/fs.h): symlinks, devices, FIFOs,
 * stdout, refusing the run's inputs, stale temporaries, scratch files,
 * folder locks and the CK_FAULT_WRITE hook. */
#include "check.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/ck-test-output-XXXXXX";

static const char *at(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int has(const char *path, const char *text)
{
    size_t n;
    char *s = ck_read_file(path, &n);
    int ok = s && n == strlen(text) && !memcmp(s, text, n);
    free(s);
    return ok;
}

/* Number of entries of the test folder whose name contains ".tmp." */
static int temporaries(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "exit $(ls -a %s | grep -c '\\.tmp\\.')", dir);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int error_has(const char *a, const char *b)
{
    const char *e = ck_error_buffer();
    int ok = strstr(e, a) && (!b || strstr(e, b));
    if (!ok)
        fprintf(stderr, "error buffer: %s", e);
    ck_error_clear();
    return ok;
}

static void test_regular_and_links(void)
{
    CHECK(ck_atomic_write(at("a.txt"), "one", 3) == 0);
    CHECK(ck_atomic_write(at("a.txt"), "two", 3) == 0); /* replacing */
    CHECK(has(at("a.txt"), "two"));
    CHECK(temporaries() == 0);

    /* A symlink: the file it points to is replaced, the link stays. */
    CHECK(symlink("a.txt", at("link.txt")) == 0);
    CHECK(ck_atomic_write(at("link.txt"), "three", 5) == 0);
    struct stat st;
    CHECK(lstat(at("link.txt"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(has(at("a.txt"), "three"));
    /* A dangling link: its target is created. */
    CHECK(symlink("new.txt", at("dangling.txt")) == 0);
    CHECK(ck_atomic_write(at("dangling.txt"), "four", 4) == 0);
    CHECK(lstat(at("dangling.txt"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(has(at("new.txt"), "four"));

    /* Named temporaries (for writers that open by name, HDF5). */
    ck_atomic_file *f = ck_atomic_open(at("named.h5"), CK_OUT_NAMED | CK_OUT_SYNC);
    const char *tmp = ck_atomic_tmp_path(f);
    CHECK(tmp && strstr(tmp, "named.h5.tmp."));
    FILE *fp = tmp ? fopen(tmp, "wb") : NULL;
    CHECK(fp != NULL);
    if (fp) {
        fputs("hdf", fp);
        fclose(fp);
    }
    CHECK(ck_atomic_commit(f) == 0);
    CHECK(has(at("named.h5"), "hdf"));
    CHECK(temporaries() == 0);

    /* Abort keeps the old file and leaves nothing. */
    f = ck_atomic_open(at("a.txt"), 0);
    fputs("partial", ck_atomic_stream(f));
    ck_atomic_abort(f);
    CHECK(has(at("a.txt"), "three"));
    CHECK(temporaries() == 0);
}

static void test_special_targets(void)
{
    /* Devices are written into, never replaced. */
    CHECK(ck_atomic_write("/dev/null", "x", 1) == 0);
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    if (stat("/dev/full", &st) == 0) {
        CHECK(ck_atomic_write("/dev/full", "x", 1) == -1);
        CHECK(error_has("/dev/full", strerror(ENOSPC)));
        CHECK(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode));
    }

    /* A FIFO: the reader gets the bytes; the FIFO stays. */
    CHECK(mkfifo(at("fifo"), 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        size_t n;
        char *s = ck_read_file(at("fifo"), &n);
        _exit(s && n == 5 && !memcmp(s, "piped", 5) ? 0 : 1);
    }
    CHECK(ck_atomic_write(at("fifo"), "piped", 5) == 0);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(lstat(at("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));

    /* "-" is standard output where the caller allows it. */
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(at("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    ck_atomic_file *f = ck_atomic_open("-", CK_OUT_STDOUT);
    CHECK(f != NULL);
    if (f) {
        fputs("to stdout", ck_atomic_stream(f));
        CHECK(ck_atomic_commit(f) == 0);
    }
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    CHECK(has(at("stdout.txt"), "to stdout"));
    CHECK(!ck_file_exists("-"));
    CHECK(ck_atomic_open("-", 0) == NULL);
    CHECK(error_has("standard output", NULL));

    /* Folders and empty paths are refused. */
    CHECK(ck_atomic_open(dir, 0) == NULL);
    CHECK(error_has("is a folder", NULL));
    CHECK(ck_atomic_open("", 0) == NULL);
    CHECK(error_has("empty path", NULL));
    CHECK(ck_output_check("", "-o", 0) == -1);
    CHECK(error_has("-o: empty path", NULL));
    CHECK(ck_mkdir_p("") == -1); /* read past the string before (ASan) */
    CHECK(error_has("empty", NULL));
    /* A missing folder: an error now, or created with CK_OUT_MKDIR. */
    CHECK(ck_output_check(at("no/such/x.ckpt"), "-o", 0) == -1);
    CHECK(error_has("-o", "no/such"));
    CHECK(ck_output_check(at("made/here/x.ckpt"), "-o", CK_OUT_MKDIR) == 0);
    struct stat d;
    CHECK(stat(at("made/here"), &d) == 0 && S_ISDIR(d.st_mode));
}

static void test_inputs_refused(void)
{
    ck_io_inputs_clear();
    CHECK(ck_atomic_write(at("weights.h5"), "base", 4) == 0);
    CHECK(ck_io_input_add(at("weights.h5"), "--weights") == 0);
    CHECK(ck_io_input_add(NULL, "--labels") == 0);
    CHECK(ck_io_input_add("", "--labels") == -1);
    CHECK(error_has("--labels: empty path", NULL));
    /* The same file by its name, a symlink, a hard link, a ./ detour. */
    CHECK(ck_output_check(at("weights.h5"), "-o", 0) == -1);
    CHECK(error_has("-o", "--weights"));
    CHECK(symlink("weights.h5", at("w-link.h5")) == 0);
    CHECK(ck_output_check(at("w-link.h5"), "-o", 0) == -1);
    CHECK(error_has("--weights", NULL));
    CHECK(link(at("weights.h5"), at("w-hard.h5")) == 0);
    CHECK(ck_output_check(at("w-hard.h5"), "--log", 0) == -1);
    CHECK(error_has("--log", "--weights"));
    char detour[600];
    snprintf(detour, sizeof detour, "%s/./made/../weights.h5", dir);
    CHECK(ck_atomic_open(detour, CK_OUT_SYNC) == NULL);
    CHECK(error_has("--weights", NULL));
    CHECK(has(at("weights.h5"), "base"));
    /* An input that does not exist yet is compared by its real path. */
    CHECK(ck_io_input_add(at("later.tsv"), "--train") == 0);
    CHECK(ck_output_check(at("made/../later.tsv"), "--log", 0) == -1);
    CHECK(error_has("--log", "--train"));
    CHECK(ck_output_check(at("other.ckpt"), "-o", 0) == 0);
    ck_io_inputs_clear();
    CHECK(ck_output_check(at("weights.h5"), "-o", 0) == 0);
}

static void test_stale_scratch_lock(void)
{
    /* Stale temporaries of this output go (old ones only); others stay. */
    CHECK(ck_atomic_write(at("model.ckpt"), "ck", 2) == 0);
    const char *names[] = {"model.ckpt.tmp.a1b2c3", "model.ckpt.tmp.fresh1", "other.ckpt.tmp.a1b2c3"};
    for (int i = 0; i < 3; i++) {
        CHECK(ck_atomic_write(at("junk"), "x", 1) == 0);
        CHECK(rename(at("junk"), at(names[i])) == 0);
        if (i != 1) {
            struct timespec t[2] = {{time(NULL) - 2 * CK_STALE_TMP_SECONDS, 0},
                                    {time(NULL) - 2 * CK_STALE_TMP_SECONDS, 0}};
            CHECK(utimensat(AT_FDCWD, at(names[i]), t, 0) == 0);
        }
    }
    CHECK(ck_output_clean_stale(at("model.ckpt")) == 1);
    CHECK(!ck_file_exists(at(names[0])));
    CHECK(ck_file_exists(at(names[1])) && ck_file_exists(at(names[2])));
    CHECK(has(at("model.ckpt"), "ck"));
    unlink(at(names[1]));
    unlink(at(names[2]));

    /* Scratch files never overwrite a user's file and leave nothing. */
    CHECK(ck_scratch_open(at("model.ckpt")) == -1);
    CHECK(error_has("model.ckpt", "exist"));
    CHECK(has(at("model.ckpt"), "ck"));
    int fd = ck_scratch_open(at("cache.bin"));
    CHECK(fd >= 0 && !ck_file_exists(at("cache.bin")));
    CHECK(fd >= 0 && write(fd, "abc", 3) == 3);
    close(fd);

    /* One writer per output folder. */
    int a = ck_dir_lock(dir);
    CHECK(a >= 0);
    CHECK(ck_dir_lock(dir) == -1);
    CHECK(error_has("another run", NULL));
    close(a);
    a = ck_dir_lock(dir);
    CHECK(a >= 0);
    close(a);
}

/* CK_FAULT_WRITE: a disk full in the middle of a checkpoint keeps the
 * previous checkpoint and leaves no temporary. */
static void test_fault_hook(void)
{
    static float big[1 << 16];
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        big[i] = (float)i;
    int64_t shape[1] = {1 << 16};
    ck_st_writer *w = ck_st_writer_new();
    CHECK(ck_st_writer_add(w, "t", CK_ST_F32, 1, shape, big) == 0);
    CHECK(ck_st_writer_write(w, at("ck.safetensors")) == 0);
    size_t n0;
    char *before = ck_read_file(at("ck.safetensors"), &n0);
    big[0] = 42;
    for (int k = 1; k <= 3; k++) {
        char v[32];
        snprintf(v, sizeof v, "%d:%s", k, k == 2 ? "EIO" : "ENOSPC");
        setenv("CK_FAULT_WRITE", v, 1);
        CHECK(ck_st_writer_write(w, at("ck.safetensors")) == -1);
        CHECK(error_has("ck.safetensors", strerror(k == 2 ? EIO : ENOSPC)));
        unsetenv("CK_FAULT_WRITE");
        size_t n1;
        char *after = ck_read_file(at("ck.safetensors"), &n1);
        CHECK(before && after && n0 == n1 && !memcmp(before, after, n0));
        free(after);
        CHECK(temporaries() == 0);
    }
    free(before);
    /* The hook counts from when its value is set: the 1st write fails,
     * the next file is written. */
    setenv("CK_FAULT_WRITE", "1:ENOSPC", 1);
    CHECK(ck_atomic_write(at("f.txt"), "x", 1) == -1);
    ck_error_clear();
    CHECK(ck_atomic_write(at("f.txt"), "y", 1) == 0);
    unsetenv("CK_FAULT_WRITE");
    CHECK(has(at("f.txt"), "y"));
    ck_st_writer_free(w);
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    test_regular_and_links();
    test_special_targets();
    test_inputs_refused();
    test_stale_scratch_lock();
    test_fault_hook();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) {
    }
    return check_report("test-output");
}
