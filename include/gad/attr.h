/* gad/attr.h — gradient attribution methods on a loaded model.
 *
 * Methods (all in the model's input space, C x H x W per image):
 *   GAD_METHOD_IG        Integrated Gradients: (x - x') * sum_i w_i dF/dx(x' + a_i (x - x'))
 *                        over a quadrature rule on [0, 1] (gad_quadrature_*).
 *   GAD_METHOD_SALIENCY  |dF/dx| (Simonyan et al., Captum's Saliency).
 *   GAD_METHOD_GRADIENT  dF/dx, signed.
 *   GAD_METHOD_IXG       x * dF/dx.
 *   GAD_METHOD_GUIDED    guided backpropagation: dF/dx where every ReLU's
 *                        backward passes only positive gradients of positive inputs.
 * A noise tunnel wraps any of them: the method runs on `samples` copies of x
 * with Gaussian noise of standard deviation stdev * (max(x) - min(x)) and the
 * results are averaged (smoothgrad), averaged squared (smoothgrad_sq) or their
 * variance taken (vargrad).
 *
 * The target function F is one logit, or the difference of two (contrast).
 *
 * Memory does not depend on the number of steps or samples: the points run
 * through one plan per worker in chunks of `batch` and are accumulated on the
 * fly. Results are bit-identical for the same inputs and thread count.
 */
#ifndef GAD_ATTR_H
#define GAD_ATTR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gad_err;
struct gad_model;

typedef enum gad_method {
    GAD_METHOD_IG,
    GAD_METHOD_SALIENCY,
    GAD_METHOD_GRADIENT,
    GAD_METHOD_IXG,
    GAD_METHOD_GUIDED,
} gad_method;

typedef enum gad_quadrature {
    GAD_QUAD_GAUSS_LEGENDRE, /* Captum's default */
    GAD_QUAD_LEFT,
    GAD_QUAD_RIGHT,
    GAD_QUAD_MIDDLE,
    GAD_QUAD_TRAPEZOID,
} gad_quadrature;

typedef enum gad_noise {
    GAD_NOISE_NONE,
    GAD_NOISE_SMOOTHGRAD,
    GAD_NOISE_SMOOTHGRAD_SQ,
    GAD_NOISE_VARGRAD,
} gad_noise;

/* Network arithmetic for the gradient points. BF16: the backward passes of
 * convolutions and inner products multiply bf16 weights and gradients with
 * f32 accumulation; the forward (hence F(x), F(x'), every ReLU and max-pool
 * decision) stays f32, and every point's input gradient is summed in f32.
 * Needs AVX-512 BF16 or AMX (GAD_EUNSUPPORTED otherwise). */
typedef enum gad_precision {
    GAD_PRECISION_F32,
    GAD_PRECISION_BF16,
} gad_precision;

typedef enum gad_target_kind {
    GAD_TARGET_PRED,     /* the arg-max logit of F(x) */
    GAD_TARGET_CLASS,    /* logit `p` */
    GAD_TARGET_CONTRAST, /* logit p minus logit q */
} gad_target_kind;

typedef struct gad_target {
    gad_target_kind kind;
    int p, q;
} gad_target;

typedef struct gad_attr_config {
    gad_method method;
    gad_target target;
    int steps;                 /* IG points (default 50) */
    gad_quadrature quadrature; /* default Gauss-Legendre */
    gad_noise noise;
    int samples;               /* noise tunnel samples (default 10) */
    float stdev;               /* relative to the input's value range (0.15) */
    uint64_t seed;             /* noise tunnel draws */
    int batch;                 /* points a plan runs at once; 0 (default) = auto:
                                  as many as keep a plan's buffers within
                                  64 MB, between 1 and 16 */
    int threads;               /* 0 = all OpenMP threads */
    float tolerance;           /* IG only; 0 (default) = a fixed rule of `steps`
                                  points. T > 0: points chosen per image until
                                  |completeness delta| <= T/10 * |F(x) - F(x')|
                                  (see gad_attribute); steps and quadrature
                                  are then unused */
    int max_steps;             /* cap on those points per image (default 512,
                                  at least 2) */
    gad_precision precision;   /* of the network passes (default f32) */
    int head_split;            /* IG with a fixed rule: 1 (default) runs a
                                  model's first Conv, when it reads the image
                                  alone, twice an image forward and once
                                  backward instead of at every point (it is
                                  affine: the same sums up to rounding);
                                  0: every point through the whole network */
} gad_attr_config;

/* Defaults as documented above. */
void gad_attr_config_init(gad_attr_config *cfg);

/* Name <-> enum, for flags and reports; parse returns -1 when unknown. */
const char *gad_method_name(gad_method m);
int gad_method_parse(const char *s);
const char *gad_quadrature_name(gad_quadrature q);
int gad_quadrature_parse(const char *s);
const char *gad_noise_name(gad_noise n);
int gad_noise_parse(const char *s);

/* Quadrature on [0, 1]: n points and weights summing to 1. Gauss-Legendre
 * is computed to double precision (Newton on the Legendre recurrence), the
 * Riemann rules as Captum defines them except the trapezoid, which uses the
 * true trapezoid weights (1/(n-1) inside, halved at the ends; Captum's weights
 * sum to 1 - 1/n). n >= 1 (trapezoid: n >= 2). */
int gad_quadrature_points(gad_quadrature q, int n, double *alphas, double *weights,
                          struct gad_err *err);

/* ---- IG baselines ---------------------------------------------------- */
typedef enum gad_baseline_kind {
    GAD_BASELINE_BLACK, /* pixels 0 before normalisation (default) */
    GAD_BASELINE_WHITE, /* pixels 1 */
    GAD_BASELINE_VALUE, /* pixels `value` (in [0, 1] pixel units) */
    GAD_BASELINE_BLUR,  /* the image blurred by a Gaussian of `sigma` pixels */
    GAD_BASELINE_NOISE, /* uniform [0, 1] pixels, keyed by seed and image */
} gad_baseline_kind;

struct gad_preproc;
/* Model-space baseline for the model-space input x (C x H x W) that was
 * normalised with pp's mean/std. */
int gad_baseline_make(gad_baseline_kind kind, float value, float sigma, uint64_t seed,
                      const float *x, const struct gad_preproc *pp, float *out,
                      struct gad_err *err);

/* Per-image outcome. */
typedef struct gad_attr_result {
    int target_p, target_q; /* resolved target (q = -1 unless contrast) */
    float score;            /* F(x) */
    float baseline_score;   /* F(x') (IG only, else 0) */
    float attr_sum;         /* sum of attributions */
    float delta;            /* IG completeness: attr_sum - (F(x) - F(x')) */
    float rel_delta;        /* |delta| / |F(x) - F(x')| */
    int steps;              /* gradient evaluations per image */
    double seconds;
    double forward_seconds, backward_seconds, kernel_seconds; /* parts of seconds: network
                                                                 passes, SIMD accumulation */
} gad_attr_result;

typedef struct gad_attributor gad_attributor;

/* Plans one worker per thread, for the model's current input size. The
 * model must outlive the attributor. */
int gad_attributor_create(const struct gad_model *m, const gad_attr_config *cfg,
                          gad_attributor **out, struct gad_err *err);
void gad_attributor_free(gad_attributor *a);

/* Adaptive IG (tolerance T > 0), by bisection with exact errors. Each
 * evaluation at alpha gives F there and the path derivative
 * h = <x - x', dF/dx>, so every interval between evaluated points has an
 * exact error: its trapezoid (h at both ends) minus F(right) - F(left). The
 * rule starts with alpha = 1/2 and 1 and takes no gradient at alpha = 0
 * (at a black baseline every feature map is constant, max-pool windows tie,
 * and the gradient there is unlike its limit: half the gap on resnet18 and
 * the demo model); [0, alpha_first] uses the right-point rule against F(x')
 * from the baseline's forward. While the total error, which is the
 * completeness delta, exceeds T/10 * |F(x) - F(x')|, the interval with the
 * largest error is halved. The tenth is a margin: errors of both signs
 * cancel in the delta. The final weights are the composite rule's (a point
 * weighs half the span of its two intervals), so every gradient is kept
 * until the end: memory is `steps` vectors of C x H x W per worker, at most
 * max_steps. Completeness checks the attribution's sum only: at 12-20
 * points the attribution itself is further from a converged one than fixed
 * Gauss-Legendre 50's (bench/RESULTS.md has both). The result's steps counts
 * every gradient evaluation; when max_steps stops the refinement first,
 * rel_delta shows by how much the test was missed. */

/* Attribute n images. x: n inputs of C x H x W (model space); baselines: n
 * model-space baselines for IG (NULL: zeros); targets: one per image (NULL:
 * the config's target for all); attr: n outputs of C x H x W; results: n.
 * Images run in parallel across workers. A failure on one image fails the
 * call with the lowest failing image's message. */
int gad_attribute(gad_attributor *a, int n, const float *x, const float *baselines,
                  const gad_target *targets, float *attr, gad_attr_result *results,
                  struct gad_err *err);

/* Plan bytes across workers (memory accounting for reports). */
size_t gad_attributor_bytes(const gad_attributor *a);

#ifdef __cplusplus
}
#endif

#endif
