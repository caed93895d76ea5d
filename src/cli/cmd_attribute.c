/* gad attribute: explain many images with a gradient method and write, for
 * each image with stem S, S.attr.tiff (C x H x W float32), S.map.tiff (the
 * channel-reduced map) and S.overlay.png, plus one line of DIR/results.jsonl.
 *
 * Images are read in chunks of a few per worker thread, attributed in
 * parallel by the library, and written as each chunk completes; every file
 * is written under a temporary name and renamed, so an interrupted run
 * leaves only complete files. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "gad/attr.h"
#include "gad/simd.h"
#include "cli/method.h"
#include "io/atomic.h"

static void write_result_line(FILE *f, const gad_cli_method *o, const char *path, const gad_attr_result *r) {
    fprintf(f, "{\"image\": ");
    gad_json_string(f, path);
    fprintf(f, ", \"method\": \"%s\"", gad_method_name(o->cfg.method));
    if (o->cfg.noise != GAD_NOISE_NONE)
        fprintf(f, ", \"noise\": \"%s\", \"samples\": %d, \"stdev\": %.9g", gad_noise_name(o->cfg.noise),
                o->cfg.samples, (double)o->cfg.stdev);
    if (r->target_q >= 0)
        fprintf(f, ", \"target\": \"contrast:%d,%d\"", r->target_p, r->target_q);
    else
        fprintf(f, ", \"target\": %d", r->target_p);
    fprintf(f, ", \"logit\": %.9g, \"attr_sum\": %.9g", (double)r->score, (double)r->attr_sum);
    if (o->cfg.method == GAD_METHOD_IG)
        fprintf(f, ", \"baseline_logit\": %.9g, \"delta\": %.9g, \"rel_delta\": %.9g, \"quadrature\": \"%s\"",
                (double)r->baseline_score, (double)r->delta, (double)r->rel_delta,
                gad_quadrature_name(o->cfg.quadrature));
    fprintf(f, ", \"steps\": %d, \"reduce\": \"%s\", \"seconds\": %.6f}\n", r->steps, gad_cli_reduce_name(o->reduce),
            r->seconds);
}

int gad_cmd_attribute(int argc, char **argv) {
    gad_flag flags[] = {GAD_MODEL_FLAGS,
                        GAD_INPUT_FLAGS,
                        GAD_METHOD_FLAGS,
                        {"out", 1, "DIR: output folder (created)", 0},
                        {"reduce", 1, "MODE: channel reduction for maps: mean|sum|abssum|l2 (mean)", 0},
                        {"clip", 1, "P: overlay colour scale clipped at this percentile of |map| (99)", 0},
                        {"help", 0, "show this help", 0},
                        {0}};
    gad_args a = {.command = "attribute", .flags = flags};
    gad_err err = {0};
    if (gad_args_parse(&a, argc, argv, 2, &err)) return gad_cli_fail(&err);
    if (gad_args_has(&a, "help")) {
        gad_args_usage(&a, "--model M.onnx --method ig|saliency|gradient|ixg|guided --out DIR [flags] IMAGE|FOLDER...");
        return 0;
    }
    if (!gad_args_get(&a, "out")) return gad_cli_fail_msg("gad attribute: --out DIR is required");

    gad_cli_paths paths = {0};
    gad_cli_model cm = {0};
    gad_cli_method o;
    gad_attributor *at = NULL;
    float *x = NULL, *base = NULL, *attr = NULL, *scratch = NULL, *bfile = NULL;
    gad_attr_result *res = NULL;
    int *ok = NULL, status = 0, failures = 0, done = 0;
    gad_atomic results = {0};
    double t0 = omp_get_wtime();

    if (gad_cli_paths_collect(&a, &paths, &err) || gad_cli_check_stems(&paths, &err) ||
        gad_cli_model_open(&a, &cm, &err) || gad_cli_method_parse(&a, cm.model, &o, &err) ||
        gad_cli_make_out_dir(o.out_dir, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    if (o.cfg.threads) omp_set_num_threads(o.cfg.threads);

    const size_t d = (size_t)cm.pp.channels * cm.pp.height * cm.pp.width;
    const size_t hw = (size_t)cm.pp.height * cm.pp.width;
    int threads = o.cfg.threads ? o.cfg.threads : omp_get_max_threads();
    int chunk = 2 * threads < paths.n ? 2 * threads : paths.n;
    x = malloc(chunk * d * sizeof *x);
    base = malloc(chunk * d * sizeof *base);
    attr = malloc(chunk * d * sizeof *attr);
    scratch = malloc(2 * hw * sizeof *scratch);
    res = malloc(chunk * sizeof *res);
    ok = malloc(chunk * sizeof *ok); /* indices of the chunk's readable images */
    if (!x || !base || !attr || !scratch || !res || !ok) {
        status = gad_cli_fail_msg("gad attribute: out of memory");
        goto done;
    }
    if (o.baseline_file) {
        if (!(bfile = malloc(d * sizeof *bfile)) || gad_cli_load_input(&cm, o.baseline_file, bfile, &err)) {
            status = bfile ? gad_cli_fail(&err) : gad_cli_fail_msg("gad attribute: out of memory");
            goto done;
        }
    }
    if (gad_attributor_create(cm.model, &o.cfg, &at, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    char rpath[4096];
    snprintf(rpath, sizeof rpath, "%s/results.jsonl", o.out_dir);
    if (gad_atomic_open(rpath, &results, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    int progress = isatty(STDERR_FILENO);
    for (int start = 0; start < paths.n; start += chunk) {
        int n = paths.n - start < chunk ? paths.n - start : chunk, m = 0;
        int *idx = ok;
        /* read the chunk; bad images are reported and skipped */
        for (int i = 0; i < n; i++) {
            gad_err ierr = {0};
            const char *p = paths.v[start + i];
            float *xi = x + m * d, *bi = base + m * d;
            if (gad_cli_load_with_baseline(&cm, &o, bfile, p, xi, bi, &ierr)) {
                gad_cli_fail(&ierr);
                failures++;
            } else {
                idx[m++] = start + i;
            }
        }
        if (m && gad_attribute(at, m, x, base, NULL, attr, res, &err)) {
            status = gad_cli_fail(&err);
            goto done;
        }
        for (int i = 0; i < m; i++) {
            gad_err werr = {0};
            if (gad_cli_write_attribution(&o, &cm, paths.v[idx[i]], "", x + i * d, attr + i * d, scratch, &werr)) {
                gad_cli_fail(&werr);
                failures++;
                continue;
            }
            write_result_line(results.f, &o, paths.v[idx[i]], &res[i]);
            done++;
        }
        fflush(results.f);
        if (progress) {
            double el = omp_get_wtime() - t0;
            int seen = start + n;
            fprintf(stderr, "\r[%-30.*s] %d/%d images, %.2f img/s, ETA %.0fs   ", (int)(30.0 * seen / paths.n),
                    "##############################", seen, paths.n, done / fmax(el, 1e-9),
                    (paths.n - seen) * el / seen);
        }
    }
    if (progress) fputc('\n', stderr);
    if (gad_atomic_commit(&results, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    if (failures) {
        fprintf(stderr, "gad attribute: %d of %d images failed; %d written to %s\n", failures, paths.n, done,
                o.out_dir);
        status = 1;
    }
done:
    gad_atomic_abort(&results);
    gad_attributor_free(at);
    free(x);
    free(base);
    free(attr);
    free(scratch);
    free(res);
    free(ok);
    free(bfile);
    gad_cli_model_close(&cm);
    gad_cli_paths_free(&paths);
    return status;
}
