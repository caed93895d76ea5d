/* Writing models back to ONNX: what gad saves, gad (and the ONNX checker)
 * reads back with the same parameters and the same logits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gad/gad.h"
#include "harness.h"

/* PyTorch reads the saved file (through bench/onnx_torch.py, an ONNX
 * interpreter over torch.nn.functional) and must give gad's logits for x. */
static void pytorch_logits_match(const char *path, const float *x, size_t d, const float *want, int k) {
    if (!gad_test_have_torch("PyTorch reading a saved support model")) return;
    char xin[512], cmd[2048], out[8192];
    snprintf(xin, sizeof xin, "%s/saved_x.f32", gad_test_tmpdir());
    FILE *f = fopen(xin, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(x, sizeof(float), d, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import sys, numpy as np, torch; sys.path.insert(0, '%s/bench'); "
             "from onnx_torch import OnnxModule; m = OnnxModule(sys.argv[1]).eval(); "
             "x = torch.from_numpy(np.fromfile(sys.argv[2], dtype='<f4').reshape([1] + m.input_shape)); "
             "print(' '.join('%%.9g' %% v for v in m(x)[0].tolist()))\" %s %s 2>&1",
             GAD_SOURCE_DIR, path, xin);
    int rc = gad_test_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "\n  %s\n", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    float got[64];
    int n = 0;
    char *p = out, *end;
    while (n < k && n < 64) {
        float v = strtof(p, &end);
        if (end == p) break;
        got[n++] = v;
        p = end;
    }
    CU_ASSERT_EQUAL_FATAL(n, k);
    double e = gad_test_rel_err(got, want, (size_t)k, 1e-6);
    printf("\n  PyTorch on the saved model: relative logit error %.2e", e);
    CU_ASSERT(e < 1e-4);
}

/* Save `src`, reload, and compare structure and logits on random inputs. */
static void round_trip(const char *src, int with_pytorch) {
    gad_model *m, *r;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(src, &m, &e), e);
    char path[512];
    snprintf(path, sizeof path, "%s/saved.onnx", gad_test_tmpdir());
    /* perturb a parameter so the file must carry the model's current values */
    gad_param_info pi;
    GAD_ASSERT_OK(gad_model_param(m, 0, &pi), e);
    pi.data[0] += 0.25f;
    GAD_ASSERT_OK(gad_model_save(m, path, &e), e);
    GAD_ASSERT_OK(gad_model_load(path, &r, &e), e);
    CU_ASSERT_EQUAL(gad_model_num_layers(r), gad_model_num_layers(m));
    CU_ASSERT_EQUAL(gad_model_num_params(r), gad_model_num_params(m));
    CU_ASSERT_EQUAL(gad_model_total_params(r), gad_model_total_params(m));
    CU_ASSERT_EQUAL(gad_model_had_softmax(r), gad_model_had_softmax(m));
    for (int i = 0; i < gad_model_num_params(m); i++) {
        gad_param_info a, b;
        gad_model_param(m, i, &a);
        gad_model_param(r, i, &b);
        CU_ASSERT_EQUAL_FATAL(a.count, b.count);
        CU_ASSERT_EQUAL(memcmp(a.data, b.data, a.count * sizeof(float)), 0);
    }
    int c, h, w;
    gad_model_input_dims(m, &c, &h, &w);
    size_t d = (size_t)c * h * w;
    int k = gad_model_num_classes(m);
    float *x = malloc(2 * d * sizeof(float)), *l1 = malloc(2 * k * sizeof(float)), *l2 = malloc(2 * k * sizeof(float));
    for (size_t i = 0; i < 2 * d; i++) x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    gad_plan *p1, *p2;
    GAD_ASSERT_OK(gad_plan_create(m, 2, GAD_PLAN_FORWARD, &p1, &e), e);
    GAD_ASSERT_OK(gad_plan_create(r, 2, GAD_PLAN_FORWARD, &p2, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(p1, x, l1, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(p2, x, l2, &e), e);
    CU_ASSERT(gad_test_rel_err(l2, l1, 2 * (size_t)k, 1e-6) < 1e-6);
    if (with_pytorch) pytorch_logits_match(path, x, d, l1, k);
    gad_plan_free(p1);
    gad_plan_free(p2);
    free(x);
    free(l1);
    free(l2);
    gad_model_free(m);
    gad_model_free(r);

    /* the ONNX checker accepts the file, when python3-onnx is there */
    char cmd[1024], out[4096];
    if (system("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); "
                 "print('ok')\" %s 2>&1",
                 path);
        int rc = gad_test_run(cmd, out, sizeof out);
        if (rc) fprintf(stderr, "\n  onnx.checker: %s\n", out);
        CU_ASSERT_EQUAL(rc, 0);
    } else {
        printf("\n  SKIPPED: onnx.checker (needs python3-onnx)\n");
    }
}

static void test_demo_round_trip(void) { round_trip(GAD_SOURCE_DIR "/tools/demo/fashion_cnn.onnx", 1); }
static void test_ops_round_trip(void) {
    /* every op gad supports, BN folded and kept, ending in Softmax */
    round_trip(gad_test_data("torch/gray_op13.onnx"), 0);
    round_trip(gad_test_data("torch/softmax_op13.onnx"), 0);
    round_trip(gad_test_data("onnx/ops13.onnx"), 0);
}

static void test_save_errors(void) {
    gad_model *m;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load(GAD_SOURCE_DIR "/tools/demo/fashion_cnn.onnx", &m, &e), e);
    CU_ASSERT_NOT_EQUAL(gad_model_save(m, "/nonexistent-dir/x.onnx", &e), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent-dir/x.onnx"));
    gad_model_free(m);
}

void gad_test_register_save(void) {
    static const gad_test_case t[] = {{"demo_round_trip", test_demo_round_trip},
                                      {"ops_round_trip", test_ops_round_trip},
                                      {"save_errors", test_save_errors},
                                      {0, 0}};
    gad_test_add_suite("save", t);
}
