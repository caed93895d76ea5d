/* Numerical agreement with PyTorch: logits, input gradients and parameter
 * gradients of small exported CNNs (fixtures from tools/make_torch_fixtures.py,
 * references computed in float64 on a BatchNorm-folded copy of each model),
 * central finite differences on the loaded model as a check independent of
 * PyTorch, and torchvision architectures exported at test time. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gad/gad.h"
#include "harness.h"
#include "ref.h"

#define TOL_FWD 1e-4
#define TOL_GRAD 1e-3

/* ---- comparisons --------------------------------------------------------- */
/* worst relative error seen by check_close since the last reset, for the
 * one-line summaries that show how much headroom the tolerances leave */
static double worst_err;

static int check_close(const char *what, const float *got, const float *want, size_t n, double tol) {
    double e = gad_test_rel_err(got, want, n, 1e-12);
    if (!(e <= worst_err)) worst_err = e;
    if (!(e <= tol)) {
        size_t worst = 0;
        double wd = -1;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)got[i] - want[i]);
            if (!(d <= wd)) {
                wd = d;
                worst = i;
            }
        }
        fprintf(stderr, "\n  %s: rel err %.3g > %.0e (worst [%zu]: got %.8g, want %.8g)\n", what, e, tol,
                worst, got[worst], want[worst]);
        return 0;
    }
    return 1;
}

/* The reference parameter that gad's parameter `pi` corresponds to: by name
 * when the importer kept an initializer name, else (for parameters made by a
 * BatchNormalization fold) the unnamed reference ("param/~...") with the same
 * size and values. */
static const gad_ref_tensor *match_param(const gad_ref_file *r, const gad_param_info *pi, char *key, size_t keysz) {
    snprintf(key, keysz, "param/%s", pi->name);
    const gad_ref_tensor *t = gad_ref_find(r, key);
    if (t) return t;
    const gad_ref_tensor *best = NULL;
    for (int i = 0; i < r->n; i++) {
        const gad_ref_tensor *c = &r->t[i];
        if (strncmp(c->name, "param/~", 7) || c->count != pi->count) continue;
        if (gad_test_rel_err(pi->data, c->data, c->count, 1e-12) <= 1e-5) {
            if (best) return NULL; /* ambiguous */
            best = c;
        }
    }
    if (best) snprintf(key, keysz, "%s", best->name);
    return best;
}

/* ---- one fixture, one batch size ----------------------------------------- */
static void run_fixture(const char *name, int batch) {
    char path[1024], key[512], what[768];
    snprintf(path, sizeof path, "%s", gad_test_data("torch/"));
    size_t L = strlen(path);
    snprintf(path + L, sizeof path - L, "%s.ref", name);
    gad_ref_file r;
    CU_ASSERT_EQUAL_FATAL(gad_ref_load(path, &r), 0);
    snprintf(path + L, sizeof path - L, "%s.onnx", name);

    gad_err e;
    gad_model *m = NULL;
    gad_plan *p = NULL;
    float *logits = NULL, *dx = NULL, *g = NULL;
    const gad_ref_tensor **gkeys = NULL;
    e.msg[0] = 0;
    int rc = gad_model_load(path, &m, &e);
    if (rc) fprintf(stderr, "\n  gad_model_load(%s) -> %d: %s\n", path, rc, e.msg);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc) goto out;

    snprintf(key, sizeof key, "x@%d", batch);
    const gad_ref_tensor *x = gad_ref_find(&r, key);
    snprintf(key, sizeof key, "r@%d", batch);
    const gad_ref_tensor *rr = gad_ref_find(&r, key);
    snprintf(key, sizeof key, "logits@%d", batch);
    const gad_ref_tensor *lg = gad_ref_find(&r, key);
    snprintf(key, sizeof key, "dx@%d", batch);
    const gad_ref_tensor *rdx = gad_ref_find(&r, key);
    CU_ASSERT_FATAL(x && rr && lg && rdx && x->nd == 4 && lg->nd == 2);

    int c, h, w;
    gad_model_input_dims(m, &c, &h, &w);
    if (strstr(name, "freehw")) {
        CU_ASSERT(h == 0 && w == 0);
        GAD_ASSERT_OK(gad_model_set_input_size(m, (int)x->dims[2], (int)x->dims[3], &e), e);
        gad_model_input_dims(m, &c, &h, &w);
    }
    CU_ASSERT_EQUAL(c, x->dims[1]);
    CU_ASSERT_EQUAL(h, x->dims[2]);
    CU_ASSERT_EQUAL(w, x->dims[3]);
    int k = gad_model_num_classes(m);
    CU_ASSERT_EQUAL(k, lg->dims[1]);
    if (c != x->dims[1] || h != x->dims[2] || w != x->dims[3] || k != lg->dims[1]) goto out;
    CU_ASSERT_EQUAL(gad_model_had_softmax(m), strstr(name, "softmax") != NULL);

    /* every gad parameter has a reference, with equal values (this checks the
     * BN fold); and no reference parameter is left over */
    int np = gad_model_num_params(m), nref = 0;
    for (int i = 0; i < r.n; i++) nref += !strncmp(r.t[i].name, "param/", 6);
    if (np != nref) fprintf(stderr, "\n  %s: gad has %d parameters, PyTorch %d\n", name, np, nref);
    CU_ASSERT_EQUAL(np, nref);
    gkeys = calloc((size_t)np + 1, sizeof *gkeys);
    CU_ASSERT_FATAL(gkeys != NULL);
    for (int i = 0; i < np; i++) {
        gad_param_info pi;
        GAD_ASSERT_OK(gad_model_param(m, i, &pi), e);
        const gad_ref_tensor *rp = match_param(&r, &pi, key, sizeof key);
        if (!rp) fprintf(stderr, "\n  %s: no reference for parameter %d '%s' (%zu values)\n", name, i, pi.name, pi.count);
        CU_ASSERT_PTR_NOT_NULL(rp);
        if (!rp) continue;
        if (rp->count != pi.count) {
            fprintf(stderr, "\n  %s: parameter '%s' has %zu values, PyTorch %zu\n", name, pi.name, pi.count, rp->count);
            CU_FAIL("parameter size");
            continue;
        }
        snprintf(what, sizeof what, "%s parameter '%s' value", name, pi.name);
        CU_ASSERT(check_close(what, pi.data, rp->data, pi.count, 1e-5));
        char gkey[600];
        snprintf(gkey, sizeof gkey, "grad@%d/%s", batch, key + 6);
        gkeys[i] = gad_ref_find(&r, gkey);
        CU_ASSERT_PTR_NOT_NULL(gkeys[i]);
    }

    e.msg[0] = 0;
    rc = gad_plan_create(m, batch, GAD_PLAN_BACKWARD_DATA | GAD_PLAN_BACKWARD_WEIGHTS, &p, &e);
    if (rc) fprintf(stderr, "\n  gad_plan_create(%s, batch %d) -> %d: %s\n", name, batch, rc, e.msg);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc) goto out;

    logits = malloc(lg->count * sizeof *logits);
    dx = malloc(x->count * sizeof *dx);
    CU_ASSERT_FATAL(logits && dx);
    GAD_ASSERT_OK(gad_plan_forward(p, x->data, logits, &e), e);
    snprintf(what, sizeof what, "%s batch %d logits", name, batch);
    worst_err = 0;
    CU_ASSERT(check_close(what, logits, lg->data, lg->count, TOL_FWD));
    double err_logits = worst_err;
    GAD_ASSERT_OK(gad_plan_backward(p, rr->data, dx, &e), e);
    snprintf(what, sizeof what, "%s batch %d dL/dx", name, batch);
    worst_err = 0;
    CU_ASSERT(check_close(what, dx, rdx->data, rdx->count, TOL_GRAD));
    double err_dx = worst_err;
    worst_err = 0;

    for (int i = 0; i < np; i++) {
        if (!gkeys[i]) continue;
        gad_param_info pi;
        GAD_ASSERT_OK(gad_model_param(m, i, &pi), e);
        free(g);
        g = malloc(pi.count * sizeof *g);
        CU_ASSERT_FATAL(g != NULL);
        GAD_ASSERT_OK(gad_plan_param_grad(p, i, g, &e), e);
        snprintf(what, sizeof what, "%s batch %d dL/d'%s'", name, batch, pi.name);
        CU_ASSERT(check_close(what, g, gkeys[i]->data, pi.count, TOL_GRAD));
    }
    double err_params = worst_err;

    /* guided backprop, where the fixture has a reference for it */
    snprintf(key, sizeof key, "guided_dx@%d", batch);
    const gad_ref_tensor *gdx = gad_ref_find(&r, key);
    if (gdx) {
        float *dxg = malloc(x->count * sizeof *dxg);
        CU_ASSERT_FATAL(dxg != NULL);
        gad_plan_set_guided(p, 1);
        GAD_ASSERT_OK(gad_plan_backward(p, rr->data, dxg, &e), e);
        gad_plan_set_guided(p, 0);
        snprintf(what, sizeof what, "%s batch %d guided dL/dx", name, batch);
        CU_ASSERT(check_close(what, dxg, gdx->data, gdx->count, TOL_GRAD));
        printf("\n    %-13s batch %d: guided dL/dx rel err %.1e", name, batch,
               gad_test_rel_err(dxg, gdx->data, gdx->count, 1e-12));
        /* guided differs from the plain gradient, or the check proves nothing */
        CU_ASSERT(gad_test_rel_err(dxg, rdx->data, rdx->count, 1e-12) > 1e-2);
        free(dxg);
    }

    /* A plan runs many times: a second forward/backward on the same input
     * gives the same answers (parameter gradients are not accumulated across
     * calls, no state leaks from the first run). Run another input first. */
    float *x2 = malloc(x->count * sizeof *x2), *dx2 = malloc(x->count * sizeof *dx2);
    CU_ASSERT_FATAL(x2 && dx2);
    for (size_t i = 0; i < x->count; i++) x2[i] = -0.5f * x->data[x->count - 1 - i];
    GAD_ASSERT_OK(gad_plan_forward(p, x2, logits, &e), e);
    GAD_ASSERT_OK(gad_plan_backward(p, rr->data, dx2, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(p, x->data, logits, &e), e);
    GAD_ASSERT_OK(gad_plan_backward(p, rr->data, dx2, &e), e);
    snprintf(what, sizeof what, "%s batch %d logits, second run", name, batch);
    CU_ASSERT(check_close(what, logits, lg->data, lg->count, TOL_FWD));
    snprintf(what, sizeof what, "%s batch %d dL/dx, second run", name, batch);
    CU_ASSERT(check_close(what, dx2, rdx->data, rdx->count, TOL_GRAD));
    for (int i = 0; i < np; i++) {
        if (!gkeys[i]) continue;
        gad_param_info pi;
        GAD_ASSERT_OK(gad_model_param(m, i, &pi), e);
        free(g);
        g = malloc(pi.count * sizeof *g);
        CU_ASSERT_FATAL(g != NULL);
        GAD_ASSERT_OK(gad_plan_param_grad(p, i, g, &e), e);
        snprintf(what, sizeof what, "%s batch %d dL/d'%s', second run", name, batch, pi.name);
        CU_ASSERT(check_close(what, g, gkeys[i]->data, pi.count, TOL_GRAD));
    }
    free(x2);
    free(dx2);
    printf("\n    %-13s batch %d: rel err logits %.1e, dL/dx %.1e, worst of %d parameter grads %.1e", name, batch,
           err_logits, err_dx, np, err_params);
out:
    free(gkeys);
    free(g);
    free(dx);
    free(logits);
    gad_plan_free(p);
    gad_model_free(m);
    gad_ref_free(&r);
}

static void test_res_op13(void) { run_fixture("res_op13", 1); run_fixture("res_op13", 3); printf("\n"); }
static void test_res_op9(void) { run_fixture("res_op9", 1); run_fixture("res_op9", 3); printf("\n"); }
static void test_res_freehw_op13(void) { run_fixture("res_freehw_op13", 1); run_fixture("res_freehw_op13", 3); printf("\n"); }
static void test_gray_op13(void) { run_fixture("gray_op13", 1); run_fixture("gray_op13", 3); printf("\n"); }
static void test_softmax_op13(void) { run_fixture("softmax_op13", 1); run_fixture("softmax_op13", 3); printf("\n"); }
static void test_softmax_op17(void) { run_fixture("softmax_op17", 1); run_fixture("softmax_op17", 3); printf("\n"); }

/* ---- finite differences on the loaded model, no PyTorch involved -------- */
static double loss(gad_plan *p, const float *x, const float *r, float *logits, int k, gad_err *e) {
    if (gad_plan_forward(p, x, logits, e)) return NAN;
    double s = 0;
    for (int j = 0; j < k; j++) s += (double)r[j] * logits[j];
    return s;
}

static void run_fd(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s", gad_test_data("torch/"));
    size_t L = strlen(path);
    snprintf(path + L, sizeof path - L, "%s.onnx", name);
    gad_err e;
    gad_model *m = NULL;
    gad_plan *p = NULL;
    GAD_ASSERT_OK(gad_model_load(path, &m, &e), e);
    int c, h, w, k = gad_model_num_classes(m);
    gad_model_input_dims(m, &c, &h, &w);
    size_t n = (size_t)c * h * w;
    e.msg[0] = 0;
    int rc = gad_plan_create(m, 1, GAD_PLAN_BACKWARD_DATA, &p, &e);
    if (rc) fprintf(stderr, "\n  gad_plan_create -> %d: %s\n", rc, e.msg);
    CU_ASSERT_EQUAL(rc, 0);
    float *x = malloc(n * sizeof *x), *dx = malloc(n * sizeof *dx), *r = malloc(k * sizeof *r),
          *logits = malloc(k * sizeof *logits);
    if (rc || !x || !dx || !r || !logits) goto out;
    /* an input and weighting of our own (a fixed LCG), not PyTorch's */
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
    }
    for (int j = 0; j < k; j++) r[j] = (float)((j * 7) % 5) - 2.0f + 0.25f * (float)j;
    GAD_ASSERT_OK(gad_plan_forward(p, x, logits, &e), e);
    GAD_ASSERT_OK(gad_plan_backward(p, r, dx, &e), e);
    double gmax = 0;
    size_t imax = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(dx[i]) > gmax) {
            gmax = fabs(dx[i]);
            imax = i;
        }
    CU_ASSERT(gmax > 0);
    /* pixels that matter: the strongest, then every pixel (scanning with a
     * stride that visits all channels) whose gradient is >= 20% of it */
    size_t pix[8] = {imax};
    int np = 1;
    for (size_t i = 0, step = n / 61 + 1; i < n && np < 8; i += step)
        if (i != imax && fabs(dx[i]) >= 0.2 * gmax) pix[np++] = i;
    CU_ASSERT(np >= 4);
    /* Central differences at several step sizes: a ReLU or MaxPool kink
     * within +-eps spoils the large steps, float32 rounding of the logits
     * the small ones; the gradient must match at one of them. */
    static const float steps[] = {1e-1f, 3.16e-2f, 1e-2f, 3.16e-3f, 1e-3f, 3.16e-4f};
    int bad = 0;
    for (int t = 0; t < np; t++) {
        size_t i = pix[t];
        float x0 = x[i];
        double best = INFINITY, best_fd = 0;
        for (size_t si = 0; si < sizeof steps / sizeof *steps; si++) {
            x[i] = x0 + steps[si];
            double hp = (double)x[i] - x0;
            double lp = loss(p, x, r, logits, k, &e);
            x[i] = x0 - steps[si];
            double hm = x0 - (double)x[i];
            double lm = loss(p, x, r, logits, k, &e);
            x[i] = x0;
            double fd = (lp - lm) / (hp + hm);
            if (fabs(fd - dx[i]) < best) {
                best = fabs(fd - dx[i]);
                best_fd = fd;
            }
        }
        if (!(best <= 0.03 * fabs(dx[i]) + 0.005 * gmax)) {
            fprintf(stderr, "\n  %s: pixel %zu: finite difference %.6g, backward %.6g (max |grad| %.3g)\n", name, i,
                    best_fd, dx[i], gmax);
            bad++;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
out:
    free(x);
    free(dx);
    free(r);
    free(logits);
    gad_plan_free(p);
    gad_model_free(m);
}

static void test_fd(void) {
    run_fd("res_op13");
    run_fd("gray_op13");
    run_fd("softmax_op17");
}

/* ---- torchvision architectures, exported now ----------------------------- */
static void test_torchvision(void) {
    if (!gad_test_have_torch("torchvision export (resnet18, vgg11_bn, mobilenet_v2, squeezenet1_1)")) return;
    static const char *names[] = {"resnet18", "vgg11_bn", "mobilenet_v2", "squeezenet1_1"};
    char dir[512], cmd[2048], out[4096];
    snprintf(dir, sizeof dir, "%s/torchvision", gad_test_tmpdir());
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tools/export_torchvision.py' '%s' 2>&1", GAD_SOURCE_DIR, dir);
    int st = gad_test_run(cmd, out, sizeof out);
    if (st) fprintf(stderr, "\n  %s -> %d:\n%s\n", cmd, st, out);
    CU_ASSERT_EQUAL_FATAL(st, 0);
    for (size_t t = 0; t < sizeof names / sizeof *names; t++) {
        char path[1024], what[256];
        gad_ref_file r;
        snprintf(path, sizeof path, "%s/%s.ref", dir, names[t]);
        CU_ASSERT_EQUAL_FATAL(gad_ref_load(path, &r), 0);
        const gad_ref_tensor *x = gad_ref_find(&r, "x@1"), *rr = gad_ref_find(&r, "r@1"), *lg = gad_ref_find(&r, "logits@1"),
                         *rdx = gad_ref_find(&r, "dx@1");
        CU_ASSERT_FATAL(x && rr && lg && rdx);
        snprintf(path, sizeof path, "%s/%s.onnx", dir, names[t]);
        gad_err e;
        gad_model *m = NULL;
        gad_plan *p = NULL;
        float *logits = NULL, *dx = NULL;
        e.msg[0] = 0;
        int rc = gad_model_load(path, &m, &e);
        if (rc) fprintf(stderr, "\n  gad_model_load(%s) -> %d: %s\n", path, rc, e.msg);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc) goto next;
        CU_ASSERT_EQUAL(gad_model_num_classes(m), lg->dims[1]);
        e.msg[0] = 0;
        rc = gad_plan_create(m, 1, GAD_PLAN_BACKWARD_DATA, &p, &e);
        if (rc) fprintf(stderr, "\n  gad_plan_create(%s) -> %d: %s\n", names[t], rc, e.msg);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc || gad_model_num_classes(m) != lg->dims[1]) goto next;
        logits = malloc(lg->count * sizeof *logits);
        dx = malloc(x->count * sizeof *dx);
        CU_ASSERT_FATAL(logits && dx);
        GAD_ASSERT_OK(gad_plan_forward(p, x->data, logits, &e), e);
        snprintf(what, sizeof what, "%s logits", names[t]);
        worst_err = 0;
        CU_ASSERT(check_close(what, logits, lg->data, lg->count, TOL_FWD));
        double err_logits = worst_err;
        GAD_ASSERT_OK(gad_plan_backward(p, rr->data, dx, &e), e);
        snprintf(what, sizeof what, "%s dL/dx", names[t]);
        worst_err = 0;
        CU_ASSERT(check_close(what, dx, rdx->data, rdx->count, TOL_GRAD));
        printf("\n    %-13s: rel err logits %.1e, dL/dx %.1e%s", names[t], err_logits, worst_err,
               t + 1 == sizeof names / sizeof *names ? "\n" : "");
    next:
        free(logits);
        free(dx);
        gad_plan_free(p);
        gad_model_free(m);
        gad_ref_free(&r);
        /* the exports are large (resnet18 45 MB); keep /tmp small */
        remove(path);
        snprintf(path, sizeof path, "%s/%s.ref", dir, names[t]);
        remove(path);
    }
    rmdir(dir);
}

void gad_test_register_torch(void) {
    static const gad_test_case t[] = {
        {"res_op13 (BN in file, folded by gad)", test_res_op13},
        {"res_op9 (BN folded by PyTorch)", test_res_op9},
        {"res_freehw_op13 (free H, W set at run time)", test_res_freehw_op13},
        {"gray_op13 (dilation, ceil avgpool, depthwise, concat, lone BN)", test_gray_op13},
        {"softmax_op13", test_softmax_op13},
        {"softmax_op17", test_softmax_op17},
        {"finite differences", test_fd},
        {"torchvision exports", test_torchvision},
        {0, 0}};
    gad_test_add_suite("torch", t);
}
