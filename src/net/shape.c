/* Shape inference, parameter counts and FLOP counts for the internal graph.
 *
 * Pooling output sizes follow PyTorch's pooling_output_shape exactly (which is
 * also what ONNX exporters rely on): with ceil_mode the division rounds up,
 * but a last window that would start entirely in the right padding is
 * dropped, so every window overlaps the input or the left padding. */
#include "net/graph.h"

#include <stdint.h>
#include <stdio.h>

#define NODE_FMT "%s: node '%s' (%s): "
#define NODE_ARGS(g, n) (g)->path, (n)->name, gad_op_name((n)->op)

/* Output extent of one spatial axis; -1 when the window does not fit. */
static int64_t pool_extent(int64_t in, int pl, int pr, int k, int s, int dil, int ceil_mode) {
    int64_t span = (int64_t)dil * (k - 1) + 1;
    int64_t num = in + pl + pr - span;
    if (num < 0) return -1;
    int64_t out = (num + (ceil_mode ? s - 1 : 0)) / s + 1;
    if (ceil_mode && (out - 1) * s >= in + pl) out--;
    return out;
}

static int shape_equal(const gad_shape *a, const gad_shape *b) {
    if (a->nd != b->nd) return 0;
    for (int i = 0; i < a->nd; i++)
        if (a->d[i] != b->d[i]) return 0;
    return 1;
}

static void shape_str(const gad_shape *s, char *buf, size_t n) {
    if (s->nd == 3)
        snprintf(buf, n, "(%d,%d,%d)", s->d[0], s->d[1], s->d[2]);
    else if (s->nd == 1)
        snprintf(buf, n, "(%d)", s->d[0]);
    else
        snprintf(buf, n, "(?)");
}

static int check_window(const gad_graph *g, const gad_node *n, gad_err *err) {
    for (int a = 0; a < 2; a++) {
        if (n->stride[a] <= 0 || n->dilation[a] <= 0 || n->kernel[a] <= 0)
            return gad_err_set(err, GAD_ESHAPE,
                               NODE_FMT "kernel %dx%d, stride %dx%d, dilation %dx%d must be positive",
                               NODE_ARGS(g, n), n->kernel[0], n->kernel[1], n->stride[0],
                               n->stride[1], n->dilation[0], n->dilation[1]);
    }
    for (int a = 0; a < 4; a++)
        if (n->pad[a] < 0)
            return gad_err_set(err, GAD_ESHAPE, NODE_FMT "negative padding %d", NODE_ARGS(g, n),
                               n->pad[a]);
    return 0;
}

/* Spatial output of a conv or pool window; fills oh, ow. */
static int window_out(const gad_graph *g, const gad_node *n, const gad_shape *in, int ceil_mode,
                      int *oh, int *ow, gad_err *err) {
    int64_t h = pool_extent(in->d[1], n->pad[0], n->pad[2], n->kernel[0], n->stride[0],
                            n->dilation[0], ceil_mode);
    int64_t w = pool_extent(in->d[2], n->pad[1], n->pad[3], n->kernel[1], n->stride[1],
                            n->dilation[1], ceil_mode);
    if (h < 1 || w < 1)
        return gad_err_set(err, GAD_ESHAPE,
                           NODE_FMT "window %dx%d (dilation %dx%d) is larger than the padded "
                                    "input %dx%d",
                           NODE_ARGS(g, n), n->kernel[0], n->kernel[1], n->dilation[0],
                           n->dilation[1], in->d[1] + n->pad[0] + n->pad[2],
                           in->d[2] + n->pad[1] + n->pad[3]);
    if (h > INT32_MAX || w > INT32_MAX)
        return gad_err_set(err, GAD_ELIMIT, NODE_FMT "output too large", NODE_ARGS(g, n));
    *oh = (int)h;
    *ow = (int)w;
    return 0;
}

static const gad_param *node_param(const gad_graph *g, int idx) {
    return (idx >= 0 && idx < g->n_params) ? &g->params[idx] : NULL;
}

static int infer_node(gad_graph *g, gad_node *n, gad_err *err) {
    static const int want_in[GAD_OP_COUNT_] = {
        [GAD_OP_CONV] = 1, [GAD_OP_RELU] = 1, [GAD_OP_LEAKY_RELU] = 1,
        [GAD_OP_CLIP] = 1, [GAD_OP_SIGMOID] = 1, [GAD_OP_MAXPOOL] = 1,
        [GAD_OP_AVGPOOL] = 1, [GAD_OP_GLOBAL_AVGPOOL] = 1, [GAD_OP_FLATTEN] = 1,
        [GAD_OP_GEMM] = 1, [GAD_OP_ADD] = 2, [GAD_OP_MUL_SCALAR] = 1,
        [GAD_OP_CONCAT] = -2, /* at least two */
    };
    if ((unsigned)n->op >= GAD_OP_COUNT_)
        return gad_err_set(err, GAD_EUNSUPPORTED, "%s: node '%s': unknown op %d", g->path,
                           n->name, (int)n->op);
    int w = want_in[n->op];
    if ((w > 0 && n->n_in != w) || (w < 0 && n->n_in < -w))
        return gad_err_set(err, GAD_EFORMAT, NODE_FMT "has %d inputs, expected %s%d",
                           NODE_ARGS(g, n), n->n_in, w < 0 ? "at least " : "", w < 0 ? -w : w);
    for (int i = 0; i < n->n_in; i++) {
        int v = n->in[i];
        if (v < 0 || v >= g->n_values)
            return gad_err_set(err, GAD_EFORMAT, NODE_FMT "input %d refers to no value",
                               NODE_ARGS(g, n), i);
        if (g->values[v].shape.nd == 0)
            return gad_err_set(err, GAD_EFORMAT,
                               NODE_FMT "input '%s' is not defined before this node (dangling "
                                        "input or nodes not in topological order)",
                               NODE_ARGS(g, n), g->values[v].name);
    }
    if (n->out < 0 || n->out >= g->n_values)
        return gad_err_set(err, GAD_EFORMAT, NODE_FMT "output refers to no value", NODE_ARGS(g, n));
    gad_value *ov = &g->values[n->out];
    if (ov->shape.nd != 0)
        return gad_err_set(err, GAD_EFORMAT, NODE_FMT "output '%s' is already defined",
                           NODE_ARGS(g, n), ov->name);

    const gad_shape *in = &g->values[n->in[0]].shape;
    gad_shape out = *in;
    char sa[64], sb[64];
    switch (n->op) {
    case GAD_OP_CONV: {
        if (in->nd != 3)
            return gad_err_set(err, GAD_ESHAPE, NODE_FMT "input must be (C,H,W)", NODE_ARGS(g, n));
        const gad_param *wt = node_param(g, n->weight);
        if (!wt || wt->nd != 4)
            return gad_err_set(err, GAD_EFORMAT, NODE_FMT "needs a 4-D weight", NODE_ARGS(g, n));
        const gad_param *b = n->bias >= 0 ? node_param(g, n->bias) : NULL;
        if (n->bias >= 0 && (!b || b->nd != 1 || b->dims[0] != wt->dims[0]))
            return gad_err_set(err, GAD_EFORMAT, NODE_FMT "bias must have %lld entries",
                               NODE_ARGS(g, n), (long long)wt->dims[0]);
        int c = in->d[0];
        if (n->group <= 0 || c % n->group || wt->dims[0] % n->group)
            return gad_err_set(err, GAD_ESHAPE,
                               NODE_FMT "group %d does not divide %d input channels and %lld "
                                        "output channels",
                               NODE_ARGS(g, n), n->group, c, (long long)wt->dims[0]);
        if (wt->dims[1] * n->group != c)
            return gad_err_set(err, GAD_ESHAPE,
                               NODE_FMT "weight expects %lld input channels, input has %d",
                               NODE_ARGS(g, n), (long long)(wt->dims[1] * n->group), c);
        if (wt->dims[0] > INT32_MAX || wt->dims[2] > INT32_MAX || wt->dims[3] > INT32_MAX)
            return gad_err_set(err, GAD_ELIMIT, NODE_FMT "weight too large", NODE_ARGS(g, n));
        n->kernel[0] = (int)wt->dims[2];
        n->kernel[1] = (int)wt->dims[3];
        int rc = check_window(g, n, err);
        if (rc) return rc;
        out.nd = 3;
        out.d[0] = (int)wt->dims[0];
        rc = window_out(g, n, in, 0, &out.d[1], &out.d[2], err);
        if (rc) return rc;
        break;
    }
    case GAD_OP_RELU:
    case GAD_OP_LEAKY_RELU:
    case GAD_OP_SIGMOID:
    case GAD_OP_MUL_SCALAR:
        break;
    case GAD_OP_CLIP:
        if (!(n->alpha <= n->beta))
            return gad_err_set(err, GAD_EVALUE, NODE_FMT "min %g is above max %g", NODE_ARGS(g, n),
                               n->alpha, n->beta);
        break;
    case GAD_OP_MAXPOOL:
    case GAD_OP_AVGPOOL: {
        if (in->nd != 3)
            return gad_err_set(err, GAD_ESHAPE, NODE_FMT "input must be (C,H,W)", NODE_ARGS(g, n));
        if (n->op == GAD_OP_AVGPOOL && (n->dilation[0] != 1 || n->dilation[1] != 1))
            return gad_err_set(err, GAD_EUNSUPPORTED, NODE_FMT "dilated average pooling",
                               NODE_ARGS(g, n));
        int rc = check_window(g, n, err);
        if (rc) return rc;
        rc = window_out(g, n, in, n->ceil_mode, &out.d[1], &out.d[2], err);
        if (rc) return rc;
        break;
    }
    case GAD_OP_GLOBAL_AVGPOOL:
        if (in->nd != 3)
            return gad_err_set(err, GAD_ESHAPE, NODE_FMT "input must be (C,H,W)", NODE_ARGS(g, n));
        out.d[1] = out.d[2] = 1;
        break;
    case GAD_OP_FLATTEN:
        if (in->nd == 3) {
            int64_t f = (int64_t)in->d[0] * in->d[1] * in->d[2];
            if (f > INT32_MAX)
                return gad_err_set(err, GAD_ELIMIT, NODE_FMT "too many features", NODE_ARGS(g, n));
            out.nd = 1;
            out.d[0] = (int)f;
            out.d[1] = out.d[2] = 0;
        }
        break;
    case GAD_OP_GEMM: {
        if (in->nd != 1) {
            shape_str(in, sa, sizeof sa);
            return gad_err_set(err, GAD_ESHAPE,
                               NODE_FMT "input %s must be 1-D (a Flatten must come first)",
                               NODE_ARGS(g, n), sa);
        }
        const gad_param *wt = node_param(g, n->weight);
        if (!wt || wt->nd != 2)
            return gad_err_set(err, GAD_EFORMAT, NODE_FMT "needs a 2-D weight", NODE_ARGS(g, n));
        if (wt->dims[1] != in->d[0])
            return gad_err_set(err, GAD_ESHAPE,
                               NODE_FMT "weight expects %lld input features, input has %d",
                               NODE_ARGS(g, n), (long long)wt->dims[1], in->d[0]);
        const gad_param *b = n->bias >= 0 ? node_param(g, n->bias) : NULL;
        if (n->bias >= 0 && (!b || b->nd != 1 || b->dims[0] != wt->dims[0]))
            return gad_err_set(err, GAD_EFORMAT, NODE_FMT "bias must have %lld entries",
                               NODE_ARGS(g, n), (long long)wt->dims[0]);
        if (wt->dims[0] > INT32_MAX)
            return gad_err_set(err, GAD_ELIMIT, NODE_FMT "weight too large", NODE_ARGS(g, n));
        out.nd = 1;
        out.d[0] = (int)wt->dims[0];
        out.d[1] = out.d[2] = 0;
        break;
    }
    case GAD_OP_ADD: {
        const gad_shape *b = &g->values[n->in[1]].shape;
        if (!shape_equal(in, b)) {
            shape_str(in, sa, sizeof sa);
            shape_str(b, sb, sizeof sb);
            return gad_err_set(err, GAD_ESHAPE, NODE_FMT "operand shapes %s and %s differ",
                               NODE_ARGS(g, n), sa, sb);
        }
        break;
    }
    case GAD_OP_CONCAT: {
        int64_t c = 0;
        for (int i = 0; i < n->n_in; i++) {
            const gad_shape *s = &g->values[n->in[i]].shape;
            if (s->nd != 3 || s->d[1] != in->d[1] || s->d[2] != in->d[2]) {
                shape_str(in, sa, sizeof sa);
                shape_str(s, sb, sizeof sb);
                return gad_err_set(err, GAD_ESHAPE,
                                   NODE_FMT "input %d has shape %s, not (C,%d,%d) like %s",
                                   NODE_ARGS(g, n), i, sb, in->d[1], in->d[2], sa);
            }
            c += s->d[0];
        }
        if (c > INT32_MAX)
            return gad_err_set(err, GAD_ELIMIT, NODE_FMT "too many channels", NODE_ARGS(g, n));
        out.d[0] = (int)c;
        break;
    }
    default:
        return gad_err_set(err, GAD_EUNSUPPORTED, NODE_FMT "unsupported op", NODE_ARGS(g, n));
    }
    ov->shape = out;
    return 0;
}

int gad_graph_infer_shapes(gad_graph *g, gad_err *err) {
    if (!g) return gad_err_set(err, GAD_EINVAL, "gad_graph_infer_shapes: no graph");
    if (g->input < 0 || g->input >= g->n_values)
        return gad_err_set(err, GAD_EFORMAT, "%s: graph has no input", g->path);
    if (g->output < 0 || g->output >= g->n_values)
        return gad_err_set(err, GAD_EFORMAT, "%s: graph has no output", g->path);
    if (g->in_c <= 0 || g->in_h <= 0 || g->in_w <= 0)
        return gad_err_set(err, GAD_ESHAPE, "%s: input size %dx%dx%d is not set", g->path,
                           g->in_c, g->in_h, g->in_w);
    for (int v = 0; v < g->n_values; v++) {
        g->values[v].shape.nd = 0;
        g->values[v].producer = -1;
        g->values[v].n_consumers = 0;
    }
    gad_value *iv = &g->values[g->input];
    iv->shape.nd = 3;
    iv->shape.d[0] = g->in_c;
    iv->shape.d[1] = g->in_h;
    iv->shape.d[2] = g->in_w;
    for (int k = 0; k < g->n_nodes; k++) {
        gad_node *n = &g->nodes[k];
        int rc = infer_node(g, n, err);
        if (rc) {
            /* leave no half-annotated graph behind */
            for (int v = 0; v < g->n_values; v++) g->values[v].shape.nd = 0;
            return rc;
        }
        g->values[n->out].producer = k;
        for (int i = 0; i < n->n_in; i++) g->values[n->in[i]].n_consumers++;
    }
    if (g->values[g->output].shape.nd == 0) {
        const char *name = g->values[g->output].name;
        for (int v = 0; v < g->n_values; v++) g->values[v].shape.nd = 0;
        return gad_err_set(err, GAD_EFORMAT, "%s: output '%s' is produced by no node", g->path,
                           name);
    }
    g->values[g->output].n_consumers++;
    return 0;
}

int64_t gad_node_params(const gad_graph *g, int i) {
    if (!g || i < 0 || i >= g->n_nodes) return 0;
    const gad_node *n = &g->nodes[i];
    if (n->op != GAD_OP_CONV && n->op != GAD_OP_GEMM) return 0;
    int64_t c = 0;
    const gad_param *w = node_param(g, n->weight), *b = node_param(g, n->bias);
    if (w) c += (int64_t)w->count;
    if (b) c += (int64_t)b->count;
    return c;
}

static int64_t elems(const gad_shape *s) {
    int64_t e = s->nd ? 1 : 0;
    for (int i = 0; i < s->nd; i++) e *= s->d[i];
    return e;
}

/* FLOPs per image: a multiply-add counts 2 (conv, gemm), a bias add 1 per
 * output; pooling counts 1 per window element per output (comparison or
 * addition); eltwise, Add and Mul count 1 per output element; Flatten and
 * Concat move data only and count 0. */
int64_t gad_node_flops(const gad_graph *g, int i) {
    if (!g || i < 0 || i >= g->n_nodes) return 0;
    const gad_node *n = &g->nodes[i];
    if (n->out < 0 || n->out >= g->n_values || n->n_in < 1) return 0;
    const gad_shape *os = &g->values[n->out].shape;
    const gad_shape *is = &g->values[n->in[0]].shape;
    int64_t out = elems(os);
    switch (n->op) {
    case GAD_OP_CONV: {
        const gad_param *w = node_param(g, n->weight);
        if (!w || w->nd != 4) return 0;
        int64_t f = 2 * out * w->dims[1] * w->dims[2] * w->dims[3];
        if (n->bias >= 0) f += out;
        return f;
    }
    case GAD_OP_GEMM: {
        const gad_param *w = node_param(g, n->weight);
        if (!w || w->nd != 2) return 0;
        return 2 * w->dims[0] * w->dims[1] + (n->bias >= 0 ? w->dims[0] : 0);
    }
    case GAD_OP_MAXPOOL:
    case GAD_OP_AVGPOOL:
        return out * n->kernel[0] * n->kernel[1];
    case GAD_OP_GLOBAL_AVGPOOL:
        return elems(is);
    case GAD_OP_FLATTEN:
    case GAD_OP_CONCAT:
        return 0;
    default:
        return out;
    }
}
