/* Core library: error buffer, RNG determinism, natural sort, atomic files, string map, text writers. */
#include "check.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/rng.h"
#include "ck/strmap.h"
#include "ck/text.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_error(void)
{
    ck_error_clear();
    CHECK(strcmp(ck_error_buffer(), "") == 0);
    ck_error("dom", "bad %d", 3);
    CHECK(strcmp(ck_error_buffer(), "dom: bad 3\n") == 0);
    char *s = ck_error_take();
    CHECK(strcmp(s, "dom: bad 3\n") == 0);
    free(s);
    CHECK(strcmp(ck_error_buffer(), "") == 0);
}

static void test_rng(void)
{
    ck_rng a = ck_rng_make(42, 7, 3), b = ck_rng_make(42, 7, 3), c = ck_rng_make(42, 7, 4);
    int same = 1, diff = 0;
    for (int i = 0; i < 100; i++) {
        uint32_t x = ck_rng_u32(&a), y = ck_rng_u32(&b), z = ck_rng_u32(&c);
        same &= x == y;
        diff += x != z;
    }
    CHECK(same);
    CHECK(diff > 95);
    /* Known-answer: Philox4x32-10 with zero counter and key (Random123 KAT). */
    uint32_t ctr[4] = {0, 0, 0, 0}, key[2] = {0, 0}, out[4];
    ck_philox(ctr, key, out);
    CHECK(out[0] == 0x6627e8d5u && out[1] == 0xe169c58du && out[2] == 0xbc57ac4cu && out[3] == 0x9b00dbd8u);
    /* Uniformity of ck_rng_below: each of 10 bins near 1000/10000. */
    ck_rng r = ck_rng_make(1, 0, 0);
    int bins[10] = {0};
    for (int i = 0; i < 10000; i++)
        bins[ck_rng_below(&r, 10)]++;
    for (int i = 0; i < 10; i++)
        CHECK(bins[i] > 850 && bins[i] < 1150);
    double s = 0, s2 = 0;
    for (int i = 0; i < 20000; i++) {
        double x = ck_rng_normal(&r);
        s += x;
        s2 += x * x;
    }
    CHECK(fabs(s / 20000) < 0.05 && fabs(s2 / 20000 - 1) < 0.05);
    /* Beta(a, b) (mixup): in [0,1], mean a/(a+b), variance ab/((a+b)²(a+b+1));
     * through Gamma with shape < 1 and >= 1. */
    static const double ab[3][2] = {{0.4, 0.4}, {2, 5}, {1, 1}};
    for (int k = 0; k < 3; k++) {
        double a = ab[k][0], b = ab[k][1], m = a / (a + b), var = a * b / ((a + b) * (a + b) * (a + b + 1));
        int inside = 1;
        s = s2 = 0;
        for (int i = 0; i < 20000; i++) {
            double x = ck_rng_beta(&r, a, b);
            inside &= x >= 0 && x <= 1;
            s += x;
            s2 += (x - m) * (x - m);
        }
        CHECK(inside);
        CHECK(fabs(s / 20000 - m) < 0.01 && fabs(s2 / 20000 - var) < 0.01);
    }
}

static void test_natural(void)
{
    char *names[] = {"test_10.png", "test_2.png", "test_1.png", "a", "test_02.png"};
    ck_natural_sort(names, 5);
    CHECK(strcmp(names[0], "a") == 0);
    CHECK(strcmp(names[1], "test_1.png") == 0);
    CHECK(strcmp(names[2], "test_2.png") == 0);
    CHECK(strcmp(names[3], "test_02.png") == 0);
    CHECK(strcmp(names[4], "test_10.png") == 0);
}

static void test_atomic(void)
{
    char dir[] = "/tmp/ck-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *p = ck_path_join(dir, "out.txt");
    CHECK(ck_atomic_write(p, "hello", 5) == 0);
    size_t n;
    char *s = ck_read_file(p, &n);
    CHECK(s && n == 5 && strcmp(s, "hello") == 0);
    free(s);
    /* An aborted write leaves the old file and no temporary. */
    ck_atomic_file *f = ck_atomic_open(p, 0);
    fputs("partial", ck_atomic_stream(f));
    ck_atomic_abort(f);
    s = ck_read_file(p, &n);
    CHECK(s && strcmp(s, "hello") == 0);
    free(s);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 1", dir);
    CHECK(system(cmd) == 0);
    /* Errors name the file. */
    ck_error_clear();
    CHECK(ck_read_file("/nonexistent/x.tsv", NULL) == NULL);
    CHECK(strstr(ck_error_buffer(), "/nonexistent/x.tsv") != NULL);
    ck_error_clear();
    unlink(p);
    rmdir(dir);
    free(p);
}

static void test_strmap(void)
{
    /* Enough keys to grow the table several times; keys are borrowed. */
    static char keys[300][16];
    ck_strmap m = {0};
    CHECK(ck_strmap_get(&m, "x") == -1);
    for (int i = 0; i < 300; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        CHECK(ck_strmap_put(&m, keys[i], i) == -1);
    }
    CHECK(m.n == 300);
    /* A key already there keeps its first value. */
    CHECK(ck_strmap_put(&m, "k7", 99) == 7 && ck_strmap_get(&m, "k7") == 7);
    int all = 1;
    for (int i = 0; i < 300; i++)
        all &= ck_strmap_get(&m, keys[i]) == i;
    CHECK(all);
    CHECK(ck_strmap_get(&m, "k300") == -1 && ck_strmap_get(&m, "") == -1);
    ck_strmap_clear(&m);
    CHECK(m.n == 0 && ck_strmap_get(&m, "k1") == -1);
    CHECK(ck_strmap_put(&m, "again", 1) == -1 && ck_strmap_get(&m, "again") == 1);
    ck_strmap_clear(&m);
}

/* What fn writes for s, in a static buffer. */
static const char *written(void (*fn)(FILE *, const char *, char), const char *s, char sep)
{
    static char buf[256];
    memset(buf, 0, sizeof buf);
    FILE *f = fmemopen(buf, sizeof buf, "w");
    fn(f, s, sep);
    fclose(f);
    return buf;
}

static void put_xml(FILE *f, const char *s, char sep)
{
    (void)sep;
    ck_text_put_xml(f, s);
}

static void test_text(void)
{
    CHECK(strcmp(written(ck_text_put_field, "plain.png", ','), "plain.png") == 0);
    CHECK(strcmp(written(ck_text_put_field, "a,b", ','), "\"a,b\"") == 0);
    CHECK(strcmp(written(ck_text_put_field, "a,b", '\t'), "a,b") == 0);
    CHECK(strcmp(written(ck_text_put_field, "a\tb", '\t'), "\"a\tb\"") == 0);
    CHECK(strcmp(written(ck_text_put_field, "say \"hi\"", ','), "\"say \"\"hi\"\"\"") == 0);
    CHECK(strcmp(written(ck_text_put_field, "two\nlines", ','), "\"two\nlines\"") == 0);
    CHECK(strcmp(written(ck_text_put_field, "cr\r", '\t'), "\"cr\r\"") == 0);
    /* The reader trims unquoted fields: surrounding spaces need quotes. */
    CHECK(strcmp(written(ck_text_put_field, " lead", ','), "\" lead\"") == 0);
    CHECK(strcmp(written(ck_text_put_field, "trail ", ','), "\"trail \"") == 0);
    CHECK(strcmp(written(ck_text_put_field, "in side", ','), "in side") == 0);
    CHECK(strcmp(written(ck_text_put_field, "", ','), "") == 0);
    CHECK(strcmp(written(ck_text_put_field, NULL, ','), "") == 0);
    CHECK(ck_text_needs_quotes("x,y", ',') && !ck_text_needs_quotes("x,y", '\t') && !ck_text_needs_quotes(NULL, ','));
    CHECK(strcmp(written(put_xml, "a<b> & \"c\" 'd'", 0), "a&lt;b&gt; &amp; &quot;c&quot; 'd'") == 0);
    CHECK(strcmp(written(put_xml, NULL, 0), "") == 0);
}

int main(void)
{
    test_error();
    test_rng();
    test_natural();
    test_atomic();
    test_strmap();
    test_text();
    return check_report("core");
}
