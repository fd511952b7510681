/* Writing submissions, shards, and merging shards. */
#include "ck/submission.h"
#include "submission_internal.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ck_submission_format_init(ck_submission_format *f)
{
    memset(f, 0, sizeof *f);
    f->kind = CK_SUB_PROBS;
    f->sep = ',';
    f->precision = 6;
}

static char sep_of(const ck_submission_format *f)
{
    return f->sep ? f->sep : ',';
}

static void put_header(const ck_submission *s, const ck_submission_format *f, FILE *fp)
{
    char sep = sep_of(f);
    int ncells = f->kind == CK_SUB_PROBS ? 1 + ck_submission_nclass(s) : 2;
    for (int c = 0; c < ncells; c++) {
        char idbuf[24];
        const char *cell;
        if (f->header_cells)
            cell = f->header_cells[c];
        else if (c == 0)
            cell = "file_name";
        else if (f->kind == CK_SUB_LABEL)
            cell = f->label_names ? "label_name" : "label_id";
        else if (f->class_names && f->class_names[c - 1])
            cell = f->class_names[c - 1];
        else {
            snprintf(idbuf, sizeof idbuf, "%d", c - 1);
            cell = idbuf;
        }
        if (c)
            fputc(sep, fp);
        ck_text_put_field(fp, cell, sep);
    }
}

/* One data row, without the line end. */
static int put_row(const ck_submission *s, int i, const ck_submission_format *f, double *tmp, FILE *fp)
{
    char sep = sep_of(f);
    int k = ck_submission_nclass(s);
    ck_text_put_field(fp, ck_submission_name(s, i), sep);
    if (f->kind == CK_SUB_LABEL) {
        int label = ck_submission_label(s, i);
        fputc(sep, fp);
        if (f->label_names && f->class_names && label >= 0 && f->class_names[label])
            ck_text_put_field(fp, f->class_names[label], sep);
        else
            fprintf(fp, "%d", label);
        return 0;
    }
    const double *p = ck_submission_probs_const(s, i);
    if (!p) {
        ck_error("submission", "a label submission cannot be written as probabilities");
        return -1;
    }
    memcpy(tmp, p, (size_t)k * sizeof *tmp);
    if (f->clip > 0)
        ck_probs_clip(tmp, k, f->clip);
    int digits = f->precision > 0 ? f->precision : 6;
    for (int c = 0; c < k; c++)
        fprintf(fp, "%c%.*g", sep, digits, tmp[c]);
    return 0;
}

static int check_format(const ck_submission *s, const ck_submission_format *f)
{
    if (f->sep == '"' || f->sep == '\n' || f->sep == '\r') {
        ck_error("submission", "invalid separator");
        return -1;
    }
    if (f->kind == CK_SUB_PROBS && ck_submission_kind(s) != CK_SUB_PROBS) {
        ck_error("submission", "a label submission cannot be written as probabilities");
        return -1;
    }
    return 0;
}

/* Writes rows i with i % nshards == shard; shard < 0 writes a plain file. */
static int write_rows(const ck_submission *s, const char *path, const ck_submission_format *f, int shard,
                      int nshards)
{
    if (check_format(s, f))
        return -1;
    ck_atomic_file *af = ck_atomic_open(path, CK_OUT_SYNC | CK_OUT_STDOUT);
    if (!af)
        return -1;
    FILE *fp = ck_atomic_stream(af);
    double *tmp = malloc((size_t)ck_submission_nclass(s) * sizeof *tmp);
    int rc = tmp ? 0 : -1;
    if (rc)
        ck_error("submission", "out of memory");
    if (!rc && shard >= 0)
        fprintf(fp, "#ck-shard %d/%d rows=%d\n", shard, nshards, ck_submission_nrows(s));
    if (!rc && f->header) {
        if (shard >= 0)
            fputs("#header\t", fp);
        put_header(s, f, fp);
        fputc('\n', fp);
    }
    for (int i = 0; i < ck_submission_nrows(s) && !rc; i++) {
        if (shard >= 0 && i % nshards != shard)
            continue;
        if (shard >= 0)
            fprintf(fp, "%d\t", i);
        rc = put_row(s, i, f, tmp, fp);
        fputc('\n', fp);
    }
    free(tmp);
    if (rc) {
        ck_atomic_abort(af);
        return -1;
    }
    return ck_atomic_commit(af);
}

int ck_submission_write(const ck_submission *s, const char *path, const ck_submission_format *f)
{
    return write_rows(s, path, f, -1, 1);
}

int ck_submission_write_shard(const ck_submission *s, const char *path, const ck_submission_format *f, int shard,
                              int nshards)
{
    if (nshards < 1 || shard < 0 || shard >= nshards) {
        ck_error("submission", "invalid shard %d/%d", shard, nshards);
        return -1;
    }
    return write_rows(s, path, f, shard, nshards);
}

/* ---- merge ------------------------------------------------------------ */

typedef struct merge_state {
    int total;     /* -1 until the first shard */
    int header_set;
    char *header;  /* NULL when the shards have none */
    char **rows;   /* borrowed from the shard texts */
    const char **where; /* "file:line" of each row, for duplicate reports */
} merge_state;

static char *next_line(char **p)
{
    char *s = *p;
    if (!*s)
        return NULL;
    char *e = strchr(s, '\n');
    if (e) {
        *e = '\0';
        *p = e + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

static int merge_one(merge_state *m, const char *path, char *text, int *dups, int *first_dup)
{
    char *p = text, *line = next_line(&p);
    int shard, nshards, total, n = 0;
    if (!line || sscanf(line, "#ck-shard %d/%d rows=%d%n", &shard, &nshards, &total, &n) != 3 || line[n]) {
        ck_error("submission", "%s:1: not a ck-predict shard (expected '#ck-shard I/N rows=R')", path);
        return -1;
    }
    if (m->total < 0) {
        m->total = total;
        m->rows = calloc(total ? (size_t)total : 1, sizeof *m->rows);
        m->where = calloc(total ? (size_t)total : 1, sizeof *m->where);
        if (!m->rows || !m->where) {
            ck_error("submission", "out of memory");
            return -1;
        }
    } else if (total != m->total) {
        ck_error("submission", "%s: shard of a %d-row submission, the others have %d rows", path, total, m->total);
        return -1;
    }
    int lineno = 1;
    char *header = NULL;
    while ((line = next_line(&p))) {
        lineno++;
        if (strncmp(line, "#header\t", 8) == 0 && lineno == 2) {
            header = line + 8;
            continue;
        }
        char *tab = strchr(line, '\t'), *end;
        long idx = tab ? strtol(line, &end, 10) : -1;
        if (!tab || end != tab || idx < 0 || idx >= total) {
            ck_error("submission", "%s:%d: malformed shard row (expected 'INDEX<TAB>row' with INDEX < %d)", path,
                     lineno, total);
            return -1;
        }
        if (m->rows[idx]) {
            if (!*dups)
                *first_dup = (int)idx;
            (*dups)++;
            continue;
        }
        m->rows[idx] = tab + 1;
        m->where[idx] = path;
    }
    if (!m->header_set) {
        m->header_set = 1;
        m->header = header;
    } else if ((header == NULL) != (m->header == NULL) || (header && strcmp(header, m->header) != 0)) {
        ck_error("submission", "%s: header differs from the other shards'", path);
        return -1;
    }
    return 0;
}

int ck_submission_merge(const char *out, const char *const *shards, int nshards)
{
    if (nshards < 1) {
        ck_error("submission", "no shard files to merge");
        return -1;
    }
    merge_state m = {.total = -1};
    char **texts = calloc((size_t)nshards, sizeof *texts);
    int rc = texts ? 0 : -1, dups = 0, first_dup = -1;
    for (int i = 0; i < nshards && !rc; i++) {
        texts[i] = ck_read_file(shards[i], NULL);
        if (!texts[i]) {
            rc = -1;
            break;
        }
        rc = merge_one(&m, shards[i], texts[i], &dups, &first_dup);
    }
    if (!rc && dups) {
        ck_error("submission", "%d duplicate row(s) in the shards (first: row %d, also in %s)", dups, first_dup,
                 m.where[first_dup]);
        rc = -1;
    }
    if (!rc) {
        int missing = 0, first = -1;
        for (int i = 0; i < m.total; i++)
            if (!m.rows[i] && !missing++)
                first = i;
        if (missing) {
            ck_error("submission", "%d of %d rows missing from the shards (first: row %d); is a shard file missing?",
                     missing, m.total, first);
            rc = -1;
        }
    }
    if (!rc) {
        ck_atomic_file *af = ck_atomic_open(out, CK_OUT_SYNC | CK_OUT_STDOUT);
        if (!af) {
            rc = -1;
        } else {
            FILE *fp = ck_atomic_stream(af);
            if (m.header)
                fprintf(fp, "%s\n", m.header);
            for (int i = 0; i < m.total; i++)
                fprintf(fp, "%s\n", m.rows[i]);
            rc = ck_atomic_commit(af);
        }
    }
    for (int i = 0; texts && i < nshards; i++)
        free(texts[i]);
    free(texts);
    free(m.rows);
    free(m.where);
    if (rc && !*ck_error_buffer())
        ck_error("submission", "out of memory");
    return rc;
}
