/* ck/submission.h: reading, byte-exact writing, shards, checking, TTA and
 * ensemble arithmetic. */
#include "check.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/augment.h"
#include "ck/submission.h"
#include "ck/table.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "cli-sub-XXXXXX";

static char *path(const char *name)
{
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void put(const char *name, const char *text)
{
    CHECK(ck_atomic_write(path(name), text, strlen(text)) == 0);
}

static int file_is(const char *name, const char *want)
{
    char *got = ck_read_file(path(name), NULL);
    int ok = got && strcmp(got, want) == 0;
    if (!ok)
        fprintf(stderr, "%s:\n--- got ---\n%s--- want ---\n%s", name, got ? got : "(unreadable)", want);
    free(got);
    return ok;
}

static void test_table(void)
{
    put("t.csv", "\xEF\xBB\xBFid,\"a,b\",c\r\nx.png,\"say \"\"hi\"\"\",3\r\n\r\ny.png,,\n");
    ck_table *t = ck_table_read(path("t.csv"), 0, CK_TABLE_LENIENT);
    CHECK(t != NULL);
    CHECK(ck_table_rows(t) == 4);
    CHECK(ck_table_sep(t) == ',');
    CHECK(strcmp(ck_table_cell(t, 0, 0), "id") == 0);
    CHECK(strcmp(ck_table_cell(t, 0, 1), "a,b") == 0);
    CHECK(strcmp(ck_table_cell(t, 1, 1), "say \"hi\"") == 0);
    CHECK(ck_table_cols(t, 2) == 0 && ck_table_line(t, 2) == 3);
    CHECK(ck_table_cols(t, 3) == 3 && ck_table_line(t, 3) == 4);
    CHECK(strcmp(ck_table_cell(t, 3, 2), "") == 0);
    CHECK(ck_table_has_header(t) == 1);
    ck_table_free(t);

    put("h.tsv", "test_1.png\t0.5\t0.5\ntest_2.png\t0.25\t0.75\n");
    t = ck_table_read(path("h.tsv"), 0, CK_TABLE_LENIENT);
    CHECK(t && ck_table_sep(t) == '\t' && ck_table_has_header(t) == 0);
    ck_table_free(t);
    put("k.csv", "id,label\n1,3\n");
    t = ck_table_read(path("k.csv"), 0, CK_TABLE_LENIENT);
    CHECK(t && ck_table_has_header(t) == 1);
    ck_table_free(t);

    put("q.csv", "a,\"open\n");
    CHECK(ck_table_read(path("q.csv"), 0, CK_TABLE_LENIENT) == NULL);
    CHECK(strstr(ck_error_buffer(), "q.csv:1: malformed quoted field (no closing quote)") != NULL);
    ck_error_clear();
    CHECK(ck_table_read(path("nope.csv"), 0, CK_TABLE_LENIENT) == NULL);
    CHECK(strstr(ck_error_buffer(), "nope.csv") != NULL);
    ck_error_clear();

    double d;
    long v;
    CHECK(ck_parse_double(" 0.25 ", &d) == 0 && d == 0.25);
    CHECK(ck_parse_double("0.2x", &d) == -1 && ck_parse_double("", &d) == -1);
    CHECK(ck_parse_index("17", &v) == 0 && v == 17);
    CHECK(ck_parse_index("-1", &v) == -1 && ck_parse_index("1.0", &v) == -1);
}

static ck_submission *tiny(void)
{
    /* 5 rows, 3 classes. */
    ck_submission *s = ck_submission_new(5, 3, CK_SUB_PROBS);
    const char *names[5] = {"test_1.png", "test_2.png", "test_10.png", "b,c.png", "test_3.png"};
    double p[5][3] = {{0.5, 0.25, 0.25}, {0.1, 0.7, 0.2}, {1, 0, 0}, {1.0 / 3, 1.0 / 3, 1.0 / 3}, {0, 0.4, 0.6}};
    for (int i = 0; i < 5; i++) {
        ck_submission_set_name(s, i, names[i]);
        memcpy(ck_submission_probs(s, i), p[i], sizeof p[i]);
    }
    return s;
}

static void test_write(void)
{
    ck_submission *s = tiny();
    CHECK(ck_submission_label(s, 1) == 1 && ck_submission_label(s, 3) == 0 && ck_submission_label(s, 4) == 2);
    CHECK(ck_submission_find(s, "test_10.png") == 2 && ck_submission_find(s, "zzz") == -1);
    ck_submission_format f;
    ck_submission_format_init(&f);
    CHECK(ck_submission_write(s, path("p.csv"), &f) == 0);
    CHECK(file_is("p.csv", "test_1.png,0.5,0.25,0.25\n"
                           "test_2.png,0.1,0.7,0.2\n"
                           "test_10.png,1,0,0\n"
                           "\"b,c.png\",0.333333,0.333333,0.333333\n"
                           "test_3.png,0,0.4,0.6\n"));
    /* Clipping: [eps, 1-eps] then renormalised: (1-e, e, e) / (1 + e). */
    f.clip = 0.01;
    f.precision = 4;
    const char *cls[3] = {"cat", "dog", "eel"};
    f.class_names = cls;
    f.header = 1;
    f.sep = '\t';
    CHECK(ck_submission_write(s, path("c.tsv"), &f) == 0);
    CHECK(file_is("c.tsv", "file_name\tcat\tdog\teel\n"
                           "test_1.png\t0.5\t0.25\t0.25\n"
                           "test_2.png\t0.1\t0.7\t0.2\n"
                           "test_10.png\t0.9802\t0.009901\t0.009901\n"
                           "b,c.png\t0.3333\t0.3333\t0.3333\n"
                           "test_3.png\t0.009901\t0.396\t0.5941\n"));
    /* Labels, ids and names, Kaggle-style header. */
    ck_submission_format_init(&f);
    f.kind = CK_SUB_LABEL;
    f.header = 1;
    const char *hdr[2] = {"id", "label"};
    f.header_cells = hdr;
    CHECK(ck_submission_write(s, path("l.csv"), &f) == 0);
    CHECK(file_is("l.csv", "id,label\ntest_1.png,0\ntest_2.png,1\ntest_10.png,0\n\"b,c.png\",0\ntest_3.png,2\n"));
    f.class_names = cls;
    f.label_names = 1;
    f.header_cells = NULL;
    CHECK(ck_submission_write(s, path("n.csv"), &f) == 0);
    CHECK(file_is("n.csv", "file_name,label_name\ntest_1.png,cat\ntest_2.png,dog\ntest_10.png,cat\n"
                           "\"b,c.png\",cat\ntest_3.png,eel\n"));

    /* Reading back: probabilities (with a class-name header in another
     * order), labels by id and by name. */
    put("perm.csv", "file_name,eel,cat,dog\na.png,0.1,0.6,0.3\n");
    ck_submission *r = ck_submission_read(path("perm.csv"), 3, cls);
    CHECK(r && ck_submission_kind(r) == CK_SUB_PROBS && ck_submission_nrows(r) == 1);
    if (r) {
        const double *p = ck_submission_probs_const(r, 0);
        CHECK(p[0] == 0.6 && p[1] == 0.3 && p[2] == 0.1);
        CHECK(ck_submission_line(r, 0) == 2);
    }
    ck_submission_free(r);
    r = ck_submission_read(path("n.csv"), 3, cls);
    CHECK(r && ck_submission_kind(r) == CK_SUB_LABEL && ck_submission_label(r, 4) == 2);
    ck_submission_free(r);
    r = ck_submission_read(path("l.csv"), 0, NULL);
    CHECK(r && ck_submission_nclass(r) == 3 && ck_submission_label(r, 1) == 1);
    ck_submission_free(r);
    r = ck_submission_read(path("p.csv"), 0, NULL);
    CHECK(r && ck_submission_nclass(r) == 3 && ck_submission_nrows(r) == 5);
    ck_submission_free(r);
    /* Names the reader would trim are quoted, so they read back as written. */
    ck_submission *sp = ck_submission_new(1, 2, CK_SUB_PROBS);
    CHECK(sp && ck_submission_set_name(sp, 0, " lead.png") == 0);
    ck_submission_format_init(&f);
    CHECK(sp && ck_submission_write(sp, path("sp.csv"), &f) == 0);
    CHECK(file_is("sp.csv", "\" lead.png\",0,0\n"));
    r = ck_submission_read(path("sp.csv"), 2, NULL);
    CHECK(r && strcmp(ck_submission_name(r, 0), " lead.png") == 0);
    ck_submission_free(r);
    ck_submission_free(sp);
    /* Errors name the file and line. */
    put("bad.csv", "a.png,0.5,0.5\nb.png,0.5,x\n");
    CHECK(ck_submission_read(path("bad.csv"), 2, NULL) == NULL);
    CHECK(strstr(ck_error_buffer(), "bad.csv:2: column 3: 'x'") != NULL);
    ck_error_clear();
    put("dup.csv", "a.png,0.5,0.5\na.png,0.5,0.5\n");
    CHECK(ck_submission_read(path("dup.csv"), 2, NULL) == NULL);
    CHECK(strstr(ck_error_buffer(), "dup.csv:2: duplicate id 'a.png' (first at line 1)") != NULL);
    ck_error_clear();
    ck_submission_free(s);
}

static void test_shards(void)
{
    ck_submission *s = tiny();
    ck_submission_format f;
    ck_submission_format_init(&f);
    f.header = 1;
    CHECK(ck_submission_write(s, path("full.csv"), &f) == 0);
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "s%d.shard", i);
        CHECK(ck_submission_write_shard(s, path(name), &f, i, 3) == 0);
    }
    CHECK(file_is("s1.shard", "#ck-shard 1/3 rows=5\n#header\tfile_name,0,1,2\n1\ttest_2.png,0.1,0.7,0.2\n"
                              "4\ttest_3.png,0,0.4,0.6\n"));
    char *full = ck_read_file(path("full.csv"), NULL);
    /* Any order of shard files gives the unsharded bytes. */
    const char *sh[3];
    sh[0] = strdup(path("s2.shard"));
    sh[1] = strdup(path("s0.shard"));
    sh[2] = strdup(path("s1.shard"));
    CHECK(ck_submission_merge(path("merged.csv"), sh, 3) == 0);
    char *merged = ck_read_file(path("merged.csv"), NULL);
    CHECK(full && merged && strcmp(full, merged) == 0);
    free(merged);
    /* A missing shard: error, and the output is not touched. */
    CHECK(ck_submission_merge(path("merged.csv"), sh, 2) == -1);
    CHECK(strstr(ck_error_buffer(), "2 of 5 rows missing") && strstr(ck_error_buffer(), "first: row 1"));
    ck_error_clear();
    merged = ck_read_file(path("merged.csv"), NULL);
    CHECK(merged && strcmp(full, merged) == 0);
    free(merged);
    /* The same shard twice. */
    const char *twice[4] = {sh[0], sh[1], sh[2], sh[1]};
    CHECK(ck_submission_merge(path("m2.csv"), twice, 4) == -1);
    CHECK(strstr(ck_error_buffer(), "duplicate row") != NULL);
    CHECK(!ck_file_exists(path("m2.csv")));
    ck_error_clear();
    /* Not a shard. */
    const char *notshard[1] = {path("full.csv")};
    CHECK(ck_submission_merge(path("m3.csv"), notshard, 1) == -1);
    CHECK(strstr(ck_error_buffer(), "not a ck-predict shard") != NULL);
    ck_error_clear();
    CHECK(ck_submission_write_shard(s, path("x.shard"), &f, 3, 3) == -1);
    ck_error_clear();
    for (int i = 0; i < 3; i++)
        free((char *)sh[i]);
    free(full);
    ck_submission_free(s);
}

/* Run the checker, return its report text (caller frees). */
static char *check(const char *sample, const char *sub, int *problems, int *rows)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    ck_check_opts o;
    ck_check_opts_init(&o);
    *problems = ck_submission_check(path(sample), path(sub), &o, f, rows);
    fclose(f);
    return text;
}

static void expect_check(const char *sub, const char *text, int nproblems, const char *const *lines)
{
    put(sub, text);
    int problems = -2, rows = 0;
    char *report = check("sample.csv", sub, &problems, &rows);
    if (problems != nproblems) {
        fprintf(stderr, "%s: %d problems, expected %d:\n%s", sub, problems, nproblems, report);
        CHECK(0);
    }
    for (int i = 0; lines[i]; i++) {
        char want[256];
        snprintf(want, sizeof want, "%s/%s", dir, lines[i]);
        if (!strstr(report, want)) {
            fprintf(stderr, "%s: expected '%s' in:\n%s", sub, want, report);
            CHECK(0);
        }
    }
    free(report);
}

static void test_check(void)
{
    const char *ok_text = "t_1.png,0.5,0.5,0\nt_2.png,0.2,0.3,0.5\nt_3.png,1,0,0\n";
    put("sample.csv", "t_1.png,0.333,0.333,0.334\nt_2.png,0.333,0.333,0.334\nt_3.png,0.333,0.333,0.334\n");
    int problems, rows;
    put("ok.csv", ok_text);
    char *rep = check("sample.csv", "ok.csv", &problems, &rows);
    CHECK(problems == 0 && rows == 3 && rep && !*rep);
    free(rep);

    const char *none[] = {NULL};
    expect_check("ok2.csv", "t_1.png,0.5,0.5,0.0004\nt_2.png,0.2,0.3,0.5\nt_3.png,1,0,0\n", 0, none);
    const char *cols[] = {"cols.csv:2: 3 columns, expected 4", NULL};
    expect_check("cols.csv", "t_1.png,0.5,0.5,0\nt_2.png,0.5,0.5\nt_3.png,1,0,0\n", 1, cols);
    const char *range[] = {"range.csv:1: column 2: 1.5 is outside [0, 1]", "range.csv:1: column 3: -0.5", NULL};
    expect_check("range.csv", "t_1.png,1.5,-0.5,0\nt_2.png,0.2,0.3,0.5\nt_3.png,1,0,0\n", 2, range);
    const char *nan[] = {"nan.csv:3: column 4: NaN", "nan.csv:2: column 2: infinite", NULL};
    expect_check("nan.csv", "t_1.png,0.5,0.5,0\nt_2.png,inf,0.3,0.5\nt_3.png,1,0,nan\n", 2, nan);
    const char *text[] = {"text.csv:2: column 3: 'abc' is not a number", NULL};
    expect_check("text.csv", "t_1.png,0.5,0.5,0\nt_2.png,0.2,abc,0.5\nt_3.png,1,0,0\n", 1, text);
    const char *sum[] = {"sum.csv:3: probabilities sum to 0.9, not 1", NULL};
    expect_check("sum.csv", "t_1.png,0.5,0.5,0\nt_2.png,0.2,0.3,0.5\nt_3.png,0.9,0,0\n", 1, sum);
    const char *order[] = {"order.csv:1: rows are not in the sample's order: 't_2.png' found where 't_1.png'", NULL};
    expect_check("order.csv", "t_2.png,0.2,0.3,0.5\nt_1.png,0.5,0.5,0\nt_3.png,1,0,0\n", 1, order);
    const char *missing[] = {"sample.csv:3: row 't_3.png' is missing from", NULL};
    expect_check("missing.csv", "t_1.png,0.5,0.5,0\nt_2.png,0.2,0.3,0.5\n", 1, missing);
    const char *dup[] = {"dup.csv:3: duplicate row 't_2.png' (also at line 2)", "sample.csv:3: row 't_3.png' is missing", NULL};
    expect_check("dup.csv", "t_1.png,0.5,0.5,0\nt_2.png,0.2,0.3,0.5\nt_2.png,0.2,0.3,0.5\n", 2, dup);
    const char *extra[] = {"extra.csv:4: 't_9.png' is not in the sample submission", NULL};
    expect_check("extra.csv", "t_1.png,0.5,0.5,0\nt_2.png,0.2,0.3,0.5\nt_3.png,1,0,0\nt_9.png,1,0,0\n", 1, extra);
    const char *hdr[] = {"hdr.csv:1: unexpected header line (the sample has none)", NULL};
    expect_check("hdr.csv", "file_name,a,b,c\nt_1.png,0.5,0.5,0\nt_2.png,0.2,0.3,0.5\nt_3.png,1,0,0\n", 1, hdr);
    const char *empty[] = {"empty.csv:2: empty line", NULL};
    expect_check("empty.csv", "t_1.png,0.5,0.5,0\n\nt_2.png,0.2,0.3,0.5\nt_3.png,1,0,0\n", 1, empty);
    /* Blank lines of spaces count as empty lines; CRLF, a byte-order mark
     * and a ragged row are reported with their lines. */
    const char *blank[] = {"blank.csv:2: empty line", "blank.csv:3: 5 columns, expected 4", "blank.csv:4: empty line",
                           NULL};
    expect_check("blank.csv", "\xEF\xBB\xBFt_1.png,0.5,0.5,0\r\n   \r\nt_2.png,0.2,0.3,0.5,7\r\n\r\nt_3.png,1,0,0", 3,
                 blank);
    /* A quoted field over two lines: later rows keep their own lines. */
    const char *multi[] = {"multi.csv:4: 'x\ny' is not in the sample submission",
                           "multi.csv:6: duplicate row 't_3.png' (also at line 3)", NULL};
    expect_check("multi.csv", "t_1.png,0.5,0.5,0\n\"t_2.png\",0.2,0.3,0.5\nt_3.png,1,0,0\n\"x\ny\",1,0,0\nt_3.png,1,0,0\n",
                 2, multi);
    const char *tabs[] = {"tabs.tsv:1: fields are separated by tabs; the sample uses commas", NULL};
    expect_check("tabs.tsv", "t_1.png\t0.5\t0.5\t0\nt_2.png\t0.2\t0.3\t0.5\nt_3.png\t1\t0\t0\n", 1, tabs);

    /* A sample with a header (Kaggle labels). */
    put("sample.csv", "id,label\n1,0\n2,0\n");
    const char *kok[] = {NULL};
    expect_check("k0.csv", "id,label\n1,3\n2,1\n", 0, kok);
    const char *khdr[] = {"k1.csv:1: header differs from the sample's", NULL};
    expect_check("k1.csv", "ID,label\n1,3\n2,1\n", 1, khdr);
    const char *knohdr[] = {"k2.csv:1: missing header line", NULL};
    expect_check("k2.csv", "1,3\n2,1\n", 1, knohdr);
    const char *klab[] = {"k3.csv:3: label 'x' is not a label id", NULL};
    expect_check("k3.csv", "id,label\n1,3\n2,x\n", 1, klab);
}

static void test_probs(void)
{
    /* Two models × two views: the mean of four rows. */
    float a[3] = {0.5f, 0.25f, 0.25f}, b[3] = {0.25f, 0.5f, 0.25f}, c[3] = {1, 0, 0}, d[3] = {0, 0, 1};
    double sum[3] = {0};
    ck_probs_accumulate(sum, a, 3);
    ck_probs_accumulate(sum, b, 3);
    ck_probs_accumulate(sum, c, 3);
    ck_probs_accumulate(sum, d, 3);
    ck_probs_mean(sum, 3, 4);
    CHECK_CLOSE(sum[0], 0.4375, 0, 1e-15);
    CHECK_CLOSE(sum[1], 0.1875, 0, 1e-15);
    CHECK_CLOSE(sum[2], 0.375, 0, 1e-15);
    double p[3] = {1, 0, 0};
    ck_probs_clip(p, 3, 1e-3);
    CHECK_CLOSE(p[0], 0.999 / 1.001, 1e-12, 0);
    CHECK_CLOSE(p[1], 0.001 / 1.001, 1e-12, 0);
    CHECK_CLOSE(p[0] + p[1] + p[2], 1, 0, 1e-15);
    double q[2] = {0.3, 0.7};
    ck_probs_clip(q, 2, 1e-15);
    CHECK(q[0] == 0.3 && q[1] == 0.7);
    double t[4] = {0.1, 0.4, 0.4, 0.1};
    CHECK(ck_probs_argmax(t, 4) == 1);

    ck_view v[CK_MAX_VIEWS];
    CHECK(ck_tta_parse("none", v) == 1 && v[0] == CK_VIEW_ORIGINAL);
    CHECK(ck_tta_parse("flip", v) == 2 && v[1] == CK_VIEW_FLIP);
    CHECK(ck_tta_parse("shift", v) == 3 && v[1] == CK_VIEW_SHIFT_DOWN && v[2] == CK_VIEW_SHIFT_UP);
    CHECK(ck_tta_parse("flip,shift", v) == 4);
    CHECK(ck_tta_parse("rotate", v) == -1 && strstr(ck_error_buffer(), "unknown view 'rotate'"));
    ck_error_clear();

    /* A 4×4 image whose red channel is x + 10·y. */
    unsigned char img[4 * 4 * 3], out[4 * 4 * 3];
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            img[(y * 4 + x) * 3] = (unsigned char)(x + 10 * y);
            img[(y * 4 + x) * 3 + 1] = 1;
            img[(y * 4 + x) * 3 + 2] = 2;
        }
    ck_tta_apply(CK_VIEW_FLIP, img, out, 1, 4);
    CHECK(out[0] == 3 && out[3 * 3] == 0 && out[(1 * 4 + 1) * 3] == 12 && out[1] == 1 && out[2] == 2);
    ck_tta_apply(CK_VIEW_SHIFT_DOWN, img, out, 1, 4); /* d = 1: out(x,y) = in(x-1,y-1), edges repeated */
    CHECK(out[0] == 0 && out[(1 * 4 + 1) * 3] == 0 && out[(2 * 4 + 3) * 3] == 12 && out[(3 * 4 + 3) * 3] == 22);
    ck_tta_apply(CK_VIEW_SHIFT_UP, img, out, 1, 4);
    CHECK(out[0] == 11 && out[(3 * 4 + 3) * 3] == 33 && out[(3 * 4 + 0) * 3] == 31);
    ck_tta_apply(CK_VIEW_ORIGINAL, img, out, 1, 4);
    CHECK(memcmp(img, out, sizeof img) == 0);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_table();
    test_write();
    test_shards();
    test_check();
    test_probs();
    ck_submission_free(NULL);
    ck_table_free(NULL);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (!check_failures && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report("test-submission");
}
