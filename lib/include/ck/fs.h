/* ck/fs.h — small file helpers shared by the tools.
 *
 * Atomic output: every file ck writes goes to "<path>.tmp.XXXXXX" in the same
 * folder and is renamed over <path> only when complete and flushed, so an
 * interrupted or failed run (disk full) never leaves a half-written file.
 */
#ifndef CK_FS_H
#define CK_FS_H

#include <stdio.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_atomic_file ck_atomic_file;

/* Open a temporary file beside `path`. NULL and an error on failure. */
ck_atomic_file *ck_atomic_open(const char *path);
FILE *ck_atomic_stream(ck_atomic_file *f);
/* Flush, fsync, check for write errors (e.g. ENOSPC) and rename into place.
 * On any failure the temporary is removed, an error naming `path` is set and
 * -1 returned. Frees f in every case. */
int ck_atomic_commit(ck_atomic_file *f);
/* Remove the temporary without touching `path`. Frees f; NULL is safe. */
void ck_atomic_abort(ck_atomic_file *f);
/* Whole-buffer convenience wrapper. */
int ck_atomic_write(const char *path, const void *data, size_t n);

/* Read a whole file (or "-" for stdin) into a malloc'd buffer with a NUL
 * appended (not counted in *n). An error naming the file on failure. */
char *ck_read_file(const char *path, size_t *n);

/* Mode for a new ordinary file: 0666 less the process umask, read once
 * (umask() is read by setting it, process-wide: per call, another thread
 * could create a file under the temporary value). */
unsigned ck_file_mode(void);

/* "dir/name" unless name is absolute or dir is NULL/empty; malloc'd. */
char *ck_path_join(const char *dir, const char *name);
/* Base name without folders; pointer into `path`. */
const char *ck_path_basename(const char *path);
/* mkdir -p. */
int ck_mkdir_p(const char *path);
int ck_file_exists(const char *path);

/* Natural ("version") order: "test_2" < "test_10". strcmp-like. */
int ck_natural_cmp(const char *a, const char *b);
/* qsort an array of char* in natural order. */
void ck_natural_sort(char **names, size_t n);

#ifdef __cplusplus
}
#endif
#endif
