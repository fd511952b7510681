/* ck/labels.h — the class list: index 0..n-1 <-> id text <-> name.
 *
 * The class index is what the network's output k and the k-th probability
 * column of a submission mean. Its order:
 *  - from label_master.tsv (ck_labels_read): when every id is an integer,
 *    ascending numeric id (so "label_id" 0..19 = index 0..19 whatever the
 *    row order); otherwise the file's row order;
 *  - from a manifest (ck_labels_from_manifest): the distinct labels, sorted
 *    numerically when every label is an integer, else by strcmp (byte order —
 *    the same order as the class folders of ck_manifest_from_folders).
 *
 *   ck_labels *l = ck_labels_read("label_master.tsv");
 *   int *cls = malloc(n * sizeof *cls);
 *   if (ck_labels_index_manifest(l, m, cls) < 0) -> error names FILE:LINE
 */
#ifndef CK_LABELS_H
#define CK_LABELS_H

#include "ck/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_labels ck_labels;

/* label_master.tsv: columns id + name. Same separator/header/quoting rules
 * as ck_manifest_read. With a header the id column is the first of
 * label_id, id, class_id, category_id, label, class, y, target (else column
 * 0) and the name column the first of label_name, name, class_name,
 * category, category_name, description (else column 1 when there are 2+
 * columns). Without header: column 0 id, column 1 name. A single column
 * gives names equal to ids. Duplicate ids or names, empty ids: errors. */
ck_labels *ck_labels_read(const char *path);
/* Distinct labels of a manifest (ids = names = label text). Error if the
 * manifest has no label column, an empty label, or no rows. */
ck_labels *ck_labels_from_manifest(const ck_manifest *m);
/* Labels from parallel arrays (names may be NULL = ids); kept in this order.
 * For building in memory (e.g. ck-synth, checkpoints). */
ck_labels *ck_labels_new(int n, const char *const *ids, const char *const *names);

int ck_labels_count(const ck_labels *l);
const char *ck_labels_id(const ck_labels *l, int k);    /* "0".."19" */
const char *ck_labels_name(const ck_labels *l, int k);  /* "aquatic_mammals", or the id */
/* Index of a label given by id or by name (exact text first, then integer
 * value, so "07" finds id "7"); -1 if unknown (no error set). */
int ck_labels_lookup(const ck_labels *l, const char *text);
/* Map every row of m to its class index (out_class has count(m) entries).
 * -1 and "FILE:LINE: unknown label 'x'" (or "no label column") on failure. */
int ck_labels_index_manifest(const ck_labels *l, const ck_manifest *m, int *out_class);
/* Write as label_master.tsv ("label_id\tlabel_name" header), atomically. */
int ck_labels_save(const ck_labels *l, const char *path);

void ck_labels_free(ck_labels *l);

#ifdef __cplusplus
}
#endif
#endif
