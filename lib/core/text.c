/* Text format fields: CSV/TSV quoting and XML escaping (ck/text.h). */
#include "ck/text.h"

#include <ctype.h>
#include <string.h>

int ck_text_needs_quotes(const char *s, char sep)
{
    if (!s || !*s)
        return 0;
    if (isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1]))
        return 1;
    for (; *s; s++)
        if (*s == sep || *s == '"' || *s == '\r' || *s == '\n')
            return 1;
    return 0;
}

void ck_text_put_field(FILE *out, const char *s, char sep)
{
    if (!s)
        return;
    if (!ck_text_needs_quotes(s, sep)) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void ck_text_put_xml(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}
