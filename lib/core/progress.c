/* Keras-like progress bar (see ck/progress.h). */
#include "ck/progress.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ck_progress {
    FILE *out;
    char title[128];
    long total;
    long done;
    int enabled;
    double start;
    double last_draw;
    pthread_mutex_t lock;
};

double ck_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

ck_progress *ck_progress_new(FILE *out, const char *title, long total, int mode)
{
    ck_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->out = out ? out : stderr;
    snprintf(p->title, sizeof p->title, "%s", title ? title : "");
    p->total = total;
    p->enabled = mode > 0 || (mode == 0 && isatty(fileno(p->out)));
    p->start = ck_time_now();
    p->last_draw = -1;
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

int ck_progress_enabled(const ck_progress *p)
{
    return p && p->enabled;
}

static void fmt_time(char *buf, size_t n, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void draw_locked(ck_progress *p, const char *extra, int final)
{
    double now = ck_time_now();
    if (!final && p->last_draw >= 0 && now - p->last_draw < 0.1 && p->done < p->total)
        return;
    p->last_draw = now;
    const int width = 25;
    char bar[width + 3];
    int filled = p->total > 0 ? (int)((double)p->done / (double)p->total * width) : 0;
    if (filled > width)
        filled = width;
    bar[0] = '[';
    for (int i = 0; i < width; i++)
        bar[1 + i] = i < filled ? '=' : (i == filled ? '>' : '.');
    if (filled == width)
        bar[width] = '=';
    bar[width + 1] = ']';
    bar[width + 2] = '\0';
    double el = now - p->start;
    char tbuf[32];
    if (final || p->done >= p->total) {
        fmt_time(tbuf, sizeof tbuf, el);
        fprintf(p->out, "\r%s%s%ld/%ld %s - %s", p->title, *p->title ? " " : "", p->done, p->total, bar, tbuf);
    } else {
        double eta = p->done > 0 ? el / (double)p->done * (double)(p->total - p->done) : 0;
        fmt_time(tbuf, sizeof tbuf, eta);
        fprintf(p->out, "\r%s%s%ld/%ld %s - ETA: %s", p->title, *p->title ? " " : "", p->done, p->total, bar, tbuf);
    }
    if (extra && *extra)
        fprintf(p->out, " - %s", extra);
    fputs("\033[K", p->out);
    if (final)
        fputc('\n', p->out);
    fflush(p->out);
}

void ck_progress_update(ck_progress *p, long done, const char *extra)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->done = done;
    if (p->enabled)
        draw_locked(p, extra, 0);
    pthread_mutex_unlock(&p->lock);
}

void ck_progress_add(ck_progress *p, long n)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->done += n;
    if (p->enabled)
        draw_locked(p, NULL, 0);
    pthread_mutex_unlock(&p->lock);
}

void ck_progress_finish(ck_progress *p, const char *extra)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->enabled)
        draw_locked(p, extra, 1);
    pthread_mutex_unlock(&p->lock);
}

void ck_progress_free(ck_progress *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p);
}
