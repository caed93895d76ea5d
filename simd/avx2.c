/* AVX2 + FMA kernels. Each function carries its own target attribute, so the
 * rest of the library is built for the baseline CPU and this code only runs
 * after simd/dispatch.c has seen AVX2 and FMA on the CPU.
 *
 * Every kernel does, per element, exactly the IEEE operations of its twin in
 * simd/scalar.c in the same order (vector lanes are independent elements),
 * which is why the twins agree bit for bit; only min/max reductions combine
 * lanes, and those are order-free up to the sign of a zero. Loops run two or
 * four vectors per iteration for the streaming kernels, then one vector, then
 * a scalar epilogue for what is left (n % 8 elements; n % 32 for the byte
 * kernels, whose block is 32 elements). In the epilogues fmaf compiles to the
 * FMA instruction under this target, matching the vector lanes. */
#include "gad/simd.h"
#include "simd_internal.h"

#if GAD_SIMD_HAVE_X86

#include <immintrin.h>
#include <math.h>

/* popcnt comes with every AVX2 CPU; dispatch checks it anyway. */
#define GAD_AVX2 __attribute__((target("avx2,fma,popcnt")))

GAD_AVX2 static inline __m256 abs8(__m256 v) {
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

GAD_AVX2 static void av_accumulate(float *acc, const float *grads, const float *weights,
                                   int count, size_t n) {
    if (count <= 0) return;
    /* Element-block outer, steps inner: the 32 running sums stay in
     * registers over all `count` steps and acc is read and written once. */
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 s0 = _mm256_loadu_ps(acc + i), s1 = _mm256_loadu_ps(acc + i + 8);
        __m256 s2 = _mm256_loadu_ps(acc + i + 16), s3 = _mm256_loadu_ps(acc + i + 24);
        for (int j = 0; j < count; j++) {
            const float *g = grads + (size_t)j * n + i;
            const __m256 w = _mm256_set1_ps(weights[j]);
            s0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(g), s0);
            s1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(g + 8), s1);
            s2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(g + 16), s2);
            s3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(g + 24), s3);
        }
        _mm256_storeu_ps(acc + i, s0);
        _mm256_storeu_ps(acc + i + 8, s1);
        _mm256_storeu_ps(acc + i + 16, s2);
        _mm256_storeu_ps(acc + i + 24, s3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 s = _mm256_loadu_ps(acc + i);
        for (int j = 0; j < count; j++)
            s = _mm256_fmadd_ps(_mm256_set1_ps(weights[j]),
                                _mm256_loadu_ps(grads + (size_t)j * n + i), s);
        _mm256_storeu_ps(acc + i, s);
    }
    for (; i < n; i++) {
        float s = acc[i];
        for (int j = 0; j < count; j++) s = fmaf(weights[j], grads[(size_t)j * n + i], s);
        acc[i] = s;
    }
}

GAD_AVX2 static void av_ig_finish(float *out, const float *x, const float *baseline,
                                  const float *acc, float scale, size_t n) {
    const __m256 sc = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(baseline + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(baseline + i + 8));
        d0 = _mm256_mul_ps(_mm256_mul_ps(d0, _mm256_loadu_ps(acc + i)), sc);
        d1 = _mm256_mul_ps(_mm256_mul_ps(d1, _mm256_loadu_ps(acc + i + 8)), sc);
        _mm256_storeu_ps(out + i, d0);
        _mm256_storeu_ps(out + i + 8, d1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(baseline + i));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(d, _mm256_loadu_ps(acc + i)), sc));
    }
    for (; i < n; i++) out[i] = ((x[i] - baseline[i]) * acc[i]) * scale;
}

GAD_AVX2 static void av_mul(float *out, const float *a, const float *b, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 p0 = _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        const __m256 p1 = _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        _mm256_storeu_ps(out + i, p0);
        _mm256_storeu_ps(out + i + 8, p1);
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; i++) out[i] = a[i] * b[i];
}

GAD_AVX2 static void av_abs(float *out, const float *a, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 v0 = abs8(_mm256_loadu_ps(a + i)), v1 = abs8(_mm256_loadu_ps(a + i + 8));
        _mm256_storeu_ps(out + i, v0);
        _mm256_storeu_ps(out + i + 8, v1);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, abs8(_mm256_loadu_ps(a + i)));
    for (; i < n; i++) out[i] = fabsf(a[i]);
}

GAD_AVX2 static void av_accumulate_sq(float *acc, float *acc_sq, const float *g, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 g0 = _mm256_loadu_ps(g + i), g1 = _mm256_loadu_ps(g + i + 8);
        const __m256 a0 = _mm256_add_ps(_mm256_loadu_ps(acc + i), g0);
        const __m256 a1 = _mm256_add_ps(_mm256_loadu_ps(acc + i + 8), g1);
        const __m256 q0 = _mm256_fmadd_ps(g0, g0, _mm256_loadu_ps(acc_sq + i));
        const __m256 q1 = _mm256_fmadd_ps(g1, g1, _mm256_loadu_ps(acc_sq + i + 8));
        _mm256_storeu_ps(acc + i, a0);
        _mm256_storeu_ps(acc + i + 8, a1);
        _mm256_storeu_ps(acc_sq + i, q0);
        _mm256_storeu_ps(acc_sq + i + 8, q1);
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 g0 = _mm256_loadu_ps(g + i);
        _mm256_storeu_ps(acc + i, _mm256_add_ps(_mm256_loadu_ps(acc + i), g0));
        _mm256_storeu_ps(acc_sq + i, _mm256_fmadd_ps(g0, g0, _mm256_loadu_ps(acc_sq + i)));
    }
    for (; i < n; i++) {
        const float v = g[i];
        acc[i] += v;
        acc_sq[i] = fmaf(v, v, acc_sq[i]);
    }
}

GAD_AVX2 static void av_scale(float *out, const float *a, float s, size_t n) {
    const __m256 sv = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 p0 = _mm256_mul_ps(_mm256_loadu_ps(a + i), sv);
        const __m256 p1 = _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), sv);
        _mm256_storeu_ps(out + i, p0);
        _mm256_storeu_ps(out + i + 8, p1);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), sv));
    for (; i < n; i++) out[i] = a[i] * s;
}

/* One vector of pixels reduced over all channels; the running sum stays in a
 * register instead of going through out as in the scalar twin. */
GAD_AVX2 static inline __m256 reduce8(const float *in, int c, size_t hw, int mode) {
    __m256 v = _mm256_loadu_ps(in);
    __m256 s = mode == GAD_REDUCE_ABSSUM ? abs8(v) : mode == GAD_REDUCE_L2 ? _mm256_mul_ps(v, v) : v;
    for (int ch = 1; ch < c; ch++) {
        v = _mm256_loadu_ps(in + (size_t)ch * hw);
        if (mode == GAD_REDUCE_ABSSUM)
            s = _mm256_add_ps(s, abs8(v));
        else if (mode == GAD_REDUCE_L2)
            s = _mm256_fmadd_ps(v, v, s);
        else
            s = _mm256_add_ps(s, v);
    }
    if (mode == GAD_REDUCE_MEAN) s = _mm256_div_ps(s, _mm256_set1_ps((float)c));
    if (mode == GAD_REDUCE_L2) s = _mm256_sqrt_ps(s);
    return s;
}

GAD_AVX2 static void av_reduce_channels(float *out, const float *in, int c, size_t hw, int mode) {
    if (c <= 0 || mode < GAD_REDUCE_MEAN || mode > GAD_REDUCE_L2) {
        size_t i = 0;
        for (; i + 8 <= hw; i += 8) _mm256_storeu_ps(out + i, _mm256_setzero_ps());
        for (; i < hw; i++) out[i] = 0.0f;
        return;
    }
    size_t p = 0;
    for (; p + 8 <= hw; p += 8) _mm256_storeu_ps(out + p, reduce8(in + p, c, hw, mode));
    for (; p < hw; p++) {
        float v = in[p];
        float s = mode == GAD_REDUCE_ABSSUM ? fabsf(v) : mode == GAD_REDUCE_L2 ? v * v : v;
        for (int ch = 1; ch < c; ch++) {
            v = in[(size_t)ch * hw + p];
            if (mode == GAD_REDUCE_ABSSUM)
                s += fabsf(v);
            else if (mode == GAD_REDUCE_L2)
                s = fmaf(v, v, s);
            else
                s += v;
        }
        if (mode == GAD_REDUCE_MEAN) s /= (float)c;
        if (mode == GAD_REDUCE_L2) s = sqrtf(s);
        out[p] = s;
    }
}

GAD_AVX2 static inline float hmin8(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

GAD_AVX2 static inline float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

/* minps/maxps return their second operand when either is NaN, so putting the
 * data first and the accumulator second skips NaNs without extra work. */
GAD_AVX2 static void av_minmax(const float *a, size_t n, float *mn, float *mx) {
    __m256 lo0 = _mm256_set1_ps(INFINITY), lo1 = lo0;
    __m256 hi0 = _mm256_set1_ps(-INFINITY), hi1 = hi0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 v0 = _mm256_loadu_ps(a + i), v1 = _mm256_loadu_ps(a + i + 8);
        lo0 = _mm256_min_ps(v0, lo0);
        lo1 = _mm256_min_ps(v1, lo1);
        hi0 = _mm256_max_ps(v0, hi0);
        hi1 = _mm256_max_ps(v1, hi1);
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(a + i);
        lo0 = _mm256_min_ps(v, lo0);
        hi0 = _mm256_max_ps(v, hi0);
    }
    float lo = hmin8(_mm256_min_ps(lo0, lo1)), hi = hmax8(_mm256_max_ps(hi0, hi1));
    for (; i < n; i++) {
        if (a[i] < lo) lo = a[i];
        if (a[i] > hi) hi = a[i];
    }
    if (lo > hi) lo = hi = NAN;
    *mn = lo;
    *mx = hi;
}

GAD_AVX2 static float av_absmax(const float *a, size_t n) {
    __m256 m0 = _mm256_setzero_ps(), m1 = m0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(abs8(_mm256_loadu_ps(a + i)), m0);
        m1 = _mm256_max_ps(abs8(_mm256_loadu_ps(a + i + 8)), m1);
    }
    for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(abs8(_mm256_loadu_ps(a + i)), m0);
    float m = hmax8(_mm256_max_ps(m0, m1));
    for (; i < n; i++) {
        const float v = fabsf(a[i]);
        if (v > m) m = v;
    }
    return m;
}

/* For an 8-bit lane mask, the indices of the set lanes in ascending order,
 * one per nibble from the lowest: a permutation that packs the selected lanes
 * to the front of a vector (the AVX-512 "compress" AVX2 lacks). Generated by
 * a three-line loop over the bits of the index. */
static const uint32_t compress_lut[256] = {
    0x00000000u, 0x00000000u, 0x00000001u, 0x00000010u, 0x00000002u, 0x00000020u, 0x00000021u, 0x00000210u,
    0x00000003u, 0x00000030u, 0x00000031u, 0x00000310u, 0x00000032u, 0x00000320u, 0x00000321u, 0x00003210u,
    0x00000004u, 0x00000040u, 0x00000041u, 0x00000410u, 0x00000042u, 0x00000420u, 0x00000421u, 0x00004210u,
    0x00000043u, 0x00000430u, 0x00000431u, 0x00004310u, 0x00000432u, 0x00004320u, 0x00004321u, 0x00043210u,
    0x00000005u, 0x00000050u, 0x00000051u, 0x00000510u, 0x00000052u, 0x00000520u, 0x00000521u, 0x00005210u,
    0x00000053u, 0x00000530u, 0x00000531u, 0x00005310u, 0x00000532u, 0x00005320u, 0x00005321u, 0x00053210u,
    0x00000054u, 0x00000540u, 0x00000541u, 0x00005410u, 0x00000542u, 0x00005420u, 0x00005421u, 0x00054210u,
    0x00000543u, 0x00005430u, 0x00005431u, 0x00054310u, 0x00005432u, 0x00054320u, 0x00054321u, 0x00543210u,
    0x00000006u, 0x00000060u, 0x00000061u, 0x00000610u, 0x00000062u, 0x00000620u, 0x00000621u, 0x00006210u,
    0x00000063u, 0x00000630u, 0x00000631u, 0x00006310u, 0x00000632u, 0x00006320u, 0x00006321u, 0x00063210u,
    0x00000064u, 0x00000640u, 0x00000641u, 0x00006410u, 0x00000642u, 0x00006420u, 0x00006421u, 0x00064210u,
    0x00000643u, 0x00006430u, 0x00006431u, 0x00064310u, 0x00006432u, 0x00064320u, 0x00064321u, 0x00643210u,
    0x00000065u, 0x00000650u, 0x00000651u, 0x00006510u, 0x00000652u, 0x00006520u, 0x00006521u, 0x00065210u,
    0x00000653u, 0x00006530u, 0x00006531u, 0x00065310u, 0x00006532u, 0x00065320u, 0x00065321u, 0x00653210u,
    0x00000654u, 0x00006540u, 0x00006541u, 0x00065410u, 0x00006542u, 0x00065420u, 0x00065421u, 0x00654210u,
    0x00006543u, 0x00065430u, 0x00065431u, 0x00654310u, 0x00065432u, 0x00654320u, 0x00654321u, 0x06543210u,
    0x00000007u, 0x00000070u, 0x00000071u, 0x00000710u, 0x00000072u, 0x00000720u, 0x00000721u, 0x00007210u,
    0x00000073u, 0x00000730u, 0x00000731u, 0x00007310u, 0x00000732u, 0x00007320u, 0x00007321u, 0x00073210u,
    0x00000074u, 0x00000740u, 0x00000741u, 0x00007410u, 0x00000742u, 0x00007420u, 0x00007421u, 0x00074210u,
    0x00000743u, 0x00007430u, 0x00007431u, 0x00074310u, 0x00007432u, 0x00074320u, 0x00074321u, 0x00743210u,
    0x00000075u, 0x00000750u, 0x00000751u, 0x00007510u, 0x00000752u, 0x00007520u, 0x00007521u, 0x00075210u,
    0x00000753u, 0x00007530u, 0x00007531u, 0x00075310u, 0x00007532u, 0x00075320u, 0x00075321u, 0x00753210u,
    0x00000754u, 0x00007540u, 0x00007541u, 0x00075410u, 0x00007542u, 0x00075420u, 0x00075421u, 0x00754210u,
    0x00007543u, 0x00075430u, 0x00075431u, 0x00754310u, 0x00075432u, 0x00754320u, 0x00754321u, 0x07543210u,
    0x00000076u, 0x00000760u, 0x00000761u, 0x00007610u, 0x00000762u, 0x00007620u, 0x00007621u, 0x00076210u,
    0x00000763u, 0x00007630u, 0x00007631u, 0x00076310u, 0x00007632u, 0x00076320u, 0x00076321u, 0x00763210u,
    0x00000764u, 0x00007640u, 0x00007641u, 0x00076410u, 0x00007642u, 0x00076420u, 0x00076421u, 0x00764210u,
    0x00007643u, 0x00076430u, 0x00076431u, 0x00764310u, 0x00076432u, 0x00764320u, 0x00764321u, 0x07643210u,
    0x00000765u, 0x00007650u, 0x00007651u, 0x00076510u, 0x00007652u, 0x00076520u, 0x00076521u, 0x00765210u,
    0x00007653u, 0x00076530u, 0x00076531u, 0x00765310u, 0x00076532u, 0x00765320u, 0x00765321u, 0x07653210u,
    0x00007654u, 0x00076540u, 0x00076541u, 0x00765410u, 0x00076542u, 0x00765420u, 0x00765421u, 0x07654210u,
    0x00076543u, 0x00765430u, 0x00765431u, 0x07654310u, 0x00765432u, 0x07654320u, 0x07654321u, 0x76543210u,
};

GAD_AVX2 static size_t av_pct_pass(const float *a, size_t n, int use_abs, float lo, float hi,
                                   float *mid, size_t *below, float *min_above, int *has_nan) {
    const __m256 lov = _mm256_set1_ps(lo), hiv = _mm256_set1_ps(hi), inf = _mm256_set1_ps(INFINITY);
    const __m256 signless = use_abs ? _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))
                                    : _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    __m256 ma = inf, nanacc = _mm256_setzero_ps();
    size_t m = 0, nb = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_and_ps(_mm256_loadu_ps(a + i), signless);
        nanacc = _mm256_or_ps(nanacc, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
        const __m256 lt = _mm256_cmp_ps(x, lov, _CMP_LT_OQ);
        const __m256 gt = _mm256_cmp_ps(x, hiv, _CMP_GT_OQ);
        nb += (size_t)__builtin_popcount((unsigned)_mm256_movemask_ps(lt));
        ma = _mm256_min_ps(_mm256_blendv_ps(inf, x, gt), ma);
        /* lo <= x <= hi, ordered: false for NaN like the scalar twin. */
        const __m256 in = _mm256_and_ps(_mm256_cmp_ps(x, lov, _CMP_GE_OQ),
                                        _mm256_cmp_ps(x, hiv, _CMP_LE_OQ));
        const unsigned bits = (unsigned)_mm256_movemask_ps(in);
        if (bits == 0xffu) {
            _mm256_storeu_ps(mid + m, x);
            m += 8;
        } else if (bits) {
            /* The full 8-float store ends at mid + m + 8 <= mid + i + 8 <= mid + n. */
            const __m256i idx = _mm256_and_si256(
                _mm256_srlv_epi32(_mm256_set1_epi32((int)compress_lut[bits]), shifts),
                _mm256_set1_epi32(15));
            _mm256_storeu_ps(mid + m, _mm256_permutevar8x32_ps(x, idx));
            m += (size_t)__builtin_popcount(bits);
        }
    }
    float mav = hmin8(ma);
    int nan = _mm256_movemask_ps(nanacc) != 0;
    for (; i < n; i++) {
        const float x = use_abs ? fabsf(a[i]) : a[i];
        nan |= x != x;
        nb += x < lo;
        if (x > hi && x < mav) mav = x;
        mid[m] = x;
        m += (x >= lo) & (x <= hi);
    }
    *below = nb;
    *min_above = mav;
    *has_nan = nan;
    return m;
}

GAD_AVX2 static size_t av_threshold_mask(uint8_t *mask, const float *a, float t, size_t n) {
    const __m256 tv = _mm256_set1_ps(t);
    const __m256i one = _mm256_set1_epi8(1);
    /* packs interleaves the 128-bit lanes; this puts the 4-byte groups back
     * into element order. */
    const __m256i unshuffle = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i ones = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256i c0 = _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(a + i), tv, _CMP_GE_OQ));
        const __m256i c1 = _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(a + i + 8), tv, _CMP_GE_OQ));
        const __m256i c2 = _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(a + i + 16), tv, _CMP_GE_OQ));
        const __m256i c3 = _mm256_castps_si256(_mm256_cmp_ps(_mm256_loadu_ps(a + i + 24), tv, _CMP_GE_OQ));
        /* -1/0 words saturate to -1/0 bytes. */
        __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
        b = _mm256_and_si256(_mm256_permutevar8x32_epi32(b, unshuffle), one);
        _mm256_storeu_si256((__m256i *)(void *)(mask + i), b);
        /* Byte sums in four 64-bit lanes; each lane adds at most 8 per block. */
        ones = _mm256_add_epi64(ones, _mm256_sad_epu8(b, _mm256_setzero_si256()));
    }
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(ones), _mm256_extracti128_si256(ones, 1));
    size_t count = (size_t)_mm_cvtsi128_si64(s) + (size_t)_mm_extract_epi64(s, 1);
    for (; i < n; i++) {
        const uint8_t bit = a[i] >= t;
        mask[i] = bit;
        count += bit;
    }
    return count;
}

GAD_AVX2 static void av_count_votes(uint8_t *votes, const uint8_t *mask, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(votes + i));
        const __m256i m = _mm256_loadu_si256((const __m256i *)(const void *)(mask + i));
        _mm256_storeu_si256((__m256i *)(void *)(votes + i), _mm256_adds_epu8(v, m));
    }
    for (; i < n; i++) {
        const unsigned v = (unsigned)votes[i] + mask[i];
        votes[i] = (uint8_t)(v > 255u ? 255u : v);
    }
}

GAD_AVX2 static void av_fuse_mean(float *out, const float *const *maps, int k,
                                  const uint8_t *votes, int min_votes, size_t n) {
    size_t i = 0;
    if (k <= 0) {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_setzero_ps());
        for (; i < n; i++) out[i] = 0.0f;
        return;
    }
    const float fk = (float)k;
    const __m256 kv = _mm256_set1_ps(fk);
    /* votes >= min_votes as votes > min_votes - 1 on 32-bit lanes; only
     * formed when min_votes > 0, so the subtraction cannot overflow. */
    const __m256i thr = _mm256_set1_epi32(min_votes > 0 ? min_votes - 1 : 0);
    for (; i + 8 <= n; i += 8) {
        __m256 s = _mm256_loadu_ps(maps[0] + i);
        for (int j = 1; j < k; j++) s = _mm256_add_ps(s, _mm256_loadu_ps(maps[j] + i));
        s = _mm256_div_ps(s, kv);
        if (min_votes > 0) {
            const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(votes + i)));
            /* And-ing with an all-zero mask yields +0.0f, the scalar twin's 0. */
            s = _mm256_and_ps(s, _mm256_castsi256_ps(_mm256_cmpgt_epi32(v, thr)));
        }
        _mm256_storeu_ps(out + i, s);
    }
    for (; i < n; i++) {
        if (min_votes > 0 && votes[i] < min_votes) {
            out[i] = 0.0f;
            continue;
        }
        float s = maps[0][i];
        for (int j = 1; j < k; j++) s += maps[j][i];
        out[i] = s / fk;
    }
}

const gad_simd_ops gad_simd_avx2_ops = {
    .name = "avx2",
    .accumulate = av_accumulate,
    .ig_finish = av_ig_finish,
    .mul = av_mul,
    .absv = av_abs,
    .accumulate_sq = av_accumulate_sq,
    .scale = av_scale,
    .reduce_channels = av_reduce_channels,
    .minmax = av_minmax,
    .absmax = av_absmax,
    .pct_pass = av_pct_pass,
    .threshold_mask = av_threshold_mask,
    .count_votes = av_count_votes,
    .fuse_mean = av_fuse_mean,
};

#endif /* GAD_SIMD_HAVE_X86 */
