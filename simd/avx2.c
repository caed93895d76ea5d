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
 * one per byte from the lowest (unused bytes 0): a permutation that packs
 * the selected lanes to the front of a vector (the AVX-512 "compress" AVX2
 * lacks); one zero-extending load turns an entry into the permute's index
 * vector. Generated by a three-line loop over the bits of the index. */
static const uint64_t compress_lut[256] = {
    0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000001ull, 0x0000000000000100ull,
    0x0000000000000002ull, 0x0000000000000200ull, 0x0000000000000201ull, 0x0000000000020100ull,
    0x0000000000000003ull, 0x0000000000000300ull, 0x0000000000000301ull, 0x0000000000030100ull,
    0x0000000000000302ull, 0x0000000000030200ull, 0x0000000000030201ull, 0x0000000003020100ull,
    0x0000000000000004ull, 0x0000000000000400ull, 0x0000000000000401ull, 0x0000000000040100ull,
    0x0000000000000402ull, 0x0000000000040200ull, 0x0000000000040201ull, 0x0000000004020100ull,
    0x0000000000000403ull, 0x0000000000040300ull, 0x0000000000040301ull, 0x0000000004030100ull,
    0x0000000000040302ull, 0x0000000004030200ull, 0x0000000004030201ull, 0x0000000403020100ull,
    0x0000000000000005ull, 0x0000000000000500ull, 0x0000000000000501ull, 0x0000000000050100ull,
    0x0000000000000502ull, 0x0000000000050200ull, 0x0000000000050201ull, 0x0000000005020100ull,
    0x0000000000000503ull, 0x0000000000050300ull, 0x0000000000050301ull, 0x0000000005030100ull,
    0x0000000000050302ull, 0x0000000005030200ull, 0x0000000005030201ull, 0x0000000503020100ull,
    0x0000000000000504ull, 0x0000000000050400ull, 0x0000000000050401ull, 0x0000000005040100ull,
    0x0000000000050402ull, 0x0000000005040200ull, 0x0000000005040201ull, 0x0000000504020100ull,
    0x0000000000050403ull, 0x0000000005040300ull, 0x0000000005040301ull, 0x0000000504030100ull,
    0x0000000005040302ull, 0x0000000504030200ull, 0x0000000504030201ull, 0x0000050403020100ull,
    0x0000000000000006ull, 0x0000000000000600ull, 0x0000000000000601ull, 0x0000000000060100ull,
    0x0000000000000602ull, 0x0000000000060200ull, 0x0000000000060201ull, 0x0000000006020100ull,
    0x0000000000000603ull, 0x0000000000060300ull, 0x0000000000060301ull, 0x0000000006030100ull,
    0x0000000000060302ull, 0x0000000006030200ull, 0x0000000006030201ull, 0x0000000603020100ull,
    0x0000000000000604ull, 0x0000000000060400ull, 0x0000000000060401ull, 0x0000000006040100ull,
    0x0000000000060402ull, 0x0000000006040200ull, 0x0000000006040201ull, 0x0000000604020100ull,
    0x0000000000060403ull, 0x0000000006040300ull, 0x0000000006040301ull, 0x0000000604030100ull,
    0x0000000006040302ull, 0x0000000604030200ull, 0x0000000604030201ull, 0x0000060403020100ull,
    0x0000000000000605ull, 0x0000000000060500ull, 0x0000000000060501ull, 0x0000000006050100ull,
    0x0000000000060502ull, 0x0000000006050200ull, 0x0000000006050201ull, 0x0000000605020100ull,
    0x0000000000060503ull, 0x0000000006050300ull, 0x0000000006050301ull, 0x0000000605030100ull,
    0x0000000006050302ull, 0x0000000605030200ull, 0x0000000605030201ull, 0x0000060503020100ull,
    0x0000000000060504ull, 0x0000000006050400ull, 0x0000000006050401ull, 0x0000000605040100ull,
    0x0000000006050402ull, 0x0000000605040200ull, 0x0000000605040201ull, 0x0000060504020100ull,
    0x0000000006050403ull, 0x0000000605040300ull, 0x0000000605040301ull, 0x0000060504030100ull,
    0x0000000605040302ull, 0x0000060504030200ull, 0x0000060504030201ull, 0x0006050403020100ull,
    0x0000000000000007ull, 0x0000000000000700ull, 0x0000000000000701ull, 0x0000000000070100ull,
    0x0000000000000702ull, 0x0000000000070200ull, 0x0000000000070201ull, 0x0000000007020100ull,
    0x0000000000000703ull, 0x0000000000070300ull, 0x0000000000070301ull, 0x0000000007030100ull,
    0x0000000000070302ull, 0x0000000007030200ull, 0x0000000007030201ull, 0x0000000703020100ull,
    0x0000000000000704ull, 0x0000000000070400ull, 0x0000000000070401ull, 0x0000000007040100ull,
    0x0000000000070402ull, 0x0000000007040200ull, 0x0000000007040201ull, 0x0000000704020100ull,
    0x0000000000070403ull, 0x0000000007040300ull, 0x0000000007040301ull, 0x0000000704030100ull,
    0x0000000007040302ull, 0x0000000704030200ull, 0x0000000704030201ull, 0x0000070403020100ull,
    0x0000000000000705ull, 0x0000000000070500ull, 0x0000000000070501ull, 0x0000000007050100ull,
    0x0000000000070502ull, 0x0000000007050200ull, 0x0000000007050201ull, 0x0000000705020100ull,
    0x0000000000070503ull, 0x0000000007050300ull, 0x0000000007050301ull, 0x0000000705030100ull,
    0x0000000007050302ull, 0x0000000705030200ull, 0x0000000705030201ull, 0x0000070503020100ull,
    0x0000000000070504ull, 0x0000000007050400ull, 0x0000000007050401ull, 0x0000000705040100ull,
    0x0000000007050402ull, 0x0000000705040200ull, 0x0000000705040201ull, 0x0000070504020100ull,
    0x0000000007050403ull, 0x0000000705040300ull, 0x0000000705040301ull, 0x0000070504030100ull,
    0x0000000705040302ull, 0x0000070504030200ull, 0x0000070504030201ull, 0x0007050403020100ull,
    0x0000000000000706ull, 0x0000000000070600ull, 0x0000000000070601ull, 0x0000000007060100ull,
    0x0000000000070602ull, 0x0000000007060200ull, 0x0000000007060201ull, 0x0000000706020100ull,
    0x0000000000070603ull, 0x0000000007060300ull, 0x0000000007060301ull, 0x0000000706030100ull,
    0x0000000007060302ull, 0x0000000706030200ull, 0x0000000706030201ull, 0x0000070603020100ull,
    0x0000000000070604ull, 0x0000000007060400ull, 0x0000000007060401ull, 0x0000000706040100ull,
    0x0000000007060402ull, 0x0000000706040200ull, 0x0000000706040201ull, 0x0000070604020100ull,
    0x0000000007060403ull, 0x0000000706040300ull, 0x0000000706040301ull, 0x0000070604030100ull,
    0x0000000706040302ull, 0x0000070604030200ull, 0x0000070604030201ull, 0x0007060403020100ull,
    0x0000000000070605ull, 0x0000000007060500ull, 0x0000000007060501ull, 0x0000000706050100ull,
    0x0000000007060502ull, 0x0000000706050200ull, 0x0000000706050201ull, 0x0000070605020100ull,
    0x0000000007060503ull, 0x0000000706050300ull, 0x0000000706050301ull, 0x0000070605030100ull,
    0x0000000706050302ull, 0x0000070605030200ull, 0x0000070605030201ull, 0x0007060503020100ull,
    0x0000000007060504ull, 0x0000000706050400ull, 0x0000000706050401ull, 0x0000070605040100ull,
    0x0000000706050402ull, 0x0000070605040200ull, 0x0000070605040201ull, 0x0007060504020100ull,
    0x0000000706050403ull, 0x0000070605040300ull, 0x0000070605040301ull, 0x0007060504030100ull,
    0x0000070605040302ull, 0x0007060504030200ull, 0x0007060504030201ull, 0x0706050403020100ull,
};

GAD_AVX2 static size_t av_pct_pass(const float *a, size_t n, int use_abs, float lo, float hi,
                                   float *mid, size_t *below, int *has_nan) {
    const __m256 lov = _mm256_set1_ps(lo), hiv = _mm256_set1_ps(hi);
    const __m256 signless = use_abs ? _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))
                                    : _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    size_t m = 0, nb = 0, i = 0;
    /* Branch-free: whether a block holds band values depends on the data (a
     * middle percentile's band catches a block of 8 about half the time),
     * and mispredicted branches cost more than always packing and storing.
     * The loop is compute-bound at memory speed, so it does as little as it
     * can: the counts of x < lo gather in 32-bit lanes (mask = -1 a hit,
     * flushed before they could overflow), and a NaN, neither below nor
     * above, simply lands in the band, which is checked once at the end. */
    while (i + 8 <= n) {
        size_t end = n - (n - i) % 8;
        if (end - i > ((size_t)1 << 30)) end = i + ((size_t)1 << 30);
        __m256i cnt = _mm256_setzero_si256();
        for (; i < end; i += 8) {
            const __m256 x = _mm256_and_ps(_mm256_loadu_ps(a + i), signless);
            const __m256 lt = _mm256_cmp_ps(x, lov, _CMP_LT_OQ);
            const __m256 gt = _mm256_cmp_ps(x, hiv, _CMP_GT_OQ);
            cnt = _mm256_sub_epi32(cnt, _mm256_castps_si256(lt));
            const unsigned bits = ~(unsigned)_mm256_movemask_ps(_mm256_or_ps(lt, gt)) & 0xffu;
            /* The 8-float store ends at mid + m + 8 <= mid + i + 8 <= mid + n. */
            const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&compress_lut[bits]));
            _mm256_storeu_ps(mid + m, _mm256_permutevar8x32_ps(x, idx));
            m += (size_t)__builtin_popcount(bits);
        }
        uint32_t c[8];
        _mm256_storeu_si256((__m256i *)c, cnt);
        for (int j = 0; j < 8; j++) nb += c[j];
    }
    for (; i < n; i++) {
        const float x = use_abs ? fabsf(a[i]) : a[i];
        nb += x < lo;
        mid[m] = x;
        m += !(x < lo) & !(x > hi);
    }
    /* the NaNs are in the band */
    __m256 nanacc = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 8 <= m; j += 8) {
        const __m256 x = _mm256_loadu_ps(mid + j);
        nanacc = _mm256_or_ps(nanacc, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    }
    int nan = _mm256_movemask_ps(nanacc) != 0;
    for (; j < m; j++) nan |= mid[j] != mid[j];
    *below = nb;
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
