/* ck/progress.h — a Keras-like progress bar on stderr.
 *
 *   12/150 [==>...........] - ETA: 0:41 - loss: 1.2345 - acc: 0.5123
 *
 * Quiet when the stream is not a terminal unless forced (--progress);
 * thread-safe updates; redraws at most ~10 times a second.
 */
#ifndef CK_PROGRESS_H
#define CK_PROGRESS_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_progress ck_progress;

/* mode: 0 auto (only if isatty(fileno(out))), 1 always, -1 never. */
ck_progress *ck_progress_new(FILE *out, const char *title, long total, int mode);
/* Set progress to `done` items; `extra` (may be NULL) is printed after the
 * ETA, e.g. "loss: 0.1234 - acc: 0.9". */
void ck_progress_update(ck_progress *p, long done, const char *extra);
/* Add n items (thread-safe). */
void ck_progress_add(ck_progress *p, long n);
/* Final redraw with elapsed time and a newline (when enabled). */
void ck_progress_finish(ck_progress *p, const char *extra);
int ck_progress_enabled(const ck_progress *p);
void ck_progress_free(ck_progress *p);

/* Seconds since an arbitrary start (monotonic). */
double ck_time_now(void);

#ifdef __cplusplus
}
#endif
#endif
