/* Manifests and label lists: every accepted shape and every error message. */
#include "check.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/labels.h"
#include "ck/table.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/ck-test-table-XXXXXX";

/* Write `text` (len bytes, -1 = strlen) to tmpdir/name; returns the path
 * in a static buffer. */
static const char *put(const char *name, const char *text, long len)
{
    static char path[4][512];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    fwrite(text, 1, len < 0 ? strlen(text) : (size_t)len, f);
    fclose(f);
    return p;
}

/* The read must fail with an error containing `want`. */
static int fails_with(ck_manifest *m, const char *want)
{
    const char *e = ck_error_buffer();
    int ok = m == NULL && strstr(e, want) != NULL;
    if (!ok)
        fprintf(stderr, "expected error containing '%s', got %s: '%s'\n", want, m ? "success" : "error", e);
    ck_manifest_free(m);
    ck_error_clear();
    return ok;
}

static void test_signate_tsv(void)
{
    const char *p = put("train_master.tsv", "file_name\tlabel_id\ntrain_0.png\t3\ntrain_1.png\t19\n", -1);
    ck_manifest *m = ck_manifest_read(p);
    CHECK(m != NULL);
    CHECK(ck_manifest_count(m) == 2);
    CHECK(ck_manifest_has_header(m) == 1);
    CHECK(ck_manifest_sep(m) == '\t');
    CHECK(strcmp(ck_manifest_file(m, 1), "train_1.png") == 0);
    CHECK(strcmp(ck_manifest_label(m, 1), "19") == 0);
    CHECK(ck_manifest_line(m, 0) == 2 && ck_manifest_line(m, 1) == 3);
    CHECK(strcmp(ck_manifest_file_column(m), "file_name") == 0);
    CHECK(strcmp(ck_manifest_label_column(m), "label_id") == 0);
    CHECK(strcmp(ck_manifest_path(m), p) == 0);
    CHECK(ck_manifest_find(m, "train_1.png") == 1 && ck_manifest_find(m, "nope") == -1);
    ck_manifest_free(m);
}

static void test_csv_variants(void)
{
    /* BOM, CRLF, quoted comma, blank lines, spaces, no final newline. */
    const char *p = put("train.csv",
                        "\xEF\xBB\xBF"
                        "image,class\r\n\r\n\"a,b.png\", cat \r\n  \r\nc.png,\"dog \"\"x\"\"\"\r\nd.png,cat",
                        -1);
    ck_manifest *m = ck_manifest_read(p);
    CHECK(m != NULL);
    if (!m) {
        fputs(ck_error_buffer(), stderr);
        return;
    }
    CHECK(ck_manifest_count(m) == 3);
    CHECK(ck_manifest_sep(m) == ',');
    CHECK(strcmp(ck_manifest_file(m, 0), "a,b.png") == 0);
    CHECK(strcmp(ck_manifest_label(m, 0), "cat") == 0);
    CHECK(strcmp(ck_manifest_label(m, 1), "dog \"x\"") == 0);
    CHECK(ck_manifest_line(m, 0) == 3 && ck_manifest_line(m, 1) == 5 && ck_manifest_line(m, 2) == 6);
    CHECK(strcmp(ck_manifest_file_column(m), "image") == 0);

    /* Round trip keeps the style and quotes what needs it. */
    const char *out = put("copy.csv", "", 0);
    CHECK(ck_manifest_save(m, out) == 0);
    size_t n;
    char *text = ck_read_file(out, &n);
    CHECK(text && strcmp(text, "image,class\n\"a,b.png\",cat\nc.png,\"dog \"\"x\"\"\"\nd.png,cat\n") == 0);
    free(text);
    ck_manifest *back = ck_manifest_read(out);
    CHECK(back && ck_manifest_count(back) == 3 && strcmp(ck_manifest_label(back, 1), "dog \"x\"") == 0);
    ck_manifest_free(back);

    CHECK(ck_manifest_set_style(m, '\t', 0, NULL, NULL) == 0);
    CHECK(ck_manifest_save(m, out) == 0);
    text = ck_read_file(out, &n);
    CHECK(text && strcmp(text, "a,b.png\tcat\nc.png\t\"dog \"\"x\"\"\"\nd.png\tcat\n") == 0);
    free(text);
    ck_manifest_free(m);
}

static void test_header_detection(void)
{
    /* No header: numeric labels. */
    ck_manifest *m = ck_manifest_read(put("a.csv", "x1.png,0\nx2.png,1\n", -1));
    CHECK(m && !ck_manifest_has_header(m) && ck_manifest_count(m) == 2);
    CHECK(m && strcmp(ck_manifest_file_column(m), "file_name") == 0);
    ck_manifest_free(m);
    /* Unknown names, but text over numbers: a header. */
    m = ck_manifest_read(put("b.csv", "pic,kind\nx1.png,0\nx2.png,1\n", -1));
    CHECK(m && ck_manifest_has_header(m) && ck_manifest_count(m) == 2);
    CHECK(m && strcmp(ck_manifest_label_column(m), "kind") == 0);
    ck_manifest_free(m);
    /* Names as labels, no header. */
    m = ck_manifest_read(put("c.csv", "x1.png,cat\nx2.png,dog\n", -1));
    CHECK(m && !ck_manifest_has_header(m) && strcmp(ck_manifest_label(m, 0), "cat") == 0);
    ck_manifest_free(m);
    /* Known names in another order: columns by name. */
    m = ck_manifest_read(put("d.tsv", "label\tfilename\n4\tq.png\n", -1));
    CHECK(m && strcmp(ck_manifest_file(m, 0), "q.png") == 0 && strcmp(ck_manifest_label(m, 0), "4") == 0);
    ck_manifest_free(m);
    /* A single column: files only. */
    m = ck_manifest_read(put("e.txt", "q.png\nr.png\n", -1));
    CHECK(m && ck_manifest_count(m) == 2 && ck_manifest_label(m, 0) == NULL);
    ck_manifest_free(m);
}

static void test_submission(void)
{
    ck_manifest *m = ck_manifest_read(put("sample_submit.csv",
                                          "test_0.png,0.25,0.25,0.25,0.25\ntest_1.png,0.1,0.2,0.3,0.4\n", -1));
    CHECK(m != NULL);
    CHECK(m && ck_manifest_count(m) == 2 && !ck_manifest_has_header(m));
    CHECK(m && ck_manifest_label(m, 0) == NULL && ck_manifest_label_index(m) == -1);
    CHECK(m && ck_manifest_columns(m) == 5 && strcmp(ck_manifest_field(m, 1, 4), "0.4") == 0);
    ck_manifest_free(m);
}

static void test_columns(void)
{
    const char *p = put("wide.csv", "id,fold,target\na.png,0,7\nb.png,1,8\n", -1);
    ck_manifest *m = ck_manifest_read(p);
    CHECK(m && strcmp(ck_manifest_label(m, 0), "7") == 0);
    ck_manifest_free(m);
    m = ck_manifest_read_columns(p, "id", "fold");
    CHECK(m && strcmp(ck_manifest_label(m, 1), "1") == 0);
    ck_manifest_free(m);
    m = ck_manifest_read_columns(p, NULL, "");
    CHECK(m && ck_manifest_label(m, 0) == NULL);
    ck_manifest_free(m);
    m = ck_manifest_read_columns(p, "0", "2");
    CHECK(m && strcmp(ck_manifest_label(m, 1), "8") == 0);
    ck_manifest_free(m);
    CHECK(fails_with(ck_manifest_read_columns(p, NULL, "species"), "unknown column 'species' (columns: id, fold, target)"));
}

static void test_errors(void)
{
    CHECK(fails_with(ck_manifest_read(put("train_master.tsv", "file_name\tlabel_id\na.png\t1\nb.png\t2\n"
                                          "c.png\t3\nd.png\t4\ne.png\t5\nf.png\t6\ng.png\t7\nh.png\t8\n"
                                          "i.png\t9\nj.png\t10\nk.png\t11\nl.png\t12\nm.png\t13\n"
                                          "n.png\t14\no.png\t15\np.png\n", -1)),
                     "train_master.tsv:17: expected 2 fields, found 1"));
    CHECK(fails_with(ck_manifest_read(put("empty.tsv", "", 0)), "empty.tsv: empty table"));
    CHECK(fails_with(ck_manifest_read(put("blank.tsv", "\n  \n\r\n", -1)), "blank.tsv: empty table"));
    CHECK(fails_with(ck_manifest_read(put("hdr.tsv", "file_name\tlabel_id\n", -1)), "hdr.tsv: no rows after the header"));
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such.tsv", tmpdir);
    CHECK(fails_with(ck_manifest_read(missing), "no-such.tsv"));
    CHECK(fails_with(ck_manifest_read(tmpdir), "is a folder"));
    CHECK(fails_with(ck_manifest_read(put("dup.csv", "file,label\na.png,1\nb.png,2\na.png,3\n", -1)),
                     "dup.csv:4: duplicate file name 'a.png' (first on line 2)"));
    CHECK(fails_with(ck_manifest_read(put("nofile.csv", "file,label\n,1\n", -1)), "nofile.csv:2: empty file name"));
    CHECK(fails_with(ck_manifest_read(put("quote.csv", "a.png,1\n\"b.png\"x,2\n", -1)), "quote.csv:2: malformed quoted field"));
    CHECK(fails_with(ck_manifest_read(put("open.csv", "a.png,1\n\"b.png,2\n", -1)), "open.csv:2: malformed quoted field"));
    CHECK(fails_with(ck_manifest_read(put("wide.csv", "a.png,1,2\nb.png,1\n", -1)), "wide.csv:2: expected 3 fields, found 2"));
}

static void test_built(void)
{
    ck_manifest *m = ck_manifest_new();
    CHECK(ck_manifest_add(m, "z.png", "2") == 0);
    CHECK(ck_manifest_add(m, "y.png", "10") == 0);
    CHECK(ck_manifest_add(m, "z.png", "1") < 0);
    ck_error_clear();
    CHECK(ck_manifest_count(m) == 2 && ck_manifest_line(m, 0) == 0);
    const char *out = put("built.tsv", "", 0);
    CHECK(ck_manifest_save(m, out) == 0);
    char *text = ck_read_file(out, NULL);
    CHECK(text && strcmp(text, "file_name\tlabel_id\nz.png\t2\ny.png\t10\n") == 0);
    free(text);
    int idx[1] = {1};
    ck_manifest *s = ck_manifest_subset(m, idx, 1);
    CHECK(s && ck_manifest_count(s) == 1 && strcmp(ck_manifest_label(s, 0), "10") == 0);
    ck_manifest_free(s);
    ck_manifest_free(m);

    /* Files only: written as one column. */
    m = ck_manifest_new();
    ck_manifest_add(m, "t0.png", NULL);
    ck_manifest_add(m, "t1.png", NULL);
    CHECK(ck_manifest_save(m, out) == 0);
    text = ck_read_file(out, NULL);
    CHECK(text && strcmp(text, "file_name\nt0.png\nt1.png\n") == 0);
    free(text);
    ck_manifest_free(m);
    ck_manifest_free(NULL);
}

static void mk(const char *rel)
{
    char p[600];
    snprintf(p, sizeof p, "%s/tree/%s", tmpdir, rel);
    if (rel[strlen(rel) - 1] == '/') {
        ck_mkdir_p(p);
    } else {
        FILE *f = fopen(p, "wb");
        fclose(f);
    }
}

static void test_folders(void)
{
    mk("b/");
    mk("a/");
    mk("B/");
    mk(".cache/");
    mk("b/img10.png");
    mk("b/img2.PNG");
    mk("b/.hidden.png");
    mk("b/notes.txt");
    mk("a/x.jpg");
    mk("B/y.webp");
    mk("loose.png");
    mk(".cache/z.png");
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tree", tmpdir);
    ck_manifest *m = ck_manifest_from_folders(dir);
    CHECK(m != NULL);
    if (m) {
        CHECK(ck_manifest_count(m) == 4);
        const char *want[] = {"B/y.webp", "a/x.jpg", "b/img2.PNG", "b/img10.png"};
        for (int i = 0; i < 4 && i < ck_manifest_count(m); i++)
            CHECK(strcmp(ck_manifest_file(m, i), want[i]) == 0);
        CHECK(strcmp(ck_manifest_label(m, 3), "b") == 0);
        ck_labels *l = ck_labels_from_manifest(m);
        CHECK(l && ck_labels_count(l) == 3 && strcmp(ck_labels_id(l, 0), "B") == 0 &&
              strcmp(ck_labels_id(l, 2), "b") == 0);
        ck_labels_free(l);
        ck_manifest_free(m);
    }
    snprintf(dir, sizeof dir, "%s/tree/a/x.jpg", tmpdir);
    CHECK(fails_with(ck_manifest_from_folders(dir), "cannot read folder"));
    snprintf(dir, sizeof dir, "%s/tree/.cache", tmpdir);
    CHECK(fails_with(ck_manifest_from_folders(dir), "no images found"));
}

static int labels_fail(ck_labels *l, const char *want)
{
    int ok = l == NULL && strstr(ck_error_buffer(), want) != NULL;
    if (!ok)
        fprintf(stderr, "expected labels error '%s', got '%s'\n", want, ck_error_buffer());
    ck_labels_free(l);
    ck_error_clear();
    return ok;
}

static void test_labels(void)
{
    /* Ids out of order: numeric id order defines the class index. */
    ck_labels *l = ck_labels_read(put("label_master.tsv",
                                      "label_id\tlabel_name\n10\tvehicles_2\n0\taquatic_mammals\n2\tflowers\n", -1));
    CHECK(l && ck_labels_count(l) == 3);
    if (l) {
        CHECK(strcmp(ck_labels_id(l, 0), "0") == 0 && strcmp(ck_labels_name(l, 0), "aquatic_mammals") == 0);
        CHECK(strcmp(ck_labels_id(l, 2), "10") == 0);
        CHECK(ck_labels_lookup(l, "flowers") == 1);
        CHECK(ck_labels_lookup(l, "10") == 2);
        CHECK(ck_labels_lookup(l, "010") == 2);
        CHECK(ck_labels_lookup(l, "3") == -1 && ck_error_buffer()[0] == '\0');
        const char *p = put("tm.tsv", "file_name\tlabel_id\na.png\t2\nb.png\tvehicles_2\nc.png\t7\n", -1);
        ck_manifest *m = ck_manifest_read(p);
        int cls[3] = {-5, -5, -5};
        CHECK(m && ck_labels_index_manifest(l, m, cls) < 0);
        CHECK(strstr(ck_error_buffer(), "tm.tsv:4: unknown label '7'") != NULL);
        CHECK(cls[0] == 1 && cls[1] == 2);
        ck_error_clear();
        ck_manifest_free(m);
    }
    ck_labels_free(l);

    /* No header, names without ids: ids as given, file order. */
    l = ck_labels_read(put("lm.csv", "zebra\nant\n", -1));
    CHECK(l && ck_labels_count(l) == 2 && strcmp(ck_labels_name(l, 0), "zebra") == 0);
    ck_labels_free(l);

    CHECK(labels_fail(ck_labels_read(put("dupid.tsv", "label_id\tlabel_name\n1\ta\n1\tb\n", -1)), "duplicate label id '1'"));
    CHECK(labels_fail(ck_labels_read(put("dupname.tsv", "label_id\tlabel_name\n1\ta\n2\ta\n", -1)),
                      "duplicate label name 'a'"));

    /* From a manifest: numeric sort, then strcmp sort. */
    ck_manifest *m = ck_manifest_read(put("n.csv", "a.png,10\nb.png,9\nc.png,10\nd.png,0\n", -1));
    l = ck_labels_from_manifest(m);
    CHECK(l && ck_labels_count(l) == 3 && strcmp(ck_labels_id(l, 0), "0") == 0 &&
          strcmp(ck_labels_id(l, 1), "9") == 0 && strcmp(ck_labels_id(l, 2), "10") == 0);
    int cls[4];
    CHECK(l && ck_labels_index_manifest(l, m, cls) == 0 && cls[0] == 2 && cls[1] == 1 && cls[3] == 0);
    ck_labels_free(l);
    ck_manifest_free(m);
    m = ck_manifest_read(put("s.csv", "a.png,dog\nb.png,Cat\nc.png,cat\n", -1));
    l = ck_labels_from_manifest(m);
    CHECK(l && ck_labels_count(l) == 3 && strcmp(ck_labels_id(l, 0), "Cat") == 0 && strcmp(ck_labels_id(l, 2), "dog") == 0);
    ck_labels_free(l);
    ck_manifest_free(m);
    m = ck_manifest_read(put("sub.csv", "a.png,0.5,0.5\n", -1));
    CHECK(labels_fail(ck_labels_from_manifest(m), "sub.csv: no label column"));
    ck_manifest_free(m);

    /* In memory, and saved as label_master.tsv. */
    const char *ids[] = {"0", "1"}, *names[] = {"red_circle_plain", "orange_square_stripes"};
    l = ck_labels_new(2, ids, names);
    CHECK(l && ck_labels_lookup(l, "orange_square_stripes") == 1);
    const char *out = put("saved.tsv", "", 0);
    CHECK(ck_labels_save(l, out) == 0);
    char *text = ck_read_file(out, NULL);
    CHECK(text && strcmp(text, "label_id\tlabel_name\n0\tred_circle_plain\n1\torange_square_stripes\n") == 0);
    free(text);
    ck_labels_free(l);
    l = ck_labels_read(out);
    CHECK(l && strcmp(ck_labels_name(l, 1), "orange_square_stripes") == 0);
    ck_labels_free(l);
    ck_labels_free(NULL);
}

/* ck_table: the raw reader, strict and lenient. */
static void test_lenient(void)
{
    /* BOM, CRLF, blank lines (empty, spaces, bare CRLF), a quoted field
     * over two lines, ragged rows, no final newline. */
    const char *text = "\xEF\xBB\xBF"
                       "a,b,c\r\n\r\n   \r\nd,\"multi\r\nline\",e\r\nf\r\ng, h ,i,j\r\n\"k\"";
    const char *p = put("lenient.csv", text, -1);
    ck_table *t = ck_table_read(p, 0, CK_TABLE_LENIENT);
    CHECK(t != NULL);
    if (!t) {
        fputs(ck_error_buffer(), stderr);
        return;
    }
    CHECK(ck_table_rows(t) == 7 && ck_table_sep(t) == ',' && strcmp(ck_table_path(t), p) == 0);
    static const int cols[7] = {3, 0, 0, 3, 1, 4, 1}, lines[7] = {1, 2, 3, 4, 6, 7, 8};
    for (int r = 0; r < 7; r++) {
        CHECK(ck_table_cols(t, r) == cols[r]);
        CHECK(ck_table_line(t, r) == lines[r]);
    }
    CHECK(strcmp(ck_table_cell(t, 0, 0), "a") == 0);
    CHECK(strcmp(ck_table_cell(t, 3, 1), "multi\r\nline") == 0);
    CHECK(strcmp(ck_table_cell(t, 5, 1), "h") == 0);
    CHECK(strcmp(ck_table_cell(t, 6, 0), "k") == 0);
    /* Out of range: "" (a blank row has no cells), 0 for lines and widths. */
    CHECK(strcmp(ck_table_cell(t, 1, 0), "") == 0 && strcmp(ck_table_cell(t, 4, 1), "") == 0);
    CHECK(strcmp(ck_table_cell(t, 9, 0), "") == 0 && strcmp(ck_table_cell(t, 0, -1), "") == 0);
    CHECK(ck_table_line(t, 7) == 0 && ck_table_cols(t, -1) == 0);
    CHECK(ck_table_has_header(t) == 0);
    ck_table_free(t);

    /* Strict: blank lines are skipped, a ragged row is an error at its line. */
    t = ck_table_read(p, 0, 0);
    CHECK(t == NULL && strstr(ck_error_buffer(), "lenient.csv:6: expected 3 fields, found 1"));
    ck_error_clear();
    t = ck_table_read(put("strict.csv", "\n\"x\ny\",1\n\nz,2\r\n", -1), 0, 0);
    CHECK(t && ck_table_rows(t) == 2 && ck_table_line(t, 0) == 2 && ck_table_line(t, 1) == 5);
    CHECK(t && strcmp(ck_table_cell(t, 0, 0), "x\ny") == 0);
    ck_table_free(t);

    /* Tab-separated: empty fields survive (tabs are not trimmed). */
    t = ck_table_read(put("tabs.tsv", "a\t\tb\n", -1), 0, 0);
    CHECK(t && ck_table_sep(t) == '\t' && ck_table_cols(t, 0) == 3 && strcmp(ck_table_cell(t, 0, 1), "") == 0);
    ck_table_free(t);
    /* A separator given by the caller: a comma file read as TSV is one column. */
    t = ck_table_read(put("given.csv", "a,b\nc,d\n", -1), '\t', 0);
    CHECK(t && ck_table_cols(t, 1) == 1 && strcmp(ck_table_cell(t, 1, 0), "c,d") == 0);
    ck_table_free(t);
    CHECK(ck_table_read(p, ';', 0) == NULL && strstr(ck_error_buffer(), "separator"));
    ck_error_clear();
    /* Empty file: a table of no rows; a header row is found past blank lines. */
    t = ck_table_read(put("none.csv", "", 0), 0, CK_TABLE_LENIENT);
    CHECK(t && ck_table_rows(t) == 0 && ck_table_has_header(t) == 0);
    ck_table_free(t);
    t = ck_table_read(put("hdr.csv", "\n\nid,label\n\na.png,3\n", -1), 0, CK_TABLE_LENIENT);
    CHECK(t && ck_table_rows(t) == 5 && ck_table_has_header(t) == 1 && ck_table_line(t, 2) == 3);
    ck_table_free(t);
    /* Bad input: a NUL byte, a stray quote (its line), no closing quote. */
    CHECK(ck_table_read(put("nul.csv", "a,b\0c\n", 6), 0, 0) == NULL && strstr(ck_error_buffer(), "nul.csv: binary file"));
    ck_error_clear();
    CHECK(ck_table_read(put("stray.csv", "a,b\n\n\nc\"d,e\n", -1), 0, CK_TABLE_LENIENT) == NULL &&
          strstr(ck_error_buffer(), "stray.csv:4: malformed quoted field"));
    ck_error_clear();
    CHECK(ck_table_read(put("open2.csv", "a,b\n\"c,\nd\n", -1), 0, CK_TABLE_LENIENT) == NULL &&
          strstr(ck_error_buffer(), "open2.csv:2: malformed quoted field (no closing quote)"));
    ck_error_clear();
    /* In memory: the same parser; the text need not end in a NUL. */
    const char mem[] = {'x', ',', '1', '\n', '"', 'y', '"', ',', '2'};
    t = ck_table_parse(mem, sizeof mem, "mem.csv", 0, 0);
    CHECK(t && ck_table_rows(t) == 2 && strcmp(ck_table_cell(t, 1, 1), "2") == 0 && ck_table_line(t, 1) == 2);
    CHECK(t && strcmp(ck_table_path(t), "mem.csv") == 0);
    ck_table_free(t);
    t = ck_table_parse(NULL, 0, "nothing", 0, CK_TABLE_LENIENT);
    CHECK(t && ck_table_rows(t) == 0);
    ck_table_free(t);
    CHECK(ck_table_parse("a\"b", 3, "bad.csv", 0, 0) == NULL && strstr(ck_error_buffer(), "bad.csv:1: malformed"));
    ck_error_clear();
    ck_table_free(NULL);
    CHECK(ck_table_rows(NULL) == 0 && ck_table_path(NULL) == NULL);
}

/* Where a table may come from: files, stdin, FIFOs; never folders or
 * devices. */
static void test_inputs(void)
{
    CHECK(ck_table_read(tmpdir, 0, 0) == NULL && strstr(ck_error_buffer(), "not a regular file (it is a folder)"));
    ck_error_clear();
    CHECK(fails_with(ck_manifest_read("/dev/null"), "table: /dev/null: not a regular file"));

    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/pipe.tsv", tmpdir);
    CHECK(mkfifo(fifo, 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *w = fopen(fifo, "w");
        if (w)
            fputs("file_name\tlabel_id\nx.png\t1\ny.png\t2\n", w);
        _exit(w && fclose(w) == 0 ? 0 : 1);
    }
    CHECK(pid > 0);
    alarm(60); /* a reader that never returns fails instead of hanging */
    ck_manifest *m = ck_manifest_read(fifo);
    alarm(0);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(m && ck_manifest_count(m) == 2 && strcmp(ck_manifest_label(m, 1), "2") == 0);
    ck_manifest_free(m);

    /* "-" is stdin, shown as (stdin) in messages. */
    const char *p = put("stdin.csv", "a.png,1\nb.png\n", -1);
    CHECK(freopen(p, "r", stdin) != NULL);
    CHECK(fails_with(ck_manifest_read("-"), "table: (stdin):2: expected 2 fields, found 1"));
    CHECK(freopen(put("stdin2.csv", "a.png,1\n", -1), "r", stdin) != NULL);
    ck_table *t = ck_table_read("-", 0, 0);
    CHECK(t && ck_table_rows(t) == 1 && strcmp(ck_table_path(t), "(stdin)") == 0);
    ck_table_free(t);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_signate_tsv();
    test_csv_variants();
    test_header_detection();
    test_submission();
    test_columns();
    test_errors();
    test_lenient();
    test_inputs();
    test_built();
    test_folders();
    test_labels();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report("test-table");
}
