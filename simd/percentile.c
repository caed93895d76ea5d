/* Exact percentile (numpy 'linear') by sample-guided selection.
 *
 * Sorting n floats to read two of them is wasteful; instead:
 *   1. pick two pivots from an evenly spaced sample so that, with high
 *      probability, the two wanted ranks lie between them;
 *   2. one branch-free vector pass (ops->pct_pass) counts the values below
 *      the lower pivot and copies the values between the pivots to scratch —
 *      the only pass over the input, at memory speed;
 *   3. the band (about 1 % of n for the 99th percentile, 7 % for the
 *      median) is narrowed the same way while it is large, now in cache,
 *      and quickselect finishes on a few thousand values.
 * If the sample misled us (a wanted rank falls outside the band) the pass
 * is repeated with infinite pivots, which copies everything: still exact,
 * just slower; a miss inside the band only ends the narrowing early. The
 * result is the same whichever table runs the pass, because the pass only
 * counts and copies. */
#include <math.h>
#include <stdlib.h>

#include "gad/simd.h"
#include "simd_internal.h"

/* Below this size the sample costs more than it saves. */
#define PCT_SAMPLE_MIN_N 1024
/* Sample size bound; the sample lives on the stack. */
#define PCT_SAMPLE_MAX 4096
/* Sets this small are finished by quickselect rather than another pass. */
#define PCT_SMALL 4096

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

/* Pivots that bracket ranks klo <= khi of the n values a[i] (or |a[i]|),
 * read from an evenly spaced sample: -inf / +inf where the margin runs off
 * the sample's ends. The number of sample values below the p-quantile has a
 * standard deviation of about sqrt(s p (1 - p)); a margin of 4.5 of those
 * (plus 2 for rounding) makes a miss very rare for data in no particular
 * order, narrows the band to ~1 % of n for the 99th percentile, and a miss
 * only costs speed. Returns 1 when the sample met a NaN. */
static int sample_pivots(const float *a, size_t n, int use_abs, size_t klo, size_t khi, float *lo_p,
                         float *hi_p) {
    float samp[PCT_SAMPLE_MAX];
    const size_t s = n / 8 < PCT_SAMPLE_MAX ? n / 8 : PCT_SAMPLE_MAX;
    for (size_t i = 0; i < s; i++) {
        const float x = a[i * n / s];
        if (x != x) return 1;
        samp[i] = use_abs ? fabsf(x) : x;
    }
    const double p = ((double)klo + 0.5) / (double)n;
    const size_t d = (size_t)(4.5 * sqrt((double)s * p * (1.0 - p))) + 2;
    const size_t rl = klo * s / n, rh = khi * s / n + 1;
    *lo_p = -INFINITY;
    *hi_p = INFINITY;
    size_t base = 0;
    if (rl >= d) {
        base = rl - d;
        quickselect(samp, s, base);
        *lo_p = samp[base];
    }
    /* after the first selection everything from base on is >= samp[base],
     * so the second one only needs that part */
    if (rh + d < s) {
        quickselect(samp + base, s - base, rh + d - base);
        *hi_p = samp[rh + d];
    }
    return 0;
}

/* Values of ranks k and, when need_next, k + 1 among the m NaN-free values
 * in v, which has room for cap floats. While the set is large it is narrowed
 * like the input was — sample, one pass, keep the band — ping-ponging
 * between v[0..) and the room after the set, so that a miss (a wanted rank
 * outside the band) leaves the current set intact for the exact finish by
 * quickselect. */
static void select_ranks(const gad_simd_ops *ops, float *v, size_t m, size_t cap, size_t k, int need_next,
                         float *va, float *vb) {
    float *src = v;
    while (m > PCT_SMALL) {
        float *dst = src == v ? v + m : v;
        if (src == v && cap - m < m) break; /* no room for a band as big as the set */
        float lo_p, hi_p;
        sample_pivots(src, m, 0, k, k + (size_t)need_next, &lo_p, &hi_p);
        if (lo_p == -INFINITY && hi_p == INFINITY) break;
        size_t below = 0;
        int has_nan = 0;
        const size_t m2 = ops->pct_pass(src, m, 0, lo_p, hi_p, dst, &below, &has_nan);
        if (!(below <= k && k + (size_t)need_next < below + m2)) break; /* missed: src is untouched */
        k -= below;
        if (lo_p == hi_p) { /* every value in the band is the pivot */
            *va = lo_p;
            if (need_next) *vb = lo_p;
            return;
        }
        const int shrank = m2 <= m / 2;
        src = dst;
        m = m2;
        if (!shrank) break; /* heavy ties around the pivots: finish exactly */
    }
    quickselect(src, m, k);
    *va = src[k];
    if (need_next) {
        /* everything after k is >= va, so the next rank is their minimum */
        float b = src[k + 1];
        for (size_t i = k + 2; i < m; i++)
            if (src[i] < b) b = src[i];
        *vb = b;
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
    if (n >= PCT_SAMPLE_MIN_N && sample_pivots(a, n, use_abs, lo, hi, &lo_p, &hi_p))
        return NAN; /* any NaN makes the answer NaN */

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
        int has_nan = 0;
        const size_t m = ops->pct_pass(a, n, use_abs, lo_p, hi_p, scratch, &below, &has_nan);
        if (has_nan) break;
        if (below <= lo && hi < below + m) {
            select_ranks(ops, scratch, m, n, lo - below, hi != lo, &va, &vb);
            if (hi == lo) vb = va;
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
