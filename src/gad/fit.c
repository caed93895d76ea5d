/* Fitting GAD's support regression models (see gad/fit.h).
 *
 * One plan (batch = the mini-batch size, backward to the weights) trains a
 * level; oneDNN spreads each mini-batch over the threads. The last partial
 * mini-batch of an epoch runs padded: padded rows get a zero loss gradient,
 * so they change nothing. Held-out evaluation uses the same plan forward.
 * The weights of the best held-out epoch are kept (early stopping restores
 * them), so a level never ends worse than its best epoch. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gad/fit.h"
#include "gad/gad.h"
#include "net/graph.h"
#include "core/mix.h"

void gad_fit_config_init(gad_fit_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->n_levels = 3;
    cfg->lambdas[0] = 1;
    cfg->lambdas[1] = 2;
    cfg->lambdas[2] = 4;
    cfg->labels = GAD_LABEL_PREDICTED;
    cfg->epochs = 30;
    cfg->batch = 32;
    cfg->lr = 1e-3;
    cfg->optimizer = GAD_OPT_ADAM;
    cfg->momentum = 0.9;
    cfg->holdout = 0.1;
    cfg->patience = 3;
    cfg->lr_drops = 1;
    cfg->lr_factor = 0.1;
}

void gad_fit_target(const float *a, int k, int c, int o, double d, int control, float *t) {
    memcpy(t, a, (size_t)k * sizeof *t);
    t[c] = (float)(a[c] + d / 2);
    t[o] = (float)(control ? a[o] + d / 2 : a[o] - d / 2);
}

void gad_fit_result_free(gad_fit_result *r) {
    for (int i = 0; i < 2 * GAD_FIT_MAX_LEVELS; i++) {
        gad_model_free(r->levels[i].model);
        r->levels[i].model = NULL;
    }
}

/* ---- helpers --------------------------------------------------------- */

/* Fisher-Yates with a splitmix64 stream: the same seed, the same order. */
static void shuffle(int *v, int n, uint64_t *state) {
    for (int i = n - 1; i > 0; i--) {
        *state = gad_mix64(*state + GAD_GOLDEN64);
        int j = (int)(*state % (uint64_t)(i + 1));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* Everything a fit needs, shared by the levels. */
typedef struct fit_ctx {
    const gad_model *f;
    const float *x;
    size_t d;
    int k, p, q, batch;
    int n, n_train, n_hold;
    int *idx;    /* fitting images: train first, then held out */
    int *cls;    /* c(x) per fitting image (index into idx order) */
    float *ref;  /* a(x), n x k, in idx order */
    float *tgt;  /* t(x), n x k */
    float *xb, *logits, *dlogits, *tb; /* batch buffers */
    const gad_fit_config *cfg;
} fit_ctx;

/* Forward the images idx[from..to) through plan, writing logits (rows in
 * idx order) to out. */
static int forward_range(fit_ctx *c, gad_plan *plan, int from, int to, float *out, gad_err *err) {
    for (int s = from; s < to; s += c->batch) {
        int nb = to - s < c->batch ? to - s : c->batch;
        for (int j = 0; j < nb; j++) memcpy(c->xb + j * c->d, c->x + (size_t)c->idx[s + j] * c->d, c->d * sizeof(float));
        int rc = gad_plan_forward(plan, c->xb, c->logits, err);
        if (rc) return rc;
        memcpy(out + (size_t)(s - from) * c->k, c->logits, (size_t)nb * c->k * sizeof(float));
    }
    return 0;
}

static int pair_argmax(const float *l, int p, int q) { return l[p] >= l[q] ? p : q; }

/* MSE (mean over rows and logits) and fidelity of logits g (rows from..to in
 * idx order) against the targets and f's decisions. */
static void score(const fit_ctx *c, const float *g, int from, int to, double *mse, double *fid) {
    double se = 0;
    int agree = 0;
    for (int i = from; i < to; i++) {
        const float *gi = g + (size_t)(i - from) * c->k, *ti = c->tgt + (size_t)i * c->k;
        for (int j = 0; j < c->k; j++) se += ((double)gi[j] - ti[j]) * ((double)gi[j] - ti[j]);
        const float *ai = c->ref + (size_t)i * c->k;
        agree += pair_argmax(gi, c->p, c->q) == pair_argmax(ai, c->p, c->q);
    }
    int n = to - from;
    *mse = n ? se / ((double)n * c->k) : 0;
    *fid = n ? (double)agree / n : 1;
}

typedef struct opt_state {
    int n;
    uint8_t *frozen; /* parameters left as in f */
    float **m, **v, **best, **grad;
    size_t *count;
    long t;
} opt_state;

static void opt_free(opt_state *o) {
    for (int i = 0; i < o->n; i++) {
        if (o->m) free(o->m[i]);
        if (o->v) free(o->v[i]);
        if (o->best) free(o->best[i]);
        if (o->grad) free(o->grad[i]);
    }
    free(o->m);
    free(o->v);
    free(o->best);
    free(o->grad);
    free(o->count);
    free(o->frozen);
    memset(o, 0, sizeof *o);
}

/* Freeze every parameter but those of the last `keep` Conv/Gemm layers. */
static void freeze_all_but(const gad_graph *g, int keep, uint8_t *frozen) {
    if (keep <= 0) return;
    memset(frozen, 1, (size_t)g->n_params);
    for (int i = g->n_nodes - 1; i >= 0 && keep > 0; i--) {
        const gad_node *nd = &g->nodes[i];
        if (nd->weight < 0) continue;
        frozen[nd->weight] = 0;
        if (nd->bias >= 0) frozen[nd->bias] = 0;
        keep--;
    }
}

static int opt_init(opt_state *o, const gad_model *g, int train_layers) {
    memset(o, 0, sizeof *o);
    o->n = gad_model_num_params(g);
    o->frozen = calloc((size_t)o->n + 1, 1);
    if (!o->frozen) return -1;
    freeze_all_but(g, train_layers, o->frozen);
    o->m = calloc((size_t)o->n, sizeof *o->m);
    o->v = calloc((size_t)o->n, sizeof *o->v);
    o->best = calloc((size_t)o->n, sizeof *o->best);
    o->grad = calloc((size_t)o->n, sizeof *o->grad);
    o->count = calloc((size_t)o->n, sizeof *o->count);
    if (!o->m || !o->v || !o->best || !o->grad || !o->count) return -1;
    for (int i = 0; i < o->n; i++) {
        gad_param_info pi;
        gad_model_param(g, i, &pi);
        o->count[i] = pi.count;
        o->m[i] = calloc(pi.count, sizeof(float));
        o->v[i] = calloc(pi.count, sizeof(float));
        o->best[i] = malloc(pi.count * sizeof(float));
        o->grad[i] = malloc(pi.count * sizeof(float));
        if (!o->m[i] || !o->v[i] || !o->best[i] || !o->grad[i]) return -1;
        memcpy(o->best[i], pi.data, pi.count * sizeof(float));
    }
    return 0;
}

double gad_mse_grad(const float *y, const float *t, int rows, int k, float *dy) {
    const float scale = 2.0f / ((float)rows * k);
    double se = 0;
    for (size_t i = 0; i < (size_t)rows * k; i++) {
        float diff = y[i] - t[i];
        se += (double)diff * diff;
        if (dy) dy[i] = scale * diff;
    }
    return se;
}

void gad_opt_update(gad_optimizer opt, double lr, double momentum, long t, float *w, const float *g, float *m,
                    float *v, size_t n) {
    if (opt == GAD_OPT_ADAM) {
        const double b1 = 0.9, b2 = 0.999;
        const float step = (float)(lr / (1 - pow(b1, (double)t))), rbc2 = (float)(1 / sqrt(1 - pow(b2, (double)t)));
        for (size_t j = 0; j < n; j++) {
            m[j] = 0.9f * m[j] + 0.1f * g[j];
            v[j] = 0.999f * v[j] + 0.001f * g[j] * g[j];
            w[j] -= step * m[j] / (sqrtf(v[j]) * rbc2 + 1e-8f);
        }
    } else {
        const float mu = (float)momentum, fl = (float)lr;
        for (size_t j = 0; j < n; j++) {
            m[j] = t == 1 ? g[j] : mu * m[j] + g[j];
            w[j] -= fl * m[j];
        }
    }
}

static int data_parallel(const gad_fit_config *cfg) { return cfg->ranks > 1 && cfg->allreduce; }

/* One optimizer step on every parameter of g from the plan's gradients
 * (have_grad = 0: this process had no rows in the mini-batch, its share of
 * the gradient is zero), summed over the processes when data-parallel. */
static int opt_step(opt_state *o, gad_model *g, gad_plan *plan, const gad_fit_config *cfg, double lr, int have_grad,
                    gad_err *err) {
    o->t++;
    for (int i = 0; i < o->n; i++) {
        if (o->frozen[i]) continue;
        if (have_grad) {
            int rc = gad_plan_param_grad(plan, i, o->grad[i], err);
            if (rc) return rc;
        } else {
            memset(o->grad[i], 0, o->count[i] * sizeof(float));
        }
        if (data_parallel(cfg)) cfg->allreduce(o->grad[i], o->count[i], cfg->allreduce_user);
        gad_param_info pi;
        gad_model_param(g, i, &pi);
        gad_opt_update(cfg->optimizer, lr, cfg->momentum, o->t, pi.data, o->grad[i], o->m[i], o->v[i],
                       o->count[i]);
    }
    return gad_plan_load_weights(plan, g, err);
}

static void save_best(opt_state *o, const gad_model *g) {
    for (int i = 0; i < o->n; i++) {
        gad_param_info pi;
        gad_model_param(g, i, &pi);
        memcpy(o->best[i], pi.data, pi.count * sizeof(float));
    }
}

static void restore_best(opt_state *o, gad_model *g) {
    for (int i = 0; i < o->n; i++) {
        gad_param_info pi;
        gad_model_param(g, i, &pi);
        memcpy(pi.data, o->best[i], pi.count * sizeof(float));
    }
}

/* Fit one level (targets already in c->tgt) into lv. */
static int fit_level(fit_ctx *c, int level_id, gad_fit_level *lv, gad_err *err) {
    const gad_fit_config *cfg = c->cfg;
    double t0 = omp_get_wtime();
    gad_model *g = NULL;
    gad_plan *plan = NULL;
    opt_state o = {0};
    int *order = malloc((size_t)c->n_train * sizeof *order);
    float *eval = malloc((size_t)c->n * c->k * sizeof *eval);
    int rc = order && eval ? 0 : gad_err_set(err, GAD_ENOMEM, "fit: out of memory");
    if (!rc) rc = gad_model_clone(c->f, &g, err);
    if (!rc) rc = gad_plan_create(g, c->batch, GAD_PLAN_BACKWARD_WEIGHTS, &plan, err);
    if (!rc && opt_init(&o, g, cfg->train_layers)) rc = gad_err_set(err, GAD_ENOMEM, "fit: out of memory for optimizer state");
    if (rc) goto done;

    const int dp = data_parallel(cfg);
    if (dp && (cfg->rank < 0 || cfg->rank >= cfg->ranks)) {
        rc = gad_err_set(err, GAD_EINVAL, "fit: rank %d outside [0, %d)", cfg->rank, cfg->ranks);
        goto done;
    }
    for (int i = 0; i < c->n_train; i++) order[i] = i;
    uint64_t rng = cfg->seed * GAD_GOLDEN64 + (uint64_t)(level_id + 1000);
    double best = INFINITY, lr = cfg->lr;
    int since_best = 0, drops = 0;
    lv->best_epoch = 0;
    for (int epoch = 1; epoch <= cfg->epochs; epoch++) {
        shuffle(order, c->n_train, &rng);
        double run_se = 0;
        for (int s = 0; s < c->n_train; s += c->batch) {
            int nb = c->n_train - s < c->batch ? c->n_train - s : c->batch;
            /* this process's rows of the mini-batch (all of them unless
             * data-parallel) */
            int mr = 0;
            for (int j = dp ? cfg->rank : 0; j < nb; j += dp ? cfg->ranks : 1, mr++) {
                memcpy(c->xb + mr * c->d, c->x + (size_t)c->idx[order[s + j]] * c->d, c->d * sizeof(float));
                memcpy(c->tb + (size_t)mr * c->k, c->tgt + (size_t)order[s + j] * c->k, (size_t)c->k * sizeof(float));
            }
            if (mr) {
                if ((rc = gad_plan_forward(plan, c->xb, c->logits, err))) goto done;
                /* padded rows keep a zero gradient */
                memset(c->dlogits, 0, (size_t)c->batch * c->k * sizeof(float));
                run_se += gad_mse_grad(c->logits, c->tb, mr, c->k, c->dlogits);
                /* the loss is the mean over the whole mini-batch's nb rows */
                if (mr != nb)
                    for (size_t j = 0; j < (size_t)mr * c->k; j++) c->dlogits[j] *= (float)mr / (float)nb;
                if ((rc = gad_plan_backward(plan, c->dlogits, NULL, err))) goto done;
            }
            if ((rc = opt_step(&o, g, plan, cfg, lr, mr > 0, err))) goto done;
        }
        if (dp) {
            float se = (float)run_se;
            cfg->allreduce(&se, 1, cfg->allreduce_user);
            run_se = se;
        }
        gad_fit_progress pr = {.level = level_id, .epoch = epoch, .epochs = cfg->epochs,
                               .train_mse = run_se / ((double)c->n_train * c->k)};
        lv->epochs_run = epoch;
        if (c->n_hold > 0) {
            if ((rc = forward_range(c, plan, c->n_train, c->n, eval, err))) goto done;
            score(c, eval, c->n_train, c->n, &pr.holdout_mse, &pr.holdout_fidelity);
            if (pr.holdout_mse < best) {
                best = pr.holdout_mse;
                since_best = 0;
                lv->best_epoch = epoch;
                pr.best = 1;
                save_best(&o, g);
            } else {
                since_best++;
            }
        } else {
            lv->best_epoch = epoch;
            pr.best = 1;
            save_best(&o, g);
        }
        if (cfg->progress) cfg->progress(&pr, cfg->user);
        if (c->n_hold > 0 && since_best >= cfg->patience) {
            if (drops >= cfg->lr_drops) break;
            /* plateau: back to the best weights with a smaller step */
            drops++;
            lr *= cfg->lr_factor;
            since_best = 0;
            restore_best(&o, g);
            if ((rc = gad_plan_load_weights(plan, g, err))) goto done;
        }
    }
    restore_best(&o, g);
    if ((rc = gad_plan_load_weights(plan, g, err))) goto done;
    /* final figures with the kept weights */
    if ((rc = forward_range(c, plan, 0, c->n, eval, err))) goto done;
    score(c, eval, 0, c->n_train, &lv->train_mse, &lv->train_fidelity);
    score(c, eval + (size_t)c->n_train * c->k, c->n_train, c->n, &lv->holdout_mse, &lv->holdout_fidelity);
    double gap = 0;
    for (int i = 0; i < c->n; i++) {
        int cc = c->cls[i], oo = cc == c->p ? c->q : c->p;
        gap += (double)eval[(size_t)i * c->k + cc] - eval[(size_t)i * c->k + oo];
    }
    lv->gap_mean = gap / c->n;
    lv->model = g;
    g = NULL;
done:
    lv->seconds = omp_get_wtime() - t0;
    opt_free(&o);
    gad_plan_free(plan);
    gad_model_free(g);
    free(order);
    free(eval);
    return rc;
}

int gad_fit(const gad_model *f, const float *x, const int *labels, int n, const gad_fit_config *cfg,
            gad_fit_result *res, gad_err *err) {
    memset(res, 0, sizeof *res);
    const char *name = gad_model_name(f);
    double t0 = omp_get_wtime();
    int k = gad_model_num_classes(f), ch, h, w;
    gad_model_input_dims(f, &ch, &h, &w);
    if (cfg->p < 0 || cfg->p >= k || cfg->q < 0 || cfg->q >= k || cfg->p == cfg->q)
        return gad_err_set(err, GAD_EINVAL, "%s: pair %d,%d is not two different classes among the model's %d outputs",
                           name, cfg->p, cfg->q, k);
    if (cfg->n_levels < 1 || cfg->n_levels > GAD_FIT_MAX_LEVELS)
        return gad_err_set(err, GAD_EINVAL, "fit: %d levels is out of range [1, %d]", cfg->n_levels, GAD_FIT_MAX_LEVELS);
    for (int i = 0; i < cfg->n_levels; i++)
        if (!(cfg->lambdas[i] > 0) || !isfinite(cfg->lambdas[i]))
            return gad_err_set(err, GAD_EINVAL, "fit: level %d has distance factor %g (must be > 0)", i + 1,
                               cfg->lambdas[i]);
    if (cfg->epochs < 1 || cfg->batch < 1 || !(cfg->lr > 0) || !(cfg->holdout >= 0 && cfg->holdout < 1) ||
        cfg->patience < 1 || cfg->lr_drops < 0 || !(cfg->lr_factor > 0 && cfg->lr_factor <= 1))
        return gad_err_set(err, GAD_EINVAL, "fit: epochs, batch, lr, patience must be positive, holdout in [0, 1), the lr factor in (0, 1]");
    if (cfg->labels == GAD_LABEL_GIVEN && !labels)
        return gad_err_set(err, GAD_EINVAL, "fit: given labels were asked for but none were passed");

    fit_ctx c = {.f = f, .x = x, .d = (size_t)ch * h * w, .k = k, .p = cfg->p, .q = cfg->q, .cfg = cfg};
    c.batch = cfg->batch;
    gad_plan *fplan = NULL;
    int rc = 0;
    c.idx = malloc((size_t)(n > 0 ? n : 1) * sizeof *c.idx);
    c.cls = malloc((size_t)(n > 0 ? n : 1) * sizeof *c.cls);
    c.ref = malloc((size_t)(n > 0 ? n : 1) * k * sizeof *c.ref);
    c.tgt = malloc((size_t)(n > 0 ? n : 1) * k * sizeof *c.tgt);
    c.xb = calloc((size_t)c.batch * c.d, sizeof *c.xb);
    c.logits = malloc((size_t)c.batch * k * sizeof *c.logits);
    c.dlogits = malloc((size_t)c.batch * k * sizeof *c.dlogits);
    c.tb = malloc((size_t)c.batch * k * sizeof *c.tb);
    if (!c.idx || !c.cls || !c.ref || !c.tgt || !c.xb || !c.logits || !c.dlogits || !c.tb) {
        rc = gad_err_set(err, GAD_ENOMEM, "fit: out of memory");
        goto done;
    }
    /* candidates: every image, or those labelled p or q */
    for (int i = 0; i < n; i++)
        if (!labels || labels[i] == cfg->p || labels[i] == cfg->q) c.idx[c.n++] = i;
    /* reference logits a(x), then the fitting set and classes c(x): with
     * predicted labels only images f assigns to p or q (arg-max over all
     * classes) take part; "pair" keeps every candidate with the arg-max
     * over the pair; given labels keep every candidate */
    if (c.n && (rc = gad_plan_create(f, c.batch, GAD_PLAN_FORWARD, &fplan, err))) goto done;
    if (c.n && (rc = forward_range(&c, fplan, 0, c.n, c.ref, err))) goto done;
    int kept = 0;
    for (int i = 0; i < c.n; i++) {
        const float *a = c.ref + (size_t)i * k;
        int best = 0;
        for (int j = 0; j < k; j++) {
            if (!isfinite(a[j])) {
                rc = gad_err_set(err, GAD_EVALUE, "%s: logits of fitting image %d are not finite", name, c.idx[i]);
                goto done;
            }
            if (a[j] > a[best]) best = j;
        }
        int cls = cfg->labels == GAD_LABEL_GIVEN ? labels[c.idx[i]] : pair_argmax(a, cfg->p, cfg->q);
        if (cfg->labels == GAD_LABEL_PREDICTED && best != cfg->p && best != cfg->q) continue;
        c.idx[kept] = c.idx[i];
        c.cls[kept] = cls;
        memmove(c.ref + (size_t)kept * k, a, (size_t)k * sizeof *c.ref);
        kept++;
    }
    res->n_left_out = c.n - kept;
    c.n = kept;
    if (c.n < 2) {
        rc = gad_err_set(err, GAD_EINVAL, "fit: %d images of classes %d and %d%s; at least 2 are needed", c.n, cfg->p,
                         cfg->q, cfg->labels == GAD_LABEL_PREDICTED ? " (predicted as one of them)" : "");
        goto done;
    }
    /* split: shuffle by seed, the first share held out; training images
     * come first in idx (and cls, ref follow the same permutation) */
    {
        int *perm = malloc((size_t)c.n * sizeof *perm), *ti = malloc((size_t)c.n * sizeof *ti);
        int *tc = malloc((size_t)c.n * sizeof *tc);
        float *tr = malloc((size_t)c.n * k * sizeof *tr);
        if (!perm || !ti || !tc || !tr) {
            free(perm);
            free(ti);
            free(tc);
            free(tr);
            rc = gad_err_set(err, GAD_ENOMEM, "fit: out of memory");
            goto done;
        }
        for (int i = 0; i < c.n; i++) perm[i] = i;
        uint64_t rng = cfg->seed;
        shuffle(perm, c.n, &rng);
        c.n_hold = (int)lround(cfg->holdout * c.n);
        if (cfg->holdout > 0 && c.n_hold == 0) c.n_hold = 1;
        if (c.n_hold >= c.n) c.n_hold = c.n - 1;
        c.n_train = c.n - c.n_hold;
        for (int i = 0; i < c.n; i++) {
            int src = perm[(i + c.n_hold) % c.n]; /* held-out block rotated to the end */
            ti[i] = c.idx[src];
            tc[i] = c.cls[src];
            memcpy(tr + (size_t)i * k, c.ref + (size_t)src * k, (size_t)k * sizeof *tr);
        }
        memcpy(c.idx, ti, (size_t)c.n * sizeof *ti);
        memcpy(c.cls, tc, (size_t)c.n * sizeof *tc);
        memcpy(c.ref, tr, (size_t)c.n * k * sizeof *tr);
        free(perm);
        free(ti);
        free(tc);
        free(tr);
    }
    double sum = 0, sum2 = 0, gsum = 0;
    for (int i = 0; i < c.n; i++) {
        const float *a = c.ref + (size_t)i * k;
        res->n_class_p += c.cls[i] == cfg->p;
        double gap = (double)a[cfg->p] - a[cfg->q];
        sum += gap;
        sum2 += gap * gap;
        int o = c.cls[i] == cfg->p ? cfg->q : cfg->p;
        gsum += (double)a[c.cls[i]] - a[o];
    }
    res->n_class_q = c.n - res->n_class_p;
    if (!res->n_class_p || !res->n_class_q) {
        rc = gad_err_set(err, GAD_EINVAL,
                         "fit: all %d fitting images are of class %d (%s labels); GAD needs both classes of the pair",
                         c.n, res->n_class_p ? cfg->p : cfg->q, cfg->labels == GAD_LABEL_GIVEN ? "given" : "predicted");
        goto done;
    }
    double mean = sum / c.n;
    res->gap_std = sqrt(fmax(0, (sum2 - c.n * mean * mean) / (c.n - 1)));
    res->gap_mean = gsum / c.n;
    if (!(res->gap_std > 0)) {
        rc = gad_err_set(err, GAD_EVALUE, "%s: the gap between classes %d and %d is the same on every image", name,
                         cfg->p, cfg->q);
        goto done;
    }
    res->p = cfg->p;
    res->q = cfg->q;
    res->n_images = c.n;
    res->n_train = c.n_train;
    res->n_holdout = c.n_hold;

    int total = cfg->n_levels * (cfg->control ? 2 : 1);
    for (int l = 0; l < total && !rc; l++) {
        int control = l >= cfg->n_levels;
        gad_fit_level *lv = &res->levels[l];
        lv->lambda = cfg->lambdas[l % cfg->n_levels];
        lv->distance = lv->lambda * res->gap_std;
        lv->control = control;
        for (int i = 0; i < c.n; i++) {
            int cc = c.cls[i], oo = cc == cfg->p ? cfg->q : cfg->p;
            gad_fit_target(c.ref + (size_t)i * k, k, cc, oo, lv->distance, control, c.tgt + (size_t)i * k);
        }
        int id = control ? -(l - cfg->n_levels + 1) : l + 1;
        rc = fit_level(&c, id, lv, err);
        res->n_levels = l + 1;
    }
done:
    res->seconds = omp_get_wtime() - t0;
    if (rc) gad_fit_result_free(res);
    gad_plan_free(fplan);
    free(c.idx);
    free(c.cls);
    free(c.ref);
    free(c.tgt);
    free(c.xb);
    free(c.logits);
    free(c.dlogits);
    free(c.tb);
    return rc;
}
