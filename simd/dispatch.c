/* Runtime choice of the kernel table, and the public entry points.
 *
 * The table pointer is a C11 atomic rather than a pthread_once so that tests
 * can switch tables (gad_simd_set) and re-read GAD_SIMD (gad_simd_reset).
 * Choosing is idempotent, so two threads racing through the first call both
 * compute the same answer and either store wins. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gad/gad.h"
#include "gad/simd.h"
#include "simd_internal.h"

static _Atomic(const gad_simd_ops *) g_ops;
static atomic_flag g_warned_env = ATOMIC_FLAG_INIT;

int gad_simd_avx2_supported(void) {
#if GAD_SIMD_HAVE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("popcnt");
#else
    return 0;
#endif
}

static const gad_simd_ops *best_ops(void) {
#if GAD_SIMD_HAVE_X86
    if (gad_simd_avx2_supported()) return &gad_simd_avx2_ops;
#endif
    return &gad_simd_scalar_ops;
}

/* One warning per process, however often the choice is re-made. */
static int first_warning(void) { return !atomic_flag_test_and_set(&g_warned_env); }

static const gad_simd_ops *ops_from_env(void) {
    const char *v = getenv("GAD_SIMD");
    if (!v || !*v || !strcmp(v, "auto")) return best_ops();
    if (!strcmp(v, "scalar")) return &gad_simd_scalar_ops;
    if (!strcmp(v, "avx2")) {
        const gad_simd_ops *o = best_ops();
        if (o == &gad_simd_scalar_ops && first_warning())
            fprintf(stderr, "gad: GAD_SIMD=%s: this CPU lacks AVX2/FMA, using the scalar kernels\n", v);
        return o;
    }
    if (first_warning())
        fprintf(stderr, "gad: GAD_SIMD=%s: unknown value (expected scalar, avx2 or auto), "
                        "choosing automatically\n", v);
    return best_ops();
}

static inline const gad_simd_ops *ops(void) {
    const gad_simd_ops *o = atomic_load_explicit(&g_ops, memory_order_acquire);
    if (o) return o;
    const gad_simd_ops *expected = NULL;
    o = ops_from_env();
    if (!atomic_compare_exchange_strong(&g_ops, &expected, o)) o = expected;
    return o;
}

int gad_simd_set(gad_simd_isa isa) {
    switch (isa) {
    case GAD_SIMD_AUTO:
        atomic_store(&g_ops, ops_from_env());
        return 0;
    case GAD_SIMD_SCALAR:
        atomic_store(&g_ops, &gad_simd_scalar_ops);
        return 0;
    case GAD_SIMD_AVX2:
#if GAD_SIMD_HAVE_X86
        if (gad_simd_avx2_supported()) {
            atomic_store(&g_ops, &gad_simd_avx2_ops);
            return 0;
        }
#endif
        return GAD_EUNSUPPORTED;
    }
    return GAD_EINVAL;
}

const char *gad_simd_name(void) { return ops()->name; }

void gad_simd_reset(void) { atomic_store(&g_ops, NULL); }

void gad_simd_accumulate(float *acc, const float *grads, const float *weights, int count, size_t n) {
    ops()->accumulate(acc, grads, weights, count, n);
}

void gad_simd_ig_finish(float *out, const float *x, const float *baseline, const float *acc,
                        float scale, size_t n) {
    ops()->ig_finish(out, x, baseline, acc, scale, n);
}

void gad_simd_mul(float *out, const float *a, const float *b, size_t n) { ops()->mul(out, a, b, n); }

void gad_simd_abs(float *out, const float *a, size_t n) { ops()->absv(out, a, n); }

void gad_simd_accumulate_sq(float *acc, float *acc_sq, const float *g, size_t n) {
    ops()->accumulate_sq(acc, acc_sq, g, n);
}

void gad_simd_scale(float *out, const float *a, float s, size_t n) { ops()->scale(out, a, s, n); }

void gad_simd_reduce_channels(float *out, const float *in, int c, size_t hw, int mode) {
    ops()->reduce_channels(out, in, c, hw, mode);
}

void gad_simd_minmax(const float *a, size_t n, float *mn, float *mx) { ops()->minmax(a, n, mn, mx); }

float gad_simd_absmax(const float *a, size_t n) { return ops()->absmax(a, n); }

float gad_simd_percentile(const float *a, size_t n, double q, int use_abs, float *scratch) {
    return gad_simd_percentile_with(ops(), a, n, q, use_abs, scratch);
}

size_t gad_simd_threshold_mask(uint8_t *mask, const float *a, float t, size_t n) {
    return ops()->threshold_mask(mask, a, t, n);
}

void gad_simd_count_votes(uint8_t *votes, const uint8_t *mask, size_t n) {
    ops()->count_votes(votes, mask, n);
}

void gad_simd_fuse_mean(float *out, const float *const *maps, int k, const uint8_t *votes,
                        int min_votes, size_t n) {
    ops()->fuse_mean(out, maps, k, votes, min_votes, n);
}
