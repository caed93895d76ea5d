/* Quadrature rules for Integrated Gradients on [0, 1], and the name tables
 * of the attribution options. */
#include <math.h>
#include <string.h>

#include "gad/attr.h"
#include "gad/gad.h"

static const char *const method_names[] = {"ig", "saliency", "gradient", "ixg", "guided"};
static const char *const quad_names[] = {"gausslegendre", "left", "right", "middle", "trapezoid"};
static const char *const noise_names[] = {"none", "smoothgrad", "smoothgrad_sq", "vargrad"};

#define NAME_OF(table, i) ((unsigned)(i) < sizeof table / sizeof *table ? table[i] : "?")

static int parse_in(const char *const *table, int n, const char *s) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, table[i])) return i;
    return -1;
}

const char *gad_method_name(gad_method m) { return NAME_OF(method_names, m); }
const char *gad_quadrature_name(gad_quadrature q) { return NAME_OF(quad_names, q); }
const char *gad_noise_name(gad_noise n) { return NAME_OF(noise_names, n); }
int gad_method_parse(const char *s) { return parse_in(method_names, 5, s); }
int gad_quadrature_parse(const char *s) { return parse_in(quad_names, 5, s); }
int gad_noise_parse(const char *s) { return parse_in(noise_names, 4, s); }

/* Gauss-Legendre nodes on [-1, 1] by Newton's method on P_n, evaluated with
 * the three-term recurrence; converges in a few iterations from the
 * Tricomi-style initial guess. Nodes come out descending; we store them
 * ascending (as numpy's leggauss, which Captum uses). */
static void gauss_legendre(int n, double *x, double *w) {
    for (int i = 0; i < (n + 1) / 2; i++) {
        double z = cos(3.14159265358979323846 * (i + 0.75) / (n + 0.5)), dp = 0;
        for (int it = 0; it < 100; it++) {
            double p0 = 1, p1 = z;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2.0 * k - 1) * z * p1 - (k - 1.0) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            if (n == 1) p0 = 1, p1 = z;
            dp = n * (z * p1 - p0) / (z * z - 1);
            double dz = p1 / dp;
            z -= dz;
            if (fabs(dz) < 1e-16) break;
        }
        double p0 = 1, p1 = z;
        for (int k = 2; k <= n; k++) {
            double p2 = ((2.0 * k - 1) * z * p1 - (k - 1.0) * p0) / k;
            p0 = p1;
            p1 = p2;
        }
        dp = n * (z * p1 - p0) / (z * z - 1);
        double wi = 2 / ((1 - z * z) * dp * dp);
        x[n - 1 - i] = z;
        x[i] = -z;
        w[i] = w[n - 1 - i] = wi;
    }
}

int gad_quadrature_points(gad_quadrature q, int n, double *alphas, double *weights, gad_err *err) {
    if (n < 1 || n > 1 << 20)
        return gad_err_set(err, GAD_EINVAL, "quadrature: %d points is out of range [1, 1048576]", n);
    switch (q) {
    case GAD_QUAD_GAUSS_LEGENDRE:
        if (n == 1) {
            alphas[0] = 0.5;
            weights[0] = 1;
            return 0;
        }
        gauss_legendre(n, alphas, weights);
        for (int i = 0; i < n; i++) {
            alphas[i] = 0.5 * (alphas[i] + 1);
            weights[i] *= 0.5;
        }
        return 0;
    case GAD_QUAD_LEFT:
    case GAD_QUAD_RIGHT:
    case GAD_QUAD_MIDDLE: {
        double off = q == GAD_QUAD_LEFT ? 0 : q == GAD_QUAD_RIGHT ? 1 : 0.5;
        for (int i = 0; i < n; i++) {
            alphas[i] = (i + off) / n;
            weights[i] = 1.0 / n;
        }
        return 0;
    }
    case GAD_QUAD_TRAPEZOID:
        if (n < 2) return gad_err_set(err, GAD_EINVAL, "quadrature: the trapezoid rule needs at least 2 points");
        for (int i = 0; i < n; i++) {
            alphas[i] = (double)i / (n - 1);
            weights[i] = (i == 0 || i == n - 1 ? 0.5 : 1.0) / (n - 1);
        }
        return 0;
    }
    return gad_err_set(err, GAD_EINVAL, "quadrature: unknown rule %d", (int)q);
}
