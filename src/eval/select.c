/* Selections and the deletion-curve order share one ranking: decreasing
 * value, ties by a seeded pseudo-random key per pixel. Keys are recomputed
 * rather than stored so nothing here allocates or can fail. */
#include <math.h>
#include <string.h>

#include "gad/eval.h"
#include "core/mix.h"

/* Order-preserving map of floats onto unsigned integers; NaN lowest. */
static uint32_t value_key(float f) {
    if (isnan(f)) return 0;
    if (f == 0.0f) f = 0.0f; /* -0 ranks with +0 */
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

/* Injective in i (odd multiplier, bijective mixer): tie keys never collide,
 * so the ranking is a strict total order. */
static uint64_t tie_key(uint64_t seed, size_t i) {
    return gad_mix64(seed + ((uint64_t)i + 1) * 0x9E3779B97F4A7C15ull);
}

static size_t count_at_least(const float *map, size_t n, uint64_t t) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += value_key(map[i]) >= t;
    return c;
}

size_t gad_select_top(uint8_t *mask, const float *map, size_t n, size_t count, uint64_t seed) {
    if (count >= n) {
        memset(mask, 1, n);
        return n;
    }
    memset(mask, 0, n);
    if (count == 0) return 0;
    /* The count-th largest value key, by bisection on the key space. */
    uint64_t lo = 0, hi = UINT32_MAX;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (count_at_least(map, n, mid) >= count) lo = mid;
        else hi = mid - 1;
    }
    uint32_t t = (uint32_t)lo;
    size_t above = t == UINT32_MAX ? 0 : count_at_least(map, n, (uint64_t)t + 1);
    size_t need = count - above;
    /* Among the ties at t, the `need` smallest tie keys. */
    uint64_t klo = 0, khi = UINT64_MAX;
    while (klo < khi) {
        uint64_t mid = klo + (khi - klo) / 2, c = 0;
        for (size_t i = 0; i < n; i++) c += value_key(map[i]) == t && tie_key(seed, i) <= mid;
        if (c >= need) khi = mid;
        else klo = mid + 1;
    }
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t k = value_key(map[i]);
        mask[i] = k > t || (k == t && tie_key(seed, i) <= klo);
        got += mask[i];
    }
    return got;
}

size_t gad_select_top_share(uint8_t *mask, const float *map, size_t n, double tau,
                            uint64_t seed) {
    if (!(tau > 0)) tau = 0; /* also NaN */
    if (tau > 1) tau = 1;
    gad_select_top(mask, map, n, gad_budget_pixels(tau, n), seed);
    /* Positive values rank above all others, so dropping the rest leaves
     * the top of the positive ones. */
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        if (mask[i] && !(map[i] > 0)) mask[i] = 0;
        got += mask[i];
    }
    return got;
}

static uint64_t next_u64(uint64_t *s) {
    *s += 0x9E3779B97F4A7C15ull;
    return gad_mix64(*s);
}

size_t gad_select_random(uint8_t *mask, const uint8_t *informative, size_t n, size_t count,
                         uint64_t seed) {
    size_t avail = 0;
    for (size_t i = 0; i < n; i++) avail += informative[i] != 0;
    if (avail <= count) {
        for (size_t i = 0; i < n; i++) mask[i] = informative[i] != 0;
        return avail;
    }
    /* Selection sampling (Knuth's Algorithm S): one pass, each of the
     * C(avail, count) subsets equally likely, exactly count taken. */
    uint64_t s = seed;
    size_t need = count, left = avail;
    for (size_t i = 0; i < n; i++) {
        mask[i] = 0;
        if (!informative[i]) continue;
        double u = (double)(next_u64(&s) >> 11) * 0x1.0p-53;
        if (u * (double)left < (double)need) {
            mask[i] = 1;
            need--;
        }
        left--;
    }
    return count;
}

/* a comes after b in the ranking. */
static int later(const float *map, uint64_t seed, size_t a, size_t b) {
    uint32_t ka = value_key(map[a]), kb = value_key(map[b]);
    if (ka != kb) return ka < kb;
    return tie_key(seed, a) > tie_key(seed, b);
}

static void sift_down(size_t *o, size_t root, size_t end, const float *map, uint64_t seed) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= end) return;
        if (child + 1 < end && later(map, seed, o[child + 1], o[child])) child++;
        if (!later(map, seed, o[child], o[root])) return;
        size_t t = o[root];
        o[root] = o[child];
        o[child] = t;
        root = child;
    }
}

void gad_curve_order(size_t *order, const float *map, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) order[i] = i;
    if (n < 2) return;
    for (size_t i = n / 2; i-- > 0;) sift_down(order, i, n, map, seed);
    for (size_t end = n - 1; end > 0; end--) {
        size_t t = order[0];
        order[0] = order[end];
        order[end] = t;
        sift_down(order, 0, end, map, seed);
    }
}
