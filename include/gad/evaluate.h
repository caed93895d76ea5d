/* gad/evaluate.h — the evaluation driver (GAD-SPEC "Evaluation"): for one
 * image, every measure of every selection, on the original model f.
 *
 * Selections (H x W masks), each with a "source map" that ranks its pixels:
 *   gad        the fused GAD mask (n pixels); source: the fused map.
 *   plain      the plain map's top n pixels (gad_select_top, the run's seed),
 *              n = gad's count; source: the plain map. Only with gad.
 *   plain_top  the plain map's own top-tau region (gad_select_top_share);
 *              source: the plain map.
 *   random     n pixels drawn among the informative ones (gad_select_random;
 *              n = gad's count, or plain_top's without gad); source: the 0/1
 *              mask for sparseness and localisation; its curve order is
 *              random: the selected pixels first, then the other informative
 *              ones, then the rest, each group in a seeded random order.
 *   control    the control pipeline's fused mask; source: its fused map.
 *
 * Measures of a selection S with source map m, target class c, logits F:
 *   pixels, hull_area (gad_hull_area), regions (8-connected), sparseness
 *   (Gini of |m|);
 *   occlusion_drop = F_c(x) - F_c(x with S set to the baseline in every
 *   channel); occlusion_drop_per_pixel = that / |S| (NaN when S is empty);
 *   probability_drop: the same for softmax(F)_c (softmax over all classes);
 *   flipped: 1 when the decision changes. The decision is the arg-max over
 *   the pair {p, q} when the config gives one, else over all classes (first
 *   index on ties);
 *   deletion_auc / insertion_auc: softmax(F)_c along the deletion (insertion)
 *   curve at budget shares i / (P - 1), i = 0..P-1, pixels taken in the
 *   order of m by decreasing value (gad_curve_order, the run's seed), area
 *   by gad_auc (so it is the curve's mean height);
 *   budget drops: for each budget share b, the occlusion drop of the first
 *   round(b * H * W) pixels of that same order — equal counts across
 *   selections, whatever their own size;
 *   with a ground-truth mask: mass_in_mask = share of the positive values of
 *   m over S that lie inside the mask; pointing_game = 1 when the highest
 *   value of m over S lies inside it (random: the first pixel of its random
 *   order). Both NaN when S is empty or no mask is given.
 *
 * The evaluator plans f once for `batch` images and owns every buffer it
 * needs (sizes fixed at create: about 5 H W (sizeof(size_t) + 1) + batch
 * C H W floats); gad_evaluate itself allocates nothing beyond the O(H W)
 * scratch that gad_hull_area, gad_count_regions and gad_gini take and give
 * back (a failure there gives NaN, or GAD_ENOMEM). The model inputs of one image
 * (reference, occlusions, curve points, budgets) are built chunk by chunk and
 * run `batch` at a time. Deterministic for a seed.
 */
#ifndef GAD_EVALUATE_H
#define GAD_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gad_err;
struct gad_model;

#define GAD_EVAL_MAX_BUDGETS 16
#define GAD_EVAL_MAX_POINTS 101

typedef enum gad_eval_selection {
    GAD_SEL_GAD,
    GAD_SEL_PLAIN,
    GAD_SEL_PLAIN_TOP,
    GAD_SEL_RANDOM,
    GAD_SEL_CONTROL,
    GAD_SEL_COUNT
} gad_eval_selection;

/* Per-image measures; budget drops follow as GAD_EM_COUNT + b in
 * gad_evaluate_value. */
typedef enum gad_eval_metric {
    GAD_EM_PIXELS,
    GAD_EM_HULL_AREA,
    GAD_EM_REGIONS,
    GAD_EM_SPARSENESS,
    GAD_EM_OCCLUSION_DROP,
    GAD_EM_OCCLUSION_DROP_PER_PIXEL,
    GAD_EM_PROBABILITY_DROP,
    GAD_EM_FLIPPED,
    GAD_EM_DELETION_AUC,
    GAD_EM_INSERTION_AUC,
    GAD_EM_MASS_IN_MASK,
    GAD_EM_POINTING_GAME,
    GAD_EM_COUNT
} gad_eval_metric;

/* "gad", "plain", "plain_top", "random", "control". */
const char *gad_eval_selection_name(int sel);
/* Per-image names: "pixels", "hull_area", ..., "flipped", ...; NULL when
 * out of range (budget drops have no fixed name). */
const char *gad_eval_metric_name(int metric);

typedef struct gad_evaluate_config {
    double top;          /* tau of plain_top, default 0.10 */
    int curve_points;    /* P, default 21, in [2, GAD_EVAL_MAX_POINTS] */
    int n_budgets;       /* default 3: 0.05, 0.10, 0.20 */
    double budgets[GAD_EVAL_MAX_BUDGETS]; /* shares in (0, 1] */
    uint64_t seed;       /* ties, random selection and order */
    int batch;           /* forward batch, default 32 */
    int p, q;            /* the pair for decisions; -1, -1: all classes */
} gad_evaluate_config;

void gad_evaluate_config_init(gad_evaluate_config *cfg);

/* One image. Maps are H x W, masks H x W (non-zero = selected). */
typedef struct gad_evaluate_input {
    const float *x;             /* C x H x W, model space */
    const float *baseline;      /* C x H x W, model space */
    int target;                 /* class c */
    const float *plain_map;     /* required */
    const float *gad_map;       /* with gad_mask, or both NULL: no gad/plain */
    const uint8_t *gad_mask;
    const float *control_map;   /* with control_mask, or both NULL */
    const uint8_t *control_mask;
    const uint8_t *gt;          /* ground-truth object mask, or NULL */
} gad_evaluate_input;

typedef struct gad_eval_sel_result {
    int present;
    double v[GAD_EM_COUNT];
    double budget_drop[GAD_EVAL_MAX_BUDGETS];
} gad_eval_sel_result;

typedef struct gad_evaluate_result {
    int target;     /* c */
    int decision;   /* the decision on x (see above) */
    float logit;    /* F_c(x) */
    float prob;     /* softmax(F)_c(x) */
    gad_eval_sel_result sel[GAD_SEL_COUNT];
} gad_evaluate_result;

typedef struct gad_evaluator gad_evaluator;

/* f must outlive the evaluator (its input size fixed). */
int gad_evaluator_create(const struct gad_model *f, const gad_evaluate_config *cfg,
                         gad_evaluator **out, struct gad_err *err);
void gad_evaluator_free(gad_evaluator *e);

/* Evaluate one image. curves (may be NULL) receives, per selection s and
 * point i, the deletion curve at curves[(2 s) P + i] and the insertion
 * curve at curves[(2 s + 1) P + i] (GAD_SEL_COUNT x 2 x P doubles; NaN for
 * absent selections). shares (may be NULL) receives the P budget shares. */
int gad_evaluate(gad_evaluator *e, const gad_evaluate_input *in, gad_evaluate_result *res,
                 double *curves, double *shares, struct gad_err *err);

/* A measure of one result: metric < GAD_EM_COUNT, or GAD_EM_COUNT + b for
 * budget drop b. NaN when the selection is absent or the measure undefined. */
double gad_evaluate_value(const gad_evaluate_result *r, int sel, int metric);

/* Mean and sample std of a measure over the n results where it is finite;
 * returns that count. */
int gad_evaluate_summary(const gad_evaluate_result *r, int n, int sel, int metric, double *mean,
                         double *std);

/* Paired difference a - b over the results where both are finite, with its
 * 95 % confidence interval (gad_paired_ci); lo and hi are NaN with fewer
 * than 2 pairs (mean NaN with none). Returns the number of pairs, or
 * GAD_ENOMEM. */
int gad_evaluate_paired(const gad_evaluate_result *r, int n, int sel_a, int sel_b, int metric,
                        double *mean, double *lo, double *hi);

/* Ground truth from an image gad read (any format): out[y * w + x] = 1 when
 * any channel of the nearest source pixel (centres aligned: source row
 * floor((y + 0.5) * img.h / h)) is non-zero, else 0. Any sizes. */
struct gad_image;
void gad_eval_mask_from_image(const struct gad_image *img, uint8_t *out, int h, int w);

#ifdef __cplusplus
}
#endif

#endif
