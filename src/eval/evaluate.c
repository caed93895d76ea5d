/* The evaluation driver (see gad/evaluate.h). Every model input an image
 * needs is described first as a job list; jobs are then built and run
 * `batch` at a time, so memory does not grow with curve points, budgets or
 * selections, and the outputs land in per-job slots read back afterwards. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gad/evaluate.h"
#include "gad/gad.h"
#include "core/mix.h"

enum { JOB_REF, JOB_OCCLUDE, JOB_DELETE, JOB_INSERT, JOB_BUDGET };

typedef struct job {
    int kind, sel;
    size_t k; /* pixels (curves, budgets) */
} job;

struct gad_evaluator {
    gad_evaluate_config cfg;
    const gad_model *f;
    gad_plan *plan;
    int c, h, w, nc, batch, max_jobs;
    size_t hw, d;
    float *in, *logits;
    job *jobs;
    double *j_logit, *j_prob;
    int *j_dec;
    uint8_t *mask[GAD_SEL_COUNT];
    size_t *order[GAD_SEL_COUNT];
    uint8_t *info;
    float *rmask, *rkey, *selmap;
};

static const char *const sel_names[GAD_SEL_COUNT] = {"gad", "plain", "plain_top", "random", "control"};
static const char *const metric_names[GAD_EM_COUNT] = {
    "pixels",         "hull_area",    "regions",        "sparseness",          "occlusion_drop",
    "occlusion_drop_per_pixel",       "probability_drop", "flipped",           "deletion_auc",
    "insertion_auc",  "mass_in_mask", "pointing_game"};

const char *gad_eval_selection_name(int s) { return s >= 0 && s < GAD_SEL_COUNT ? sel_names[s] : NULL; }
const char *gad_eval_metric_name(int m) { return m >= 0 && m < GAD_EM_COUNT ? metric_names[m] : NULL; }

void gad_evaluate_config_init(gad_evaluate_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->top = 0.10;
    cfg->curve_points = 21;
    cfg->n_budgets = 3;
    cfg->budgets[0] = 0.05;
    cfg->budgets[1] = 0.10;
    cfg->budgets[2] = 0.20;
    cfg->batch = 32;
    cfg->p = cfg->q = -1;
}

void gad_evaluator_free(gad_evaluator *e) {
    if (!e) return;
    gad_plan_free(e->plan);
    free(e->in);
    free(e->logits);
    free(e->jobs);
    free(e->j_logit);
    free(e->j_prob);
    free(e->j_dec);
    for (int s = 0; s < GAD_SEL_COUNT; s++) {
        free(e->mask[s]);
        free(e->order[s]);
    }
    free(e->info);
    free(e->rmask);
    free(e->rkey);
    free(e->selmap);
    free(e);
}

int gad_evaluator_create(const gad_model *f, const gad_evaluate_config *cfg, gad_evaluator **out, gad_err *err) {
    *out = NULL;
    const char *name = gad_model_name(f);
    int nc = gad_model_num_classes(f);
    if (!(cfg->top > 0 && cfg->top <= 1))
        return gad_err_set(err, GAD_EINVAL, "evaluate: top share %g is not in (0, 1]", cfg->top);
    if (cfg->curve_points < 2 || cfg->curve_points > GAD_EVAL_MAX_POINTS)
        return gad_err_set(err, GAD_EINVAL, "evaluate: %d curve points (need 2 to %d)", cfg->curve_points,
                           GAD_EVAL_MAX_POINTS);
    if (cfg->n_budgets < 0 || cfg->n_budgets > GAD_EVAL_MAX_BUDGETS)
        return gad_err_set(err, GAD_EINVAL, "evaluate: %d budgets (at most %d)", cfg->n_budgets,
                           GAD_EVAL_MAX_BUDGETS);
    for (int b = 0; b < cfg->n_budgets; b++)
        if (!(cfg->budgets[b] > 0 && cfg->budgets[b] <= 1))
            return gad_err_set(err, GAD_EINVAL, "evaluate: budget %g is not a share in (0, 1]", cfg->budgets[b]);
    if (cfg->batch < 1 || cfg->batch > 4096)
        return gad_err_set(err, GAD_EINVAL, "evaluate: batch %d is not in [1, 4096]", cfg->batch);
    if ((cfg->p >= 0 || cfg->q >= 0) && (cfg->p < 0 || cfg->q < 0 || cfg->p >= nc || cfg->q >= nc || cfg->p == cfg->q))
        return gad_err_set(err, GAD_EINVAL, "%s: pair %d,%d is not two different classes among %d outputs", name,
                           cfg->p, cfg->q, nc);
    int c, h, w;
    gad_model_input_dims(f, &c, &h, &w);
    if (h <= 0 || w <= 0)
        return gad_err_set(err, GAD_EINVAL, "%s: the input size must be fixed before evaluating", name);
    gad_evaluator *e = calloc(1, sizeof *e);
    if (!e) return gad_err_set(err, GAD_ENOMEM, "evaluate: out of memory");
    e->cfg = *cfg;
    e->f = f;
    e->c = c, e->h = h, e->w = w, e->nc = nc;
    e->hw = (size_t)h * w;
    e->d = (size_t)c * e->hw;
    e->batch = cfg->batch;
    e->max_jobs = 1 + GAD_SEL_COUNT * (1 + 2 * cfg->curve_points + cfg->n_budgets);
    int rc = gad_plan_create(f, e->batch, GAD_PLAN_FORWARD, &e->plan, err);
    if (rc) {
        gad_evaluator_free(e);
        return rc;
    }
    e->in = malloc((size_t)e->batch * e->d * sizeof *e->in);
    e->logits = malloc((size_t)e->batch * nc * sizeof *e->logits);
    e->jobs = malloc((size_t)e->max_jobs * sizeof *e->jobs);
    e->j_logit = malloc((size_t)e->max_jobs * sizeof *e->j_logit);
    e->j_prob = malloc((size_t)e->max_jobs * sizeof *e->j_prob);
    e->j_dec = malloc((size_t)e->max_jobs * sizeof *e->j_dec);
    int ok = e->in && e->logits && e->jobs && e->j_logit && e->j_prob && e->j_dec;
    for (int s = 0; s < GAD_SEL_COUNT && ok; s++) {
        e->mask[s] = malloc(e->hw);
        e->order[s] = malloc(e->hw * sizeof **e->order);
        ok = e->mask[s] && e->order[s];
    }
    e->info = malloc(e->hw);
    e->rmask = malloc(e->hw * sizeof *e->rmask);
    e->rkey = malloc(e->hw * sizeof *e->rkey);
    e->selmap = malloc(e->hw * sizeof *e->selmap);
    if (!ok || !e->info || !e->rmask || !e->rkey || !e->selmap) {
        gad_evaluator_free(e);
        return gad_err_set(err, GAD_ENOMEM, "%s: out of memory for the evaluator (%dx%dx%d, batch %d)", name, c, h,
                           w, cfg->batch);
    }
    *out = e;
    return 0;
}

/* A uniform value in [0, 1) per (seed, pixel); a different stream from the
 * selection functions' tie keys, so the random order is not their ranking. */
static float uniform_key(uint64_t seed, size_t i) {
    uint64_t z = gad_mix64(gad_mix64(seed ^ 0x5EEDC0DE0DDBA11ull) + (uint64_t)i * 0x9E3779B97F4A7C15ull);
    return (float)((z >> 40) * (1.0 / 16777216.0));
}

static int decide(const gad_evaluator *e, const float *l) {
    if (e->cfg.p >= 0) return l[e->cfg.p] >= l[e->cfg.q] ? e->cfg.p : e->cfg.q;
    int best = 0;
    for (int k = 1; k < e->nc; k++)
        if (l[k] > l[best]) best = k;
    return best;
}

static double softmax_at(const float *l, int n, int c) {
    double mx = l[0];
    for (int k = 1; k < n; k++)
        if (l[k] > mx) mx = l[k];
    double s = 0;
    for (int k = 0; k < n; k++) s += exp((double)l[k] - mx);
    return exp((double)l[c] - mx) / s;
}

static void build_input(const gad_evaluator *e, const gad_evaluate_input *in, const job *j, float *out) {
    switch (j->kind) {
    case JOB_REF: memcpy(out, in->x, e->d * sizeof *out); break;
    case JOB_OCCLUDE: gad_occlude(out, in->x, in->baseline, e->mask[j->sel], e->c, e->hw); break;
    case JOB_DELETE:
    case JOB_BUDGET: gad_curve_input(out, in->x, in->baseline, e->order[j->sel], j->k, e->c, e->hw, 0); break;
    case JOB_INSERT: gad_curve_input(out, in->x, in->baseline, e->order[j->sel], j->k, e->c, e->hw, 1); break;
    }
}

static size_t count_mask(const uint8_t *m, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += m[i] != 0;
    return c;
}

int gad_evaluate(gad_evaluator *e, const gad_evaluate_input *in, gad_evaluate_result *res, double *curves,
                 double *shares, gad_err *err) {
    const char *name = gad_model_name(e->f);
    const size_t hw = e->hw;
    const int P = e->cfg.curve_points, B = e->cfg.n_budgets;
    const uint64_t seed = e->cfg.seed;
    if (!in->x || !in->baseline || !in->plain_map)
        return gad_err_set(err, GAD_EINVAL, "evaluate: the input, its baseline and the plain map are required");
    if (!in->gad_map != !in->gad_mask || !in->control_map != !in->control_mask)
        return gad_err_set(err, GAD_EINVAL, "evaluate: a selection needs both its map and its mask");
    if (in->target < 0 || in->target >= e->nc)
        return gad_err_set(err, GAD_EINVAL, "%s: target class %d is outside the model's %d outputs", name,
                           in->target, e->nc);
    memset(res, 0, sizeof *res);
    res->target = in->target;
    const float *src[GAD_SEL_COUNT] = {0};
    int have_gad = in->gad_mask != NULL;
    size_t n_gad = 0;
    if (have_gad) {
        for (size_t i = 0; i < hw; i++) n_gad += e->mask[GAD_SEL_GAD][i] = in->gad_mask[i] != 0;
        src[GAD_SEL_GAD] = in->gad_map;
        gad_select_top(e->mask[GAD_SEL_PLAIN], in->plain_map, hw, n_gad, seed);
        src[GAD_SEL_PLAIN] = in->plain_map;
    }
    size_t n_top = gad_select_top_share(e->mask[GAD_SEL_PLAIN_TOP], in->plain_map, hw, e->cfg.top, seed);
    src[GAD_SEL_PLAIN_TOP] = in->plain_map;
    gad_informative_pixels(e->info, in->x, in->baseline, e->c, hw);
    gad_select_random(e->mask[GAD_SEL_RANDOM], e->info, hw, have_gad ? n_gad : n_top, seed);
    for (size_t i = 0; i < hw; i++) {
        e->rmask[i] = e->mask[GAD_SEL_RANDOM][i] ? 1.0f : 0.0f;
        e->rkey[i] = (e->mask[GAD_SEL_RANDOM][i] ? 2.0f : e->info[i] ? 1.0f : 0.0f) + uniform_key(seed, i);
    }
    src[GAD_SEL_RANDOM] = e->rmask;
    if (in->control_mask) {
        for (size_t i = 0; i < hw; i++) e->mask[GAD_SEL_CONTROL][i] = in->control_mask[i] != 0;
        src[GAD_SEL_CONTROL] = in->control_map;
    }
    for (int s = 0; s < GAD_SEL_COUNT; s++) {
        res->sel[s].present = src[s] != NULL;
        if (src[s]) gad_curve_order(e->order[s], s == GAD_SEL_RANDOM ? e->rkey : src[s], hw, seed);
    }

    /* the job list: reference, then per selection occlusion, curves, budgets */
    int nj = 0;
    e->jobs[nj++] = (job){JOB_REF, 0, 0};
    for (int s = 0; s < GAD_SEL_COUNT; s++) {
        if (!src[s]) continue;
        e->jobs[nj++] = (job){JOB_OCCLUDE, s, 0};
        for (int i = 0; i < P; i++) {
            size_t k = gad_budget_pixels((double)i / (P - 1), hw);
            e->jobs[nj++] = (job){JOB_DELETE, s, k};
            e->jobs[nj++] = (job){JOB_INSERT, s, k};
        }
        for (int b = 0; b < B; b++) e->jobs[nj++] = (job){JOB_BUDGET, s, gad_budget_pixels(e->cfg.budgets[b], hw)};
    }
    for (int start = 0; start < nj; start += e->batch) {
        int m = nj - start < e->batch ? nj - start : e->batch;
        for (int i = 0; i < m; i++) build_input(e, in, &e->jobs[start + i], e->in + (size_t)i * e->d);
        /* rows past m keep older inputs; their outputs are ignored */
        int rc = gad_plan_forward(e->plan, e->in, e->logits, err);
        if (rc) return rc;
        for (int i = 0; i < m; i++) {
            const float *l = e->logits + (size_t)i * e->nc;
            e->j_logit[start + i] = l[in->target];
            e->j_prob[start + i] = softmax_at(l, e->nc, in->target);
            e->j_dec[start + i] = decide(e, l);
        }
    }

    /* read the job outputs back in the order they were listed */
    const double L0 = e->j_logit[0], P0 = e->j_prob[0];
    const int D0 = e->j_dec[0];
    res->logit = (float)L0;
    res->prob = (float)P0;
    res->decision = D0;
    double xs[GAD_EVAL_MAX_POINTS], del[GAD_EVAL_MAX_POINTS], ins[GAD_EVAL_MAX_POINTS];
    for (int i = 0; i < P; i++) xs[i] = (double)i / (P - 1);
    if (shares) memcpy(shares, xs, (size_t)P * sizeof *shares);
    int j = 1;
    for (int s = 0; s < GAD_SEL_COUNT; s++) {
        gad_eval_sel_result *r = &res->sel[s];
        for (int m = 0; m < GAD_EM_COUNT; m++) r->v[m] = NAN;
        for (int b = 0; b < GAD_EVAL_MAX_BUDGETS; b++) r->budget_drop[b] = NAN;
        if (!src[s]) {
            if (curves)
                for (int i = 0; i < 2 * P; i++) curves[(size_t)2 * s * P + i] = NAN;
            continue;
        }
        const uint8_t *mk = e->mask[s];
        size_t n = count_mask(mk, hw);
        r->v[GAD_EM_PIXELS] = (double)n;
        r->v[GAD_EM_HULL_AREA] = gad_hull_area(mk, e->h, e->w);
        int regions = gad_count_regions(mk, e->h, e->w, NULL);
        if (regions < 0) return gad_err_set(err, regions, "evaluate: cannot count the regions of a %dx%d mask", e->h, e->w);
        r->v[GAD_EM_REGIONS] = regions;
        r->v[GAD_EM_SPARSENESS] = gad_gini(src[s], hw);
        double drop = L0 - e->j_logit[j];
        r->v[GAD_EM_OCCLUSION_DROP] = drop;
        r->v[GAD_EM_OCCLUSION_DROP_PER_PIXEL] = n ? drop / (double)n : NAN;
        r->v[GAD_EM_PROBABILITY_DROP] = P0 - e->j_prob[j];
        r->v[GAD_EM_FLIPPED] = e->j_dec[j] != D0;
        j++;
        for (int i = 0; i < P; i++) {
            del[i] = e->j_prob[j++];
            ins[i] = e->j_prob[j++];
        }
        r->v[GAD_EM_DELETION_AUC] = gad_auc(xs, del, P);
        r->v[GAD_EM_INSERTION_AUC] = gad_auc(xs, ins, P);
        if (curves) {
            memcpy(curves + (size_t)2 * s * P, del, (size_t)P * sizeof *curves);
            memcpy(curves + (size_t)(2 * s + 1) * P, ins, (size_t)P * sizeof *curves);
        }
        for (int b = 0; b < B; b++) r->budget_drop[b] = L0 - e->j_logit[j++];
        if (in->gt && n) {
            /* the source map over the selection only: NaN counts as neither
             * mass nor a pointing candidate */
            for (size_t i = 0; i < hw; i++) e->selmap[i] = mk[i] ? src[s][i] : NAN;
            r->v[GAD_EM_MASS_IN_MASK] = gad_mass_in_mask(e->selmap, in->gt, hw);
            r->v[GAD_EM_POINTING_GAME] = s == GAD_SEL_RANDOM ? (in->gt[e->order[s][0]] != 0)
                                                             : gad_pointing_game(e->selmap, in->gt, hw);
        }
    }
    return 0;
}

double gad_evaluate_value(const gad_evaluate_result *r, int sel, int metric) {
    if (sel < 0 || sel >= GAD_SEL_COUNT || !r->sel[sel].present) return NAN;
    if (metric >= 0 && metric < GAD_EM_COUNT) return r->sel[sel].v[metric];
    if (metric >= GAD_EM_COUNT && metric < GAD_EM_COUNT + GAD_EVAL_MAX_BUDGETS)
        return r->sel[sel].budget_drop[metric - GAD_EM_COUNT];
    return NAN;
}

int gad_evaluate_summary(const gad_evaluate_result *r, int n, int sel, int metric, double *mean, double *std) {
    /* Welford, so no buffer is needed */
    int k = 0;
    double mu = 0, m2 = 0;
    for (int i = 0; i < n; i++) {
        double v = gad_evaluate_value(&r[i], sel, metric);
        if (!isfinite(v)) continue;
        k++;
        double dlt = v - mu;
        mu += dlt / k;
        m2 += dlt * (v - mu);
    }
    if (mean) *mean = k ? mu : NAN;
    if (std) *std = k > 1 ? sqrt(m2 / (k - 1)) : k ? 0 : NAN;
    return k;
}

int gad_evaluate_paired(const gad_evaluate_result *r, int n, int sel_a, int sel_b, int metric, double *mean,
                        double *lo, double *hi) {
    if (mean) *mean = NAN;
    if (lo) *lo = NAN;
    if (hi) *hi = NAN;
    double *a = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *a);
    if (!a) return GAD_ENOMEM;
    double *b = a + (n > 0 ? n : 1);
    int k = 0;
    for (int i = 0; i < n; i++) {
        double va = gad_evaluate_value(&r[i], sel_a, metric), vb = gad_evaluate_value(&r[i], sel_b, metric);
        if (!isfinite(va) || !isfinite(vb)) continue;
        a[k] = va;
        b[k++] = vb;
    }
    if (k == 1 && mean) *mean = a[0] - b[0];
    if (k >= 2) {
        double m, l, h;
        if (!gad_paired_ci(a, b, k, &m, &l, &h)) {
            if (mean) *mean = m;
            if (lo) *lo = l;
            if (hi) *hi = h;
        }
    }
    free(a);
    return k;
}

void gad_eval_mask_from_image(const gad_image *img, uint8_t *out, int h, int w) {
    const size_t shw = (size_t)img->h * img->w;
    for (int y = 0; y < h; y++) {
        int sy = (int)(((double)y + 0.5) * img->h / h);
        if (sy >= img->h) sy = img->h - 1;
        for (int x = 0; x < w; x++) {
            int sx = (int)(((double)x + 0.5) * img->w / w);
            if (sx >= img->w) sx = img->w - 1;
            uint8_t v = 0;
            for (int c = 0; c < img->c; c++) v |= img->data[c * shw + (size_t)sy * img->w + sx] != 0;
            out[(size_t)y * w + x] = v;
        }
    }
}
