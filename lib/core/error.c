/* Process-wide error buffer (see ck/error.h). */
#include "ck/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK_ERROR_MAX 16384

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char buffer[CK_ERROR_MAX];
static size_t used;

static void append_locked(const char *s)
{
    size_t n = strlen(s);
    if (used + n >= CK_ERROR_MAX) {
        /* Keep the first messages: they name the root cause. */
        n = CK_ERROR_MAX - 1 - used;
    }
    memcpy(buffer + used, s, n);
    used += n;
    buffer[used] = '\0';
}

void ck_error_v(const char *domain, const char *fmt, va_list ap)
{
    char msg[2048];
    int k = 0;
    if (domain && *domain)
        k = snprintf(msg, sizeof msg, "%s: ", domain);
    if (k < 0 || k >= (int)sizeof msg)
        k = 0;
    vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    size_t len = strlen(msg);
    if (len + 1 < sizeof msg && (len == 0 || msg[len - 1] != '\n')) {
        msg[len] = '\n';
        msg[len + 1] = '\0';
    }
    pthread_mutex_lock(&lock);
    append_locked(msg);
    pthread_mutex_unlock(&lock);
}

void ck_error(const char *domain, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ck_error_v(domain, fmt, ap);
    va_end(ap);
}

void ck_error_system(int err, const char *domain, const char *fmt, ...)
{
    char msg[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ck_error(domain, "%s: %s", msg, strerror(err));
}

const char *ck_error_buffer(void)
{
    return buffer;
}

char *ck_error_take(void)
{
    pthread_mutex_lock(&lock);
    char *copy = strdup(buffer);
    used = 0;
    buffer[0] = '\0';
    pthread_mutex_unlock(&lock);
    return copy;
}

void ck_error_clear(void)
{
    pthread_mutex_lock(&lock);
    used = 0;
    buffer[0] = '\0';
    pthread_mutex_unlock(&lock);
}
