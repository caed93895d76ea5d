/* gad fit: fit GAD's support regression models for one class pair and write
 * SUPPORT/level-K.onnx (and control-K.onnx) and SUPPORT/fit.json. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/mpi.h"
#include "cli/common.h"
#include "cli/dataset.h"
#include "cli/method.h"
#include "io/atomic.h"

/* --progress json: one line an epoch; total and ETA assume every level
 * runs all its epochs (early stopping ends sooner). */
typedef struct fit_progress_state {
    int json, levels, done;
    double t0;
} fit_progress_state;

static void progress(const gad_fit_progress *p, void *user) {
    fit_progress_state *st = user;
    if (st->json) {
        /* epochs of earlier levels count whole: they ended or stopped early */
        int li = p->level > 0 ? p->level - 1 : st->levels / 2 - p->level - 1;
        int done = li * p->epochs + p->epoch, total = st->levels * p->epochs;
        double el = omp_get_wtime() - st->t0, rate = done / fmax(el, 1e-9);
        fprintf(stderr, "{\"done\": %d, \"total\": %d, \"rate\": %.4g, \"eta_s\": %.1f, \"level\": %d, \"epoch\": %d, "
                        "\"train_mse\": %.6g, \"holdout_mse\": %.6g, \"holdout_fidelity\": %.6g}\n",
                done, total, rate, (total - done) / fmax(rate, 1e-9), p->level, p->epoch, p->train_mse, p->holdout_mse,
                p->holdout_fidelity);
        return;
    }
    fprintf(stderr, "  %s %d  epoch %2d/%d  train mse %.5f  held-out mse %.5f  fidelity %.4f%s\n",
            p->level > 0 ? "level" : "control", p->level > 0 ? p->level : -p->level, p->epoch, p->epochs,
            p->train_mse, p->holdout_mse, p->holdout_fidelity, p->best ? "  *" : "");
}

static int parse_pair(const char *s, const gad_dataset *ds, int k, int *p, int *q, gad_err *err) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s ? s : "");
    char *comma = strchr(buf, ',');
    if (!s || !comma) {
        if (!s && k == 2) { /* GAD-SPEC step 1: a two-output model's own pair */
            *p = 0;
            *q = 1;
            return 0;
        }
        return gad_err_set(err, GAD_EINVAL, "gad fit: --pair P,Q is required (class indices or names)");
    }
    *comma = 0;
    *p = gad_dataset_class(ds, buf);
    *q = gad_dataset_class(ds, comma + 1);
    if (*p < 0 || *q < 0 || *p >= k || *q >= k || *p == *q)
        return gad_err_set(err, GAD_EINVAL, "gad fit: --pair %s: need two different classes among the model's %d outputs",
                           s, k);
    return 0;
}

static void allreduce_floats(float *v, size_t n, void *user) {
    (void)user;
    gad_mpi_allreduce_sum_f(v, (long)n);
}

/* --levels 1,2,4 */
static int parse_levels(const gad_args *a, gad_fit_config *cfg, gad_err *err) {
    float v[GAD_FIT_MAX_LEVELS];
    int n;
    int rc = gad_args_floats(a, "levels", v, GAD_FIT_MAX_LEVELS, &n, err);
    if (rc || !n) return rc;
    for (int i = 0; i < n; i++) {
        if (!(v[i] > 0)) return gad_err_set(err, GAD_EINVAL, "gad fit: --levels values must be > 0");
        cfg->lambdas[i] = v[i];
    }
    cfg->n_levels = n;
    return 0;
}

static int write_fit_json(const char *path, const gad_fit_config *cfg, const gad_fit_result *r, const char *model,
                          double min_fid, int accepted, const char *const *names, gad_err *err) {
    gad_atomic f;
    int rc = gad_atomic_open(path, &f, err);
    if (rc) return rc;
    FILE *o = f.f;
    fprintf(o, "{\n  \"model\": ");
    gad_json_string(o, model);
    fprintf(o, ",\n  \"pair\": [%d, %d]", r->p, r->q);
    if (names) {
        fprintf(o, ",\n  \"pair_names\": [");
        gad_json_string(o, names[0]);
        fprintf(o, ", ");
        gad_json_string(o, names[1]);
        fprintf(o, "]");
    }
    fprintf(o, ",\n  \"labels\": \"%s\",\n  \"images\": %d, \"train\": %d, \"holdout\": %d, \"class_counts\": [%d, %d], "
               "\"left_out\": %d",
            cfg->labels == GAD_LABEL_GIVEN ? "given" : cfg->labels == GAD_LABEL_PAIR ? "pair" : "predicted", r->n_images,
            r->n_train, r->n_holdout, r->n_class_p, r->n_class_q, r->n_left_out);
    fprintf(o, ",\n  \"gap_std\": %.9g, \"gap_mean\": %.9g", r->gap_std, r->gap_mean);
    fprintf(o, ",\n  \"optimizer\": \"%s\", \"lr\": %g, \"batch\": %d, \"max_epochs\": %d, \"patience\": %d, \"lr_drops\": %d, "
               "\"lr_factor\": %g, \"train_layers\": %d, \"seed\": %llu",
            cfg->optimizer == GAD_OPT_ADAM ? "adam" : "sgd", cfg->lr, cfg->batch, cfg->epochs, cfg->patience,
            cfg->lr_drops, cfg->lr_factor, cfg->train_layers, (unsigned long long)cfg->seed);
    fprintf(o, ",\n  \"min_fidelity\": %g, \"accepted\": %s", min_fid, accepted ? "true" : "false");
    fprintf(o, ",\n  \"levels\": [");
    for (int i = 0; i < r->n_levels; i++) {
        const gad_fit_level *l = &r->levels[i];
        int num = l->control ? i - cfg->n_levels + 1 : i + 1;
        fprintf(o,
                "%s\n    {\"file\": \"%s-%d.onnx\", \"control\": %s, \"lambda\": %g, \"distance\": %.9g, "
                "\"epochs\": %d, \"best_epoch\": %d, \"train_mse\": %.9g, \"holdout_mse\": %.9g, "
                "\"train_fidelity\": %.9g, \"holdout_fidelity\": %.9g, \"gap_mean\": %.9g, \"seconds\": %.3f}",
                i ? "," : "", l->control ? "control" : "level", num, l->control ? "true" : "false", l->lambda,
                l->distance, l->epochs_run, l->best_epoch, l->train_mse, l->holdout_mse, l->train_fidelity,
                l->holdout_fidelity, l->gap_mean, l->seconds);
    }
    fprintf(o, "\n  ],\n  \"seconds\": %.3f\n}\n", r->seconds);
    return gad_atomic_commit(&f, err);
}

int gad_cmd_fit(int argc, char **argv) {
    gad_flag flags[] = {GAD_MODEL_FLAGS,
                        {"data", 1, "DIR: images in DIR/CLASS/ (ImageFolder layout)", 0},
                        {"list", 1, "CSV: lines 'path,label' (label: index or class name)", 0},
                        {"labels", 1, "FILE: class names, one a line (else sorted folder names)", 0},
                        {"pair", 1, "P,Q: the two classes (indices or names)", 0},
                        {"out", 1, "DIR: where the support models and fit.json go", 0},
                        {"levels", 1, "L1,L2,..: distances in gap standard deviations (1,2,4)", 0},
                        {"epochs", 1, "N: most epochs a level (30)", 0},
                        {"lr", 1, "X: learning rate (1e-3)", 0},
                        {"batch", 1, "N: mini-batch (32)", 0},
                        {"optimizer", 1, "O: adam|sgd (adam)", 0},
                        {"momentum", 1, "M: SGD momentum (0.9)", 0},
                        {"holdout", 1, "S: share held out for early stopping (0.1)", 0},
                        {"patience", 1, "N: epochs without held-out improvement before stopping (3)", 0},
                        {"lr-drops", 1, "N: on a plateau, go on from the best weights with lr x --lr-factor, N times (1)", 0},
                        {"lr-factor", 1, "F: learning-rate factor at each drop (0.1)", 0},
                        {"seed", 1, "N: split and shuffling seed (0)", 0},
                        {"label-source", 1, "S: predicted|pair|given: c(x) is f's class (images of other classes left out), f's arg-max over the pair, or the image's label (predicted)", 0},
                        {"control", 0, "also fit the zero-distance control models", 0},
                        {"train-layers", 1, "N: fine-tune only the last N conv/linear layers (0: all)", 0},
                        {"min-fidelity", 1, "F: refuse a fit whose held-out fidelity ends below F (0.99)", 0},
                        {"threads", 1, "N: threads (all cores)", 0},
                        {"quiet", 0, "no per-epoch lines", 0},
                        {"progress", 1, "bar|json|none: per-epoch lines, JSON lines, or none (lines on a terminal)", 0},
                        {"help", 0, "show this help", 0},
                        {0}};
    gad_args a = {.command = "fit", .flags = flags};
    gad_err err = {0};
    if (gad_args_parse(&a, argc, argv, 2, &err)) return gad_cli_fail(&err);
    if (gad_args_has(&a, "help")) {
        gad_args_usage(&a, "--model M.onnx --data DIR --pair P,Q --out SUPPORT [flags]");
        return 0;
    }
    if (a.n_pos) return gad_cli_fail_msg("gad fit: unexpected argument '%s'", a.pos[0]);
    const char *out = gad_args_get(&a, "out");
    if (!out) return gad_cli_fail_msg("gad fit: --out SUPPORT is required");

    gad_fit_config cfg;
    gad_fit_config_init(&cfg);
    long v;
    double dv, min_fid;
    if (parse_levels(&a, &cfg, &err) || gad_args_int(&a, "epochs", 30, 1, 100000, &v, &err)) return gad_cli_fail(&err);
    cfg.epochs = (int)v;
    if (gad_args_int(&a, "batch", 32, 1, 4096, &v, &err)) return gad_cli_fail(&err);
    cfg.batch = (int)v;
    if (gad_args_int(&a, "patience", 3, 1, 100000, &v, &err)) return gad_cli_fail(&err);
    cfg.patience = (int)v;
    if (gad_args_int(&a, "lr-drops", 1, 0, 100, &v, &err)) return gad_cli_fail(&err);
    cfg.lr_drops = (int)v;
    if (gad_args_double(&a, "lr-factor", 0.1, 1e-6, 1, &cfg.lr_factor, &err)) return gad_cli_fail(&err);
    if (gad_args_int(&a, "train-layers", 0, 0, 100000, &v, &err)) return gad_cli_fail(&err);
    cfg.train_layers = (int)v;
    if (gad_args_int(&a, "seed", 0, 0, 0x7fffffffffffffffL, &v, &err)) return gad_cli_fail(&err);
    cfg.seed = (uint64_t)v;
    if (gad_args_int(&a, "threads", 0, 1, 4096, &v, &err)) return gad_cli_fail(&err);
    if (v) omp_set_num_threads((int)v);
    if (gad_args_double(&a, "lr", 1e-3, 1e-12, 10, &cfg.lr, &err) ||
        gad_args_double(&a, "momentum", 0.9, 0, 0.999999, &cfg.momentum, &err) ||
        gad_args_double(&a, "holdout", 0.1, 0, 0.9, &cfg.holdout, &err) ||
        gad_args_double(&a, "min-fidelity", 0.99, 0, 1, &min_fid, &err))
        return gad_cli_fail(&err);
    (void)dv;
    const char *s = gad_args_get(&a, "optimizer");
    if (s && strcmp(s, "adam") && strcmp(s, "sgd"))
        return gad_cli_fail_msg("gad fit: --optimizer '%s' is not adam or sgd", s);
    cfg.optimizer = s && !strcmp(s, "sgd") ? GAD_OPT_SGD : GAD_OPT_ADAM;
    s = gad_args_get(&a, "label-source");
    if (s && strcmp(s, "predicted") && strcmp(s, "given") && strcmp(s, "pair"))
        return gad_cli_fail_msg("gad fit: --label-source '%s' is not predicted, pair or given", s);
    cfg.labels = !s || !strcmp(s, "predicted") ? GAD_LABEL_PREDICTED : !strcmp(s, "given") ? GAD_LABEL_GIVEN : GAD_LABEL_PAIR;
    cfg.control = gad_args_has(&a, "control");
    const char *pm = gad_args_get(&a, "progress");
    if (pm && strcmp(pm, "bar") && strcmp(pm, "json") && strcmp(pm, "none"))
        return gad_cli_fail_msg("gad fit: --progress '%s' is not bar, json or none", pm);
    fit_progress_state pst = {.json = pm && !strcmp(pm, "json"),
                              .levels = cfg.n_levels * (gad_args_has(&a, "control") ? 2 : 1),
                              .t0 = omp_get_wtime()};
    /* rank 0 reports for all (every rank computes the same figures) */
    if (gad_mpi_rank() == 0 && !gad_args_has(&a, "quiet") &&
        (pm ? strcmp(pm, "none") != 0 : isatty(STDERR_FILENO))) {
        cfg.progress = progress;
        cfg.user = &pst;
    }
    /* under MPI: every rank takes its share of each mini-batch, gradients
     * summed by MPI_Allreduce (mpi.c), identical steps everywhere */
    if (gad_mpi_active()) {
        cfg.rank = gad_mpi_rank();
        cfg.ranks = gad_mpi_size();
        cfg.allreduce = allreduce_floats;
    }

    gad_dataset ds;
    gad_cli_model cm;
    if (gad_dataset_open(&ds, gad_args_get(&a, "data"), gad_args_get(&a, "list"), gad_args_get(&a, "labels"), &err))
        return gad_cli_fail(&err);
    if (gad_cli_model_open(&a, &cm, &err)) {
        gad_dataset_free(&ds);
        return gad_cli_fail(&err);
    }
    int status = 0, k = gad_model_num_classes(cm.model);
    float *x = NULL;
    int *labels = NULL, n = 0, failed = 0;
    gad_fit_result res = {0};
    if (parse_pair(gad_args_get(&a, "pair"), &ds, k, &cfg.p, &cfg.q, &err) || gad_cli_make_out_dir(out, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    /* read the images of the pair, in parallel; a bad image is reported and left out */
    const size_t d = (size_t)cm.pp.channels * cm.pp.height * cm.pp.width;
    int *sel = malloc((size_t)ds.n * sizeof *sel);
    labels = malloc((size_t)ds.n * sizeof *labels);
    for (int i = 0; sel && labels && i < ds.n; i++)
        if (ds.labels[i] == cfg.p || ds.labels[i] == cfg.q) sel[n++] = i;
    x = sel && labels ? malloc((size_t)(n ? n : 1) * d * sizeof *x) : NULL;
    if (!x) {
        free(sel);
        status = gad_cli_fail_msg("gad fit: out of memory for %d images", n);
        goto done;
    }
    int *ok = calloc((size_t)(n ? n : 1), sizeof *ok);
#pragma omp parallel for schedule(dynamic, 8)
    for (int i = 0; i < n; i++) {
        gad_err ie = {0};
        ok[i] = ok && gad_cli_load_input(&cm, ds.paths[sel[i]], x + (size_t)i * d, &ie) == 0;
        if (ok && !ok[i]) {
#pragma omp critical(gad_fit_log)
            gad_cli_fail(&ie);
        }
    }
    int m = 0;
    for (int i = 0; ok && i < n; i++) {
        if (!ok[i]) {
            failed++;
            continue;
        }
        if (m != i) memcpy(x + (size_t)m * d, x + (size_t)i * d, d * sizeof *x);
        labels[m++] = ds.labels[sel[i]];
    }
    free(ok);
    free(sel);
    n = m;
    if (gad_mpi_rank() == 0)
        fprintf(stderr, "gad fit: %d images of classes %d (%s) and %d (%s)%s; %d levels%s\n", n, cfg.p,
            cfg.p < ds.n_names ? ds.names[cfg.p] : "?", cfg.q, cfg.q < ds.n_names ? ds.names[cfg.q] : "?",
            failed ? " (some unreadable, left out)" : "", cfg.n_levels, cfg.control ? " + controls" : "");
    if (gad_fit(cm.model, x, labels, n, &cfg, &res, &err)) {
        status = gad_cli_fail(&err);
        goto done;
    }
    int accepted = 1, worst = 0;
    for (int i = 0; i < res.n_levels; i++)
        if (!res.levels[i].control && res.levels[i].holdout_fidelity < min_fid) {
            if (accepted || res.levels[i].holdout_fidelity < res.levels[worst].holdout_fidelity) worst = i;
            accepted = 0;
        }
    char path[4096];
    if (gad_mpi_rank() != 0) goto done; /* rank 0 writes and reports; the others hold the same models */
    if (accepted) {
        for (int i = 0; i < res.n_levels && !status; i++) {
            const gad_fit_level *l = &res.levels[i];
            snprintf(path, sizeof path, "%s/%s-%d.onnx", out, l->control ? "control" : "level",
                     l->control ? i - cfg.n_levels + 1 : i + 1);
            if (gad_model_save(l->model, path, &err)) status = gad_cli_fail(&err);
        }
    }
    snprintf(path, sizeof path, "%s/fit.json", out);
    const char *pn[2] = {cfg.p < ds.n_names ? ds.names[cfg.p] : "", cfg.q < ds.n_names ? ds.names[cfg.q] : ""};
    if (!status && write_fit_json(path, &cfg, &res, gad_model_name(cm.model), min_fid, accepted,
                                  ds.n_names ? pn : NULL, &err))
        status = gad_cli_fail(&err);
    for (int i = 0; i < res.n_levels; i++) {
        const gad_fit_level *l = &res.levels[i];
        printf("%s %d: distance %.4g (%g sd), epochs %d, mse train %.5g held-out %.5g, fidelity train %.4f "
               "held-out %.4f, gap %.4g -> %.4g, %.1f s\n",
               l->control ? "control" : "level", l->control ? i - cfg.n_levels + 1 : i + 1, l->distance, l->lambda,
               l->epochs_run, l->train_mse, l->holdout_mse, l->train_fidelity, l->holdout_fidelity, res.gap_mean,
               l->gap_mean, l->seconds);
    }
    fflush(stdout); /* the figures before whatever a caller prints next */
    if (!accepted && !status) {
        const gad_fit_level *l = &res.levels[worst];
        status = gad_cli_fail_msg(
            "%s: level %d's held-out fidelity %.4f is below --min-fidelity %.4g; no support model written (figures "
            "in %s). Try a smaller --lr, smaller --levels, more images or --epochs, or a larger --holdout",
            out, worst + 1, l->holdout_fidelity, min_fid, path);
    }
done:
    gad_fit_result_free(&res);
    free(x);
    free(labels);
    gad_cli_model_close(&cm);
    gad_dataset_free(&ds);
    return status;
}
