/* HDF5 helpers: quiet errors and string attributes (see h5_util.h). */
#include "h5_util.h"
#include "ck/error.h"

#include <stdlib.h>
#include <string.h>

void h5_quiet_begin(h5_quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void h5_quiet_end(const h5_quiet *q)
{
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

typedef struct walk_ctx {
    char *buf;
    size_t n;
    int got;
} walk_ctx;

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    walk_ctx *c = data;
    (void)n;
    /* Walking upward, the first entry is where HDF5 detected the problem. */
    if (!c->got && e->desc && *e->desc) {
        snprintf(c->buf, c->n, "%s", e->desc);
        c->got = 1;
    }
    return 0;
}

const char *h5_error_text(char *buf, size_t n)
{
    walk_ctx c = {buf, n, 0};
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, &c);
    H5Eclear2(H5E_DEFAULT);
    if (!c.got)
        snprintf(buf, n, "HDF5 error");
    return buf;
}

void h5_free_string_list(char **list, int count)
{
    if (!list)
        return;
    for (int k = 0; k < count; k++)
        free(list[k]);
    free(list);
}

static char *dup_trimmed(const char *s, size_t max, int spacepad)
{
    size_t len = strnlen(s, max);
    if (spacepad)
        while (len && s[len - 1] == ' ')
            len--;
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

int h5_read_string_list(hid_t obj, const char *attr, char ***out, int *count, const char *path,
                        const char *where)
{
    char h5msg[256];
    *out = NULL;
    *count = 0;
    hid_t a = H5Aopen(obj, attr, H5P_DEFAULT);
    if (a < 0) {
        ck_error("weights", "%s: %s: cannot read attribute '%s' (%s)", path, where, attr,
                 h5_error_text(h5msg, sizeof h5msg));
        return -1;
    }
    int rc = -1;
    hid_t ftype = H5Aget_type(a), space = H5Aget_space(a), mtype = -1;
    hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    char **list = NULL;
    if (ftype < 0 || np < 0) {
        ck_error("weights", "%s: %s: attribute '%s' is unreadable (%s)", path, where, attr,
                 h5_error_text(h5msg, sizeof h5msg));
        goto out;
    }
    if (np == 0) {
        rc = 0;
        goto out;
    }
    if (H5Tget_class(ftype) != H5T_STRING) {
        ck_error("weights", "%s: %s: attribute '%s' is not a list of strings", path, where, attr);
        goto out;
    }
    if (np > 100000) {
        ck_error("weights", "%s: %s: attribute '%s' has %lld entries (corrupt?)", path, where, attr,
                 (long long)np);
        goto out;
    }
    list = calloc((size_t)np, sizeof *list);
    if (!list) {
        ck_error("weights", "%s: out of memory", path);
        goto out;
    }
    mtype = H5Tcopy(H5T_C_S1);
    if (H5Tis_variable_str(ftype) > 0) {
        char **raw = calloc((size_t)np, sizeof *raw);
        if (!raw || H5Tset_size(mtype, H5T_VARIABLE) < 0 || H5Aread(a, mtype, raw) < 0) {
            ck_error("weights", "%s: %s: cannot read attribute '%s' (%s)", path, where, attr,
                     h5_error_text(h5msg, sizeof h5msg));
            free(raw);
            goto out;
        }
        int ok = 1;
        for (hssize_t k = 0; k < np; k++) {
            list[k] = dup_trimmed(raw[k] ? raw[k] : "", raw[k] ? strlen(raw[k]) : 0, 0);
            ok = ok && list[k];
        }
        H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, raw);
        free(raw);
        if (!ok) {
            ck_error("weights", "%s: out of memory", path);
            goto out;
        }
    } else {
        size_t size = H5Tget_size(ftype);
        int spacepad = H5Tget_strpad(ftype) == H5T_STR_SPACEPAD;
        char *raw = size ? calloc((size_t)np, size) : NULL;
        if (!raw || H5Tset_size(mtype, size) < 0 || H5Tset_strpad(mtype, H5T_STR_NULLPAD) < 0 ||
            H5Aread(a, mtype, raw) < 0) {
            ck_error("weights", "%s: %s: cannot read attribute '%s' (%s)", path, where, attr,
                     h5_error_text(h5msg, sizeof h5msg));
            free(raw);
            goto out;
        }
        int ok = 1;
        for (hssize_t k = 0; k < np; k++) {
            list[k] = dup_trimmed(raw + (size_t)k * size, size, spacepad);
            ok = ok && list[k];
        }
        free(raw);
        if (!ok) {
            ck_error("weights", "%s: out of memory", path);
            goto out;
        }
    }
    *out = list;
    *count = (int)np;
    list = NULL;
    rc = 0;
out:
    h5_free_string_list(list, (int)(np > 0 ? np : 0));
    if (mtype >= 0)
        H5Tclose(mtype);
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    H5Aclose(a);
    return rc;
}

int h5_write_string_list(hid_t obj, const char *attr, const char *const *list, int count)
{
    if (count < 0)
        return -1;
    size_t size = 1;
    for (int k = 0; k < count; k++) {
        size_t l = strlen(list[k]);
        if (l > size)
            size = l;
    }
    char *buf = calloc(count > 0 ? (size_t)count : 1, size);
    if (!buf)
        return -1;
    for (int k = 0; k < count; k++)
        memcpy(buf + (size_t)k * size, list[k], strlen(list[k]));
    hsize_t dims[1] = {(hsize_t)count};
    hid_t type = H5Tcopy(H5T_C_S1);
    hid_t space = H5Screate_simple(1, dims, NULL);
    int rc = -1;
    if (type >= 0 && space >= 0 && H5Tset_size(type, size) >= 0 &&
        H5Tset_strpad(type, H5T_STR_NULLPAD) >= 0) {
        hid_t a = H5Acreate2(obj, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            rc = (count == 0 || H5Awrite(a, type, buf) >= 0) ? 0 : -1;
            H5Aclose(a);
        }
    }
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    free(buf);
    return rc;
}

int h5_write_string_attr(hid_t obj, const char *attr, const char *value)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    hid_t space = H5Screate(H5S_SCALAR);
    int rc = -1;
    if (type >= 0 && space >= 0 && H5Tset_size(type, strlen(value) ? strlen(value) : 1) >= 0 &&
        H5Tset_strpad(type, H5T_STR_NULLPAD) >= 0) {
        hid_t a = H5Acreate2(obj, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            char *buf = calloc(1, strlen(value) + 1);
            if (buf) {
                memcpy(buf, value, strlen(value));
                rc = H5Awrite(a, type, buf) >= 0 ? 0 : -1;
                free(buf);
            }
            H5Aclose(a);
        }
    }
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return rc;
}

static int write_scalar(hid_t obj, const char *attr, hid_t ftype, hid_t mtype, const void *v)
{
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0)
        return -1;
    int rc = -1;
    hid_t a = H5Acreate2(obj, attr, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        rc = H5Awrite(a, mtype, v) >= 0 ? 0 : -1;
        H5Aclose(a);
    }
    H5Sclose(space);
    return rc;
}

int h5_write_u64_attr(hid_t obj, const char *attr, unsigned long long value)
{
    return write_scalar(obj, attr, H5T_STD_U64LE, H5T_NATIVE_ULLONG, &value);
}

int h5_write_i32_attr(hid_t obj, const char *attr, int value)
{
    return write_scalar(obj, attr, H5T_STD_I32LE, H5T_NATIVE_INT, &value);
}
