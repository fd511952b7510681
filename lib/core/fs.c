/* File helpers: atomic writes, whole-file reads, paths, natural sort. */
#include "ck/fs.h"
#include "ck/error.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ck_atomic_file {
    char *path;
    char *tmp;
    FILE *fp;
};

static pthread_once_t umask_once = PTHREAD_ONCE_INIT;
static mode_t process_umask;

static void read_umask(void)
{
    process_umask = umask(0);
    umask(process_umask);
}

unsigned ck_file_mode(void)
{
    pthread_once(&umask_once, read_umask);
    return 0666 & ~(unsigned)process_umask;
}

ck_atomic_file *ck_atomic_open(const char *path)
{
    ck_atomic_file *f = calloc(1, sizeof *f);
    if (!f) {
        ck_error("fs", "out of memory");
        return NULL;
    }
    f->path = strdup(path);
    size_t n = strlen(path) + 16;
    f->tmp = malloc(n);
    if (!f->path || !f->tmp) {
        ck_atomic_abort(f);
        ck_error("fs", "out of memory");
        return NULL;
    }
    snprintf(f->tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(f->tmp);
    if (fd < 0) {
        ck_error_system(errno, "fs", "cannot create %s", f->tmp);
        free(f->tmp);
        f->tmp = NULL;
        ck_atomic_abort(f);
        return NULL;
    }
    /* mkstemp creates 0600; outputs are ordinary files. */
    fchmod(fd, (mode_t)ck_file_mode());
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        close(fd);
        ck_error_system(errno, "fs", "cannot open %s", f->tmp);
        ck_atomic_abort(f);
        return NULL;
    }
    return f;
}

FILE *ck_atomic_stream(ck_atomic_file *f)
{
    return f ? f->fp : NULL;
}

void ck_atomic_abort(ck_atomic_file *f)
{
    if (!f)
        return;
    if (f->fp)
        fclose(f->fp);
    if (f->tmp)
        unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    free(f);
}

int ck_atomic_commit(ck_atomic_file *f)
{
    if (!f)
        return -1;
    int err = 0;
    if (ferror(f->fp))
        err = EIO;
    if (!err && fflush(f->fp) != 0)
        err = errno;
    if (!err && fsync(fileno(f->fp)) != 0 && errno != EINVAL)
        err = errno;
    if (fclose(f->fp) != 0 && !err)
        err = errno;
    f->fp = NULL;
    if (!err && rename(f->tmp, f->path) != 0)
        err = errno;
    if (err) {
        ck_error_system(err, "fs", "cannot write %s", f->path);
        ck_atomic_abort(f);
        return -1;
    }
    free(f->tmp);
    f->tmp = NULL;
    ck_atomic_abort(f);
    return 0;
}

int ck_atomic_write(const char *path, const void *data, size_t n)
{
    ck_atomic_file *f = ck_atomic_open(path);
    if (!f)
        return -1;
    if (n && fwrite(data, 1, n, f->fp) != n) {
        ck_error_system(errno, "fs", "cannot write %s", path);
        ck_atomic_abort(f);
        return -1;
    }
    return ck_atomic_commit(f);
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
