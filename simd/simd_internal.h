/* One table of kernels per instruction set; simd/dispatch.c picks one. */
#ifndef GAD_SIMD_INTERNAL_H
#define GAD_SIMD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct gad_simd_ops {
    const char *name;
    void (*accumulate)(float *acc, const float *grads, const float *weights, int count, size_t n);
    void (*ig_finish)(float *out, const float *x, const float *baseline, const float *acc,
                      float scale, size_t n);
    void (*mul)(float *out, const float *a, const float *b, size_t n);
    void (*absv)(float *out, const float *a, size_t n);
    void (*accumulate_sq)(float *acc, float *acc_sq, const float *g, size_t n);
    void (*scale)(float *out, const float *a, float s, size_t n);
    void (*reduce_channels)(float *out, const float *in, int c, size_t hw, int mode);
    void (*minmax)(const float *a, size_t n, float *mn, float *mx);
    float (*absmax)(const float *a, size_t n);
    /* The bandwidth-bound pass of the percentile: with x = a[i] (or |a[i]|),
     * counts x < lo into *below, copies lo <= x <= hi into mid in input order
     * (returns how many) and sets *has_nan when any x is NaN (then the
     * count and the copy are unspecified). mid has room for n floats and
     * does not overlap a. */
    size_t (*pct_pass)(const float *a, size_t n, int use_abs, float lo, float hi, float *mid,
                       size_t *below, int *has_nan);
    size_t (*threshold_mask)(uint8_t *mask, const float *a, float t, size_t n);
    void (*count_votes)(uint8_t *votes, const uint8_t *mask, size_t n);
    void (*fuse_mean)(float *out, const float *const *maps, int k, const uint8_t *votes,
                      int min_votes, size_t n);
} gad_simd_ops;

/* The AVX2 table exists only on x86-64 with GCC/Clang (per-function targets). */
#if defined(__x86_64__) && defined(__GNUC__)
#define GAD_SIMD_HAVE_X86 1
#else
#define GAD_SIMD_HAVE_X86 0
#endif

extern const gad_simd_ops gad_simd_scalar_ops;
#if GAD_SIMD_HAVE_X86
extern const gad_simd_ops gad_simd_avx2_ops;
#endif

/* The percentile driver, shared by both tables (it only calls ops->pct_pass
 * for the heavy part). */
float gad_simd_percentile_with(const gad_simd_ops *ops, const float *a, size_t n, double q,
                               int use_abs, float *scratch);

#endif
