/* gad attribute: explain many images with a gradient method and write, for
 * each image with stem S, S.attr.tiff (C x H x W float32), S.map.tiff (the
 * channel-reduced map), S.overlay.png and the record S.result.json (last),
 * and DIR/results.jsonl merged from the records (batch.h).
 *
 * Images are taken in chunks of a few per worker thread (from this shard,
 * or from rank 0's counter under MPI), attributed in parallel by the
 * library, and written as each chunk completes; every file is written under
 * a temporary name and renamed, so an interrupted run leaves only complete
 * files. The files of every GAD_BATCH_SYNC_IMAGES images are made durable
 * by one sync and then renamed (gad_batch_next): an fsync a file had cost the
 * demo model 4.3 of its 6.0 s on 256 images. */
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
                o->cfg.tolerance > 0 ? "adaptive-bisection" : gad_quadrature_name(o->cfg.quadrature));
    if (o->cfg.method == GAD_METHOD_IG && o->cfg.tolerance > 0)
        fprintf(f, ", \"tolerance\": %.9g", (double)o->cfg.tolerance);
    /* no wall-clock times here: a record must be the same whichever run,
     * shard or rank wrote it (times go to --profile) */
    fprintf(f, ", \"steps\": %d, \"reduce\": \"%s\"}\n", r->steps, gad_cli_reduce_name(o->reduce));
}

/* Network passes an image costs, for the profile's FLOP count: every point
 * is a forward and a backward to the input (about a forward's FLOPs); IG
 * adds probe forwards of x and the baseline, noise tunnels one of x. */
static double passes_per_image(const gad_attr_config *c, int steps) {
    double probes = c->method == GAD_METHOD_IG ? 2 : c->noise != GAD_NOISE_NONE ? 1 : 0;
    return 2.0 * steps + probes;
}

int gad_cmd_attribute(int argc, char **argv) {
    gad_flag flags[] = {GAD_MODEL_FLAGS,
                        GAD_INPUT_FLAGS,
                        GAD_METHOD_FLAGS,
                        GAD_BATCH_FLAGS,
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

    static const char *const suffixes[] = {".attr.tiff", ".map.tiff", ".overlay.png"};
    gad_cli_paths paths = {0};
    gad_cli_model cm = {0};
    gad_cli_method o;
    gad_batch b = {0};
    gad_attributor *at = NULL;
    float *x = NULL, *base = NULL, *attr = NULL, *scratch = NULL, *bfile = NULL;
    gad_attr_result *res = NULL;
    int *ok = NULL, *take = NULL, status = 0;
    double t = gad_batch_tic();

    if (gad_batch_check_flags(&a, "attribute", &err) || gad_cli_paths_collect(&a, &paths, &err) ||
        gad_cli_check_stems(&paths, &err) || gad_cli_model_open(&a, &cm, &err) || gad_cli_method_parse(&a, cm.model, &o, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    /* before the plans: oneDNN sizes a primitive's thread split when it is
     * created */
    if (o.cfg.threads) omp_set_num_threads(o.cfg.threads);
    const size_t d = (size_t)cm.pp.channels * cm.pp.height * cm.pp.width;
    const size_t hw = (size_t)cm.pp.height * cm.pp.width;
    /* before the output folder: a bad --baseline FILE or a refused plan
     * (--precision bf16 on a CPU without it) leaves nothing behind */
    if (o.baseline_file) {
        if (!(bfile = malloc(d * sizeof *bfile)) || gad_cli_load_input(&cm, o.baseline_file, bfile, &err)) {
            status = bfile ? gad_cli_fail(&err) : gad_cli_fail_msg("gad attribute: out of memory");
            goto done;
        }
    }
    if (gad_attributor_create(cm.model, &o.cfg, &at, &err) || gad_cli_make_out_dir(o.out_dir, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    if (gad_batch_open(&a, "attribute", o.out_dir, &paths, suffixes, 3, NULL, &b, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }

    int chunk = gad_batch_chunk(&b, o.cfg.threads);
    x = malloc(chunk * d * sizeof *x);
    base = malloc(chunk * d * sizeof *base);
    attr = malloc(chunk * d * sizeof *attr);
    scratch = malloc(2 * hw * sizeof *scratch);
    res = malloc(chunk * sizeof *res);
    ok = malloc(chunk * sizeof *ok); /* indices of the chunk's readable images */
    take = malloc(chunk * sizeof *take);
    if (!x || !base || !attr || !scratch || !res || !ok || !take) {
        status = gad_cli_fail_msg("gad attribute: out of memory");
        goto done;
    }
    gad_batch_toc(&b, GAD_PH_LOAD, t);
    const double model_flops = (double)gad_model_total_flops(cm.model);
    int n;
    while ((n = gad_batch_next(&b, chunk, take)) > 0) {
        int m = 0;
        /* read the chunk; bad images are reported and skipped */
        t = gad_batch_tic();
        for (int i = 0; i < n; i++) {
            gad_err ierr = {0};
            const char *p = paths.v[take[i]];
            if (gad_cli_load_with_baseline(&cm, &o, bfile, p, x + m * d, base + m * d, &ierr)) {
                gad_cli_fail(&ierr);
                gad_batch_failed(&b);
            } else {
                ok[m++] = take[i];
            }
        }
        gad_batch_toc(&b, GAD_PH_PREPROCESS, t);
        if (m && gad_attribute(at, m, x, base, NULL, attr, res, &err)) {
            gad_cli_fail(&err);
            gad_batch_stopped(&b);
            status = 1;
            goto done;
        }
        for (int i = 0; i < m; i++) {
            b.t_phase[GAD_PH_FORWARD] += res[i].forward_seconds;
            b.t_phase[GAD_PH_BACKWARD] += res[i].backward_seconds;
            b.t_phase[GAD_PH_KERNELS] += res[i].kernel_seconds;
            b.flops += model_flops * passes_per_image(&o.cfg, res[i].steps);
        }
        t = gad_batch_tic();
        for (int i = 0; i < m; i++) {
            gad_err werr = {0};
            gad_line line;
            const char *p = paths.v[ok[i]];
            if (gad_line_open(&line)) {
                gad_cli_fail_msg("gad attribute: out of memory");
                gad_batch_stopped(&b);
                status = 1;
                goto done;
            }
            write_result_line(line.f, &o, p, &res[i]);
            gad_line_close(&line);
            int rc = gad_cli_write_attribution(&o, &cm, p, "", x + i * d, attr + i * d, scratch, &werr);
            if (!rc) rc = gad_batch_record(&b, ok[i], line.buf, &werr);
            free(line.buf);
            if (rc) {
                gad_cli_fail(&werr);
                gad_batch_failed(&b);
            }
        }
        gad_batch_toc(&b, GAD_PH_WRITE, t);
    }
    if (n < 0) {
        status = 1;
        goto done;
    }
    status = gad_batch_finish(&b, status);
done:
    gad_batch_close(&b);
    gad_attributor_free(at);
    free(x);
    free(base);
    free(attr);
    free(scratch);
    free(res);
    free(ok);
    free(take);
    free(bfile);
    gad_cli_model_close(&cm);
    gad_cli_paths_free(&paths);
    return status;
}
