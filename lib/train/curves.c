/* Learning curves: epochs.csv and a two-panel SVG (loss, accuracy), written
 * by hand so that the picture needs no plotting library. */
#include "ck/train.h"
#include "ck/error.h"
#include "ck/fs.h"
#include "ck/text.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Empty field for a missing value (no validation set) rather than "nan",
 * so that spreadsheets and pandas read the column as numbers. */
static void put_num(FILE *f, double v, const char *fmt)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
}

int ck_curves_write_csv(const char *path, const ck_epoch_record *r, int n)
{
    ck_atomic_file *af = ck_atomic_open(path, 0);
    if (!af)
        return -1;
    FILE *f = ck_atomic_stream(af);
    fputs("epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "%d,", r[i].epoch);
        put_num(f, r[i].train_loss, "%.6f");
        fputc(',', f);
        put_num(f, r[i].train_acc, "%.6f");
        fputc(',', f);
        put_num(f, r[i].val_loss, "%.6f");
        fputc(',', f);
        put_num(f, r[i].val_acc, "%.6f");
        fputc(',', f);
        put_num(f, r[i].lr, "%.6g");
        fputc(',', f);
        put_num(f, r[i].seconds, "%.3f");
        fputc('\n', f);
    }
    return ck_atomic_commit(af);
}

/* "Nice" tick step (1, 2 or 5 × 10^k) giving about `want` ticks. */
static double nice_step(double range, int want)
{
    if (!(range > 0))
        return 1;
    double raw = range / want;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double s = f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10;
    return s * mag;
}

typedef struct panel {
    double x0, y0, w, h;       /* plot area in pixels */
    double xmin, xmax, ymin, ymax;
} panel;

static double px(const panel *p, double x)
{
    return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w;
}

static double py(const panel *p, double y)
{
    return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h;
}

static void series(FILE *f, const panel *p, const ck_epoch_record *r, int n, size_t off,
                   const char *color, int dashed)
{
    int started = 0;
    for (int i = 0; i < n; i++) {
        double v = *(const double *)((const char *)&r[i] + off);
        if (!isfinite(v))
            continue;
        if (!started)
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color,
                    dashed ? " stroke-dasharray=\"6,4\"" : "");
        fprintf(f, "%s%.1f,%.1f", started ? " " : "", px(p, r[i].epoch), py(p, v));
        started = 1;
    }
    if (started)
        fputs("\"/>\n", f);
    for (int i = 0; i < n; i++) {
        double v = *(const double *)((const char *)&r[i] + off);
        if (isfinite(v))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(p, r[i].epoch),
                    py(p, v), color);
    }
}

/* The y range from [lo, hi], the title, the frame, y ticks with grid
 * lines, and the axis labels; the x range must be set. */
static void frame(FILE *f, panel *p, double lo, double hi, const char *title, const char *xlabel,
                  const char *ylabel)
{
    if (hi - lo < 1e-6) { lo -= 0.05; hi += 0.05; }
    double ystep = nice_step(hi - lo, 5);
    p->ymin = floor(lo / ystep) * ystep;
    p->ymax = ceil(hi / ystep) * ystep;
    if (p->ymax <= p->ymin)
        p->ymax = p->ymin + ystep;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">%s</text>\n",
            p->x0 + p->w / 2, p->y0 - 12, title);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" stroke=\"#333\"/>\n",
            p->x0, p->y0, p->w, p->h);
    for (double y = p->ymin; y <= p->ymax + ystep * 1e-6; y += ystep) {
        double yy = py(p, y);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", p->x0, yy,
                p->x0 + p->w, yy);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", p->x0 - 5, yy,
                p->x0, yy);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"12\">%.*f</text>\n",
                p->x0 - 8, yy + 4, ystep < 0.1 ? 2 : ystep < 1 ? 1 : 0, y);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">%s</text>\n",
            p->x0 + p->w / 2, p->y0 + p->h + 38, xlabel);
    fprintf(f, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">%s</text>\n",
            p->x0 - 48, p->y0 + p->h / 2, ylabel);
}

static void x_tick(FILE *f, const panel *p, double x, const char *label)
{
    double xx = px(p, x);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", xx, p->y0 + p->h, xx,
            p->y0 + p->h + 5);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">%s</text>\n", xx,
            p->y0 + p->h + 19, label);
}

static void draw_panel(FILE *f, panel *p, const ck_epoch_record *r, int n, size_t off_train,
                       size_t off_val, const char *title, const char *ylabel, int is_acc)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) {
        double a = *(const double *)((const char *)&r[i] + off_train);
        double b = *(const double *)((const char *)&r[i] + off_val);
        if (isfinite(a)) { lo = fmin(lo, a); hi = fmax(hi, a); }
        if (isfinite(b)) { lo = fmin(lo, b); hi = fmax(hi, b); }
    }
    if (!isfinite(lo)) { lo = 0; hi = 1; }
    if (is_acc) { lo = fmax(0, lo); hi = fmin(1, hi); }
    p->xmin = 1;
    p->xmax = n > 1 ? r[n - 1].epoch : r[0].epoch + 1;
    if (r[0].epoch < p->xmin)
        p->xmin = r[0].epoch;
    if (p->xmax <= p->xmin)
        p->xmax = p->xmin + 1;
    frame(f, p, lo, hi, title, "epoch", ylabel);
    /* x ticks: whole epochs */
    double xstep = ceil(nice_step(p->xmax - p->xmin, 8));
    if (xstep < 1)
        xstep = 1;
    for (double x = ceil(p->xmin); x <= p->xmax + 1e-9; x += xstep) {
        char lab[32];
        snprintf(lab, sizeof lab, "%.0f", x);
        x_tick(f, p, x, lab);
    }
    series(f, p, r, n, off_train, "#1f77b4", 0);
    series(f, p, r, n, off_val, "#d62728", 1);
    /* Legend top right for loss (curves fall) and bottom right for
     * accuracy (curves rise), where the lines usually are not. */
    double lx = p->x0 + p->w - 130, ly = is_acc ? p->y0 + p->h - 56 : p->y0 + 10;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"120\" height=\"46\" fill=\"white\" stroke=\"#999\"/>\n", lx, ly);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n",
            lx + 8, ly + 15, lx + 36, ly + 15);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">train</text>\n", lx + 44, ly + 19);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-width=\"2\" stroke-dasharray=\"6,4\"/>\n",
            lx + 8, ly + 33, lx + 36, ly + 33);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">validation</text>\n", lx + 44, ly + 37);
}

/* The SVG's header, a white background and the title (escaped). */
static FILE *svg_open(ck_atomic_file *af, int W, int H, const char *title)
{
    FILE *f = ck_atomic_stream(af);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    if (title && *title) {
        fputs("<title>", f);
        ck_text_put_xml(f, title);
        fputs("</title>\n", f);
    }
    return f;
}

int ck_curves_write_svg(const char *path, const ck_epoch_record *r, int n, const char *title)
{
    if (n <= 0) {
        ck_error("curves", "%s: no epochs to plot", path);
        return -1;
    }
    ck_atomic_file *af = ck_atomic_open(path, 0);
    if (!af)
        return -1;
    FILE *f = svg_open(af, 1000, 420, title);
    panel loss = {.x0 = 75, .y0 = 40, .w = 390, .h = 310};
    panel acc = {.x0 = 575, .y0 = 40, .w = 390, .h = 310};
    draw_panel(f, &loss, r, n, offsetof(ck_epoch_record, train_loss), offsetof(ck_epoch_record, val_loss),
               "Loss", "loss", 0);
    draw_panel(f, &acc, r, n, offsetof(ck_epoch_record, train_acc), offsetof(ck_epoch_record, val_acc),
               "Accuracy", "accuracy", 1);
    fputs("</svg>\n", f);
    return ck_atomic_commit(af);
}

/* x is log10(lr): ticks at whole decades. The raw loss is drawn faint,
 * the smoothed one (what the suggestion reads) bold, the suggestion as a
 * vertical line. The y range is the smoothed loss's, so that the last,
 * exploding raw losses do not flatten the curve. */
int ck_curves_write_lr_svg(const char *path, const ck_lr_find_result *r, const char *title)
{
    if (!r || r->n <= 0) {
        ck_error("curves", "%s: no learning-rate steps to plot", path);
        return -1;
    }
    ck_atomic_file *af = ck_atomic_open(path, 0);
    if (!af)
        return -1;
    FILE *f = svg_open(af, 640, 420, title);
    panel p = {.x0 = 75, .y0 = 40, .w = 530, .h = 310};
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < r->n; i++)
        if (isfinite(r->smooth[i])) {
            lo = fmin(lo, r->smooth[i]);
            hi = fmax(hi, r->smooth[i]);
        }
    if (!isfinite(lo)) { lo = 0; hi = 1; }
    p.xmin = floor(log10(r->lr[0]));
    p.xmax = ceil(log10(r->lr[r->n - 1]));
    if (p.xmax <= p.xmin)
        p.xmax = p.xmin + 1;
    frame(f, &p, lo, hi, "Learning-rate range test", "learning rate (log scale)", "loss");
    for (double x = p.xmin; x <= p.xmax + 1e-9; x += 1) {
        char lab[32];
        snprintf(lab, sizeof lab, "1e%+03.0f", x);
        x_tick(f, &p, x, lab);
    }
    fprintf(f, "<clipPath id=\"plot\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n",
            p.x0, p.y0, p.w, p.h);
    for (int k = 0; k < 2; k++) {
        const double *v = k ? r->smooth : r->loss;
        fprintf(f, "<polyline clip-path=\"url(#plot)\" fill=\"none\" stroke=\"%s\" stroke-width=\"%d\" points=\"",
                k ? "#1f77b4" : "#aec7e8", k ? 2 : 1);
        int first = 1;
        for (int i = 0; i < r->n; i++)
            if (isfinite(v[i])) {
                fprintf(f, "%s%.1f,%.1f", first ? "" : " ", px(&p, log10(r->lr[i])), py(&p, v[i]));
                first = 0;
            }
        fputs("\"/>\n", f);
    }
    if (isfinite(r->suggested) && r->suggested > 0) {
        double xx = px(&p, log10(r->suggested));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-dasharray=\"6,4\"/>\n",
                xx, p.y0, xx, p.y0 + p.h);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#d62728\">suggested %.3g</text>\n", xx + 4,
                p.y0 + 16, r->suggested);
    }
    fputs("</svg>\n", f);
    return ck_atomic_commit(af);
}
