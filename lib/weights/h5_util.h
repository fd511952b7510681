/* HDF5 helpers for lib/weights: quiet error handling turned into ck_error
 * text, and string-list attributes in either of HDF5's string forms. */
#ifndef CK_H5_UTIL_H
#define CK_H5_UTIL_H

#include <hdf5.h>
#include <stddef.h>

/* HDF5 prints its error stack to stderr by default; the library must not
 * print. Bracket every use of HDF5 with quiet_begin/end (restores the
 * previous handler). */
typedef struct h5_quiet {
    H5E_auto2_t func;
    void *data;
} h5_quiet;
void h5_quiet_begin(h5_quiet *q);
void h5_quiet_end(const h5_quiet *q);

/* The innermost message of HDF5's error stack (e.g. "truncated file: eof =
 * ..."), then clears the stack. Returns buf. */
const char *h5_error_text(char *buf, size_t n);

/* Read a string attribute (fixed- or variable-length, scalar or 1-D) into a
 * malloc'd array of malloc'd strings. An attribute with no elements (Keras
 * writes an empty float array for layers without weights) gives *count 0,
 * whatever its type. -1 and an error (naming `path` and `where`) on failure. */
int h5_read_string_list(hid_t obj, const char *attr, char ***out, int *count, const char *path,
                        const char *where);
void h5_free_string_list(char **list, int count);

/* Write a 1-D fixed-length string attribute (as Keras/h5py do for numpy
 * byte strings); count may be 0. */
int h5_write_string_list(hid_t obj, const char *attr, const char *const *list, int count);
/* Scalar attributes. */
int h5_write_string_attr(hid_t obj, const char *attr, const char *value);
int h5_write_u64_attr(hid_t obj, const char *attr, unsigned long long value);
int h5_write_i32_attr(hid_t obj, const char *attr, int value);

#endif
