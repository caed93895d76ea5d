/* GAD explanations: the base method on f and on each support model, channel
 * reduction, per-map normalisation and fusion (see gad/explain.h). The
 * heavy per-pixel work (percentiles, thresholds, votes, the fused mean) runs
 * in the SIMD kernels. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "gad/explain.h"
#include "gad/gad.h"

#define MAX_MODELS 17

struct gad_explainer {
    gad_explain_config cfg;
    int n_models; /* K + 1 */
    const gad_model *models[MAX_MODELS];
    gad_attributor *attr[MAX_MODELS];
    gad_plan *probe[MAX_MODELS]; /* forward, batch 1: classes and gaps */
    int c, h, w, k;
    float *logits;
};

static const char *const fuse_names[] = {"consensus", "mean", "gain"};

const char *gad_fuse_name(gad_fuse f) { return (unsigned)f < 3 ? fuse_names[f] : "?"; }

int gad_fuse_parse(const char *s) {
    for (int i = 0; s && i < 3; i++)
        if (!strcmp(s, fuse_names[i])) return i;
    return -1;
}

void gad_explain_config_init(gad_explain_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    gad_attr_config_init(&cfg->attr);
    cfg->reduce = GAD_REDUCE_MEAN;
    cfg->fuse = GAD_FUSE_CONSENSUS;
    cfg->top = 0.10;
    cfg->votes = 0;
    cfg->norm_pct = 99.5;
}

/* Threshold selecting the top share of a map by positive value: the value
 * at that quantile, but never below the smallest positive float. */
static float top_threshold(const float *m, size_t n, double top, float *scratch) {
    float t = gad_simd_percentile(m, n, 100.0 * (1.0 - top), 0, scratch);
    return t > FLT_MIN ? t : FLT_MIN;
}

int gad_fuse_maps(float *const *maps, int k, size_t n, const gad_explain_config *cfg, float *fused, uint8_t *mask,
                  float *scratch) {
    uint8_t *votes = (uint8_t *)(scratch + n); /* n bytes of the second half */
    for (int j = 0; j < k; j++) {
        float s = gad_simd_percentile(maps[j], n, cfg->norm_pct, 1, scratch);
        if (s > 0 && isfinite(s)) gad_simd_scale(maps[j], maps[j], 1.0f / s, n);
    }
    const float *const *cm = (const float *const *)maps;
    size_t region = 0;
    switch (cfg->fuse) {
    case GAD_FUSE_CONSENSUS: {
        int need = cfg->votes > 0 && cfg->votes < k ? cfg->votes : k;
        memset(votes, 0, n);
        for (int j = 0; j < k; j++) {
            gad_simd_threshold_mask(mask, maps[j], top_threshold(maps[j], n, cfg->top, scratch), n);
            gad_simd_count_votes(votes, mask, n);
        }
        gad_simd_fuse_mean(fused, cm, k, votes, need, n);
        for (size_t i = 0; i < n; i++) region += mask[i] = votes[i] >= need;
        break;
    }
    case GAD_FUSE_MEAN:
        gad_simd_fuse_mean(fused, cm, k, NULL, 0, n);
        region = gad_simd_threshold_mask(mask, fused, top_threshold(fused, n, cfg->top, scratch), n);
        break;
    case GAD_FUSE_GAIN:
        gad_simd_threshold_mask(mask, maps[k - 1], top_threshold(maps[k - 1], n, cfg->top, scratch), n);
        for (size_t i = 0; i < n; i++) {
            for (int j = 1; mask[i] && j < k; j++)
                if (maps[j][i] < maps[j - 1][i]) mask[i] = 0;
            votes[i] = mask[i];
        }
        gad_simd_fuse_mean(fused, cm, k, votes, 1, n);
        for (size_t i = 0; i < n; i++) region += mask[i];
        break;
    }
    return (int)region;
}

void gad_explainer_free(gad_explainer *e) {
    if (!e) return;
    for (int i = 0; i < e->n_models; i++) {
        gad_attributor_free(e->attr[i]);
        gad_plan_free(e->probe[i]);
    }
    free(e->logits);
    free(e);
}

int gad_explainer_levels(const gad_explainer *e) { return e->n_models; }

int gad_explainer_create(const gad_model *f, gad_model *const *support, int k, const gad_explain_config *cfg,
                         gad_explainer **out, gad_err *err) {
    *out = NULL;
    const char *name = gad_model_name(f);
    if (k < 0 || k > MAX_MODELS - 1)
        return gad_err_set(err, GAD_EINVAL, "explain: %d support models (at most %d)", k, MAX_MODELS - 1);
    int nc = gad_model_num_classes(f);
    if (cfg->p < 0 || cfg->p >= nc || cfg->q < 0 || cfg->q >= nc || cfg->p == cfg->q)
        return gad_err_set(err, GAD_EINVAL, "%s: pair %d,%d is not two different classes among %d outputs", name,
                           cfg->p, cfg->q, nc);
    if (!(cfg->top > 0 && cfg->top <= 1) || !(cfg->norm_pct > 0 && cfg->norm_pct <= 100) || (unsigned)cfg->fuse > 2 ||
        cfg->votes < 0 || cfg->votes > k + 1)
        return gad_err_set(err, GAD_EINVAL,
                           "explain: --top must be in (0, 1], the normalising percentile in (0, 100], --votes in "
                           "[0, %d]",
                           k + 1);
    gad_explainer *e = calloc(1, sizeof *e);
    if (!e) return gad_err_set(err, GAD_ENOMEM, "explain: out of memory");
    e->cfg = *cfg;
    e->n_models = k + 1;
    e->models[0] = f;
    gad_model_input_dims(f, &e->c, &e->h, &e->w);
    e->k = nc;
    int rc = 0;
    for (int i = 0; i < k && !rc; i++) {
        int c, h, w;
        gad_model_input_dims(support[i], &c, &h, &w);
        if (c != e->c || (h && h != e->h) || (w && w != e->w) || gad_model_num_classes(support[i]) != nc)
            rc = gad_err_set(err, GAD_ESHAPE, "%s: support model does not match %s (input %dx%dx%d, %d outputs)",
                             gad_model_name(support[i]), name, c, h, w, gad_model_num_classes(support[i]));
        if (!rc && !h) rc = gad_model_set_input_size(support[i], e->h, e->w, err);
        e->models[i + 1] = support[i];
    }
    gad_attr_config ac = cfg->attr;
    ac.target.kind = GAD_TARGET_CLASS;
    ac.target.p = cfg->p;
    ac.target.q = -1;
    for (int i = 0; i < e->n_models && !rc; i++) {
        rc = gad_attributor_create(e->models[i], &ac, &e->attr[i], err);
        if (!rc) rc = gad_plan_create(e->models[i], 1, GAD_PLAN_FORWARD, &e->probe[i], err);
    }
    if (!rc && !(e->logits = malloc((size_t)nc * sizeof *e->logits)))
        rc = gad_err_set(err, GAD_ENOMEM, "explain: out of memory");
    if (rc) {
        gad_explainer_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

int gad_explain(gad_explainer *e, int n, const float *x, const float *baselines, float *level_attr, float *level_maps,
                float *fused, uint8_t *mask, gad_explain_result *res, gad_err *err) {
    if (n <= 0) return 0;
    const int L = e->n_models;
    const size_t d = (size_t)e->c * e->h * e->w, hw = (size_t)e->h * e->w;
    double t0 = omp_get_wtime();
    gad_target *targets = malloc((size_t)n * sizeof *targets);
    float *attr = level_attr ? NULL : malloc((size_t)n * L * d * sizeof *attr);
    float *tmp = malloc((size_t)n * d * sizeof *tmp);
    gad_attr_result *ar = malloc((size_t)n * sizeof *ar);
    float *scratch = malloc(2 * hw * sizeof *scratch);
    float **maps = malloc((size_t)L * sizeof *maps);
    int rc = 0;
    if (!targets || (!level_attr && !attr) || !tmp || !ar || !scratch || !maps) {
        rc = gad_err_set(err, GAD_ENOMEM, "explain: out of memory for %d images", n);
        goto done;
    }
    float *A = level_attr ? level_attr : attr;
    /* the class of each image (arg-max of f over the pair) and the pair's
     * gap under every model */
    for (int i = 0; i < n && !rc; i++) {
        memset(&res[i], 0, sizeof res[i]);
        for (int l = 0; l < L && !rc; l++) {
            rc = gad_plan_forward(e->probe[l], x + i * d, e->logits, err);
            if (rc) break;
            if (l == 0) {
                res[i].cls = e->logits[e->cfg.p] >= e->logits[e->cfg.q] ? e->cfg.p : e->cfg.q;
                res[i].other = res[i].cls == e->cfg.p ? e->cfg.q : e->cfg.p;
            }
            res[i].gaps[l] = e->logits[res[i].cls] - e->logits[res[i].other];
        }
        targets[i] = (gad_target){.kind = e->cfg.contrast ? GAD_TARGET_CONTRAST : GAD_TARGET_CLASS,
                                  .p = res[i].cls, .q = e->cfg.contrast ? res[i].other : -1};
    }
    /* each model explains every image (images in parallel inside) */
    for (int l = 0; l < L && !rc; l++) {
        rc = gad_attribute(e->attr[l], n, x, baselines, targets, tmp, ar, err);
        if (rc) break;
        for (int i = 0; i < n; i++) {
            memcpy(A + ((size_t)i * L + l) * d, tmp + (size_t)i * d, d * sizeof *tmp);
            res[i].level[l] = ar[i];
        }
    }
    for (int i = 0; i < n && !rc; i++) {
        double tf = omp_get_wtime();
        for (int l = 0; l < L; l++) {
            maps[l] = level_maps + ((size_t)i * L + l) * hw;
            gad_simd_reduce_channels(maps[l], A + ((size_t)i * L + l) * d, e->c, hw, e->cfg.reduce);
        }
        res[i].region_pixels = gad_fuse_maps(maps, L, hw, &e->cfg, fused + i * hw, mask + i * hw, scratch);
        res[i].fusion_seconds = omp_get_wtime() - tf;
        res[i].seconds = (omp_get_wtime() - t0) / n;
    }
done:
    free(targets);
    free(attr);
    free(tmp);
    free(ar);
    free(scratch);
    free(maps);
    return rc;
}
