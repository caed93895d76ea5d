/* GAD fusion (GAD-SPEC step 7) on small maps with answers worked out by
 * hand, and the whole explanation on the demo model: level 0 is the plain
 * method, the region lies where the fused map is non-zero. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gad/gad.h"
#include "harness.h"

#define N 10

/* Three maps of ten pixels, each already normalised (max |value| = 1 at the
 * 100th percentile, so normalisation with norm_pct 100 leaves them). */
static void three_maps(float m[3][N]) {
    static const float v[3][N] = {
        {1.0f, 0.9f, 0.1f, 0.0f, -1.0f, 0.2f, 0.3f, 0.0f, 0.0f, 0.0f},
        {0.8f, 1.0f, 0.9f, 0.0f, -0.5f, 0.1f, 0.2f, 0.0f, 0.0f, 0.0f},
        {0.7f, 0.2f, 1.0f, 0.0f, -0.2f, 0.9f, 0.1f, 0.0f, 0.0f, 0.0f},
    };
    memcpy(m, v, sizeof v);
}

static void fuse(gad_fuse how, int votes, double top, float *fused, uint8_t *mask, int *region) {
    float m[3][N], scratch[2 * N];
    float *maps[3] = {m[0], m[1], m[2]};
    three_maps(m);
    gad_explain_config cfg;
    gad_explain_config_init(&cfg);
    cfg.fuse = how;
    cfg.votes = votes;
    cfg.top = top;
    cfg.norm_pct = 100;
    *region = gad_fuse_maps(maps, 3, N, &cfg, fused, mask, scratch);
}

static void test_consensus(void) {
    float fused[N];
    uint8_t mask[N];
    int region;
    /* top 20 % = 2 pixels a map: {0,1}, {1,2}, {2,5}; no pixel in all three */
    fuse(GAD_FUSE_CONSENSUS, 0, 0.2, fused, mask, &region);
    CU_ASSERT_EQUAL(region, 0);
    for (int i = 0; i < N; i++) CU_ASSERT_EQUAL(fused[i], 0);
    /* top 30 % = 3 pixels: {0,1,6}, {0,1,2}, {0,2,5}: pixel 0 only */
    fuse(GAD_FUSE_CONSENSUS, 0, 0.3, fused, mask, &region);
    CU_ASSERT_EQUAL(region, 1);
    CU_ASSERT_EQUAL(mask[0], 1);
    CU_ASSERT_DOUBLE_EQUAL(fused[0], (1.0 + 0.8 + 0.7) / 3, 1e-6);
    for (int i = 1; i < N; i++) CU_ASSERT_EQUAL(mask[i], 0);
    /* two votes of three: pixels 0, 1, 2 */
    fuse(GAD_FUSE_CONSENSUS, 2, 0.3, fused, mask, &region);
    CU_ASSERT_EQUAL(region, 3);
    CU_ASSERT(mask[0] && mask[1] && mask[2] && !mask[5] && !mask[6]);
    CU_ASSERT_DOUBLE_EQUAL(fused[2], (0.1 + 0.9 + 1.0) / 3, 1e-6);
    CU_ASSERT_EQUAL(fused[5], 0);
}

static void test_mean_and_gain(void) {
    float fused[N];
    uint8_t mask[N];
    int region;
    fuse(GAD_FUSE_MEAN, 0, 0.2, fused, mask, &region);
    /* the mean everywhere; its own top 2: pixel 0 (0.833) and 1 (0.7) */
    CU_ASSERT_DOUBLE_EQUAL(fused[4], (-1.0 - 0.5 - 0.2) / 3, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(fused[5], (0.2 + 0.1 + 0.9) / 3, 1e-6);
    CU_ASSERT_EQUAL(region, 2);
    CU_ASSERT(mask[0] && mask[1]);
    /* gain: last map's top 3 = {0, 2, 5}; non-decreasing over levels: pixel
     * 2 (0.1, 0.9, 1.0) only (0 falls, 5 dips at level 1) */
    fuse(GAD_FUSE_GAIN, 0, 0.3, fused, mask, &region);
    CU_ASSERT_EQUAL(region, 1);
    CU_ASSERT_EQUAL(mask[2], 1);
    CU_ASSERT_DOUBLE_EQUAL(fused[2], (0.1 + 0.9 + 1.0) / 3, 1e-6);
    CU_ASSERT_EQUAL(fused[0], 0);
}

static void test_normalisation(void) {
    /* maps of very different scales fuse as equals after normalisation */
    float a[N] = {10, 9, 0, 0, 0, 0, 0, 0, 0, 0}, b[N] = {0.1f, 0.09f, 0, 0, 0, 0, 0, 0, 0, 0};
    float *maps[2] = {a, b}, fused[N], scratch[2 * N];
    uint8_t mask[N];
    gad_explain_config cfg;
    gad_explain_config_init(&cfg);
    cfg.norm_pct = 100;
    cfg.top = 0.2;
    CU_ASSERT_EQUAL(gad_fuse_maps(maps, 2, N, &cfg, fused, mask, scratch), 2);
    CU_ASSERT_DOUBLE_EQUAL(a[0], 1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(b[1], 0.9, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(fused[1], 0.9, 1e-6);
    /* a map with no positive values selects nothing */
    float z1[N] = {-1, -2, 0, 0, 0, 0, 0, 0, 0, 0}, z2[N] = {-1, -2, 0, 0, 0, 0, 0, 0, 0, 0};
    float *zm[2] = {z1, z2};
    CU_ASSERT_EQUAL(gad_fuse_maps(zm, 2, N, &cfg, fused, mask, scratch), 0);
}

static void test_explain_demo(void) {
    gad_model *f;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(GAD_SOURCE_DIR "/tools/demo/fashion_cnn.onnx", &f, &e), e);
    /* inputs: the first 3 ankle boots and the first 3 sneakers of the demo */
    int all;
    float *demo = gad_test_demo_images(&all, NULL);
    CU_ASSERT_FATAL(demo != NULL && all == 48);
    const int n = 6;
    float *x = malloc(n * 784 * sizeof(float));
    memcpy(x, demo, 3 * 784 * sizeof(float));
    memcpy(x + 3 * 784, demo + 24 * 784, 3 * 784 * sizeof(float));
    free(demo);
    /* two quickly fitted support models */
    gad_fit_config fc;
    gad_fit_config_init(&fc);
    fc.p = 7;
    fc.q = 9;
    fc.n_levels = 2;
    fc.epochs = 10;
    fc.batch = 3;
    fc.holdout = 0;
    gad_fit_result fr;
    GAD_ASSERT_OK(gad_fit(f, x, NULL, n, &fc, &fr, &e), e);
    gad_model *sup[2] = {fr.levels[0].model, fr.levels[1].model};

    gad_explain_config cfg;
    gad_explain_config_init(&cfg);
    cfg.attr.method = GAD_METHOD_IG;
    cfg.attr.steps = 16;
    cfg.p = 7;
    cfg.q = 9;
    gad_explainer *ex;
    GAD_ASSERT_OK(gad_explainer_create(f, sup, 2, &cfg, &ex, &e), e);
    CU_ASSERT_EQUAL(gad_explainer_levels(ex), 3);
    float *maps = malloc(n * 3 * 784 * sizeof(float)), *fused = malloc(n * 784 * sizeof(float));
    float *attr = malloc(n * 3 * 784 * sizeof(float));
    uint8_t *mask = malloc(n * 784);
    gad_explain_result res[6];
    GAD_ASSERT_OK(gad_explain(ex, n, x, NULL, attr, maps, fused, mask, res, &e), e);

    /* level 0 is the plain method on f with target c */
    gad_attr_config ac = cfg.attr;
    gad_attributor *a;
    float *plain = malloc(784 * sizeof(float));
    gad_attr_result ar;
    double gap0 = 0, gap2 = 0;
    for (int i = 0; i < n; i++) {
        CU_ASSERT(res[i].cls == 7 || res[i].cls == 9);
        CU_ASSERT_EQUAL(res[i].other, res[i].cls == 7 ? 9 : 7);
        ac.target = (gad_target){GAD_TARGET_CLASS, res[i].cls, -1};
        GAD_ASSERT_OK(gad_attributor_create(f, &ac, &a, &e), e);
        GAD_ASSERT_OK(gad_attribute(a, 1, x + i * 784, NULL, NULL, plain, &ar, &e), e);
        gad_attributor_free(a);
        CU_ASSERT(gad_test_rel_l2(attr + (size_t)i * 3 * 784, plain, 784, 1e-12) < 1e-6);
        CU_ASSERT(res[i].gaps[0] > 0); /* c is f's choice within the pair */
        gap0 += res[i].gaps[0];
        gap2 += res[i].gaps[2];
        /* the region: at most the top share, fused non-zero exactly there */
        int cnt = 0;
        for (int p = 0; p < 784; p++) {
            cnt += mask[i * 784 + p];
            if (!mask[i * 784 + p]) CU_ASSERT_EQUAL(fused[i * 784 + p], 0);
            if (mask[i * 784 + p]) CU_ASSERT(fused[i * 784 + p] > 0);
        }
        CU_ASSERT_EQUAL(cnt, res[i].region_pixels);
        CU_ASSERT(cnt <= 79 && cnt > 0);
    }
    /* on average the pair's gap grows with the level, as the fit asked */
    CU_ASSERT(gap2 > gap0);
    gad_explainer_free(ex);
    gad_fit_result_free(&fr);
    gad_model_free(f);
    free(x);
    free(maps);
    free(fused);
    free(attr);
    free(mask);
    free(plain);
}

void gad_test_register_explain(void) {
    static const gad_test_case t[] = {{"consensus", test_consensus},
                                      {"mean_and_gain", test_mean_and_gain},
                                      {"normalisation", test_normalisation},
                                      {"explain_demo", test_explain_demo},
                                      {0, 0}};
    gad_test_add_suite("explain", t);
}
