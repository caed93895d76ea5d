/* The attribution engine: runs the points a method needs (IG steps, noise
 * samples) through one plan per worker in chunks, and accumulates gradients
 * on the fly with the SIMD kernels, so memory is independent of the number
 * of points.
 *
 * Parallel rule: with at least as many images as workers, images are spread
 * over OpenMP threads (dynamic schedule), each thread with its own plan and
 * oneDNN single-threaded inside the parallel region. With fewer images than
 * workers, images run one after another and oneDNN gets every thread. In
 * both modes an image's points are accumulated in a fixed order, so results
 * do not depend on which thread ran an image.
 *
 * Noise is drawn from a counter-based generator keyed by (seed, a hash of
 * the image's values, sample index): the same image gets the same noise
 * whatever the batching, sharding or thread count. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gad/attr.h"
#include "gad/gad.h"
#include "gad/simd.h"
#include "core/mix.h"
#include "net/graph.h"

#define GAD_AUTO_BATCH_BYTES ((size_t)64 << 20)
/* adaptive IG (tolerance): the plan batch when --batch is auto: 1, since
 * the rule adds one point at a time and a plan computes its whole batch
 * every time (demo model, 304 images, --tolerance 0.01, 2 threads: network
 * passes took 1.4-1.8 thread-seconds at batch 1, 2.0-2.5 at 2, 3.5-3.8 at 4,
 * with the earlier panel rule) */
#define TOL_AUTO_BATCH 1

typedef struct worker {
    gad_plan *plan;  /* batch = a->batch, backward to the input (the body's, when split) */
    gad_plan *probe; /* batch 1, forward only: F(x), F(x'); NULL when plan has batch 1 */
    gad_plan *hplan; /* the head (first Conv), batch 1, when the model is split */
    float *zx, *zb, *zacc, *zp; /* split: head(x), head(x'), summed dL/dz, a probe's z */
    float *xb;       /* batch x D: the points */
    float *grad;     /* batch x D */
    float *logits;   /* batch x K */
    float *dlogits;  /* batch x K */
    float *acc, *acc_sq, *noisy, *tmp; /* D each */
    float *w;        /* batch: quadrature weights of a chunk */
    float *tol;      /* adaptive IG: a row of D for each gradient kept (see ig_tol_one) */
    int tol_rows;
    struct tol_point *tol_pt;
    float *tol_w;
    double t_fwd, t_bwd, t_ker; /* seconds in passes and kernels (--profile) */
} worker;

struct gad_attributor {
    const gad_model *m;
    gad_model *head, *body; /* plain IG: the model split after its first Conv (or NULL) */
    gad_attr_config cfg;
    int d, dz, k, batch, n_workers; /* dz: the body's input size (= d when not split) */
    double *alphas, *weights; /* IG rule, `steps` points */
    worker *w;
};

void gad_attr_config_init(gad_attr_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->method = GAD_METHOD_IG;
    cfg->target.kind = GAD_TARGET_PRED;
    cfg->target.q = -1;
    cfg->steps = 50;
    cfg->quadrature = GAD_QUAD_GAUSS_LEGENDRE;
    cfg->noise = GAD_NOISE_NONE;
    cfg->samples = 10;
    cfg->stdev = 0.15f;
    cfg->batch = 0; /* auto */
    cfg->tolerance = 0;  /* fixed rule */
    cfg->max_steps = 512;
    cfg->head_split = 1;
}

/* Points one image needs for one noise sample. */
static int points_per_sample(const gad_attributor *a) {
    return a->cfg.method == GAD_METHOD_IG ? a->cfg.steps : 1;
}

#define PROBE(w) ((w)->probe ? (w)->probe : (w)->plan)

static void worker_free(worker *w) {
    gad_plan_free(w->plan);
    gad_plan_free(w->probe);
    gad_plan_free(w->hplan);
    free(w->zx);
    free(w->zb);
    free(w->zacc);
    free(w->zp);
    free(w->xb);
    free(w->grad);
    free(w->logits);
    free(w->dlogits);
    free(w->acc);
    free(w->acc_sq);
    free(w->noisy);
    free(w->tmp);
    free(w->w);
    free(w->tol);
    free(w->tol_pt);
    free(w->tol_w);
    memset(w, 0, sizeof *w);
}

/* Plans and buffers of one worker, made on first use so that idle workers
 * cost nothing. */
static int worker_init(gad_attributor *a, worker *w, gad_err *err) {
    if (w->plan) return 0;
    const size_t dmax = a->dz > a->d ? (size_t)a->dz : (size_t)a->d;
    size_t bd = (size_t)a->batch * dmax, bk = (size_t)a->batch * a->k;
    /* one set of weights for all plans: worker 0's main plan (made first, in
     * gad_attributor_create, and freed last) lends its own to the others */
    const int bf16 = a->cfg.precision == GAD_PRECISION_BF16;
    const gad_model *m = a->body ? a->body : a->m;
    const gad_plan *donor = w == &a->w[0] ? NULL : a->w[0].plan;
    int rc = gad_plan_create_shared(m, a->batch, GAD_PLAN_BACKWARD_DATA | (bf16 ? GAD_PLAN_BF16 : 0u), donor,
                                    &w->plan, err);
    /* F(x), F(x') need a batch-1 forward: the main plan's when its batch is
     * 1 (an inference plan would also pick other weight layouts, which
     * cannot be shared; the forward is f32 in every precision) */
    if (!rc && a->batch > 1)
        rc = gad_plan_create_shared(m, 1, GAD_PLAN_FORWARD, a->w[0].plan, &w->probe, err);
    /* the head runs once an image each way, in f32 */
    if (!rc && a->head)
        rc = gad_plan_create_shared(a->head, 1, GAD_PLAN_BACKWARD_DATA, w == &a->w[0] ? NULL : a->w[0].hplan,
                                    &w->hplan, err);
    if (rc) {
        worker_free(w);
        return rc;
    }
    gad_plan_set_guided(w->plan, a->cfg.method == GAD_METHOD_GUIDED);
    w->xb = calloc(bd, sizeof(float));
    w->grad = malloc(bd * sizeof(float));
    w->logits = malloc(bk * sizeof(float));
    w->dlogits = calloc(bk, sizeof(float));
    w->acc = malloc((size_t)a->d * sizeof(float));
    w->acc_sq = malloc((size_t)a->d * sizeof(float));
    w->noisy = malloc((size_t)a->d * sizeof(float));
    w->tmp = malloc((size_t)a->d * sizeof(float));
    w->w = malloc((size_t)a->batch * sizeof(float));
    if (a->head) {
        w->zx = malloc((size_t)a->dz * sizeof(float));
        w->zb = malloc((size_t)a->dz * sizeof(float));
        w->zacc = malloc((size_t)a->dz * sizeof(float));
        w->zp = malloc((size_t)a->dz * sizeof(float));
    }
    if (!w->xb || !w->grad || !w->logits || !w->dlogits || !w->acc || !w->acc_sq || !w->noisy ||
        !w->tmp || !w->w || (a->head && (!w->zx || !w->zb || !w->zacc || !w->zp))) {
        worker_free(w);
        return gad_err_set(err, GAD_ENOMEM, "%s: out of memory for attribution buffers",
                           gad_model_name(a->m));
    }
    return 0;
}

/* A target the model can answer: classes in range, contrast of two. */
static int check_target(const gad_target *t, int k, const char *name, gad_err *err) {
    if ((unsigned)t->kind > GAD_TARGET_CONTRAST)
        return gad_err_set(err, GAD_EINVAL, "%s: unknown target kind %d", name, (int)t->kind);
    if (t->kind != GAD_TARGET_PRED && (t->p < 0 || t->p >= k))
        return gad_err_set(err, GAD_EINVAL, "%s: target class %d is outside the model's %d outputs", name, t->p, k);
    if (t->kind == GAD_TARGET_CONTRAST && (t->q < 0 || t->q >= k || t->q == t->p))
        return gad_err_set(err, GAD_EINVAL, "%s: contrast needs two different classes in [0, %d), got %d,%d", name,
                           k, t->p, t->q);
    return 0;
}

int gad_attributor_create(const gad_model *m, const gad_attr_config *cfg, gad_attributor **out,
                          gad_err *err) {
    *out = NULL;
    const char *name = gad_model_name(m);
    int c, h, wd;
    gad_model_input_dims(m, &c, &h, &wd);
    if (h <= 0 || wd <= 0)
        return gad_err_set(err, GAD_ESTATE, "%s: input size not set (free spatial dims)", name);
    if ((unsigned)cfg->method > GAD_METHOD_GUIDED)
        return gad_err_set(err, GAD_EINVAL, "attribution: unknown method %d", (int)cfg->method);
    if (cfg->method == GAD_METHOD_IG && cfg->steps < 1)
        return gad_err_set(err, GAD_EINVAL, "attribution: --steps must be at least 1 (got %d)", cfg->steps);
    if (cfg->noise != GAD_NOISE_NONE && (cfg->samples < 1 || !(cfg->stdev >= 0) || !isfinite(cfg->stdev)))
        return gad_err_set(err, GAD_EINVAL,
                           "attribution: noise tunnel needs samples >= 1 and a finite stdev >= 0");
    if ((unsigned)cfg->noise > GAD_NOISE_VARGRAD)
        return gad_err_set(err, GAD_EINVAL, "attribution: unknown noise tunnel %d", (int)cfg->noise);
    if ((unsigned)cfg->precision > GAD_PRECISION_BF16)
        return gad_err_set(err, GAD_EINVAL, "attribution: unknown precision %d", (int)cfg->precision);
    if (cfg->batch < 0 || cfg->batch > 4096)
        return gad_err_set(err, GAD_EINVAL, "attribution: batch %d out of range [0 (auto), 4096]", cfg->batch);
    if (cfg->tolerance != 0) {
        if (!(cfg->tolerance > 0) || !isfinite(cfg->tolerance))
            return gad_err_set(err, GAD_EINVAL, "attribution: --tolerance must be a finite number > 0 (got %g)",
                               (double)cfg->tolerance);
        if (cfg->method != GAD_METHOD_IG)
            return gad_err_set(err, GAD_EINVAL, "attribution: --tolerance applies to --method ig only (got %s)",
                               gad_method_name(cfg->method));
        if (cfg->noise != GAD_NOISE_NONE)
            return gad_err_set(err, GAD_EINVAL, "attribution: --tolerance does not combine with a noise tunnel");
        if (cfg->max_steps < 2 || cfg->max_steps > 1 << 20)
            return gad_err_set(err, GAD_EINVAL, "attribution: --max-steps %d out of range [%d, 1048576]",
                               cfg->max_steps, 2);
    }
    int k = gad_model_num_classes(m);
    int rc = check_target(&cfg->target, k, name, err);
    if (rc) return rc;

    gad_attributor *a = calloc(1, sizeof *a);
    if (!a) return gad_err_set(err, GAD_ENOMEM, "attribution: out of memory");
    a->m = m;
    a->cfg = *cfg;
    a->d = a->dz = c * h * wd;
    a->k = k;
    /* plain IG (fixed rule, noise tunnel or not): the first Conv once an
     * image instead of once a point. Measured on resnet18 (IG-50, 1 thread):
     * its forward and input-gradient passes were about 6 % of the time. */
    if (cfg->method == GAD_METHOD_IG && cfg->tolerance == 0 && cfg->head_split) {
        int rc = gad_graph_split_head(m, &a->head, &a->body, err);
        if (rc < 0) {
            free(a);
            return rc;
        }
        if (rc) {
            const gad_shape *zs = &a->body->values[a->body->input].shape;
            a->dz = zs->d[0] * zs->d[1] * zs->d[2];
        }
    }
    int pts = points_per_sample(a) * (cfg->noise != GAD_NOISE_NONE && cfg->method != GAD_METHOD_IG
                                          ? cfg->samples
                                          : 1);
    int batch = cfg->batch;
    if (batch == 0) {
        /* auto: as many points as keep a plan's buffers within
         * GAD_AUTO_BATCH_BYTES, at most 16. Measured on resnet18 at 224x224
         * (2 cores, IG-50): batch 1 ran 10 % faster than 16 in a third of
         * the memory; small models gain from the larger batches. */
        gad_plan *probe;
        unsigned fl = GAD_PLAN_BACKWARD_DATA | (cfg->precision == GAD_PRECISION_BF16 ? GAD_PLAN_BF16 : 0u);
        int rc = gad_plan_create(a->body ? a->body : m, 1, fl, &probe, err);
        if (rc) {
            gad_attributor_free(a);
            return rc;
        }
        size_t per = gad_plan_bytes(probe) + 1;
        gad_plan_free(probe);
        size_t fit = GAD_AUTO_BATCH_BYTES / per;
        batch = fit < 1 ? 1 : fit > 16 ? 16 : (int)fit;
    }
    /* chunks of equal size: 50 points with --batch 16 run as 13+13+13+11,
     * not 16+16+16+2 (a plan computes its whole batch every time) */
    int chunks = (pts + batch - 1) / batch;
    a->batch = (pts + chunks - 1) / chunks;
    /* adaptive IG refines one panel at a time, 1, 2, 4, ... points: a big
     * plan would compute mostly padding */
    if (cfg->tolerance > 0) a->batch = cfg->batch ? cfg->batch : batch < TOL_AUTO_BATCH ? batch : TOL_AUTO_BATCH;
    a->n_workers = cfg->threads > 0 ? cfg->threads : omp_get_max_threads();
    a->w = calloc((size_t)a->n_workers, sizeof *a->w);
    if (!a->w) rc = gad_err_set(err, GAD_ENOMEM, "attribution: out of memory");
    if (!rc && cfg->method == GAD_METHOD_IG) {
        a->alphas = malloc((size_t)cfg->steps * sizeof(double));
        a->weights = malloc((size_t)cfg->steps * sizeof(double));
        if (!a->alphas || !a->weights)
            rc = gad_err_set(err, GAD_ENOMEM, "attribution: out of memory");
        else
            rc = gad_quadrature_points(cfg->quadrature, cfg->steps, a->alphas, a->weights, err);
    }
    /* Worker 0 is made now so that a model the backend refuses fails here. */
    if (!rc) {
        /* oneDNN fixes a convolution's thread split when it is created:
         * worker 0 runs images one at a time on cfg.threads threads */
        int ambient = omp_get_max_threads();
        omp_set_num_threads(a->n_workers);
        rc = worker_init(a, &a->w[0], err);
        omp_set_num_threads(ambient);
    }
    if (rc) {
        gad_attributor_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void gad_attributor_free(gad_attributor *a) {
    if (!a) return;
    /* worker 0 last: the others' plans read its weights */
    for (int i = a->n_workers - 1; a->w && i >= 0; i--) worker_free(&a->w[i]);
    free(a->w);
    free(a->alphas);
    free(a->weights);
    gad_model_free(a->head);
    gad_model_free(a->body);
    free(a);
}

size_t gad_attributor_bytes(const gad_attributor *a) {
    size_t b = 0;
    for (int i = 0; i < a->n_workers; i++) {
        if (!a->w[i].plan) continue;
        b += gad_plan_bytes(a->w[i].plan) + gad_plan_bytes(a->w[i].probe) + gad_plan_bytes(a->w[i].hplan);
        b += (size_t)a->batch * (2 * (size_t)(a->dz > a->d ? a->dz : a->d) + 2 * (size_t)a->k) * sizeof(float);
        b += 4 * (size_t)a->d * sizeof(float) + (a->head ? 4 * (size_t)a->dz * sizeof(float) : 0);
    }
    return b;
}

/* ---- noise: splitmix64 counter stream, Box-Muller ------------------- */

/* out = x + N(0, sigma^2), the stream keyed by `key`. */
static void add_noise(float *out, const float *x, size_t n, float sigma, uint64_t key) {
    for (size_t i = 0; i < n; i += 2) {
        uint64_t r1 = gad_mix64(key + 2 * i + 1), r2 = gad_mix64(key + 2 * i + 2);
        double u1 = ((r1 >> 11) + 1.0) * 0x1.0p-53; /* (0, 1]: log is finite */
        double u2 = (r2 >> 11) * 0x1.0p-53;
        double rad = sqrt(-2 * log(u1)) * sigma;
        out[i] = x[i] + (float)(rad * cos(6.283185307179586 * u2));
        if (i + 1 < n) out[i + 1] = x[i + 1] + (float)(rad * sin(6.283185307179586 * u2));
    }
}

/* ---- one image ------------------------------------------------------- */

static float target_score(const gad_target *t, const float *logits, int p) {
    return t->kind == GAD_TARGET_CONTRAST ? logits[p] - logits[t->q] : logits[p];
}

static int argmax(const float *v, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

/* dL/dlogits for the first `n` slots of a chunk (the rest stay 0). */
static void set_dlogits(const gad_attributor *a, worker *w, const gad_target *t, int n, int p) {
    memset(w->dlogits, 0, (size_t)a->batch * a->k * sizeof(float));
    for (int j = 0; j < n; j++) {
        w->dlogits[(size_t)j * a->k + p] = 1;
        if (t->kind == GAD_TARGET_CONTRAST) w->dlogits[(size_t)j * a->k + t->q] = -1;
    }
}

/* Network passes timed per worker for the results' forward/backward
 * seconds (omp_get_wtime costs nanoseconds against a pass's microseconds). */
static int fwd_timed(worker *w, gad_plan *p, const float *x, float *logits, gad_err *err) {
    double t = omp_get_wtime();
    int rc = gad_plan_forward(p, x, logits, err);
    w->t_fwd += omp_get_wtime() - t;
    return rc;
}

static int bwd_timed(worker *w, gad_plan *p, const float *dl, float *grad, gad_err *err) {
    double t = omp_get_wtime();
    int rc = gad_plan_backward(p, dl, grad, err);
    w->t_bwd += omp_get_wtime() - t;
    return rc;
}

/* Logits of one input (F(x), F(x')): through the head first when split. */
static int probe_fwd(const gad_attributor *a, worker *w, const float *in, float *logits, gad_err *err) {
    if (a->head) {
        int rc = fwd_timed(w, w->hplan, in, w->zp, err);
        if (rc) return rc;
        in = w->zp;
    }
    return fwd_timed(w, PROBE(w), in, logits, err);
}

#define KERNEL_TIMED(w, call)                \
    do {                                     \
        double t_ = omp_get_wtime();         \
        call;                                \
        (w)->t_ker += omp_get_wtime() - t_;  \
    } while (0)

/* IG of one (possibly noisy) input: out = (x - b) * sum_i w_i grad(b + a_i (x - b)).
 *
 * Through a split model the points run through the body only. The head h is
 * affine, so at every point h(b + a (x - b)) = h(b) + a (h(x) - h(b)): two
 * head passes an image give every point's body input. Its input gradient at
 * a point is J^T g (J the head's linear part, g the body's input gradient),
 * so the weighted sum over the points is J^T (sum_i w_i g_i): one head
 * backward an image. */
static int ig_one(gad_attributor *a, worker *w, const gad_target *t, const float *x, const float *b, int p,
                  float *out, gad_err *err) {
    const float *lo = b, *hi = x; /* the path's ends, in the plan's input space */
    float *acc = w->acc;
    size_t n = (size_t)a->d;
    int rc;
    if (a->head) {
        if ((rc = fwd_timed(w, w->hplan, x, w->zx, err)) || (rc = fwd_timed(w, w->hplan, b, w->zb, err)))
            return rc;
        lo = w->zb, hi = w->zx, acc = w->zacc, n = (size_t)a->dz;
    }
    memset(acc, 0, n * sizeof(float));
    for (int s = 0; s < a->cfg.steps; s += a->batch) {
        int nb = a->cfg.steps - s < a->batch ? a->cfg.steps - s : a->batch;
        for (int j = 0; j < nb; j++) {
            float al = (float)a->alphas[s + j];
            float *pt = w->xb + (size_t)j * n;
            for (size_t i = 0; i < n; i++) pt[i] = lo[i] + al * (hi[i] - lo[i]);
            w->w[j] = (float)a->weights[s + j];
        }
        rc = fwd_timed(w, w->plan, w->xb, w->logits, err);
        if (!rc) {
            set_dlogits(a, w, t, nb, p);
            rc = bwd_timed(w, w->plan, w->dlogits, w->grad, err);
        }
        if (rc) return rc;
        KERNEL_TIMED(w, gad_simd_accumulate(acc, w->grad, w->w, nb, n));
    }
    /* the head's backward needs a forward first; its own (of b) is there */
    if (a->head && (rc = bwd_timed(w, w->hplan, w->zacc, w->acc, err))) return rc;
    gad_simd_ig_finish(out, x, b, w->acc, 1.0f, (size_t)a->d);
    return 0;
}

/* ---- adaptive IG (--tolerance), see gad/attr.h ------------------------ */

/* Point i of the rule: where, F there, the path derivative <x - b, grad>
 * there, and the row of w->tol holding its gradient. */
typedef struct tol_point {
    double alpha, f, h;
    int row;
} tol_point;

/* Gradients (rows of w->tol), F and h at alphas[0..n). */
static int tol_eval(gad_attributor *a, worker *w, const gad_target *t, const float *x, const float *b, int p,
                    const double *alphas, int n, int row0, double *F, double *h, gad_err *err) {
    const size_t d = (size_t)a->d;
    for (int s = 0; s < n; s += a->batch) {
        int nb = n - s < a->batch ? n - s : a->batch;
        for (int j = 0; j < nb; j++) {
            float al = (float)alphas[s + j];
            float *pt = w->xb + (size_t)j * d;
            for (size_t i = 0; i < d; i++) pt[i] = b[i] + al * (x[i] - b[i]);
        }
        int rc = fwd_timed(w, w->plan, w->xb, w->logits, err);
        if (!rc) {
            set_dlogits(a, w, t, nb, p);
            rc = bwd_timed(w, w->plan, w->dlogits, w->grad, err);
        }
        if (rc) return rc;
        for (int j = 0; j < nb; j++) {
            const float *gr = w->grad + (size_t)j * d;
            double dot = 0;
            for (size_t i = 0; i < d; i++) dot += (double)(x[i] - b[i]) * gr[i];
            F[s + j] = target_score(t, w->logits + (size_t)j * a->k, p);
            h[s + j] = dot;
            memcpy(w->tol + (size_t)(row0 + s + j) * d, gr, d * sizeof(float));
        }
    }
    return 0;
}

/* Exact error of the rule on the interval ending at point i: the
 * trapezoid between points i-1 and i, the right-point rule on [0, alpha_0]
 * (no gradient at alpha = 0), minus the exact integral, the F difference. */
static double tol_err(const tol_point *q, int i, double f0) {
    if (i == 0) return q[0].alpha * q[0].h - (q[0].f - f0);
    return (q[i].alpha - q[i - 1].alpha) * 0.5 * (q[i - 1].h + q[i].h) - (q[i].f - q[i - 1].f);
}

/* Rows of w->tol for `rows` gradients: grown by doubling (from 32) up to
 * max_steps, and kept for the worker's next images. */
static int tol_reserve(const gad_attributor *a, worker *w, int rows, gad_err *err) {
    if (rows <= w->tol_rows) return 0;
    int want = w->tol_rows ? 2 * w->tol_rows : 32;
    if (want < rows) want = rows;
    if (want > a->cfg.max_steps) want = a->cfg.max_steps;
    float *nt = realloc(w->tol, (size_t)want * a->d * sizeof(float));
    if (!nt)
        return gad_err_set(err, GAD_ENOMEM, "%s: out of memory for adaptive IG (%d gradients of %d values)",
                           gad_model_name(a->m), want, a->d);
    w->tol = nt;
    w->tol_rows = want;
    return 0;
}

static int ig_tol_one(gad_attributor *a, worker *w, const gad_target *t, const float *x, const float *b, int p,
                      double f0, float *out, int *steps, gad_err *err) {
    const size_t d = (size_t)a->d;
    const int cap = a->cfg.max_steps;
    if (!w->tol_pt) {
        w->tol_pt = malloc((size_t)cap * sizeof *w->tol_pt);
        w->tol_w = malloc((size_t)cap * sizeof *w->tol_w);
        if (!w->tol_pt || !w->tol_w)
            return gad_err_set(err, GAD_ENOMEM, "%s: out of memory for adaptive IG", gad_model_name(a->m));
    }
    tol_point *q = w->tol_pt;
    /* start: alpha = 1/2 and 1 */
    double al[2] = {0.5, 1.0}, F[2], h[2];
    int rc = tol_reserve(a, w, 2, err);
    if (!rc) rc = tol_eval(a, w, t, x, b, p, al, 2, 0, F, h, err);
    if (rc) return rc;
    int n = 2;
    for (int i = 0; i < 2; i++) q[i] = (tol_point){al[i], F[i], h[i], i};
    /* F(x) from the same plan as the gradients, F(x') from the probe: the
     * errors below are then exact up to rounding */
    const double gap = q[1].f - f0, goal = a->cfg.tolerance / 10.0 * fabs(gap);
    for (;;) {
        double total = 0, worst = -1;
        int at = -1;
        for (int i = 0; i < n; i++) {
            double e = tol_err(q, i, f0);
            total += e;
            double width = q[i].alpha - (i ? q[i - 1].alpha : 0);
            if (fabs(e) > worst && width > 0x1p-20) worst = fabs(e), at = i;
        }
        if (fabs(total) <= goal || at < 0 || n >= cap) break; /* cap: rel_delta tells by how much */
        /* bisect the interval with the largest error */
        double mid = 0.5 * ((at ? q[at - 1].alpha : 0) + q[at].alpha);
        if ((rc = tol_reserve(a, w, n + 1, err)) || (rc = tol_eval(a, w, t, x, b, p, &mid, 1, n, F, h, err)))
            return rc;
        memmove(q + at + 1, q + at, (size_t)(n - at) * sizeof *q);
        q[at] = (tol_point){mid, F[0], h[0], n};
        n++;
    }
    /* the weights of that rule: a point weighs half the span of its two
     * intervals, the first point also the whole of [0, alpha_0] */
    for (int i = 0; i < n; i++) {
        double lo = i ? q[i - 1].alpha : 0, hi = i + 1 < n ? q[i + 1].alpha : q[i].alpha;
        double wt = 0.5 * (hi - lo) + (i ? 0 : 0.5 * q[0].alpha);
        w->tol_w[q[i].row] = (float)wt;
    }
    memset(w->acc, 0, d * sizeof(float));
    KERNEL_TIMED(w, gad_simd_accumulate(w->acc, w->tol, w->tol_w, n, d));
    gad_simd_ig_finish(out, x, b, w->acc, 1.0f, d);
    *steps = n;
    return 0;
}

/* Apply the single-gradient method to gradient g at input x. */
static void finish_gradient(gad_method m, float *out, const float *x, const float *g, size_t d) {
    if (m == GAD_METHOD_SALIENCY)
        gad_simd_abs(out, g, d);
    else if (m == GAD_METHOD_IXG)
        gad_simd_mul(out, x, g, d);
    else
        memcpy(out, g, d * sizeof(float));
}

static int attribute_one(gad_attributor *a, worker *w, const gad_target *t, const float *x,
                         const float *baseline, float *out, gad_attr_result *r, gad_err *err) {
    const size_t d = (size_t)a->d;
    const gad_attr_config *cfg = &a->cfg;
    double t0 = omp_get_wtime(), f0 = w->t_fwd, b0 = w->t_bwd, k0 = w->t_ker;
    memset(r, 0, sizeof *r);
    /* F(x) and the target: from a probe forward, except for one-gradient
     * methods without noise, whose single point is x itself: its forward in
     * the main plan (batch 1 then) gives them, and the probe would repeat it */
    const int single = cfg->method != GAD_METHOD_IG && cfg->noise == GAD_NOISE_NONE;
    int rc = single ? (memcpy(w->xb, x, d * sizeof(float)), fwd_timed(w, w->plan, w->xb, w->logits, err))
                    : probe_fwd(a, w, x, w->logits, err);
    if (rc) return rc;
    int p = t->kind == GAD_TARGET_PRED ? argmax(w->logits, a->k) : t->p;
    r->target_p = p;
    r->target_q = t->kind == GAD_TARGET_CONTRAST ? t->q : -1;
    r->score = target_score(t, w->logits, p);

    if (cfg->method == GAD_METHOD_IG) {
        const float *b = baseline;
        if (!b) {
            memset(w->tmp, 0, d * sizeof(float));
            b = w->tmp;
        }
        if ((rc = probe_fwd(a, w, b, w->logits, err))) return rc;
        r->baseline_score = target_score(t, w->logits, p);
        if (cfg->tolerance > 0) {
            if ((rc = ig_tol_one(a, w, t, x, b, p, r->baseline_score, out, &r->steps, err))) return rc;
        } else if (cfg->noise == GAD_NOISE_NONE) {
            if ((rc = ig_one(a, w, t, x, b, p, out, err))) return rc;
        } else {
            /* One full IG a noise sample; ig_one uses acc, so the tunnel's
             * sums live in `out` and acc_sq. */
            float mn, mx;
            gad_simd_minmax(x, d, &mn, &mx);
            uint64_t key = gad_mix64(cfg->seed ^ gad_hash_bytes(GAD_FNV_OFFSET, x, d * sizeof(float)));
            memset(out, 0, d * sizeof(float));
            memset(w->acc_sq, 0, d * sizeof(float));
            for (int s = 0; s < cfg->samples; s++) {
                add_noise(w->noisy, x, d, cfg->stdev * (mx - mn), key + (uint64_t)s * GAD_GOLDEN64);
                /* ig_one finishes in place: element i reads noisy[i] first */
                if ((rc = ig_one(a, w, t, w->noisy, b, p, w->noisy, err))) return rc;
                KERNEL_TIMED(w, gad_simd_accumulate_sq(out, w->acc_sq, w->noisy, d));
            }
        }
        if (cfg->tolerance <= 0) r->steps = cfg->steps * (cfg->noise == GAD_NOISE_NONE ? 1 : cfg->samples);
    } else {
        /* Single-gradient methods: the points are the noise samples (or x
         * itself), batched through the plan. */
        int total = cfg->noise == GAD_NOISE_NONE ? 1 : cfg->samples;
        float mn = 0, mx = 0;
        uint64_t key = 0;
        if (cfg->noise != GAD_NOISE_NONE) {
            gad_simd_minmax(x, d, &mn, &mx);
            key = gad_mix64(cfg->seed ^ gad_hash_bytes(GAD_FNV_OFFSET, x, d * sizeof(float)));
            memset(out, 0, d * sizeof(float));
            memset(w->acc_sq, 0, d * sizeof(float));
        }
        for (int s = 0; s < total; s += a->batch) {
            int nb = total - s < a->batch ? total - s : a->batch;
            for (int j = 0; j < nb; j++) {
                float *pt = w->xb + (size_t)j * d;
                if (cfg->noise == GAD_NOISE_NONE)
                    memcpy(pt, x, d * sizeof(float));
                else
                    add_noise(pt, x, d, cfg->stdev * (mx - mn), key + (uint64_t)(s + j) * GAD_GOLDEN64);
            }
            if (!single && (rc = fwd_timed(w, w->plan, w->xb, w->logits, err))) return rc;
            set_dlogits(a, w, t, nb, p);
            if ((rc = bwd_timed(w, w->plan, w->dlogits, w->grad, err))) return rc;
            for (int j = 0; j < nb; j++) {
                const float *g = w->grad + (size_t)j * d, *pt = w->xb + (size_t)j * d;
                if (cfg->noise == GAD_NOISE_NONE) {
                    finish_gradient(cfg->method, out, pt, g, d);
                } else {
                    finish_gradient(cfg->method, w->tmp, pt, g, d);
                    KERNEL_TIMED(w, gad_simd_accumulate_sq(out, w->acc_sq, w->tmp, d));
                }
            }
        }
        r->steps = total;
    }

    if (cfg->noise != GAD_NOISE_NONE) {
        float inv = 1.0f / (float)cfg->samples;
        if (cfg->noise == GAD_NOISE_SMOOTHGRAD) {
            gad_simd_scale(out, out, inv, d);
        } else if (cfg->noise == GAD_NOISE_SMOOTHGRAD_SQ) {
            gad_simd_scale(out, w->acc_sq, inv, d);
        } else { /* vargrad: E[r^2] - E[r]^2 */
            for (size_t i = 0; i < d; i++) {
                float mean = out[i] * inv;
                out[i] = w->acc_sq[i] * inv - mean * mean;
            }
        }
    }

    double sum = 0;
    for (size_t i = 0; i < d; i++) sum += out[i];
    r->attr_sum = (float)sum;
    if (cfg->method == GAD_METHOD_IG) {
        double gap = (double)r->score - r->baseline_score;
        r->delta = (float)(sum - gap);
        r->rel_delta = (float)(fabs(sum - gap) / fmax(fabs(gap), 1e-30));
    }
    r->seconds = omp_get_wtime() - t0;
    r->forward_seconds = w->t_fwd - f0;
    r->backward_seconds = w->t_bwd - b0;
    r->kernel_seconds = w->t_ker - k0;
    return 0;
}

int gad_attribute(gad_attributor *a, int n, const float *x, const float *baselines, const gad_target *targets,
                  float *attr, gad_attr_result *results, gad_err *err) {
    if (n <= 0) return 0;
    const size_t d = (size_t)a->d;
    int status = 0;
    for (int i = 0; targets && i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, "image %d", i);
        if ((status = check_target(&targets[i], a->k, what, err))) return status;
    }
#define TARGET(i) (targets ? &targets[i] : &a->cfg.target)
    if (n < a->n_workers || a->n_workers == 1) {
        /* Few images: one at a time, oneDNN uses every worker's thread */
        int ambient = omp_get_max_threads();
        omp_set_num_threads(a->n_workers);
        for (int i = 0; i < n && !status; i++) {
            status = attribute_one(a, &a->w[0], TARGET(i), x + i * d, baselines ? baselines + i * d : NULL,
                                   attr + i * d, &results[i], err);
        }
        omp_set_num_threads(ambient);
        return status;
    }
    /* The error reported is the one of the lowest-numbered failing image. */
    gad_err first = {0};
    int first_idx = n;
#pragma omp parallel num_threads(a->n_workers)
    {
        worker *w = &a->w[omp_get_thread_num()];
        gad_err e = {0};
        int rc = worker_init(a, w, &e), failed_at = rc ? -1 : n;
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < n; i++) {
            if (rc) continue;
            rc = attribute_one(a, w, TARGET(i), x + i * d, baselines ? baselines + i * d : NULL, attr + i * d,
                               &results[i], &e);
            if (rc) failed_at = i;
        }
        if (rc) {
#pragma omp critical(gad_attr_err)
            if (failed_at < first_idx) {
                first_idx = failed_at;
                first = e;
            }
        }
    }
    if (first.code) {
        if (err) *err = first;
        status = first.code;
    }
    return status;
}
#undef TARGET
