/* Execution plans: the graph compiled once into oneDNN step lists.
 *
 * Lists (each built at creation, run many times):
 *   load  - model parameters -> the plan's weight memories (chosen layouts)
 *   in    - user x (plain NCHW) -> the input value's layout
 *   fwd   - every node in graph order
 *   out   - output value -> user logits (plain)
 *   dlog  - user dlogits -> the output's gradient
 *   bwd   - every node in reverse order, gradients accumulated per value
 *   dx    - input gradient -> user dx (plain NCHW)
 * A value read by several nodes gets the gradient of its last reader (in
 * graph order) written directly; the others are added to it. Every gradient
 * is fully rewritten by each backward, so nothing accumulates across calls.
 * An Add passes its output gradient on unchanged, so one of its inputs
 * takes over that buffer instead of a copy: the output gradient is dead once
 * the Add's backward is done (only its producer reads it).
 *
 * The plan keeps a pointer to the model for names and shapes: the model must
 * outlive its plans. */
#include <stdlib.h>
#include <string.h>

#include "gad/plan.h"
#include "net/dnnl.h"
#include "net/graph.h"

struct gad_plan {
    const gad_graph *g;
    gad_dnn *d;
    int batch;
    unsigned flags;
    int guided, have_fwd, have_bwd;
    int l_load, l_in, l_fwd, l_out, l_dlog, l_bwd, l_dx;
    int x_user, logits_user, dlogits_user, dx_user;
    int *pg_user, *pg_list; /* per model parameter */
};

static int plan_fail(gad_plan *p, int rc) {
    gad_plan_free(p);
    return rc;
}

static int load(gad_plan *p, const gad_graph *m, gad_err *err) {
    for (int k = 0; k < p->g->n_nodes; k++) {
        const gad_node *n = &p->g->nodes[k];
        if (n->op != GAD_OP_CONV && n->op != GAD_OP_GEMM) continue;
        gad_dnn_set_handle(p->d, gad_dnn_param_user_mem(p->d, k, 0), m->params[n->weight].data);
        if (n->bias >= 0)
            gad_dnn_set_handle(p->d, gad_dnn_param_user_mem(p->d, k, 1), m->params[n->bias].data);
    }
    return gad_dnn_run(p->d, p->l_load, 0, err);
}

/* Value v's dims with the batch: (N,C,H,W) or (N,F). */
static int bdims(const gad_plan *p, int v, int *dims) {
    const gad_shape *s = &p->g->values[v].shape;
    dims[0] = p->batch;
    for (int i = 0; i < s->nd; i++) dims[1 + i] = s->d[i];
    return s->nd + 1;
}

static int shapes_ready(const gad_graph *g, gad_err *err) {
    if (g->input < 0 || g->input >= g->n_values || g->output < 0 || g->output >= g->n_values)
        return gad_err_set(err, GAD_ESTATE, "%s: plan: graph has no input or output", g->path);
    const gad_shape *is = &g->values[g->input].shape;
    if (is->nd != 3 || is->d[0] != g->in_c || is->d[1] != g->in_h || is->d[2] != g->in_w)
        return gad_err_set(err, GAD_ESTATE, "%s: plan: shapes are not inferred (input size %dx%d)",
                           g->path, g->in_h, g->in_w);
    for (int k = 0; k < g->n_nodes; k++) {
        const gad_node *n = &g->nodes[k];
        if (n->out < 0 || n->out >= g->n_values || g->values[n->out].shape.nd == 0)
            return gad_err_set(err, GAD_ESTATE, "%s: plan: node '%s' (%s) has no inferred shape",
                               g->path, n->name, gad_op_name(n->op));
    }
    return 0;
}

int gad_plan_create(const gad_model *m, int batch, unsigned flags, gad_plan **out, gad_err *err) {
    return gad_plan_create_shared(m, batch, flags, NULL, out, err);
}

int gad_plan_create_shared(const gad_model *m, int batch, unsigned flags, const gad_plan *donor,
                           gad_plan **out, gad_err *err) {
    if (out) *out = NULL;
    if (!m || !out) return gad_err_set(err, GAD_EINVAL, "gad_plan_create: no model or output");
    const gad_graph *g = m;
    if (batch <= 0)
        return gad_err_set(err, GAD_EINVAL, "%s: plan: batch %d must be positive", g->path, batch);
    if (flags & ~(unsigned)(GAD_PLAN_BACKWARD_DATA | GAD_PLAN_BACKWARD_WEIGHTS | GAD_PLAN_BF16))
        return gad_err_set(err, GAD_EINVAL, "%s: plan: unknown flags 0x%x", g->path, flags);
    int rc = shapes_ready(g, err);
    if (rc) return rc;
    int bwd = (flags & ~(unsigned)GAD_PLAN_BF16) != 0, wts = (flags & GAD_PLAN_BACKWARD_WEIGHTS) != 0;

    gad_plan *p = calloc(1, sizeof *p);
    if (!p) return gad_err_set(err, GAD_ENOMEM, "%s: plan: out of memory", g->path);
    p->g = g;
    p->batch = batch;
    p->flags = flags;
    if ((rc = gad_dnn_create(g, batch, bwd, wts, &p->d, err))) return plan_fail(p, rc);
    gad_dnn *d = p->d;
    if ((flags & GAD_PLAN_BF16) && (rc = gad_dnn_set_bf16(d, err))) return plan_fail(p, rc);
    if (donor && gad_dnn_share_weights(d, donor->d))
        return plan_fail(p, gad_err_set(err, GAD_EINVAL, "%s: plan: the weight donor is a plan of another model",
                                        g->path));
    int *vm = malloc((size_t)(g->n_values + 1) * sizeof(int));
    int *dm = malloc((size_t)(g->n_values + 1) * sizeof(int));
    char *written = calloc((size_t)g->n_values + 1, 1);
    int maxin = 2;
    for (int k = 0; k < g->n_nodes; k++)
        if (g->nodes[k].n_in > maxin) maxin = g->nodes[k].n_in;
    int *tmp = malloc((size_t)maxin * 3 * sizeof(int));
    p->pg_user = malloc((size_t)(g->n_params + 1) * sizeof(int));
    p->pg_list = malloc((size_t)(g->n_params + 1) * sizeof(int));
    if (!vm || !dm || !written || !tmp || !p->pg_user || !p->pg_list) {
        rc = gad_err_set(err, GAD_ENOMEM, "%s: plan: out of memory", g->path);
        goto done;
    }
    for (int v = 0; v < g->n_values; v++) vm[v] = dm[v] = -1;
    for (int i = 0; i < g->n_params; i++) p->pg_user[i] = p->pg_list[i] = -1;
    p->l_load = gad_dnn_list_new(d);
    p->l_in = gad_dnn_list_new(d);
    p->l_fwd = gad_dnn_list_new(d);
    p->l_out = gad_dnn_list_new(d);
    p->l_dlog = gad_dnn_list_new(d);
    p->l_bwd = gad_dnn_list_new(d);
    p->l_dx = gad_dnn_list_new(d);
    int dims[4], nd;
    nd = bdims(p, g->input, dims);
    /* a feature map as input (a split model's body, see graph.h) is kept in
     * 16-channel blocks: left to its first reader, an element-wise op, it
     * would stay plain, and so would everything up to the next Conv, and an
     * Add of a plain and a blocked operand runs oneDNN's reference code */
    vm[g->input] = nd == 4 && dims[1] % 16 == 0 ? gad_dnn_mem_channel_blocked(d, nd, dims)
                                                 : gad_dnn_mem_undecided(d, nd, dims);
    p->x_user = gad_dnn_mem_plain(d, nd, dims, 1);
    if (p->l_dx < 0 || vm[g->input] < 0 || p->x_user < 0) {
        rc = gad_err_set(err, GAD_ENOMEM, "%s: plan: out of memory", g->path);
        goto done;
    }

    for (int k = 0; k < g->n_nodes; k++) {
        const gad_node *n = &g->nodes[k];
        for (int i = 0; i < n->n_in; i++) tmp[i] = vm[n->in[i]];
        if ((rc = gad_dnn_node_forward(d, k, p->l_fwd, p->l_load, tmp, &vm[n->out], err))) goto done;
    }
    if ((rc = gad_dnn_reorder(d, p->l_in, -1, p->x_user, vm[g->input], 0, err))) goto done;
    nd = bdims(p, g->output, dims);
    p->logits_user = gad_dnn_mem_plain(d, nd, dims, 1);
    if (p->logits_user < 0) {
        rc = gad_err_set(err, GAD_ENOMEM, "%s: plan: out of memory", g->path);
        goto done;
    }
    if ((rc = gad_dnn_reorder(d, p->l_out, -1, vm[g->output], p->logits_user, 0, err))) goto done;

    if (bwd) {
        /* gradient mems are made on first use (see ensure_diff) */
        p->dlogits_user = gad_dnn_mem_plain(d, nd, dims, 1);
        nd = bdims(p, g->input, dims);
        p->dx_user = gad_dnn_mem_plain(d, nd, dims, 1);
        if (p->dlogits_user < 0 || p->dx_user < 0) {
            rc = gad_err_set(err, GAD_ENOMEM, "%s: plan: out of memory", g->path);
            goto done;
        }
#define ENSURE_DIFF(v)                                                                             \
    do {                                                                                           \
        if (dm[v] < 0 && (dm[v] = gad_dnn_mem_like(d, vm[v])) < 0) {                              \
            rc = gad_err_set(err, GAD_ENOMEM, "%s: plan: out of memory", g->path);                 \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)
        ENSURE_DIFF(g->output);
        if ((rc = gad_dnn_reorder(d, p->l_dlog, -1, p->dlogits_user, dm[g->output], 0, err)))
            goto done;
        written[g->output] = 1;
        for (int k = g->n_nodes - 1; k >= 0; k--) {
            const gad_node *n = &g->nodes[k];
            int *direct = tmp, *grad = tmp + maxin;
            for (int i = 0; i < n->n_in; i++) {
                int v = n->in[i], dup = 0;
                for (int j = 0; j < i; j++) dup |= n->in[j] == v;
                direct[i] = -1;
                if (!written[v] && !dup && n->op != GAD_OP_ADD) {
                    ENSURE_DIFF(v);
                    direct[i] = dm[v];
                }
            }
            /* a value no node reads still needs a (zero) gradient */
            ENSURE_DIFF(n->out);
            if ((rc = gad_dnn_node_backward(d, k, p->l_bwd, dm[n->out], direct, grad, err))) goto done;
            if (n->op == GAD_OP_RELU && (rc = gad_dnn_guided_mask(d, p->l_bwd, k, grad[0], err)))
                goto done;
            int aliased = 0;
            for (int i = 0; i < n->n_in; i++) {
                int v = n->in[i];
                if (grad[i] == dm[v]) {
                    ;
                } else if (!written[v] && dm[v] < 0 && n->op == GAD_OP_ADD && !aliased &&
                           gad_dnn_same_layout(d, grad[i], vm[v])) {
                    /* only one input may take the buffer: the other's later
                     * accumulations would otherwise land in both */
                    if ((dm[v] = gad_dnn_mem_alias(d, grad[i])) < 0) {
                        rc = gad_err_set(err, GAD_ENOMEM, "%s: plan: out of memory", g->path);
                        goto done;
                    }
                    aliased = 1;
                } else if (!written[v]) {
                    ENSURE_DIFF(v);
                    rc = gad_dnn_reorder(d, p->l_bwd, k, grad[i], dm[v], 0, err);
                } else {
                    rc = gad_dnn_accumulate(d, p->l_bwd, k, dm[v], grad[i], err);
                }
                if (rc) goto done;
                written[v] = 1;
            }
        }
        ENSURE_DIFF(g->input);
#undef ENSURE_DIFF
        if ((rc = gad_dnn_reorder(d, p->l_dx, -1, dm[g->input], p->dx_user, 0, err))) goto done;
    }
    if (wts) {
        for (int k = 0; k < g->n_nodes; k++) {
            const gad_node *n = &g->nodes[k];
            if (n->op != GAD_OP_CONV && n->op != GAD_OP_GEMM) continue;
            for (int which = 0; which < 2; which++) {
                int pi = which ? n->bias : n->weight;
                if (pi < 0) continue;
                if (p->pg_list[pi] >= 0) {
                    rc = gad_err_set(err, GAD_EUNSUPPORTED,
                                     "%s: node '%s' (%s): parameter '%s' is shared by several "
                                     "nodes",
                                     g->path, n->name, gad_op_name(n->op), g->params[pi].name);
                    goto done;
                }
                if ((rc = gad_dnn_param_grad_list(d, k, which, &p->pg_user[pi], &p->pg_list[pi], err)))
                    goto done;
            }
        }
    }
    if ((rc = gad_dnn_finalize(d, err))) goto done;
    rc = load(p, g, err);
done:
    free(vm);
    free(dm);
    free(written);
    free(tmp);
    if (rc) return plan_fail(p, rc);
    *out = p;
    return 0;
}

void gad_plan_free(gad_plan *p) {
    if (!p) return;
    gad_dnn_free(p->d);
    free(p->pg_user);
    free(p->pg_list);
    free(p);
}

int gad_plan_batch(const gad_plan *p) { return p ? p->batch : 0; }

void gad_plan_set_guided(gad_plan *p, int on) {
    if (p) p->guided = on != 0;
}

size_t gad_plan_bytes(const gad_plan *p) { return p ? gad_dnn_bytes(p->d) : 0; }

int gad_plan_forward(gad_plan *p, const float *x, float *logits, gad_err *err) {
    if (!p || !x) return gad_err_set(err, GAD_EINVAL, "gad_plan_forward: no plan or input");
    /* reorders only read their source; the cast is for oneDNN's handle type */
    gad_dnn_set_handle(p->d, p->x_user, (void *)x);
    p->have_fwd = p->have_bwd = 0;
    int rc = gad_dnn_run(p->d, p->l_in, 0, err);
    if (!rc) rc = gad_dnn_run(p->d, p->l_fwd, 0, err);
    if (!rc && logits) {
        gad_dnn_set_handle(p->d, p->logits_user, logits);
        rc = gad_dnn_run(p->d, p->l_out, 0, err);
    }
    if (!rc) p->have_fwd = 1;
    return rc;
}

int gad_plan_backward(gad_plan *p, const float *dlogits, float *dx, gad_err *err) {
    if (!p || !dlogits) return gad_err_set(err, GAD_EINVAL, "gad_plan_backward: no plan or gradient");
    if (!(p->flags & (GAD_PLAN_BACKWARD_DATA | GAD_PLAN_BACKWARD_WEIGHTS)))
        return gad_err_set(err, GAD_ESTATE, "%s: plan was created for inference only (no backward flag)",
                           p->g->path);
    if (!p->have_fwd)
        return gad_err_set(err, GAD_ESTATE, "%s: backward called before forward", p->g->path);
    p->have_bwd = 0;
    gad_dnn_set_handle(p->d, p->dlogits_user, (void *)dlogits);
    int rc = gad_dnn_run(p->d, p->l_dlog, 0, err);
    if (!rc) rc = gad_dnn_run(p->d, p->l_bwd, p->guided ? GAD_DNN_GUIDED : 0, err);
    if (!rc && dx) {
        gad_dnn_set_handle(p->d, p->dx_user, dx);
        rc = gad_dnn_run(p->d, p->l_dx, 0, err);
    }
    if (!rc) p->have_bwd = 1;
    return rc;
}

int gad_plan_param_grad(gad_plan *p, int i, float *out, gad_err *err) {
    if (!p || !out) return gad_err_set(err, GAD_EINVAL, "gad_plan_param_grad: no plan or output");
    if (i < 0 || i >= p->g->n_params)
        return gad_err_set(err, GAD_EINVAL, "%s: parameter %d out of range (%d parameters)",
                           p->g->path, i, p->g->n_params);
    if (!(p->flags & GAD_PLAN_BACKWARD_WEIGHTS))
        return gad_err_set(err, GAD_ESTATE, "%s: plan was created without GAD_PLAN_BACKWARD_WEIGHTS",
                           p->g->path);
    if (p->pg_list[i] < 0)
        return gad_err_set(err, GAD_ENOTFOUND, "%s: parameter '%s' has no gradient in this plan",
                           p->g->path, p->g->params[i].name);
    if (!p->have_bwd)
        return gad_err_set(err, GAD_ESTATE, "%s: parameter gradient read before backward", p->g->path);
    gad_dnn_set_handle(p->d, p->pg_user[i], out);
    return gad_dnn_run(p->d, p->pg_list[i], 0, err);
}

int gad_plan_load_weights(gad_plan *p, const gad_model *m, gad_err *err) {
    if (!p || !m) return gad_err_set(err, GAD_EINVAL, "gad_plan_load_weights: no plan or model");
    const gad_graph *g = m;
    if (g->n_params != p->g->n_params)
        return gad_err_set(err, GAD_ESHAPE, "%s: has %d parameters, the plan's model %d", g->path,
                           g->n_params, p->g->n_params);
    for (int i = 0; i < g->n_params; i++)
        if (g->params[i].count != p->g->params[i].count)
            return gad_err_set(err, GAD_ESHAPE, "%s: parameter '%s' has %zu values, the plan expects %zu",
                               g->path, g->params[i].name, g->params[i].count, p->g->params[i].count);
    return load(p, g, err);
}
