/* Execution plans against an independent naive reference.
 *
 * The reference is a direct double-precision interpreter of the graph written
 * here with plain loops (forward and analytical backward, incl. guided
 * backprop). Its backward is itself checked against central finite
 * differences of its forward; smooth graphs are also checked by finite
 * differences of the plan's own float forward. The loss is L = sum(r .* y)
 * for a fixed random r, so dL/dlogits = r. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gad/gad.h"
#include "harness.h"
#include "net/graph.h"

/* ---- random numbers ------------------------------------------------------ */

static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 1; }
static double urand(void) { /* [-1, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return ((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0 - 1.0;
}
static void fill(float *x, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(urand() * scale);
}

/* ---- graph building ------------------------------------------------------- */

static int vcount;
static int newval(gad_graph *g) {
    char name[32];
    snprintf(name, sizeof name, "v%d", vcount++);
    return gad_graph_add_value(g, name);
}

static gad_graph *tb_new(int c, int h, int w) {
    gad_graph *g = gad_graph_new("test.onnx");
    g->in_c = c, g->in_h = h, g->in_w = w;
    vcount = 0;
    g->input = newval(g);
    return g;
}

static gad_node *tb_node(gad_graph *g, gad_op op, int n_in, const int *in, int *out) {
    char name[32];
    snprintf(name, sizeof name, "%s_%d", gad_op_name(op), g->n_nodes);
    *out = newval(g);
    int k = gad_graph_add_node(g, op, name, NULL, n_in, in, *out);
    return &g->nodes[k];
}

static int tb_param(gad_graph *g, int nd, const int64_t *dims, double scale) {
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)dims[i];
    float *d = malloc(n * sizeof *d);
    fill(d, n, scale);
    char name[32];
    snprintf(name, sizeof name, "p%d", g->n_params);
    int i = gad_graph_add_param(g, name, nd, dims, d);
    free(d);
    return i;
}

static int tb_conv(gad_graph *g, int in, int cin, int cout, int kh, int kw, int sh, int sw,
                   const int pad[4], int dh, int dw, int group, int bias) {
    int out;
    int64_t wd[4] = {cout, cin / group, kh, kw}, bd[1] = {cout};
    double scale = 1.0 / sqrt((double)(cin / group) * kh * kw);
    int w = tb_param(g, 4, wd, scale);
    int b = bias ? tb_param(g, 1, bd, 0.5) : -1;
    gad_node *n = tb_node(g, GAD_OP_CONV, 1, &in, &out);
    n->weight = w, n->bias = b, n->group = group;
    n->stride[0] = sh, n->stride[1] = sw, n->dilation[0] = dh, n->dilation[1] = dw;
    if (pad) memcpy(n->pad, pad, sizeof n->pad);
    return out;
}

static int tb_unary(gad_graph *g, gad_op op, int in, float alpha, float beta) {
    int out;
    gad_node *n = tb_node(g, op, 1, &in, &out);
    n->alpha = alpha, n->beta = beta;
    return out;
}

static int tb_pool(gad_graph *g, gad_op op, int in, int kh, int kw, int sh, int sw, const int pad[4],
                   int ceil_mode, int cip, int dil) {
    int out;
    gad_node *n = tb_node(g, op, 1, &in, &out);
    n->kernel[0] = kh, n->kernel[1] = kw, n->stride[0] = sh, n->stride[1] = sw;
    if (pad) memcpy(n->pad, pad, sizeof n->pad);
    n->ceil_mode = ceil_mode, n->count_include_pad = cip;
    n->dilation[0] = n->dilation[1] = dil;
    return out;
}

static int tb_gemm(gad_graph *g, int in, int fin, int fout, int bias) {
    int out;
    int64_t wd[2] = {fout, fin}, bd[1] = {fout};
    int w = tb_param(g, 2, wd, 1.0 / sqrt((double)fin));
    int b = bias ? tb_param(g, 1, bd, 0.5) : -1;
    gad_node *n = tb_node(g, GAD_OP_GEMM, 1, &in, &out);
    n->weight = w, n->bias = b;
    return out;
}

static int tb_binary(gad_graph *g, gad_op op, int a, int b) {
    int out, in[2] = {a, b};
    tb_node(g, op, 2, in, &out);
    return out;
}

static int tb_finish(gad_graph *g, int out) {
    g->output = out;
    gad_err e;
    int rc = gad_graph_infer_shapes(g, &e);
    if (rc) fprintf(stderr, "\n  infer: %s\n", e.msg);
    return rc;
}

/* ---- the naive reference -------------------------------------------------- */

static size_t vsize(const gad_graph *g, int v) {
    const gad_shape *s = &g->values[v].shape;
    size_t n = 1;
    for (int i = 0; i < s->nd; i++) n *= (size_t)s->d[i];
    return n;
}

typedef struct ref {
    const gad_graph *g;
    double **val, **grad, **pgrad; /* per value (one image), per param */
} ref;

static void ref_init(ref *r, const gad_graph *g) {
    r->g = g;
    r->val = calloc((size_t)g->n_values, sizeof *r->val);
    r->grad = calloc((size_t)g->n_values, sizeof *r->grad);
    r->pgrad = calloc((size_t)g->n_params, sizeof *r->pgrad);
    for (int v = 0; v < g->n_values; v++) {
        r->val[v] = calloc(vsize(g, v) + 1, sizeof(double));
        r->grad[v] = calloc(vsize(g, v) + 1, sizeof(double));
    }
    for (int i = 0; i < g->n_params; i++) r->pgrad[i] = calloc(g->params[i].count, sizeof(double));
}

static void ref_free(ref *r) {
    for (int v = 0; v < r->g->n_values; v++) free(r->val[v]), free(r->grad[v]);
    for (int i = 0; i < r->g->n_params; i++) free(r->pgrad[i]);
    free(r->val), free(r->grad), free(r->pgrad);
}

/* First input row/col of output position o along one axis. */
static int win_start(const gad_node *n, int a, int o) { return o * n->stride[a] - n->pad[a]; }

/* PyTorch's average-pool divisor for the window starting at (hs, ws). */
static double avg_div(const gad_node *n, int H, int W, int hs, int ws) {
    int he = hs + n->kernel[0], we = ws + n->kernel[1];
    int hcap = he < H + n->pad[2] ? he : H + n->pad[2], wcap = we < W + n->pad[3] ? we : W + n->pad[3];
    int pool = (hcap - hs) * (wcap - ws);
    int h0 = hs > 0 ? hs : 0, w0 = ws > 0 ? ws : 0, h1 = he < H ? he : H, w1 = we < W ? we : W;
    return n->count_include_pad ? pool : (h1 - h0) * (w1 - w0);
}

/* direction 0: forward (fills val); 1: backward from grad[output] (adds into
 * grad of inputs and pgrad). */
static void ref_node(ref *r, int k, int bwd, int guided) {
    const gad_graph *g = r->g;
    const gad_node *n = &g->nodes[k];
    const gad_shape *is = &g->values[n->in[0]].shape, *os = &g->values[n->out].shape;
    double *x = r->val[n->in[0]], *y = r->val[n->out], *gx = r->grad[n->in[0]], *gy = r->grad[n->out];
    size_t ne = vsize(g, n->out);
    int C = is->d[0], H = is->d[1], W = is->d[2], O = os->d[0], OH = os->d[1], OW = os->d[2];
    switch (n->op) {
    case GAD_OP_CONV: {
        const gad_param *wp = &g->params[n->weight];
        int cg = C / n->group, og = O / n->group, KH = n->kernel[0], KW = n->kernel[1];
        for (int o = 0; o < O; o++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    size_t yi = ((size_t)o * OH + oy) * OW + ox;
                    double acc = n->bias >= 0 ? g->params[n->bias].data[o] : 0;
                    if (bwd && n->bias >= 0) r->pgrad[n->bias][o] += gy[yi];
                    int gi = o / og;
                    for (int c = 0; c < cg; c++)
                        for (int ky = 0; ky < KH; ky++)
                            for (int kx = 0; kx < KW; kx++) {
                                int iy = win_start(n, 0, oy) + ky * n->dilation[0];
                                int ix = win_start(n, 1, ox) + kx * n->dilation[1];
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                size_t wi = (((size_t)o * cg + c) * KH + ky) * KW + kx;
                                size_t xi = ((size_t)(gi * cg + c) * H + iy) * W + ix;
                                if (bwd) {
                                    gx[xi] += wp->data[wi] * gy[yi];
                                    r->pgrad[n->weight][wi] += x[xi] * gy[yi];
                                } else {
                                    acc += wp->data[wi] * x[xi];
                                }
                            }
                    if (!bwd) y[yi] = acc;
                }
        break;
    }
    case GAD_OP_RELU:
    case GAD_OP_LEAKY_RELU:
    case GAD_OP_CLIP:
    case GAD_OP_SIGMOID:
    case GAD_OP_MUL_SCALAR:
        for (size_t i = 0; i < ne; i++) {
            double v = x[i], f, d;
            switch (n->op) {
            case GAD_OP_RELU: f = v > 0 ? v : 0, d = v > 0; break;
            case GAD_OP_LEAKY_RELU: f = v > 0 ? v : n->alpha * v, d = v > 0 ? 1 : n->alpha; break;
            case GAD_OP_CLIP:
                f = v < n->alpha ? n->alpha : v > n->beta ? n->beta : v;
                d = v > n->alpha && v < n->beta;
                break;
            case GAD_OP_SIGMOID: f = 1 / (1 + exp(-v)), d = f * (1 - f); break;
            default: f = n->alpha * v, d = n->alpha; break;
            }
            if (!bwd)
                y[i] = f;
            else if (n->op == GAD_OP_RELU && guided)
                gx[i] += (v > 0 && gy[i] > 0) ? gy[i] : 0;
            else
                gx[i] += d * gy[i];
        }
        break;
    case GAD_OP_MAXPOOL:
    case GAD_OP_AVGPOOL:
    case GAD_OP_GLOBAL_AVGPOOL:
        for (int c = 0; c < C; c++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    size_t yi = ((size_t)c * OH + oy) * OW + ox;
                    int glob = n->op == GAD_OP_GLOBAL_AVGPOOL;
                    int KH = glob ? H : n->kernel[0], KW = glob ? W : n->kernel[1];
                    int hs = glob ? 0 : win_start(n, 0, oy), ws = glob ? 0 : win_start(n, 1, ox);
                    int dh = n->op == GAD_OP_MAXPOOL ? n->dilation[0] : 1;
                    int dw = n->op == GAD_OP_MAXPOOL ? n->dilation[1] : 1;
                    double best = -INFINITY, sum = 0;
                    size_t arg = 0;
                    for (int ky = 0; ky < KH; ky++)
                        for (int kx = 0; kx < KW; kx++) {
                            int iy = hs + ky * dh, ix = ws + kx * dw;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            size_t xi = ((size_t)c * H + iy) * W + ix;
                            if (x[xi] > best) best = x[xi], arg = xi;
                            sum += x[xi];
                        }
                    double div = glob ? (double)H * W : avg_div(n, H, W, hs, ws);
                    if (n->op == GAD_OP_MAXPOOL) {
                        if (bwd)
                            gx[arg] += gy[yi];
                        else
                            y[yi] = best;
                    } else if (!bwd) {
                        y[yi] = sum / div;
                    } else {
                        for (int ky = 0; ky < KH; ky++)
                            for (int kx = 0; kx < KW; kx++) {
                                int iy = hs + ky, ix = ws + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                gx[((size_t)c * H + iy) * W + ix] += gy[yi] / div;
                            }
                    }
                }
        break;
    case GAD_OP_FLATTEN:
        for (size_t i = 0; i < ne; i++)
            if (bwd)
                gx[i] += gy[i];
            else
                y[i] = x[i];
        break;
    case GAD_OP_GEMM: {
        const gad_param *wp = &g->params[n->weight];
        int F = is->d[0];
        for (int o = 0; o < O; o++) {
            double acc = n->bias >= 0 ? g->params[n->bias].data[o] : 0;
            if (bwd && n->bias >= 0) r->pgrad[n->bias][o] += gy[o];
            for (int f = 0; f < F; f++) {
                if (bwd) {
                    gx[f] += wp->data[(size_t)o * F + f] * gy[o];
                    r->pgrad[n->weight][(size_t)o * F + f] += x[f] * gy[o];
                } else {
                    acc += wp->data[(size_t)o * F + f] * x[f];
                }
            }
            if (!bwd) y[o] = acc;
        }
        break;
    }
    case GAD_OP_ADD: {
        double *x1 = r->val[n->in[1]], *gx1 = r->grad[n->in[1]];
        for (size_t i = 0; i < ne; i++)
            if (bwd)
                gx[i] += gy[i], gx1[i] += gy[i];
            else
                y[i] = x[i] + x1[i];
        break;
    }
    case GAD_OP_CONCAT: {
        size_t off = 0;
        for (int i = 0; i < n->n_in; i++) {
            size_t m = vsize(g, n->in[i]);
            for (size_t j = 0; j < m; j++)
                if (bwd)
                    r->grad[n->in[i]][j] += gy[off + j];
                else
                    y[off + j] = r->val[n->in[i]][j];
            off += m;
        }
        break;
    }
    default:
        CU_FAIL("reference: unknown op");
    }
}

/* One image: x (float) -> val; returns nothing; logits in val[output]. */
static void ref_forward(ref *r, const float *x) {
    const gad_graph *g = r->g;
    for (size_t i = 0; i < vsize(g, g->input); i++) r->val[g->input][i] = x[i];
    for (int k = 0; k < g->n_nodes; k++) ref_node(r, k, 0, 0);
}

/* After ref_forward: gradients of L = sum(rr .* logits). */
static void ref_backward(ref *r, const float *rr, int guided) {
    const gad_graph *g = r->g;
    for (int v = 0; v < g->n_values; v++) memset(r->grad[v], 0, vsize(g, v) * sizeof(double));
    for (int i = 0; i < g->n_params; i++) memset(r->pgrad[i], 0, g->params[i].count * sizeof(double));
    for (size_t i = 0; i < vsize(g, g->output); i++) r->grad[g->output][i] = rr[i];
    for (int k = g->n_nodes - 1; k >= 0; k--) ref_node(r, k, 1, guided);
}

static double ref_loss(ref *r, const float *x, const float *rr) {
    ref_forward(r, x);
    double L = 0;
    for (size_t i = 0; i < vsize(r->g, r->g->output); i++) L += rr[i] * r->val[r->g->output][i];
    return L;
}

/* ---- checks --------------------------------------------------------------- */

static double rel_err_d(const float *a, const double *b, size_t n) {
    double md = 0, mb = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (!(d <= md)) md = d;
        if (fabs(b[i]) > mb) mb = fabs(b[i]);
    }
    return md / mb;
}

/* Central differences of the reference forward (double, eps 1e-6) at a few
 * coordinates of x and of every parameter: validates the naive backward. */
static void check_ref_fd(gad_graph *g, ref *r, float *x, const float *rr) {
    size_t nx = vsize(g, g->input);
    ref_forward(r, x);
    ref_backward(r, rr, 0);
    double *gxin = malloc(nx * sizeof(double));
    memcpy(gxin, r->grad[g->input], nx * sizeof(double));
    double maxg = 1e-3;
    for (size_t i = 0; i < nx; i++) maxg = fmax(maxg, fabs(gxin[i]));
    double worst = 0;
    /* double-precision FD needs a double perturbation: go through a
     * perturbed copy of the reference input */
    for (int t = 0; t < 12; t++) {
        size_t i = (size_t)((urand() + 1) / 2 * nx) % nx;
        const double eps = 1e-4;
        float save = x[i];
        /* float perturbation of eps (representable well enough at |x|<=1) */
        x[i] = (float)(save + eps);
        double lp = ref_loss(r, x, rr), ep = (double)x[i] - save;
        x[i] = (float)(save - eps);
        double lm = ref_loss(r, x, rr), em = save - (double)x[i];
        x[i] = save;
        double fd = (lp - lm) / (ep + em);
        worst = fmax(worst, fabs(fd - gxin[i]) / maxg);
    }
    CU_ASSERT(worst < 1e-3);
    if (!(worst < 1e-3)) fprintf(stderr, "\n  reference dx vs FD: %g\n", worst);
    for (int p = 0; p < g->n_params; p++) {
        gad_param *pp = &g->params[p];
        double *pg = malloc(pp->count * sizeof(double));
        memcpy(pg, r->pgrad[p], pp->count * sizeof(double));
        double mg = 1e-3, w = 0;
        for (size_t i = 0; i < pp->count; i++) mg = fmax(mg, fabs(pg[i]));
        for (int t = 0; t < 6; t++) {
            size_t i = (size_t)((urand() + 1) / 2 * pp->count) % pp->count;
            float save = pp->data[i];
            pp->data[i] = (float)(save + 1e-4);
            double lp = ref_loss(r, x, rr), ep = (double)pp->data[i] - save;
            pp->data[i] = (float)(save - 1e-4);
            double lm = ref_loss(r, x, rr), em = save - (double)pp->data[i];
            pp->data[i] = save;
            w = fmax(w, fabs((lp - lm) / (ep + em) - pg[i]) / mg);
        }
        CU_ASSERT(w < 1e-3);
        if (!(w < 1e-3)) fprintf(stderr, "\n  reference d%s vs FD: %g\n", pp->name, w);
        free(pg);
    }
    free(gxin);
}

/* Central differences of the plan's own float forward (eps 1e-2) for smooth
 * graphs: the plan's dx and parameter gradients, relative to their max. */
static void check_plan_fd(gad_graph *g, gad_plan *p, float *x, const float *rr, const float *dx,
                          float **pgr) {
    gad_err e;
    size_t nx = vsize(g, g->input), ny = vsize(g, g->output);
    float *y = malloc(ny * sizeof(float));
    double maxg = 1e-3, worst = 0;
    for (size_t i = 0; i < nx; i++) maxg = fmax(maxg, fabs(dx[i]));
#define PLAN_LOSS(L)                                                                               \
    do {                                                                                           \
        GAD_ASSERT_OK(gad_plan_forward(p, x, y, &e), e);                                           \
        L = 0;                                                                                     \
        for (size_t j_ = 0; j_ < ny; j_++) L += (double)rr[j_] * y[j_];                            \
    } while (0)
    for (int t = 0; t < 8; t++) {
        size_t i = (size_t)((urand() + 1) / 2 * nx) % nx;
        float save = x[i];
        double lp, lm;
        x[i] = save + 1e-2f;
        PLAN_LOSS(lp);
        x[i] = save - 1e-2f;
        PLAN_LOSS(lm);
        x[i] = save;
        worst = fmax(worst, fabs((lp - lm) / 2e-2 - dx[i]) / maxg);
    }
    CU_ASSERT(worst < 1e-2);
    if (!(worst < 1e-2)) fprintf(stderr, "\n  plan dx vs FD: %g\n", worst);
    for (int q = 0; q < g->n_params; q++) {
        gad_param *pp = &g->params[q];
        double mg = 1e-3, w = 0;
        for (size_t i = 0; i < pp->count; i++) mg = fmax(mg, fabs(pgr[q][i]));
        for (int t = 0; t < 4; t++) {
            size_t i = (size_t)((urand() + 1) / 2 * pp->count) % pp->count;
            float save = pp->data[i];
            double lp, lm;
            pp->data[i] = save + 1e-2f;
            GAD_ASSERT_OK(gad_plan_load_weights(p, g, &e), e);
            PLAN_LOSS(lp);
            pp->data[i] = save - 1e-2f;
            GAD_ASSERT_OK(gad_plan_load_weights(p, g, &e), e);
            PLAN_LOSS(lm);
            pp->data[i] = save;
            w = fmax(w, fabs((lp - lm) / 2e-2 - pgr[q][i]) / mg);
        }
        GAD_ASSERT_OK(gad_plan_load_weights(p, g, &e), e);
        CU_ASSERT(w < 1e-2);
        if (!(w < 1e-2)) fprintf(stderr, "\n  plan d%s vs FD: %g\n", pp->name, w);
    }
#undef PLAN_LOSS
    free(y);
}

enum { SMOOTH = 1, GUIDED = 2 };

/* Forward, backward and parameter gradients of a plan for `batch` images
 * against the reference (and finite differences); frees g. */
static void check_graph(gad_graph *g, int batch, unsigned opts) {
    gad_err e;
    size_t nx = vsize(g, g->input), ny = vsize(g, g->output);
    float *x = malloc(batch * nx * sizeof(float)), *rr = malloc(batch * ny * sizeof(float));
    float *y = malloc(batch * ny * sizeof(float)), *dx = malloc(batch * nx * sizeof(float));
    fill(x, batch * nx, 1.0);
    fill(rr, batch * ny, 1.0);
    float **pgr = calloc((size_t)g->n_params + 1, sizeof *pgr);
    double **pref = calloc((size_t)g->n_params + 1, sizeof *pref);
    for (int q = 0; q < g->n_params; q++) {
        pgr[q] = malloc(g->params[q].count * sizeof(float));
        pref[q] = calloc(g->params[q].count, sizeof(double));
    }
    gad_plan *p = NULL;
    e.msg[0] = 0;
    int rc = gad_plan_create(g, batch, GAD_PLAN_BACKWARD_DATA | GAD_PLAN_BACKWARD_WEIGHTS, &p, &e);
    if (rc) fprintf(stderr, "\n  plan_create: %s\n", e.msg);
    CU_ASSERT_EQUAL(rc, 0);
    if (!rc) {
        gad_plan_set_guided(p, (opts & GUIDED) != 0);
        GAD_ASSERT_OK(gad_plan_forward(p, x, y, &e), e);
        GAD_ASSERT_OK(gad_plan_backward(p, rr, dx, &e), e);
        for (int q = 0; q < g->n_params; q++) GAD_ASSERT_OK(gad_plan_param_grad(p, q, pgr[q], &e), e);
        ref r;
        ref_init(&r, g);
        double efwd = 0, edx = 0, epar = 0;
        for (int b = 0; b < batch; b++) {
            ref_forward(&r, x + b * nx);
            efwd = fmax(efwd, rel_err_d(y + b * ny, r.val[g->output], ny));
            ref_backward(&r, rr + b * ny, (opts & GUIDED) != 0);
            edx = fmax(edx, rel_err_d(dx + b * nx, r.grad[g->input], nx));
            for (int q = 0; q < g->n_params; q++)
                for (size_t i = 0; i < g->params[q].count; i++) pref[q][i] += r.pgrad[q][i];
        }
        for (int q = 0; q < g->n_params; q++)
            epar = fmax(epar, rel_err_d(pgr[q], pref[q], g->params[q].count));
        CU_ASSERT(efwd < 1e-4);
        CU_ASSERT(edx < 1e-4);
        CU_ASSERT(epar < 1e-4);
        if (!(efwd < 1e-4 && edx < 1e-4 && epar < 1e-4))
            fprintf(stderr, "\n  vs reference: forward %g, dx %g, params %g\n", efwd, edx, epar);
        if (!(opts & GUIDED)) check_ref_fd(g, &r, x, rr);
        if ((opts & SMOOTH) && batch == 1) check_plan_fd(g, p, x, rr, dx, pgr);
        ref_free(&r);
        CU_ASSERT(gad_plan_bytes(p) > 0);
        /* the attribution plan (input gradient only: a first conv on few
         * plain channels runs as GEMM + col2im there) gives the same dx */
        gad_plan *pd = NULL;
        float *dx2 = malloc(batch * nx * sizeof(float));
        GAD_ASSERT_OK(gad_plan_create(g, batch, GAD_PLAN_BACKWARD_DATA, &pd, &e), e);
        if (pd) {
            gad_plan_set_guided(pd, (opts & GUIDED) != 0);
            GAD_ASSERT_OK(gad_plan_forward(pd, x, NULL, &e), e);
            GAD_ASSERT_OK(gad_plan_backward(pd, rr, dx2, &e), e);
            double ed = gad_test_rel_err(dx2, dx, batch * nx, 1e-6);
            CU_ASSERT(ed < 1e-5);
            if (!(ed < 1e-5)) fprintf(stderr, "\n  data-only plan dx vs full plan: %g\n", ed);
        }
        gad_plan_free(pd);
        free(dx2);
    }
    gad_plan_free(p);
    for (int q = 0; q < g->n_params; q++) free(pgr[q]), free(pref[q]);
    free(pgr), free(pref), free(x), free(rr), free(y), free(dx);
    gad_graph_free(g);
}

/* ---- per-op graphs -------------------------------------------------------- */

static const int P1[4] = {1, 1, 1, 1};

static void test_conv_basic(void) {
    rng_seed(1);
    gad_graph *g = tb_new(3, 9, 8);
    int v = tb_conv(g, g->input, 3, 6, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    check_graph(g, 1, SMOOTH);
}

static void test_conv_stride_pad_dilation(void) {
    rng_seed(2);
    gad_graph *g = tb_new(4, 11, 10);
    int pad[4] = {2, 1, 0, 3};
    int v = tb_conv(g, g->input, 4, 5, 3, 2, 2, 3, pad, 2, 1, 1, 1);
    v = tb_conv(g, v, 5, 3, 1, 1, 1, 1, NULL, 1, 1, 1, 0);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    check_graph(g, 1, SMOOTH);
}

static void test_conv_groups(void) {
    rng_seed(3);
    gad_graph *g = tb_new(6, 8, 8);
    int v = tb_conv(g, g->input, 6, 9, 3, 3, 1, 1, P1, 1, 1, 3, 1);   /* 3 groups */
    v = tb_conv(g, v, 9, 9, 3, 3, 2, 2, P1, 1, 1, 9, 1);              /* depthwise */
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    check_graph(g, 1, SMOOTH);
}

static void test_conv_wide_depthwise(void) {
    /* 32 channels: blocked layouts (nChw16c / nChw8c) on every path */
    rng_seed(4);
    gad_graph *g = tb_new(3, 10, 10);
    int v = tb_conv(g, g->input, 3, 32, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    v = tb_unary(g, GAD_OP_RELU, v, 0, 0);
    v = tb_conv(g, v, 32, 32, 3, 3, 1, 1, P1, 1, 1, 32, 1);
    v = tb_conv(g, v, 32, 17, 1, 1, 1, 1, NULL, 1, 1, 1, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    check_graph(g, 1, 0);
}

static void test_conv_winograd(void) {
    /* 3x3 stride-1 convolutions on a map of 28 x 28 or more: the input
     * gradient plan runs them as Winograd (dnnl.c, wants_winograd), the
     * plan with weight gradients as direct ones; both against the reference */
    rng_seed(5);
    gad_graph *g = tb_new(16, 30, 29);
    int v = tb_conv(g, g->input, 16, 32, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    v = tb_unary(g, GAD_OP_SIGMOID, v, 0, 0); /* smooth: finite differences check the reference */
    v = tb_conv(g, v, 32, 16, 3, 3, 1, 1, P1, 1, 1, 1, 0);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    check_graph(g, 2, 0);
}

static void test_eltwise(void) {
    static const gad_op ops[] = {GAD_OP_RELU, GAD_OP_LEAKY_RELU, GAD_OP_CLIP, GAD_OP_SIGMOID,
                                 GAD_OP_MUL_SCALAR};
    for (int i = 0; i < 5; i++) {
        rng_seed(10 + i);
        gad_graph *g = tb_new(3, 6, 7);
        int v = tb_conv(g, g->input, 3, 20, 3, 3, 1, 1, P1, 1, 1, 1, 1);
        float a = ops[i] == GAD_OP_LEAKY_RELU ? 0.1f : ops[i] == GAD_OP_CLIP ? -0.3f : 1.7f;
        v = tb_unary(g, ops[i], v, a, 0.4f);
        v = tb_conv(g, v, 20, 4, 1, 1, 1, 1, NULL, 1, 1, 1, 1);
        CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
        check_graph(g, 1, (ops[i] == GAD_OP_SIGMOID || ops[i] == GAD_OP_MUL_SCALAR) ? SMOOTH : 0);
    }
    /* the same activations where they cannot be fused into a convolution:
     * on the graph input, and on a conv output that an Add also reads */
    for (int i = 0; i < 5; i++) {
        rng_seed(15 + i);
        gad_graph *g = tb_new(16, 6, 7);
        float a = ops[i] == GAD_OP_LEAKY_RELU ? 0.1f : ops[i] == GAD_OP_CLIP ? -0.3f : 1.7f;
        int v = tb_unary(g, ops[i], g->input, a, 0.4f);
        int c = tb_conv(g, v, 16, 16, 3, 3, 1, 1, P1, 1, 1, 1, 1);
        int w = tb_unary(g, ops[i], c, a, 0.4f);
        int s = tb_binary(g, GAD_OP_ADD, w, c);
        s = tb_conv(g, s, 16, 3, 1, 1, 1, 1, NULL, 1, 1, 1, 1);
        CU_ASSERT_EQUAL_FATAL(tb_finish(g, s), 0);
        check_graph(g, 2, (ops[i] == GAD_OP_SIGMOID || ops[i] == GAD_OP_MUL_SCALAR) ? SMOOTH : 0);
    }
}

static void test_maxpool(void) {
    /* floor / ceil_mode, padding, dilation, on plain and blocked inputs */
    struct { int c, h, w, k, s, pad, ceil, dil; } cs[] = {
        {3, 9, 9, 3, 2, 1, 1, 1}, {3, 8, 7, 2, 2, 0, 1, 1}, {16, 7, 9, 3, 2, 1, 0, 1},
        {5, 5, 5, 2, 2, 1, 1, 1}, {16, 11, 10, 3, 1, 1, 0, 2}, {8, 10, 11, 3, 3, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        rng_seed(20 + i);
        gad_graph *g = tb_new(cs[i].c, cs[i].h, cs[i].w);
        int pad[4] = {cs[i].pad, cs[i].pad, cs[i].pad, cs[i].pad};
        int v = tb_pool(g, GAD_OP_MAXPOOL, g->input, cs[i].k, cs[i].k, cs[i].s, cs[i].s, pad, cs[i].ceil,
                        0, cs[i].dil);
        CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
        check_graph(g, 1, 0);
    }
}

static void test_avgpool(void) {
    struct { int c, h, w, k, s, pad, ceil, cip; } cs[] = {
        {3, 9, 9, 3, 2, 1, 0, 1}, {3, 9, 9, 3, 2, 1, 0, 0}, {16, 8, 7, 2, 2, 0, 1, 1},
        {16, 8, 7, 3, 2, 1, 1, 0}, {4, 7, 7, 3, 2, 1, 1, 1} /* ceil, no overhang */,
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        rng_seed(30 + i);
        gad_graph *g = tb_new(cs[i].c, cs[i].h, cs[i].w);
        int pad[4] = {cs[i].pad, cs[i].pad, cs[i].pad, cs[i].pad};
        int v = tb_pool(g, GAD_OP_AVGPOOL, g->input, cs[i].k, cs[i].k, cs[i].s, cs[i].s, pad, cs[i].ceil,
                        cs[i].cip, 1);
        CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
        check_graph(g, 1, SMOOTH);
    }
}

static void test_gap_flatten_gemm(void) {
    rng_seed(40);
    gad_graph *g = tb_new(3, 8, 8);
    int v = tb_conv(g, g->input, 3, 24, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    v = tb_unary(g, GAD_OP_SIGMOID, v, 0, 0);
    v = tb_unary(g, GAD_OP_GLOBAL_AVGPOOL, v, 0, 0);
    v = tb_unary(g, GAD_OP_FLATTEN, v, 0, 0);
    v = tb_gemm(g, v, 24, 7, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    check_graph(g, 1, SMOOTH);
}

static void test_flatten_spatial_gemm(void) {
    /* Flatten of a blocked (C,H,W) map: NCHW order must reach the Gemm */
    rng_seed(41);
    gad_graph *g = tb_new(2, 6, 5);
    int v = tb_conv(g, g->input, 2, 19, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    v = tb_unary(g, GAD_OP_FLATTEN, v, 0, 0);
    v = tb_gemm(g, v, 19 * 6 * 5, 10, 1);
    v = tb_unary(g, GAD_OP_SIGMOID, v, 0, 0);
    v = tb_gemm(g, v, 10, 4, 0);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    check_graph(g, 1, SMOOTH);
}

/* x -> conv a -> relu r; r -> conv b; add(r, b) -> conv -> ... : r feeds a
 * Conv and an Add; the input feeds two convs. */
static gad_graph *residual_net(void) {
    gad_graph *g = tb_new(3, 8, 8);
    int a = tb_conv(g, g->input, 3, 16, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    int r = tb_unary(g, GAD_OP_LEAKY_RELU, a, 0.2f, 0);
    int b = tb_conv(g, r, 16, 16, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    int s = tb_binary(g, GAD_OP_ADD, r, b);
    int side = tb_conv(g, g->input, 3, 16, 1, 1, 1, 1, NULL, 1, 1, 1, 0);
    int s2 = tb_binary(g, GAD_OP_ADD, s, side);
    int m = tb_unary(g, GAD_OP_MUL_SCALAR, s2, 0.5f, 0);
    int p = tb_unary(g, GAD_OP_GLOBAL_AVGPOOL, m, 0, 0);
    int f = tb_unary(g, GAD_OP_FLATTEN, p, 0, 0);
    int o = tb_gemm(g, f, 16, 5, 1);
    g->output = o;
    return g;
}

static void test_residual(void) {
    rng_seed(50);
    gad_graph *g = residual_net();
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, g->output), 0);
    check_graph(g, 1, SMOOTH);
}

/* The linear-head split (graph.h): head then body computes what the whole
 * model does, forward and backward; models whose input feeds more than a
 * first Conv are not split. */
static void test_split_head(void) {
    rng_seed(70);
    gad_graph *g = tb_new(3, 9, 9);
    int a = tb_conv(g, g->input, 3, 16, 3, 3, 2, 2, P1, 1, 1, 1, 1);
    int r = tb_unary(g, GAD_OP_RELU, a, 0, 0);
    int b = tb_conv(g, r, 16, 16, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    int s2 = tb_binary(g, GAD_OP_ADD, r, b);
    int p = tb_unary(g, GAD_OP_GLOBAL_AVGPOOL, s2, 0, 0);
    int f = tb_unary(g, GAD_OP_FLATTEN, p, 0, 0);
    int o = tb_gemm(g, f, 16, 4, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, o), 0);
    gad_graph *head, *body;
    gad_err e = {0};
    CU_ASSERT_EQUAL_FATAL(gad_graph_split_head(g, &head, &body, &e), 1);
    CU_ASSERT_EQUAL(head->n_nodes, 1);
    CU_ASSERT_EQUAL(body->n_nodes, g->n_nodes - 1);
    CU_ASSERT(body->in_c == 16 && body->in_h == 5 && body->in_w == 5);

    const int n = 3;
    const size_t d = 3 * 9 * 9, dz = 16 * 5 * 5;
    float x[3 * 243], z[3 * 400], lg[12], lg2[12], dl[12], dx[3 * 243], dz_[3 * 400], dx2[3 * 243];
    fill(x, n * d, 1.0);
    fill(dl, (size_t)n * 4, 1.0);
    gad_plan *pf, *ph, *pb;
    GAD_ASSERT_OK(gad_plan_create(g, n, GAD_PLAN_BACKWARD_DATA, &pf, &e), e);
    GAD_ASSERT_OK(gad_plan_create(head, n, GAD_PLAN_BACKWARD_DATA, &ph, &e), e);
    GAD_ASSERT_OK(gad_plan_create(body, n, GAD_PLAN_BACKWARD_DATA, &pb, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(pf, x, lg, &e), e);
    GAD_ASSERT_OK(gad_plan_backward(pf, dl, dx, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(ph, x, z, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(pb, z, lg2, &e), e);
    GAD_ASSERT_OK(gad_plan_backward(pb, dl, dz_, &e), e);
    GAD_ASSERT_OK(gad_plan_backward(ph, dz_, dx2, &e), e);
    double wl = 0, el = 0, wx = 0, ex = 0;
    for (int i = 0; i < n * 4; i++) wl += lg[i] * lg[i], el += (lg[i] - lg2[i]) * (lg[i] - lg2[i]);
    for (size_t i = 0; i < n * d; i++) wx += dx[i] * dx[i], ex += (dx[i] - dx2[i]) * (dx[i] - dx2[i]);
    CU_ASSERT(wl > 0 && sqrt(el / wl) < 1e-6);
    CU_ASSERT(wx > 0 && sqrt(ex / wx) < 1e-6);
    (void)dz;
    gad_plan_free(pf);
    gad_plan_free(ph);
    gad_plan_free(pb);
    /* the body reads the model's weights, not a copy: freed first */
    gad_graph_free(head);
    gad_graph_free(body);
    gad_graph_free(g);

    /* the input read twice (a side branch): no split */
    g = residual_net();
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, g->output), 0);
    CU_ASSERT_EQUAL(gad_graph_split_head(g, &head, &body, &e), 0);
    CU_ASSERT_PTR_NULL(head);
    CU_ASSERT_PTR_NULL(body);
    gad_graph_free(g);
}

static void test_concat(void) {
    rng_seed(60);
    gad_graph *g = tb_new(4, 7, 6);
    int a = tb_conv(g, g->input, 4, 3, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    int b = tb_conv(g, g->input, 4, 5, 1, 1, 1, 1, NULL, 1, 1, 1, 1);
    int c = tb_conv(g, g->input, 4, 16, 3, 3, 1, 1, P1, 1, 1, 1, 0);
    int in[3] = {a, b, c}, out;
    tb_node(g, GAD_OP_CONCAT, 3, in, &out);
    int d = tb_conv(g, out, 24, 6, 3, 3, 2, 2, P1, 1, 1, 1, 1);
    int e2 = tb_binary(g, GAD_OP_ADD, d, d); /* one value in both slots */
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, e2), 0);
    check_graph(g, 1, SMOOTH);
}

/* ---- plan behaviour -------------------------------------------------------- */

static void test_batch_and_repeat(void) {
    rng_seed(70);
    gad_graph *g = residual_net();
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, g->output), 0);
    /* the reference check with batch 3 sums parameter gradients over images */
    rng_seed(71);
    gad_graph *g3 = residual_net();
    CU_ASSERT_EQUAL_FATAL(tb_finish(g3, g3->output), 0);
    check_graph(g3, 3, 0);

    gad_err e;
    const int B = 3;
    size_t nx = vsize(g, g->input), ny = vsize(g, g->output);
    float *x = malloc(B * nx * 4), *rr = malloc(B * ny * 4), *y3 = malloc(B * ny * 4),
          *dx3 = malloc(B * nx * 4), *y1 = malloc(ny * 4), *dx1 = malloc(nx * 4);
    fill(x, B * nx, 1), fill(rr, B * ny, 1);
    gad_plan *p3, *p1;
    unsigned fl = GAD_PLAN_BACKWARD_DATA | GAD_PLAN_BACKWARD_WEIGHTS;
    GAD_ASSERT_OK(gad_plan_create(g, B, fl, &p3, &e), e);
    GAD_ASSERT_OK(gad_plan_create(g, 1, fl, &p1, &e), e);
    CU_ASSERT_EQUAL(gad_plan_batch(p3), 3);
    GAD_ASSERT_OK(gad_plan_forward(p3, x, y3, &e), e);
    GAD_ASSERT_OK(gad_plan_backward(p3, rr, dx3, &e), e);
    size_t wc = g->params[0].count;
    float *w3 = malloc(wc * 4), *w1 = calloc(wc, 4), *t = malloc(wc * 4), *w3b = malloc(wc * 4);
    GAD_ASSERT_OK(gad_plan_param_grad(p3, 0, w3, &e), e);
    for (int b = 0; b < B; b++) {
        GAD_ASSERT_OK(gad_plan_forward(p1, x + b * nx, y1, &e), e);
        GAD_ASSERT_OK(gad_plan_backward(p1, rr + b * ny, dx1, &e), e);
        CU_ASSERT(gad_test_rel_err(y1, y3 + b * ny, ny, 1e-6) < 1e-5);
        CU_ASSERT(gad_test_rel_err(dx1, dx3 + b * nx, nx, 1e-6) < 1e-5);
        GAD_ASSERT_OK(gad_plan_param_grad(p1, 0, t, &e), e);
        for (size_t i = 0; i < wc; i++) w1[i] += t[i];
    }
    CU_ASSERT(gad_test_rel_err(w1, w3, wc, 1e-6) < 1e-5);
    /* again, on the same plan: bit-identical, nothing left over */
    float *y3b = malloc(B * ny * 4), *dx3b = malloc(B * nx * 4);
    GAD_ASSERT_OK(gad_plan_forward(p3, x, y3b, &e), e);
    GAD_ASSERT_OK(gad_plan_backward(p3, rr, dx3b, &e), e);
    GAD_ASSERT_OK(gad_plan_param_grad(p3, 0, w3b, &e), e);
    CU_ASSERT(memcmp(y3, y3b, B * ny * 4) == 0);
    CU_ASSERT(memcmp(dx3, dx3b, B * nx * 4) == 0);
    CU_ASSERT(memcmp(w3, w3b, wc * 4) == 0);
    /* dx may be NULL when only parameter gradients are wanted */
    GAD_ASSERT_OK(gad_plan_backward(p3, rr, NULL, &e), e);
    GAD_ASSERT_OK(gad_plan_param_grad(p3, 0, w3b, &e), e);
    CU_ASSERT(memcmp(w3, w3b, wc * 4) == 0);
    /* inference plan: same logits */
    gad_plan *pi;
    GAD_ASSERT_OK(gad_plan_create(g, B, GAD_PLAN_FORWARD, &pi, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(pi, x, y3b, &e), e);
    CU_ASSERT(gad_test_rel_err(y3b, y3, B * ny, 1e-6) < 1e-5);
    gad_plan_free(pi);
    gad_plan_free(p3);
    gad_plan_free(p1);
    free(x), free(rr), free(y3), free(dx3), free(y1), free(dx1), free(w3), free(w1), free(t), free(w3b);
    free(y3b), free(dx3b);
    gad_graph_free(g);
}

static void test_guided(void) {
    rng_seed(80);
    gad_graph *g = tb_new(3, 8, 8);
    int v = tb_conv(g, g->input, 3, 16, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    v = tb_unary(g, GAD_OP_RELU, v, 0, 0);
    v = tb_conv(g, v, 16, 8, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    v = tb_unary(g, GAD_OP_RELU, v, 0, 0);
    v = tb_conv(g, v, 8, 4, 3, 3, 2, 2, P1, 1, 1, 1, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    check_graph(g, 2, GUIDED);
}

static void test_guided_differs(void) {
    /* guided and plain gradients differ on the same plan, and switching back
     * restores the plain one */
    rng_seed(81);
    gad_graph *g = tb_new(3, 6, 6);
    int v = tb_conv(g, g->input, 3, 8, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    v = tb_unary(g, GAD_OP_RELU, v, 0, 0);
    v = tb_conv(g, v, 8, 4, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    gad_err e;
    size_t nx = vsize(g, g->input), ny = vsize(g, g->output);
    float *x = malloc(nx * 4), *rr = malloc(ny * 4), *a = malloc(nx * 4), *b = malloc(nx * 4),
          *c = malloc(nx * 4);
    fill(x, nx, 1), fill(rr, ny, 1);
    gad_plan *p;
    GAD_ASSERT_OK(gad_plan_create(g, 1, GAD_PLAN_BACKWARD_DATA, &p, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(p, x, NULL, &e), e);
    GAD_ASSERT_OK(gad_plan_backward(p, rr, a, &e), e);
    gad_plan_set_guided(p, 1);
    GAD_ASSERT_OK(gad_plan_backward(p, rr, b, &e), e);
    gad_plan_set_guided(p, 0);
    GAD_ASSERT_OK(gad_plan_backward(p, rr, c, &e), e);
    CU_ASSERT(gad_test_rel_err(a, b, nx, 1e-6) > 1e-3);
    CU_ASSERT(memcmp(a, c, nx * 4) == 0);
    gad_plan_free(p);
    free(x), free(rr), free(a), free(b), free(c);
    gad_graph_free(g);
}

static void test_errors(void) {
    rng_seed(90);
    gad_err e;
    gad_graph *g = tb_new(3, 6, 6);
    int v = tb_conv(g, g->input, 3, 4, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    size_t nx = vsize(g, g->input), ny = vsize(g, g->output);
    float *x = calloc(nx, 4), *r = calloc(ny, 4), *dx = calloc(nx, 4), *w = calloc(g->params[0].count, 4);
    gad_plan *p;
    CU_ASSERT_EQUAL(gad_plan_create(g, 0, 0, &p, &e), GAD_EINVAL);
    CU_ASSERT_EQUAL(gad_plan_create(NULL, 1, 0, &p, &e), GAD_EINVAL);
    GAD_ASSERT_OK(gad_plan_create(g, 1, GAD_PLAN_FORWARD, &p, &e), e);
    GAD_ASSERT_OK(gad_plan_forward(p, x, NULL, &e), e);
    e.msg[0] = 0;
    CU_ASSERT_EQUAL(gad_plan_backward(p, r, dx, &e), GAD_ESTATE);
    CU_ASSERT(strstr(e.msg, "test.onnx") != NULL);
    CU_ASSERT_EQUAL(gad_plan_param_grad(p, 0, w, &e), GAD_ESTATE);
    CU_ASSERT_EQUAL(gad_plan_forward(p, NULL, NULL, &e), GAD_EINVAL);
    gad_plan_free(p);
    GAD_ASSERT_OK(gad_plan_create(g, 1, GAD_PLAN_BACKWARD_DATA, &p, &e), e);
    e.msg[0] = 0;
    CU_ASSERT_EQUAL(gad_plan_backward(p, r, dx, &e), GAD_ESTATE); /* before forward */
    CU_ASSERT(strstr(e.msg, "before forward") != NULL);
    CU_ASSERT_EQUAL(gad_plan_param_grad(p, 0, w, &e), GAD_ESTATE); /* no weights flag */
    CU_ASSERT_EQUAL(gad_plan_param_grad(p, 7, w, &e), GAD_EINVAL);
    gad_plan_free(p);
    /* a model with different parameter sizes cannot be loaded into the plan */
    GAD_ASSERT_OK(gad_plan_create(g, 1, GAD_PLAN_FORWARD, &p, &e), e);
    gad_graph *g2 = tb_new(3, 6, 6);
    int v2 = tb_conv(g2, g2->input, 3, 5, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g2, v2), 0);
    CU_ASSERT_EQUAL(gad_plan_load_weights(p, g2, &e), GAD_ESHAPE);
    gad_plan_free(p);
    gad_graph_free(g2);
    gad_plan_free(NULL);
    free(x), free(r), free(dx), free(w);
    gad_graph_free(g);
}

static void test_shape_errors(void) {
    gad_err e;
    rng_seed(91);
    /* group 4 does not divide 6 channels */
    gad_graph *g = tb_new(6, 5, 5);
    int64_t wd[4] = {8, 2, 3, 3};
    int w = tb_param(g, 4, wd, 1), out, in = g->input;
    gad_node *n = tb_node(g, GAD_OP_CONV, 1, &in, &out);
    n->weight = w, n->group = 4;
    g->output = out;
    e.msg[0] = 0;
    CU_ASSERT_EQUAL(gad_graph_infer_shapes(g, &e), GAD_ESHAPE);
    CU_ASSERT(strstr(e.msg, "Conv_0") != NULL);
    CU_ASSERT(strstr(e.msg, "test.onnx") != NULL);
    CU_ASSERT(strstr(e.msg, "group 4") != NULL);
    gad_plan *p = NULL;
    CU_ASSERT_NOT_EQUAL(gad_plan_create(g, 1, 0, &p, &e), 0);
    CU_ASSERT_PTR_NULL(p);
    gad_graph_free(g);
    /* Add of unequal shapes */
    g = tb_new(3, 6, 6);
    int a = tb_conv(g, g->input, 3, 4, 3, 3, 1, 1, P1, 1, 1, 1, 0);
    int b = tb_conv(g, g->input, 3, 5, 3, 3, 1, 1, P1, 1, 1, 1, 0);
    int s = tb_binary(g, GAD_OP_ADD, a, b);
    g->output = s;
    e.msg[0] = 0;
    CU_ASSERT_EQUAL(gad_graph_infer_shapes(g, &e), GAD_ESHAPE);
    CU_ASSERT(strstr(e.msg, "Add_2") != NULL);
    CU_ASSERT(strstr(e.msg, "(4,6,6)") != NULL && strstr(e.msg, "(5,6,6)") != NULL);
    gad_graph_free(g);
    /* Gemm on a 3-D input; dangling input; window larger than the input */
    g = tb_new(3, 4, 4);
    int gm = tb_gemm(g, g->input, 48, 2, 0);
    g->output = gm;
    CU_ASSERT_EQUAL(gad_graph_infer_shapes(g, &e), GAD_ESHAPE);
    CU_ASSERT(strstr(e.msg, "Flatten") != NULL);
    gad_graph_free(g);
    g = tb_new(3, 4, 4);
    int ghost = newval(g), o2;
    int ins[2] = {g->input, ghost};
    tb_node(g, GAD_OP_ADD, 2, ins, &o2);
    g->output = o2;
    CU_ASSERT_EQUAL(gad_graph_infer_shapes(g, &e), GAD_EFORMAT);
    CU_ASSERT(strstr(e.msg, "not defined") != NULL);
    gad_graph_free(g);
    g = tb_new(3, 4, 4);
    int pv = tb_pool(g, GAD_OP_MAXPOOL, g->input, 5, 5, 1, 1, NULL, 0, 0, 1);
    g->output = pv;
    CU_ASSERT_EQUAL(gad_graph_infer_shapes(g, &e), GAD_ESHAPE);
    CU_ASSERT(strstr(e.msg, "MaxPool_0") != NULL);
    gad_graph_free(g);
}

static void test_shape_rules(void) {
    /* expected sizes from PyTorch's pooling_output_shape, by hand:
     * in 6, k3 s2 p1: floor 3, ceil 4 ((4-1)*2 = 6 < 6+1 keeps the window)
     * in 5, k2 s2 p1: floor 3, ceil 3 (a 4th window would start at 6 >= 5+1)
     * in 7, k3 s2 p0 d2: (7-5)/2+1 = 2 */
    struct { int in, k, s, p, d, ceil, want; } cs[] = {
        {6, 3, 2, 1, 1, 0, 3}, {6, 3, 2, 1, 1, 1, 4}, {5, 2, 2, 1, 1, 0, 3},
        {5, 2, 2, 1, 1, 1, 3}, {7, 3, 2, 0, 2, 0, 2}, {8, 3, 3, 0, 1, 1, 3}, {8, 3, 3, 0, 1, 0, 2},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        gad_graph *g = tb_new(2, cs[i].in, cs[i].in);
        int pad[4] = {cs[i].p, cs[i].p, cs[i].p, cs[i].p};
        int v = tb_pool(g, GAD_OP_MAXPOOL, g->input, cs[i].k, cs[i].k, cs[i].s, cs[i].s, pad, cs[i].ceil, 0,
                        cs[i].d);
        CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
        CU_ASSERT_EQUAL(g->values[v].shape.d[1], cs[i].want);
        CU_ASSERT_EQUAL(g->values[v].shape.d[2], cs[i].want);
        gad_graph_free(g);
    }
    /* producers, consumers (output counts), params and FLOPs */
    rng_seed(92);
    gad_graph *g = tb_new(3, 8, 8);
    int a = tb_conv(g, g->input, 3, 4, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    int r = tb_unary(g, GAD_OP_RELU, a, 0, 0);
    int s = tb_binary(g, GAD_OP_ADD, r, r);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, s), 0);
    CU_ASSERT_EQUAL(g->values[g->input].producer, -1);
    CU_ASSERT_EQUAL(g->values[a].producer, 0);
    CU_ASSERT_EQUAL(g->values[r].n_consumers, 2);
    CU_ASSERT_EQUAL(g->values[s].n_consumers, 1);
    CU_ASSERT_EQUAL(gad_node_params(g, 0), 4 * 3 * 9 + 4);
    CU_ASSERT_EQUAL(gad_node_flops(g, 0), 2LL * 4 * 64 * 27 + 4 * 64);
    CU_ASSERT_EQUAL(gad_node_flops(g, 1), 4 * 64);
    CU_ASSERT_EQUAL(gad_node_params(g, 1), 0);
    gad_graph_free(g);
}

static void test_unsupported_avg_ceil(void) {
    /* ceil_mode + count_include_pad + padding with an overhanging last window:
     * refused at plan creation rather than computed with the wrong divisor */
    gad_graph *g = tb_new(2, 6, 6);
    int pad[4] = {1, 1, 1, 1};
    int v = tb_pool(g, GAD_OP_AVGPOOL, g->input, 3, 3, 2, 2, pad, 1, 1, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    gad_err e;
    gad_plan *p = NULL;
    e.msg[0] = 0;
    CU_ASSERT_EQUAL(gad_plan_create(g, 1, 0, &p, &e), GAD_EUNSUPPORTED);
    CU_ASSERT(strstr(e.msg, "AveragePool_0") != NULL);
    gad_plan_free(p);
    gad_graph_free(g);
}


/* ---- PyTorch as a second reference for pooling and convolution ------------ */

/* Pooling / conv configurations whose output sizes and divisors are the
 * subtle part: run by torch (max_pool2d / avg_pool2d / conv2d) and by plans. */
static void test_torch_reference(void) {
    if (!gad_test_have_torch("plan vs PyTorch pooling/conv")) return;
    struct { int op, c, h, w, k, s, p, ceil, cip, dil, group; } cs[] = {
        {0, 3, 9, 9, 3, 2, 1, 1, 0, 1, 1},  {0, 16, 8, 7, 2, 2, 0, 1, 0, 1, 1},
        {0, 5, 5, 5, 2, 2, 1, 1, 0, 1, 1},  {0, 16, 11, 10, 3, 1, 1, 0, 0, 2, 1},
        {1, 3, 9, 9, 3, 2, 1, 0, 1, 1, 1},  {1, 3, 9, 9, 3, 2, 1, 0, 0, 1, 1},
        {1, 16, 8, 7, 2, 2, 0, 1, 1, 1, 1}, {1, 16, 8, 7, 3, 2, 1, 1, 0, 1, 1},
        {1, 4, 7, 7, 3, 2, 1, 1, 1, 1, 1},  {2, 6, 9, 8, 3, 2, 1, 0, 0, 2, 3},
        {2, 8, 7, 7, 3, 1, 1, 0, 0, 1, 8},
    };
    int nc = (int)(sizeof cs / sizeof cs[0]);
    char dir[512], cmd[3200], buf[256];
    snprintf(dir, sizeof dir, "%s", gad_test_tmpdir());
    char cfg[600], xin[600], wts[600], yout[600], py[600];
    snprintf(cfg, sizeof cfg, "%s/plan_cfg.txt", dir);
    snprintf(xin, sizeof xin, "%s/plan_x.bin", dir);
    snprintf(wts, sizeof wts, "%s/plan_w.bin", dir);
    snprintf(yout, sizeof yout, "%s/plan_y.bin", dir);
    snprintf(py, sizeof py, "%s/plan_ref.py", dir);
    FILE *f = fopen(py, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("import sys, numpy as np, torch\n"
          "import torch.nn.functional as F\n"
          "cfg = [list(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]\n"
          "x = np.fromfile(sys.argv[2], dtype=np.float32); w = np.fromfile(sys.argv[3], dtype=np.float32)\n"
          "xo = wo = 0; out = []\n"
          "for op, c, h, wd, k, s, p, ceil, cip, dil, grp in cfg:\n"
          "    t = torch.from_numpy(x[xo:xo + c*h*wd].copy()).reshape(1, c, h, wd).double(); xo += c*h*wd\n"
          "    if op == 0: y = F.max_pool2d(t, k, s, p, dil, ceil_mode=bool(ceil))\n"
          "    elif op == 1: y = F.avg_pool2d(t, k, s, p, ceil_mode=bool(ceil), count_include_pad=bool(cip))\n"
          "    else:\n"
          "        n = c * (c // grp) * k * k\n"
          "        wt = torch.from_numpy(w[wo:wo + n].copy()).reshape(c, c // grp, k, k).double(); wo += n\n"
          "        y = F.conv2d(t, wt, None, s, p, dil, grp)\n"
          "    out.append(y.numpy().astype(np.float32).ravel())\n"
          "np.concatenate(out).tofile(sys.argv[4])\n", f);
    fclose(f);
    f = fopen(cfg, "w");
    FILE *fx = fopen(xin, "wb"), *fw = fopen(wts, "wb");
    CU_ASSERT_FATAL(f && fx && fw);
    gad_graph *gs[16];
    rng_seed(100);
    for (int i = 0; i < nc; i++) {
        fprintf(f, "%d %d %d %d %d %d %d %d %d %d %d\n", cs[i].op, cs[i].c, cs[i].h, cs[i].w, cs[i].k,
                cs[i].s, cs[i].p, cs[i].ceil, cs[i].cip, cs[i].dil, cs[i].group);
        gad_graph *g = gs[i] = tb_new(cs[i].c, cs[i].h, cs[i].w);
        int pad[4] = {cs[i].p, cs[i].p, cs[i].p, cs[i].p}, v;
        if (cs[i].op == 2) {
            v = tb_conv(g, g->input, cs[i].c, cs[i].c, cs[i].k, cs[i].k, cs[i].s, cs[i].s, pad, cs[i].dil,
                        cs[i].dil, cs[i].group, 0);
            fwrite(g->params[0].data, 4, g->params[0].count, fw);
        } else {
            v = tb_pool(g, cs[i].op ? GAD_OP_AVGPOOL : GAD_OP_MAXPOOL, g->input, cs[i].k, cs[i].k,
                        cs[i].s, cs[i].s, pad, cs[i].ceil, cs[i].cip, cs[i].dil);
        }
        CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
        size_t nx = vsize(g, g->input);
        float *x = malloc(nx * 4);
        fill(x, nx, 1);
        fwrite(x, 4, nx, fx);
        free(x);
    }
    fclose(f), fclose(fx), fclose(fw);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s %s %s 2>&1", py, cfg, xin, wts, yout);
    int st = gad_test_run(cmd, buf, sizeof buf);
    if (st) fprintf(stderr, "\n  python: %s\n", buf);
    CU_ASSERT_EQUAL_FATAL(st, 0);
    size_t ysz = 0;
    float *yt = gad_test_read_file(yout, &ysz);
    CU_ASSERT_PTR_NOT_NULL_FATAL(yt);
    fx = fopen(xin, "rb");
    size_t yo = 0;
    for (int i = 0; i < nc; i++) {
        gad_graph *g = gs[i];
        size_t nx = vsize(g, g->input), ny = vsize(g, g->output);
        float *x = malloc(nx * 4), *y = malloc(ny * 4);
        CU_ASSERT_EQUAL(fread(x, 4, nx, fx), nx);
        CU_ASSERT_FATAL((yo + ny) * 4 <= ysz); /* torch produced (at least) our sizes */
        gad_err e;
        gad_plan *p;
        GAD_ASSERT_OK(gad_plan_create(g, 1, GAD_PLAN_BACKWARD_DATA, &p, &e), e);
        GAD_ASSERT_OK(gad_plan_forward(p, x, y, &e), e);
        double err = gad_test_rel_err(y, yt + yo, ny, 1e-6);
        CU_ASSERT(err < 1e-5);
        if (!(err < 1e-5)) fprintf(stderr, "\n  case %d vs torch: %g\n", i, err);
        yo += ny;
        gad_plan_free(p);
        free(x), free(y);
        gad_graph_free(g);
    }
    CU_ASSERT_EQUAL(yo * 4, ysz); /* and exactly our sizes */
    fclose(fx);
    free(yt);
}

/* Several plans driven from an OpenMP parallel region (oneDNN then runs
 * single-threaded inside each) give the results of a serial run. */
static void test_threads(void) {
    rng_seed(110);
    gad_graph *g = residual_net();
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, g->output), 0);
    enum { T = 2, B = 2 };
    size_t nx = vsize(g, g->input), ny = vsize(g, g->output);
    float *x = malloc(T * B * nx * 4), *rr = malloc(T * B * ny * 4);
    float *dxs = malloc(T * B * nx * 4), *dxp = malloc(T * B * nx * 4);
    fill(x, T * B * nx, 1), fill(rr, T * B * ny, 1);
    gad_plan *p[T];
    gad_err e;
    for (int t = 0; t < T; t++) GAD_ASSERT_OK(gad_plan_create(g, B, GAD_PLAN_BACKWARD_DATA, &p[t], &e), e);
    for (int t = 0; t < T; t++) {
        GAD_ASSERT_OK(gad_plan_forward(p[0], x + t * B * nx, NULL, &e), e);
        GAD_ASSERT_OK(gad_plan_backward(p[0], rr + t * B * ny, dxs + t * B * nx, &e), e);
    }
    int fails = 0;
#pragma omp parallel for num_threads(T) reduction(+ : fails)
    for (int t = 0; t < T; t++) {
        for (int rep = 0; rep < 3; rep++) {
            fails += gad_plan_forward(p[t], x + t * B * nx, NULL, NULL) != 0;
            fails += gad_plan_backward(p[t], rr + t * B * ny, dxp + t * B * nx, NULL) != 0;
        }
    }
    CU_ASSERT_EQUAL(fails, 0);
    CU_ASSERT(gad_test_rel_err(dxp, dxs, T * B * nx, 1e-6) < 1e-5);
    for (int t = 0; t < T; t++) gad_plan_free(p[t]);
    free(x), free(rr), free(dxs), free(dxp);
    gad_graph_free(g);
}


/* A ResNet stem and basic block: conv 7x7/2 + ReLU + max-pool 3x3/2, then
 * conv-ReLU-conv + identity Add + ReLU; the pooled map feeds a Conv and the
 * Add in a blocked layout. */
static void test_resnet_block(void) {
    rng_seed(120);
    gad_graph *g = tb_new(3, 32, 32);
    int p3[4] = {3, 3, 3, 3};
    int v = tb_conv(g, g->input, 3, 64, 7, 7, 2, 2, p3, 1, 1, 1, 1);
    v = tb_unary(g, GAD_OP_RELU, v, 0, 0);
    int pool = tb_pool(g, GAD_OP_MAXPOOL, v, 3, 3, 2, 2, P1, 0, 0, 1);
    int a = tb_conv(g, pool, 64, 64, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    a = tb_unary(g, GAD_OP_RELU, a, 0, 0);
    a = tb_conv(g, a, 64, 64, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    int s = tb_binary(g, GAD_OP_ADD, a, pool);
    s = tb_unary(g, GAD_OP_RELU, s, 0, 0);
    s = tb_unary(g, GAD_OP_GLOBAL_AVGPOOL, s, 0, 0);
    s = tb_unary(g, GAD_OP_FLATTEN, s, 0, 0);
    s = tb_gemm(g, s, 64, 10, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, s), 0);
    check_graph(g, 2, 0);
}


/* A plan sharing a donor's weights computes what an unshared plan does, owns
 * fewer bytes, and sees the donor's reloaded weights. */
static void test_shared_weights(void) {
    rng_seed(125);
    gad_graph *g = tb_new(16, 12, 12);
    int v = tb_conv(g, g->input, 16, 64, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    v = tb_unary(g, GAD_OP_RELU, v, 0, 0);
    v = tb_conv(g, v, 64, 64, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    v = tb_unary(g, GAD_OP_GLOBAL_AVGPOOL, v, 0, 0);
    v = tb_unary(g, GAD_OP_FLATTEN, v, 0, 0);
    v = tb_gemm(g, v, 64, 10, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, v), 0);
    enum { B = 2 };
    size_t nx = vsize(g, g->input), ny = vsize(g, g->output);
    float *x = malloc(B * nx * 4), *rr = malloc(B * ny * 4), *ys = malloc(B * ny * 4), *yu = malloc(B * ny * 4),
          *dxs = malloc(B * nx * 4), *dxu = malloc(B * nx * 4);
    fill(x, B * nx, 1), fill(rr, B * ny, 1);
    gad_err e;
    gad_plan *donor, *own, *shared, *probe;
    GAD_ASSERT_OK(gad_plan_create(g, 1, GAD_PLAN_BACKWARD_DATA, &donor, &e), e);
    GAD_ASSERT_OK(gad_plan_create(g, B, GAD_PLAN_BACKWARD_DATA, &own, &e), e);
    GAD_ASSERT_OK(gad_plan_create_shared(g, B, GAD_PLAN_BACKWARD_DATA, donor, &shared, &e), e);
    GAD_ASSERT_OK(gad_plan_create_shared(g, 1, GAD_PLAN_FORWARD, donor, &probe, &e), e);
    /* the weights alone are 16*64*9 + 64*64*9 + 640 floats */
    CU_ASSERT(gad_plan_bytes(own) - gad_plan_bytes(shared) >= (16 * 64 * 9 + 64 * 64 * 9) * 4);
    for (int round = 0; round < 2; round++) {
        GAD_ASSERT_OK(gad_plan_forward(own, x, yu, &e), e);
        GAD_ASSERT_OK(gad_plan_backward(own, rr, dxu, &e), e);
        GAD_ASSERT_OK(gad_plan_forward(shared, x, ys, &e), e);
        GAD_ASSERT_OK(gad_plan_backward(shared, rr, dxs, &e), e);
        CU_ASSERT(memcmp(ys, yu, B * ny * 4) == 0);
        CU_ASSERT(memcmp(dxs, dxu, B * nx * 4) == 0);
        GAD_ASSERT_OK(gad_plan_forward(probe, x, ys, &e), e);
        CU_ASSERT(gad_test_rel_err(ys, yu, ny, 1e-6) < 1e-5);
        /* new weights: the donor's reload reaches what is shared; each
         * sharer reloads what it holds itself (the probe's forward-only
         * layouts may differ from the donor's) */
        for (size_t i = 0; i < g->params[0].count; i++) g->params[0].data[i] *= -2.f;
        GAD_ASSERT_OK(gad_plan_load_weights(donor, g, &e), e);
        GAD_ASSERT_OK(gad_plan_load_weights(own, g, &e), e);
        GAD_ASSERT_OK(gad_plan_load_weights(shared, g, &e), e);
        GAD_ASSERT_OK(gad_plan_load_weights(probe, g, &e), e);
    }
    /* a donor of another model is refused */
    rng_seed(126);
    gad_graph *g2 = residual_net();
    CU_ASSERT_EQUAL_FATAL(tb_finish(g2, g2->output), 0);
    gad_plan *bad = NULL;
    CU_ASSERT_EQUAL(gad_plan_create_shared(g2, 1, GAD_PLAN_FORWARD, donor, &bad, &e), GAD_EINVAL);
    CU_ASSERT_PTR_NULL(bad);
    gad_plan_free(probe);
    gad_plan_free(shared);
    gad_plan_free(own);
    gad_plan_free(donor);
    free(x), free(rr), free(ys), free(yu), free(dxs), free(dxu);
    gad_graph_free(g2);
    gad_graph_free(g);
}

/* Add(a, b) where a is also read by a node that runs after b's producer:
 * the gradients of a and b must stay separate buffers even though both
 * come from the same Add output gradient. */
static void test_add_inputs_separate(void) {
    rng_seed(130);
    gad_graph *g = tb_new(4, 6, 6);
    int a = tb_conv(g, g->input, 4, 16, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    int b = tb_conv(g, g->input, 4, 16, 1, 1, 1, 1, NULL, 1, 1, 1, 1);
    int c = tb_conv(g, a, 16, 16, 3, 3, 1, 1, P1, 1, 1, 1, 1);
    int s = tb_binary(g, GAD_OP_ADD, a, b);
    int o = tb_binary(g, GAD_OP_ADD, s, c);
    o = tb_conv(g, o, 16, 3, 1, 1, 1, 1, NULL, 1, 1, 1, 1);
    CU_ASSERT_EQUAL_FATAL(tb_finish(g, o), 0);
    check_graph(g, 1, SMOOTH);
}

void gad_test_register_plan(void) {
    static const gad_test_case t[] = {
        {"conv_basic", test_conv_basic},
        {"conv_stride_pad_dilation", test_conv_stride_pad_dilation},
        {"conv_groups", test_conv_groups},
        {"conv_wide_depthwise", test_conv_wide_depthwise},
        {"eltwise", test_eltwise},
        {"maxpool", test_maxpool},
        {"avgpool", test_avgpool},
        {"gap_flatten_gemm", test_gap_flatten_gemm},
        {"flatten_spatial_gemm", test_flatten_spatial_gemm},
        {"residual", test_residual},
        {"conv_winograd", test_conv_winograd},
        {"split_head", test_split_head},
        {"concat", test_concat},
        {"shared_weights", test_shared_weights},
        {"batch_and_repeat", test_batch_and_repeat},
        {"guided", test_guided},
        {"guided_differs", test_guided_differs},
        {"errors", test_errors},
        {"shape_errors", test_shape_errors},
        {"shape_rules", test_shape_rules},
        {"unsupported_avg_ceil", test_unsupported_avg_ceil},
        {"torch_reference", test_torch_reference},
        {"threads", test_threads},
        {"resnet_block", test_resnet_block},
        {"add_inputs_separate", test_add_inputs_separate},
        {0, 0},
    };
    gad_test_add_suite("plan", t);
}
