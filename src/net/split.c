/* gad_graph_split_head: a model's first Conv as a graph of its own and the
 * rest as another, both reading the model's weights (see graph.h). */
#include <stdlib.h>
#include <string.h>

#include "net/graph.h"

/* A copy of node n of `from` into g with its inputs and output renumbered
 * by map (value index in from -> in g). */
static int copy_node(gad_graph *g, const gad_node *n, const int *map) {
    int in[8] = {0}, *pin = n->n_in <= 8 ? in : malloc((size_t)n->n_in * sizeof *pin);
    if (!pin) return -1;
    for (int i = 0; i < n->n_in; i++) pin[i] = map[n->in[i]];
    int k = gad_graph_add_node(g, n->op, n->name, n->onnx_op, n->n_in, pin, map[n->out]);
    if (pin != in) free(pin);
    if (k < 0) return -1;
    /* the scalar fields; the builder's own name, op and input arrays stay */
    gad_node *c = &g->nodes[k];
    char *name = c->name, *onnx_op = c->onnx_op;
    int *cin = c->in, cout = c->out;
    *c = *n;
    c->name = name, c->onnx_op = onnx_op, c->in = cin, c->out = cout;
    return 0;
}

static gad_graph *start(const gad_graph *g) {
    gad_graph *s = gad_graph_new(g->path);
    if (s && gad_graph_share_params(s, g)) {
        gad_graph_free(s);
        return NULL;
    }
    if (s) s->had_softmax = g->had_softmax;
    return s;
}

int gad_graph_split_head(const gad_graph *g, gad_graph **head, gad_graph **body, gad_err *err) {
    *head = *body = NULL;
    if (g->n_nodes < 2 || g->input < 0 || g->output < 0) return 0;
    const gad_node *n0 = &g->nodes[0];
    if (n0->op != GAD_OP_CONV || n0->n_in != 1 || n0->in[0] != g->input || n0->out == g->output ||
        g->values[g->input].n_consumers != 1 || g->values[n0->out].shape.nd != 3)
        return 0;
    int *map = malloc((size_t)g->n_values * sizeof *map);
    gad_graph *h = start(g), *b = start(g);
    if (!map || !h || !b) goto nomem;

    /* head: image -> the Conv's output */
    for (int v = 0; v < g->n_values; v++) map[v] = -1;
    map[g->input] = gad_graph_add_value(h, g->values[g->input].name);
    map[n0->out] = gad_graph_add_value(h, g->values[n0->out].name);
    if (map[g->input] < 0 || map[n0->out] < 0 || copy_node(h, n0, map)) goto nomem;
    h->input = map[g->input];
    h->output = map[n0->out];
    h->in_c = g->in_c, h->in_h = g->in_h, h->in_w = g->in_w;

    /* body: every other value and node, in order */
    for (int v = 0; v < g->n_values; v++) {
        map[v] = -1;
        if (v != g->input && (map[v] = gad_graph_add_value(b, g->values[v].name)) < 0) goto nomem;
    }
    for (int k = 1; k < g->n_nodes; k++)
        if (copy_node(b, &g->nodes[k], map)) goto nomem;
    b->input = map[n0->out];
    b->output = map[g->output];
    const gad_shape *zs = &g->values[n0->out].shape;
    b->in_c = zs->d[0], b->in_h = zs->d[1], b->in_w = zs->d[2];
    free(map);
    map = NULL;
    int rc = gad_graph_infer_shapes(h, err);
    if (!rc) rc = gad_graph_infer_shapes(b, err);
    if (rc) {
        gad_graph_free(h);
        gad_graph_free(b);
        return rc;
    }
    *head = h;
    *body = b;
    return 1;
nomem:
    free(map);
    gad_graph_free(h);
    gad_graph_free(b);
    return gad_err_set(err, GAD_ENOMEM, "%s: out of memory splitting the model's first layer", g->path);
}
