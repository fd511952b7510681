/* ck/text.h — writing fields of text formats: the one CSV/TSV field writer
 * and the one XML escaper, so that every table and picture ck writes quotes
 * the same way (tables are read back by ck/table.h).
 */
#ifndef CK_TEXT_H
#define CK_TEXT_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when s must be quoted in a table separated by sep: it holds the
 * separator, a quote, CR or LF, or starts or ends with white space (the
 * reader trims unquoted fields). */
int ck_text_needs_quotes(const char *s, char sep);
/* Write s as one field, quoted ("" for a quote) only when needed. NULL
 * writes nothing (an empty field). */
void ck_text_put_field(FILE *out, const char *s, char sep);
/* Write s with & < > " escaped, for XML/SVG text and attribute values. */
void ck_text_put_xml(FILE *out, const char *s);

#ifdef __cplusplus
}
#endif
#endif
