/* gad/fit.h — GAD's support regression models (GAD-SPEC.md, steps 1-4).
 *
 * For a classifier f and a class pair (p, q), gad_fit computes the reference
 * logits a(x) = f(x) of every fitting image, the standard deviation s of the
 * gap a_p - a_q over the set, and for each level k the distanced targets
 *     t_k(x) = a(x), except t_k[c] = a[c] + d_k/2 and t_k[o] = a[o] - d_k/2,
 * with d_k = lambda_k * s, c(x) the image's class in {p, q} and o the other.
 * A support model g_k starts as a copy of f and is fine-tuned to minimise the
 * mean squared error between g_k(x) and t_k(x) (mean over images and logits,
 * as PyTorch's MSELoss), with Adam or SGD on mini-batches, early stopping on
 * a held-out split (after `lr_drops` restarts from the best weights with a
 * smaller learning rate, which steadies the held-out loss and the decisions
 * near the boundary). BatchNorm stays folded (inference mode).
 *
 * Control models (optional) are fitted the same way to targets where both
 * classes are raised by d_k/2, so the gap does not move: they separate the
 * effect of distancing from that of averaging fine-tuned copies.
 *
 * Fidelity of a model g: the share of images whose arg-max over {p, q} under
 * g equals that under f.
 */
#ifndef GAD_FIT_H
#define GAD_FIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gad_err;
struct gad_model;

#define GAD_FIT_MAX_LEVELS 16

typedef enum gad_optimizer { GAD_OPT_ADAM, GAD_OPT_SGD } gad_optimizer;

typedef enum gad_label_source {
    GAD_LABEL_PREDICTED, /* c(x) = f's predicted class; images f assigns to a
                            third class are left out (default) */
    GAD_LABEL_GIVEN,     /* c(x) = the image's label, which must be p or q */
    GAD_LABEL_PAIR,      /* c(x) = arg-max of f(x) over {p, q}, every image kept */
} gad_label_source;

typedef struct gad_fit_progress {
    int level;          /* 1..K, or -1..-K for control models */
    int epoch, epochs;  /* 1-based epoch, maximum */
    double train_mse;   /* running mean over the epoch's mini-batches */
    double holdout_mse, holdout_fidelity;
    int best;           /* this epoch is the best held-out loss so far */
} gad_fit_progress;

typedef struct gad_fit_config {
    int p, q;
    int n_levels;                        /* default 3 */
    double lambdas[GAD_FIT_MAX_LEVELS];  /* default 1, 2, 4 */
    gad_label_source labels;
    int epochs;          /* maximum, default 30 */
    int batch;           /* default 32 */
    double lr;           /* default 1e-3 */
    gad_optimizer optimizer;
    double momentum;     /* SGD only, default 0.9 */
    double holdout;      /* share held out, default 0.1 */
    int patience;        /* epochs without held-out improvement, default 3 */
    int lr_drops;        /* on such a plateau, restart from the best weights
                            with lr * lr_factor, this many times (default 1)
                            before stopping */
    double lr_factor;    /* default 0.1 */
    uint64_t seed;       /* split and shuffling */
    int control;         /* also fit control models */
    int train_layers;    /* fine-tune only the last N weighted layers (0: all) */
    void (*progress)(const gad_fit_progress *p, void *user);
    void *user;
    /* Data-parallel fitting over several processes (e.g. MPI ranks, which
     * the library does not know): this process computes the gradients of
     * rows j with j % ranks == rank of every mini-batch, and `allreduce`
     * must sum n floats in place over all processes, giving each the same
     * sums, so that every process takes the same optimizer steps. Loss terms
     * are summed the same way. Default ranks = 1: all rows here. */
    int rank, ranks;
    void (*allreduce)(float *v, size_t n, void *user);
    void *allreduce_user;
} gad_fit_config;

void gad_fit_config_init(gad_fit_config *cfg);

typedef struct gad_fit_level {
    double lambda, distance;
    int control;
    int epochs_run, best_epoch;
    double train_mse, holdout_mse;
    double train_fidelity, holdout_fidelity;
    double gap_mean;       /* mean of g[c] - g[o] over all images */
    double seconds;
    struct gad_model *model; /* the fitted support model, owned */
} gad_fit_level;

typedef struct gad_fit_result {
    int p, q;
    int n_images, n_train, n_holdout;
    int n_left_out;           /* candidates f assigns to a third class */
    int n_class_p, n_class_q;
    double gap_mean, gap_std; /* of a_c - a_o and of a_p - a_q, under f */
    int n_levels;             /* distanced levels, then as many controls */
    gad_fit_level levels[2 * GAD_FIT_MAX_LEVELS];
    double seconds;
} gad_fit_result;

/* x: n images (C x H x W each, model space); labels: n class indices (used
 * with GAD_LABEL_GIVEN, and to select the fitting set: images whose label
 * is neither p nor q are left out); may be NULL with GAD_LABEL_PREDICTED.
 * On success result holds the K (+K control) fitted models. */
int gad_fit(const struct gad_model *f, const float *x, const int *labels, int n,
            const gad_fit_config *cfg, gad_fit_result *result, struct gad_err *err);
void gad_fit_result_free(gad_fit_result *r);

/* The distanced (or control) targets for one image: t = a with t[c] += d/2
 * and t[o] -= d/2 (control: t[o] += d/2). Exposed for tests. */
void gad_fit_target(const float *a, int k, int c, int o, double d, int control, float *t);

/* MSE loss of rows x k outputs y against targets t, as the mean over all
 * elements; dy (may be NULL) receives dLoss/dy = 2 (y - t) / (rows k).
 * Returns the sum of squared errors (not the mean). */
double gad_mse_grad(const float *y, const float *t, int rows, int k, float *dy);

/* One optimizer step on n weights; t is the 1-based step count; m and v are
 * the caller's state (v unused by SGD), zero before the first step.
 * Adam as PyTorch's (beta 0.9/0.999, eps 1e-8 added to the bias-corrected
 * sqrt(v)); SGD as PyTorch's with momentum (buf = mu buf + g, w -= lr buf). */
void gad_opt_update(gad_optimizer opt, double lr, double momentum, long t, float *w, const float *g,
                    float *m, float *v, size_t n);

#ifdef __cplusplus
}
#endif

#endif
