/* The gad command line, run as a user would: `gad info` and `gad predict` on
 * the bundled demo model against PyTorch's logits (tools/demo/reference.json,
 * written by tools/train_demo.py from the PyTorch model itself), and bad input
 * giving one clear line and a non-zero exit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gad/gad.h"
#include "harness.h"

#define DEMO GAD_SOURCE_DIR "/tools/demo"
#define CLI GAD_CLI_PATH

static char out[1 << 20];

/* Parse the first JSON number array after `"key": ` in s. Returns count. */
static int json_floats_after(const char *s, const char *key, double *v, int max) {
    char pat[512];
    snprintf(pat, sizeof pat, "\"%s\": [", key);
    const char *p = strstr(s, pat);
    if (!p) return -1;
    p += strlen(pat);
    int n = 0;
    while (n < max) {
        char *end;
        double x = strtod(p, &end);
        if (end == p) break;
        v[n++] = x;
        p = end;
        while (*p == ',' || *p == ' ' || *p == '\n') p++;
        if (*p == ']') break;
    }
    return n;
}

static void test_info(void) {
    int rc = gad_test_run(CLI " info --model " DEMO "/fashion_cnn.onnx --json", out, sizeof out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"input\": [1, 28, 28]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"classes\": 10"));
    /* PyTorch's parameter count with each BatchNorm folded into its conv
     * (a bias appears, the BN's 4 vectors go): 160 + 4640 + 9248 + 15690. */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "], \"params\": 29738, \"flops\": "));
    /* FLOPs of the convs and the linear layer alone (2 per multiply-add). */
    const char *tot = strstr(out, "\"flops\": ");
    const char *last = tot;
    while ((tot = strstr(last + 1, "\"flops\": "))) last = tot;
    long long flops = last ? atoll(last + 9) : 0;
    long long convs = 2LL * (28 * 28 * 16 * 9 + 14 * 14 * 32 * 16 * 9 + 7 * 7 * 32 * 32 * 9 + 1568 * 10);
    CU_ASSERT(flops >= convs && flops < convs * 11 / 10);

    rc = gad_test_run(CLI " info --model " DEMO "/fashion_cnn.onnx", out, sizeof out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "29738 parameters"));

    /* free spatial dims: described without shapes, then with --size */
    rc = gad_test_run(CLI " info --model " GAD_SOURCE_DIR "/tests/data/torch/res_freehw_op13.onnx", out, sizeof out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "H, W free"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "2730 parameters"));
    rc = gad_test_run(CLI " info --size 32x40 --model " GAD_SOURCE_DIR "/tests/data/torch/res_freehw_op13.onnx", out,
                      sizeof out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "3 x 32 x 40"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "2730 parameters, "));
}

static void test_predict_matches_pytorch(void) {
    size_t n;
    char *ref = gad_test_read_file(DEMO "/reference.json", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    int rc = gad_test_run(CLI " predict --batch 7 --model " DEMO "/fashion_cnn.onnx " DEMO "/images",
                          out, sizeof out);
    CU_ASSERT_EQUAL(rc, 0);
    int lines = 0, checked = 0;
    double worst = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        lines++;
        const char *img = strstr(line, "/images/");
        CU_ASSERT_PTR_NOT_NULL_FATAL(img);
        char name[256];
        sscanf(img + 8, "%255[^\"]", name);
        double got[10], want[10];
        CU_ASSERT_EQUAL(json_floats_after(line, "logits", got, 10), 10);
        CU_ASSERT_EQUAL(json_floats_after(ref, name, want, 10), 10);
        double mx = 0, d = 0, psum = 0, p[10];
        int best = 0;
        for (int k = 0; k < 10; k++) {
            mx = fmax(mx, fabs(want[k]));
            d = fmax(d, fabs(got[k] - want[k]));
            if (got[k] > got[best]) best = k;
        }
        worst = fmax(worst, d / mx);
        CU_ASSERT(d <= 1e-4 * mx);
        CU_ASSERT_EQUAL(json_floats_after(line, "probabilities", p, 10), 10);
        for (int k = 0; k < 10; k++) psum += p[k];
        CU_ASSERT(fabs(psum - 1) < 1e-6);
        char cls[32];
        snprintf(cls, sizeof cls, "\"class\": %d}", best);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, cls));
        checked++;
    }
    printf("\n  predict: %d images, worst relative logit error vs PyTorch %.2e\n", checked, worst);
    CU_ASSERT_EQUAL(lines, 48);
    free(ref);
}

/* One bad input: non-zero exit, a message naming `needle`, no JSON on stdout. */
static void expect_fail(const char *args, const char *needle) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, CLI " %s 2>&1 >/dev/null", args);
    int rc = gad_test_run(cmd, out, sizeof out);
    if (rc == 0 || !strstr(out, needle))
        fprintf(stderr, "\n  `gad %s` -> %d, stderr: %s", args, rc, out);
    CU_ASSERT(rc != 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, needle));
    CU_ASSERT_PTR_NULL(strstr(out, "Sanitizer"));
}

static void test_bad_input(void) {
    const char *tmp = gad_test_tmpdir();
    char garbage[512], args[2048];
    snprintf(garbage, sizeof garbage, "%s/garbage.onnx", tmp);
    FILE *f = fopen(garbage, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < 4096; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);

    expect_fail("info --model /nonexistent/model.onnx", "/nonexistent/model.onnx");
    snprintf(args, sizeof args, "info --model %s", garbage);
    expect_fail(args, "garbage.onnx");
    expect_fail("info --model " DEMO "/fashion_cnn.onnx --frobnicate", "--frobnicate");
    expect_fail("info", "--model");
    expect_fail("predict --model " DEMO "/fashion_cnn.onnx", "no input images");
    expect_fail("predict --model " DEMO "/fashion_cnn.onnx --batch -3 " DEMO "/images", "--batch");
    expect_fail("predict --model " DEMO "/fashion_cnn.onnx --mean 0,0 " DEMO "/images", "--mean");
    expect_fail("predict --model " DEMO "/fashion_cnn.onnx --size 12 " DEMO "/images", "--size");
    expect_fail("predict --model " DEMO "/fashion_cnn.onnx /nonexistent/x.png", "/nonexistent/x.png");
    snprintf(args, sizeof args, "predict --model " DEMO "/fashion_cnn.onnx %s", garbage);
    expect_fail(args, "garbage.onnx");
    expect_fail("frobnicate", "unknown command");

    /* one bad image among good ones: the good ones are still predicted */
    snprintf(args, sizeof args,
             CLI " predict --model " DEMO "/fashion_cnn.onnx " DEMO "/images/sneaker-00009.png %s "
                 DEMO "/images/sneaker-00012.png 2>/dev/null",
             garbage);
    int rc = gad_test_run(args, out, sizeof out);
    CU_ASSERT(rc != 0);
    int lines = 0;
    for (char *p = out; (p = strchr(p, '\n')); p++) lines++;
    CU_ASSERT_EQUAL(lines, 2);
}

/* Attributions written by `gad attribute` under a given environment. */
static float *attribute_with(const char *env, const char *method, const char *sub, int *c, int *h, int *w) {
    char cmd[2048], path[1024];
    snprintf(cmd, sizeof cmd,
             "%s " CLI " attribute --model " DEMO "/fashion_cnn.onnx --method %s --steps 24 --out %s/%s "
             DEMO "/images/sneaker-00012.png " DEMO "/images/ankle-boot-00000.png 2>&1",
             env, method, gad_test_tmpdir(), sub);
    int rc = gad_test_run(cmd, out, sizeof out);
    if (rc) fprintf(stderr, "\n  %s: %s", cmd, out);
    CU_ASSERT_EQUAL(rc, 0);
    snprintf(path, sizeof path, "%s/%s/sneaker-00012.attr.tiff", gad_test_tmpdir(), sub);
    float *data = NULL;
    gad_err e;
    if (gad_tiff_read_float(path, &data, c, h, w, &e)) fprintf(stderr, "\n  %s\n", e.msg);
    return data;
}

/* The same attributions whichever kernels run: oneDNN capped at AVX2 (the
 * path AVX2-only CPUs take) vs its best ISA here, and gad's scalar twins vs
 * its AVX2 kernels. */
static void test_isa_paths_agree(void) {
    static const char *const methods[] = {"ig", "saliency", "guided"};
    for (int m = 0; m < 3; m++) {
        int c, h, w, c2, h2, w2;
        char a[64], b[64], s[64];
        snprintf(a, sizeof a, "best-%s", methods[m]);
        snprintf(b, sizeof b, "avx2-%s", methods[m]);
        snprintf(s, sizeof s, "scalar-%s", methods[m]);
        float *best = attribute_with("", methods[m], a, &c, &h, &w);
        float *avx2 = attribute_with("ONEDNN_MAX_CPU_ISA=AVX2", methods[m], b, &c2, &h2, &w2);
        float *scal = attribute_with("GAD_SIMD=scalar", methods[m], s, &c2, &h2, &w2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(best);
        CU_ASSERT_PTR_NOT_NULL_FATAL(avx2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(scal);
        size_t n = (size_t)c * h * w;
        double e1 = gad_test_rel_l2(avx2, best, n, 1e-12), e2 = gad_test_rel_l2(scal, best, n, 1e-12);
        printf("\n  %s: oneDNN AVX2 vs best ISA %.2e, scalar vs AVX2 kernels %.2e", methods[m], e1, e2);
        CU_ASSERT(e1 < 1e-4);
        CU_ASSERT(e2 < 1e-6);
        free(best);
        free(avx2);
        free(scal);
    }
}

/* A run stopped by SIGINT or SIGTERM leaves only complete files: no
 * temporary, no results.jsonl (written whole at the end), and every
 * attribution file that exists reads back. */
static void test_interrupted_run_leaves_no_partial_files(void) {
    static const char *const sigs[] = {"INT", "TERM"};
    for (int k = 0; k < 2; k++) {
        char dir[512], cmd[2048];
        snprintf(dir, sizeof dir, "%s/interrupted-%s", gad_test_tmpdir(), sigs[k]);
        snprintf(cmd, sizeof cmd,
                 "timeout -s %s 1.5 " CLI " attribute --model " DEMO "/fashion_cnn.onnx --method ig --steps 4000 "
                 "--threads 1 --out %s " DEMO "/images 2>&1; echo \"exit $?\"",
                 sigs[k], dir);
        gad_test_run(cmd, out, sizeof out);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "exit 124")); /* stopped by the signal, not finished */
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "interrupted"));
        snprintf(cmd, sizeof cmd, "ls -a %s", dir);
        CU_ASSERT_EQUAL(gad_test_run(cmd, out, sizeof out), 0);
        CU_ASSERT_PTR_NULL(strstr(out, ".tmp."));
        CU_ASSERT_PTR_NULL(strstr(out, "results.jsonl"));
        int complete = 0;
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            if (!strstr(line, ".attr.tiff")) continue;
            char path[1024];
            float *data = NULL;
            int c, h, w;
            gad_err e;
            snprintf(path, sizeof path, "%s/%s", dir, line);
            CU_ASSERT_EQUAL(gad_tiff_read_float(path, &data, &c, &h, &w, &e), 0);
            complete += data != NULL;
            free(data);
        }
        printf("\n  SIG%s: %d complete attribution files, no temporaries", sigs[k], complete);
    }
}

void gad_test_register_cli(void) {
    static const gad_test_case t[] = {{"info", test_info},
                                      {"predict_matches_pytorch", test_predict_matches_pytorch},
                                      {"bad_input", test_bad_input},
                                      {"isa_paths_agree", test_isa_paths_agree},
                                      {"interrupted_run", test_interrupted_run_leaves_no_partial_files},
                                      {0, 0}};
    gad_test_add_suite("cli", t);
}
