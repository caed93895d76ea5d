/* gad/explain.h — GAD explanations (GAD-SPEC.md, steps 5-8).
 *
 * For an image x whose class c is the arg-max of f(x) over the pair {p, q}
 * (o the other class), the base method explains each of the K+1 models
 * g_0 = f, g_1..g_K (the support models) with target c (or the contrast
 * g[c] - g[o]); each explanation is reduced to a pixel map E_k; each map is
 * normalised by its own high percentile of |value| (99.5th by default); and
 * the maps are fused:
 *   consensus  each map keeps its top `top` share of pixels by positive
 *              value (mask M_k); the GAD map keeps a pixel where at least
 *              `votes` masks select it (default: all K+1) and is there the
 *              mean of the normalised maps, 0 elsewhere;
 *   mean       the mean of the normalised maps everywhere; its region is its
 *              own top `top` share by positive value;
 *   gain       pixels of the last map's top share whose normalised value
 *              does not decrease from level to level; value the mean.
 * The region mask is the set of pixels the fused map keeps.
 */
#ifndef GAD_EXPLAIN_H
#define GAD_EXPLAIN_H

#include <stdint.h>

#include "gad/attr.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gad_err;
struct gad_model;

typedef enum gad_fuse { GAD_FUSE_CONSENSUS, GAD_FUSE_MEAN, GAD_FUSE_GAIN } gad_fuse;

const char *gad_fuse_name(gad_fuse f);
int gad_fuse_parse(const char *s);

typedef struct gad_explain_config {
    gad_attr_config attr; /* the base method; its target is replaced per image */
    int p, q;             /* the class pair */
    int contrast;         /* target g[c] - g[o] instead of g[c] */
    int reduce;           /* GAD_REDUCE_*, default mean keeping sign */
    gad_fuse fuse;        /* default consensus */
    double top;           /* share of pixels a mask keeps, default 0.10 */
    int votes;            /* masks needed (consensus); 0 = all K+1 */
    double norm_pct;      /* normalising percentile of |E_k|, default 99.5 */
} gad_explain_config;

void gad_explain_config_init(gad_explain_config *cfg);

typedef struct gad_explain_result {
    int cls, other;        /* c and o */
    float gaps[17];        /* g_k[c] - g_k[o], k = 0..K */
    int region_pixels;     /* pixels in the GAD region */
    gad_attr_result level[17]; /* the base method's outcome per model */
    double seconds;
    double fusion_seconds; /* channel reduction and fusion of this image */
} gad_explain_result;

typedef struct gad_explainer gad_explainer;

/* f and the K support models (K <= 16) must outlive the explainer. */
int gad_explainer_create(const struct gad_model *f, struct gad_model *const *support, int k,
                         const gad_explain_config *cfg, gad_explainer **out, struct gad_err *err);
void gad_explainer_free(gad_explainer *e);
int gad_explainer_levels(const gad_explainer *e); /* K + 1 */

/* Explain n images (C x H x W each; baselines as for gad_attribute, may be
 * NULL). Outputs per image: level_attr ((K+1) x C x H x W, may be NULL),
 * level_maps ((K+1) x H x W, normalised), fused (H x W), mask (H x W, 0/1). */
int gad_explain(gad_explainer *e, int n, const float *x, const float *baselines, float *level_attr,
                float *level_maps, float *fused, uint8_t *mask, gad_explain_result *results,
                struct gad_err *err);

/* The fusion alone (step 7) on k already reduced maps of n pixels each:
 * normalises `maps` in place; scratch holds 2 n floats. Returns the region
 * size. Exposed for tests and for fusing maps computed elsewhere. */
int gad_fuse_maps(float *const *maps, int k, size_t n, const gad_explain_config *cfg, float *fused,
                  uint8_t *mask, float *scratch);

#ifdef __cplusplus
}
#endif

#endif
