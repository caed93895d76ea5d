/* Summary statistics for paired comparisons, Student's t quantiles and the
 * Gini sparseness of a map. */
#include <math.h>
#include <stdlib.h>

#include "gad/gad.h"
#include "gad/eval.h"

/* M_PI is not in strict C11. */
#define GAD_PI 3.14159265358979323846

void gad_mean_std(const double *v, int n, double *mean, double *std) {
    double m = 0.0, s = 0.0;
    for (int i = 0; i < n; i++) m += v[i];
    if (n > 0) m /= n;
    /* Two passes: the one-pass sum of squares cancels badly for data with
     * a large mean and a small spread. */
    if (n > 1) {
        for (int i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
        s = sqrt(s / (n - 1));
    }
    if (mean) *mean = m;
    if (std) *std = s;
}

/* Regularized incomplete beta I_x(a, b) from its continued fraction
 * (DLMF 8.17.22), evaluated by the modified Lentz method. The fraction
 * converges fast for x < (a + 1) / (a + b + 2); above that the symmetry
 * I_x(a, b) = 1 - I_{1-x}(b, a) applies. */
static double inc_beta(double x, double a, double b) {
    if (x <= 0) return 0.0;
    if (x >= 1) return 1.0;
    if (x > (a + 1) / (a + b + 2)) return 1.0 - inc_beta(1.0 - x, b, a);
    const double tiny = 1e-300;
    double front = exp(a * log(x) + b * log1p(-x) - (lgamma(a) + lgamma(b) - lgamma(a + b))) / a;
    double f = 1.0, c = 1.0, d = 0.0;
    for (int j = 1; j <= 10000; j++) {
        int m = j / 2;
        double num = (j & 1) ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        d = 1.0 + num * d;
        if (fabs(d) < tiny) d = tiny;
        d = 1.0 / d;
        c = 1.0 + num / c;
        if (fabs(c) < tiny) c = tiny;
        double delta = c * d;
        f *= delta;
        if (fabs(delta - 1.0) < 1e-16) break;
    }
    return front / f;
}

/* P(T > t) for t >= 0. */
static double t_upper(double t, double v) {
    return 0.5 * inc_beta(v / (v + t * t), v / 2, 0.5);
}

static double t_pdf(double t, double v) {
    return exp(lgamma((v + 1) / 2) - lgamma(v / 2) - 0.5 * log(v * GAD_PI) -
               (v + 1) / 2 * log1p(t * t / v));
}

double gad_t_quantile(double p, int df) {
    if (!(p > 0 && p < 1) || df < 1) return NAN;
    if (p == 0.5) return 0.0;
    if (p < 0.5) return -gad_t_quantile(1.0 - p, df);
    if (df == 1) return tan(GAD_PI * (p - 0.5));
    if (df == 2) return (2 * p - 1) / sqrt(2 * p * (1 - p));
    double v = df, q = 1.0 - p;
    /* Bracket the root of t_upper(t) = q, then Newton steps that fall back
     * to bisection whenever they leave the bracket. */
    double lo = 0.0, hi = 1.0;
    while (t_upper(hi, v) > q && hi < 1e300) {
        lo = hi;
        hi *= 2;
    }
    double t = 0.5 * (lo + hi);
    for (int it = 0; it < 200; it++) {
        double g = t_upper(t, v) - q;
        if (g > 0) lo = t;
        else hi = t;
        double next = t + g / t_pdf(t, v);
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        double step = fabs(next - t);
        t = next;
        if (step <= 1e-15 * t || hi - lo <= 1e-15 * t) break;
    }
    return t;
}

int gad_paired_ci(const double *a, const double *b, int n, double *mean_diff, double *lo,
                  double *hi) {
    if (n < 2) return GAD_EINVAL;
    double m = 0.0, s = 0.0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) return GAD_EVALUE;
        m += a[i] - b[i];
    }
    m /= n;
    for (int i = 0; i < n; i++) {
        double d = a[i] - b[i] - m;
        s += d * d;
    }
    double half = gad_t_quantile(0.975, n - 1) * sqrt(s / (n - 1)) / sqrt((double)n);
    if (mean_diff) *mean_diff = m;
    if (lo) *lo = m - half;
    if (hi) *hi = m + half;
    return 0;
}

static int cmp_float(const void *pa, const void *pb) {
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

double gad_gini(const float *map, size_t n) {
    if (n == 0) return 0.0;
    float *c = malloc(sizeof *c * n);
    if (!c) return NAN;
    for (size_t i = 0; i < n; i++) c[i] = isnan(map[i]) ? 0.0f : fabsf(map[i]);
    qsort(c, n, sizeof *c, cmp_float);
    double l1 = 0.0, acc = 0.0;
    for (size_t i = 0; i < n; i++) l1 += c[i];
    if (!(l1 > 0) || !isfinite(l1)) {
        free(c);
        return 0.0;
    }
    /* k = i + 1 (1-based rank): weight (n - k + 1/2) / n. */
    for (size_t i = 0; i < n; i++) acc += c[i] / l1 * ((double)(n - i) - 0.5) / (double)n;
    free(c);
    return 1.0 - 2.0 * acc;
}
