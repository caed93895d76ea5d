/* Budgets and areas under deletion / insertion curves. */
#include <math.h>

#include "gad/eval.h"

size_t gad_budget_pixels(double share, size_t n) {
    if (!(share > 0)) return 0; /* also NaN */
    if (share >= 1) return n;
    size_t k = (size_t)llround(share * (double)n);
    return k > n ? n : k;
}

double gad_auc(const double *xs, const double *ys, int n) {
    double s = 0.0;
    for (int i = 0; i + 1 < n; i++) s += (xs[i + 1] - xs[i]) * (ys[i] + ys[i + 1]) * 0.5;
    return s;
}
