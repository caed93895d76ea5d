/* gad eval: the evaluation of GAD-SPEC "Evaluation" over a set of images,
 * per method: REPORT_DIR/report.json (means, standard deviations, paired
 * differences with 95 % confidence intervals), report.md (the same as
 * tables, with a reading of the paper's two claims), METHOD.deletion.svg,
 * METHOD.insertion.svg (mean curves per selection) and images.jsonl (the
 * figures of every image).
 *
 * A batch job like attribute (batch.h): each image's figures and curves for
 * every method go to a record S.eval.rec, and the report is built from the
 * records of all input images in input order, so shards, --resume and MPI
 * ranks give the report of one run. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/commands.h"
#include "cli/mpi.h"
#include "cli/common.h"
#include "cli/method.h"
#include "cli/support.h"
#include "gad/evaluate.h"
#include "gad/simd.h"
#include "io/atomic.h"

#define MAX_METHODS 8

/* Aggregated metric names: the per-image ones, except that a mean of
 * "flipped" is a rate. */
static const char *agg_name(int m, const gad_evaluate_config *ec, char *buf, size_t n) {
    if (m == GAD_EM_FLIPPED) return "flip_rate";
    if (m < GAD_EM_COUNT) return gad_eval_metric_name(m);
    double b = ec->budgets[m - GAD_EM_COUNT];
    /* 0.10 prints as the flag was written, not as 0.1 */
    if (fabs(b * 100 - round(b * 100)) < 1e-9)
        snprintf(buf, n, "occlusion_drop@%.2f", b);
    else
        snprintf(buf, n, "occlusion_drop@%g", b);
    return buf;
}

/* Metrics a report lists: localisation only with ground-truth masks. */
static int metric_listed(int m, int have_gt) {
    return have_gt || (m != GAD_EM_MASS_IN_MASK && m != GAD_EM_POINTING_GAME);
}

static const char *baseline_name(const gad_cli_method *o, char *buf, size_t n) {
    switch (o->baseline) {
    case GAD_BASELINE_WHITE: return "white";
    case GAD_BASELINE_BLUR: return "blur";
    case GAD_BASELINE_NOISE: return "noise";
    case GAD_BASELINE_VALUE: snprintf(buf, n, "%g", (double)o->baseline_value); return buf;
    default: return o->baseline_file ? o->baseline_file : "black";
    }
}

static void json_num(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

static int parse_methods(const char *s, gad_method *out, int *n, gad_err *err) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int m = gad_method_parse(t);
        if (m < 0)
            return gad_err_set(err, GAD_EINVAL, "gad eval: --method '%s' is not one of ig, saliency, gradient, ixg, guided",
                               t);
        for (int i = 0; i < *n; i++)
            if (out[i] == (gad_method)m)
                return gad_err_set(err, GAD_EINVAL, "gad eval: --method lists '%s' twice", t);
        if (*n == MAX_METHODS) return gad_err_set(err, GAD_ELIMIT, "gad eval: at most %d methods", MAX_METHODS);
        out[(*n)++] = (gad_method)m;
    }
    if (!*n) return gad_err_set(err, GAD_EINVAL, "gad eval: --method '%s' names no method", s);
    return 0;
}

static int parse_budgets(const char *s, gad_evaluate_config *ec, gad_err *err) {
    if (!s) return 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", s);
    ec->n_budgets = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(t, &end);
        if (end == t || *end || !(v > 0 && v <= 1))
            return gad_err_set(err, GAD_EINVAL, "gad eval: --budget '%s': '%s' is not a pixel share in (0, 1]", s, t);
        if (ec->n_budgets == GAD_EVAL_MAX_BUDGETS)
            return gad_err_set(err, GAD_EINVAL, "gad eval: --budget '%s': at most %d budgets", s, GAD_EVAL_MAX_BUDGETS);
        ec->budgets[ec->n_budgets++] = v;
    }
    if (!ec->n_budgets) return gad_err_set(err, GAD_EINVAL, "gad eval: --budget '%s' gives no budget", s);
    return 0;
}

/* Ground truth for an image: DIR/STEM with an image extension, non-zero =
 * object, resized to the model's input by nearest neighbour. */
static int load_gt(const char *dir, const char *image, const gad_cli_model *cm, uint8_t *gt, gad_err *err) {
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".tif", ".tiff"};
    char stem[512], path[4096];
    gad_cli_stem(image, stem, sizeof stem);
    size_t e = 0;
    for (; e < sizeof ext / sizeof *ext; e++) {
        snprintf(path, sizeof path, "%s/%s%s", dir, stem, ext[e]);
        if (!access(path, R_OK)) break;
    }
    if (e == sizeof ext / sizeof *ext)
        return gad_err_set(err, GAD_ENOTFOUND, "%s/%s.png: no ground-truth mask for %s", dir, stem, image);
    gad_image img;
    int rc = gad_image_load(path, cm->max_pixels, &img, err);
    if (rc) return rc;
    gad_eval_mask_from_image(&img, gt, cm->pp.height, cm->pp.width);
    gad_image_free(&img);
    return 0;
}

/* The record of one evaluated image, DIR/S.eval.rec (binary, this build's
 * layout: a record is read back by the same gad, to assemble the report
 * of a sharded or resumed run): this head, the P curve shares (doubles),
 * then for each method its gad_evaluate_result, its GAD_SEL_COUNT x 2 x P
 * curve values (doubles), a uint32 length and its images.jsonl line. */
#define EVAL_REC_MAGIC "GADEVR1"
typedef struct eval_rec_head {
    char magic[8];
    int32_t n_methods, points, res_size;
    int32_t methods[MAX_METHODS];
} eval_rec_head;

typedef struct method_run {
    gad_method method;
    int n;                       /* results */
    gad_evaluate_result *res;    /* one per evaluated image */
    double *curve_sum;           /* GAD_SEL_COUNT x 2 x P */
    int curve_n[GAD_SEL_COUNT];
} method_run;

/* Paired comparisons the report makes: gad against each other selection. */
static const int paired_b[] = {GAD_SEL_PLAIN, GAD_SEL_PLAIN_TOP, GAD_SEL_CONTROL};

static void write_json_report(FILE *f, const char *model, const char *support, int n_images,
                              const gad_cli_support *sup, const gad_cli_method *o, const char *methods_arg,
                              const gad_explain_config *xc, const gad_evaluate_config *ec, int control,
                              const char *masks, const method_run *runs, int n_runs) {
    const int n_metrics = GAD_EM_COUNT + ec->n_budgets, have_gt = masks != NULL;
    char nb[64];
    fputs("{\n  \"model\": ", f);
    gad_json_string(f, model);
    fputs(",\n  \"support\": ", f);
    if (support)
        gad_json_string(f, support);
    else
        fputs("null", f);
    fprintf(f, ",\n  \"images\": %d,\n  \"pair\": ", n_images);
    if (support)
        fprintf(f, "[%d, %d]", sup->p, sup->q);
    else
        fputs("null", f);
    fputs(",\n  \"settings\": {\"methods\": ", f);
    gad_json_string(f, methods_arg);
    fprintf(f, ", \"target\": \"%s\", \"baseline\": ", support ? (xc->contrast ? "contrast" : "class") : "pred");
    gad_json_string(f, baseline_name(o, nb, sizeof nb));
    fprintf(f, ", \"steps\": %d, \"reduce\": \"%s\", \"seed\": %llu, \"fuse\": \"%s\", \"top\": %g, \"votes\": %d",
            o->cfg.steps, gad_cli_reduce_name(o->reduce), (unsigned long long)o->cfg.seed, gad_fuse_name(xc->fuse),
            ec->top, support ? (xc->votes ? xc->votes : sup->k + 1) : 0);
    fprintf(f, ", \"norm_pct\": %g, \"levels\": %d, \"control\": %s, \"curve_points\": %d, \"budgets\": [",
            xc->norm_pct, support ? sup->k : 0, control ? "true" : "false", ec->curve_points);
    for (int b = 0; b < ec->n_budgets; b++) fprintf(f, "%s%g", b ? ", " : "", ec->budgets[b]);
    fputs("], \"masks\": ", f);
    if (masks)
        gad_json_string(f, masks);
    else
        fputs("null", f);
    fputs("},\n  \"methods\": {", f);
    for (int r = 0; r < n_runs; r++) {
        const method_run *mr = &runs[r];
        fprintf(f, "%s\n    \"%s\": {\"n\": %d, \"selections\": {", r ? "," : "", gad_method_name(mr->method), mr->n);
        int first = 1;
        for (int s = 0; s < GAD_SEL_COUNT; s++) {
            if (!mr->n || !mr->res[0].sel[s].present) continue;
            fprintf(f, "%s\n      \"%s\": {", first ? "" : ",", gad_eval_selection_name(s));
            first = 0;
            int fm = 1;
            for (int m = 0; m < n_metrics; m++) {
                if (!metric_listed(m, have_gt)) continue;
                double mean, sd;
                int k = gad_evaluate_summary(mr->res, mr->n, s, m, &mean, &sd);
                fprintf(f, "%s\"%s\": {\"mean\": ", fm ? "" : ", ", agg_name(m, ec, nb, sizeof nb));
                fm = 0;
                json_num(f, mean);
                fputs(", \"std\": ", f);
                json_num(f, sd);
                fprintf(f, ", \"n\": %d}", k);
            }
            fputc('}', f);
        }
        fputs("},\n      \"paired\": {", f);
        first = 1;
        for (size_t pb = 0; pb < sizeof paired_b / sizeof *paired_b; pb++) {
            int b = paired_b[pb];
            if (!mr->n || !mr->res[0].sel[GAD_SEL_GAD].present || !mr->res[0].sel[b].present) continue;
            fprintf(f, "%s\n        \"gad-%s\": {", first ? "" : ",", gad_eval_selection_name(b));
            first = 0;
            int fm = 1;
            for (int m = 0; m < n_metrics; m++) {
                if (!metric_listed(m, have_gt)) continue;
                double mean, lo, hi;
                int k = gad_evaluate_paired(mr->res, mr->n, GAD_SEL_GAD, b, m, &mean, &lo, &hi);
                fprintf(f, "%s\"%s\": {\"mean\": ", fm ? "" : ", ", agg_name(m, ec, nb, sizeof nb));
                fm = 0;
                json_num(f, mean);
                fputs(", \"lo\": ", f);
                json_num(f, lo);
                fputs(", \"hi\": ", f);
                json_num(f, hi);
                fprintf(f, ", \"n\": %d}", k < 0 ? 0 : k);
            }
            fputc('}', f);
        }
        fputs("}}", f);
    }
    fputs("\n  }\n}\n", f);
}

/* One sentence on a paired difference: where its interval lies. */
static void md_claim(FILE *f, const method_run *mr, int b, int metric, const char *what, const char *lower,
                     const char *higher) {
    double mean, lo, hi;
    int k = gad_evaluate_paired(mr->res, mr->n, GAD_SEL_GAD, b, metric, &mean, &lo, &hi);
    fprintf(f, "- %s: GAD %s − %s = ", what, gad_eval_metric_name(metric), gad_eval_selection_name(b));
    if (k < 2 || !isfinite(lo)) {
        fprintf(f, "not measurable (%d paired images).\n", k < 0 ? 0 : k);
        return;
    }
    fprintf(f, "%.4g [%.4g, %.4g] over %d images: ", mean, lo, hi, k);
    if (hi < 0)
        fprintf(f, "%s (the interval excludes 0).\n", lower);
    else if (lo > 0)
        fprintf(f, "%s (the interval excludes 0).\n", higher);
    else
        fputs("no clear difference (the interval contains 0).\n", f);
}

static void md_cell(FILE *f, double mean, double sd, int k) {
    if (!k)
        fputs(" – |", f);
    else
        fprintf(f, " %.4g ± %.3g |", mean, sd);
}

static void write_md_report(FILE *f, const char *model, const char *support, int n_images, const gad_cli_support *sup,
                            const gad_evaluate_config *ec, int have_gt, const method_run *runs, int n_runs) {
    const int n_metrics = GAD_EM_COUNT + ec->n_budgets;
    char nb[64];
    fprintf(f, "# gad eval\n\nModel `%s`, %d images", model, n_images);
    if (support)
        fprintf(f, ", support models `%s` (pair %d, %d).\n\n", support, sup->p, sup->q);
    else
        fputs(", no support models (plain method only; target = predicted class).\n\n", f);
    fputs("Mean ± standard deviation over images. Selections: ", f);
    if (support)
        fputs("`gad` the fused GAD region, `plain` the plain map's top pixels (as many as GAD's), ", f);
    fprintf(f, "`plain_top` the plain map's own top %g share, `random` as many informative pixels as %s drawn at "
               "random",
            ec->top, support ? "GAD's" : "plain_top's");
    if (sup->k_control) fputs(", `control` the fused region of the control models (gap unchanged)", f);
    fputs(". Budget drops (occlusion_drop@B) occlude the same number of pixels, the top B share of each "
          "selection's map, for every selection.\n",
          f);
    for (int r = 0; r < n_runs; r++) {
        const method_run *mr = &runs[r];
        fprintf(f, "\n## %s (%d images)\n\n| metric |", gad_method_name(mr->method), mr->n);
        int present[GAD_SEL_COUNT] = {0};
        for (int s = 0; s < GAD_SEL_COUNT; s++)
            if (mr->n && mr->res[0].sel[s].present) {
                present[s] = 1;
                fprintf(f, " %s |", gad_eval_selection_name(s));
            }
        fputs("\n|---|", f);
        for (int s = 0; s < GAD_SEL_COUNT; s++)
            if (present[s]) fputs("---|", f);
        fputc('\n', f);
        for (int m = 0; m < n_metrics; m++) {
            if (!metric_listed(m, have_gt)) continue;
            fprintf(f, "| %s |", agg_name(m, ec, nb, sizeof nb));
            for (int s = 0; s < GAD_SEL_COUNT; s++) {
                if (!present[s]) continue;
                double mean, sd;
                int k = gad_evaluate_summary(mr->res, mr->n, s, m, &mean, &sd);
                md_cell(f, mean, sd, k);
            }
            fputc('\n', f);
        }
        if (!present[GAD_SEL_GAD]) {
            fputs("\nNo GAD selection (no --support): the paper's claims are not tested here.\n", f);
            continue;
        }
        fputs("\nPaired differences, mean [95 % confidence interval]:\n\n| metric |", f);
        for (size_t pb = 0; pb < sizeof paired_b / sizeof *paired_b; pb++)
            if (present[paired_b[pb]]) fprintf(f, " gad − %s |", gad_eval_selection_name(paired_b[pb]));
        fputs("\n|---|", f);
        for (size_t pb = 0; pb < sizeof paired_b / sizeof *paired_b; pb++)
            if (present[paired_b[pb]]) fputs("---|", f);
        fputc('\n', f);
        for (int m = 0; m < n_metrics; m++) {
            if (!metric_listed(m, have_gt)) continue;
            fprintf(f, "| %s |", agg_name(m, ec, nb, sizeof nb));
            for (size_t pb = 0; pb < sizeof paired_b / sizeof *paired_b; pb++) {
                if (!present[paired_b[pb]]) continue;
                double mean, lo, hi;
                int k = gad_evaluate_paired(mr->res, mr->n, GAD_SEL_GAD, paired_b[pb], m, &mean, &lo, &hi);
                if (k >= 2 && isfinite(lo))
                    fprintf(f, " %+.4g [%.4g, %.4g] |", mean, lo, hi);
                else
                    fputs(" – |", f);
            }
            fputc('\n', f);
        }
        fputs("\nThe paper's claims, read from this table:\n\n", f);
        md_claim(f, mr, GAD_SEL_PLAIN_TOP, GAD_EM_HULL_AREA, "More concise",
                 "GAD's regions are smaller than the plain method's own top region, as the paper states",
                 "GAD's regions are larger than the plain method's own top region, against the paper");
        md_claim(f, mr, GAD_SEL_PLAIN, GAD_EM_OCCLUSION_DROP_PER_PIXEL, "More sensitive at equal counts",
                 "occluding GAD's pixels lowers the target less per pixel than the plain top pixels, against the "
                 "paper",
                 "occluding GAD's pixels lowers the target more per pixel than the plain top pixels, as the paper "
                 "states");
    }
}

static int write_curves(const char *dir, const method_run *mr, const gad_evaluate_config *ec, const double *shares,
                        gad_err *err) {
    const int P = ec->curve_points;
    static const char *const kinds[2] = {"deletion", "insertion"};
    for (int kind = 0; kind < 2; kind++) {
        const char *names[GAD_SEL_COUNT];
        const double *ys[GAD_SEL_COUNT];
        double mean[GAD_SEL_COUNT][GAD_EVAL_MAX_POINTS];
        int ns = 0;
        for (int s = 0; s < GAD_SEL_COUNT; s++) {
            if (!mr->curve_n[s]) continue;
            for (int i = 0; i < P; i++) mean[ns][i] = mr->curve_sum[(size_t)(2 * s + kind) * P + i] / mr->curve_n[s];
            names[ns] = gad_eval_selection_name(s);
            ys[ns] = mean[ns];
            ns++;
        }
        if (!ns) continue;
        char path[4096], title[256];
        snprintf(path, sizeof path, "%s/%s.%s.svg", dir, gad_method_name(mr->method), kinds[kind]);
        snprintf(title, sizeof title, "%s: %s curve (target class probability, mean over %d images)",
                 gad_method_name(mr->method), kinds[kind], mr->n);
        int rc = gad_svg_curves(path, title, ns, names, shares, ys, P, err);
        if (rc) return rc;
    }
    return 0;
}

static void write_image_line(FILE *f, const char *path, const method_run *mr, const gad_evaluate_result *r,
                             const gad_evaluate_config *ec, int have_gt) {
    char nb[64];
    fputs("{\"image\": ", f);
    gad_json_string(f, path);
    fprintf(f, ", \"method\": \"%s\", \"target\": %d, \"decision\": %d, \"logit\": ", gad_method_name(mr->method),
            r->target, r->decision);
    json_num(f, r->logit);
    fputs(", \"prob\": ", f);
    json_num(f, r->prob);
    fputs(", \"selections\": {", f);
    int first = 1;
    for (int s = 0; s < GAD_SEL_COUNT; s++) {
        if (!r->sel[s].present) continue;
        fprintf(f, "%s\"%s\": {", first ? "" : ", ", gad_eval_selection_name(s));
        first = 0;
        int fm = 1;
        for (int m = 0; m < GAD_EM_COUNT + ec->n_budgets; m++) {
            if (!metric_listed(m, have_gt)) continue;
            fprintf(f, "%s\"%s\": ", fm ? "" : ", ",
                    m < GAD_EM_COUNT ? gad_eval_metric_name(m) : agg_name(m, ec, nb, sizeof nb));
            fm = 0;
            json_num(f, gad_evaluate_value(r, s, m));
        }
        fputc('}', f);
    }
    fputs("}}\n", f);
}

static int write_text(const char *path, gad_atomic *a, gad_err *err) { return gad_atomic_open(path, a, err); }

int gad_cmd_eval(int argc, char **argv) {
    gad_flag flags[] = {GAD_MODEL_FLAGS,
                        GAD_INPUT_FLAGS,
                        GAD_METHOD_FLAGS,
                        {"support", 1, "DIR: support models written by gad fit (else plain_top and random only)", 0},
                        {"control", 0, "also evaluate the control models SUPPORT/control-K.onnx", 0},
                        {"out", 1, "DIR: report folder (created)", 0},
                        {"fuse", 1, "F: consensus|mean|gain (consensus)", 0},
                        {"top", 1, "S: share of pixels each mask keeps, and plain_top's share (0.10)", 0},
                        {"votes", 1, "N: masks that must agree (all K+1)", 0},
                        {"norm-pct", 1, "P: each map is divided by this percentile of |map| (99.5)", 0},
                        {"reduce", 1, "MODE: channel reduction: mean|sum|abssum|l2 (mean)", 0},
                        {"budget", 1, "B1,B2,..: pixel shares for equal-count occlusion drops (0.05,0.10,0.20)", 0},
                        {"curve-points", 1, "N: points of the deletion/insertion curves (21)", 0},
                        {"masks", 1, "DIR: ground-truth object masks DIR/STEM.png (non-zero = object)", 0},
                        {"data", 1, "DIR: a folder of images (searched recursively), as a positional folder", 0},
                        GAD_BATCH_FLAGS,
                        {"help", 0, "show this help", 0},
                        {0}};
    gad_args a = {.command = "eval", .flags = flags};
    gad_err err = {0};
    if (gad_args_parse(&a, argc, argv, 2, &err)) return gad_cli_fail(&err);
    if (gad_args_has(&a, "help")) {
        gad_args_usage(&a, "--model M.onnx [--support SUPPORT [--control]] --method M[,M2,...] --out REPORT_DIR "
                           "[flags] IMAGE...|FOLDER|--data DIR|--list FILE");
        return 0;
    }
    const char *out = gad_args_get(&a, "out"), *support = gad_args_get(&a, "support");
    const char *masks = gad_args_get(&a, "masks");
    int control = gad_args_has(&a, "control");
    if (!out) return gad_cli_fail_msg("gad eval: --out REPORT_DIR is required");
    if (control && !support) return gad_cli_fail_msg("gad eval: --control needs --support SUPPORT");
    const char *tsel = gad_args_get(&a, "target");
    if (tsel && strcmp(tsel, "class") && strcmp(tsel, "contrast"))
        return gad_cli_fail_msg("gad eval: --target '%s' is not class or contrast", tsel);
    if (tsel && !strcmp(tsel, "contrast") && !support)
        return gad_cli_fail_msg("gad eval: --target contrast needs the pair of --support SUPPORT");
    gad_method methods[MAX_METHODS];
    int n_methods = 0;
    const char *methods_arg = gad_args_get(&a, "method");
    if (!methods_arg) methods_arg = "ig";
    if (parse_methods(methods_arg, methods, &n_methods, &err)) return gad_cli_fail(&err);
    /* the method list and the target were read here, not by the shared parser */
    for (gad_flag *f = flags; f->name; f++)
        if (!strcmp(f->name, "target") || !strcmp(f->name, "method")) f->value = NULL;
    gad_evaluate_config ec;
    gad_evaluate_config_init(&ec);
    long points;
    if (parse_budgets(gad_args_get(&a, "budget"), &ec, &err) ||
        gad_args_int(&a, "curve-points", 21, 2, GAD_EVAL_MAX_POINTS, &points, &err) ||
        gad_args_double(&a, "top", 0.10, 1e-6, 1, &ec.top, &err))
        return gad_cli_fail(&err);
    ec.curve_points = (int)points;
    if (masks) {
        struct stat st;
        if (stat(masks, &st) || !S_ISDIR(st.st_mode))
            return gad_cli_fail_msg("%s: --masks is not a folder", masks);
    }

    gad_cli_paths paths = {0};
    gad_cli_model cm = {0};
    gad_cli_method o;
    gad_cli_support sup = {0};
    gad_evaluator *ev = NULL;
    gad_explainer *ex = NULL, *cx = NULL;
    gad_attributor *at = NULL;
    gad_atomic lines = {0}, rep = {0};
    method_run runs[MAX_METHODS];
    memset(runs, 0, sizeof runs);
    float *x = NULL, *base = NULL, *lmaps = NULL, *fused = NULL, *cmaps = NULL, *cfused = NULL, *attr = NULL,
          *plain = NULL, *bfile = NULL;
    uint8_t *mask = NULL, *cmask = NULL, *gt = NULL, *failed = NULL;
    gad_explain_result *xres = NULL, *cres = NULL;
    gad_attr_result *ares = NULL;
    double shares[GAD_EVAL_MAX_POINTS];
    int *idx = NULL, *take = NULL, status = 0;
    gad_batch b = {0};
    gad_evaluate_result *gres = NULL; /* a group's results, [method][image] */
    double *gcurves = NULL;           /* and their curves */
    char **glines = NULL, **recs = NULL;
    int n_glines = 0;
    double t = gad_batch_tic();
    /* --data DIR is one more folder among the positionals */
    char **pos = malloc((size_t)(a.n_pos + 1) * sizeof *pos);
    if (!pos) return gad_cli_fail_msg("gad eval: out of memory");
    if (a.n_pos) memcpy(pos, a.pos, (size_t)a.n_pos * sizeof *pos);
    gad_args ia = a;
    ia.pos = pos;
    if (gad_args_get(&a, "data")) pos[ia.n_pos++] = (char *)gad_args_get(&a, "data");
    int prc = gad_cli_paths_collect(&ia, &paths, &err);
    free(pos);
    if (prc || gad_batch_check_flags(&a, "eval", &err) || gad_cli_check_stems(&paths, &err) ||
        gad_cli_model_open(&a, &cm, &err) || gad_cli_method_parse(&a, cm.model, &o, &err) ||
        (support && gad_cli_support_open(support, &cm, control, &sup, &err)) || gad_cli_make_out_dir(out, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    gad_explain_config xc;
    gad_explain_config_init(&xc);
    xc.attr = o.cfg;
    xc.p = sup.p;
    xc.q = sup.q;
    xc.contrast = tsel && !strcmp(tsel, "contrast");
    xc.reduce = o.reduce;
    xc.top = ec.top;
    const char *fs = gad_args_get(&a, "fuse");
    int fi = fs ? gad_fuse_parse(fs) : 0;
    if (fi < 0) {
        status = gad_cli_fail_msg("gad eval: --fuse '%s' is not consensus, mean or gain", fs);
        goto done;
    }
    xc.fuse = (gad_fuse)fi;
    long votes;
    int max_votes = (sup.k > sup.k_control ? sup.k : sup.k_control) + 1;
    if (gad_args_double(&a, "norm-pct", 99.5, 1e-6, 100, &xc.norm_pct, &err) ||
        gad_args_int(&a, "votes", 0, 1, max_votes, &votes, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    if (votes && !support) {
        status = gad_cli_fail_msg("gad eval: --votes needs --support SUPPORT");
        goto done;
    }
    xc.votes = (int)votes;
    ec.seed = o.cfg.seed;
    if (support) ec.p = sup.p, ec.q = sup.q;
    if (o.cfg.threads) omp_set_num_threads(o.cfg.threads);
    if (gad_evaluator_create(cm.model, &ec, &ev, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }

    const int L = sup.k + 1, LC = sup.k_control + 1, P = ec.curve_points;
    const size_t d = (size_t)cm.pp.channels * cm.pp.height * cm.pp.width, hw = (size_t)cm.pp.height * cm.pp.width;
    const size_t ncurve = (size_t)GAD_SEL_COUNT * 2 * P;
    if (gad_batch_open(&a, "eval", out, &paths, NULL, 0, ".eval.rec", &b, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    int threads = o.cfg.threads ? o.cfg.threads : omp_get_max_threads();
    b.threads = threads;
    int chunk = 2 * threads;
    /* Images are taken in groups (from this shard, or from rank 0's counter
     * under MPI); each group is run method by method (one method's
     * explainers at a time, as before) and its images' records written when
     * the last method is done. Groups small enough that ranks share the
     * work, large enough that making the explainers again is negligible. */
    int ranks = gad_mpi_size();
    int group = (b.n_queue + 4 * ranks - 1) / (4 * ranks);
    if (group > 64 * threads) group = 64 * threads;
    if (group < chunk) group = chunk;
    x = malloc(chunk * d * sizeof *x);
    base = malloc(chunk * d * sizeof *base);
    lmaps = malloc((size_t)chunk * L * hw * sizeof *lmaps);
    fused = malloc(chunk * hw * sizeof *fused);
    mask = malloc(chunk * hw);
    cmaps = control ? malloc((size_t)chunk * LC * hw * sizeof *cmaps) : NULL;
    cfused = control ? malloc(chunk * hw * sizeof *cfused) : NULL;
    cmask = control ? malloc(chunk * hw) : NULL;
    attr = support ? NULL : malloc(chunk * d * sizeof *attr);
    plain = support ? NULL : malloc(chunk * hw * sizeof *plain);
    ares = support ? NULL : malloc(chunk * sizeof *ares);
    gt = masks ? malloc(chunk * hw) : NULL;
    xres = malloc(chunk * sizeof *xres);
    cres = malloc(chunk * sizeof *cres);
    idx = malloc(chunk * sizeof *idx);
    take = malloc(group * sizeof *take);
    failed = calloc((size_t)group, 1);
    gres = malloc((size_t)n_methods * group * sizeof *gres);
    gcurves = malloc((size_t)n_methods * group * ncurve * sizeof *gcurves);
    glines = calloc((size_t)n_methods * group, sizeof *glines);
    n_glines = glines ? n_methods * group : 0;
    bfile = o.baseline_file ? malloc(d * sizeof *bfile) : NULL;
    int oom = !x || !base || !lmaps || !fused || !mask || !xres || !cres || !idx || !failed || !take || !gres ||
              !gcurves || !glines || (control && (!cmaps || !cfused || !cmask)) ||
              (!support && (!attr || !plain || !ares)) || (masks && !gt) || (o.baseline_file && !bfile);
    if (oom) {
        status = gad_cli_fail_msg("gad eval: out of memory for %d images of %dx%dx%d", group, cm.pp.channels,
                                  cm.pp.height, cm.pp.width);
        goto done;
    }
    if (bfile && gad_cli_load_input(&cm, o.baseline_file, bfile, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    for (int r = 0; r < GAD_EVAL_MAX_POINTS; r++) shares[r] = 0;
    gad_batch_toc(&b, GAD_PH_LOAD, t);
    const double model_flops = (double)gad_model_total_flops(cm.model);

    int ng;
    while ((ng = gad_batch_next(&b, group, take)) > 0) {
        memset(failed, 0, (size_t)group);
        for (int r = 0; r < n_methods; r++) {
            o.cfg.method = methods[r];
            xc.attr = o.cfg;
            int rc = 0;
            t = gad_batch_tic();
            if (support) {
                rc = gad_explainer_create(cm.model, sup.m, sup.k, &xc, &ex, &err);
                if (!rc && control) rc = gad_explainer_create(cm.model, sup.ctrl, sup.k_control, &xc, &cx, &err);
            } else {
                gad_attr_config ac = o.cfg;
                ac.target.kind = GAD_TARGET_PRED;
                rc = gad_attributor_create(cm.model, &ac, &at, &err);
            }
            gad_batch_toc(&b, GAD_PH_LOAD, t);
            if (rc) {
                gad_cli_fail(&err);
                gad_batch_stopped(&b);
                status = 1;
                goto done;
            }
            for (int start = 0; start < ng; start += chunk) {
                int n = ng - start < chunk ? ng - start : chunk, m = 0;
                t = gad_batch_tic();
                for (int i = 0; i < n; i++) {
                    if (failed[start + i]) continue;
                    gad_err ie = {0};
                    float *xi = x + m * d, *bi = base + m * d;
                    const char *p = paths.v[take[start + i]];
                    int rc2 = gad_cli_load_with_baseline(&cm, &o, bfile, p, xi, bi, &ie);
                    if (!rc2 && masks) rc2 = load_gt(masks, p, &cm, gt + m * hw, &ie);
                    if (rc2) { /* only in the first method's pass: the others skip it */
                        gad_cli_fail(&ie);
                        failed[start + i] = 1;
                        gad_batch_failed(&b);
                    } else {
                        idx[m++] = start + i;
                    }
                }
                gad_batch_toc(&b, GAD_PH_PREPROCESS, t);
                if (!m) continue;
                if (support) {
                    rc = gad_explain(ex, m, x, base, NULL, lmaps, fused, mask, xres, &err);
                    if (!rc && control) rc = gad_explain(cx, m, x, base, NULL, cmaps, cfused, cmask, cres, &err);
                } else {
                    rc = gad_attribute(at, m, x, base, NULL, attr, ares, &err);
                    for (int i = 0; !rc && i < m; i++)
                        gad_simd_reduce_channels(plain + i * hw, attr + i * d, cm.pp.channels, hw, o.reduce);
                }
                if (rc) {
                    gad_cli_fail(&err);
                    gad_batch_stopped(&b);
                    status = 1;
                    goto done;
                }
                for (int i = 0; i < m; i++) {
                    const gad_attr_result *lr = support ? xres[i].level : &ares[i];
                    for (int l = 0; l < (support ? L : 1); l++) {
                        b.t_phase[GAD_PH_FORWARD] += lr[l].forward_seconds;
                        b.t_phase[GAD_PH_BACKWARD] += lr[l].backward_seconds;
                        b.t_phase[GAD_PH_KERNELS] += lr[l].kernel_seconds;
                        /* the attribution passes (as attribute/explain count
                         * them); the occlusion forwards are not counted */
                        double probes = o.cfg.method == GAD_METHOD_IG ? 2 : o.cfg.noise != GAD_NOISE_NONE ? 1 : 0;
                        b.flops += model_flops * (2.0 * lr[l].steps + probes + (support ? 1 : 0));
                    }
                    if (support) b.t_phase[GAD_PH_FUSION] += xres[i].fusion_seconds;
                }
                t = gad_batch_tic();
                for (int i = 0; i < m; i++) {
                    gad_evaluate_input in = {.x = x + i * d, .baseline = base + i * d, .gt = masks ? gt + i * hw : NULL};
                    if (support) {
                        in.target = xres[i].cls;
                        in.plain_map = lmaps + (size_t)i * L * hw; /* level 0: the plain method on f */
                        in.gad_map = fused + i * hw;
                        in.gad_mask = mask + i * hw;
                        if (control) {
                            in.control_map = cfused + i * hw;
                            in.control_mask = cmask + i * hw;
                        }
                    } else {
                        in.target = ares[i].target_p;
                        in.plain_map = plain + i * hw;
                    }
                    size_t slot = (size_t)r * group + idx[i];
                    gad_evaluate_result *res = &gres[slot];
                    if (gad_evaluate(ev, &in, res, gcurves + slot * ncurve, shares, &err)) {
                        gad_cli_fail(&err);
                        gad_batch_stopped(&b);
                        status = 1;
                        goto done;
                    }
                    gad_line line;
                    method_run one = {.method = methods[r]};
                    if (gad_line_open(&line)) {
                        gad_cli_fail_msg("gad eval: out of memory");
                        gad_batch_stopped(&b);
                        status = 1;
                        goto done;
                    }
                    write_image_line(line.f, paths.v[take[idx[i]]], &one, res, &ec, masks != NULL);
                    gad_line_close(&line);
                    glines[slot] = line.buf;
                }
                gad_batch_toc(&b, GAD_PH_FUSION, t); /* the evaluation's occlusions count as fusion-side work */
            }
            gad_explainer_free(ex);
            gad_explainer_free(cx);
            gad_attributor_free(at);
            ex = cx = NULL;
            at = NULL;
        }
        /* the group's records, each image's methods together */
        t = gad_batch_tic();
        for (int j = 0; j < ng; j++) {
            if (failed[j]) continue;
            gad_line rec;
            int rc = gad_line_open(&rec) ? gad_err_set(&err, GAD_ENOMEM, "gad eval: out of memory") : 0;
            if (!rc) {
                eval_rec_head h = {.n_methods = n_methods, .points = P, .res_size = (int)sizeof(gad_evaluate_result)};
                memcpy(h.magic, EVAL_REC_MAGIC, sizeof h.magic);
                for (int r = 0; r < n_methods; r++) h.methods[r] = (int)methods[r];
                fwrite(&h, sizeof h, 1, rec.f);
                fwrite(shares, sizeof(double), (size_t)P, rec.f);
                for (int r = 0; r < n_methods; r++) {
                    size_t slot = (size_t)r * group + j;
                    uint32_t len = (uint32_t)strlen(glines[slot]);
                    fwrite(&gres[slot], sizeof gres[slot], 1, rec.f);
                    fwrite(gcurves + slot * ncurve, sizeof(double), ncurve, rec.f);
                    fwrite(&len, sizeof len, 1, rec.f);
                    fwrite(glines[slot], 1, len, rec.f);
                }
                gad_line_close(&rec);
                rc = rec.buf ? gad_batch_record_bytes(&b, take[j], rec.buf, rec.len, &err)
                             : gad_err_set(&err, GAD_ENOMEM, "gad eval: out of memory");
            }
            free(rec.buf);
            if (rc) {
                gad_cli_fail(&err);
                gad_batch_failed(&b);
            }
        }
        for (size_t s = 0; s < (size_t)n_methods * group; s++) {
            free(glines[s]);
            glines[s] = NULL;
        }
        gad_batch_toc(&b, GAD_PH_WRITE, t);
    }
    if (ng < 0) {
        status = 1;
        goto done;
    }
    status = gad_batch_finish(&b, status);
    if (gad_mpi_rank() != 0) goto done; /* rank 0 reports */

    /* The report, from the records of every input image in input order (this
     * run's, earlier runs' with --resume, other shards'): the same figures
     * whichever process evaluated an image. */
    int n_ok = 0;
    for (int r = 0; r < n_methods; r++) {
        runs[r].method = methods[r];
        runs[r].res = malloc((size_t)paths.n * sizeof *runs[r].res);
        runs[r].curve_sum = calloc(ncurve, sizeof *runs[r].curve_sum);
        if (!runs[r].res || !runs[r].curve_sum) {
            status = gad_cli_fail_msg("gad eval: out of memory for the report of %d images", paths.n);
            goto done;
        }
    }
    recs = calloc((size_t)paths.n, sizeof *recs);
    if (!recs) {
        status = gad_cli_fail_msg("gad eval: out of memory for the report of %d images", paths.n);
        goto done;
    }
    const size_t per_method = sizeof(gad_evaluate_result) + ncurve * sizeof(double);
    for (int k = 0; k < paths.n; k++) {
        char rp[4096];
        gad_batch_record_path(&b, k, rp, sizeof rp);
        size_t sz;
        FILE *f = fopen(rp, "rb");
        if (!f) continue; /* failed, or another shard's not done yet */
        char *buf = NULL;
        if (!fseek(f, 0, SEEK_END) && (long)(sz = (size_t)ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
            (buf = malloc(sz + 1)) && fread(buf, 1, sz, f) == sz) {
            buf[sz] = 0;
        } else {
            free(buf);
            buf = NULL;
        }
        fclose(f);
        /* a record of another configuration (or version) is refused, not mixed in */
        eval_rec_head h;
        int ok = buf && sz >= sizeof h + P * sizeof(double);
        if (ok) {
            memcpy(&h, buf, sizeof h);
            ok = !memcmp(h.magic, EVAL_REC_MAGIC, sizeof h.magic) && h.n_methods == n_methods && h.points == P &&
                 h.res_size == (int)sizeof(gad_evaluate_result);
            for (int r = 0; ok && r < n_methods; r++) ok = h.methods[r] == (int)methods[r];
        }
        size_t off = sizeof h + P * sizeof(double);
        for (int r = 0; ok && r < n_methods; r++) {
            uint32_t len;
            ok = off + per_method + sizeof len <= sz;
            if (ok) memcpy(&len, buf + off + per_method, sizeof len);
            ok = ok && off + per_method + sizeof len + len <= sz;
            off += per_method + sizeof len + (ok ? len : 0);
        }
        if (!ok || off != sz) {
            free(buf);
            status = gad_cli_fail_msg("%s: not a record of this gad eval (other flags, methods or version); "
                                      "delete it or use another --out", rp);
            goto done;
        }
        recs[k] = buf;
        n_ok++;
    }
    if (!n_ok) {
        status = gad_cli_fail_msg("gad eval: none of the %d images could be evaluated", paths.n);
        goto done;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/images.jsonl", out);
    if (write_text(path, &lines, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    for (int r = 0; r < n_methods; r++) {
        method_run *mr = &runs[r];
        for (int k = 0; k < paths.n; k++) {
            if (!recs[k]) continue;
            if (!mr->n) memcpy(shares, recs[k] + sizeof(eval_rec_head), P * sizeof(double));
            const char *q = recs[k] + sizeof(eval_rec_head) + P * sizeof(double);
            for (int rr = 0; rr < r; rr++) { /* skip the earlier methods */
                uint32_t len;
                memcpy(&len, q + per_method, sizeof len);
                q += per_method + sizeof len + len;
            }
            gad_evaluate_result *res = &mr->res[mr->n++];
            memcpy(res, q, sizeof *res);
            const char *cv = q + sizeof *res;
            for (int s = 0; s < GAD_SEL_COUNT; s++) {
                if (!res->sel[s].present) continue;
                mr->curve_n[s]++;
                for (int kk = 0; kk < 2 * P; kk++) {
                    double v; /* records need not be aligned */
                    memcpy(&v, cv + ((size_t)2 * s * P + kk) * sizeof v, sizeof v);
                    mr->curve_sum[(size_t)2 * s * P + kk] += v;
                }
            }
            uint32_t len;
            memcpy(&len, q + per_method, sizeof len);
            fwrite(q + per_method + sizeof len, 1, len, lines.f);
        }
    }
    int n_failed = paths.n - n_ok;
    if (gad_atomic_commit(&lines, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    const char *model_path = gad_args_get(&a, "model");
    snprintf(path, sizeof path, "%s/report.json", out);
    if (write_text(path, &rep, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    write_json_report(rep.f, model_path, support, n_ok, &sup, &o, methods_arg, &xc, &ec, control, masks, runs,
                      n_methods);
    if (gad_atomic_commit(&rep, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    snprintf(path, sizeof path, "%s/report.md", out);
    if (write_text(path, &rep, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    write_md_report(rep.f, model_path, support, n_ok, &sup, &ec, masks != NULL, runs, n_methods);
    if (gad_atomic_commit(&rep, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    for (int r = 0; r < n_methods; r++)
        if (write_curves(out, &runs[r], &ec, shares, &err)) {
            status = gad_cli_fail(&err);
            goto done;
        }
    if (n_failed)
        fprintf(stderr, "gad eval: the report in %s covers %d of %d images (the others failed%s)\n", out, n_ok,
                paths.n, b.shard_n > 1 ? " or belong to shards not done yet: run gad eval --resume on all when "
                                         "every shard is done" : "");
done:
    gad_batch_close(&b);
    if (glines) {
        for (int g = 0; g < n_glines; g++) free(glines[g]);
        free(glines);
    }
    for (int k = 0; recs && k < paths.n; k++) free(recs[k]);
    free(recs);
    free(take);
    free(gres);
    free(gcurves);
    gad_atomic_abort(&lines);
    gad_atomic_abort(&rep);
    gad_explainer_free(ex);
    gad_explainer_free(cx);
    gad_attributor_free(at);
    gad_evaluator_free(ev);
    gad_cli_support_free(&sup);
    for (int r = 0; r < n_methods; r++) {
        free(runs[r].res);
        free(runs[r].curve_sum);
    }
    free(x);
    free(base);
    free(lmaps);
    free(fused);
    free(mask);
    free(cmaps);
    free(cfused);
    free(cmask);
    free(attr);
    free(plain);
    free(ares);
    free(gt);
    free(xres);
    free(cres);
    free(idx);
    free(failed);
    free(bfile);
    gad_cli_model_close(&cm);
    gad_cli_paths_free(&paths);
    return status;
}
