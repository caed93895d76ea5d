/* Building and freeing the internal graph. Arrays grow by doubling; every
 * string and parameter is owned by the graph. */
#include "net/graph.h"

#include <stdlib.h>
#include <string.h>

static const char *const op_names[GAD_OP_COUNT_] = {
    [GAD_OP_CONV] = "Conv",
    [GAD_OP_RELU] = "Relu",
    [GAD_OP_LEAKY_RELU] = "LeakyRelu",
    [GAD_OP_CLIP] = "Clip",
    [GAD_OP_SIGMOID] = "Sigmoid",
    [GAD_OP_MAXPOOL] = "MaxPool",
    [GAD_OP_AVGPOOL] = "AveragePool",
    [GAD_OP_GLOBAL_AVGPOOL] = "GlobalAveragePool",
    [GAD_OP_FLATTEN] = "Flatten",
    [GAD_OP_GEMM] = "Gemm",
    [GAD_OP_ADD] = "Add",
    [GAD_OP_MUL_SCALAR] = "Mul",
    [GAD_OP_CONCAT] = "Concat",
};

const char *gad_op_name(gad_op op) {
    return (unsigned)op < GAD_OP_COUNT_ ? op_names[op] : "?";
}

static char *dupstr(const char *s) {
    if (!s) s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Grow *arr (element size sz) so that index n fits; capacity kept in *cap. */
static int grow(void **arr, int *cap, int n, size_t sz) {
    if (n < *cap) return 0;
    int nc = *cap ? *cap * 2 : 16;
    while (nc <= n) nc *= 2;
    void *p = realloc(*arr, (size_t)nc * sz);
    if (!p) return -1;
    memset((char *)p + (size_t)*cap * sz, 0, (size_t)(nc - *cap) * sz);
    *arr = p;
    *cap = nc;
    return 0;
}

/* Capacities live beside the public counts; kept private to this file. */
typedef struct graph_caps {
    int values, nodes, params;
} graph_caps;

typedef struct graph_alloc {
    gad_graph g;
    graph_caps cap;
    int borrowed; /* params' data belong to another graph (gad_graph_share_params) */
} graph_alloc;

gad_graph *gad_graph_new(const char *path) {
    graph_alloc *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->g.path = dupstr(path);
    a->g.input = a->g.output = -1;
    if (!a->g.path) {
        free(a);
        return NULL;
    }
    return &a->g;
}

static graph_caps *caps(gad_graph *g) { return &((graph_alloc *)g)->cap; }

int gad_graph_add_value(gad_graph *g, const char *name) {
    if (grow((void **)&g->values, &caps(g)->values, g->n_values, sizeof *g->values)) return -1;
    gad_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = dupstr(name);
    if (!v->name) return -1;
    v->producer = -1;
    return g->n_values++;
}

int gad_graph_add_param(gad_graph *g, const char *name, int nd, const int64_t *dims,
                        const float *data) {
    if (nd < 0 || nd > 4) return -1;
    if (grow((void **)&g->params, &caps(g)->params, g->n_params, sizeof *g->params)) return -1;
    gad_param *p = &g->params[g->n_params];
    memset(p, 0, sizeof *p);
    size_t count = 1;
    for (int i = 0; i < nd; i++) {
        if (dims[i] <= 0 || (size_t)dims[i] > ((size_t)1 << 40) / count) return -1;
        p->dims[i] = dims[i];
        count *= (size_t)dims[i];
    }
    p->nd = nd;
    p->count = count;
    p->name = dupstr(name);
    p->data = malloc(count * sizeof(float));
    if (!p->name || !p->data) {
        free(p->name);
        free(p->data);
        return -1;
    }
    if (data)
        memcpy(p->data, data, count * sizeof(float));
    else
        memset(p->data, 0, count * sizeof(float));
    return g->n_params++;
}

int gad_graph_share_params(gad_graph *g, const gad_graph *from) {
    graph_alloc *a = (graph_alloc *)g;
    if (g->n_params || from->n_params <= 0) return g->n_params || from->n_params < 0 ? -1 : 0;
    g->params = calloc((size_t)from->n_params, sizeof *g->params);
    if (!g->params) return -1;
    a->cap.params = from->n_params;
    a->borrowed = 1;
    for (int i = 0; i < from->n_params; i++) {
        g->params[i] = from->params[i];
        g->params[i].name = dupstr(from->params[i].name);
        g->n_params = i + 1; /* so that free releases the names made so far */
        if (!g->params[i].name) return -1;
    }
    return 0;
}

int gad_graph_add_node(gad_graph *g, gad_op op, const char *name, const char *onnx_op,
                       int n_in, const int *in, int out) {
    if (grow((void **)&g->nodes, &caps(g)->nodes, g->n_nodes, sizeof *g->nodes)) return -1;
    gad_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = dupstr(name);
    n->onnx_op = dupstr(onnx_op ? onnx_op : gad_op_name(op));
    n->in = malloc((size_t)(n_in > 0 ? n_in : 1) * sizeof(int));
    if (!n->name || !n->onnx_op || !n->in) {
        free(n->name);
        free(n->onnx_op);
        free(n->in);
        return -1;
    }
    if (n_in > 0) memcpy(n->in, in, (size_t)n_in * sizeof(int));
    n->n_in = n_in;
    n->out = out;
    n->weight = n->bias = -1;
    n->group = 1;
    n->stride[0] = n->stride[1] = 1;
    n->dilation[0] = n->dilation[1] = 1;
    return g->n_nodes++;
}

void gad_graph_free(gad_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n_values; i++) free(g->values[i].name);
    for (int i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i].name);
        free(g->nodes[i].onnx_op);
        free(g->nodes[i].in);
    }
    for (int i = 0; i < g->n_params; i++) {
        free(g->params[i].name);
        if (!((graph_alloc *)g)->borrowed) free(g->params[i].data);
    }
    free(g->values);
    free(g->nodes);
    free(g->params);
    free(g->path);
    free(g->producer);
    free(g->input_name);
    free(g->output_name);
    free((graph_alloc *)g);
}
