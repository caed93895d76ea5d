/* --precision bf16: the backward passes of convolutions and inner products
 * in bf16 (f32 accumulation), the forward in f32.
 *
 * Tolerances: bf16 keeps 8 significant bits, so each rounding of a weight or
 * an output gradient is off by at most 2^-9 (0.2 %) relative; a layer's
 * input gradient sums many such products with independent rounding errors,
 * which stay near 0.2-0.4 % relative per layer, and a few layers compound to
 * about 1 %. IG then averages the points' gradients. The attributions are
 * asserted within 2 % relative L2 of f32 (the bound; measured here
 * 0.3 % for a single gradient of the demo model, 0.6 % for IG-50 on
 * resnet18), and the difference must not be zero, which would mean bf16
 * silently ran in f32. The forward is f32 in both precisions, so F(x), F(x')
 * and the logits are compared bit for bit.
 *
 * On a CPU without bf16 dot products (or under ONEDNN_MAX_CPU_ISA=AVX2, as
 * CI also runs the suites) the comparisons are replaced by the refusal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gad/attr.h"
#include "gad/gad.h"
#include "gad/model.h"
#include "gad/plan.h"
#include "harness.h"

#define DEMO GAD_SOURCE_DIR "/tools/demo"
#define CLI GAD_CLI_PATH
#define REFUSAL "needs a CPU with AMX or AVX-512 BF16"

/* 1 when bf16 runs here; otherwise checks the refusal of `rc`/`e`. */
static int bf16_available(int rc, const gad_err *e) {
    if (rc == 0) return 1;
    CU_ASSERT_EQUAL(rc, GAD_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(e->msg, REFUSAL));
    printf("\n  SKIPPED bf16 comparison (refused: %s)", e->msg);
    return 0;
}

static void test_ig_demo(void) {
    gad_model *m;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(DEMO "/fashion_cnn.onnx", &m, &e), e);
    int n;
    float *x = gad_test_demo_images(&n, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    n = 12;
    const size_t d = 784;
    float *a32 = malloc(n * d * sizeof(float)), *a16 = malloc(n * d * sizeof(float));
    gad_attr_result r32[12], r16[12];
    gad_attr_config cfg;
    gad_attr_config_init(&cfg);
    cfg.threads = 2;
    gad_attributor *a;
    GAD_ASSERT_OK(gad_attributor_create(m, &cfg, &a, &e), e);
    GAD_ASSERT_OK(gad_attribute(a, n, x, NULL, NULL, a32, r32, &e), e);
    gad_attributor_free(a);
    cfg.precision = GAD_PRECISION_BF16;
    int rc = gad_attributor_create(m, &cfg, &a, &e);
    if (bf16_available(rc, &e)) {
        GAD_ASSERT_OK(gad_attribute(a, n, x, NULL, NULL, a16, r16, &e), e);
        gad_attributor_free(a);
        double worst = 0, total = gad_test_rel_l2(a16, a32, n * d, 1e-30);
        for (int i = 0; i < n; i++) {
            worst = fmax(worst, gad_test_rel_l2(a16 + i * d, a32 + i * d, d, 1e-30));
            CU_ASSERT_EQUAL(r16[i].target_p, r32[i].target_p);
            CU_ASSERT(r16[i].score == r32[i].score);
            CU_ASSERT(r16[i].baseline_score == r32[i].baseline_score);
            CU_ASSERT_EQUAL(r16[i].steps, r32[i].steps);
            /* completeness moves by the attributions' error at most */
            CU_ASSERT(fabs(r16[i].delta - r32[i].delta) <
                      0.02 * fabs((double)r32[i].score - r32[i].baseline_score));
        }
        printf("\n  demo IG-50 bf16 vs f32: rel L2 %.4f overall, worst image %.4f", total, worst);
        CU_ASSERT(worst < 0.02);
        CU_ASSERT(total > 1e-6);
    }
    free(x), free(a32), free(a16);
    gad_model_free(m);
}

/* Plan level, on the residual PyTorch fixture (BatchNorm folded, Add,
 * pooling): logits bit-identical, input gradients close but not equal;
 * bf16 with weight gradients is refused. */
static void test_plan_res(void) {
    gad_model *m;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(gad_test_data("torch/res_op13.onnx"), &m, &e), e);
    int c, h, w, k = gad_model_num_classes(m);
    gad_model_input_dims(m, &c, &h, &w);
    enum { B = 3 };
    size_t nx = (size_t)c * h * w;
    float *x = malloc(B * nx * 4), *dx32 = malloc(B * nx * 4), *dx16 = malloc(B * nx * 4);
    float *y32 = malloc(B * k * 4), *y16 = malloc(B * k * 4), *dl = calloc(B * k, 4);
    uint64_t s = 7;
    for (size_t i = 0; i < B * nx; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((s >> 40) * 0x1.0p-24 * 2 - 1);
    }
    for (int b = 0; b < B; b++) dl[b * k + b % k] = 1, dl[b * k + (b + 1) % k] = -0.5f;
    gad_plan *p32, *p16 = NULL;
    GAD_ASSERT_OK(gad_plan_create(m, B, GAD_PLAN_BACKWARD_DATA, &p32, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(p32, x, y32, &e), e);
    GAD_ASSERT_OK(gad_plan_backward(p32, dl, dx32, &e), e);
    int rc = gad_plan_create(m, B, GAD_PLAN_BACKWARD_DATA | GAD_PLAN_BF16, &p16, &e);
    if (bf16_available(rc, &e)) {
        GAD_ASSERT_OK(gad_plan_forward(p16, x, y16, &e), e);
        GAD_ASSERT_OK(gad_plan_backward(p16, dl, dx16, &e), e);
        CU_ASSERT(memcmp(y16, y32, B * k * 4) == 0);
        double err = gad_test_rel_l2(dx16, dx32, B * nx, 1e-30);
        printf("\n  res_op13 input gradient bf16 vs f32: rel L2 %.4f", err);
        CU_ASSERT(err < 0.02);
        CU_ASSERT(err > 1e-6);
        gad_plan *pw = NULL;
        CU_ASSERT_EQUAL(gad_plan_create(m, B, GAD_PLAN_BACKWARD_WEIGHTS | GAD_PLAN_BF16, &pw, &e),
                        GAD_EUNSUPPORTED);
        CU_ASSERT_PTR_NULL(pw);
    }
    gad_plan_free(p16);
    gad_plan_free(p32);
    free(x), free(dx32), free(dx16), free(y32), free(y16), free(dl);
    gad_model_free(m);
}

/* The CLI refuses with one clear message when oneDNN is capped below
 * AVX-512 BF16 (the cap is read by the child at its first ISA query), and
 * writes nothing; an unknown precision is named. */
static void test_cli_refusal(void) {
    char out[4096], cmd[2048], dir[1024];
    snprintf(dir, sizeof dir, "%s/bf16-refused", gad_test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "ONEDNN_MAX_CPU_ISA=AVX2 " CLI " attribute --model " DEMO "/fashion_cnn.onnx --precision bf16 "
             "--steps 4 --out %s " DEMO "/images/sneaker-00009.png 2>&1",
             dir);
    int rc = gad_test_run(cmd, out, sizeof out);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--precision bf16 " REFUSAL "; this one has AVX2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "fashion_cnn.onnx"));
    struct stat st;
    CU_ASSERT_NOT_EQUAL(stat(dir, &st), 0);
    snprintf(cmd, sizeof cmd,
             CLI " attribute --model " DEMO "/fashion_cnn.onnx --precision f16 --out %s " DEMO
                 "/images/sneaker-00009.png 2>&1",
             dir);
    rc = gad_test_run(cmd, out, sizeof out);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--precision 'f16' is not one of f32, bf16"));
    CU_ASSERT_NOT_EQUAL(stat(dir, &st), 0);
}

void gad_test_register_bf16(void) {
    static const gad_test_case t[] = {
        {"ig_demo", test_ig_demo},
        {"plan_res", test_plan_res},
        {"cli_refusal", test_cli_refusal},
        {0, 0},
    };
    gad_test_add_suite("bf16", t);
}
