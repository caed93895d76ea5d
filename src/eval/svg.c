/* Deletion / insertion curves as a small SVG line chart, written as text
 * so no plotting library is needed to look at a run's results. */
#include <math.h>
#include <stdio.h>

#include "gad/gad.h"
#include "gad/eval.h"
#include "io/atomic.h"

/* Plot area inside a 640 x 400 canvas; the legend sits to the right. */
#define SVG_W 640
#define SVG_H 400
#define PX0 60.0
#define PX1 470.0
#define PY0 40.0
#define PY1 350.0

/* Colour-blind-friendly palette (Okabe & Ito) plus two greys. */
static const char *const palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                      "#56B4E9", "#F0E442", "#000000", "#999999", "#555555"};
#define N_PALETTE (int)(sizeof palette / sizeof palette[0])

static void put_escaped(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* Control characters are not allowed in XML 1.0. */
            fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
        }
    }
}

int gad_svg_curves(const char *path, const char *title, int n_series, const char *const *names,
                   const double *xs, const double *const *ys, int n_points, gad_err *err) {
    const char *p = path ? path : "(null)";
    if (n_series < 1 || n_points < 1 || !xs || !ys)
        return gad_err_set(err, GAD_EINVAL, "%s: chart needs at least one series and one point",
                           p);
    double ymin = INFINITY, ymax = -INFINITY;
    for (int i = 0; i < n_points; i++)
        if (!isfinite(xs[i]))
            return gad_err_set(err, GAD_EVALUE, "%s: x value %d is not finite", p, i);
    for (int s = 0; s < n_series; s++) {
        if (!ys[s]) return gad_err_set(err, GAD_EINVAL, "%s: series %d has no values", p, s);
        for (int i = 0; i < n_points; i++) {
            double v = ys[s][i];
            if (!isfinite(v))
                return gad_err_set(err, GAD_EVALUE, "%s: series %d value %d is not finite", p, s,
                                   i);
            if (v < ymin) ymin = v;
            if (v > ymax) ymax = v;
        }
    }
    /* A flat chart still needs a non-empty range; otherwise pad by 5 %. */
    if (ymax - ymin <= 1e-12 * fmax(1.0, fabs(ymax))) {
        double d = fmax(0.5, fabs(ymax) * 0.1);
        ymin -= d;
        ymax += d;
    } else {
        double d = 0.05 * (ymax - ymin);
        ymin -= d;
        ymax += d;
    }

    gad_atomic a;
    int rc = gad_atomic_open(path, &a, err);
    if (rc) return rc;
    FILE *f = a.f;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            SVG_W, SVG_H, SVG_W, SVG_H);
    if (title) {
        fprintf(f, "<text x=\"%g\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">",
                (PX0 + PX1) / 2);
        put_escaped(f, title);
        fputs("</text>\n", f);
    }
    fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"black\"/>\n",
            PX0, PY0, PX1 - PX0, PY1 - PY0);
    for (int k = 0; k <= 5; k++) {
        double fx = k / 5.0;
        double px = PX0 + fx * (PX1 - PX0);
        double py = PY1 - fx * (PY1 - PY0);
        double yv = ymin + fx * (ymax - ymin);
        fprintf(f,
                "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\" stroke=\"#ddd\"/>"
                "<text x=\"%.2f\" y=\"%g\" text-anchor=\"middle\">%.1f</text>\n",
                px, PY0, px, PY1, px, PY1 + 16, fx);
        fprintf(f,
                "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" stroke=\"#ddd\"/>"
                "<text x=\"%g\" y=\"%.2f\" text-anchor=\"end\">%.4g</text>\n",
                PX0, py, PX1, py, PX0 - 6, py + 4, yv);
    }
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">share of pixels</text>\n",
            (PX0 + PX1) / 2, PY1 + 36);
    for (int s = 0; s < n_series; s++) {
        const char *colour = palette[s % N_PALETTE];
        /* Past the palette, dashes keep reused colours apart. */
        const char *dash = s < N_PALETTE ? "" : " stroke-dasharray=\"6,3\"";
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", colour,
                dash);
        for (int i = 0; i < n_points; i++) {
            double px = PX0 + xs[i] * (PX1 - PX0);
            double py = PY1 - (ys[s][i] - ymin) / (ymax - ymin) * (PY1 - PY0);
            fprintf(f, "%s%.2f,%.2f", i ? " " : "", px, py);
        }
        fputs("\"/>\n", f);
        double ly = PY0 + 10 + 20 * s;
        fprintf(f,
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"%s/>"
                "<text x=\"%g\" y=\"%g\">",
                PX1 + 15, ly, PX1 + 40, ly, colour, dash, PX1 + 46, ly + 4);
        if (names && names[s]) put_escaped(f, names[s]);
        else fprintf(f, "series %d", s + 1);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
    if (ferror(f)) {
        gad_atomic_abort(&a);
        return gad_err_set(err, GAD_EIO, "%s: cannot write chart", p);
    }
    return gad_atomic_commit(&a, err);
}
