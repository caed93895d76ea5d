/* GAD support-model fitting: distanced targets, the MSE gradient against
 * finite differences, optimizer steps against hand computation, and a real
 * fit on the demo model whose logit gaps must grow with the level while its
 * decisions stay (fidelity). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gad/gad.h"
#include "harness.h"

#define DEMO GAD_SOURCE_DIR "/tools/demo"

static void test_targets(void) {
    const float a[4] = {1, -2, 3, 0.5f};
    float t[4];
    gad_fit_target(a, 4, 2, 1, 3.0, 0, t);
    CU_ASSERT_DOUBLE_EQUAL(t[2], 4.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(t[1], -3.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(t[0], 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(t[3], 0.5, 0);
    /* the gap between the pair grows by exactly d; the decision is unchanged */
    CU_ASSERT_DOUBLE_EQUAL((t[2] - t[1]) - (a[2] - a[1]), 3.0, 1e-6);
    gad_fit_target(a, 4, 2, 1, 3.0, 1, t); /* control: both raised, gap kept */
    CU_ASSERT_DOUBLE_EQUAL(t[2], 4.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(t[1], -0.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(t[2] - t[1], a[2] - a[1], 1e-6);
}

static void test_optimizer_steps(void) {
    /* Adam's first step moves every weight by lr against the gradient's sign */
    float w[2] = {1, -1}, g[2] = {0.5f, -4}, m[2] = {0}, v[2] = {0};
    gad_opt_update(GAD_OPT_ADAM, 0.01, 0, 1, w, g, m, v, 2);
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.99, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(w[1], -0.99, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(m[0], 0.05, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(v[0], 0.00025, 1e-9);
    /* second step, gradient 0.25, by hand:
     * m = 0.9*0.05 + 0.1*0.25 = 0.07; v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225
     * mhat = 0.07/0.19 = 0.368421; vhat = 0.00031225/0.001999 = 0.156203
     * w = 0.99 - 0.01 * 0.368421/sqrt(0.156203) = 0.99 - 0.00932183 */
    float g2[2] = {0.25f, 0};
    gad_opt_update(GAD_OPT_ADAM, 0.01, 0, 2, w, g2, m, v, 2);
    CU_ASSERT_DOUBLE_EQUAL(w[0], 0.99 - 0.00932183, 2e-7);
    /* SGD with momentum 0.9: buf = g, then 0.9 buf + g */
    float ws = 1, gs = 0.5f, ms = 0;
    gad_opt_update(GAD_OPT_SGD, 0.1, 0.9, 1, &ws, &gs, &ms, NULL, 1);
    CU_ASSERT_DOUBLE_EQUAL(ws, 0.95, 1e-7);
    gad_opt_update(GAD_OPT_SGD, 0.1, 0.9, 2, &ws, &gs, &ms, NULL, 1);
    CU_ASSERT_DOUBLE_EQUAL(ws, 0.855, 1e-6);
}

/* The fit's loss gradient, through the plan's backward to the weights, vs
 * central differences of the MSE loss itself. */
static void test_mse_gradient_fd(void) {
    gad_model *m;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(gad_test_data("attr/attr_gray.onnx"), &m, &e), e);
    int c, h, w;
    gad_model_input_dims(m, &c, &h, &w);
    const int n = 3, k = gad_model_num_classes(m);
    size_t d = (size_t)c * h * w;
    float *x = malloc(n * d * sizeof(float)), y[3 * 8], t[3 * 8], dy[3 * 8];
    for (size_t i = 0; i < n * d; i++) x[i] = (float)((i * 7919) % 997) / 997.0f;
    for (int i = 0; i < n * k; i++) t[i] = (float)((i * 37) % 11) / 5.0f - 1;
    gad_plan *p;
    GAD_ASSERT_OK(gad_plan_create(m, n, GAD_PLAN_BACKWARD_WEIGHTS, &p, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(p, x, y, &e), e);
    gad_mse_grad(y, t, n, k, dy);
    GAD_ASSERT_OK(gad_plan_backward(p, dy, NULL, &e), e);
    int checked = 0, bad = 0;
    for (int pi = 0; pi < gad_model_num_params(m); pi++) {
        gad_param_info info;
        gad_model_param(m, pi, &info);
        float *grad = malloc(info.count * sizeof(float));
        GAD_ASSERT_OK(gad_plan_param_grad(p, pi, grad, &e), e);
        size_t best = 0; /* the largest gradient entry: well above float noise */
        for (size_t j = 1; j < info.count; j++)
            if (fabsf(grad[j]) > fabsf(grad[best])) best = j;
        float saved = info.data[best];
        /* ReLU and max-pool kinks spoil large steps, float rounding small
         * ones: the backward must match the difference quotient at one of
         * several step sizes */
        const double steps[] = {1e-2, 3e-3, 1e-3};
        double rel = INFINITY, fd = 0;
        for (int si = 0; si < 3; si++) {
            double loss[2], eps = steps[si];
            for (int s = 0; s < 2; s++) {
                info.data[best] = saved + (float)(s ? eps : -eps);
                gad_plan *q;
                GAD_ASSERT_OK(gad_plan_create(m, n, GAD_PLAN_FORWARD, &q, &e), e);
                GAD_ASSERT_OK(gad_plan_forward(q, x, y, &e), e);
                loss[s] = gad_mse_grad(y, t, n, k, NULL) / (n * k);
                gad_plan_free(q);
            }
            double f = (loss[1] - loss[0]) / ((float)(saved + eps) - (float)(saved - eps));
            double r = fabs(f - grad[best]) / fmax(fabs(f), 1e-6);
            if (r < rel) rel = r, fd = f;
        }
        info.data[best] = saved;
        /* A conv bias moves every pre-activation of its channel, so some of
         * hundreds of ReLUs flip inside any step: the quotient of those
         * is off by a few percent (checked: PyTorch autograd gives gad's
         * value, 0.056385 for c2.bias[6], where the quotient says 0.05464).
         * Exact agreement with PyTorch is tests/test_torch.c's job; here the
         * loss scaling and the weight path are checked. */
        if (rel > (info.nd == 1 && strcmp(info.name, "fc.bias") ? 5e-2 : 1e-2)) {
            fprintf(stderr, "\n  param %s[%zu]: fd %.6g backward %.6g", info.name, best, fd, grad[best]);
            bad++;
        }
        checked++;
        free(grad);
    }
    CU_ASSERT(checked >= 4);
    CU_ASSERT_EQUAL(bad, 0);
    gad_plan_free(p);
    gad_model_free(m);
    free(x);
}

static void test_fit_demo(void) {
    gad_model *f;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(DEMO "/fashion_cnn.onnx", &f, &e), e);
    int n, labels[64];
    float *x = gad_test_demo_images(&n, labels);
    CU_ASSERT_EQUAL_FATAL(n, 48);
    gad_fit_config cfg;
    gad_fit_config_init(&cfg);
    cfg.p = 7;
    cfg.q = 9;
    cfg.epochs = 15;
    cfg.batch = 8;
    cfg.holdout = 0.25;
    cfg.control = 1;
    cfg.seed = 3;
    gad_fit_result r;
    GAD_ASSERT_OK(gad_fit(f, x, labels, n, &cfg, &r, &e), e);
    /* images f assigns to a third class are left out of the fitting set */
    CU_ASSERT_EQUAL(r.n_images + r.n_left_out, 48);
    CU_ASSERT(r.n_images >= 40);
    CU_ASSERT_EQUAL(r.n_holdout, (int)lround(0.25 * r.n_images));
    printf("\n  %d images fitted, %d left out (predicted as another class)", r.n_images, r.n_left_out);
    CU_ASSERT_EQUAL(r.n_levels, 6);
    CU_ASSERT(r.gap_std > 0);
    printf("\n  gap under f: mean %.3f, std of p-q %.3f", r.gap_mean, r.gap_std);
    double prev = r.gap_mean;
    for (int l = 0; l < r.n_levels; l++) {
        const gad_fit_level *lv = &r.levels[l];
        printf("\n  %s %d: lambda %.0f d %.3f epochs %d (best %d) mse %.4f/%.4f fidelity %.3f/%.3f gap %.3f",
               lv->control ? "control" : "level", l % 3 + 1, lv->lambda, lv->distance, lv->epochs_run, lv->best_epoch,
               lv->train_mse, lv->holdout_mse, lv->train_fidelity, lv->holdout_fidelity, lv->gap_mean);
        CU_ASSERT_PTR_NOT_NULL(lv->model);
        CU_ASSERT(lv->train_fidelity >= 0.95);
        if (!lv->control) {
            /* the gap grows with the level, towards gap + d */
            CU_ASSERT(lv->gap_mean > prev);
            CU_ASSERT(lv->gap_mean > r.gap_mean + 0.5 * lv->distance);
            prev = lv->gap_mean;
        } else {
            /* control models keep the gap */
            CU_ASSERT(fabs(lv->gap_mean - r.gap_mean) < 0.25 * lv->distance);
        }
    }
    /* the fit is deterministic for a seed */
    gad_fit_result r2;
    cfg.control = 0;
    cfg.n_levels = 1;
    GAD_ASSERT_OK(gad_fit(f, x, labels, n, &cfg, &r2, &e), e);
    gad_param_info a, b;
    gad_model_param(r.levels[0].model, 0, &a);
    gad_model_param(r2.levels[0].model, 0, &b);
    CU_ASSERT_EQUAL(memcmp(a.data, b.data, a.count * sizeof(float)), 0);
    gad_fit_result_free(&r);
    gad_fit_result_free(&r2);

    /* refusals */
    cfg.p = 10;
    CU_ASSERT_NOT_EQUAL(gad_fit(f, x, labels, n, &cfg, &r, &e), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "pair"));
    cfg.p = 7;
    int one[64];
    for (int i = 0; i < n; i++) one[i] = 7;
    cfg.labels = GAD_LABEL_GIVEN;
    CU_ASSERT_NOT_EQUAL(gad_fit(f, x, one, n, &cfg, &r, &e), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "both classes"));
    for (int i = 0; i < n; i++) one[i] = 3;
    CU_ASSERT_NOT_EQUAL(gad_fit(f, x, one, n, &cfg, &r, &e), 0);
    free(x);
    gad_model_free(f);
}

void gad_test_register_fit(void) {
    static const gad_test_case t[] = {{"targets", test_targets},
                                      {"optimizer_steps", test_optimizer_steps},
                                      {"mse_gradient_fd", test_mse_gradient_fd},
                                      {"fit_demo", test_fit_demo},
                                      {0, 0}};
    gad_test_add_suite("fit", t);
}
