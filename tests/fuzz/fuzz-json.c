/* Fuzz the JSON reader (lib/core/json.c): parse, walk every node, and check
 * that a parsed document survives a dump/parse round trip unchanged. */
#include "fuzz.h"
#include "ck/error.h"
#include "ck/json.h"

#include <stdlib.h>
#include <string.h>

static void walk(const ck_json *v)
{
    int64_t i64;
    switch (ck_json_type_of(v)) {
    case CK_JSON_NUMBER:
        (void)ck_json_number(v, 0);
        (void)ck_json_int64(v, &i64);
        break;
    case CK_JSON_STRING:
        if (strlen(ck_json_string(v)) > ck_json_string_len(v))
            fuzz_fail("json", "string longer than its length");
        break;
    case CK_JSON_ARRAY:
    case CK_JSON_OBJECT:
        for (int i = 0; i < ck_json_size(v); i++) {
            if (ck_json_type_of(v) == CK_JSON_OBJECT && ck_json_get(v, ck_json_key_at(v, i)) == NULL)
                fuzz_fail("json", "a member's key does not find it");
            walk(ck_json_at(v, i));
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_json *root = ck_json_parse((const char *)data, size, "fuzz.json");
    if (root) {
        walk(root);
        for (int pretty = 0; pretty < 2; pretty++) {
            char *text = ck_json_dump(root, pretty);
            if (!text)
                fuzz_fail("json: a parsed document does not dump", ck_error_buffer());
            ck_json *again = ck_json_parse(text, strlen(text), "dump");
            char *text2 = again ? ck_json_dump(again, pretty) : NULL;
            if (!text2 || strcmp(text, text2) != 0)
                fuzz_fail("json: dump/parse round trip differs", text);
            free(text2);
            ck_json_free(again);
            free(text);
        }
    }
    ck_json_free(root);
    ck_error_clear();
    return 0;
}
