/* Plain C twins of the AVX2 kernels. They run on any CPU and define the
 * results: the AVX2 versions perform the same IEEE operations in the same
 * order per element, so both give the same bits (see gad/simd.h). fmaf is
 * used wherever the AVX2 twin uses an FMA instruction; -std=c11 keeps the
 * compiler from contracting a*b+c on its own (-ffp-contract=off). */
#include <math.h>

#include "gad/simd.h"
#include "simd_internal.h"

static void sc_accumulate(float *acc, const float *grads, const float *weights, int count,
                          size_t n) {
    /* j outer keeps both streams sequential; the per-element order is still
     * j ascending, as the AVX2 twin does it. */
    for (int j = 0; j < count; j++) {
        const float w = weights[j];
        const float *g = grads + (size_t)j * n;
        for (size_t i = 0; i < n; i++) acc[i] = fmaf(w, g[i], acc[i]);
    }
}

static void sc_ig_finish(float *out, const float *x, const float *baseline, const float *acc,
                         float scale, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ((x[i] - baseline[i]) * acc[i]) * scale;
}

static void sc_mul(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i];
}

static void sc_abs(float *out, const float *a, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = fabsf(a[i]);
}

static void sc_accumulate_sq(float *acc, float *acc_sq, const float *g, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const float v = g[i];
        acc[i] += v;
        acc_sq[i] = fmaf(v, v, acc_sq[i]);
    }
}

static void sc_scale(float *out, const float *a, float s, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] * s;
}

static void sc_reduce_channels(float *out, const float *in, int c, size_t hw, int mode) {
    if (c <= 0 || mode < GAD_REDUCE_MEAN || mode > GAD_REDUCE_L2) {
        for (size_t p = 0; p < hw; p++) out[p] = 0.0f;
        return;
    }
    /* Channel-outer so every plane is read sequentially; out holds the
     * running sums, which keeps the per-pixel order channel-ascending. */
    for (size_t p = 0; p < hw; p++) {
        const float v = in[p];
        out[p] = mode == GAD_REDUCE_ABSSUM ? fabsf(v) : mode == GAD_REDUCE_L2 ? v * v : v;
    }
    for (int ch = 1; ch < c; ch++) {
        const float *plane = in + (size_t)ch * hw;
        switch (mode) {
        case GAD_REDUCE_ABSSUM:
            for (size_t p = 0; p < hw; p++) out[p] += fabsf(plane[p]);
            break;
        case GAD_REDUCE_L2:
            for (size_t p = 0; p < hw; p++) out[p] = fmaf(plane[p], plane[p], out[p]);
            break;
        default:
            for (size_t p = 0; p < hw; p++) out[p] += plane[p];
            break;
        }
    }
    if (mode == GAD_REDUCE_MEAN) {
        const float fc = (float)c;
        for (size_t p = 0; p < hw; p++) out[p] /= fc;
    } else if (mode == GAD_REDUCE_L2) {
        for (size_t p = 0; p < hw; p++) out[p] = sqrtf(out[p]);
    }
}

static void sc_minmax(const float *a, size_t n, float *mn, float *mx) {
    float lo = INFINITY, hi = -INFINITY;
    /* A NaN fails both comparisons, so it is skipped. */
    for (size_t i = 0; i < n; i++) {
        if (a[i] < lo) lo = a[i];
        if (a[i] > hi) hi = a[i];
    }
    if (lo > hi) lo = hi = NAN; /* nothing but NaNs (or nothing) seen */
    *mn = lo;
    *mx = hi;
}

static float sc_absmax(const float *a, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        const float v = fabsf(a[i]);
        if (v > m) m = v;
    }
    return m;
}

static size_t sc_pct_pass(const float *a, size_t n, int use_abs, float lo, float hi, float *mid,
                          size_t *below, int *has_nan) {
    size_t m = 0, nb = 0;
    int nan = 0;
    for (size_t i = 0; i < n; i++) {
        const float x = use_abs ? fabsf(a[i]) : a[i];
        nan |= x != x;
        nb += x < lo;
        /* Branch-free compaction: always write, advance only on a hit. The
         * slot m <= i is inside the n-float buffer. */
        mid[m] = x;
        m += (x >= lo) & (x <= hi);
    }
    *below = nb;
    *has_nan = nan;
    return m;
}

static size_t sc_threshold_mask(uint8_t *mask, const float *a, float t, size_t n) {
    size_t ones = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t b = a[i] >= t; /* false for NaN */
        mask[i] = b;
        ones += b;
    }
    return ones;
}

static void sc_count_votes(uint8_t *votes, const uint8_t *mask, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const unsigned v = (unsigned)votes[i] + mask[i];
        votes[i] = (uint8_t)(v > 255u ? 255u : v);
    }
}

static void sc_fuse_mean(float *out, const float *const *maps, int k, const uint8_t *votes,
                         int min_votes, size_t n) {
    if (k <= 0) {
        for (size_t i = 0; i < n; i++) out[i] = 0.0f;
        return;
    }
    const float fk = (float)k;
    for (size_t i = 0; i < n; i++) {
        if (min_votes > 0 && votes[i] < min_votes) {
            out[i] = 0.0f;
            continue;
        }
        float s = maps[0][i];
        for (int j = 1; j < k; j++) s += maps[j][i];
        out[i] = s / fk;
    }
}

const gad_simd_ops gad_simd_scalar_ops = {
    .name = "scalar",
    .accumulate = sc_accumulate,
    .ig_finish = sc_ig_finish,
    .mul = sc_mul,
    .absv = sc_abs,
    .accumulate_sq = sc_accumulate_sq,
    .scale = sc_scale,
    .reduce_channels = sc_reduce_channels,
    .minmax = sc_minmax,
    .absmax = sc_absmax,
    .pct_pass = sc_pct_pass,
    .threshold_mask = sc_threshold_mask,
    .count_votes = sc_count_votes,
    .fuse_mean = sc_fuse_mean,
};
