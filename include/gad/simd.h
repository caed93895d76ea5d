/* gad/simd.h — vector kernels for the attribution hot paths.
 *
 * Every kernel exists twice: an AVX2+FMA version and a plain C twin. The
 * library picks one table of kernels the first time any of them is called:
 * AVX2 when the CPU has AVX2 and FMA, else scalar. The environment variable
 * GAD_SIMD overrides the choice: "scalar" forces the C twins, "avx2" demands
 * AVX2 (with a one-time warning on stderr and the scalar twins when the CPU
 * lacks it), "auto" or unset lets the CPU decide; any other value warns once
 * and means "auto". gad_simd_set switches at run time (tests do this to
 * compare the twins).
 *
 * Conventions shared by all kernels:
 *   - n is an element count; any n >= 0 is fine (0 does nothing).
 *   - Pointers need no alignment. An output may be the very same array as an
 *     input of the same length (in place), but must not partially overlap one.
 *   - Kernels do not allocate (gad_simd_percentile only when scratch is NULL).
 *   - Unless a kernel says otherwise, both twins perform the same IEEE
 *     operations in the same order per element (FMA where noted, fmaf in the
 *     scalar twin), so their results are bit-identical.
 */
#ifndef GAD_SIMD_H
#define GAD_SIMD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dispatch ------------------------------------------------------------ */
typedef enum gad_simd_isa {
    GAD_SIMD_AUTO = 0,   /* best the CPU supports, GAD_SIMD honoured */
    GAD_SIMD_SCALAR = 1, /* plain C twins */
    GAD_SIMD_AVX2 = 2    /* AVX2 + FMA */
} gad_simd_isa;

/* Select the kernel table. GAD_SIMD_AUTO re-reads the environment variable.
 * Returns 0, GAD_EUNSUPPORTED (selection unchanged) when AVX2 is asked for on
 * a CPU without AVX2+FMA, or GAD_EINVAL for an unknown value. Switching while
 * other threads run kernels is safe (each call uses one whole table). */
int gad_simd_set(gad_simd_isa isa);
/* "avx2" or "scalar": the table in use (choosing it now if not yet done). */
const char *gad_simd_name(void);
/* 1 when this CPU can run the AVX2 kernels. */
int gad_simd_avx2_supported(void);
/* Forget the choice so that the next kernel call re-reads GAD_SIMD. For
 * tests; not meant to race with kernel calls on other threads. */
void gad_simd_reset(void);

/* ---- accumulation (Integrated Gradients, SmoothGrad) --------------------- */
/* acc[i] += sum_{j<count} weights[j] * grads[j*n + i]: a chunk of `count`
 * gradients (one per IG step, each n floats, back to back) weighted into a
 * running sum. Fixed order: for each i, starting from acc[i], j ascending,
 * s = fma(weights[j], grads[j*n+i], s) — one rounding per step. The running
 * value is a float either way, so the result is identical in both twins and
 * does not depend on how the caller splits its steps into chunks.
 * count <= 0 leaves acc unchanged. */
void gad_simd_accumulate(float *acc, const float *grads, const float *weights, int count, size_t n);

/* out[i] = ((x[i] - baseline[i]) * acc[i]) * scale, left to right. */
void gad_simd_ig_finish(float *out, const float *x, const float *baseline, const float *acc,
                        float scale, size_t n);

/* out[i] = a[i] * b[i] (input x gradient). */
void gad_simd_mul(float *out, const float *a, const float *b, size_t n);
/* out[i] = |a[i]| (saliency); clears the sign bit, so NaN stays NaN. */
void gad_simd_abs(float *out, const float *a, size_t n);
/* acc[i] += g[i]; acc_sq[i] = fma(g[i], g[i], acc_sq[i]) (SmoothGrad-squared,
 * VarGrad). */
void gad_simd_accumulate_sq(float *acc, float *acc_sq, const float *g, size_t n);
/* out[i] = a[i] * s. */
void gad_simd_scale(float *out, const float *a, float s, size_t n);

/* ---- channel reduction ---------------------------------------------------- */
typedef enum gad_reduce_mode {
    GAD_REDUCE_MEAN = 0,   /* sum / c, sign kept */
    GAD_REDUCE_SUM = 1,    /* sum */
    GAD_REDUCE_ABSSUM = 2, /* sum of |x| */
    GAD_REDUCE_L2 = 3      /* sqrt(sum of x*x), squares added with fma */
} gad_reduce_mode;

/* Reduce a planar c x hw tensor (channel ch at in + ch*hw) to hw values:
 * per pixel, s = f(channel 0), then channels 1..c-1 in ascending order are
 * added (f = identity, |.|, or square via fma). c <= 0 gives zeros; an
 * unknown mode gives zeros. out must not overlap in. */
void gad_simd_reduce_channels(float *out, const float *in, int c, size_t hw, int mode);

/* ---- statistics ------------------------------------------------------------ */
/* Smallest and largest value, NaNs ignored. With no non-NaN value (n == 0 or
 * all NaN) both are NaN. The twins agree on the values; when the extreme is
 * zero its sign may differ (-0 vs +0 compare equal). */
void gad_simd_minmax(const float *a, size_t n, float *mn, float *mx);
/* max |a[i]|, NaNs ignored; 0 for n == 0 or all NaN. */
float gad_simd_absmax(const float *a, size_t n);

/* q-th percentile (q in [0, 100]) of a, or of |a| when use_abs, exactly as
 * numpy.percentile(a.astype(float32), q) with the default 'linear' method,
 * rounded to float: with v the sorted values, h = (n-1)*(q/100) in double,
 * lo = floor(h), g = h - lo, d = v[lo+1] - v[lo] in float, the result is
 * v[lo] + d*g (g < 0.5) or v[lo+1] - d*(1-g) (g >= 0.5) in double. Any NaN
 * in a, n == 0, or q outside [0, 100] (or NaN) gives NaN; infinities follow
 * numpy's arithmetic (which can give NaN, e.g. for {1, inf}).
 * scratch: n floats the kernel may overwrite; when NULL the kernel allocates
 * (and returns NaN if that fails). a is not modified. Expected O(n): one
 * vector pass partitions around two pivots from a sample, the small middle
 * part is finished with quickselect. Both twins return the same value. */
float gad_simd_percentile(const float *a, size_t n, double q, int use_abs, float *scratch);

/* ---- thresholding and GAD fusion ---------------------------------------- */
/* mask[i] = a[i] >= t (NaN in a or t gives 0); returns the number of ones. */
size_t gad_simd_threshold_mask(uint8_t *mask, const float *a, float t, size_t n);
/* votes[i] += mask[i], saturating at 255. */
void gad_simd_count_votes(uint8_t *votes, const uint8_t *mask, size_t n);
/* out[i] = votes[i] >= min_votes ? mean_j maps[j][i] : 0, where the mean is
 * (maps[0][i] + maps[1][i] + ... + maps[k-1][i]) / k, added left to right.
 * min_votes <= 0 means the plain mean everywhere (votes may then be NULL);
 * k <= 0 gives zeros. */
void gad_simd_fuse_mean(float *out, const float *const *maps, int k, const uint8_t *votes,
                        int min_votes, size_t n);

#ifdef __cplusplus
}
#endif

#endif
