/* Exact percentile (numpy 'linear') by sample-guided selection.
 *
 * Sorting n floats to read two of them is wasteful; instead:
 *   1. pick two pivots from an evenly spaced sample so that, with high
 *      probability, the wanted ranks lie between them;
 *   2. one vector pass (ops->pct_pass) counts the values below the lower
 *      pivot, copies the values between the pivots to scratch and finds the
 *      smallest value above the upper one — the bandwidth-bound part;
 *   3. quickselect finishes on the copied middle, a few percent of n.
 * If the sample misled us (the ranks fall outside the middle) the pass is
 * repeated with infinite pivots, which copies everything: still exact, just
 * slower. The result is the same whichever table runs the pass, because the
 * pass only counts and copies. */
#include <math.h>
#include <stdlib.h>

#include "gad/simd.h"
#include "simd_internal.h"

/* Below this size the sample costs more than it saves. */
#define PCT_SAMPLE_MIN_N 1024
/* Sample size bound; the sample lives on the stack. */
#define PCT_SAMPLE_MAX 4096

static int cmp_float(const void *pa, const void *pb) {
    const float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

static inline void swapf(float *v, size_t i, size_t j) {
    const float t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static inline float median3(float a, float b, float c) {
    if (a > b) {
        const float t = a;
        a = b;
        b = t;
    }
    /* now a <= b */
    return c <= a ? a : c >= b ? b : c;
}

/* Reorder v[0..m) (no NaNs) so that v[k] holds the value a sort would put
 * there, with nothing larger before it and nothing smaller after it. Three-way
 * partitions make runs of equal values (common in attribution maps: zeros)
 * cost one round; a round budget falls back to qsort so adversarial inputs
 * cannot make it quadratic. */
static void quickselect(float *v, size_t m, size_t k) {
    size_t l = 0, r = m;
    int budget = 16;
    for (size_t t = m; t; t >>= 1) budget += 2;
    while (r - l > 16) {
        if (budget-- == 0) {
            qsort(v + l, r - l, sizeof *v, cmp_float);
            return;
        }
        const float p = median3(v[l], v[l + (r - l) / 2], v[r - 1]);
        /* [l, lt) < p, [lt, i) == p, [gt, r) > p */
        size_t lt = l, i = l, gt = r;
        while (i < gt) {
            if (v[i] < p)
                swapf(v, lt++, i++);
            else if (v[i] > p)
                swapf(v, i, --gt);
            else
                i++;
        }
        if (k < lt)
            r = lt;
        else if (k >= gt)
            l = gt;
        else
            return;
    }
    for (size_t i = l + 1; i < r; i++) {
        const float x = v[i];
        size_t j = i;
        for (; j > l && v[j - 1] > x; j--) v[j] = v[j - 1];
        v[j] = x;
    }
}

float gad_simd_percentile_with(const gad_simd_ops *ops, const float *a, size_t n, double q,
                               int use_abs, float *scratch) {
    if (n == 0 || !(q >= 0.0 && q <= 100.0)) return NAN;

    /* numpy's index arithmetic, operation for operation, in double. At the
     * top end numpy reads the last value through index -1 and so computes
     * its weight as h - (-1). */
    const double h = (double)(n - 1) * (q / 100.0);
    size_t lo, hi;
    double g;
    if (h >= (double)(n - 1)) {
        lo = hi = n - 1;
        g = h + 1.0;
    } else {
        const double f = floor(h);
        lo = (size_t)f;
        hi = lo + 1;
        g = h - f;
    }

    float lo_p = -INFINITY, hi_p = INFINITY;
    if (n >= PCT_SAMPLE_MIN_N) {
        float samp[PCT_SAMPLE_MAX];
        size_t s = n / 8 < PCT_SAMPLE_MAX ? n / 8 : PCT_SAMPLE_MAX;
        for (size_t i = 0; i < s; i++) {
            const float x = a[i * n / s];
            if (x != x) return NAN; /* any NaN makes the answer NaN */
            samp[i] = use_abs ? fabsf(x) : x;
        }
        /* The target ranks sit near rank lo*s/n of the sample, give or take
         * about sqrt(s)/2; a margin of 2*sqrt(s) misses very rarely. */
        const size_t d = (size_t)(2.0 * sqrt((double)s)) + 2;
        const size_t rl = lo * s / n, rh = hi * s / n + 1;
        if (rl >= d) {
            quickselect(samp, s, rl - d);
            lo_p = samp[rl - d];
        }
        if (rh + d < s) {
            quickselect(samp, s, rh + d);
            hi_p = samp[rh + d];
        }
    }

    float *owned = NULL;
    if (!scratch) {
        owned = malloc(n * sizeof *owned);
        if (!owned) return NAN;
        scratch = owned;
    }
    float va = NAN, vb = NAN;
    /* The second round has infinite pivots and cannot miss; the bound only
     * guards against ever spinning. */
    for (int round = 0; round < 2; round++) {
        size_t below = 0;
        float min_above = INFINITY;
        int has_nan = 0;
        const size_t m = ops->pct_pass(a, n, use_abs, lo_p, hi_p, scratch, &below, &min_above, &has_nan);
        if (has_nan) break;
        if (below <= lo && lo < below + m) {
            const size_t k = lo - below;
            quickselect(scratch, m, k);
            va = vb = scratch[k];
            if (hi != lo) {
                /* Everything after k is >= va, so the next rank is their
                 * minimum — or, past the middle, the smallest value above. */
                if (hi < below + m) {
                    vb = scratch[k + 1];
                    for (size_t i = k + 2; i < m; i++)
                        if (scratch[i] < vb) vb = scratch[i];
                } else {
                    vb = min_above;
                }
            }
            break;
        }
        /* Infinite pivots copy every non-NaN value, so the next round hits. */
        lo_p = -INFINITY;
        hi_p = INFINITY;
    }
    free(owned);
    if (va != va) return NAN;

    /* numpy's _lerp: the difference in float32 (the array's type), the rest
     * in float64. -std=c11 keeps these from being fused into an FMA. */
    const float diff = vb - va;
    const double r = g >= 0.5 ? (double)vb - (double)diff * (1.0 - g) : (double)va + (double)diff * g;
    return (float)r;
}
