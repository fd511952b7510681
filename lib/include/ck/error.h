/* ck/error.h — the library's error buffer, libvips style.
 *
 * A function that detects a problem sets a message with ck_error() and
 * returns -1 (or NULL for constructors); callers propagate the -1 without
 * adding noise. Tools print ck_error_buffer() to stderr and exit.
 * The buffer is process-wide and protected by a mutex so that loader
 * threads can report too. The library never prints and never exits.
 */
#ifndef CK_ERROR_H
#define CK_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CK_PRINTF(a, b)
#endif

/* Append "domain: message\n" to the error buffer. */
void ck_error(const char *domain, const char *fmt, ...) CK_PRINTF(2, 3);
void ck_error_v(const char *domain, const char *fmt, va_list ap);
/* Like ck_error(), with ": strerror(errno)" appended. */
void ck_error_system(int err, const char *domain, const char *fmt, ...) CK_PRINTF(3, 4);

/* The accumulated messages ("" when none). The pointer is valid until the
 * next ck_error* call; copy it if other threads may be reporting. */
const char *ck_error_buffer(void);
/* Copy of the buffer (caller frees) and clear it. */
char *ck_error_take(void);
void ck_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif
