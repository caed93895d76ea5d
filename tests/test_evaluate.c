/* The evaluation driver on a linear model, where every figure has a closed
 * form: with logits l_k = w_k . x + b_k, occluding a set S changes l_c by
 * sum_{i in S} w_c[i] (x[i] - baseline[i]), and each deletion/insertion
 * point is a softmax of two such sums. Then the paired statistics on
 * hand-made results, and `gad eval` run end to end on the demo model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gad/evaluate.h"
#include "gad/gad.h"
#include "harness.h"
#include "net/graph.h"

#define H 4
#define W 5
#define HW (H * W)

/* The linear model: a 1 x H x W image -> Flatten -> Gemm (2 classes). */
static float wt[2][HW], bias[2] = {0.25f, -0.5f};

static gad_model *linear_model(void) {
    for (int i = 0; i < HW; i++) {
        wt[0][i] = (float)(0.1 * ((i * 7) % 11) - 0.3); /* distinct-ish, both signs */
        wt[1][i] = (float)(0.05 * ((i * 3) % 7) - 0.1);
    }
    gad_graph *g = gad_graph_new("linear.onnx");
    g->in_c = 1, g->in_h = H, g->in_w = W;
    g->input = gad_graph_add_value(g, "x");
    int flat = gad_graph_add_value(g, "flat"), out = gad_graph_add_value(g, "logits");
    gad_graph_add_node(g, GAD_OP_FLATTEN, "flatten", "Flatten", 1, &g->input, flat);
    int64_t wd[2] = {2, HW}, bd[1] = {2};
    int wi = gad_graph_add_param(g, "w", 2, wd, &wt[0][0]);
    int bi = gad_graph_add_param(g, "b", 1, bd, bias);
    int k = gad_graph_add_node(g, GAD_OP_GEMM, "gemm", "Gemm", 1, &flat, out);
    g->nodes[k].weight = wi;
    g->nodes[k].bias = bi;
    g->output = out;
    gad_err e;
    if (gad_graph_infer_shapes(g, &e)) {
        fprintf(stderr, "\n  infer: %s\n", e.msg);
        gad_graph_free(g);
        return NULL;
    }
    return g;
}

static void logits_of(const float *x, double l[2]) {
    for (int k = 0; k < 2; k++) {
        double s = bias[k];
        for (int i = 0; i < HW; i++) s += (double)wt[k][i] * x[i];
        l[k] = s;
    }
}

static double prob_of(const float *x, int c) {
    double l[2];
    logits_of(x, l);
    return 1.0 / (1.0 + exp(l[1 - c] - l[c]));
}

/* Indices by decreasing value (values distinct in these tests). */
static void sort_desc(const float *v, int *order) {
    for (int i = 0; i < HW; i++) order[i] = i;
    for (int i = 0; i < HW; i++)
        for (int j = i + 1; j < HW; j++)
            if (v[order[j]] > v[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
}

/* The closed forms for a selection given by its mask and source order. */
typedef struct expect {
    double drop, prob_drop, flipped, del_auc, ins_auc, budget[3];
} expect;

static void expected(const float *x, const float *base, const uint8_t *sel, const int *order, int c, int P,
                     const double *budgets, expect *ex) {
    float y[HW];
    double l0[2], l1[2];
    logits_of(x, l0);
    for (int i = 0; i < HW; i++) y[i] = sel[i] ? base[i] : x[i];
    logits_of(y, l1);
    ex->drop = l0[c] - l1[c];
    ex->prob_drop = prob_of(x, c) - prob_of(y, c);
    int d0 = l0[0] >= l0[1] ? 0 : 1, d1 = l1[0] >= l1[1] ? 0 : 1;
    ex->flipped = d0 != d1;
    double del_prev = 0, ins_prev = 0;
    ex->del_auc = ex->ins_auc = 0;
    for (int p = 0; p < P; p++) {
        int k = (int)floor((double)p / (P - 1) * HW + 0.5);
        float dx[HW], ix[HW];
        for (int i = 0; i < HW; i++) dx[i] = x[i], ix[i] = base[i];
        for (int j = 0; j < k; j++) dx[order[j]] = base[order[j]], ix[order[j]] = x[order[j]];
        double dp = prob_of(dx, c), ip = prob_of(ix, c);
        if (p) {
            ex->del_auc += (dp + del_prev) / 2 / (P - 1);
            ex->ins_auc += (ip + ins_prev) / 2 / (P - 1);
        }
        del_prev = dp, ins_prev = ip;
    }
    for (int b = 0; b < 3; b++) {
        int k = (int)floor(budgets[b] * HW + 0.5);
        double s = 0;
        for (int j = 0; j < k; j++) s += (double)wt[c][order[j]] * (x[order[j]] - base[order[j]]);
        ex->budget[b] = s;
    }
}

static void check(const gad_evaluate_result *r, int s, const expect *ex) {
    const double tol = 2e-5;
    CU_ASSERT_DOUBLE_EQUAL(r->sel[s].v[GAD_EM_OCCLUSION_DROP], ex->drop, tol);
    CU_ASSERT_DOUBLE_EQUAL(r->sel[s].v[GAD_EM_OCCLUSION_DROP_PER_PIXEL], ex->drop / r->sel[s].v[GAD_EM_PIXELS], tol);
    CU_ASSERT_DOUBLE_EQUAL(r->sel[s].v[GAD_EM_PROBABILITY_DROP], ex->prob_drop, tol);
    CU_ASSERT_EQUAL(r->sel[s].v[GAD_EM_FLIPPED], ex->flipped);
    CU_ASSERT_DOUBLE_EQUAL(r->sel[s].v[GAD_EM_DELETION_AUC], ex->del_auc, tol);
    CU_ASSERT_DOUBLE_EQUAL(r->sel[s].v[GAD_EM_INSERTION_AUC], ex->ins_auc, tol);
    for (int b = 0; b < 3; b++) CU_ASSERT_DOUBLE_EQUAL(r->sel[s].budget_drop[b], ex->budget[b], tol);
}

static void test_linear_occlusion(void) {
    gad_model *m = linear_model();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    float x[HW], base[HW], plain[HW], fused[HW];
    uint8_t gmask[HW] = {0}, gt[HW] = {0};
    for (int i = 0; i < HW; i++) {
        x[i] = (float)(0.2 + 0.8 * ((i * 5) % 13) / 13.0);
        base[i] = (float)(0.05 * (i % 3)); /* a non-constant baseline */
        /* input x gradient: distinct values of both signs */
        plain[i] = wt[0][i] * (x[i] - base[i]) + 1e-4f * (float)i;
        fused[i] = (float)(HW - i) * 0.01f * (i % 2 ? 1.0f : -1.0f) + 0.001f * (float)i;
        gt[i] = i % W < 2; /* the two left columns */
    }
    /* GAD region: (x,y) = (0,0), (1,1), (3,0), (0,3), (3,3): hull a 3 x 3
     * square of centres, 4 regions (the first two touch diagonally) */
    static const int region[5][2] = {{0, 0}, {1, 1}, {3, 0}, {0, 3}, {3, 3}};
    for (int k = 0; k < 5; k++) gmask[region[k][1] * W + region[k][0]] = 1;

    gad_evaluate_config cfg;
    gad_evaluate_config_init(&cfg);
    cfg.batch = 7; /* the last chunk is partial */
    cfg.curve_points = 6;
    cfg.seed = 3;
    cfg.p = 0, cfg.q = 1;
    gad_evaluator *ev;
    gad_err e;
    GAD_ASSERT_OK(gad_evaluator_create(m, &cfg, &ev, &e), e);
    gad_evaluate_input in = {.x = x, .baseline = base, .target = 0, .plain_map = plain, .gad_map = fused,
                             .gad_mask = gmask, .gt = gt};
    gad_evaluate_result r, r2;
    double curves[GAD_SEL_COUNT * 2 * 6], shares[6];
    GAD_ASSERT_OK(gad_evaluate(ev, &in, &r, curves, shares, &e), e);

    double l0[2];
    logits_of(x, l0);
    CU_ASSERT_DOUBLE_EQUAL(r.logit, l0[0], 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(r.prob, prob_of(x, 0), 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(shares[1], 0.2, 1e-12);
    CU_ASSERT(r.sel[GAD_SEL_GAD].present && r.sel[GAD_SEL_PLAIN].present && r.sel[GAD_SEL_PLAIN_TOP].present &&
              r.sel[GAD_SEL_RANDOM].present && !r.sel[GAD_SEL_CONTROL].present);

    /* gad: the given region, ordered by the fused map */
    int order[HW];
    expect ex;
    sort_desc(fused, order);
    expected(x, base, gmask, order, 0, 6, cfg.budgets, &ex);
    check(&r, GAD_SEL_GAD, &ex);
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_GAD].v[GAD_EM_PIXELS], 5);
    CU_ASSERT_DOUBLE_EQUAL(r.sel[GAD_SEL_GAD].v[GAD_EM_HULL_AREA], 9.0 / HW, 1e-12);
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_GAD].v[GAD_EM_REGIONS], 4);
    /* the first deletion point is the unoccluded image, the last the baseline */
    CU_ASSERT_DOUBLE_EQUAL(curves[2 * GAD_SEL_GAD * 6], prob_of(x, 0), 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(curves[2 * GAD_SEL_GAD * 6 + 5], prob_of(base, 0), 1e-5);

    /* plain: the plain map's top 5, exactly gad's count */
    uint8_t sel[HW] = {0};
    sort_desc(plain, order);
    for (int j = 0; j < 5; j++) sel[order[j]] = 1;
    expected(x, base, sel, order, 0, 6, cfg.budgets, &ex);
    check(&r, GAD_SEL_PLAIN, &ex);
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_PLAIN].v[GAD_EM_PIXELS], 5);
    /* localisation: positive plain mass over the selection inside gt; the
     * selection's top pixel inside gt or not */
    double in_gt = 0, all = 0;
    for (int i = 0; i < HW; i++)
        if (sel[i] && plain[i] > 0) {
            all += plain[i];
            if (gt[i]) in_gt += plain[i];
        }
    CU_ASSERT_DOUBLE_EQUAL(r.sel[GAD_SEL_PLAIN].v[GAD_EM_MASS_IN_MASK], in_gt / all, 1e-6);
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_PLAIN].v[GAD_EM_POINTING_GAME], gt[order[0]]);

    /* plain_top: round(0.1 * 20) = 2 pixels, both positive here */
    memset(sel, 0, sizeof sel);
    sel[order[0]] = sel[order[1]] = 1;
    CU_ASSERT(plain[order[1]] > 0);
    expected(x, base, sel, order, 0, 6, cfg.budgets, &ex);
    check(&r, GAD_SEL_PLAIN_TOP, &ex);
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_PLAIN_TOP].v[GAD_EM_PIXELS], 2);

    /* random: gad's count; Gini of a 0/1 mask with 5 of 20 ones is 0.75 */
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_RANDOM].v[GAD_EM_PIXELS], 5);
    CU_ASSERT_DOUBLE_EQUAL(r.sel[GAD_SEL_RANDOM].v[GAD_EM_SPARSENESS], 0.75, 1e-9);

    /* deterministic for a seed */
    GAD_ASSERT_OK(gad_evaluate(ev, &in, &r2, NULL, NULL, &e), e);
    for (int s = 0; s < GAD_SEL_COUNT; s++)
        for (int k = 0; k < GAD_EM_COUNT + 3; k++) {
            double a = gad_evaluate_value(&r, s, k), b = gad_evaluate_value(&r2, s, k);
            CU_ASSERT(a == b || (isnan(a) && isnan(b)));
        }
    gad_evaluator_free(ev);
    gad_model_free(m);
}

/* random picks only informative pixels: with 3 of them and a budget of 5,
 * it takes exactly those 3, and occluding them removes x's whole effect. */
static void test_random_informative(void) {
    gad_model *m = linear_model();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    float x[HW], base[HW], plain[HW];
    uint8_t gmask[HW] = {0};
    for (int i = 0; i < HW; i++) {
        base[i] = 0.1f;
        x[i] = (i == 2 || i == 9 || i == 17) ? 0.9f : 0.1f;
        plain[i] = (float)i;
        gmask[i] = i >= 15; /* 5 pixels */
    }
    gad_evaluate_config cfg;
    gad_evaluate_config_init(&cfg);
    gad_evaluator *ev;
    gad_err e;
    GAD_ASSERT_OK(gad_evaluator_create(m, &cfg, &ev, &e), e);
    gad_evaluate_input in = {.x = x, .baseline = base, .target = 1, .plain_map = plain, .gad_map = plain,
                             .gad_mask = gmask, .control_map = plain, .control_mask = gmask};
    gad_evaluate_result r;
    GAD_ASSERT_OK(gad_evaluate(ev, &in, &r, NULL, NULL, &e), e);
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_RANDOM].v[GAD_EM_PIXELS], 3);
    double l0[2], lb[2];
    logits_of(x, l0);
    logits_of(base, lb);
    CU_ASSERT_DOUBLE_EQUAL(r.sel[GAD_SEL_RANDOM].v[GAD_EM_OCCLUSION_DROP], l0[1] - lb[1], 1e-5);
    /* decisions over all classes (no pair): class 1 as target */
    CU_ASSERT_EQUAL(r.target, 1);
    CU_ASSERT_EQUAL(r.decision, l0[1] > l0[0] ? 1 : 0);
    /* control given: present, the same figures as gad for the same input */
    CU_ASSERT(r.sel[GAD_SEL_CONTROL].present);
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_CONTROL].v[GAD_EM_OCCLUSION_DROP], r.sel[GAD_SEL_GAD].v[GAD_EM_OCCLUSION_DROP]);
    /* plain_top: round(0.1 * 20) = 2 pixels */
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_PLAIN_TOP].v[GAD_EM_PIXELS], 2);
    /* without gad: no plain, random takes plain_top's count */
    in.gad_map = NULL, in.gad_mask = NULL, in.control_map = NULL, in.control_mask = NULL;
    GAD_ASSERT_OK(gad_evaluate(ev, &in, &r, NULL, NULL, &e), e);
    CU_ASSERT(!r.sel[GAD_SEL_GAD].present && !r.sel[GAD_SEL_PLAIN].present);
    CU_ASSERT(isnan(gad_evaluate_value(&r, GAD_SEL_PLAIN, GAD_EM_HULL_AREA)));
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_RANDOM].v[GAD_EM_PIXELS], 2);
    /* an empty gad region: no per-pixel drop */
    memset(gmask, 0, sizeof gmask);
    in.gad_map = plain, in.gad_mask = gmask;
    GAD_ASSERT_OK(gad_evaluate(ev, &in, &r, NULL, NULL, &e), e);
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_GAD].v[GAD_EM_PIXELS], 0);
    CU_ASSERT_EQUAL(r.sel[GAD_SEL_GAD].v[GAD_EM_OCCLUSION_DROP], 0);
    CU_ASSERT(isnan(r.sel[GAD_SEL_GAD].v[GAD_EM_OCCLUSION_DROP_PER_PIXEL]));
    /* bad input is refused, not crashed on */
    in.target = 2;
    CU_ASSERT_EQUAL(gad_evaluate(ev, &in, &r, NULL, NULL, &e), GAD_EINVAL);
    in.target = 0, in.gad_map = NULL;
    CU_ASSERT_EQUAL(gad_evaluate(ev, &in, &r, NULL, NULL, &e), GAD_EINVAL);
    gad_evaluator_free(ev);
    cfg.budgets[1] = 1.5;
    CU_ASSERT_EQUAL(gad_evaluator_create(m, &cfg, &ev, &e), GAD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "1.5"));
    gad_evaluate_config_init(&cfg);
    cfg.curve_points = 1;
    CU_ASSERT_EQUAL(gad_evaluator_create(m, &cfg, &ev, &e), GAD_EINVAL);
    gad_model_free(m);
}

/* Paired differences and summaries over hand-made results. */
static void test_paired(void) {
    gad_evaluate_result r[4];
    memset(r, 0, sizeof r);
    static const double a[4] = {3, 5, 9, 1}, b[4] = {2, 3, 5, NAN};
    for (int i = 0; i < 4; i++) {
        r[i].sel[GAD_SEL_GAD].present = r[i].sel[GAD_SEL_PLAIN].present = 1;
        r[i].sel[GAD_SEL_GAD].v[GAD_EM_HULL_AREA] = a[i];
        r[i].sel[GAD_SEL_PLAIN].v[GAD_EM_HULL_AREA] = b[i];
        r[i].sel[GAD_SEL_GAD].budget_drop[1] = 2.0 * i;
    }
    double mean, lo, hi, sd;
    /* differences 1, 2, 4 (the NaN pair is left out): mean 7/3, sd sqrt(7/3),
     * half-width t(0.975, 2) sd / sqrt(3) with t = 4.302652729911275 */
    int k = gad_evaluate_paired(r, 4, GAD_SEL_GAD, GAD_SEL_PLAIN, GAD_EM_HULL_AREA, &mean, &lo, &hi);
    CU_ASSERT_EQUAL(k, 3);
    double half = 4.302652729911275 * sqrt(7.0 / 3) / sqrt(3.0);
    CU_ASSERT_DOUBLE_EQUAL(mean, 7.0 / 3, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(lo, 7.0 / 3 - half, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(hi, 7.0 / 3 + half, 1e-9);
    /* one pair: a mean, no interval */
    k = gad_evaluate_paired(r, 1, GAD_SEL_GAD, GAD_SEL_PLAIN, GAD_EM_HULL_AREA, &mean, &lo, &hi);
    CU_ASSERT_EQUAL(k, 1);
    CU_ASSERT_DOUBLE_EQUAL(mean, 1, 1e-12);
    CU_ASSERT(isnan(lo) && isnan(hi));
    /* an absent selection gives no pairs */
    k = gad_evaluate_paired(r, 4, GAD_SEL_GAD, GAD_SEL_CONTROL, GAD_EM_HULL_AREA, &mean, &lo, &hi);
    CU_ASSERT_EQUAL(k, 0);
    CU_ASSERT(isnan(mean));
    /* summary: mean and sample std of 3, 5, 9, 1 = 4.5, sqrt(35/3) */
    k = gad_evaluate_summary(r, 4, GAD_SEL_GAD, GAD_EM_HULL_AREA, &mean, &sd);
    CU_ASSERT_EQUAL(k, 4);
    CU_ASSERT_DOUBLE_EQUAL(mean, 4.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sd, sqrt(35.0 / 3), 1e-12);
    /* budget drops are metrics GAD_EM_COUNT + b: 0, 2, 4, 6 */
    k = gad_evaluate_summary(r, 4, GAD_SEL_GAD, GAD_EM_COUNT + 1, &mean, &sd);
    CU_ASSERT_EQUAL(k, 4);
    CU_ASSERT_DOUBLE_EQUAL(mean, 3, 1e-12);
    CU_ASSERT_STRING_EQUAL(gad_eval_selection_name(GAD_SEL_PLAIN_TOP), "plain_top");
    CU_ASSERT_STRING_EQUAL(gad_eval_metric_name(GAD_EM_OCCLUSION_DROP_PER_PIXEL), "occlusion_drop_per_pixel");
}

/* Ground-truth masks resized by nearest neighbour. */
static void test_mask_resize(void) {
    /* 2 x 4 gray, object in columns 1 and 2 of row 0 and column 3 of row 1 */
    float px[8] = {0, 1, 0.5f, 0, 0, 0, 0, 0.2f};
    gad_image img = {.w = 4, .h = 2, .c = 1, .data = px};
    uint8_t out[16];
    /* down to 1 x 2: source (row 1, col 1) and (row 1, col 3) */
    gad_eval_mask_from_image(&img, out, 1, 2);
    CU_ASSERT(out[0] == 0 && out[1] == 1);
    /* to 2 x 8: each source pixel twice as wide */
    gad_eval_mask_from_image(&img, out, 2, 8);
    static const uint8_t want[16] = {0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
    CU_ASSERT_EQUAL(memcmp(out, want, 16), 0);
    /* any channel counts */
    float rgb[3] = {0, 0, 0.1f};
    gad_image one = {.w = 1, .h = 1, .c = 3, .data = rgb};
    gad_eval_mask_from_image(&one, out, 2, 2);
    CU_ASSERT(out[0] && out[1] && out[2] && out[3]);
}

/* ---- the command, end to end ------------------------------------------- */

#define DEMO GAD_SOURCE_DIR "/tools/demo"
#define CLI GAD_CLI_PATH

static char buf[1 << 16];

static void test_cli(void) {
    const char *t = gad_test_tmpdir();
    char cmd[8192], path[4096];
    /* an ImageFolder of the demo images named as the labels file names them */
    snprintf(cmd, sizeof cmd,
             "set -e; cd %s; mkdir -p ev/data/Sneaker ev/data/Ankle-boot ev/masks; "
             "for f in %s/images/sneaker-*; do ln -sf $f ev/data/Sneaker/; done; "
             "for f in %s/images/ankle-boot-*; do ln -sf $f ev/data/Ankle-boot/; done; "
             "printf 'T-shirt\\nTrouser\\nPullover\\nDress\\nCoat\\nSandal\\nShirt\\nSneaker\\nBag\\nAnkle-boot\\n' "
             "> ev/labels.txt; ls %s/images/*.png | head -8 > ev/list.txt",
             t, DEMO, DEMO, DEMO);
    CU_ASSERT_EQUAL_FATAL(gad_test_run(cmd, buf, sizeof buf), 0);
    /* passive OpenMP waits: on a loaded 2-core machine spinning workers of
     * the child slow it down twenty-fold */
    snprintf(cmd, sizeof cmd,
             "OMP_WAIT_POLICY=passive %s fit --model %s/fashion_cnn.onnx --data %s/ev/data --labels %s/ev/labels.txt "
             "--pair Ankle-boot,Sneaker --out %s/ev/sup --holdout 0 --epochs 3 --min-fidelity 0 --control --quiet --threads 2 2>&1",
             CLI, DEMO, t, t, t);
    int rc = gad_test_run(cmd, buf, sizeof buf);
    if (rc) fprintf(stderr, "\n  %s\n", buf);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    /* ground truth: every pixel object for the list's first 2 images (at
     * 14 x 14, resized up), none for the others */
    FILE *lf = fopen(strcat(strcpy(path, t), "/ev/list.txt"), "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lf);
    char line[4096];
    for (int i = 0; fgets(line, sizeof line, lf); i++) {
        line[strcspn(line, "\n")] = 0;
        const char *b = strrchr(line, '/') + 1;
        char stem[512];
        snprintf(stem, sizeof stem, "%.*s", (int)(strrchr(b, '.') - b), b);
        uint8_t px[14 * 14];
        memset(px, i < 2 ? 255 : 0, sizeof px);
        gad_err e;
        snprintf(path, sizeof path, "%s/ev/masks/%s.png", t, stem);
        GAD_ASSERT_OK(gad_png_write(path, px, 1, 14, 14, &e), e);
    }
    fclose(lf);

    snprintf(cmd, sizeof cmd,
             "OMP_WAIT_POLICY=passive %s eval --model %s/fashion_cnn.onnx --support %s/ev/sup --control "
             "--method ig,saliency --steps 16 --masks %s/ev/masks --list %s/ev/list.txt --out %s/ev/report --threads 2 2>&1",
             CLI, DEMO, t, t, t, t);
    rc = gad_test_run(cmd, buf, sizeof buf);
    if (rc) fprintf(stderr, "\n  %s\n", buf);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    snprintf(path, sizeof path, "%s/ev/report/report.json", t);
    size_t n;
    char *rep = gad_test_read_file(path, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    static const char *const keys[] = {"\"model\": ", "\"support\": ", "\"images\": 8", "\"pair\": [9, 7]",
                                       "\"settings\": ", "\"methods\": ", "\"ig\": ", "\"saliency\": ",
                                       "\"paired\": ", "\"gad-plain\": ", "\"gad-plain_top\": ", "\"gad-control\": "};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        if (!strstr(rep, keys[i])) fprintf(stderr, "\n  report.json lacks %s\n", keys[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(rep, keys[i]));
    }
    static const char *const sels[] = {"gad", "plain", "plain_top", "random", "control"};
    static const char *const metrics[] = {"hull_area", "occlusion_drop", "occlusion_drop_per_pixel",
                                          "probability_drop", "flip_rate", "deletion_auc", "insertion_auc",
                                          "regions", "sparseness", "pixels", "occlusion_drop@0.05",
                                          "occlusion_drop@0.10", "occlusion_drop@0.20", "mass_in_mask",
                                          "pointing_game"};
    /* every selection has every metric with a mean and a std, in both
     * methods (the second method's block starts after "saliency") */
    const char *blocks[2] = {strstr(rep, "\"ig\": "), strstr(rep, "\"saliency\": ")};
    for (int mb = 0; mb < 2 && blocks[0] && blocks[1]; mb++) {
        for (size_t s = 0; s < 5; s++) {
            char key[128];
            snprintf(key, sizeof key, "\"%s\": {\"pixels\"", sels[s]);
            const char *sp = strstr(blocks[mb], key);
            CU_ASSERT_PTR_NOT_NULL_FATAL(sp);
            const char *end = strstr(sp, "}}");
            for (size_t k = 0; k < sizeof metrics / sizeof *metrics; k++) {
                snprintf(key, sizeof key, "\"%s\": {\"mean\": ", metrics[k]);
                const char *mp = strstr(sp, key);
                if (!mp || mp > end) fprintf(stderr, "\n  %s/%s lacks %s\n", mb ? "saliency" : "ig", sels[s], key);
                CU_ASSERT(mp && mp < end);
            }
        }
    }
    /* the masks: all object for 2 of 8 images, so a quarter of every
     * selection's mass is inside and a quarter of its top pixels */
    const char *gp = strstr(blocks[0], "\"gad\": {");
    static const char mk[] = "\"mass_in_mask\": {\"mean\": ", pk[] = "\"pointing_game\": {\"mean\": ";
    const char *mm = gp ? strstr(gp, mk) : NULL;
    const char *pg = gp ? strstr(gp, pk) : NULL;
    CU_ASSERT(mm && fabs(atof(mm + strlen(mk)) - 0.25) < 1e-9);
    CU_ASSERT(pg && fabs(atof(pg + strlen(pk)) - 0.25) < 1e-9);
    /* GAD's region and plain's have equal counts: the paired pixel difference is 0 */
    static const char pk2[] = "\"gad-plain\": {\"pixels\": {\"mean\": ";
    const char *pp = blocks[0] ? strstr(blocks[0], pk2) : NULL;
    CU_ASSERT(pp && atof(pp + strlen(pk2)) == 0 && pp[strlen(pk2)] == '0');
    free(rep);
    static const char *const files[] = {"report.md", "images.jsonl", "ig.deletion.svg", "ig.insertion.svg",
                                        "saliency.deletion.svg", "saliency.insertion.svg"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/ev/report/%s", t, files[i]);
        struct stat st;
        CU_ASSERT(stat(path, &st) == 0 && st.st_size > 100);
    }
    snprintf(path, sizeof path, "%s/ev/report/report.md", t);
    char *md = gad_test_read_file(path, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(md);
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "| metric | gad | plain | plain_top | random | control |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "More concise: GAD hull_area − plain_top"));
    CU_ASSERT_PTR_NOT_NULL(strstr(md, "occlusion_drop_per_pixel − plain ="));
    free(md);
    /* images.jsonl: one line per image and method */
    snprintf(cmd, sizeof cmd, "wc -l < %s/ev/report/images.jsonl", t);
    gad_test_run(cmd, buf, sizeof buf);
    CU_ASSERT_EQUAL(atoi(buf), 16);

    /* without support: plain_top and random only, the target predicted */
    snprintf(cmd, sizeof cmd,
             "OMP_WAIT_POLICY=passive %s eval --model %s/fashion_cnn.onnx --method ixg --data %s/ev/data/Sneaker "
             "--out %s/ev/plain --threads 2 2>&1",
             CLI, DEMO, t, t);
    rc = gad_test_run(cmd, buf, sizeof buf);
    if (rc) fprintf(stderr, "\n  %s\n", buf);
    CU_ASSERT_EQUAL(rc, 0);
    snprintf(path, sizeof path, "%s/ev/plain/report.json", t);
    rep = gad_test_read_file(path, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rep);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\"pair\": null"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\"images\": 24"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\"plain_top\": {\"pixels\": {\"mean\": 78,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rep, "\"random\": {\"pixels\": {\"mean\": 78,"));
    CU_ASSERT_PTR_NULL(strstr(rep, "\"gad\": {"));
    CU_ASSERT_PTR_NULL(strstr(rep, "\"gad-plain\""));
    free(rep);

    /* failures: one line naming the problem, non-zero exit */
    static const struct {
        const char *flags, *msg;
    } bad[] = {
        {"--support %s/ev/nope --method ig", "fit.json: cannot open"},
        {"--support %s/ev/sup --method ig --budget 0.05,2", "--budget '0.05,2'"},
        {"--support %s/ev/sup --method ig,bogus", "--method 'bogus'"},
        {"--method ig --control --masks %s", "--control needs --support"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char fl[1024];
        snprintf(fl, sizeof fl, bad[i].flags, t);
        snprintf(cmd, sizeof cmd, "%s eval --model %s/fashion_cnn.onnx %s --out %s/ev/bad %s/images/sneaker-00009.png 2>&1",
                 CLI, DEMO, fl, t, DEMO);
        rc = gad_test_run(cmd, buf, sizeof buf);
        CU_ASSERT_NOT_EQUAL(rc, 0);
        if (!strstr(buf, bad[i].msg)) fprintf(stderr, "\n  expected '%s' in: %s\n", bad[i].msg, buf);
        CU_ASSERT_PTR_NOT_NULL(strstr(buf, bad[i].msg));
        CU_ASSERT(gad_test_cli_prefixed(buf));
    }
}

void gad_test_register_evaluate(void) {
    static const gad_test_case t[] = {{"linear_occlusion", test_linear_occlusion},
                                      {"random_informative", test_random_informative},
                                      {"paired", test_paired},
                                      {"mask_resize", test_mask_resize},
                                      {"cli", test_cli},
                                      {0, 0}};
    gad_test_add_suite("evaluate", t);
}
