/* Private helpers shared by json.c, json_write.c and safetensors*.c. */
#ifndef CK_JSON_INTERNAL_H
#define CK_JSON_INTERNAL_H

#include "ck/json.h"

#include <stddef.h>

/* strtod in the "C" locale whatever setlocale() the program called. */
double ck_json_strtod(const char *s, char **end);
/* Length of the valid UTF-8 sequence starting at s (0 when invalid). */
size_t ck_utf8_valid_seq(const unsigned char *s, size_t n);
/* Byte length of an object key (keys may contain \u0000). */
size_t ck_json_key_len_at(const ck_json *obj, int i);

#endif
