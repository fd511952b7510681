/* Confusion matrix files: CSV for spreadsheets, SVG for a quick look. */
#include "ck/metrics.h"

#include "ck/error.h"
#include "ck/fs.h"
#include "ck/text.h"

#include <stdlib.h>
#include <string.h>

static void put_name(FILE *f, const char *const *names, int k, int csv)
{
    if (!names || !names[k]) {
        fprintf(f, "%d", k);
        return;
    }
    if (csv)
        ck_text_put_field(f, names[k], ',');
    else
        ck_text_put_xml(f, names[k]);
}

int ck_metrics_write_confusion_csv(const ck_metrics *m, const char *const *names, const char *path)
{
    ck_atomic_file *af = ck_atomic_open(path, CK_OUT_STDOUT);
    if (!af)
        return -1;
    FILE *f = ck_atomic_stream(af);
    int n = ck_metrics_nclass(m);
    const long *cm = ck_metrics_confusion(m);
    fputs("truth\\predicted", f);
    for (int j = 0; j < n; j++) {
        fputc(',', f);
        put_name(f, names, j, 1);
    }
    fputc('\n', f);
    for (int i = 0; i < n; i++) {
        put_name(f, names, i, 1);
        for (int j = 0; j < n; j++)
            fprintf(f, ",%ld", cm[(size_t)i * (size_t)n + (size_t)j]);
        fputc('\n', f);
    }
    return ck_atomic_commit(af);
}

int ck_metrics_write_confusion_svg(const ck_metrics *m, const char *const *names, const char *path)
{
    ck_atomic_file *af = ck_atomic_open(path, CK_OUT_STDOUT);
    if (!af)
        return -1;
    FILE *f = ck_atomic_stream(af);
    int n = ck_metrics_nclass(m);
    const long *cm = ck_metrics_confusion(m);
    /* Margins from the longest label (about 6 px per character at 10 px;
     * column labels are turned by 60 degrees). */
    int longest = 3;
    for (int k = 0; names && k < n; k++)
        if (names[k] && (int)strlen(names[k]) > longest)
            longest = (int)strlen(names[k]);
    const int cell = 28, left = 6 * longest + 12, top = 6 * longest * 87 / 100 + 30;
    int w = left + n * cell + 3 * longest + 20, h = top + n * cell + 20;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"10\">\n", w, h);
    fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", w, h);
    fprintf(f, "<text x=\"%d\" y=\"14\" font-size=\"13\">Confusion matrix (rows: truth, columns: predicted; "
               "colour: share of the row)</text>\n", 4);
    for (int i = 0; i < n; i++) {
        long total = 0;
        for (int j = 0; j < n; j++)
            total += cm[(size_t)i * (size_t)n + (size_t)j];
        int y = top + i * cell;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 4, y + cell / 2 + 4);
        put_name(f, names, i, 0);
        fputs("</text>\n", f);
        for (int j = 0; j < n; j++) {
            long c = cm[(size_t)i * (size_t)n + (size_t)j];
            double share = total ? (double)c / (double)total : 0;
            /* White to dark blue; diagonal cells read as correct. */
            int r = (int)(255 - share * 222), g = (int)(255 - share * 180), b = (int)(255 - share * 80);
            int x = left + j * cell;
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"rgb(%d,%d,%d)\" "
                       "stroke=\"#ccc\"/>\n", x, y, cell, cell, r, g, b);
            if (c)
                fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%ld</text>\n",
                        x + cell / 2, y + cell / 2 + 4, share > 0.5 ? "white" : "black", c);
        }
    }
    for (int j = 0; j < n; j++) {
        int x = left + j * cell + cell / 2 + 4;
        fprintf(f, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-60 %d %d)\">", x, top - 4, x, top - 4);
        put_name(f, names, j, 0);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
    return ck_atomic_commit(af);
}
