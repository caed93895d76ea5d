/* gad/eval.h — evaluation measures for attribution maps (GAD-SPEC "Evaluation").
 *
 * Pure functions on plain arrays; they know nothing of models or files
 * (except gad_svg_curves, which writes a chart). Conventions:
 *   - A map is h x w floats, row-major (index y * w + x); a mask is h x w
 *     uint8_t, 1 = selected, 0 = not (any non-zero byte counts as selected
 *     on input; outputs are exactly 0 or 1).
 *   - Images are planar, c x hw floats (channel first), as model inputs are.
 *   - Ranking "by decreasing value" treats -0 as +0 and NaN as below every
 *     number. Ties are broken by a pseudo-random key derived from the seed
 *     and the pixel index, so the same seed always gives the same order and
 *     different seeds shuffle ties differently. gad_select_top(count) selects
 *     exactly the first `count` pixels of gad_curve_order with the same seed,
 *     so the "plain top n" selection and the deletion curve agree.
 *   - Functions that can fail return 0 or a negative GAD_E* code; functions
 *     that return a measure as a double return NaN when they cannot compute
 *     it (out of memory), as documented on each.
 */
#ifndef GAD_EVAL_H
#define GAD_EVAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gad_err;

/* ---- region complexity ------------------------------------------------- */

/* Area of the convex hull of the selected pixels' centres (pixel (x, y) is
 * the point (x + 0.5, y + 0.5)), divided by the image area h * w. Fewer than
 * 3 selected pixels, or all on one line: 0. Because centres are used, a full
 * mask gives (h - 1)(w - 1) / (h w), not 1. Exact integer orientation tests
 * (h, w < 2^30). NaN if memory for 2h hull candidates cannot be allocated;
 * 0 for h or w <= 0. */
double gad_hull_area(const uint8_t *mask, int h, int w);

/* Number of 8-connected regions of selected pixels (diagonal contact joins).
 * labels (h x w ints, may be NULL) receives 0 for background and 1..count
 * for regions, numbered in raster order of their first pixel. Iterative
 * union-find: no recursion. Returns the count, GAD_EINVAL for bad sizes,
 * GAD_ELIMIT when h * w > INT_MAX, GAD_ENOMEM. */
int gad_count_regions(const uint8_t *mask, int h, int w, int *labels);

/* Gini sparseness of |map| (Hurley & Rickard 2009): sort |c| ascending as
 * c_(1..n), G = 1 - 2 sum_k c_(k) / ||c||_1 * (n - k + 1/2) / n. 0 for a
 * uniform map (and for all zeros or n = 0), 1 - 1/n for a single non-zero.
 * NaN values count as 0; an infinite sum gives 0. Returns NaN if the sort
 * buffer cannot be allocated. */
double gad_gini(const float *map, size_t n);

/* ---- selections -------------------------------------------------------- */

/* mask[i] = 1 for the `count` highest map values (ties at the boundary broken
 * by the seed), 0 elsewhere. Returns the number selected, min(count, n).
 * Allocation-free, O(n) passes (about 100 for worst-case ties). */
size_t gad_select_top(uint8_t *mask, const float *map, size_t n, size_t count, uint64_t seed);

/* The method's own top-tau region: the top round(tau * n) pixels (tau
 * clamped to [0, 1]) restricted to those with value > 0. Returns the number
 * selected (fewer than round(tau * n) when few pixels are positive). */
size_t gad_select_top_share(uint8_t *mask, const float *map, size_t n, double tau,
                            uint64_t seed);

/* `count` pixels drawn uniformly without replacement among the informative
 * ones (informative[i] != 0); if there are fewer, all of them. Returns the
 * number selected. Deterministic for a given seed. */
size_t gad_select_random(uint8_t *mask, const uint8_t *informative, size_t n, size_t count,
                         uint64_t seed);

/* ---- occlusion --------------------------------------------------------- */

/* x_out = x except the selected pixels, in every one of the c channels,
 * which take the baseline's values. x_out may alias x. */
void gad_occlude(float *x_out, const float *x, const float *baseline, const uint8_t *mask,
                 int c, size_t hw);

/* mask[i] = 1 where any channel of x differs from the baseline (occluding
 * any other pixel changes nothing). */
void gad_informative_pixels(uint8_t *mask, const float *x, const float *baseline, int c,
                            size_t hw);

/* ---- deletion / insertion curves ----------------------------------------
 * The model runs elsewhere: for each budget share s (ascending, in [0, 1])
 * take k = gad_budget_pixels(s, hw), build gad_curve_input(..., k, ...),
 * evaluate the model, then gad_auc(shares, scores). */

/* order[0..n-1] = pixel indices by decreasing map value, ties by the seed.
 * Allocation-free heap sort. */
void gad_curve_order(size_t *order, const float *map, size_t n, uint64_t seed);

/* round(share * n), share clamped to [0, 1]. */
size_t gad_budget_pixels(double share, size_t n);

/* Deletion (insertion = 0): out = x with the first k pixels of order set to
 * the baseline. Insertion (insertion != 0): out = baseline with the first k
 * pixels of order taken from x. All c channels; k is clamped to hw. */
void gad_curve_input(float *out, const float *x, const float *baseline, const size_t *order,
                     size_t k, int c, size_t hw, int insertion);

/* Trapezoid rule over the given (ascending) x positions: sum over
 * consecutive points of (x[i+1] - x[i]) (y[i] + y[i+1]) / 2. No further
 * normalisation: with x the budget shares from 0 to 1 the result is the
 * curve's mean height (a constant curve c gives c). n < 2: 0. */
double gad_auc(const double *xs, const double *ys, int n);

/* ---- statistics -------------------------------------------------------- */

/* Mean and sample standard deviation (n - 1 in the denominator); n < 2
 * gives std 0 (and n < 1 mean 0). Either output may be NULL. */
void gad_mean_std(const double *v, int n, double *mean, double *std);

/* Quantile of Student's t distribution with df degrees of freedom at
 * probability p in (0, 1): solves the CDF (regularized incomplete beta)
 * by safeguarded Newton steps; closed forms for df 1 and 2. Agrees with a
 * 40-digit mpmath solution to 1e-12 (relative) for df 1..1000, and so with
 * scipy.stats.t.ppf to its own accuracy, about 1e-8. NaN for p outside
 * (0, 1) or df < 1. */
double gad_t_quantile(double p, int df);

/* Paired comparison: mean of a[i] - b[i] and its two-sided 95 % confidence
 * interval mean +- t(0.975, n - 1) * sd / sqrt(n). Outputs may be NULL.
 * GAD_EINVAL when n < 2 (no interval exists), GAD_EVALUE when a value is
 * not finite. */
int gad_paired_ci(const double *a, const double *b, int n, double *mean_diff, double *lo,
                  double *hi);

/* ---- localisation (ground-truth masks) --------------------------------- */

/* 1 if the arg-max pixel of map (first index on ties, NaN skipped) lies in
 * gt, else 0 (also 0 for n = 0 or an all-NaN map). */
double gad_pointing_game(const float *map, const uint8_t *gt, size_t n);

/* Share of positive attribution mass inside gt: sum of map > 0 over gt
 * divided by the sum of map > 0 everywhere; 0 if nothing is positive. */
double gad_mass_in_mask(const float *map, const uint8_t *gt, size_t n);

/* ---- charts ------------------------------------------------------------ */

/* Line chart as SVG text: x axis 0..1 (xs are budget shares), y axis fitted
 * to the data, one <polyline> per series with a distinct colour, a legend
 * and the title (both XML-escaped; names or title may be NULL). ys[s] has
 * n_points values for series s. Written atomically (temporary + rename).
 * GAD_EINVAL for bad counts, GAD_EVALUE for non-finite values, GAD_EIO. */
int gad_svg_curves(const char *path, const char *title, int n_series, const char *const *names,
                   const double *xs, const double *const *ys, int n_points,
                   struct gad_err *err);

#ifdef __cplusplus
}
#endif

#endif
