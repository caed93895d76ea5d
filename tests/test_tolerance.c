/* Adaptive IG (--tolerance): the completeness the results claim, checked
 * against F(x) and F(x') computed separately; the two-point rule checked
 * against gradients computed separately when no refinement is needed; steps that are what was
 * spent; determinism across threads; refusal of bad settings (API and CLI). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gad/gad.h"
#include "harness.h"

#define DEMO_MODEL GAD_SOURCE_DIR "/tools/demo/fashion_cnn.onnx"
#define D 784

static void run_ig(gad_model *m, const gad_attr_config *cfg, int n, const float *x, float *attr,
                   gad_attr_result *res) {
    gad_attributor *a;
    gad_err e;
    GAD_ASSERT_OK(gad_attributor_create(m, cfg, &a, &e), e);
    GAD_ASSERT_OK(gad_attribute(a, n, x, NULL, NULL, attr, res, &e), e);
    gad_attributor_free(a);
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The 48 demo images at T = 1 %: every result meets |sum - (F(x) - F(x'))|
 * <= T |F(x) - F(x')| with the sum and both scores recomputed here (F from
 * a plain gradient run, a different plan; F(x') on the zero baseline), and
 * the adaptive rule beats fixed 50-point Gauss-Legendre on both steps and
 * median error (deterministic numbers, not timings). */
static void test_completeness(void) {
    gad_model *m;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(DEMO_MODEL, &m, &e), e);
    int n;
    float *x = gad_test_demo_images(&n, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    float *attr = malloc((size_t)n * D * sizeof *attr), *grad = malloc((size_t)n * D * sizeof *grad);
    float *zeros = calloc((size_t)n * D, sizeof *zeros);
    gad_attr_result *res = calloc((size_t)n, sizeof *res), *rg = calloc((size_t)n, sizeof *rg),
                    *rb = calloc((size_t)n, sizeof *rb);
    gad_target *tg = malloc((size_t)n * sizeof *tg);
    double *rel = malloc((size_t)n * sizeof *rel), *rel50 = malloc((size_t)n * sizeof *rel50);

    gad_attr_config cfg;
    gad_attr_config_init(&cfg);
    cfg.tolerance = 0.01f;
    run_ig(m, &cfg, n, x, attr, res);

    gad_attr_config gc;
    gad_attr_config_init(&gc);
    gc.method = GAD_METHOD_GRADIENT;
    for (int i = 0; i < n; i++) tg[i] = (gad_target){GAD_TARGET_CLASS, res[i].target_p, -1};
    gad_attributor *a;
    GAD_ASSERT_OK(gad_attributor_create(m, &gc, &a, &e), e);
    GAD_ASSERT_OK(gad_attribute(a, n, x, NULL, tg, grad, rg, &e), e);
    GAD_ASSERT_OK(gad_attribute(a, n, zeros, NULL, tg, grad, rb, &e), e);
    gad_attributor_free(a);

    double steps = 0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        double sum = 0;
        for (int j = 0; j < D; j++) sum += attr[(size_t)i * D + j];
        double gap = (double)rg[i].score - rb[i].score;
        rel[i] = fabs(sum - gap) / fabs(gap);
        steps += res[i].steps;
        /* the scores of two plans differ by float rounding: 1e-5 of slack */
        if (rel[i] > 0.01 + 1e-5 && res[i].steps < cfg.max_steps && bad++ < 5)
            fprintf(stderr, "\n  image %d: relative delta %.3e above 1 %% after %d steps", i, rel[i], res[i].steps);
        CU_ASSERT(fabs(rel[i] - res[i].rel_delta) <= 1e-4 * fmax(1, rel[i]));
        CU_ASSERT(res[i].steps >= 2 && res[i].steps <= cfg.max_steps);
    }
    CU_ASSERT_EQUAL(bad, 0);

    gad_attr_config_init(&cfg); /* fixed GL-50 */
    run_ig(m, &cfg, n, x, attr, res);
    for (int i = 0; i < n; i++) rel50[i] = res[i].rel_delta;
    double med = median(rel, n), med50 = median(rel50, n);
    printf("\n  demo, 48 images: --tolerance 0.01 %.1f steps on average, median rel delta %.2e; fixed GL-50: %.2e",
           steps / n, med, med50);
    CU_ASSERT(steps / n <= 25.0);
    CU_ASSERT(med <= med50);

    free(x), free(attr), free(grad), free(zeros), free(res), free(rg), free(rb), free(tg), free(rel), free(rel50);
    gad_model_free(m);
}

/* When the 2 starting points (alpha = 1/2 and 1) already meet the
 * tolerance, the rule is the right-point rule on [0, 1/2] and the trapezoid
 * on [1/2, 1]: attr = x * (3/4 g(x/2) + 1/4 g(x)) for the zero baseline, with
 * the gradients computed here by the plain gradient method. */
static void test_identity_two_points(void) {
    gad_model *m;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(DEMO_MODEL, &m, &e), e);
    int n;
    float *x = gad_test_demo_images(&n, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    n = 8;
    float *ta = malloc((size_t)n * D * sizeof *ta), *g1 = malloc((size_t)n * D * sizeof *g1),
          *gh = malloc((size_t)n * D * sizeof *gh), *half = malloc((size_t)n * D * sizeof *half);
    gad_attr_result rt[8], rg[8];
    gad_target tg[8];
    gad_attr_config cfg;
    gad_attr_config_init(&cfg);
    cfg.tolerance = 1e6f;
    run_ig(m, &cfg, n, x, ta, rt);
    for (int i = 0; i < n; i++) tg[i] = (gad_target){GAD_TARGET_CLASS, rt[i].target_p, -1};
    for (size_t i = 0; i < (size_t)n * D; i++) half[i] = 0.5f * x[i];
    gad_attr_config gc;
    gad_attr_config_init(&gc);
    gc.method = GAD_METHOD_GRADIENT;
    gad_attributor *a;
    GAD_ASSERT_OK(gad_attributor_create(m, &gc, &a, &e), e);
    GAD_ASSERT_OK(gad_attribute(a, n, x, NULL, tg, g1, rg, &e), e);
    GAD_ASSERT_OK(gad_attribute(a, n, half, NULL, tg, gh, rg, &e), e);
    gad_attributor_free(a);
    for (int i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(rt[i].steps, 2);
        float *want = half + (size_t)i * D; /* reused */
        for (int j = 0; j < D; j++) {
            size_t k = (size_t)i * D + j;
            want[j] = x[k] * (0.75f * gh[k] + 0.25f * g1[k]);
        }
        double l2 = gad_test_rel_l2(ta + (size_t)i * D, want, D, 1e-12);
        if (l2 > 1e-5) fprintf(stderr, "\n  image %d: rel L2 %.3e against the two-point rule", i, l2);
        CU_ASSERT(l2 <= 1e-5);
    }
    free(x), free(ta), free(g1), free(gh), free(half);
    gad_model_free(m);
}

/* Steps are what was spent: capping the points at the reported count
 * reproduces the run bit for bit (every refinement fitted), one fewer
 * cannot (the last refinement no longer fits). Thread counts do not change
 * the results either. */
static void test_steps_and_determinism(void) {
    gad_model *m;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(DEMO_MODEL, &m, &e), e);
    int n;
    float *x = gad_test_demo_images(&n, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    float *a1 = malloc((size_t)n * D * sizeof *a1), *a2 = malloc((size_t)n * D * sizeof *a2);
    gad_attr_result *r1 = calloc((size_t)n, sizeof *r1), *r2 = calloc((size_t)n, sizeof *r2);
    gad_attr_config cfg;
    gad_attr_config_init(&cfg);
    cfg.tolerance = 0.002f; /* tight: several refinements an image */
    cfg.threads = 1;
    run_ig(m, &cfg, n, x, a1, r1);
    cfg.threads = 2;
    run_ig(m, &cfg, n, x, a2, r2);
    CU_ASSERT(memcmp(a1, a2, (size_t)n * D * sizeof *a1) == 0);
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL(r1[i].steps, r2[i].steps);

    int checked = 0;
    for (int i = 0; i < n && checked < 4; i++) {
        if (r1[i].steps <= 2) continue;
        checked++;
        gad_attr_result rc;
        cfg.max_steps = r1[i].steps;
        run_ig(m, &cfg, 1, x + (size_t)i * D, a2, &rc);
        CU_ASSERT_EQUAL(rc.steps, r1[i].steps);
        CU_ASSERT(memcmp(a2, a1 + (size_t)i * D, D * sizeof *a2) == 0);
        cfg.max_steps = r1[i].steps - 1;
        run_ig(m, &cfg, 1, x + (size_t)i * D, a2, &rc);
        CU_ASSERT(rc.steps <= r1[i].steps - 1);
        CU_ASSERT(memcmp(a2, a1 + (size_t)i * D, D * sizeof *a2) != 0);
        cfg.max_steps = 512;
    }
    CU_ASSERT_EQUAL(checked, 4);
    free(x), free(a1), free(a2), free(r1), free(r2);
    gad_model_free(m);
}

static void expect_refused(gad_model *m, const gad_attr_config *cfg, const char *needle) {
    gad_attributor *a = NULL;
    gad_err e = {0};
    CU_ASSERT_NOT_EQUAL(gad_attributor_create(m, cfg, &a, &e), 0);
    CU_ASSERT_PTR_NULL(a);
    if (!strstr(e.msg, needle)) fprintf(stderr, "\n  message '%s' lacks '%s'", e.msg, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, needle));
    gad_attributor_free(a);
}

static void test_refusals(void) {
    gad_model *m;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(DEMO_MODEL, &m, &e), e);
    gad_attr_config cfg;
    const float bad[] = {-0.01f, NAN, INFINITY};
    for (int i = 0; i < 3; i++) {
        gad_attr_config_init(&cfg);
        cfg.tolerance = bad[i];
        expect_refused(m, &cfg, "--tolerance must be a finite number > 0");
    }
    gad_attr_config_init(&cfg);
    cfg.tolerance = 0.01f;
    cfg.method = GAD_METHOD_SALIENCY;
    expect_refused(m, &cfg, "--method ig only");
    gad_attr_config_init(&cfg);
    cfg.tolerance = 0.01f;
    cfg.noise = GAD_NOISE_SMOOTHGRAD;
    expect_refused(m, &cfg, "noise tunnel");
    gad_attr_config_init(&cfg);
    cfg.tolerance = 0.01f;
    cfg.max_steps = 1;
    expect_refused(m, &cfg, "--max-steps 1 out of range");
    gad_model_free(m);

    /* the CLI: non-zero exit, one message naming the flag, no output folder */
    static const struct {
        const char *flags, *needle;
    } cli[] = {
        {"--tolerance -1", "--tolerance -1 is out of range"},
        {"--tolerance nan", "--tolerance 'nan' is not a finite number"},
        {"--tolerance 0", "--tolerance must be > 0"},
        {"--tolerance 0.01 --method saliency", "--tolerance applies to --method ig only"},
        {"--tolerance 0.01 --steps 20", "drop --steps/--quadrature"},
        {"--tolerance 0.01 --noise smoothgrad", "does not combine with --noise"},
        {"--tolerance 0.01 --max-steps 1", "--max-steps 1 is out of range"},
        {"--max-steps 64", "--max-steps needs --tolerance"},
    };
    for (size_t i = 0; i < sizeof cli / sizeof *cli; i++) {
        char out[512], errf[512], cmd[2048], msg[1024] = "";
        snprintf(out, sizeof out, "%s/tol_refused_%zu", gad_test_tmpdir(), i);
        snprintf(errf, sizeof errf, "%s/tol_refused_%zu.err", gad_test_tmpdir(), i);
        snprintf(cmd, sizeof cmd, "%s attribute --model %s %s --out %s %s/tools/demo/images 2>%s", GAD_CLI_PATH,
                 DEMO_MODEL, cli[i].flags, out, GAD_SOURCE_DIR, errf);
        CU_ASSERT_NOT_EQUAL(gad_test_run(cmd, NULL, 0), 0);
        FILE *f = fopen(errf, "r");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        size_t got = fread(msg, 1, sizeof msg - 1, f);
        msg[got] = 0;
        fclose(f);
        if (!strstr(msg, cli[i].needle)) fprintf(stderr, "\n  %s: '%s' lacks '%s'", cli[i].flags, msg, cli[i].needle);
        CU_ASSERT_PTR_NOT_NULL(strstr(msg, cli[i].needle));
        FILE *o = fopen(out, "r");
        CU_ASSERT_PTR_NULL(o);
        if (o) fclose(o);
    }
}

void gad_test_register_tolerance(void) {
    static const gad_test_case t[] = {{"completeness", test_completeness},
                                      {"identity_two_points", test_identity_two_points},
                                      {"steps_and_determinism", test_steps_and_determinism},
                                      {"refusals", test_refusals},
                                      {0, 0}};
    gad_test_add_suite("tolerance", t);
}
