/* gad predict: logits, probabilities and the arg-max class for each image,
 * one JSON object a line on stdout. Images run through one plan in batches;
 * a bad image costs one error line on stderr and a non-zero exit at the end,
 * the others are still predicted. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/common.h"

enum { PREDICT_MAX_BATCH = 16 };

static void softmax(const float *z, double *p, int k) {
    double mx = -INFINITY, s = 0;
    for (int i = 0; i < k; i++) mx = fmax(mx, z[i]);
    for (int i = 0; i < k; i++) s += (p[i] = exp((double)z[i] - mx));
    for (int i = 0; i < k; i++) p[i] /= s;
}

static void print_result(const char *path, const float *z, double *p, int k) {
    softmax(z, p, k);
    int best = 0;
    for (int i = 1; i < k; i++)
        if (z[i] > z[best]) best = i;
    printf("{\"image\": ");
    gad_json_string(stdout, path);
    printf(", \"logits\": ");
    gad_json_floats(stdout, z, k);
    printf(", \"probabilities\": [");
    for (int i = 0; i < k; i++) printf("%s%.9g", i ? ", " : "", p[i]);
    printf("], \"class\": %d}\n", best);
}

int gad_cmd_predict(int argc, char **argv) {
    gad_flag flags[] = {GAD_MODEL_FLAGS, GAD_INPUT_FLAGS,
                        {"batch", 1, "N: images a forward pass (16)", 0},
                        {"threads", 1, "N: OpenMP threads (all cores)", 0},
                        {"help", 0, "show this help", 0}, {0}};
    gad_args a = {.command = "predict", .flags = flags};
    gad_err err = {0};
    if (gad_args_parse(&a, argc, argv, 2, &err)) return gad_cli_fail(&err);
    if (gad_args_has(&a, "help")) {
        gad_args_usage(&a, "--model M.onnx [flags] IMAGE|FOLDER...");
        return 0;
    }
    long batch, threads;
    if (gad_args_int(&a, "batch", PREDICT_MAX_BATCH, 1, 4096, &batch, &err) ||
        gad_args_int(&a, "threads", 0, 1, 4096, &threads, &err))
        return gad_cli_fail(&err);
    if (threads) omp_set_num_threads((int)threads);

    gad_cli_paths paths;
    if (gad_cli_paths_collect(&a, &paths, &err)) return gad_cli_fail(&err);
    gad_cli_model cm;
    if (gad_cli_model_open(&a, &cm, &err)) {
        gad_cli_paths_free(&paths);
        return gad_cli_fail(&err);
    }
    if (batch > paths.n) batch = paths.n;
    const size_t in_size = (size_t)cm.pp.channels * cm.pp.height * cm.pp.width;
    const int k = gad_model_num_classes(cm.model);
    gad_plan *plan = NULL;
    float *x = malloc((size_t)batch * in_size * sizeof *x);
    float *logits = malloc((size_t)batch * k * sizeof *logits);
    double *prob = malloc((size_t)k * sizeof *prob);
    int *ok = malloc((size_t)batch * sizeof *ok);
    int failures = 0, status = 0;
    if (!x || !logits || !prob || !ok) {
        status = gad_cli_fail_msg("gad predict: out of memory");
        goto done;
    }
    if (gad_plan_create(cm.model, (int)batch, GAD_PLAN_FORWARD, &plan, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    for (int start = 0; start < paths.n; start += (int)batch) {
        int n = paths.n - start < batch ? paths.n - start : (int)batch;
        for (int i = 0; i < n; i++) {
            gad_err ierr = {0};
            ok[i] = gad_cli_load_input(&cm, paths.v[start + i], x + (size_t)i * in_size, &ierr) == 0;
            if (!ok[i]) {
                gad_cli_fail(&ierr);
                failures++;
                memset(x + (size_t)i * in_size, 0, in_size * sizeof *x);
            }
        }
        /* the unused tail of the last batch holds stale inputs: harmless */
        if (gad_plan_forward(plan, x, logits, &err)) {
            status = gad_cli_fail(&err);
            goto done;
        }
        for (int i = 0; i < n; i++)
            if (ok[i]) print_result(paths.v[start + i], logits + (size_t)i * k, prob, k);
        fflush(stdout);
    }
    if (failures) {
        if (paths.n > 1) fprintf(stderr, "gad predict: %d of %d images failed\n", failures, paths.n);
        status = 1;
    }
done:
    gad_plan_free(plan);
    free(x);
    free(logits);
    free(prob);
    free(ok);
    gad_cli_model_close(&cm);
    gad_cli_paths_free(&paths);
    return status;
}
