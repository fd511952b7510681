/* ck/safetensors.h — read and write safetensors files (no dependencies).
 *
 * Format (https://github.com/huggingface/safetensors):
 *   8 bytes   N, unsigned little-endian: length of the JSON header
 *   N bytes   JSON object: "name": {"dtype": "F32", "shape": [..],
 *             "data_offsets": [begin, end]}, ... plus an optional
 *             "__metadata__": {string: string}
 *   rest      the data section; offsets are relative to its start.
 *
 * Writing (what ck's checkpoints use):
 *     ck_st_writer *w = ck_st_writer_new();
 *     int64_t shape[4] = {3, 3, 64, 128};
 *     ck_st_writer_add(w, "block2_conv1/kernel", CK_ST_F32, 4, shape, data);
 *     ck_st_writer_set_metadata(w, "ck", json_text);
 *     if (ck_st_writer_write(w, "model.safetensors") != 0) ... error set
 *     ck_st_writer_free(w);
 *   - ck_st_writer_add() only REFERENCES `data`: it must stay valid until
 *     ck_st_writer_write() returns. ck_st_writer_add_copy() copies it.
 *   - The file is written atomically (temporary file + rename; disk full
 *     leaves nothing behind). The header is padded with spaces to a multiple
 *     of 8, so the data section starts 8-aligned; tensors are laid out by
 *     element size, largest first (stable within a size, like the Python
 *     library), so every tensor is aligned to its element size with no gaps.
 *     Readable by Python's `safetensors` and by ck_st_open().
 *   - Little-endian hosts only (as the format).
 *
 * Reading:
 *     ck_st_file *f = ck_st_open("model.safetensors");   // NULL + error
 *     ck_st_tensor t;
 *     if (ck_st_find(f, "block2_conv1/kernel", &t)) { t.dtype, t.shape, t.data }
 *     const char *meta = ck_st_metadata(f, "ck");         // or NULL
 *     ck_st_close(f);
 *   The file is mmap'ed read-only; tensor data pointers stay valid until
 *   ck_st_close(). A data pointer is aligned only if the writer aligned it
 *   (ck and Python do): use ck_st_to_f32() or memcpy when unsure.
 *
 *   Validation is strict; each failure gives an error naming the file (and
 *   the tensor): file shorter than 8 bytes, header length 0, larger than
 *   CK_ST_MAX_HEADER or past the end of the file; header not valid UTF-8 /
 *   JSON, not an object, duplicate names; a tensor entry that is not an
 *   object with exactly "dtype", "shape", "data_offsets"; unknown dtype;
 *   shape not a list of non-negative integers (at most CK_ST_MAX_DIMS);
 *   offsets not [begin <= end]; end past the file; (end - begin) !=
 *   product(shape) × dtype size (overflow-checked); "__metadata__" not an
 *   object of string values; an empty name or one containing NUL.
 *   Gap policy (same as the reference Rust implementation): tensors sorted by
 *   offset must tile the data section exactly — no overlap, no hole, no
 *   trailing bytes. Zero-element tensors (begin == end) are allowed.
 */
#ifndef CK_SAFETENSORS_H
#define CK_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CK_ST_MAX_DIMS 8
#define CK_ST_MAX_HEADER 100000000ULL /* bytes, as the Python library */

typedef enum ck_st_dtype {
    CK_ST_F32 = 0,
    CK_ST_F16,
    CK_ST_BF16,
    CK_ST_F64,
    CK_ST_I64,
    CK_ST_I32,
    CK_ST_I16,
    CK_ST_I8,
    CK_ST_U64,
    CK_ST_U32,
    CK_ST_U16,
    CK_ST_U8,
    CK_ST_BOOL,
    CK_ST_F8_E4M3,
    CK_ST_F8_E5M2,
    CK_ST_DTYPE_COUNT
} ck_st_dtype;

/* "F32", "BF16", ... */
const char *ck_st_dtype_name(ck_st_dtype t);
/* Bytes per element. */
size_t ck_st_dtype_size(ck_st_dtype t);
/* Parse a dtype name; -1 when unknown (no error set). */
int ck_st_dtype_parse(const char *name);

/* ---- writer ---- */
typedef struct ck_st_writer ck_st_writer;

ck_st_writer *ck_st_writer_new(void);
void ck_st_writer_free(ck_st_writer *w);
/* Add a tensor (name must be new and non-empty, ndim 0..CK_ST_MAX_DIMS,
 * dims >= 0). `data` holds product(shape) elements of `dtype`, row-major,
 * and is referenced, not copied. -1 and an error on bad arguments. */
int ck_st_writer_add(ck_st_writer *w, const char *name, ck_st_dtype dtype, int ndim,
                     const int64_t *shape, const void *data);
/* Same, but copies `data` now. */
int ck_st_writer_add_copy(ck_st_writer *w, const char *name, ck_st_dtype dtype, int ndim,
                          const int64_t *shape, const void *data);
/* Set (or replace) a "__metadata__" entry; both strings are copied. The
 * value is any UTF-8 text (ck stores JSON text in it). */
int ck_st_writer_set_metadata(ck_st_writer *w, const char *key, const char *value);
/* Write the file atomically. 0, or -1 and an error naming the path. The
 * writer can be written again or freed afterwards. */
int ck_st_writer_write(ck_st_writer *w, const char *path);

/* ---- reader ---- */
typedef struct ck_st_file ck_st_file;

typedef struct ck_st_tensor {
    const char *name;
    ck_st_dtype dtype;
    int ndim;
    int64_t shape[CK_ST_MAX_DIMS];
    int64_t count;      /* number of elements (1 for ndim 0) */
    const void *data;   /* into the mapping; valid until ck_st_close() */
    size_t nbytes;
} ck_st_tensor;

/* Open and validate a file. NULL and an error naming it on failure. */
ck_st_file *ck_st_open(const char *path);
/* Validate a buffer already in memory (copied; `what` names it in errors). */
ck_st_file *ck_st_open_memory(const void *data, size_t n, const char *what);
void ck_st_close(ck_st_file *f);

const char *ck_st_path(const ck_st_file *f);
/* Tensors in data-offset order. */
int ck_st_count(const ck_st_file *f);
const char *ck_st_name(const ck_st_file *f, int i);
/* 1 and *out filled; 0 when i is out of range. */
int ck_st_tensor_at(const ck_st_file *f, int i, ck_st_tensor *out);
/* 1 and *out filled when present; 0 when absent (no error set). O(log n). */
int ck_st_find(const ck_st_file *f, const char *name, ck_st_tensor *out);

/* "__metadata__" value for key, or NULL. */
const char *ck_st_metadata(const ck_st_file *f, const char *key);
int ck_st_metadata_count(const ck_st_file *f);

/* Convert a F32/F16/BF16/F64 tensor to float32 into dst (t->count floats).
 * -1 and an error naming the tensor for other dtypes. Alignment-safe. */
int ck_st_to_f32(const ck_st_tensor *t, float *dst);

#ifdef __cplusplus
}
#endif
#endif
