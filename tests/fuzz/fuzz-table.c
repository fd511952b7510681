/* Fuzz the table reader (lib/io/table.c: ck_table_parse in strict and
 * lenient mode, each separator) and the readers on top of it: the manifest
 * (ck_manifest_read), the class list (ck_labels_read) and the mapping of a
 * manifest's labels to classes; every accessor is read and the manifest is
 * written back out. */
#include "fuzz.h"
#include "ck/error.h"
#include "ck/labels.h"
#include "ck/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void use_manifest(const ck_manifest *m)
{
    int n = ck_manifest_count(m), cols = ck_manifest_columns(m);
    for (int i = 0; i < n; i++) {
        const char *f = ck_manifest_file(m, i);
        if (!f || !*f || ck_manifest_find(m, f) != i)
            fuzz_fail("table", "a row's file name does not find the row");
        (void)ck_manifest_label(m, i);
        (void)ck_manifest_line(m, i);
        for (int c = 0; c < cols; c++)
            if (!ck_manifest_field(m, i, c))
                fuzz_fail("table", "a field inside the table is NULL");
    }
    (void)ck_manifest_file_column(m);
    (void)ck_manifest_label_column(m);
    ck_manifest_write(m, fuzz_null_stream());
}

static void use_tables(const uint8_t *data, size_t size)
{
    static const char seps[] = {0, ',', '\t'};
    for (int flags = 0; flags <= CK_TABLE_LENIENT; flags += CK_TABLE_LENIENT)
        for (size_t k = 0; k < sizeof seps; k++) {
            ck_table *t = ck_table_parse((const char *)data, size, "fuzz.csv", seps[k], flags);
            for (int r = 0; r < ck_table_rows(t); r++) {
                for (int c = 0; c < ck_table_cols(t, r); c++)
                    (void)strlen(ck_table_cell(t, r, c));
                if (*ck_table_cell(t, r, ck_table_cols(t, r)) || ck_table_line(t, r) < 1)
                    fuzz_fail("table", "a cell past the row's end is not empty, or a row has no line");
            }
            (void)ck_table_has_header(t);
            ck_table_free(t);
            ck_error_clear();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    use_tables(data, size);
    const char *path = fuzz_file(0, data, size);
    ck_manifest *m = ck_manifest_read(path);
    if (m) {
        use_manifest(m);
        ck_labels *from = ck_labels_from_manifest(m);
        int *cls = malloc((size_t)(ck_manifest_count(m) + 1) * sizeof *cls);
        if (!cls)
            abort();
        if (from && ck_labels_index_manifest(from, m, cls) != 0)
            fuzz_fail("table: a manifest's own labels do not index it", ck_error_buffer());
        free(cls);
        ck_labels_free(from);
    }
    ck_error_clear();
    ck_manifest *by_number = ck_manifest_read_columns(path, "0", "1");
    if (by_number)
        use_manifest(by_number);
    ck_manifest_free(by_number);
    ck_error_clear();
    ck_labels *l = ck_labels_read(path);
    for (int k = 0; k < ck_labels_count(l); k++)
        if (ck_labels_lookup(l, ck_labels_id(l, k)) < 0 || !ck_labels_name(l, k))
            fuzz_fail("table", "a class id does not find its class");
    if (l && m) {
        int *cls = malloc((size_t)(ck_manifest_count(m) + 1) * sizeof *cls);
        if (!cls)
            abort();
        (void)ck_labels_index_manifest(l, m, cls);
        free(cls);
    }
    ck_labels_free(l);
    ck_manifest_free(m);
    ck_error_clear();
    return 0;
}
