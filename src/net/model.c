/* Public model queries over the internal graph (gad_model is gad_graph). */
#include <stdlib.h>
#include <string.h>

#include "net/graph.h"

void gad_model_free(gad_model *m) { gad_graph_free(m); }

static char *dup_or_null(const char *s, int *fail) {
    if (!s) return NULL;
    char *d = malloc(strlen(s) + 1);
    if (!d) {
        *fail = 1;
        return NULL;
    }
    return strcpy(d, s);
}

/* Rebuilt through the graph builder so the copy owns fresh arrays with the
 * builder's private capacity bookkeeping. */
int gad_model_clone(const gad_model *m, gad_model **out, gad_err *err) {
    if (out) *out = NULL;
    if (!m || !out) return gad_err_set(err, GAD_EINVAL, "gad_model_clone: model and out are required");
    gad_graph *g = gad_graph_new(m->path);
    if (!g) goto nomem;
    int fail = 0;
    g->opset = m->opset;
    g->producer = dup_or_null(m->producer, &fail);
    g->input_name = dup_or_null(m->input_name, &fail);
    g->output_name = dup_or_null(m->output_name, &fail);
    if (fail) goto nomem;
    g->input = m->input;
    g->output = m->output;
    g->in_c = m->in_c, g->in_h = m->in_h, g->in_w = m->in_w;
    g->free_hw = m->free_hw;
    g->had_softmax = m->had_softmax;
    for (int i = 0; i < m->n_values; i++) {
        if (gad_graph_add_value(g, m->values[i].name) != i) goto nomem;
        g->values[i].shape = m->values[i].shape;
        g->values[i].producer = m->values[i].producer;
        g->values[i].n_consumers = m->values[i].n_consumers;
    }
    for (int i = 0; i < m->n_params; i++) {
        const gad_param *p = &m->params[i];
        if (gad_graph_add_param(g, p->name, p->nd, p->dims, p->data) != i) goto nomem;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        const gad_node *n = &m->nodes[i];
        if (gad_graph_add_node(g, n->op, n->name, n->onnx_op, n->n_in, n->in, n->out) != i) goto nomem;
        gad_node *c = &g->nodes[i];
        /* scalar fields; the owned pointers stay the builder's */
        char *name = c->name, *onnx_op = c->onnx_op;
        int *in = c->in;
        *c = *n;
        c->name = name, c->onnx_op = onnx_op, c->in = in;
    }
    *out = g;
    return 0;
nomem:
    gad_graph_free(g);
    return gad_err_set(err, GAD_ENOMEM, "%s: out of memory copying the model", m->path);
}

void gad_model_input_dims(const gad_model *m, int *c, int *h, int *w) {
    if (c) *c = m ? m->in_c : 0;
    if (h) *h = m ? m->in_h : 0;
    if (w) *w = m ? m->in_w : 0;
}

int gad_model_set_input_size(gad_model *m, int h, int w, gad_err *err) {
    if (!m) return gad_err_set(err, GAD_EINVAL, "gad_model_set_input_size: no model");
    if (h <= 0 || w <= 0 || h > 65536 || w > 65536)
        return gad_err_set(err, GAD_EINVAL, "%s: input size %dx%d is invalid", m->path, h, w);
    if (!m->free_hw) {
        if (h != m->in_h || w != m->in_w)
            return gad_err_set(err, GAD_ESHAPE, "%s: the model's input size is fixed at %dx%d; cannot use %dx%d",
                               m->path, m->in_h, m->in_w, h, w);
        return 0;
    }
    int oh = m->in_h, ow = m->in_w;
    m->in_h = h, m->in_w = w;
    int rc = gad_graph_infer_shapes(m, err);
    if (rc) {
        /* keep the model as it was: shapes of the previous size, if any */
        m->in_h = oh, m->in_w = ow;
        if (oh > 0) gad_graph_infer_shapes(m, NULL);
    }
    return rc;
}

int gad_model_num_classes(const gad_model *m) {
    if (!m || m->output < 0 || m->output >= m->n_values) return 0;
    const gad_shape *s = &m->values[m->output].shape;
    int64_t k = s->nd ? 1 : 0;
    for (int i = 0; i < s->nd; i++) k *= s->d[i];
    return k > 0 && k <= INT32_MAX ? (int)k : 0;
}

const char *gad_model_name(const gad_model *m) { return m ? m->path : NULL; }

int gad_model_had_softmax(const gad_model *m) { return m ? m->had_softmax : 0; }

int gad_model_num_layers(const gad_model *m) { return m ? m->n_nodes : 0; }

int gad_model_layer(const gad_model *m, int i, gad_layer_info *info) {
    if (!m || !info || i < 0 || i >= m->n_nodes) return GAD_EINVAL;
    const gad_node *n = &m->nodes[i];
    const gad_shape *s = &m->values[n->out].shape;
    memset(info, 0, sizeof *info);
    info->name = n->name;
    info->op = gad_op_name(n->op);
    info->onnx_op = n->onnx_op;
    info->out_nd = s->nd;
    for (int k = 0; k < s->nd && k < 3; k++) info->out_dims[k] = s->d[k];
    info->params = gad_node_params(m, i);
    info->flops = gad_node_flops(m, i);
    return 0;
}

/* Counted per parameter, so a tensor shared by two nodes counts once. */
int64_t gad_model_total_params(const gad_model *m) {
    int64_t t = 0;
    for (int i = 0; m && i < m->n_params; i++) t += (int64_t)m->params[i].count;
    return t;
}

int64_t gad_model_total_flops(const gad_model *m) {
    int64_t t = 0;
    for (int i = 0; m && i < m->n_nodes; i++) t += gad_node_flops(m, i);
    return t;
}

int gad_model_num_params(const gad_model *m) { return m ? m->n_params : 0; }

int gad_model_param(const gad_model *m, int i, gad_param_info *info) {
    if (!m || !info || i < 0 || i >= m->n_params) return GAD_EINVAL;
    const gad_param *p = &m->params[i];
    memset(info, 0, sizeof *info);
    info->name = p->name;
    info->nd = p->nd;
    for (int k = 0; k < p->nd && k < 4; k++) info->dims[k] = p->dims[k];
    info->count = p->count;
    info->data = p->data;
    return 0;
}
