/* ck/json.h — a small strict JSON (RFC 8259) parser and writer.
 *
 * Used for safetensors headers and for the metadata that checkpoints carry.
 * No dependencies (lives in ck_core).
 *
 * Parsing:
 *     ck_json *root = ck_json_parse(text, len, "model.safetensors");
 *     double lr  = ck_json_number(ck_json_get(root, "lr"), 0.01);
 *     const char *arch = ck_json_string(ck_json_get(root, "arch"));   // or NULL
 *     int64_t step;  if (ck_json_int64(ck_json_get(root, "step"), &step)) ...
 *     ck_json_free(root);
 *
 *   Strict: one value, no comments, no trailing commas, no NaN/Infinity, no
 *   leading zeros, no raw control characters in strings, valid UTF-8 (no
 *   overlong forms or surrogates), \u escapes with paired surrogates, nesting
 *   at most CK_JSON_MAX_DEPTH, duplicate keys in one object rejected. Errors
 *   name `what` (a file name, say) and the byte offset, line and column.
 *   Objects keep their keys in file order. Numbers keep their original text
 *   so that 64-bit integers are exact (ck_json_int64).
 *   Accessors are NULL-tolerant: a NULL or wrong-typed node gives the
 *   fallback / NULL / 0, so lookups can be chained without checks.
 *
 * Writing (a string builder that does the commas and the escaping):
 *     ck_json_writer *w = ck_json_writer_new(0);
 *     ck_json_begin_object(w);
 *       ck_json_key(w, "arch");  ck_json_write_string(w, "vgg16");
 *       ck_json_key(w, "step");  ck_json_write_int(w, 1200);
 *       ck_json_key(w, "mean");  ck_json_begin_array(w);
 *         ck_json_write_number(w, 103.939); ...
 *       ck_json_end_array(w);
 *     ck_json_end_object(w);
 *     char *text = ck_json_writer_take(w);   // malloc'd, NULL + error if misused
 *     ck_json_writer_free(w);
 *
 *   Misuse (a value where a key is expected, unbalanced ends, an invalid UTF-8
 *   string) is remembered and reported by ck_json_writer_take()/_text().
 *   Non-finite numbers are written as null (JSON has no NaN). Strings are
 *   escaped minimally ("\\", "\"", control characters), UTF-8 kept as is.
 */
#ifndef CK_JSON_H
#define CK_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CK_JSON_MAX_DEPTH 256

typedef enum ck_json_type {
    CK_JSON_NULL = 0,
    CK_JSON_FALSE,
    CK_JSON_TRUE,
    CK_JSON_NUMBER,
    CK_JSON_STRING,
    CK_JSON_ARRAY,
    CK_JSON_OBJECT
} ck_json_type;

typedef struct ck_json ck_json;

/* Parse `len` bytes (need not be NUL-terminated). `what` names the source in
 * errors (may be NULL). NULL and an error on failure. */
/* 1 when s[0..n) is valid UTF-8 (JSON strings must be: checkpoint metadata). */
int ck_utf8_valid(const char *s, size_t n);

ck_json *ck_json_parse(const char *text, size_t len, const char *what);
/* Frees a whole tree; only call it on the root. NULL is safe. */
void ck_json_free(ck_json *root);

/* Type of a node; CK_JSON_NULL for a NULL pointer. */
ck_json_type ck_json_type_of(const ck_json *v);
int ck_json_is_null(const ck_json *v); /* 1 for a JSON null (not for NULL) */

/* Object member by key (first match; keys are unique anyway), or NULL. */
const ck_json *ck_json_get(const ck_json *obj, const char *key);
/* Number of array elements / object members; 0 for anything else. */
int ck_json_size(const ck_json *v);
/* Array element or object member value at index i, or NULL. */
const ck_json *ck_json_at(const ck_json *v, int i);
/* Object member key at index i, or NULL. */
const char *ck_json_key_at(const ck_json *obj, int i);

/* Number value, or `fallback` when v is not a number. */
double ck_json_number(const ck_json *v, double fallback);
/* 1 and *out set when v is a number that is exactly an integer in int64
 * range (from its text: "12", "-3", "1e3", "2.0"); else 0, *out untouched. */
int ck_json_int64(const ck_json *v, int64_t *out);
/* Original text of a number as it appeared in the input, or NULL. */
const char *ck_json_number_text(const ck_json *v);
/* String value (NUL-terminated, UTF-8), or NULL when v is not a string.
 * A string containing \u0000 is cut there by C; ck_json_string_len gives the
 * full length. */
const char *ck_json_string(const ck_json *v);
size_t ck_json_string_len(const ck_json *v);
/* 1 for true, 0 for false, `fallback` otherwise. */
int ck_json_bool(const ck_json *v, int fallback);

/* ---- writer ---- */
typedef struct ck_json_writer ck_json_writer;

/* pretty: 0 compact ("{"a":1}"), 1 indented by two spaces. */
ck_json_writer *ck_json_writer_new(int pretty);
void ck_json_writer_free(ck_json_writer *w);

void ck_json_begin_object(ck_json_writer *w);
void ck_json_end_object(ck_json_writer *w);
void ck_json_begin_array(ck_json_writer *w);
void ck_json_end_array(ck_json_writer *w);
/* Inside an object: the key of the next value. */
void ck_json_key(ck_json_writer *w, const char *key);
void ck_json_write_string(ck_json_writer *w, const char *s);
void ck_json_write_string_n(ck_json_writer *w, const char *s, size_t n);
/* Shortest text that reads back as the same double; null if not finite. */
void ck_json_write_number(ck_json_writer *w, double x);
void ck_json_write_int(ck_json_writer *w, int64_t x);
void ck_json_write_bool(ck_json_writer *w, int b);
void ck_json_write_null(ck_json_writer *w);
/* A parsed tree (or subtree), re-serialised. */
void ck_json_write_value(ck_json_writer *w, const ck_json *v);
/* Shorthands for one object member. */
void ck_json_kv_string(ck_json_writer *w, const char *key, const char *s);
void ck_json_kv_number(ck_json_writer *w, const char *key, double x);
void ck_json_kv_int(ck_json_writer *w, const char *key, int64_t x);
void ck_json_kv_bool(ck_json_writer *w, const char *key, int b);

/* The finished text (owned by w) / a malloc'd copy that the caller frees.
 * NULL and an error when the document is incomplete or was misused. */
const char *ck_json_writer_text(ck_json_writer *w, size_t *len);
char *ck_json_writer_take(ck_json_writer *w);

/* Serialise a tree to a malloc'd string (compact or pretty). */
char *ck_json_dump(const ck_json *v, int pretty);

#ifdef __cplusplus
}
#endif
#endif
