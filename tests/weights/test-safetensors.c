/* ck/safetensors.h: writer → reader round trip, metadata, alignment, and
 * every malformed-header case the reader must reject. */
#include "check.h"
#include "ck/dtype.h"
#include "ck/error.h"
#include "ck/safetensors.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_NAME "test-safetensors.out.safetensors"

static void test_round_trip(void)
{
    float a[6] = {1, 2, 3, 4, 5, 6};
    int64_t ids[3] = {-1, 0, 9007199254740993LL};
    uint8_t bytes[5] = {0, 1, 2, 254, 255};
    uint16_t half[4], bf[4];
    float hv[4] = {0.5f, -2.0f, 65504.0f, 1e-3f};
    for (int k = 0; k < 4; k++) {
        half[k] = ck_f32_to_f16(hv[k]);
        bf[k] = ck_f32_to_bf16(hv[k]);
    }
    float scalar = 3.25f;
    int32_t i32[2] = {-7, 7};
    float copy_src[2] = {10, 20};

    ck_st_writer *w = ck_st_writer_new();
    int64_t s23[2] = {2, 3}, s3[1] = {3}, s5[1] = {5}, s4[1] = {4}, s22[2] = {2, 2}, s04[2] = {0, 4},
            s2[1] = {2};
    /* Added in an order that would misalign without the size-ordered layout. */
    CHECK(ck_st_writer_add(w, "bytes", CK_ST_U8, 1, s5, bytes) == 0);
    CHECK(ck_st_writer_add(w, "half", CK_ST_F16, 1, s4, half) == 0);
    CHECK(ck_st_writer_add(w, "a", CK_ST_F32, 2, s23, a) == 0);
    CHECK(ck_st_writer_add(w, "ids", CK_ST_I64, 1, s3, ids) == 0);
    CHECK(ck_st_writer_add(w, "bf", CK_ST_BF16, 2, s22, bf) == 0);
    CHECK(ck_st_writer_add(w, "scalar", CK_ST_F32, 0, NULL, &scalar) == 0);
    CHECK(ck_st_writer_add(w, "empty", CK_ST_F32, 2, s04, NULL) == 0);
    CHECK(ck_st_writer_add(w, "i32", CK_ST_I32, 1, s2, i32) == 0);
    CHECK(ck_st_writer_add_copy(w, "copied", CK_ST_F32, 1, s2, copy_src) == 0);
    copy_src[0] = -1; /* must not reach the file */
    const char *meta = "{\"arch\": \"vgg16\",\n \"note\": \"tab\\there\"}";
    CHECK(ck_st_writer_set_metadata(w, "ck", "old") == 0);
    CHECK(ck_st_writer_set_metadata(w, "ck", meta) == 0);
    CHECK(ck_st_writer_set_metadata(w, "other", "\xc3\xa9t\xc3\xa9") == 0);

    /* Writer argument errors. */
    ck_error_clear();
    CHECK(ck_st_writer_add(w, "a", CK_ST_F32, 2, s23, a) < 0);
    CHECK(strstr(ck_error_buffer(), "\"a\" added twice") != NULL);
    CHECK(ck_st_writer_add(w, "", CK_ST_F32, 2, s23, a) < 0);
    CHECK(ck_st_writer_add(w, "__metadata__", CK_ST_F32, 2, s23, a) < 0);
    int64_t neg[1] = {-1};
    CHECK(ck_st_writer_add(w, "neg", CK_ST_F32, 1, neg, a) < 0);
    CHECK(ck_st_writer_add(w, "rank", CK_ST_F32, CK_ST_MAX_DIMS + 1, s23, a) < 0);
    ck_error_clear();

    CHECK(ck_st_writer_write(w, FILE_NAME) == 0);
    ck_st_writer_free(w);
    ck_st_writer_free(NULL);

    /* Header length is a multiple of 8, so the data section is aligned. */
    FILE *fp = fopen(FILE_NAME, "rb");
    unsigned char le[8] = {0};
    CHECK(fp && fread(le, 1, 8, fp) == 8);
    if (fp)
        fclose(fp);
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = (hlen << 8) | le[b];
    CHECK(hlen % 8 == 0);

    ck_st_file *f = ck_st_open(FILE_NAME);
    CHECK(f != NULL);
    if (!f) {
        fprintf(stderr, "%s", ck_error_buffer());
        return;
    }
    CHECK(ck_st_count(f) == 9);
    CHECK(strcmp(ck_st_path(f), FILE_NAME) == 0);
    ck_st_tensor t;
    CHECK(ck_st_find(f, "a", &t) && t.dtype == CK_ST_F32 && t.ndim == 2 && t.shape[0] == 2 &&
          t.shape[1] == 3 && t.count == 6 && t.nbytes == 24);
    CHECK(memcmp(t.data, a, sizeof a) == 0);
    CHECK(ck_st_find(f, "ids", &t) && t.dtype == CK_ST_I64 && memcmp(t.data, ids, sizeof ids) == 0);
    CHECK(ck_st_find(f, "bytes", &t) && t.dtype == CK_ST_U8 && memcmp(t.data, bytes, 5) == 0);
    CHECK(ck_st_find(f, "i32", &t) && memcmp(t.data, i32, sizeof i32) == 0);
    CHECK(ck_st_find(f, "scalar", &t) && t.ndim == 0 && t.count == 1 && *(const float *)t.data == 3.25f);
    CHECK(ck_st_find(f, "empty", &t) && t.count == 0 && t.nbytes == 0);
    CHECK(ck_st_find(f, "copied", &t) && ((const float *)t.data)[0] == 10);
    float conv[4];
    CHECK(ck_st_find(f, "half", &t) && ck_st_to_f32(&t, conv) == 0);
    for (int k = 0; k < 4; k++)
        CHECK_CLOSE(conv[k], hv[k], 1e-3, 0);
    CHECK(ck_st_find(f, "bf", &t) && ck_st_to_f32(&t, conv) == 0);
    for (int k = 0; k < 4; k++)
        CHECK_CLOSE(conv[k], hv[k], 8e-3, 0);
    CHECK(ck_st_find(f, "i32", &t) && ck_st_to_f32(&t, conv) < 0);
    CHECK(strstr(ck_error_buffer(), "\"i32\"") != NULL);
    ck_error_clear();
    CHECK(ck_st_find(f, "absent", &t) == 0);
    CHECK(strcmp(ck_error_buffer(), "") == 0);
    /* Every tensor aligned to its element size within the data section,
     * and (the header being 8-padded) in memory too. */
    for (int k = 0; k < ck_st_count(f); k++) {
        CHECK(ck_st_tensor_at(f, k, &t));
        CHECK(t.nbytes == 0 || (uintptr_t)t.data % ck_st_dtype_size(t.dtype) == 0);
        CHECK(strcmp(ck_st_name(f, k), t.name) == 0);
    }
    CHECK(ck_st_tensor_at(f, 9, &t) == 0);
    CHECK(ck_st_metadata_count(f) == 2);
    CHECK(ck_st_metadata(f, "ck") && strcmp(ck_st_metadata(f, "ck"), meta) == 0);
    CHECK(ck_st_metadata(f, "other") && strcmp(ck_st_metadata(f, "other"), "\xc3\xa9t\xc3\xa9") == 0);
    CHECK(ck_st_metadata(f, "none") == NULL);
    ck_st_close(f);
    ck_st_close(NULL);
    unlink(FILE_NAME);
}

/* A file image: 8-byte length, header, `ndata` bytes of data. */
static unsigned char *image(const char *header, uint64_t claimed_len, size_t ndata, size_t *n)
{
    size_t hl = strlen(header);
    *n = 8 + hl + ndata;
    unsigned char *b = calloc(1, *n);
    for (int k = 0; k < 8; k++)
        b[k] = (unsigned char)(claimed_len >> (8 * k));
    memcpy(b + 8, header, hl);
    return b;
}

static void rejects_full(const char *header, uint64_t claimed, size_t ndata, const char *part)
{
    size_t n;
    unsigned char *b = image(header, claimed, ndata, &n);
    ck_error_clear();
    ck_st_file *f = ck_st_open_memory(b, n, "bad.safetensors");
    CHECK(f == NULL);
    const char *e = ck_error_buffer();
    if (!strstr(e, "bad.safetensors") || (part && !strstr(e, part))) {
        fprintf(stderr, "header %s: error \"%s\" lacks \"%s\"\n", header, e, part ? part : "");
        CHECK(0);
    }
    ck_st_close(f);
    free(b);
}

static void rejects(const char *header, size_t ndata, const char *part)
{
    rejects_full(header, strlen(header), ndata, part);
}

#define T(name, dtype, shape, b, e) "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void test_rejects(void)
{
    /* Valid baseline, so the cases below fail for the reason they name. */
    size_t n;
    unsigned char *b = image("{" T("a", "F32", "[2]", 0, 8) "," T("z", "U8", "[0]", 8, 8) "}  ", 0, 8, &n);
    size_t hl = n - 8 - 8;
    for (int k = 0; k < 8; k++)
        b[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    ck_st_file *f = ck_st_open_memory(b, n, "good.safetensors");
    CHECK(f != NULL && ck_st_count(f) == 2);
    ck_st_close(f);
    free(b);

    /* Too short, and header lengths. */
    ck_error_clear();
    CHECK(ck_st_open_memory("abc", 3, "bad.safetensors") == NULL);
    CHECK(strstr(ck_error_buffer(), "too short") != NULL);
    rejects_full("{}", 0, 0, "header length is 0");
    rejects_full("{}", 1000, 0, "past the end");
    rejects_full("{}", 1ULL << 40, 0, "larger than the limit");
    rejects("[]", 0, "does not start with '{'");
    /* JSON problems (errors come from the JSON parser, naming the file). */
    rejects("{\"a\":", 0, "end of input");
    rejects("{\"a\xff\":{}}", 0, "UTF-8");
    rejects("{" T("a", "F32", "[1]", 0, 4) "," T("a", "F32", "[1]", 4, 8) "}", 8, "duplicate key \"a\"");
    /* Entries. */
    rejects("{\"a\":[]}", 0, "tensor \"a\": entry is not an object");
    rejects("{" T("a", "F31", "[1]", 0, 4) "}", 4, "unknown dtype F31");
    rejects("{" T("a", "F32", "[2.5]", 0, 10) "}", 10, "shape[0]");
    rejects("{" T("a", "F32", "[-1]", 0, 4) "}", 4, "shape[0]");
    rejects("{" T("a", "F32", "[1,1,1,1,1,1,1,1,1]", 0, 4) "}", 4, "at most 8");
    rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing \"data_offsets\"");
    rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, "unknown field \"x\"");
    rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "data_offsets");
    rejects("{" T("a", "F32", "[1]", 4, 0) "}", 4, "begin 4 > end 0");
    rejects("{" T("a", "F32", "[25]", 0, 100) "}", 16, "past the end of the data");
    rejects("{" T("a", "F32", "[2]", 0, 4) "}", 4, "tensor \"a\": F32 shape needs 8 bytes but data_offsets span 4");
    rejects("{" T("a", "F32", "[4294967296,4294967296,4294967296]", 0, 4) "}", 4, "overflows");
    rejects("{" T("", "F32", "[1]", 0, 4) "}", 4, "empty name");
    /* Layout. */
    rejects("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 4, 12) "}", 12,
            "tensor \"b\" overlaps tensor \"a\"");
    rejects("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 12, 20) "}", 20,
            "gap of 4 bytes before tensor \"b\"");
    rejects("{" T("a", "F32", "[2]", 0, 8) "}", 12, "4 bytes after the last tensor");
    /* Metadata. */
    rejects("{\"__metadata__\":{\"k\":1}}", 0, "metadata \"k\" is not a string");
    rejects("{\"__metadata__\":[]}", 0, "\"__metadata__\" is not an object");

    /* Files: missing, empty. */
    ck_error_clear();
    CHECK(ck_st_open("no-such-file.safetensors") == NULL);
    CHECK(strstr(ck_error_buffer(), "no-such-file.safetensors") != NULL);
    FILE *fp = fopen("empty.safetensors", "wb");
    if (fp)
        fclose(fp);
    ck_error_clear();
    CHECK(ck_st_open("empty.safetensors") == NULL);
    CHECK(strstr(ck_error_buffer(), "empty.safetensors: file too short") != NULL);
    unlink("empty.safetensors");
    ck_error_clear();
}

static void test_half(void)
{
    /* Exact values survive; rounding is to nearest even; range ends. */
    float exact[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.9604644775390625e-08f};
    for (size_t k = 0; k < sizeof exact / sizeof *exact; k++)
        CHECK(ck_f16_to_f32(ck_f32_to_f16(exact[k])) == exact[k]);
    CHECK(ck_f32_to_f16(65520.0f) == 0x7C00);           /* overflow → inf */
    CHECK(ck_f32_to_f16(-1e6f) == 0xFC00);
    CHECK(ck_f32_to_f16(1e-9f) == 0x0000);              /* underflow → 0 */
    CHECK(ck_f32_to_f16(2.98023223876953125e-08f) == 0); /* half of the smallest: ties to even (0) */
    CHECK(ck_f32_to_f16(1.0f + 1.0f / 2048) == 0x3C00);  /* tie → even */
    CHECK(ck_f32_to_f16(1.0f + 3.0f / 2048) == 0x3C02);  /* tie → even (up) */
    CHECK(isnan(ck_f16_to_f32(ck_f32_to_f16(NAN))));
    CHECK(isinf(ck_f16_to_f32(0x7C00)));
    CHECK(ck_f32_to_bf16(1.0f) == 0x3F80);
    CHECK(ck_bf16_to_f32(ck_f32_to_bf16(-3.5f)) == -3.5f);
    CHECK(ck_f32_to_bf16(1.0f + 1.0f / 256) == 0x3F80); /* tie → even */
    CHECK(isnan(ck_bf16_to_f32(ck_f32_to_bf16(NAN))));
    CHECK(strcmp(ck_st_dtype_name(CK_ST_BF16), "BF16") == 0);
    CHECK(ck_st_dtype_parse("I64") == CK_ST_I64 && ck_st_dtype_parse("X") == -1);
    CHECK(ck_st_dtype_size(CK_ST_F64) == 8 && ck_st_dtype_size(CK_ST_BOOL) == 1);
}

int main(void)
{
    test_round_trip();
    test_rejects();
    test_half();
    return check_report("test-safetensors");
}
