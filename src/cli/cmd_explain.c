/* gad explain: GAD explanations with the support models `gad fit` wrote.
 * For each image with stem S: S.level-K.map.tiff (K = 0 is the original
 * model), S.gad.tiff (the fused map), S.gad-mask.png (the region),
 * S.gad-overlay.png (the region's fused values over the image, beside the
 * plain method's overlay), the record S.result.json (last) and
 * results.jsonl merged from the records; batch semantics as in attribute
 * (batch.h). */
#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/method.h"
#include "cli/support.h"
#include "gad/render.h"
#include "io/atomic.h"

/* The region drawn for people: fused values inside the mask, beside the
 * plain (level 0) overlay. */
static int write_gad_images(const gad_cli_method *o, const gad_cli_model *cm, const char *stem, const float *x,
                            const float *plain_map, const float *fused, const uint8_t *mask, float *grey,
                            gad_err *err) {
    const int h = cm->pp.height, w = cm->pp.width;
    char path[4096];
    gad_cli_grey(cm, x, grey);
    gad_rgb mimg = {0}, gov = {0}, pov = {0}, both = {0};
    int rc = gad_render_mask(mask, h, w, 224, &mimg, err);
    snprintf(path, sizeof path, "%s/%s.gad-mask.png", o->out_dir, stem);
    if (!rc) rc = gad_png_write(path, mimg.pixels, 3, mimg.h, mimg.w, err);
    if (!rc) rc = gad_render_overlay(fused, grey, h, w, 1, 100, 224, &gov, err);
    if (!rc) rc = gad_render_overlay(plain_map, grey, h, w, o->cfg.method != GAD_METHOD_SALIENCY, o->clip, 224, &pov, err);
    if (!rc) rc = gad_rgb_hconcat(&gov, &pov, &both, err);
    snprintf(path, sizeof path, "%s/%s.gad-overlay.png", o->out_dir, stem);
    if (!rc) rc = gad_png_write(path, both.pixels, 3, both.h, both.w, err);
    gad_rgb_free(&mimg);
    gad_rgb_free(&gov);
    gad_rgb_free(&pov);
    gad_rgb_free(&both);
    return rc;
}

int gad_cmd_explain(int argc, char **argv) {
    gad_flag flags[] = {GAD_MODEL_FLAGS,
                        GAD_INPUT_FLAGS,
                        GAD_METHOD_FLAGS,
                        GAD_BATCH_FLAGS,
                        {"support", 1, "DIR: support models written by gad fit", 0},
                        {"out", 1, "DIR: output folder (created)", 0},
                        {"fuse", 1, "F: consensus|mean|gain (consensus)", 0},
                        {"top", 1, "S: share of pixels each level's mask keeps (0.10)", 0},
                        {"votes", 1, "N: masks that must agree (all K+1)", 0},
                        {"norm-pct", 1, "P: each map is divided by this percentile of |map| (99.5)", 0},
                        {"reduce", 1, "MODE: channel reduction: mean|sum|abssum|l2 (mean)", 0},
                        {"clip", 1, "P: plain overlay clipped at this percentile of |map| (99)", 0},
                        {"help", 0, "show this help", 0},
                        {0}};
    gad_args a = {.command = "explain", .flags = flags};
    gad_err err = {0};
    if (gad_args_parse(&a, argc, argv, 2, &err)) return gad_cli_fail(&err);
    if (gad_args_has(&a, "help")) {
        gad_args_usage(&a, "--model M.onnx --support SUPPORT --method M --out DIR [flags] IMAGE|FOLDER...");
        return 0;
    }
    if (!gad_args_get(&a, "support")) return gad_cli_fail_msg("gad explain: --support DIR is required");
    if (!gad_args_get(&a, "out")) return gad_cli_fail_msg("gad explain: --out DIR is required");
    /* --target here is class (default) or contrast, not a class index */
    const char *tsel = gad_args_get(&a, "target");
    if (tsel && strcmp(tsel, "class") && strcmp(tsel, "contrast"))
        return gad_cli_fail_msg("gad explain: --target '%s' is not class or contrast", tsel);
    for (gad_flag *f = flags; f->name; f++)
        if (!strcmp(f->name, "target")) f->value = NULL;

    gad_cli_paths paths = {0};
    gad_cli_model cm = {0};
    gad_cli_method o;
    gad_cli_support sup = {0};
    gad_explainer *ex = NULL;
    gad_batch b = {0};
    char **suffixes = NULL;
    int n_suffixes = 0;
    float *x = NULL, *base = NULL, *lattr = NULL, *lmaps = NULL, *fused = NULL, *grey = NULL;
    uint8_t *mask = NULL;
    gad_explain_result *res = NULL;
    int *idx = NULL, *take = NULL, status = 0;
    double t = gad_batch_tic();
    if (gad_batch_check_flags(&a, "explain", &err) || gad_cli_paths_collect(&a, &paths, &err) ||
        gad_cli_check_stems(&paths, &err) || gad_cli_model_open(&a, &cm, &err) || gad_cli_method_parse(&a, cm.model, &o, &err) ||
        gad_cli_support_open(gad_args_get(&a, "support"), &cm, 0, &sup, &err) || gad_cli_make_out_dir(o.out_dir, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    gad_explain_config ec;
    gad_explain_config_init(&ec);
    ec.attr = o.cfg;
    ec.p = sup.p;
    ec.q = sup.q;
    ec.contrast = tsel && !strcmp(tsel, "contrast");
    ec.reduce = o.reduce;
    const char *fs = gad_args_get(&a, "fuse");
    int fi = fs ? gad_fuse_parse(fs) : 0;
    if (fi < 0) {
        status = gad_cli_fail_msg("gad explain: --fuse '%s' is not consensus, mean or gain", fs);
        goto done;
    }
    ec.fuse = (gad_fuse)fi;
    long votes;
    if (gad_args_double(&a, "top", 0.10, 1e-6, 1, &ec.top, &err) ||
        gad_args_double(&a, "norm-pct", 99.5, 1e-6, 100, &ec.norm_pct, &err) ||
        gad_args_int(&a, "votes", 0, 1, sup.k + 1, &votes, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    ec.votes = (int)votes;
    if (o.cfg.threads) omp_set_num_threads(o.cfg.threads);
    if (gad_explainer_create(cm.model, sup.m, sup.k, &ec, &ex, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    const int L = sup.k + 1;
    /* an image's outputs, for --resume */
    n_suffixes = L + 3;
    if (!(suffixes = calloc((size_t)n_suffixes, sizeof *suffixes))) {
        status = gad_cli_fail_msg("gad explain: out of memory");
        goto done;
    }
    for (int l = 0; l < n_suffixes; l++) {
        char sfx[64];
        if (l < L) snprintf(sfx, sizeof sfx, ".level-%d.map.tiff", l);
        else snprintf(sfx, sizeof sfx, "%s", l == L ? ".gad.tiff" : l == L + 1 ? ".gad-mask.png" : ".gad-overlay.png");
        if (!(suffixes[l] = strdup(sfx))) {
            status = gad_cli_fail_msg("gad explain: out of memory");
            goto done;
        }
    }
    if (gad_batch_open(&a, "explain", o.out_dir, &paths, (const char *const *)suffixes, n_suffixes, NULL, &b, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    const size_t d = (size_t)cm.pp.channels * cm.pp.height * cm.pp.width, hw = (size_t)cm.pp.height * cm.pp.width;
    int chunk = gad_batch_chunk(&b, o.cfg.threads);
    x = malloc(chunk * d * sizeof *x);
    base = malloc(chunk * d * sizeof *base);
    lattr = malloc((size_t)chunk * L * d * sizeof *lattr);
    lmaps = malloc((size_t)chunk * L * hw * sizeof *lmaps);
    fused = malloc(chunk * hw * sizeof *fused);
    grey = malloc(hw * sizeof *grey);
    mask = malloc(chunk * hw);
    res = malloc(chunk * sizeof *res);
    idx = malloc(chunk * sizeof *idx);
    take = malloc(chunk * sizeof *take);
    float *bfile = o.baseline_file ? malloc(d * sizeof *bfile) : NULL;
    if (!x || !base || !lattr || !lmaps || !fused || !grey || !mask || !res || !idx || !take || (o.baseline_file && !bfile)) {
        free(bfile);
        status = gad_cli_fail_msg("gad explain: out of memory");
        goto done;
    }
    if (bfile && gad_cli_load_input(&cm, o.baseline_file, bfile, &err)) {
        free(bfile);
        status = gad_cli_fail(&err);
        goto done;
    }
    gad_batch_toc(&b, GAD_PH_LOAD, t);
    const double model_flops = (double)gad_model_total_flops(cm.model); /* support models: same graph */
    int n;
    while ((n = gad_batch_next(&b, chunk, take)) > 0) {
        int m = 0;
        t = gad_batch_tic();
        for (int i = 0; i < n; i++) {
            gad_err ie = {0};
            float *xi = x + m * d, *bi = base + m * d;
            if (gad_cli_load_with_baseline(&cm, &o, bfile, paths.v[take[i]], xi, bi, &ie)) {
                gad_cli_fail(&ie);
                gad_batch_failed(&b);
            } else {
                idx[m++] = take[i];
            }
        }
        gad_batch_toc(&b, GAD_PH_PREPROCESS, t);
        if (m && gad_explain(ex, m, x, base, lattr, lmaps, fused, mask, res, &err)) {
            free(bfile);
            gad_cli_fail(&err);
            gad_batch_stopped(&b);
            status = 1;
            goto done;
        }
        for (int i = 0; i < m; i++) {
            b.t_phase[GAD_PH_FUSION] += res[i].fusion_seconds;
            for (int l = 0; l < L; l++) {
                const gad_attr_result *lr = &res[i].level[l];
                b.t_phase[GAD_PH_FORWARD] += lr->forward_seconds;
                b.t_phase[GAD_PH_BACKWARD] += lr->backward_seconds;
                b.t_phase[GAD_PH_KERNELS] += lr->kernel_seconds;
                /* points x (forward + backward), the engine's probes of x and
                 * the baseline (IG) or of x (noise tunnel), the gap probe */
                double probes = o.cfg.method == GAD_METHOD_IG ? 2 : o.cfg.noise != GAD_NOISE_NONE ? 1 : 0;
                b.flops += model_flops * (2.0 * lr->steps + probes + 1);
            }
        }
        t = gad_batch_tic();
        for (int i = 0; i < m; i++) {
            const char *p = paths.v[idx[i]];
            char stem[512], path[4096];
            gad_cli_stem(p, stem, sizeof stem);
            gad_err we = {0};
            int rc = 0;
            for (int l = 0; l < L && !rc; l++) {
                snprintf(path, sizeof path, "%s/%s.level-%d.map.tiff", o.out_dir, stem, l);
                rc = gad_tiff_write_float(path, lmaps + ((size_t)i * L + l) * hw, 1, cm.pp.height, cm.pp.width, &we);
            }
            snprintf(path, sizeof path, "%s/%s.gad.tiff", o.out_dir, stem);
            if (!rc) rc = gad_tiff_write_float(path, fused + i * hw, 1, cm.pp.height, cm.pp.width, &we);
            if (!rc)
                rc = write_gad_images(&o, &cm, stem, x + i * d, lmaps + (size_t)i * L * hw, fused + i * hw,
                                      mask + i * hw, grey, &we);
            gad_line line = {0};
            if (!rc && gad_line_open(&line)) rc = gad_err_set(&we, GAD_ENOMEM, "gad explain: out of memory");
            if (!rc) {
                const gad_explain_result *r = &res[i];
                FILE *f = line.f;
                fprintf(f, "{\"image\": ");
                gad_json_string(f, p);
                fprintf(f, ", \"method\": \"%s\", \"fuse\": \"%s\", \"target\": \"%s\", \"class\": %d, \"other\": %d",
                        gad_method_name(o.cfg.method), gad_fuse_name(ec.fuse), ec.contrast ? "contrast" : "class", r->cls,
                        r->other);
                fprintf(f, ", \"top\": %g, \"votes\": %d, \"levels\": %d, \"region_pixels\": %d, \"region_share\": %.6f",
                        ec.top, ec.votes ? ec.votes : L, L, r->region_pixels, (double)r->region_pixels / hw);
                fprintf(f, ", \"gaps\": [");
                for (int l = 0; l < L; l++) fprintf(f, "%s%.6g", l ? ", " : "", (double)r->gaps[l]);
                fprintf(f, "], \"scores\": [");
                for (int l = 0; l < L; l++) fprintf(f, "%s%.6g", l ? ", " : "", (double)r->level[l].score);
                if (o.cfg.method == GAD_METHOD_IG) {
                    fprintf(f, "], \"rel_delta\": [");
                    for (int l = 0; l < L; l++) fprintf(f, "%s%.4g", l ? ", " : "", (double)r->level[l].rel_delta);
                }
                /* no wall-clock times: records must not depend on the run (--profile has them) */
                fprintf(f, "]}\n");
                gad_line_close(&line);
                rc = gad_batch_record(&b, idx[i], line.buf, &we);
            }
            gad_line_close(&line);
            free(line.buf);
            if (rc) {
                gad_cli_fail(&we);
                gad_batch_failed(&b);
            }
        }
        gad_batch_toc(&b, GAD_PH_WRITE, t);
    }
    free(bfile);
    if (n < 0) {
        status = 1;
        goto done;
    }
    status = gad_batch_finish(&b, status);
done:
    gad_batch_close(&b);
    for (int l = 0; suffixes && l < n_suffixes; l++) free(suffixes[l]);
    free(suffixes);
    free(take);
    gad_explainer_free(ex);
    gad_cli_support_free(&sup);
    free(x);
    free(base);
    free(lattr);
    free(lmaps);
    free(fused);
    free(grey);
    free(mask);
    free(res);
    free(idx);
    gad_cli_model_close(&cm);
    gad_cli_paths_free(&paths);
    return status;
}
