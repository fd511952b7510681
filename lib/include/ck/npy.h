/* ck/npy.h — NumPy .npy files of float32: a streaming writer and a reader.
 *
 * Format 1.0 (numpy/lib/format.py): the magic "\x93NUMPY", version 1 0, a
 * little-endian uint16 header length, then the header, a Python dict
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
 * padded with spaces and ended by '\n' so that the data starts at a
 * multiple of 64 bytes (numpy's own alignment, so the bytes equal what
 * numpy.save writes), then the elements in C order, little-endian.
 *
 * The writer knows the shape before the first row (the header carries it)
 * and streams rows through ck_atomic_open (ck/fs.h): nothing half-written
 * is visible after an error or an interrupted run, and memory stays at one
 * batch of rows. Standard output is refused: a .npy is binary and
 * numpy.load needs a file it can seek in.
 *
 * The reader takes format 1.0, 2.0 and 3.0 headers of '<f4' arrays in C
 * order (the keys in any order, as numpy accepts them) with up to
 * CK_NPY_MAX_DIMS dimensions; anything else is an error naming the file.
 *
 * Errors: NULL / -1 with ck_error("npy", ...).
 */
#ifndef CK_NPY_H
#define CK_NPY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CK_NPY_MAX_DIMS 8

/* The header of a float32 C-order array of shape[0..ndim) (0 <= ndim <=
 * CK_NPY_MAX_DIMS, every extent >= 0): magic through '\n', written into
 * buf (cap bytes). Returns its length (a multiple of 64), or -1 with an
 * error (bad shape, buf too small; 256 bytes always suffice). */
long ck_npy_header(char *buf, size_t cap, int ndim, const int64_t *shape);

typedef struct ck_npy_writer ck_npy_writer;

/* Open `path` for an array of that shape and write the header. `flags`
 * are ck_atomic_open's (CK_OUT_SYNC for durability; CK_OUT_STDOUT is
 * refused). */
ck_npy_writer *ck_npy_create(const char *path, int ndim, const int64_t *shape, unsigned flags);
/* Append `count` elements (any number: rows or parts of rows) in C order.
 * More than the shape holds is an error. */
int ck_npy_write(ck_npy_writer *w, const float *data, size_t count);
/* Check that exactly the shape's element count was written, then move the
 * file into place (ck_atomic_commit). Frees w in every case. */
int ck_npy_commit(ck_npy_writer *w);
/* Leave nothing behind (the target is untouched). Frees w; NULL is safe. */
void ck_npy_abort(ck_npy_writer *w);

/* A whole array in memory. */
typedef struct ck_npy {
    int ndim;
    int64_t shape[CK_NPY_MAX_DIMS];
    size_t count; /* product of the shape (1 for ndim 0) */
    float *data;  /* count elements, C order, host byte order */
} ck_npy;

/* Read a whole file ("-": standard input). */
ck_npy *ck_npy_read(const char *path);
/* Parse len bytes of a .npy image; `name` stands for the file in messages. */
ck_npy *ck_npy_parse(const void *bytes, size_t len, const char *name);
void ck_npy_free(ck_npy *a);

#ifdef __cplusplus
}
#endif
#endif
