/* Keras HDF5 weights (save_weights layout, Keras 1 and 2 names, notop or
 * with top, any architecture of ck/arch.h; also a full-model file's
 * "model_weights" group). */
#include "weights_internal.h"
#include "h5_util.h"
#include "ck/error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The canonical kind of a Keras weight name: "block1_conv1_W_1:0",
 * "kernel:0", "conv1_bn/moving_mean:0", "dense_1_b:0" ...; NULL unknown. */
static const char *weight_kind(const char *wname)
{
    static const char *const kinds[6] = {"kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"};
    const char *base = strrchr(wname, '/');
    base = base ? base + 1 : wname;
    char s[256];
    snprintf(s, sizeof s, "%s", base);
    char *colon = strchr(s, ':');
    if (colon)
        *colon = '\0';
    size_t n = strlen(s);
    /* Keras 1 appends "_<n>" to make names unique: strip it. */
    if (n > 2 && s[n - 2] == '_' && s[n - 1] >= '0' && s[n - 1] <= '9')
        s[n -= 2] = '\0';
    if (strcmp(s, "kernel") == 0 || (n >= 2 && strcmp(s + n - 2, "_W") == 0) || strcmp(s, "W") == 0)
        return kinds[0];
    if (strcmp(s, "bias") == 0 || (n >= 2 && strcmp(s + n - 2, "_b") == 0) || strcmp(s, "b") == 0)
        return kinds[1];
    for (int k = 2; k < 6; k++) {
        size_t l = strlen(kinds[k]);
        /* "gamma" or a prefixed "<layer>_gamma". */
        if (n >= l && strcmp(s + n - l, kinds[k]) == 0 && (n == l || s[n - l - 1] == '_'))
            return kinds[k];
    }
    return NULL;
}

/* Index one layer's weights as "<layer>/<kind>" with their stored shapes
 * (no data read). A layer whose weights are not recognised is skipped:
 * only the tensors an architecture needs matter. */
static int index_layer(ck_weights *w, hid_t root, const char *layer, wt_index *x)
{
    char h5msg[256];
    /* A layer without a group holds nothing: when the architecture needs
     * its tensors, recognition names the missing one. */
    if (H5Lexists(root, layer, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return 0;
    }
    hid_t g = H5Gopen2(root, layer, H5P_DEFAULT);
    if (g < 0) {
        ck_error("weights", "%s: layer %s: cannot open its group (%s)", w->path, layer,
                 h5_error_text(h5msg, sizeof h5msg));
        return -1;
    }
    char **names = NULL;
    int n = 0, rc = -1;
    if (H5Aexists(g, "weight_names") <= 0) {
        rc = 0;
        goto out;
    }
    if (h5_read_string_list(g, "weight_names", &names, &n, w->path, layer) < 0)
        goto out;
    const char *kinds[8] = {0};
    static const char *const conv_order[2] = {"kernel", "bias"};
    static const char *const bn_order[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    int known = n <= 8;
    for (int k = 0; known && k < n; k++) {
        kinds[k] = weight_kind(names[k]);
        for (int j = 0; j < k && kinds[k]; j++)
            if (kinds[j] == kinds[k])
                kinds[k] = NULL;
        known = kinds[k] != NULL;
    }
    if (!known && (n == 2 || n == 4)) {
        /* Unrecognised names: Keras's own order. */
        for (int k = 0; k < n; k++)
            kinds[k] = n == 2 ? conv_order[k] : bn_order[k];
        known = 1;
    }
    if (!known) {
        rc = 0;
        goto out;
    }
    for (int k = 0; k < n; k++) {
        hid_t d = H5Dopen2(g, names[k], H5P_DEFAULT);
        if (d < 0) {
            ck_error("weights", "%s: layer %s: cannot open dataset '%s' (%s)", w->path, layer, names[k],
                     h5_error_text(h5msg, sizeof h5msg));
            goto out;
        }
        hid_t space = H5Dget_space(d);
        int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
        hsize_t dims[H5S_MAX_RANK];
        if (rank < 0 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
            ck_error("weights", "%s: layer %s: dataset '%s' is unreadable (%s)", w->path, layer, names[k],
                     h5_error_text(h5msg, sizeof h5msg));
            if (space >= 0)
                H5Sclose(space);
            H5Dclose(d);
            goto out;
        }
        H5Sclose(space);
        H5Dclose(d);
        long long shape[4] = {0, 0, 0, 0};
        for (int j = 0; j < rank && j < 4; j++)
            shape[j] = dims[j] > 1000000000ULL ? -1 : (long long)dims[j];
        char cname[96], src[192];
        snprintf(cname, sizeof cname, "%s/%s", layer, kinds[k]);
        snprintf(src, sizeof src, "%s/%s", layer, names[k]);
        /* rank > 4 never matches: recorded as rank 5 with no dims. */
        if (wt_index_add(x, cname, rank > 4 ? 5 : rank, shape, src) < 0) {
            ck_error("weights", "%s: out of memory", w->path);
            goto out;
        }
    }
    rc = 0;
out:
    h5_free_string_list(names, n);
    H5Gclose(g);
    return rc;
}

/* Read one recognised tensor (its shape already checked, so the size to
 * allocate is the architecture's, not whatever a corrupt header claims). */
static int read_tensor(ck_weights *w, hid_t root, const wt_tensor *want, const wt_entry *e)
{
    char h5msg[256];
    hid_t d = H5Dopen2(root, e->src, H5P_DEFAULT);
    if (d < 0) {
        ck_error("weights", "%s: cannot open dataset '%s' (%s)", w->path, e->src,
                 h5_error_text(h5msg, sizeof h5msg));
        return -1;
    }
    int rc = -1;
    float *data = NULL;
    hid_t type = H5Dget_type(d);
    if (type < 0 || H5Tget_class(type) != H5T_FLOAT) {
        ck_error("weights", "%s: tensor %s: dataset '%s' is not floating point", w->path, want->name, e->src);
        goto out;
    }
    size_t count = 1;
    for (int k = 0; k < want->ndim; k++)
        count *= (size_t)want->shape[k];
    data = malloc(count * sizeof *data);
    if (!data) {
        ck_error("weights", "%s: tensor %s: out of memory", w->path, want->name);
        goto out;
    }
    if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        ck_error("weights", "%s: cannot read tensor %s from '%s' (%s; truncated or corrupt file?)", w->path,
                 want->name, e->src, h5_error_text(h5msg, sizeof h5msg));
        goto out;
    }
    rc = ck_weights_add(w, want, data);
    data = NULL;
out:
    free(data);
    if (type >= 0)
        H5Tclose(type);
    H5Dclose(d);
    return rc;
}

/* Root attributes written by ck's random writer. */
static void read_random_marks(ck_weights *w, hid_t f)
{
    if (H5Aexists(f, "ck_random_weights") <= 0)
        return;
    int flag = 0;
    hid_t a = H5Aopen(f, "ck_random_weights", H5P_DEFAULT);
    if (a >= 0) {
        if (H5Aread(a, H5T_NATIVE_INT, &flag) < 0)
            flag = 0;
        H5Aclose(a);
    }
    if (flag != 1)
        return;
    w->origin = CK_WEIGHTS_RANDOM;
    unsigned long long seed = 0;
    if (H5Aexists(f, "ck_seed") > 0 && (a = H5Aopen(f, "ck_seed", H5P_DEFAULT)) >= 0) {
        if (H5Aread(a, H5T_NATIVE_ULLONG, &seed) >= 0)
            w->seed = (long long)seed;
        H5Aclose(a);
    }
}

/* The file through the access property list fapl: the default one reads
 * w->path, a core-driver one with a file image reads memory. Index every
 * layer's weights, recognise the architecture, then read its tensors. */
static int load_h5(ck_weights *w, hid_t fapl)
{
    char h5msg[256];
    h5_quiet q;
    h5_quiet_begin(&q);
    w->format = "hdf5";
    w->preprocessing = "caffe";
    int rc = -1;
    hid_t root = -1;
    char **layers = NULL;
    int nlayers = 0;
    wt_index x = {0};
    wt_match *m = NULL;
    hid_t f = fapl < 0 ? -1 : H5Fopen(w->path, H5F_ACC_RDONLY, fapl);
    if (f < 0) {
        ck_error("weights", "%s: cannot open as HDF5 (%s; truncated or corrupt file?)", w->path,
                 h5_error_text(h5msg, sizeof h5msg));
        goto out;
    }
    root = f;
    if (H5Aexists(f, "layer_names") <= 0 && H5Lexists(f, "model_weights", H5P_DEFAULT) > 0) {
        root = H5Gopen2(f, "model_weights", H5P_DEFAULT);
        if (root < 0) {
            ck_error("weights", "%s: cannot open group model_weights (%s)", w->path,
                     h5_error_text(h5msg, sizeof h5msg));
            goto out;
        }
    }
    if (H5Aexists(root, "layer_names") <= 0) {
        ck_error("weights", "%s: no 'layer_names' attribute: not a Keras weights file", w->path);
        goto out;
    }
    if (h5_read_string_list(root, "layer_names", &layers, &nlayers, w->path, "root") < 0)
        goto out;
    read_random_marks(w, f);
    for (int k = 0; k < nlayers; k++)
        if (index_layer(w, root, layers[k], &x) < 0)
            goto out;
    m = malloc(sizeof *m);
    if (!m) {
        ck_error("weights", "%s: out of memory", w->path);
        goto out;
    }
    /* Keras files are the keras layout (ResNet v1 with conv biases). */
    if (wt_recognise(&x, w->path, 1u << WT_NAMES_CANONICAL, CK_LAYOUT_KERAS, m) < 0)
        goto out;
    if (m->layout != CK_LAYOUT_KERAS) {
        ck_error("weights", "%s: %s without conv biases is not a Keras file", w->path, ck_arch_name(m->arch));
        goto out;
    }
    wt_adopt(w, m);
    for (int i = 0; i < m->n; i++)
        if (read_tensor(w, root, &m->want[i], m->from[i]) < 0)
            goto out;
    rc = 0;
out:
    free(m);
    wt_index_free(&x);
    h5_free_string_list(layers, nlayers);
    if (root >= 0 && root != f)
        H5Gclose(root);
    if (f >= 0)
        H5Fclose(f);
    h5_quiet_end(&q);
    return rc;
}

/* libhdf5 1.10 crashes on some corrupt files (tests/fuzz/libhdf5-crashes/),
 * and nothing in its API validates a file without decoding it. So a child
 * process reads the file first; only when that child survives does this
 * process read it. 0 survived (or could not be started: then the reading
 * below is no worse than before), -1 crashed or hung (error set). */
#define H5_PROBE_SECONDS 300
#define PROBE_FAILED 97 /* the child met an ordinary error (reported below) */

static int probe_h5(ck_weights *w)
{
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        /* Silent, and a crash is told apart from an ordinary error by the
         * exit status alone (sanitizers report a crash with exit 1). */
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0)
            dup2(null, STDERR_FILENO);
        _exit(load_h5(w, H5P_DEFAULT) == 0 ? 0 : PROBE_FAILED);
    }
    int status = 0;
    struct timespec tick = {0, 2000000};
    for (long waited_ms = 0;; waited_ms += 2) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return 0;
        if (waited_ms >= H5_PROBE_SECONDS * 1000L) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            ck_error("weights", "%s: reading it as HDF5 did not finish in %d s (corrupt file?)",
                     w->path, H5_PROBE_SECONDS);
            return -1;
        }
        nanosleep(&tick, NULL);
    }
    if (WIFSIGNALED(status)) {
        ck_error("weights", "%s: corrupt HDF5 file (libhdf5 crashed reading it: %s)", w->path,
                 strsignal(WTERMSIG(status)));
        return -1;
    }
    if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != PROBE_FAILED) {
        ck_error("weights", "%s: corrupt HDF5 file (libhdf5 crashed reading it: exit status %d)",
                 w->path, WEXITSTATUS(status));
        return -1;
    }
    return 0;
}

int ck_weights_load_h5(ck_weights *w)
{
    if (probe_h5(w) != 0)
        return -1;
    return load_h5(w, H5P_DEFAULT);
}

int ck_weights_load_h5_image(ck_weights *w, const void *data, size_t size)
{
    /* Core driver without backing store: the image is copied into HDF5's
     * own buffer and nothing is written back. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
                      H5Pset_file_image(fapl, (void *)data, size) < 0)) {
        H5Pclose(fapl);
        fapl = -1;
    }
    int rc = load_h5(w, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    return rc;
}
