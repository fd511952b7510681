/* ck/json.h: strict parsing, accessors, exact integers, the writer. */
#include "check.h"
#include "ck/error.h"
#include "ck/json.h"

#include <stdlib.h>
#include <string.h>

static ck_json *parse(const char *s)
{
    return ck_json_parse(s, strlen(s), "test.json");
}

/* The text must be rejected with an error that names the source. */
static void rejects(const char *s, const char *why_part)
{
    ck_error_clear();
    ck_json *v = parse(s);
    CHECK(v == NULL);
    const char *e = ck_error_buffer();
    CHECK(strstr(e, "test.json") != NULL);
    if (why_part && !strstr(e, why_part)) {
        fprintf(stderr, "input %s: error \"%s\" lacks \"%s\"\n", s, e, why_part);
        CHECK(0);
    }
    ck_json_free(v);
}

static void test_parse(void)
{
    ck_json *v = parse(" {\"b\": 1, \"a\": [true, false, null, \"x\\u00e9\\n\", -2.5e2], \"c\": {}} ");
    CHECK(v != NULL);
    CHECK(ck_json_type_of(v) == CK_JSON_OBJECT);
    CHECK(ck_json_size(v) == 3);
    /* Objects keep their key order. */
    CHECK(strcmp(ck_json_key_at(v, 0), "b") == 0);
    CHECK(strcmp(ck_json_key_at(v, 1), "a") == 0);
    CHECK(ck_json_number(ck_json_get(v, "b"), -1) == 1);
    const ck_json *a = ck_json_get(v, "a");
    CHECK(ck_json_size(a) == 5);
    CHECK(ck_json_bool(ck_json_at(a, 0), -1) == 1);
    CHECK(ck_json_bool(ck_json_at(a, 1), -1) == 0);
    CHECK(ck_json_is_null(ck_json_at(a, 2)));
    CHECK(strcmp(ck_json_string(ck_json_at(a, 3)), "x\xc3\xa9\n") == 0);
    CHECK(ck_json_number(ck_json_at(a, 4), 0) == -250.0);
    CHECK(strcmp(ck_json_number_text(ck_json_at(a, 4)), "-2.5e2") == 0);
    CHECK(ck_json_type_of(ck_json_get(v, "c")) == CK_JSON_OBJECT && ck_json_size(ck_json_get(v, "c")) == 0);
    /* NULL-tolerant chaining. */
    CHECK(ck_json_get(v, "missing") == NULL);
    CHECK(ck_json_number(ck_json_get(ck_json_get(v, "x"), "y"), 7) == 7);
    CHECK(ck_json_string(ck_json_get(v, "b")) == NULL);
    CHECK(ck_json_at(a, 5) == NULL && ck_json_at(a, -1) == NULL);
    ck_json_free(v);

    /* Surrogate pair → 4-byte UTF-8; embedded NUL keeps its length. */
    v = parse("[\"\\ud83d\\ude00\", \"a\\u0000b\"]");
    CHECK(v && strcmp(ck_json_string(ck_json_at(v, 0)), "\xf0\x9f\x98\x80") == 0);
    CHECK(ck_json_string_len(ck_json_at(v, 1)) == 3);
    ck_json_free(v);

    /* Scalars at top level are JSON too. */
    v = parse("42");
    CHECK(v && ck_json_number(v, 0) == 42);
    ck_json_free(v);
    ck_json_free(NULL);
}

static void test_int64(void)
{
    struct {
        const char *text;
        int ok;
        long long value;
    } cases[] = {
        {"9007199254740993", 1, 9007199254740993LL}, /* not exact as a double */
        {"9223372036854775807", 1, 9223372036854775807LL},
        {"-9223372036854775808", 1, (-9223372036854775807LL - 1)},
        {"9223372036854775808", 0, 0},
        {"1e3", 1, 1000},
        {"2.50e1", 1, 25},
        {"2.0", 1, 2},
        {"0", 1, 0},
        {"-0", 1, 0},
        {"0.5", 0, 0},
        {"1e-1", 0, 0},
        {"12345678901234567890123", 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ck_json *v = parse(cases[k].text);
        CHECK(v != NULL);
        int64_t x = -99;
        int ok = ck_json_int64(v, &x);
        if (ok != cases[k].ok || (ok && x != cases[k].value)) {
            fprintf(stderr, "int64 %s: ok %d value %lld\n", cases[k].text, ok, (long long)x);
            CHECK(0);
        }
        ck_json_free(v);
    }
    int64_t x;
    CHECK(ck_json_int64(NULL, &x) == 0);
}

static void test_rejects(void)
{
    rejects("", "end of input");
    rejects("{", NULL);
    rejects("{\"a\":1,}", NULL);
    rejects("[1,]", NULL);
    rejects("[1 2]", NULL);
    rejects("{\"a\" 1}", "':'");
    rejects("{a:1}", "key");
    rejects("01", "leading zero");
    rejects("1.", "decimal");
    rejects("1e", "exponent");
    rejects("-", NULL);
    rejects("NaN", NULL);
    rejects("Infinity", NULL);
    rejects("tru", NULL);
    rejects("\"abc", "unterminated");
    rejects("\"a\tb\"", "control");
    rejects("\"\\x\"", "escape");
    rejects("\"\\u12\"", NULL);
    rejects("\"\\ud800\"", "surrogate");
    rejects("\"\\udc00\"", "surrogate");
    rejects("\"\xff\"", "UTF-8");
    rejects("\"\xc0\xaf\"", "UTF-8");       /* overlong */
    rejects("\"\xed\xa0\x80\"", "UTF-8");   /* encoded surrogate */
    rejects("{\"a\":1,\"a\":2}", "duplicate key \"a\"");
    /* Found by fuzz-json: a key that ck_json_get could never find. */
    rejects("{\"a\\u0000b\":1}", "NUL");
    rejects("1 2", "trailing");
    rejects("// c\n1", NULL);
    /* Nesting limit. */
    char deep[2 * CK_JSON_MAX_DEPTH + 10];
    memset(deep, '[', CK_JSON_MAX_DEPTH + 1);
    memset(deep + CK_JSON_MAX_DEPTH + 1, ']', CK_JSON_MAX_DEPTH + 1);
    deep[2 * CK_JSON_MAX_DEPTH + 2] = '\0';
    rejects(deep, "deep");
    /* Line and column in the message. */
    ck_error_clear();
    CHECK(parse("{\n  \"a\": ?\n}") == NULL);
    CHECK(strstr(ck_error_buffer(), "line 2, column 8") != NULL);
    /* Many keys: the duplicate check sorts. */
    char big[20000];
    size_t n = 0;
    n += (size_t)snprintf(big + n, sizeof big - n, "{");
    for (int k = 0; k < 1000; k++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"k%d\":%d", k ? "," : "", k % 999, k);
    snprintf(big + n, sizeof big - n, "}");
    rejects(big, "duplicate key \"k0\"");
    ck_error_clear();
}

static void test_writer(void)
{
    ck_json_writer *w = ck_json_writer_new(0);
    ck_json_begin_object(w);
    ck_json_kv_string(w, "s", "q\"b\\s/\n\t\x01\xc3\xa9");
    ck_json_kv_int(w, "i", -9223372036854775807LL - 1);
    ck_json_kv_number(w, "x", 0.1);
    ck_json_kv_number(w, "nan", 0.0 / 0.0);
    ck_json_kv_bool(w, "t", 1);
    ck_json_key(w, "a");
    ck_json_begin_array(w);
    ck_json_write_number(w, 1e300);
    ck_json_write_null(w);
    ck_json_begin_object(w);
    ck_json_end_object(w);
    ck_json_end_array(w);
    ck_json_end_object(w);
    char *text = ck_json_writer_take(w);
    ck_json_writer_free(w);
    CHECK(text != NULL);
    const char *want = "{\"s\":\"q\\\"b\\\\s/\\n\\t\\u0001\xc3\xa9\",\"i\":-9223372036854775808,"
                       "\"x\":0.1,\"nan\":null,\"t\":true,\"a\":[1e+300,null,{}]}";
    if (text && strcmp(text, want) != 0) {
        fprintf(stderr, "got  %s\nwant %s\n", text, want);
        CHECK(0);
    }
    /* Round trip through the parser, and re-serialisation is identical. */
    ck_json *v = text ? parse(text) : NULL;
    CHECK(v != NULL);
    CHECK(strcmp(ck_json_string(ck_json_get(v, "s")), "q\"b\\s/\n\t\x01\xc3\xa9") == 0);
    CHECK(ck_json_number(ck_json_get(v, "x"), 0) == 0.1);
    int64_t i;
    CHECK(ck_json_int64(ck_json_get(v, "i"), &i) && i == -9223372036854775807LL - 1);
    char *again = ck_json_dump(v, 0);
    CHECK(again && text && strcmp(again, text) == 0);
    char *pretty = ck_json_dump(v, 1);
    CHECK(pretty && strstr(pretty, "\n  \"s\": ") != NULL);
    ck_json *v2 = pretty ? parse(pretty) : NULL;
    CHECK(v2 != NULL);
    ck_json_free(v2);
    free(pretty);
    free(again);
    ck_json_free(v);
    free(text);

    /* Shortest round-trip doubles. */
    double xs[] = {1.0, -2.5, 1.0 / 3.0, 123456789.0, 5e-324, 1.7976931348623157e308, 3.14159};
    for (size_t k = 0; k < sizeof xs / sizeof *xs; k++) {
        w = ck_json_writer_new(0);
        ck_json_write_number(w, xs[k]);
        const char *t = ck_json_writer_text(w, NULL);
        ck_json *p = t ? parse(t) : NULL;
        CHECK(p && ck_json_number(p, 0) == xs[k]);
        ck_json_free(p);
        ck_json_writer_free(w);
    }

    /* Misuse is reported, never written. */
    const char *bad[] = {"value without key", "unclosed", "key outside", "two values", "bad utf8", "end mismatch"};
    for (int k = 0; k < 6; k++) {
        ck_error_clear();
        w = ck_json_writer_new(0);
        switch (k) {
        case 0: ck_json_begin_object(w); ck_json_write_int(w, 1); ck_json_end_object(w); break;
        case 1: ck_json_begin_array(w); break;
        case 2: ck_json_begin_array(w); ck_json_key(w, "a"); ck_json_end_array(w); break;
        case 3: ck_json_write_int(w, 1); ck_json_write_int(w, 2); break;
        case 4: ck_json_write_string(w, "\xff"); break;
        case 5: ck_json_begin_array(w); ck_json_end_object(w); break;
        }
        char *t = ck_json_writer_take(w);
        if (t) {
            fprintf(stderr, "writer misuse '%s' not caught: %s\n", bad[k], t);
            CHECK(0);
        }
        CHECK(strstr(ck_error_buffer(), "json: writer:") != NULL);
        free(t);
        ck_json_writer_free(w);
    }
    ck_json_writer_free(NULL);
    ck_error_clear();
}

int main(void)
{
    test_parse();
    test_int64();
    test_rejects();
    test_writer();
    return check_report("test-json");
}
