#define _GNU_SOURCE /* unnamed temporaries (linkat), fopencookie */
/* File helpers: the one output-opening function, whole-file reads, paths, natural sort. */
#include "ck/fs.h"
#include "ck/error.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the run's inputs ---------------------------------------------------- */

typedef struct {
    dev_t dev;
    ino_t ino;
    int have_id; /* the file existed when registered */
    char *real;  /* resolved absolute path, when it did not exist */
    char *path;  /* as given */
    char *option;
} io_input;

static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;
static io_input *io_in;
static size_t io_n, io_cap, io_sorted; /* io_in[0..io_sorted) sorted by id */

/* Follow symlinks of the last component (a dangling link included: its
 * target is what gets created). Folders on the way need no resolving: a
 * rename in "link/x" happens in the folder the link points to. malloc'd. */
static char *resolve_links(const char *path)
{
    char *p = strdup(path);
    for (int depth = 0; p && depth < 40; depth++) {
        struct stat st;
        if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode))
            return p;
        char target[4096];
        ssize_t k = readlink(p, target, sizeof target - 1);
        if (k < 0)
            return p;
        target[k] = '\0';
        char *next;
        const char *slash = strrchr(p, '/');
        if (target[0] == '/' || !slash) {
            next = strdup(target);
        } else {
            size_t dl = (size_t)(slash - p) + 1;
            next = malloc(dl + (size_t)k + 1);
            if (next) {
                memcpy(next, p, dl);
                memcpy(next + dl, target, (size_t)k + 1);
            }
        }
        free(p);
        p = next;
    }
    return p; /* a loop: open() reports ELOOP */
}

/* Absolute path with links resolved: realpath() of the file, or of its
 * folder plus the name when the file does not exist yet. malloc'd or NULL. */
static char *canonical(const char *path)
{
    char *r = realpath(path, NULL);
    if (r)
        return r;
    char *p = resolve_links(path);
    if (!p)
        return NULL;
    const char *slash = strrchr(p, '/');
    char *dir = slash ? strndup(p, slash == p ? 1 : (size_t)(slash - p)) : strdup(".");
    char *rd = dir ? realpath(dir, NULL) : NULL;
    char *out = rd ? ck_path_join(rd, slash ? slash + 1 : p) : NULL;
    free(rd);
    free(dir);
    free(p);
    return out;
}

/* Entries without an id (0, 0) sort first. */
static int id_cmp(const void *x, const void *y)
{
    const io_input *a = x, *b = y;
    if (a->have_id != b->have_id)
        return a->have_id - b->have_id;
    if (a->dev != b->dev)
        return a->dev < b->dev ? -1 : 1;
    return a->ino < b->ino ? -1 : a->ino > b->ino;
}

int ck_io_input_add(const char *path, const char *option)
{
    if (!path || !strcmp(path, "-"))
        return 0;
    if (!*path) {
        ck_error("fs", "%s: empty path", option);
        return -1;
    }
    io_input e = {0};
    struct stat st;
    if (stat(path, &st) == 0) {
        e.dev = st.st_dev;
        e.ino = st.st_ino;
        e.have_id = 1;
    }
    if (!e.have_id) /* not there yet: compared by real path */
        e.real = canonical(path);
    e.path = strdup(path);
    e.option = strdup(option);
    pthread_mutex_lock(&io_lock);
    int ok = e.path && e.option;
    if (ok && io_n == io_cap) {
        size_t cap = io_cap ? io_cap * 2 : 64;
        io_input *n = realloc(io_in, cap * sizeof *n);
        ok = n != NULL;
        if (n) {
            io_in = n;
            io_cap = cap;
        }
    }
    if (ok)
        io_in[io_n++] = e;
    pthread_mutex_unlock(&io_lock);
    if (!ok) {
        free(e.real);
        free(e.path);
        free(e.option);
        ck_error("fs", "out of memory");
        return -1;
    }
    return 0;
}

void ck_io_inputs_clear(void)
{
    pthread_mutex_lock(&io_lock);
    for (size_t i = 0; i < io_n; i++) {
        free(io_in[i].real);
        free(io_in[i].path);
        free(io_in[i].option);
    }
    free(io_in);
    io_in = NULL;
    io_n = io_cap = io_sorted = 0;
    pthread_mutex_unlock(&io_lock);
}

/* The registered input that `path` (already resolved; st: its stat, NULL
 * when it does not exist) would overwrite. An
 * error naming both options when there is one: -1; else 0. Inputs that
 * existed are found by device and inode (sorted, bsearch: ck-augment checks
 * every image); those that did not, by real path. */
static int refuse_input(const char *path, const struct stat *st, const char *shown, const char *option)
{
    pthread_mutex_lock(&io_lock);
    if (io_sorted != io_n) {
        qsort(io_in, io_n, sizeof *io_in, id_cmp);
        io_sorted = io_n;
    }
    const io_input *hit = NULL;
    if (st && io_n) {
        io_input key = {.dev = st->st_dev, .ino = st->st_ino, .have_id = 1};
        hit = bsearch(&key, io_in, io_n, sizeof *io_in, id_cmp);
    }
    char *real = NULL;
    for (size_t i = 0; !hit && i < io_n && !io_in[i].have_id; i++) {
        if (!real && !(real = canonical(path)))
            break;
        if (io_in[i].real && !strcmp(io_in[i].real, real))
            hit = &io_in[i];
    }
    if (hit)
        ck_error("fs", "%s %s is the input %s %s: refusing to overwrite it", option ? option : "output", shown,
                 hit->option, hit->path);
    pthread_mutex_unlock(&io_lock);
    free(real);
    return hit ? -1 : 0;
}

/* ---- the one output-opening function ---------------------------------------- */

enum { KIND_TEMP, KIND_DIRECT, KIND_STDOUT };

struct ck_atomic_file {
    char *path; /* as given, for messages ("standard output" for -) */
    char *real; /* target, symlinks resolved */
    char *tmp;  /* named temporary (NULL: unnamed or direct) */
    int fd;
    int kind;
    unsigned flags;
    int err;    /* first write error */
    int aborted;
    FILE *fp;
};

/* CK_FAULT_WRITE=N:ENOSPC|EIO: the N-th write (counted from when the value
 * was first seen) fails. A test hook: disk-full paths run deterministically. */
static int fault_check(void)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    static char seen[64];
    static long count;
    const char *v = getenv("CK_FAULT_WRITE");
    if (!v || !*v)
        return 0;
    pthread_mutex_lock(&m);
    if (strncmp(seen, v, sizeof seen - 1)) {
        snprintf(seen, sizeof seen, "%s", v);
        count = 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    int err = 0;
    if (++count == n && *end == ':')
        err = !strcmp(end + 1, "EIO") ? EIO : ENOSPC;
    pthread_mutex_unlock(&m);
    return err;
}

static int write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t done = 0; done < len;) {
        int fault = fault_check();
        if (fault)
            return fault;
        ssize_t k = write(fd, p + done, len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        done += (size_t)k;
    }
    return 0;
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    ck_atomic_file *f = c;
    int err = f->aborted ? ECANCELED : write_all(f->fd, buf, n);
    if (err) {
        if (!f->err)
            f->err = err;
        errno = err;
        return 0; /* an error, for fopencookie (never negative) */
    }
    return (ssize_t)n;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* A fresh "<real>.tmp.XXXXXX" name into f->tmp. 0 or -1. */
static int tmp_name(ck_atomic_file *f)
{
    static unsigned counter;
    size_t n = strlen(f->real) + 32;
    if (!f->tmp && !(f->tmp = malloc(n)))
        return -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned r = (unsigned)ts.tv_nsec * 2654435761u ^ (unsigned)getpid() * 40503u ^
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED) * 97u;
    snprintf(f->tmp, n, "%s.tmp.%06x", f->real, r & 0xffffffu);
    return 0;
}

/* A named temporary created exclusively (umask applies, unlike mkstemp's
 * 0600). The fd or -1. */
static int create_named(ck_atomic_file *f)
{
    for (int tries = 0; tries < 100; tries++) {
        if (tmp_name(f))
            return -1;
        int fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* An unnamed temporary in the target's folder, linked into place on
 * commit: one directory operation per file (at thousands of small images a
 * second, the folder lock is what threads wait on; docs/augment.md), and a
 * killed run leaves nothing behind. -1 when the system cannot. */
static int create_unnamed(const char *real)
{
#ifdef O_TMPFILE
    static int have_proc = -1; /* linkat() needs /proc/self/fd */
    int proc = __atomic_load_n(&have_proc, __ATOMIC_RELAXED);
    if (proc < 0) {
        proc = access("/proc/self/fd", X_OK) == 0;
        __atomic_store_n(&have_proc, proc, __ATOMIC_RELAXED);
    }
    if (!proc)
        return -1;
    char *dir = dir_of(real);
    int fd = dir ? open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666) : -1;
    free(dir);
    return fd;
#else
    (void)real;
    return -1;
#endif
}

static char *check_target(const char *path, const char *opt, unsigned flags, int *kind);

ck_atomic_file *ck_atomic_open(const char *path, unsigned flags)
{
    int kind;
    char *real = check_target(path, "output", flags, &kind);
    if (!real)
        return NULL;
    ck_atomic_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(kind == KIND_STDOUT ? "standard output" : path))) {
        free(f);
        free(real);
        ck_error("fs", "out of memory");
        return NULL;
    }
    f->real = real;
    f->kind = kind;
    f->flags = flags;
    if (kind == KIND_STDOUT) {
        fflush(stdout); /* what the tool printed comes first */
        f->fd = STDOUT_FILENO;
    } else if (kind == KIND_DIRECT) {
        /* A device or FIFO: write into it; there is nothing to replace. */
        f->fd = open(real, O_WRONLY | O_CLOEXEC);
    } else {
        f->fd = flags & CK_OUT_NAMED ? -1 : create_unnamed(real);
        if (f->fd < 0)
            f->fd = create_named(f);
    }
    if (f->fd < 0) {
        ck_error_system(errno, "fs", "cannot write %s", path);
        goto fail;
    }
    cookie_io_functions_t io = {.write = cookie_write};
    f->fp = fopencookie(f, "w", io);
    if (!f->fp) {
        ck_error_system(errno, "fs", "cannot write %s", path);
        goto fail;
    }
    return f;
fail:
    ck_atomic_abort(f);
    return NULL;
}

FILE *ck_atomic_stream(ck_atomic_file *f)
{
    return f ? f->fp : NULL;
}

const char *ck_atomic_tmp_path(const ck_atomic_file *f)
{
    return f && (f->flags & CK_OUT_NAMED) ? f->tmp : NULL;
}

int ck_atomic_put(ck_atomic_file *f, const void *data, size_t n)
{
    if (fflush(f->fp) != 0 && !f->err)
        f->err = errno ? errno : EIO;
    int err = f->err ? f->err : write_all(f->fd, data, n);
    if (err) {
        f->err = err;
        ck_error_system(err, "fs", "cannot write %s", f->path);
        return -1;
    }
    return 0;
}

static void release(ck_atomic_file *f)
{
    if (f->fp)
        fclose(f->fp); /* the cookie has no close: fd stays ours */
    if (f->fd >= 0 && f->kind != KIND_STDOUT)
        close(f->fd);
    free(f->tmp);
    free(f->real);
    free(f->path);
    free(f);
}

void ck_atomic_abort(ck_atomic_file *f)
{
    if (!f)
        return;
    if (f->tmp)
        unlink(f->tmp);
    f->aborted = 1; /* nothing still buffered may reach the target */
    release(f);
}

static int sync_folder(const char *real)
{
    char *dir = dir_of(real);
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    free(dir);
    if (fd < 0)
        return errno;
    int err = fsync(fd) != 0 && errno != EINVAL ? errno : 0;
    close(fd);
    return err;
}

int ck_atomic_commit(ck_atomic_file *f)
{
    if (!f)
        return -1;
    int err = 0;
    if (fflush(f->fp) != 0 || f->err)
        err = f->err ? f->err : EIO;
    /* A writer that wrote by name (HDF5) passed no write through here. */
    if (!err && f->flags & CK_OUT_NAMED)
        err = fault_check();
    /* Devices, pipes and terminals may not sync: that is no failure. */
    if (!err && f->flags & CK_OUT_SYNC && fsync(f->fd) != 0 && errno != EINVAL &&
        (f->kind == KIND_TEMP || (errno != EROFS && errno != ENOTSUP)))
        err = errno;
    if (!err && f->kind == KIND_TEMP) {
        if (!f->tmp) {
            char proc[64];
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
            if (linkat(AT_FDCWD, proc, AT_FDCWD, f->real, AT_SYMLINK_FOLLOW) == 0)
                goto placed;
            /* Replacing a file: link under a temporary name, then rename. */
            err = errno;
            for (int tries = 0; err == EEXIST && tries < 100; tries++)
                err = tmp_name(f) ? ENOMEM
                      : linkat(AT_FDCWD, proc, AT_FDCWD, f->tmp, AT_SYMLINK_FOLLOW) ? errno : 0;
            if (err) {
                free(f->tmp);
                f->tmp = NULL;
            }
        }
        if (!err && rename(f->tmp, f->real) != 0)
            err = errno;
        if (!err) {
            free(f->tmp);
            f->tmp = NULL;
        }
    placed:
        if (!err && f->flags & CK_OUT_SYNC)
            err = sync_folder(f->real);
    }
    if (err) {
        ck_error_system(err, "fs", "cannot write %s", f->path);
        ck_atomic_abort(f);
        return -1;
    }
    release(f);
    return 0;
}

int ck_atomic_write(const char *path, const void *data, size_t n)
{
    ck_atomic_file *f = ck_atomic_open(path, CK_OUT_SYNC);
    if (!f)
        return -1;
    if (ck_atomic_put(f, data, n) != 0) {
        ck_atomic_abort(f);
        return -1;
    }
    return ck_atomic_commit(f);
}

/* The checks of an output path itself, shared by ck_output_check and
 * ck_atomic_open. Returns the target with links resolved ("-" for stdout),
 * malloc'd, and its kind (KIND_TEMP: absent or regular; KIND_DIRECT: a
 * device or FIFO); NULL + error when refused. */
static char *check_target(const char *path, const char *opt, unsigned flags, int *kind)
{
    *kind = KIND_TEMP;
    if (!*path) {
        ck_error("fs", "%s: empty path", opt);
        return NULL;
    }
    if (!strcmp(path, "-")) {
        *kind = KIND_STDOUT;
        if (flags & CK_OUT_STDOUT)
            return strdup("-");
        ck_error("fs", "%s: '-' (standard output) is not possible for this output; give a file name", opt);
        return NULL;
    }
    char *real = resolve_links(path);
    if (!real) {
        ck_error("fs", "out of memory");
        return NULL;
    }
    struct stat st;
    int have = stat(real, &st) == 0;
    if (have && S_ISDIR(st.st_mode))
        ck_error("fs", "%s %s is a folder, not a file", opt, path);
    else if (have && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
        ck_error("fs", "%s %s is not a regular file, a character device or a FIFO", opt, path);
    else if (!refuse_input(real, have ? &st : NULL, path, opt)) {
        *kind = have && !S_ISREG(st.st_mode) ? KIND_DIRECT : KIND_TEMP;
        return real;
    }
    free(real);
    return NULL;
}

int ck_output_check(const char *path, const char *option, unsigned flags)
{
    const char *opt = option ? option : "output";
    if (!path)
        return 0;
    int kind = KIND_TEMP;
    char *real = flags & CK_OUT_FOLDER ? (*path ? resolve_links(path) : NULL) : check_target(path, opt, flags, &kind);
    if (!real) {
        if (flags & CK_OUT_FOLDER)
            ck_error("fs", "%s: %s", opt, *path ? "out of memory" : "empty path");
        return -1;
    }
    if (kind != KIND_TEMP) {
        free(real);
        return 0;
    }
    int rc = -1;
    struct stat st;
    char *dir = flags & CK_OUT_FOLDER ? strdup(real) : dir_of(real);
    if (!dir) {
        ck_error("fs", "out of memory");
        goto out;
    }
    if (stat(dir, &st) != 0 && errno == ENOENT && flags & CK_OUT_MKDIR) {
        if (ck_mkdir_p(dir) != 0) {
            free(dir);
            goto out;
        }
    }
    if (stat(dir, &st) != 0)
        ck_error_system(errno, "fs", "%s %s: folder %s", opt, path, dir);
    else if (!S_ISDIR(st.st_mode))
        ck_error("fs", "%s %s: %s is not a folder", opt, path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        ck_error_system(errno, "fs", "%s %s: cannot write into folder %s", opt, path, dir);
    else
        rc = 0;
    free(dir);
out:
    free(real);
    return rc;
}

int ck_output_clean_stale(const char *path)
{
    if (!path || !*path || !strcmp(path, "-"))
        return 0;
    char *real = resolve_links(path);
    char *dir = real ? dir_of(real) : NULL;
    DIR *d = dir ? opendir(dir) : NULL;
    int removed = 0;
    if (d) {
        const char *base = ck_path_basename(real);
        size_t bl = strlen(base);
        time_t now = time(NULL);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strncmp(e->d_name, base, bl) || strncmp(e->d_name + bl, ".tmp.", 5))
                continue;
            struct stat st;
            if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
                st.st_uid == geteuid() && now - st.st_mtime >= CK_STALE_TMP_SECONDS &&
                unlinkat(dirfd(d), e->d_name, 0) == 0)
                removed++;
        }
        closedir(d);
    }
    free(dir);
    free(real);
    return removed;
}

int ck_scratch_open(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        ck_error_system(errno, "fs", "cannot create scratch file %s%s", path,
                        errno == EEXIST ? " (it must not exist: ck never overwrites a file with scratch data)" : "");
        return -1;
    }
    unlink(path);
    return fd;
}

int ck_dir_lock(const char *dir)
{
    char *p = ck_path_join(dir, ".ck-lock");
    int fd = p ? open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666) : -1;
    if (fd < 0) {
        ck_error_system(errno, "fs", "cannot create lock file %s", p ? p : dir);
    } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        fd = -1;
        if (e == EWOULDBLOCK)
            ck_error("fs", "%s is being written by another run (lock file %s); wait for it or choose another folder",
                     dir, p);
        else
            ck_error_system(e, "fs", "cannot lock %s", p);
    }
    free(p);
    return fd;
}

char *ck_read_file(const char *path, size_t *n)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        ck_error_system(errno, "fs", "cannot open %s", path);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t k = fread(buf + len, 1, cap - len, f);
        len += k;
        if (len < cap)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    int bad = ferror(f);
    if (!is_stdin)
        fclose(f);
    if (!buf) {
        ck_error("fs", "%s: out of memory", path);
        return NULL;
    }
    if (bad) {
        free(buf);
        ck_error("fs", "%s: read error", path);
        return NULL;
    }
    buf[len] = '\0';
    if (n)
        *n = len;
    return buf;
}

char *ck_path_join(const char *dir, const char *name)
{
    if (!dir || !*dir || name[0] == '/')
        return strdup(name);
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (!s)
        return NULL;
    memcpy(s, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/')
        s[k++] = '/';
    memcpy(s + k, name, b + 1);
    return s;
}

const char *ck_path_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int ck_mkdir_p(const char *path)
{
    if (!*path) {
        ck_error("fs", "empty folder name");
        return -1;
    }
    char *p = strdup(path);
    if (!p) {
        ck_error("fs", "out of memory");
        return -1;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                ck_error_system(errno, "fs", "cannot create folder %s", p);
                free(p);
                return -1;
            }
            *s = '/';
        }
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
        ck_error_system(errno, "fs", "cannot create folder %s", p);
        free(p);
        return -1;
    }
    free(p);
    return 0;
}

int ck_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int ck_natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            const char *sa = a, *sb = b;
            while (*sa == '0')
                sa++;
            while (*sb == '0')
                sb++;
            const char *ea = sa, *eb = sb;
            while (isdigit((unsigned char)*ea))
                ea++;
            while (isdigit((unsigned char)*eb))
                eb++;
            if (ea - sa != eb - sb)
                return ea - sa < eb - sb ? -1 : 1;
            int c = strncmp(sa, sb, (size_t)(ea - sa));
            if (c)
                return c;
            /* Equal values: fewer leading zeros first, for a total order. */
            if ((ea - a) != (eb - b))
                return (ea - a) < (eb - b) ? -1 : 1;
            a = ea;
            b = eb;
        } else {
            if (*a != *b)
                return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : (*b ? -1 : 0);
}

static int natural_qsort_cmp(const void *x, const void *y)
{
    return ck_natural_cmp(*(char *const *)x, *(char *const *)y);
}

void ck_natural_sort(char **names, size_t n)
{
    qsort(names, n, sizeof *names, natural_qsort_cmp);
}
