/* Writing gad's graph back to ONNX (opset 13, IR 7): how support models
 * fine-tuned by GAD are saved so that PyTorch or any ONNX tool can load
 * them. The graph is already normalised (BatchNorm folded, no-ops gone), so
 * the file holds exactly what gad computes: Conv/Gemm with their current
 * parameters and the activation, pooling and merge nodes between them. A
 * Softmax removed at load is put back, so the file's inputs and outputs
 * match the original's.
 *
 * Every protobuf structure is allocated from one arena that is freed after
 * packing; the parameters are referenced, not copied, until packed. */
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "net/graph.h"
#include "onnx.pb-c.h"

typedef struct arena {
    void **blocks;
    size_t n, cap;
    int failed;
} arena;

static void *arena_alloc(arena *a, size_t size) {
    if (a->failed) return NULL;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 256;
        void **b = realloc(a->blocks, nc * sizeof *b);
        if (!b) {
            a->failed = 1;
            return NULL;
        }
        a->blocks = b;
        a->cap = nc;
    }
    void *p = calloc(1, size ? size : 1);
    if (!p) {
        a->failed = 1;
        return NULL;
    }
    return a->blocks[a->n++] = p;
}

static void arena_free(arena *a) {
    for (size_t i = 0; i < a->n; i++) free(a->blocks[i]);
    free(a->blocks);
}

static char *astr(arena *a, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = arena_alloc(a, n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- attributes ------------------------------------------------------ */

static Onnx__AttributeProto *attr_ints(arena *a, const char *name, const int *v, int n) {
    Onnx__AttributeProto *at = arena_alloc(a, sizeof *at);
    int64_t *ints = arena_alloc(a, (size_t)n * sizeof *ints);
    if (!at || !ints) return NULL;
    onnx__attribute_proto__init(at);
    at->name = astr(a, name);
    at->has_type = 1;
    at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    for (int i = 0; i < n; i++) ints[i] = v[i];
    at->n_ints = (size_t)n;
    at->ints = ints;
    return at;
}

static Onnx__AttributeProto *attr_int(arena *a, const char *name, int64_t v) {
    Onnx__AttributeProto *at = arena_alloc(a, sizeof *at);
    if (!at) return NULL;
    onnx__attribute_proto__init(at);
    at->name = astr(a, name);
    at->has_type = 1;
    at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    at->has_i = 1;
    at->i = v;
    return at;
}

static Onnx__AttributeProto *attr_float(arena *a, const char *name, float v) {
    Onnx__AttributeProto *at = arena_alloc(a, sizeof *at);
    if (!at) return NULL;
    onnx__attribute_proto__init(at);
    at->name = astr(a, name);
    at->has_type = 1;
    at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    at->has_f = 1;
    at->f = v;
    return at;
}

/* ---- tensors and value infos ----------------------------------------- */

static Onnx__TensorProto *tensor(arena *a, const char *name, int nd, const int64_t *dims, const float *data,
                                 size_t count) {
    Onnx__TensorProto *t = arena_alloc(a, sizeof *t);
    int64_t *d = arena_alloc(a, (size_t)(nd ? nd : 1) * sizeof *d);
    if (!t || !d) return NULL;
    onnx__tensor_proto__init(t);
    t->name = astr(a, name);
    if (nd) memcpy(d, dims, (size_t)nd * sizeof *d);
    t->n_dims = (size_t)nd;
    t->dims = d;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    /* raw_data is little-endian float32, the host layout on every target */
    t->has_raw_data = 1;
    t->raw_data.len = count * sizeof(float);
    t->raw_data.data = (uint8_t *)data;
    return t;
}

/* dims: a value, or -1 for a symbolic dim named by `sym`. */
static Onnx__ValueInfoProto *value_info(arena *a, const char *name, int nd, const int64_t *dims,
                                        const char *const *sym) {
    Onnx__ValueInfoProto *vi = arena_alloc(a, sizeof *vi);
    Onnx__TypeProto *tp = arena_alloc(a, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = arena_alloc(a, sizeof *tt);
    Onnx__TensorShapeProto *sh = arena_alloc(a, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dv = arena_alloc(a, (size_t)nd * sizeof *dv);
    if (!vi || !tp || !tt || !sh || !dv) return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i < nd; i++) {
        if (!(dv[i] = arena_alloc(a, sizeof *dv[i]))) return NULL;
        onnx__tensor_shape_proto__dimension__init(dv[i]);
        if (dims[i] >= 0) {
            dv[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dv[i]->dim_value = dims[i];
        } else {
            dv[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dv[i]->dim_param = astr(a, sym[i]);
        }
    }
    sh->n_dim = (size_t)nd;
    sh->dim = dv;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = astr(a, name);
    vi->type = tp;
    return vi;
}

/* ---- nodes ----------------------------------------------------------- */

typedef struct builder {
    arena *a;
    Onnx__NodeProto **nodes;
    size_t n_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits;
    float *scalars; /* values of the small constants we add (Clip, Mul) */
    size_t n_scalars;
} builder;

static Onnx__NodeProto *node(builder *b, const char *op, const char *name, int n_in, const char **in,
                             const char *out) {
    arena *a = b->a;
    Onnx__NodeProto *nd = arena_alloc(a, sizeof *nd);
    char **ins = arena_alloc(a, (size_t)n_in * sizeof *ins), **outs = arena_alloc(a, sizeof *outs);
    Onnx__AttributeProto **at = arena_alloc(a, 8 * sizeof *at);
    if (!nd || !ins || !outs || !at) return NULL;
    onnx__node_proto__init(nd);
    nd->op_type = astr(a, op);
    nd->name = astr(a, name);
    for (int i = 0; i < n_in; i++) ins[i] = astr(a, in[i]);
    outs[0] = astr(a, out);
    nd->n_input = (size_t)n_in;
    nd->input = ins;
    nd->n_output = 1;
    nd->output = outs;
    nd->attribute = at;
    b->nodes[b->n_nodes++] = nd;
    return nd;
}

static void add_attr(Onnx__NodeProto *nd, Onnx__AttributeProto *at) {
    if (nd && at) nd->attribute[nd->n_attribute++] = at;
}

/* A scalar constant initializer named NAME_suffix; returns its name. */
static const char *scalar(builder *b, const char *base, const char *suffix, float v) {
    char name[512];
    snprintf(name, sizeof name, "%s_%s", base, suffix);
    b->scalars[b->n_scalars] = v;
    Onnx__TensorProto *t = tensor(b->a, name, 0, NULL, &b->scalars[b->n_scalars], 1);
    b->n_scalars++;
    if (!t) return NULL;
    b->inits[b->n_inits++] = t;
    return t->name;
}

static int pool_attrs(builder *b, Onnx__NodeProto *nd, const gad_node *n, int with_dilation) {
    int pads[4] = {n->pad[0], n->pad[1], n->pad[2], n->pad[3]};
    add_attr(nd, attr_ints(b->a, "kernel_shape", n->kernel, 2));
    add_attr(nd, attr_ints(b->a, "strides", n->stride, 2));
    add_attr(nd, attr_ints(b->a, "pads", pads, 4));
    if (with_dilation) add_attr(nd, attr_ints(b->a, "dilations", n->dilation, 2));
    add_attr(nd, attr_int(b->a, "ceil_mode", n->ceil_mode));
    return 0;
}

static int emit(builder *b, const gad_graph *g, int i) {
    const gad_node *n = &g->nodes[i];
    const char *in[8];
    int n_in = n->n_in < 8 ? n->n_in : 8;
    for (int k = 0; k < n_in; k++) in[k] = g->values[n->in[k]].name;
    const char *out = g->values[n->out].name;
    Onnx__NodeProto *nd = NULL;
    switch (n->op) {
    case GAD_OP_CONV:
    case GAD_OP_GEMM: {
        const char *cin[3] = {in[0], g->params[n->weight].name, n->bias >= 0 ? g->params[n->bias].name : NULL};
        nd = node(b, n->op == GAD_OP_CONV ? "Conv" : "Gemm", n->name, n->bias >= 0 ? 3 : 2, cin, out);
        if (n->op == GAD_OP_CONV) {
            add_attr(nd, attr_ints(b->a, "kernel_shape", n->kernel, 2));
            add_attr(nd, attr_ints(b->a, "strides", n->stride, 2));
            add_attr(nd, attr_ints(b->a, "pads", n->pad, 4));
            add_attr(nd, attr_ints(b->a, "dilations", n->dilation, 2));
            add_attr(nd, attr_int(b->a, "group", n->group));
        } else {
            add_attr(nd, attr_int(b->a, "transB", 1));
        }
        break;
    }
    case GAD_OP_RELU: nd = node(b, "Relu", n->name, 1, in, out); break;
    case GAD_OP_SIGMOID: nd = node(b, "Sigmoid", n->name, 1, in, out); break;
    case GAD_OP_LEAKY_RELU:
        nd = node(b, "LeakyRelu", n->name, 1, in, out);
        add_attr(nd, attr_float(b->a, "alpha", n->alpha));
        break;
    case GAD_OP_CLIP: {
        const char *cin[3] = {in[0], scalar(b, n->name, "min", n->alpha), scalar(b, n->name, "max", n->beta)};
        if (!cin[1] || !cin[2]) return -1;
        nd = node(b, "Clip", n->name, 3, cin, out);
        break;
    }
    case GAD_OP_MAXPOOL:
        nd = node(b, "MaxPool", n->name, 1, in, out);
        pool_attrs(b, nd, n, 1);
        break;
    case GAD_OP_AVGPOOL:
        nd = node(b, "AveragePool", n->name, 1, in, out);
        pool_attrs(b, nd, n, 0);
        add_attr(nd, attr_int(b->a, "count_include_pad", n->count_include_pad));
        break;
    case GAD_OP_GLOBAL_AVGPOOL: nd = node(b, "GlobalAveragePool", n->name, 1, in, out); break;
    case GAD_OP_FLATTEN:
        nd = node(b, "Flatten", n->name, 1, in, out);
        add_attr(nd, attr_int(b->a, "axis", 1));
        break;
    case GAD_OP_ADD: nd = node(b, "Add", n->name, 2, in, out); break;
    case GAD_OP_MUL_SCALAR: {
        const char *cin[2] = {in[0], scalar(b, n->name, "scale", n->alpha)};
        if (!cin[1]) return -1;
        nd = node(b, "Mul", n->name, 2, cin, out);
        break;
    }
    case GAD_OP_CONCAT:
        nd = node(b, "Concat", n->name, n_in, in, out);
        add_attr(nd, attr_int(b->a, "axis", 1));
        break;
    default: return -1;
    }
    return nd && !b->a->failed ? 0 : -1;
}

int gad_model_save(const gad_model *g, const char *path, gad_err *err) {
    if (g->in_h <= 0 && !g->free_hw)
        return gad_err_set(err, GAD_ESTATE, "%s: model has no input size", path);
    arena a = {0};
    builder b = {.a = &a};
    size_t max_nodes = (size_t)g->n_nodes + 1, max_inits = (size_t)g->n_params + 2 * (size_t)g->n_nodes;
    b.nodes = arena_alloc(&a, max_nodes * sizeof *b.nodes);
    b.inits = arena_alloc(&a, max_inits * sizeof *b.inits);
    b.scalars = arena_alloc(&a, 2 * (size_t)(g->n_nodes + 1) * sizeof *b.scalars);
    int rc = 0;
    for (int i = 0; i < g->n_params && b.inits; i++) {
        const gad_param *p = &g->params[i];
        if (!(b.inits[b.n_inits++] = tensor(&a, p->name, p->nd, p->dims, p->data, p->count))) a.failed = 1;
    }
    for (int i = 0; i < g->n_nodes && !a.failed && b.nodes; i++)
        if (emit(&b, g, i)) {
            if (!a.failed)
                rc = gad_err_set(err, GAD_EUNSUPPORTED, "%s: node '%s' (%s) cannot be written to ONNX", path,
                                 g->nodes[i].name, gad_op_name(g->nodes[i].op));
            break;
        }

    /* graph input [batch, C, H, W] and output [batch, K] */
    const char *logits = g->values[g->output].name;
    char out_name[512];
    snprintf(out_name, sizeof out_name, "%s", g->output_name ? g->output_name : logits);
    if (!rc && g->had_softmax) {
        /* put the stripped Softmax back so outputs match the original file */
        char pre[520];
        snprintf(pre, sizeof pre, "%s", logits);
        if (!strcmp(pre, out_name)) snprintf(out_name, sizeof out_name, "%s_softmax", logits);
        const char *in[1] = {pre};
        Onnx__NodeProto *nd = node(&b, "Softmax", "Softmax_output", 1, in, out_name);
        add_attr(nd, attr_int(&a, "axis", 1));
    } else if (!rc && strcmp(out_name, logits)) {
        snprintf(out_name, sizeof out_name, "%s", logits);
    }
    int64_t in_dims[4] = {-1, g->in_c, g->free_hw ? -1 : g->in_h, g->free_hw ? -1 : g->in_w};
    const char *in_sym[4] = {"batch", NULL, "height", "width"};
    int64_t out_dims[2] = {-1, 0};
    const char *out_sym[2] = {"batch", NULL};
    const gad_shape *os = &g->values[g->output].shape;
    out_dims[1] = os->nd == 1 ? os->d[0] : (int64_t)os->d[0] * os->d[1] * os->d[2];

    Onnx__ValueInfoProto *vin = value_info(&a, g->values[g->input].name, 4, in_dims, in_sym);
    Onnx__ValueInfoProto *vout = value_info(&a, out_name, 2, out_dims, out_sym);
    Onnx__GraphProto *graph = arena_alloc(&a, sizeof *graph);
    Onnx__ModelProto *model = arena_alloc(&a, sizeof *model);
    Onnx__OperatorSetIdProto *opset = arena_alloc(&a, sizeof *opset);
    Onnx__OperatorSetIdProto **opsets = arena_alloc(&a, sizeof *opsets);
    Onnx__ValueInfoProto **ins = arena_alloc(&a, sizeof *ins), **outs = arena_alloc(&a, sizeof *outs);
    if (!rc && (a.failed || !vin || !vout || !graph || !model || !opset || !opsets || !ins || !outs))
        rc = gad_err_set(err, GAD_ENOMEM, "%s: out of memory building the ONNX model", path);
    uint8_t *buf = NULL;
    size_t size = 0;
    if (!rc) {
        onnx__graph_proto__init(graph);
        graph->name = astr(&a, "gad");
        graph->n_node = b.n_nodes;
        graph->node = b.nodes;
        graph->n_initializer = b.n_inits;
        graph->initializer = b.inits;
        ins[0] = vin;
        outs[0] = vout;
        graph->n_input = 1;
        graph->input = ins;
        graph->n_output = 1;
        graph->output = outs;
        onnx__operator_set_id_proto__init(opset);
        opset->domain = astr(&a, "");
        opset->has_version = 1;
        opset->version = 13;
        opsets[0] = opset;
        onnx__model_proto__init(model);
        model->has_ir_version = 1;
        model->ir_version = 7;
        model->producer_name = astr(&a, "gad");
        model->producer_version = astr(&a, gad_version());
        model->n_opset_import = 1;
        model->opset_import = opsets;
        model->graph = graph;
        size = onnx__model_proto__get_packed_size(model);
        if (!(buf = malloc(size ? size : 1)))
            rc = gad_err_set(err, GAD_ENOMEM, "%s: out of memory (%zu bytes)", path, size);
        else
            onnx__model_proto__pack(model, buf);
    }
    arena_free(&a);
    if (!rc) {
        gad_atomic f;
        rc = gad_atomic_open(path, &f, err);
        if (!rc) {
            if (fwrite(buf, 1, size, f.f) != size) {
                gad_atomic_abort(&f);
                rc = gad_err_set(err, GAD_EIO, "%s: write failed", path);
            } else {
                rc = gad_atomic_commit(&f, err);
            }
        }
    }
    free(buf);
    return rc;
}
