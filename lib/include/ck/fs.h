/* ck/fs.h — small file helpers shared by the tools.
 *
 * Outputs: every file ck writes is opened with ck_atomic_open(), the one
 * output-opening function (docs/outputs.md). It
 *   - resolves symlinks: the file a link points to is replaced, not the link;
 *   - refuses an output that is one of the run's inputs (ck_io_input_add);
 *   - writes straight into an existing target that is not a regular file
 *     (character devices such as /dev/null, FIFOs), and into standard output
 *     for "-" when the caller allows it (CK_OUT_STDOUT); refuses folders and
 *     other kinds;
 *   - for regular targets, writes a temporary beside the target (unnamed,
 *     where the file system allows; else "<path>.tmp.XXXXXX"
 *     created exclusively) and moves it into place on commit, so an
 *     interrupted or failed run (disk full) never leaves a half-written file;
 *   - with CK_OUT_SYNC forces file and folder to the disk on commit
 *     (checkpoints, submissions), not for every augmented image.
 * Test hook: CK_FAULT_WRITE=N:ENOSPC (or N:EIO) makes the N-th write through
 * this path fail with that error (docs/outputs.md).
 */
#ifndef CK_FS_H
#define CK_FS_H

#include <stdio.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CK_OUT_SYNC = 1 << 0,   /* fsync file and folder on commit */
    CK_OUT_STDOUT = 1 << 1, /* "-" means standard output */
    CK_OUT_NAMED = 1 << 2,  /* the temporary needs a name (ck_atomic_tmp_path) */
    CK_OUT_MKDIR = 1 << 3,  /* ck_output_check: create the missing folders */
    CK_OUT_FOLDER = 1 << 4, /* ck_output_check: the output is a folder */
};

typedef struct ck_atomic_file ck_atomic_file;

/* Open `path` for writing (see above). NULL and an error on failure. */
ck_atomic_file *ck_atomic_open(const char *path, unsigned flags);
FILE *ck_atomic_stream(ck_atomic_file *f);
/* Write n bytes without stdio (after what the stream holds). 0 or -1. */
int ck_atomic_put(ck_atomic_file *f, const void *data, size_t n);
/* The temporary's name, for writers that open files by name (HDF5); NULL
 * unless opened with CK_OUT_NAMED onto a regular target. The writer must
 * have closed it before ck_atomic_commit(). */
const char *ck_atomic_tmp_path(const ck_atomic_file *f);
/* Flush, check for write errors (e.g. ENOSPC), fsync with CK_OUT_SYNC and
 * move into place. On any failure the temporary is removed, an error naming
 * the path is set and -1 returned. Frees f in every case. */
int ck_atomic_commit(ck_atomic_file *f);
/* Remove the temporary without touching the target. Frees f; NULL is safe.
 * (A direct write into a device or FIFO cannot be taken back.) */
void ck_atomic_abort(ck_atomic_file *f);
/* Whole-buffer convenience wrapper, durable (CK_OUT_SYNC). */
int ck_atomic_write(const char *path, const void *data, size_t n);

/* The run's inputs and outputs. Tools register every input path before
 * checking outputs; an output that resolves to a registered input (same
 * device and inode, or the same real path) is refused, by ck_output_check
 * and again by ck_atomic_open. `option` names the option in messages
 * ("--weights"). NULL paths are ignored (option not given); "" is an error;
 * "-" (stdin) is not registered. Thread-safe. 0 or -1 + error. */
int ck_io_input_add(const char *path, const char *option);
void ck_io_inputs_clear(void);
/* Validate an output before any work: not empty; "-" only with
 * CK_OUT_STDOUT; not a registered input; a writable kind of target; its
 * folder exists (created with CK_OUT_MKDIR) and is writable. With
 * CK_OUT_FOLDER the path itself is that folder. 0 or -1 + error. */
int ck_output_check(const char *path, const char *option, unsigned flags);
/* Remove temporaries "<path>.tmp.*" left beside `path` by a killed run
 * (older than CK_STALE_TMP_SECONDS, owned by this user). Returns how many
 * were removed (the caller says so), 0 when none or path is NULL/"-". */
#define CK_STALE_TMP_SECONDS 600
int ck_output_clean_stale(const char *path);
/* Scratch file (e.g. a disk feature cache): created exclusively, so an
 * existing file is never overwritten, and unlinked at once, so nothing is
 * left behind. Returns a read-write fd, or -1 + error (EEXIST named). */
int ck_scratch_open(const char *path);
/* Exclusive lock on an output folder ("<dir>/.ck-lock", flock): a second
 * run writing the same folder gets an error. Returns the fd to hold (close
 * it to unlock), or -1 + error. */
int ck_dir_lock(const char *dir);

/* Read a whole file (or "-" for stdin) into a malloc'd buffer with a NUL
 * appended (not counted in *n). An error naming the file on failure. */
char *ck_read_file(const char *path, size_t *n);

/* "dir/name" unless name is absolute or dir is NULL/empty; malloc'd. */
char *ck_path_join(const char *dir, const char *name);
/* Base name without folders; pointer into `path`. */
const char *ck_path_basename(const char *path);
/* mkdir -p; "" is an error. */
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
