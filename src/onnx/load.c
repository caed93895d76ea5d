/* ONNX import: protobuf-c model -> gad graph (see src/net/graph.h).
 *
 * Every ONNX tensor name maps to one entry: either a constant (initializer,
 * Constant node, or a shape computation evaluated here) or a computed value
 * of gad's graph. Nodes are visited in topological order; each becomes one
 * gad node, an alias (Dropout, Identity, same-shape Reshape, zero Pad), a
 * fold into its producer (BatchNormalization after Conv, bias Add after
 * MatMul) or a constant evaluation. Shapes are not known while importing, so
 * checks that need them (Reshape targets) are queued and run after
 * gad_graph_infer_shapes. */
#include <errno.h>
#include <float.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "net/graph.h"
#include "onnx.pb-c.h"

/* Files and the initializers' declared bytes are bounded by
 * gad_model_limits (default GAD_DEFAULT_MAX_MODEL_BYTES, gad/model.h: ONNX's
 * own 2 GiB protobuf limit). Elements in one tensor are bounded by this, far
 * above any CNN this engine can run. */
#define MAX_ELEMS ((int64_t)1 << 34)

/* Shape() of a computed value yields these for dims unknown at load. */
#define DIM_BATCH (INT64_MIN + 1)
#define DIM_UNKNOWN (INT64_MIN + 2)

enum { T_FLOAT = 1, T_INT = 2 };

typedef struct ctensor {
    int type; /* T_FLOAT or T_INT */
    int nd;
    int64_t dims[8];
    size_t n;
    float *f;
    int64_t *i;
} ctensor;

enum { E_NONE = 0, E_CONST, E_VALUE };

typedef struct entry {
    const char *name; /* points into the protobuf */
    int kind;
    int val;          /* E_VALUE: gad value index */
    int rank;         /* E_VALUE: 4 (N,C,H,W) or 2 (N,F) */
    ctensor *c;       /* E_CONST */
    int uses;         /* consumers in the file, +1 for the graph output */
    int producer;     /* ONNX node index, -1 */
    int pad[4];       /* pending zero Pad to fold into the consumer */
    int has_pad;
    int from_conv;    /* produced by an ONNX Conv node (BN may fold) */
} entry;

typedef struct check {
    int val;
    gad_shape want; /* -1 entries: any */
    int node;       /* gad node for the message */
} check;

typedef struct ctx {
    const char *path;
    gad_err *err;
    int64_t max_bytes; /* limit on the initializers' declared bytes */
    Onnx__ModelProto *m;
    Onnx__GraphProto *gp;
    int64_t opset;
    gad_graph *g;
    entry *ents;
    int n_ents, cap_ents;
    int *htab; /* name -> entry index, -1 empty; hcap a power of 2 */
    int hcap;
    ctensor **cts;
    int n_cts, cap_cts;
    check *checks;
    int n_checks, cap_checks;
    int64_t batch; /* the image input's fixed batch size, or -1 */
    /* current node, for messages */
    const Onnx__NodeProto *node;
    char node_name[160];
} ctx;

/* ---- small helpers ------------------------------------------------------ */

static int grow(void **arr, int *cap, int n, size_t sz) {
    if (n < *cap) return 0;
    int nc = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, (size_t)nc * sz);
    if (!p) return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static int oom(ctx *c) { return gad_err_set(c->err, GAD_ENOMEM, "%s: out of memory", c->path); }

/* "PATH: node 'NAME' (OP): " + message. */
static int node_err(ctx *c, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int node_err(ctx *c, int code, const char *fmt, ...) {
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return gad_err_set(c->err, code, "%s: node '%s' (%s): %s", c->path, c->node_name,
                       c->node && c->node->op_type ? c->node->op_type : "?", buf);
}

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Slot of `name` in the open-addressing table: its entry or an empty slot. */
static int *slot(ctx *c, const char *name) {
    uint32_t mask = (uint32_t)c->hcap - 1, h = hash_str(name) & mask;
    while (c->htab[h] >= 0 && strcmp(c->ents[c->htab[h]].name, name)) h = (h + 1) & mask;
    return &c->htab[h];
}

static entry *find(ctx *c, const char *name) {
    if (!name || !c->hcap) return NULL;
    int i = *slot(c, name);
    return i >= 0 ? &c->ents[i] : NULL;
}

/* The table is sized once for every name the file can define. */
static entry *get_or_add(ctx *c, const char *name) {
    entry *e = find(c, name);
    if (e) return e;
    if (c->n_ents * 2 >= c->hcap) return NULL;
    if (grow((void **)&c->ents, &c->cap_ents, c->n_ents, sizeof *c->ents)) return NULL;
    int *sl = slot(c, name);
    *sl = c->n_ents;
    e = &c->ents[c->n_ents++];
    memset(e, 0, sizeof *e);
    e->name = name;
    e->val = -1;
    e->producer = -1;
    return e;
}

static ctensor *ct_new(ctx *c, int type, int nd, const int64_t *dims) {
    if (nd < 0 || nd > 8) return NULL;
    size_t n = 1;
    for (int k = 0; k < nd; k++) {
        if (dims[k] < 0 || (dims[k] > 0 && (int64_t)n > MAX_ELEMS / dims[k])) return NULL;
        n *= (size_t)dims[k];
    }
    if (grow((void **)&c->cts, &c->cap_cts, c->n_cts, sizeof *c->cts)) return NULL;
    ctensor *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->type = type;
    t->nd = nd;
    for (int k = 0; k < nd; k++) t->dims[k] = dims[k];
    t->n = n;
    if (type == T_FLOAT)
        t->f = calloc(n ? n : 1, sizeof(float));
    else
        t->i = calloc(n ? n : 1, sizeof(int64_t));
    if (!t->f && !t->i) {
        free(t);
        return NULL;
    }
    c->cts[c->n_cts++] = t;
    return t;
}

static double ct_get(const ctensor *t, size_t k) {
    return t->type == T_FLOAT ? (double)t->f[k] : (double)t->i[k];
}

static const char *dtype_name(int dt) {
    static const char *n[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16",
                              "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE",
                              "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    return dt >= 0 && dt <= 16 ? n[dt] : "unknown";
}

/* Decode a TensorProto (initializer or Constant value) into host order,
 * refusing what cannot be trusted: size/dims mismatch, external data, NaN
 * or infinite weights. `what` names the tensor's role in messages. */
static int decode_tensor(ctx *c, const Onnx__TensorProto *tp, const char *what, ctensor **out) {
    const char *tn = tp->name && tp->name[0] ? tp->name : "?";
    if (tp->n_dims > 8)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: %s '%s': %zu dimensions not supported",
                           c->path, what, tn, tp->n_dims);
    if ((tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        tp->n_external_data)
        return gad_err_set(c->err, GAD_EUNSUPPORTED,
                           "%s: %s '%s': external data not supported (save the model with "
                           "its weights inside the file)", c->path, what, tn);
    if (tp->segment)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: %s '%s': segmented tensor not supported",
                           c->path, what, tn);
    int64_t dims[8];
    for (size_t k = 0; k < tp->n_dims; k++) {
        dims[k] = tp->dims[k];
        if (dims[k] < 0)
            return gad_err_set(c->err, GAD_EFORMAT, "%s: %s '%s': negative dimension %lld",
                               c->path, what, tn, (long long)dims[k]);
    }
    int dt = tp->has_data_type ? tp->data_type : 0;
    int type, esz;
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: type = T_FLOAT; esz = 4; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: type = T_INT; esz = 8; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: type = T_INT; esz = 4; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: type = T_INT; esz = 1; break;
    default:
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: %s '%s': data type %s not supported",
                           c->path, what, tn, dtype_name(dt));
    }
    /* element count with overflow checks */
    int64_t n = 1;
    for (size_t k = 0; k < tp->n_dims; k++) {
        if (dims[k] > 0 && n > MAX_ELEMS / dims[k])
            return gad_err_set(c->err, GAD_ELIMIT, "%s: %s '%s': too many elements", c->path,
                               what, tn);
        n *= dims[k];
    }
    /* The data actually present must match the dims before anything is
     * allocated from them: a few bytes can declare a terabyte tensor. */
    size_t have;
    const char *src;
    if (tp->has_raw_data) {
        have = tp->raw_data.len / (size_t)esz;
        src = "raw_data";
        if (tp->raw_data.len % (size_t)esz || have != (size_t)n)
            return gad_err_set(c->err, GAD_EFORMAT,
                               "%s: %s '%s': raw_data has %zu bytes, dims need %lld", c->path,
                               what, tn, tp->raw_data.len, (long long)(n * esz));
    } else if (type == T_FLOAT) {
        have = tp->n_float_data;
        src = "float_data";
    } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
        have = tp->n_int64_data;
        src = "int64_data";
    } else {
        have = tp->n_int32_data;
        src = "int32_data";
    }
    if (have != (size_t)n)
        return gad_err_set(c->err, GAD_EFORMAT, "%s: %s '%s': %s has %zu elements, dims need %lld",
                           c->path, what, tn, src, have, (long long)n);
    ctensor *t = ct_new(c, type, (int)tp->n_dims, dims);
    if (!t) return oom(c);
    if (tp->has_raw_data) {
        const uint8_t *b = tp->raw_data.data;
        for (size_t k = 0; k < (size_t)n; k++) {
            const uint8_t *p = b + k * (size_t)esz;
            uint64_t u = 0;
            for (int q = esz - 1; q >= 0; q--) u = (u << 8) | p[q]; /* little-endian */
            if (type == T_FLOAT) {
                uint32_t u32 = (uint32_t)u;
                memcpy(&t->f[k], &u32, 4);
            } else if (esz == 8) {
                t->i[k] = (int64_t)u;
            } else if (esz == 4) {
                t->i[k] = (int32_t)(uint32_t)u;
            } else {
                t->i[k] = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT8 ? (int8_t)(uint8_t)u : (int64_t)u;
            }
        }
    } else if (type == T_FLOAT) {
        if (n) memcpy(t->f, tp->float_data, (size_t)n * sizeof(float));
    } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
        if (n) memcpy(t->i, tp->int64_data, (size_t)n * sizeof(int64_t));
    } else {
        for (size_t k = 0; k < (size_t)n; k++) t->i[k] = tp->int32_data[k];
    }
    /* a scalar may be infinite: Clip bounds such as Clip(0, inf) */
    if (type == T_FLOAT)
        for (size_t k = 0; k < (size_t)n; k++)
            if (isnan(t->f[k]) || (n > 1 && !isfinite(t->f[k])))
                return gad_err_set(c->err, GAD_EVALUE, "%s: %s '%s': element %zu is %s", c->path,
                                   what, tn, k, isnan(t->f[k]) ? "NaN" : "infinite");
    *out = t;
    return 0;
}

/* ---- attributes --------------------------------------------------------- */

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name) {
    for (size_t k = 0; k < n->n_attribute; k++)
        if (n->attribute[k]->name && !strcmp(n->attribute[k]->name, name)) return n->attribute[k];
    return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *n, const char *name, int64_t def) {
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_i ? a->i : def;
}

static float attr_f(const Onnx__NodeProto *n, const char *name, float def) {
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_f ? a->f : def;
}

/* String attribute copied into buf (cut to fit); `def` when absent. */
static const char *attr_s(const Onnx__NodeProto *n, const char *name, char *buf, size_t bsz,
                          const char *def) {
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a || !a->has_s) return def;
    size_t l = a->s.len < bsz - 1 ? a->s.len : bsz - 1;
    memcpy(buf, a->s.data, l);
    buf[l] = 0;
    return buf;
}

/* Read an INTS attribute with exactly `want` entries (0: any up to max). */
static int attr_ints(ctx *c, const char *name, int64_t *out, int want, int *got) {
    const Onnx__AttributeProto *a = attr(c->node, name);
    *got = 0;
    if (!a) return 0;
    if ((want && (int)a->n_ints != want) || a->n_ints > 8)
        return node_err(c, GAD_EUNSUPPORTED, "attribute '%s' has %zu values, expected %d", name,
                        a->n_ints, want);
    for (size_t k = 0; k < a->n_ints; k++) out[k] = a->ints[k];
    *got = (int)a->n_ints;
    return 0;
}

/* ---- inputs ------------------------------------------------------------- */

static const char *in_name(const Onnx__NodeProto *n, size_t k) {
    return k < n->n_input && n->input[k] && n->input[k][0] ? n->input[k] : NULL;
}

/* Input k as a computed value (rank optionally required). */
static int in_value(ctx *c, size_t k, int want_rank, entry **out) {
    const char *nm = in_name(c->node, k);
    entry *e = find(c, nm);
    if (!nm || !e || e->kind == E_NONE)
        return node_err(c, GAD_EFORMAT, "input %zu '%s' is missing", k, nm ? nm : "");
    if (e->kind != E_VALUE)
        return node_err(c, GAD_EUNSUPPORTED, "input '%s' is a constant; a computed tensor is expected", nm);
    if (e->has_pad)
        return node_err(c, GAD_EUNSUPPORTED,
                        "input '%s' comes from a Pad that only Conv or AveragePool can absorb", nm);
    if (want_rank && e->rank != want_rank)
        return node_err(c, GAD_EUNSUPPORTED, "input '%s' has rank %d, expected %d", nm, e->rank, want_rank);
    *out = e;
    return 0;
}

/* Input k as a constant; `opt` allows it to be absent (*out = NULL). */
static int in_const(ctx *c, size_t k, int opt, ctensor **out) {
    const char *nm = in_name(c->node, k);
    *out = NULL;
    if (!nm) {
        if (opt) return 0;
        return node_err(c, GAD_EFORMAT, "input %zu is missing", k);
    }
    entry *e = find(c, nm);
    if (!e || e->kind == E_NONE)
        return node_err(c, GAD_EFORMAT, "input '%s' is missing (no initializer or node gives it)", nm);
    if (e->kind != E_CONST)
        return node_err(c, GAD_EUNSUPPORTED, "input '%s' must be a constant (initializer)", nm);
    *out = e->c;
    return 0;
}

static int is_const(ctx *c, size_t k) {
    entry *e = find(c, in_name(c->node, k));
    return e && e->kind == E_CONST;
}

static entry *out_entry(ctx *c, size_t k) {
    const char *nm = k < c->node->n_output ? c->node->output[k] : NULL;
    if (!nm || !nm[0]) return NULL;
    return find(c, nm);
}

static int set_const_out(ctx *c, ctensor *t) {
    entry *e = out_entry(c, 0);
    if (!e) return node_err(c, GAD_EFORMAT, "has no output");
    e->kind = E_CONST;
    e->c = t;
    return 0;
}

static int alias_out(ctx *c, entry *src) {
    entry *e = out_entry(c, 0);
    if (!e) return node_err(c, GAD_EFORMAT, "has no output");
    e->kind = E_VALUE;
    e->val = src->val;
    e->rank = src->rank;
    e->from_conv = 0;
    memcpy(e->pad, src->pad, sizeof e->pad);
    e->has_pad = src->has_pad;
    return 0;
}

/* Refuse a secondary output (MaxPool Indices, Dropout mask, BN statistics)
 * that something uses. */
static int no_extra_outputs(ctx *c, size_t from) {
    for (size_t k = from; k < c->node->n_output; k++) {
        entry *e = out_entry(c, k);
        if (e && e->uses)
            return node_err(c, GAD_EUNSUPPORTED, "output %zu '%s' is used; only the first output is supported",
                            k, e->name);
    }
    return 0;
}

/* Add a gad node whose output is the ONNX node's first output. */
static int emit(ctx *c, gad_op op, const char *onnx_op, int n_in, const int *in, int rank, int *node_out) {
    entry *e = out_entry(c, 0);
    if (!e) return node_err(c, GAD_EFORMAT, "has no output");
    int v = gad_graph_add_value(c->g, e->name);
    if (v < 0) return oom(c);
    int ni = gad_graph_add_node(c->g, op, c->node_name, onnx_op, n_in, in, v);
    if (ni < 0) return oom(c);
    c->g->values[v].producer = ni;
    e->kind = E_VALUE;
    e->val = v;
    e->rank = rank;
    *node_out = ni;
    return 0;
}

static int add_param(ctx *c, const char *name, int nd, const int64_t *dims, const float *data) {
    return gad_graph_add_param(c->g, name, nd, dims, data);
}

static int add_check(ctx *c, int val, gad_shape want, int node) {
    if (grow((void **)&c->checks, &c->cap_checks, c->n_checks, sizeof *c->checks)) return oom(c);
    c->checks[c->n_checks++] = (check){val, want, node};
    return 0;
}

/* ---- operators ---------------------------------------------------------- */

/* auto_pad for a window op: NOTSET/VALID; SAME_* only when stride is 1
 * (the pad then does not depend on the input size). */
static int auto_pad(ctx *c, gad_node *n) {
    char buf[32];
    const char *ap = attr_s(c->node, "auto_pad", buf, sizeof buf, "NOTSET");
    if (!strcmp(ap, "NOTSET")) return 0;
    if (!strcmp(ap, "VALID")) {
        memset(n->pad, 0, sizeof n->pad);
        return 0;
    }
    int upper = !strcmp(ap, "SAME_UPPER");
    if ((upper || !strcmp(ap, "SAME_LOWER")) && n->stride[0] == 1 && n->stride[1] == 1) {
        for (int d = 0; d < 2; d++) {
            int total = n->dilation[d] * (n->kernel[d] - 1);
            int small = total / 2, big = total - small;
            n->pad[d] = upper ? small : big;
            n->pad[d + 2] = upper ? big : small;
        }
        return 0;
    }
    return node_err(c, GAD_EUNSUPPORTED, "attribute 'auto_pad'=%s not supported%s", ap,
                    upper || !strcmp(ap, "SAME_LOWER") ? " with stride > 1" : "");
}

/* strides, pads, dilations for a 2-D window op. */
static int window_attrs(ctx *c, gad_node *n, int allow_dilation) {
    int64_t v[8];
    int got, rc;
    if ((rc = attr_ints(c, "strides", v, 2, &got))) return rc;
    if (got) n->stride[0] = (int)v[0], n->stride[1] = (int)v[1];
    if ((rc = attr_ints(c, "pads", v, 4, &got))) return rc;
    if (got)
        for (int k = 0; k < 4; k++) n->pad[k] = (int)v[k];
    if ((rc = attr_ints(c, "dilations", v, 2, &got))) return rc;
    if (got) {
        if (!allow_dilation && (v[0] != 1 || v[1] != 1))
            return node_err(c, GAD_EUNSUPPORTED, "attribute 'dilations' not supported");
        n->dilation[0] = (int)v[0], n->dilation[1] = (int)v[1];
    }
    for (int d = 0; d < 2; d++)
        if (n->stride[d] < 1 || n->dilation[d] < 1 || n->stride[d] > 65536 || n->dilation[d] > 65536)
            return node_err(c, GAD_EUNSUPPORTED, "strides/dilations must be between 1 and 65536");
    for (int k = 0; k < 4; k++)
        if (n->pad[k] < 0 || n->pad[k] > 65536)
            return node_err(c, GAD_EUNSUPPORTED, "pads must be between 0 and 65536");
    return auto_pad(c, n);
}

/* Absorb a pending zero Pad of the input into the node's own pads. */
static void take_pad(gad_node *n, const entry *x) {
    if (!x->has_pad) return;
    for (int k = 0; k < 4; k++) n->pad[k] += x->pad[k];
}

/* Input 0 as a value, letting a pending Pad through (Conv, AveragePool). */
static int in_value_pad(ctx *c, entry **x) {
    const char *nm = in_name(c->node, 0);
    entry *e = find(c, nm);
    if (e && e->kind == E_VALUE && e->has_pad) {
        if (e->rank != 4) return node_err(c, GAD_EUNSUPPORTED, "input '%s' must be 4-D", nm);
        *x = e;
        return 0;
    }
    return in_value(c, 0, 4, x);
}

static int op_conv(ctx *c) {
    entry *x;
    ctensor *w, *b;
    int rc;
    if ((rc = in_value_pad(c, &x)) || (rc = in_const(c, 1, 0, &w)) || (rc = in_const(c, 2, 1, &b)))
        return rc;
    if (w->type != T_FLOAT || w->nd != 4)
        return node_err(c, GAD_EUNSUPPORTED, "weight '%s' must be a 4-D float tensor (2-D convolution)",
                        in_name(c->node, 1));
    int64_t O = w->dims[0];
    if (!O || !w->dims[1] || !w->dims[2] || !w->dims[3])
        return node_err(c, GAD_EFORMAT, "weight '%s' is empty", in_name(c->node, 1));
    if (b && (b->type != T_FLOAT || b->n != (size_t)O))
        return node_err(c, GAD_ESHAPE, "bias '%s' has %zu elements, expected %lld", in_name(c->node, 2),
                        b->n, (long long)O);
    int64_t group = attr_i(c->node, "group", 1);
    if (group < 1 || O % group)
        return node_err(c, GAD_ESHAPE, "group %lld does not divide %lld output channels",
                        (long long)group, (long long)O);
    int64_t ks[8];
    int got;
    if ((rc = attr_ints(c, "kernel_shape", ks, 2, &got))) return rc;
    if (got && (ks[0] != w->dims[2] || ks[1] != w->dims[3]))
        return node_err(c, GAD_ESHAPE, "kernel_shape %lldx%lld differs from the weight's %lldx%lld",
                        (long long)ks[0], (long long)ks[1], (long long)w->dims[2], (long long)w->dims[3]);
    int in[1] = {x->val}, ni;
    if ((rc = emit(c, GAD_OP_CONV, "Conv", 1, in, 4, &ni))) return rc;
    gad_node *n = &c->g->nodes[ni];
    n->group = (int)group;
    n->kernel[0] = (int)w->dims[2];
    n->kernel[1] = (int)w->dims[3];
    if ((rc = window_attrs(c, &c->g->nodes[ni], 1))) return rc;
    n = &c->g->nodes[ni];
    take_pad(n, x);
    int pw = add_param(c, in_name(c->node, 1), 4, w->dims, w->f);
    if (pw < 0) return oom(c);
    c->g->nodes[ni].weight = pw;
    if (b) {
        int64_t bd[1] = {O};
        int pb = add_param(c, in_name(c->node, 2), 1, bd, b->f);
        if (pb < 0) return oom(c);
        c->g->nodes[ni].bias = pb;
    }
    out_entry(c, 0)->from_conv = 1;
    return 0;
}

/* Node `prod` absorbs the node being read (a BN into its conv, an Add into
 * its MatMul): it takes onnx_op as its description and its value `val`
 * takes the absorbed node's output name. *out is that output's entry. */
static int absorb_node(ctx *c, int prod, int val, const char *onnx_op, entry **out) {
    entry *e = out_entry(c, 0);
    if (!e) return node_err(c, GAD_EFORMAT, "has no output");
    char *op = malloc(strlen(onnx_op) + 1), *nm = malloc(strlen(e->name) + 1);
    if (!op || !nm) {
        free(op);
        free(nm);
        return oom(c);
    }
    strcpy(op, onnx_op);
    strcpy(nm, e->name);
    free(c->g->nodes[prod].onnx_op);
    c->g->nodes[prod].onnx_op = op;
    free(c->g->values[val].name);
    c->g->values[val].name = nm;
    *out = e;
    return 0;
}

/* Give node ni its weight (dims wd[0..nd)) and, when given, a bias of
 * wd[0] values, as new parameters. */
static int attach_params(ctx *c, int ni, const char *wname, int nd, const int64_t *wd, const float *w,
                         const char *bname, const float *bias) {
    int pw = add_param(c, wname, nd, wd, w);
    if (pw < 0) return oom(c);
    c->g->nodes[ni].weight = pw;
    if (bias) {
        int pb = add_param(c, bname, 1, wd, bias);
        if (pb < 0) return oom(c);
        c->g->nodes[ni].bias = pb;
    }
    return 0;
}

/* Depthwise 1x1 conv y[c] = s[c] x[c] + t[c] (t may be NULL: no bias). */
static int emit_affine(ctx *c, entry *x, const char *onnx_op, int64_t C, const float *s,
                       const float *t, const char *wname, const char *bname) {
    int in[1] = {x->val}, ni, rc;
    if ((rc = emit(c, GAD_OP_CONV, onnx_op, 1, in, 4, &ni))) return rc;
    c->g->nodes[ni].group = (int)C;
    c->g->nodes[ni].kernel[0] = c->g->nodes[ni].kernel[1] = 1;
    int64_t wd[4] = {C, 1, 1, 1};
    return attach_params(c, ni, wname, 4, wd, s, bname, t);
}

static int op_batchnorm(ctx *c) {
    entry *x;
    ctensor *p[4];
    int rc;
    if ((rc = in_value(c, 0, 4, &x))) return rc;
    for (int k = 0; k < 4; k++)
        if ((rc = in_const(c, (size_t)k + 1, 0, &p[k]))) return rc;
    int64_t C = (int64_t)p[0]->n;
    for (int k = 0; k < 4; k++)
        if (p[k]->type != T_FLOAT || (int64_t)p[k]->n != C || !C)
            return node_err(c, GAD_ESHAPE, "parameter '%s' has %zu elements, expected %lld",
                            in_name(c->node, (size_t)k + 1), p[k]->n, (long long)C);
    if (attr_i(c->node, "training_mode", 0))
        return node_err(c, GAD_EUNSUPPORTED, "attribute 'training_mode'=1 not supported");
    if ((rc = no_extra_outputs(c, 1))) return rc;
    double eps = attr_f(c->node, "epsilon", 1e-5f);
    float *s = malloc((size_t)C * sizeof(float)), *t = malloc((size_t)C * sizeof(float));
    if (!s || !t) {
        free(s), free(t);
        return oom(c);
    }
    for (int64_t k = 0; k < C; k++) {
        double var = p[3]->f[k] + eps;
        if (!(var > 0)) {
            free(s), free(t);
            return node_err(c, GAD_EVALUE, "variance + epsilon of channel %lld is not positive", (long long)k);
        }
        double sc = p[0]->f[k] / sqrt(var);
        s[k] = (float)sc;
        t[k] = (float)(p[1]->f[k] - p[2]->f[k] * sc);
    }
    int prod = x->val >= 0 ? c->g->values[x->val].producer : -1;
    gad_node *cv = prod >= 0 ? &c->g->nodes[prod] : NULL;
    /* Fold when the Conv's result feeds nothing but this BN. */
    if (cv && x->from_conv && x->uses == 1 && cv->op == GAD_OP_CONV && cv->out == x->val &&
        c->g->params[cv->weight].dims[0] == C) {
        gad_param *W = &c->g->params[cv->weight];
        size_t per = W->count / (size_t)C;
        for (int64_t o = 0; o < C; o++)
            for (size_t q = 0; q < per; q++) W->data[(size_t)o * per + q] *= s[o];
        if (cv->bias >= 0) {
            float *b = c->g->params[cv->bias].data;
            for (int64_t o = 0; o < C; o++) b[o] = (float)((double)b[o] * s[o] + t[o]);
        } else {
            char bn[200];
            snprintf(bn, sizeof bn, "%s.bias", c->node_name);
            int64_t bd[1] = {C};
            int pb = add_param(c, bn, 1, bd, t);
            if (pb < 0) {
                free(s), free(t);
                return oom(c);
            }
            c->g->nodes[prod].bias = pb;
        }
        free(s), free(t);
        cv = &c->g->nodes[prod];
        /* the conv now also is the BN, and its value carries the BN's output name */
        entry *e;
        if ((rc = absorb_node(c, prod, x->val, "Conv+BatchNormalization", &e))) return rc;
        e->kind = E_VALUE;
        e->val = x->val;
        e->rank = 4;
        return 0;
    }
    char wn[200], bn[200];
    snprintf(wn, sizeof wn, "%s.weight", c->node_name);
    snprintf(bn, sizeof bn, "%s.bias", c->node_name);
    rc = emit_affine(c, x, "BatchNormalization", C, s, t, wn, bn);
    free(s), free(t);
    return rc;
}

static int op_unary(ctx *c, gad_op op, float alpha, float beta) {
    entry *x;
    int rc, ni;
    if ((rc = in_value(c, 0, 0, &x))) return rc;
    int in[1] = {x->val};
    if ((rc = emit(c, op, c->node->op_type, 1, in, x->rank, &ni))) return rc;
    c->g->nodes[ni].alpha = alpha;
    c->g->nodes[ni].beta = beta;
    return 0;
}

static int scalar_of(ctx *c, size_t k, float *v, int *present) {
    ctensor *t;
    int rc = in_const(c, k, 1, &t);
    if (rc) return rc;
    *present = t != NULL;
    if (!t) return 0;
    if (t->n != 1) return node_err(c, GAD_EUNSUPPORTED, "input '%s' must be a scalar", in_name(c->node, k));
    *v = (float)ct_get(t, 0);
    return 0;
}

static int op_clip(ctx *c) {
    float lo = -INFINITY, hi = INFINITY;
    int rc;
    if (c->opset < 11) {
        lo = attr_f(c->node, "min", -FLT_MAX);
        hi = attr_f(c->node, "max", FLT_MAX);
    } else {
        int p;
        float v;
        if ((rc = scalar_of(c, 1, &v, &p))) return rc;
        if (p) lo = v;
        if ((rc = scalar_of(c, 2, &v, &p))) return rc;
        if (p) hi = v;
    }
    if (lo > hi) return node_err(c, GAD_EVALUE, "min %g exceeds max %g", lo, hi);
    if (lo == 0 && hi >= FLT_MAX) return op_unary(c, GAD_OP_RELU, 0, 0);
    return op_unary(c, GAD_OP_CLIP, lo, hi);
}

static int pool_kernel(ctx *c, gad_node *n) {
    int64_t ks[8];
    int got, rc;
    if ((rc = attr_ints(c, "kernel_shape", ks, 2, &got))) return rc;
    if (!got) return node_err(c, GAD_EFORMAT, "attribute 'kernel_shape' is missing");
    if (ks[0] < 1 || ks[1] < 1 || ks[0] > 65536 || ks[1] > 65536)
        return node_err(c, GAD_EUNSUPPORTED, "kernel_shape must be between 1 and 65536");
    n->kernel[0] = (int)ks[0];
    n->kernel[1] = (int)ks[1];
    return 0;
}

static int op_pool(ctx *c, int max) {
    entry *x = NULL;
    int rc, ni;
    if ((rc = max ? in_value(c, 0, 4, &x) : in_value_pad(c, &x))) return rc;
    if (max) {
        if (attr_i(c->node, "storage_order", 0) != 0)
            return node_err(c, GAD_EUNSUPPORTED, "attribute 'storage_order'=1 not supported");
        if ((rc = no_extra_outputs(c, 1))) return rc;
    }
    int64_t cip = max ? 0 : attr_i(c->node, "count_include_pad", 0);
    if (x->has_pad && !cip)
        return node_err(c, GAD_EUNSUPPORTED, "a preceding Pad needs count_include_pad=1");
    int in[1] = {x->val};
    if ((rc = emit(c, max ? GAD_OP_MAXPOOL : GAD_OP_AVGPOOL, c->node->op_type, 1, in, 4, &ni))) return rc;
    gad_node *n = &c->g->nodes[ni];
    if ((rc = pool_kernel(c, n))) return rc;
    n->ceil_mode = (int)attr_i(c->node, "ceil_mode", 0);
    n->count_include_pad = (int)cip;
    if ((rc = window_attrs(c, n, max))) return rc;
    take_pad(n, x);
    return 0;
}

static int op_flatten(ctx *c) {
    entry *x;
    int rc, ni;
    if ((rc = in_value(c, 0, 0, &x))) return rc;
    int64_t axis = attr_i(c->node, "axis", 1);
    if (axis < 0) axis += x->rank;
    if (axis != 1) return node_err(c, GAD_EUNSUPPORTED, "attribute 'axis'=%lld not supported (only 1)",
                                   (long long)attr_i(c->node, "axis", 1));
    if (x->rank == 2) return alias_out(c, x);
    int in[1] = {x->val};
    return emit(c, GAD_OP_FLATTEN, "Flatten", 1, in, 2, &ni);
}

/* A GEMM from a constant weight already in [out, in] layout. */
static int emit_gemm(ctx *c, entry *x, const char *onnx_op, const float *w, int64_t out, int64_t inn,
                     const char *wname, const float *bias, const char *bname) {
    int in[1] = {x->val}, ni, rc;
    if ((rc = emit(c, GAD_OP_GEMM, onnx_op, 1, in, 2, &ni))) return rc;
    int64_t wd[2] = {out, inn};
    return attach_params(c, ni, wname, 2, wd, w, bname, bias);
}

static int op_gemm(ctx *c) {
    entry *x;
    ctensor *B, *C;
    int rc;
    if ((rc = in_value(c, 0, 2, &x)) || (rc = in_const(c, 1, 0, &B)) || (rc = in_const(c, 2, 1, &C)))
        return rc;
    if (attr_i(c->node, "transA", 0)) return node_err(c, GAD_EUNSUPPORTED, "attribute 'transA'=1 not supported");
    int64_t tb = attr_i(c->node, "transB", 0);
    float alpha = attr_f(c->node, "alpha", 1.f), beta = attr_f(c->node, "beta", 1.f);
    if (B->type != T_FLOAT || B->nd != 2 || !B->n)
        return node_err(c, GAD_EUNSUPPORTED, "weight '%s' must be a 2-D float tensor", in_name(c->node, 1));
    int64_t out = tb ? B->dims[0] : B->dims[1], inn = tb ? B->dims[1] : B->dims[0];
    float *w = malloc(B->n * sizeof(float)), *b = NULL;
    if (!w) return oom(c);
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < inn; i++)
            w[o * inn + i] = alpha * (tb ? B->f[o * inn + i] : B->f[i * out + o]);
    if (C) {
        if (C->type != T_FLOAT || !(C->n == (size_t)out || C->n == 1) || C->nd > 2 ||
            (C->nd == 2 && C->dims[0] != 1)) {
            free(w);
            return node_err(c, GAD_ESHAPE, "bias '%s' must have shape [%lld] or [1, %lld]",
                            in_name(c->node, 2), (long long)out, (long long)out);
        }
        b = malloc((size_t)out * sizeof(float));
        if (!b) {
            free(w);
            return oom(c);
        }
        for (int64_t o = 0; o < out; o++) b[o] = beta * C->f[C->n == 1 ? 0 : o];
    }
    rc = emit_gemm(c, x, "Gemm", w, out, inn, in_name(c->node, 1), b, C ? in_name(c->node, 2) : NULL);
    free(w), free(b);
    return rc;
}

static int op_matmul(ctx *c) {
    entry *x;
    ctensor *B;
    int rc;
    if ((rc = in_value(c, 0, 2, &x)) || (rc = in_const(c, 1, 0, &B))) return rc;
    if (B->type != T_FLOAT || B->nd != 2 || !B->n)
        return node_err(c, GAD_EUNSUPPORTED, "weight '%s' must be a constant 2-D float tensor",
                        in_name(c->node, 1));
    int64_t inn = B->dims[0], out = B->dims[1];
    float *w = malloc(B->n * sizeof(float));
    if (!w) return oom(c);
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < inn; i++) w[o * inn + i] = B->f[i * out + o];
    rc = emit_gemm(c, x, "MatMul", w, out, inn, in_name(c->node, 1), NULL, NULL);
    free(w);
    return rc;
}

/* Per-channel constant for a 4-D value: shape [C,1,1] or [1,C,1,1]. */
static int per_channel(const ctensor *t) {
    if (t->type != T_FLOAT || !t->n) return 0;
    if (t->nd == 3) return t->dims[1] == 1 && t->dims[2] == 1;
    if (t->nd == 4) return t->dims[0] == 1 && t->dims[2] == 1 && t->dims[3] == 1;
    return 0;
}

static int op_add_mul(ctx *c, int mul) {
    int c0 = is_const(c, 0), c1 = is_const(c, 1), rc, ni;
    if (c0 && c1) return node_err(c, GAD_EUNSUPPORTED, "both inputs are constants");
    if (!c0 && !c1) {
        if (mul) return node_err(c, GAD_EUNSUPPORTED, "product of two computed tensors not supported");
        entry *a, *b;
        if ((rc = in_value(c, 0, 0, &a)) || (rc = in_value(c, 1, 0, &b))) return rc;
        if (a->rank != b->rank)
            return node_err(c, GAD_EUNSUPPORTED, "inputs have ranks %d and %d (broadcasting not supported)",
                            a->rank, b->rank);
        int in[2] = {a->val, b->val};
        return emit(c, GAD_OP_ADD, "Add", 2, in, a->rank, &ni);
    }
    size_t vi = c0 ? 1 : 0, ci = c0 ? 0 : 1;
    entry *x;
    ctensor *k;
    if ((rc = in_value(c, vi, 0, &x)) || (rc = in_const(c, ci, 0, &k))) return rc;
    if (k->type != T_FLOAT) return node_err(c, GAD_EUNSUPPORTED, "constant '%s' is not float", in_name(c->node, ci));
    const char *kn = in_name(c->node, ci);
    for (size_t q = 0; q < k->n; q++)
        if (!isfinite(k->f[q])) return node_err(c, GAD_EVALUE, "constant '%s' is not finite", kn);
    if (mul && k->n == 1) {
        int in[1] = {x->val};
        if ((rc = emit(c, GAD_OP_MUL_SCALAR, "Mul", 1, in, x->rank, &ni))) return rc;
        c->g->nodes[ni].alpha = k->f[0];
        return 0;
    }
    if (x->rank == 4 && per_channel(k)) {
        int64_t C = (int64_t)k->n;
        float *ones = malloc((size_t)C * sizeof(float));
        if (!ones) return oom(c);
        for (int64_t q = 0; q < C; q++) ones[q] = 1.f;
        char wn[200];
        snprintf(wn, sizeof wn, "%s.weight", c->node_name);
        rc = mul ? emit_affine(c, x, "Mul", C, k->f, NULL, kn, NULL)
                 : emit_affine(c, x, "Add", C, ones, k->f, wn, kn);
        free(ones);
        return rc;
    }
    /* bias of a preceding MatMul (Linear exported as MatMul + Add) */
    if (!mul && x->rank == 2 && x->uses == 1 && (k->nd == 1 || (k->nd == 2 && k->dims[0] == 1))) {
        int prod = c->g->values[x->val].producer;
        gad_node *n = prod >= 0 ? &c->g->nodes[prod] : NULL;
        /* only the MatMul's own output: an alias of it may have other users */
        if (n && n->op == GAD_OP_GEMM && n->bias < 0 && n->out == x->val &&
            !strcmp(c->g->values[x->val].name, x->name) &&
            c->g->params[n->weight].dims[0] == (int64_t)k->n) {
            int64_t bd[1] = {(int64_t)k->n};
            int pb = add_param(c, kn, 1, bd, k->f);
            if (pb < 0) return oom(c);
            n = &c->g->nodes[prod];
            n->bias = pb;
            entry *e;
            int rc2 = absorb_node(c, prod, x->val, "MatMul+Add", &e);
            return rc2 ? rc2 : alias_out(c, x);
        }
    }
    return node_err(c, GAD_EUNSUPPORTED, "constant operand '%s' with %zu elements not supported "
                    "(only %s)", kn, k->n,
                    mul ? "a scalar or a per-channel [C,1,1] factor" : "a per-channel [C,1,1] term or a MatMul bias");
}

static int op_concat(ctx *c) {
    size_t n = c->node->n_input;
    int64_t axis = attr_i(c->node, "axis", 0);
    int all_const = n > 0, rc;
    for (size_t k = 0; k < n; k++) all_const &= is_const(c, k);
    if (all_const) { /* shape arithmetic: 1-D int tensors along axis 0 */
        int64_t total = 0;
        for (size_t k = 0; k < n; k++) {
            ctensor *t;
            if ((rc = in_const(c, k, 0, &t))) return rc;
            if (t->nd != 1 || t->type != T_INT)
                return node_err(c, GAD_EUNSUPPORTED, "constant concat only for 1-D integer tensors");
            total += t->dims[0];
        }
        ctensor *o = ct_new(c, T_INT, 1, &total);
        if (!o) return oom(c);
        size_t at = 0;
        for (size_t k = 0; k < n; k++) {
            ctensor *t;
            in_const(c, k, 0, &t);
            memcpy(o->i + at, t->i, t->n * sizeof(int64_t));
            at += t->n;
        }
        return set_const_out(c, o);
    }
    if (n < 2) return node_err(c, GAD_EUNSUPPORTED, "needs at least 2 inputs");
    int *in = malloc(n * sizeof(int));
    if (!in) return oom(c);
    for (size_t k = 0; k < n; k++) {
        entry *x;
        if ((rc = in_value(c, k, 4, &x))) {
            free(in);
            return rc;
        }
        in[k] = x->val;
    }
    if (axis != 1 && axis != -3) {
        free(in);
        return node_err(c, GAD_EUNSUPPORTED, "attribute 'axis'=%lld not supported (only channels, 1)",
                        (long long)axis);
    }
    int ni;
    rc = emit(c, GAD_OP_CONCAT, "Concat", (int)n, in, 4, &ni);
    free(in);
    return rc;
}

static int op_alias(ctx *c) {
    entry *x;
    int rc;
    const char *nm = in_name(c->node, 0);
    entry *e = find(c, nm);
    if (e && e->kind == E_CONST) return set_const_out(c, e->c);
    if (e && e->kind == E_VALUE && e->has_pad) x = e;
    else if ((rc = in_value(c, 0, 0, &x))) return rc;
    if ((rc = no_extra_outputs(c, 1))) return rc;
    return alias_out(c, x);
}

static int op_softmax(ctx *c) {
    entry *x, *e = out_entry(c, 0);
    int rc;
    if ((rc = in_value(c, 0, 0, &x))) return rc;
    if (!e || strcmp(e->name, c->g->output_name) || e->uses != 1)
        return node_err(c, GAD_EUNSUPPORTED, "only supported as the last node, producing the output");
    int64_t axis = attr_i(c->node, "axis", c->opset < 13 ? 1 : -1);
    if (axis < 0) axis += x->rank;
    if (x->rank != 2 || axis != 1)
        return node_err(c, GAD_EUNSUPPORTED, "only supported over the classes of a 2-D output");
    c->g->had_softmax = 1;
    return alias_out(c, x);
}

/* A zero-valued spatial Pad is not a layer of its own: it is remembered on
 * the value and absorbed by the Conv or AveragePool (count_include_pad) that
 * reads it; PyTorch emits such Pads before AvgPool2d. All-zero pads alias. */
static int op_pad(ctx *c) {
    entry *x;
    int rc;
    if ((rc = in_value(c, 0, 4, &x))) return rc;
    int64_t p[8] = {0};
    char buf[32];
    const char *mode = attr_s(c->node, "mode", buf, sizeof buf, "constant");
    float value = 0;
    if (c->opset < 11) {
        int got;
        if ((rc = attr_ints(c, "pads", p, 8, &got))) return rc;
        value = attr_f(c->node, "value", 0.f);
    } else {
        ctensor *t;
        if ((rc = in_const(c, 1, 0, &t))) return rc;
        if (t->type != T_INT || t->n != 8) return node_err(c, GAD_EUNSUPPORTED, "pads must have 8 integers");
        memcpy(p, t->i, sizeof p);
        int pres;
        if ((rc = scalar_of(c, 2, &value, &pres))) return rc;
        if (in_name(c->node, 3)) return node_err(c, GAD_EUNSUPPORTED, "input 'axes' not supported");
    }
    int zero = 1;
    for (int k = 0; k < 8; k++) {
        if (p[k] < 0 || p[k] > 65536) return node_err(c, GAD_EUNSUPPORTED, "negative or huge pads not supported");
        zero &= p[k] == 0;
    }
    if (zero) return alias_out(c, x);
    if (strcmp(mode, "constant") || value != 0)
        return node_err(c, GAD_EUNSUPPORTED, "only zero padding is supported (mode %s, value %g)", mode, value);
    if (p[0] || p[1] || p[4] || p[5])
        return node_err(c, GAD_EUNSUPPORTED, "padding of batch or channel dims not supported");
    if ((rc = alias_out(c, x))) return rc;
    entry *e = out_entry(c, 0);
    e->has_pad = 1;
    e->pad[0] = x->pad[0] + (int)p[2];
    e->pad[1] = x->pad[1] + (int)p[3];
    e->pad[2] = x->pad[2] + (int)p[6];
    e->pad[3] = x->pad[3] + (int)p[7];
    return 0;
}

/* Reshape: to [N, F] a Flatten; to the input's own per-image shape an alias
 * (both checked once shapes are known). */
static int op_reshape(ctx *c) {
    entry *x;
    ctensor *s;
    int rc, ni;
    if ((rc = in_value(c, 0, 0, &x)) || (rc = in_const(c, 1, 0, &s))) return rc;
    if (s->type != T_INT || s->nd != 1)
        return node_err(c, GAD_EUNSUPPORTED, "shape '%s' must be a 1-D integer tensor", in_name(c->node, 1));
    int64_t d[8];
    int nd = (int)s->n;
    if (nd != 2 && nd != 4)
        return node_err(c, GAD_EUNSUPPORTED, "reshape to rank %d not supported (only [N, -1] or the same shape)", nd);
    memcpy(d, s->i, (size_t)nd * sizeof(int64_t));
    /* a batch-1 (or fixed-batch) export folds x.size(0) into a number */
    if (d[0] != DIM_BATCH && d[0] != 0 && d[0] != 1 && d[0] != -1 && d[0] != c->batch)
        return node_err(c, GAD_EUNSUPPORTED, "reshape changes the batch dimension (%lld)", (long long)d[0]);
    for (int k = 1; k < nd; k++)
        if (d[k] == DIM_BATCH || d[k] == DIM_UNKNOWN || d[k] < -1)
            return node_err(c, GAD_EUNSUPPORTED, "shape could not be evaluated at load");
    if (d[0] == -1) {
        for (int k = 1; k < nd; k++)
            if (d[k] <= 0)
                return node_err(c, GAD_EUNSUPPORTED, "reshape with the batch dim inferred needs the other dims fixed");
    }
    gad_shape want = {0, {-1, -1, -1}};
    if (nd == 2) {
        want.nd = 1;
        want.d[0] = d[1] > 0 ? (int)d[1] : -1;
        if (d[1] == 0) return node_err(c, GAD_EUNSUPPORTED, "reshape to [N, 0] not supported");
        if (x->rank == 2) {
            if ((rc = alias_out(c, x))) return rc;
            return add_check(c, x->val, want, -1);
        }
        int in[1] = {x->val};
        if ((rc = emit(c, GAD_OP_FLATTEN, "Reshape", 1, in, 2, &ni))) return rc;
        return add_check(c, c->g->nodes[ni].out, want, ni);
    }
    if (x->rank != 4) return node_err(c, GAD_EUNSUPPORTED, "reshape of a 2-D tensor to 4-D not supported");
    want.nd = 3;
    for (int k = 1; k < 4; k++) want.d[k - 1] = d[k] > 0 ? (int)d[k] : -1;
    if ((rc = alias_out(c, x))) return rc;
    return add_check(c, x->val, want, -1);
}

/* ---- constant evaluation (shape sub-graphs) ----------------------------- */

static int op_constant(ctx *c) {
    const Onnx__AttributeProto *a;
    ctensor *t;
    int rc;
    if ((a = attr(c->node, "value")) && a->t) {
        if ((rc = decode_tensor(c, a->t, "Constant", &t))) return rc;
        return set_const_out(c, t);
    }
    if ((a = attr(c->node, "value_float")) && a->has_f) {
        if (!(t = ct_new(c, T_FLOAT, 0, NULL))) return oom(c);
        t->f[0] = a->f;
    } else if ((a = attr(c->node, "value_int")) && a->has_i) {
        if (!(t = ct_new(c, T_INT, 0, NULL))) return oom(c);
        t->i[0] = a->i;
    } else if ((a = attr(c->node, "value_floats"))) {
        int64_t n = (int64_t)a->n_floats;
        if (!(t = ct_new(c, T_FLOAT, 1, &n))) return oom(c);
        if (n) memcpy(t->f, a->floats, (size_t)n * sizeof(float));
    } else if ((a = attr(c->node, "value_ints"))) {
        int64_t n = (int64_t)a->n_ints;
        if (!(t = ct_new(c, T_INT, 1, &n))) return oom(c);
        if (n) memcpy(t->i, a->ints, (size_t)n * sizeof(int64_t));
    } else {
        return node_err(c, GAD_EUNSUPPORTED, "only tensor, float and int values are supported");
    }
    if (t->type == T_FLOAT)
        for (size_t k = 0; k < t->n; k++)
            if (isnan(t->f[k]) || (t->n > 1 && !isfinite(t->f[k])))
                return node_err(c, GAD_EVALUE, "value is NaN or infinite");
    return set_const_out(c, t);
}

static int op_shape(ctx *c) {
    const char *nm = in_name(c->node, 0);
    entry *e = find(c, nm);
    if (!e || e->kind == E_NONE) return node_err(c, GAD_EFORMAT, "input '%s' is missing", nm ? nm : "");
    int64_t dims[8];
    int r;
    if (e->kind == E_CONST) {
        r = e->c->nd;
        memcpy(dims, e->c->dims, sizeof dims);
    } else {
        r = e->rank;
        dims[0] = DIM_BATCH;
        for (int k = 1; k < r; k++) dims[k] = DIM_UNKNOWN;
    }
    int64_t start = attr_i(c->node, "start", 0), end = attr_i(c->node, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    if (start < 0) start = 0;
    if (end > r) end = r;
    int64_t n = end > start ? end - start : 0;
    ctensor *t = ct_new(c, T_INT, 1, &n);
    if (!t) return oom(c);
    for (int64_t k = 0; k < n; k++) t->i[k] = dims[start + k];
    return set_const_out(c, t);
}

static int op_gather(ctx *c) {
    ctensor *d, *ix;
    int rc;
    if ((rc = in_const(c, 0, 0, &d)) || (rc = in_const(c, 1, 0, &ix))) return rc;
    if (d->nd != 1 || d->type != T_INT || ix->type != T_INT || ix->nd > 1 || attr_i(c->node, "axis", 0) != 0)
        return node_err(c, GAD_EUNSUPPORTED, "only gathering from a 1-D shape tensor is supported");
    int64_t n = (int64_t)ix->n;
    ctensor *t = ct_new(c, T_INT, ix->nd, &n);
    if (!t) return oom(c);
    for (size_t k = 0; k < ix->n; k++) {
        int64_t j = ix->i[k];
        if (j < 0) j += d->dims[0];
        if (j < 0 || j >= d->dims[0]) return node_err(c, GAD_EFORMAT, "index %lld out of range", (long long)ix->i[k]);
        t->i[k] = d->i[j];
    }
    return set_const_out(c, t);
}

/* Unsqueeze/Squeeze of a constant: the data stays, only dims change. */
static int op_squeeze(ctx *c, int unsq) {
    ctensor *d, *ax = NULL;
    int rc;
    if ((rc = in_const(c, 0, 0, &d))) return rc;
    int64_t axes[8];
    int na = 0;
    if (c->opset >= 13) {
        if ((rc = in_const(c, 1, !unsq, &ax))) return rc;
        if (ax) {
            if (ax->type != T_INT || ax->n > 8) return node_err(c, GAD_EUNSUPPORTED, "bad axes");
            na = (int)ax->n;
            memcpy(axes, ax->i, (size_t)na * sizeof(int64_t));
        }
    } else if ((rc = attr_ints(c, "axes", axes, 0, &na))) {
        return rc;
    }
    int64_t dims[8];
    int nd = 0;
    if (unsq) {
        int r = d->nd + na;
        if (r > 8) return node_err(c, GAD_EUNSUPPORTED, "rank too large");
        int mark[8] = {0};
        for (int k = 0; k < na; k++) {
            int64_t a = axes[k] < 0 ? axes[k] + r : axes[k];
            if (a < 0 || a >= r) return node_err(c, GAD_EFORMAT, "axis out of range");
            mark[a] = 1;
        }
        int src = 0;
        for (int k = 0; k < r; k++) dims[nd++] = mark[k] ? 1 : d->dims[src++];
    } else {
        for (int k = 0; k < d->nd; k++) {
            int drop = 0;
            for (int q = 0; q < na; q++) drop |= (axes[q] < 0 ? axes[q] + d->nd : axes[q]) == k;
            if (!na) drop = d->dims[k] == 1;
            if (!drop) dims[nd++] = d->dims[k];
        }
    }
    /* Repeated unsqueeze axes or squeezing a dim other than 1 would change
     * the element count; the data copied below must fit. */
    int64_t cnt = 1;
    for (int k = 0; k < nd; k++) cnt *= dims[k];
    if (cnt != (int64_t)d->n)
        return node_err(c, GAD_EFORMAT, "axes change the element count (repeated axis or a dim other than 1)");
    ctensor *t = ct_new(c, d->type, nd, dims);
    if (!t) return oom(c);
    if (d->type == T_FLOAT) memcpy(t->f, d->f, d->n * sizeof(float));
    else memcpy(t->i, d->i, d->n * sizeof(int64_t));
    return set_const_out(c, t);
}

static int op_cast(ctx *c) {
    ctensor *d;
    int rc;
    if ((rc = in_const(c, 0, 0, &d))) return rc;
    int64_t to = attr_i(c->node, "to", 0);
    int type = to == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? T_FLOAT
             : (to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 || to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32) ? T_INT : 0;
    if (!type) return node_err(c, GAD_EUNSUPPORTED, "cast to %s not supported", dtype_name((int)to));
    ctensor *t = ct_new(c, type, d->nd, d->dims);
    if (!t) return oom(c);
    for (size_t k = 0; k < d->n; k++) {
        if (type == T_FLOAT) t->f[k] = (float)ct_get(d, k);
        else t->i[k] = d->type == T_INT ? d->i[k] : (int64_t)d->f[k];
    }
    return set_const_out(c, t);
}

/* ---- driver ------------------------------------------------------------- */

/* ReduceMean over the spatial axes is a global average pool (PyTorch
 * exports x.mean((2, 3)) so); without keepdims a flatten follows. */
static int op_reducemean(ctx *c) {
    entry *x;
    int rc, ni, got;
    if ((rc = in_value(c, 0, 4, &x))) return rc;
    int64_t axes[8];
    if ((rc = attr_ints(c, "axes", axes, 0, &got))) return rc;
    int mask = 0;
    for (int i = 0; i < got; i++) mask |= 1 << (int)(axes[i] < 0 ? axes[i] + 4 : axes[i]);
    if (got != 2 || mask != 0xc)
        return node_err(c, GAD_EUNSUPPORTED, "only the mean over axes (2, 3) is supported");
    int in[1] = {x->val};
    if (attr_i(c->node, "keepdims", 1)) return emit(c, GAD_OP_GLOBAL_AVGPOOL, "ReduceMean", 1, in, 4, &ni);
    char name[512];
    snprintf(name, sizeof name, "%s/keepdims", c->node_name);
    int v = gad_graph_add_value(c->g, name);
    if (v < 0) return oom(c);
    int gi = gad_graph_add_node(c->g, GAD_OP_GLOBAL_AVGPOOL, c->node_name, "ReduceMean", 1, in, v);
    if (gi < 0) return oom(c);
    c->g->values[v].producer = gi;
    in[0] = v;
    return emit(c, GAD_OP_FLATTEN, "ReduceMean", 1, in, 2, &ni);
}

static int convert_node(ctx *c) {
    const char *op = c->node->op_type ? c->node->op_type : "";
    if (c->node->domain && c->node->domain[0] && strcmp(c->node->domain, "ai.onnx"))
        return node_err(c, GAD_EUNSUPPORTED, "operator domain '%s' not supported", c->node->domain);
    if (!strcmp(op, "Conv")) return op_conv(c);
    if (!strcmp(op, "BatchNormalization")) return op_batchnorm(c);
    if (!strcmp(op, "Relu")) return op_unary(c, GAD_OP_RELU, 0, 0);
    if (!strcmp(op, "LeakyRelu")) return op_unary(c, GAD_OP_LEAKY_RELU, attr_f(c->node, "alpha", 0.01f), 0);
    if (!strcmp(op, "Sigmoid")) return op_unary(c, GAD_OP_SIGMOID, 0, 0);
    if (!strcmp(op, "Clip")) return op_clip(c);
    if (!strcmp(op, "MaxPool")) return op_pool(c, 1);
    if (!strcmp(op, "AveragePool")) return op_pool(c, 0);
    if (!strcmp(op, "GlobalAveragePool")) {
        entry *x;
        int rc, ni;
        if ((rc = in_value(c, 0, 4, &x))) return rc;
        int in[1] = {x->val};
        return emit(c, GAD_OP_GLOBAL_AVGPOOL, op, 1, in, 4, &ni);
    }
    if (!strcmp(op, "Flatten")) return op_flatten(c);
    if (!strcmp(op, "ReduceMean")) return op_reducemean(c);
    if (!strcmp(op, "Reshape")) return op_reshape(c);
    if (!strcmp(op, "Gemm")) return op_gemm(c);
    if (!strcmp(op, "MatMul")) return op_matmul(c);
    if (!strcmp(op, "Add")) return op_add_mul(c, 0);
    if (!strcmp(op, "Mul")) return op_add_mul(c, 1);
    if (!strcmp(op, "Concat")) return op_concat(c);
    if (!strcmp(op, "Dropout") || !strcmp(op, "Identity")) return op_alias(c);
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) return op_softmax(c);
    if (!strcmp(op, "Pad")) return op_pad(c);
    if (!strcmp(op, "Constant")) return op_constant(c);
    if (!strcmp(op, "Shape")) return op_shape(c);
    if (!strcmp(op, "Gather")) return op_gather(c);
    if (!strcmp(op, "Unsqueeze")) return op_squeeze(c, 1);
    if (!strcmp(op, "Squeeze")) return op_squeeze(c, 0);
    if (!strcmp(op, "Cast")) return op_cast(c);
    return node_err(c, GAD_EUNSUPPORTED, "operator not supported");
}

static void set_node_name(ctx *c, const Onnx__NodeProto *n, int idx) {
    c->node = n;
    if (n->name && n->name[0])
        snprintf(c->node_name, sizeof c->node_name, "%s", n->name);
    else
        snprintf(c->node_name, sizeof c->node_name, "%s_%d", n->op_type ? n->op_type : "node", idx);
}

/* Find the image input: the one graph input that is no initializer. */
static int setup_input(ctx *c) {
    Onnx__GraphProto *gp = c->gp;
    const Onnx__ValueInfoProto *img = NULL;
    for (size_t k = 0; k < gp->n_input; k++) {
        const Onnx__ValueInfoProto *vi = gp->input[k];
        entry *e = find(c, vi->name);
        if (e && e->kind == E_CONST) continue;
        if (img)
            return gad_err_set(c->err, GAD_EUNSUPPORTED,
                               "%s: more than one graph input ('%s', '%s'); exactly one image input is supported",
                               c->path, img->name, vi->name);
        img = vi;
    }
    if (!img) return gad_err_set(c->err, GAD_EFORMAT, "%s: the graph has no image input", c->path);
    const char *nm = img->name ? img->name : "";
    const Onnx__TypeProto *tp = img->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: input '%s' is not a tensor", c->path, nm);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt->has_elem_type || tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: input '%s' has type %s; float is required",
                           c->path, nm, dtype_name(tt->has_elem_type ? tt->elem_type : 0));
    if (!tt->shape || tt->shape->n_dim != 4)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: input '%s' must be 4-D [N, C, H, W] (has rank %zu)",
                           c->path, nm, tt->shape ? tt->shape->n_dim : (size_t)0);
    int64_t d[4];
    for (int k = 0; k < 4; k++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[k];
        d[k] = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? dm->dim_value : -1;
    }
    if (d[1] < 1 || d[1] > 65536)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: input '%s' must have a fixed channel count", c->path, nm);
    if ((d[2] < 0) != (d[3] < 0))
        return gad_err_set(c->err, GAD_EUNSUPPORTED,
                           "%s: input '%s' has one free and one fixed spatial dim; both or neither must be free",
                           c->path, nm);
    if ((d[2] == 0 || d[3] == 0) || d[2] > 65536 || d[3] > 65536)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: input '%s' has spatial size %lldx%lld",
                           c->path, nm, (long long)d[2], (long long)d[3]);
    gad_graph *g = c->g;
    c->batch = d[0] > 0 ? d[0] : -1;
    g->in_c = (int)d[1];
    g->free_hw = d[2] < 0;
    g->in_h = g->free_hw ? 0 : (int)d[2];
    g->in_w = g->free_hw ? 0 : (int)d[3];
    if (!(g->input_name = strdup(nm))) return oom(c);
    int v = gad_graph_add_value(g, nm);
    if (v < 0) return oom(c);
    g->input = v;
    entry *e = get_or_add(c, nm);
    if (!e) return oom(c);
    if (e->kind != E_NONE)
        return gad_err_set(c->err, GAD_EFORMAT, "%s: input '%s' is defined twice", c->path, nm);
    e->kind = E_VALUE;
    e->val = v;
    e->rank = 4;
    return 0;
}

static void heap_push(int *h, int *n, int v) {
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static int heap_pop(int *h, int *n) {
    int top = h[0], v = h[--*n], i = 0;
    for (;;) {
        int l = 2 * i + 1, m = l + 1 < *n && h[l + 1] < h[l] ? l + 1 : l;
        if (l >= *n || h[m] >= v) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = v;
    return top;
}

/* Kahn's algorithm over ONNX nodes; order[] receives node indices. */
static int topo_sort(ctx *c, int *order) {
    Onnx__GraphProto *gp = c->gp;
    int n = (int)gp->n_node;
    int *pending = calloc((size_t)n + 1, sizeof(int));
    int *queue = calloc((size_t)n + 1, sizeof(int));
    char *done = calloc((size_t)n + 1, 1);
    int *first = calloc((size_t)n + 2, sizeof(int)); /* CSR: edges of producer i */
    size_t n_edges = 0;
    for (int i = 0; i < n; i++) n_edges += gp->node[i]->n_input;
    int *edge = malloc((n_edges + 1) * sizeof(int));
    int rc = 0;
    if (!pending || !queue || !done || !first || !edge) {
        rc = oom(c);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const Onnx__NodeProto *nd = gp->node[i];
        for (size_t k = 0; k < nd->n_input; k++) {
            if (!in_name(nd, k)) continue;
            entry *e = find(c, in_name(nd, k));
            if (!e || (e->kind == E_NONE && e->producer < 0)) {
                set_node_name(c, nd, i);
                rc = node_err(c, GAD_EFORMAT,
                              "input '%s' is not defined (no initializer, graph input or node output)",
                              in_name(nd, k));
                goto out;
            }
            if (e->producer >= 0) {
                pending[i]++;
                first[e->producer + 1]++;
            }
        }
    }
    for (int i = 0; i < n; i++) first[i + 1] += first[i];
    {
        int *fill = queue; /* borrowed as a cursor array before the heap */
        for (int i = 0; i < n; i++) fill[i] = first[i];
        for (int i = 0; i < n; i++) {
            const Onnx__NodeProto *nd = gp->node[i];
            for (size_t k = 0; k < nd->n_input; k++) {
                entry *e = find(c, in_name(nd, k));
                if (e && e->producer >= 0) edge[fill[e->producer]++] = i;
            }
        }
    }
    /* Ready nodes leave a min-heap by file position, so a file that is
     * already sorted keeps its order (layer lists read like the source). */
    int hn = 0, cnt = 0;
    for (int i = 0; i < n; i++)
        if (!pending[i]) heap_push(queue, &hn, i);
    while (hn) {
        int i = heap_pop(queue, &hn);
        order[cnt++] = i;
        done[i] = 1;
        /* one edge per (consumer, input slot), as counted in pending */
        for (int q = first[i]; q < first[i + 1]; q++)
            if (--pending[edge[q]] == 0) heap_push(queue, &hn, edge[q]);
    }
    if (cnt < n) {
        for (int i = 0; i < n; i++)
            if (!done[i]) {
                set_node_name(c, gp->node[i], i);
                rc = node_err(c, GAD_EFORMAT, "is part of a cycle (nodes cannot be ordered)");
                break;
            }
    }
out:
    free(pending), free(queue), free(done), free(first), free(edge);
    return rc;
}

static int build(ctx *c) {
    Onnx__ModelProto *m = c->m;
    Onnx__GraphProto *gp = m->graph;
    gad_graph *g = c->g;
    int rc;
    if (!gp) return gad_err_set(c->err, GAD_EFORMAT, "%s: not a valid ONNX model (no graph)", c->path);
    c->gp = gp;

    /* opset of the default domain */
    int64_t opset = -1;
    for (size_t k = 0; k < m->n_opset_import; k++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[k];
        if (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")) opset = o->has_version ? o->version : -1;
    }
    if (opset < 0)
        return gad_err_set(c->err, GAD_EFORMAT, "%s: not a valid ONNX model (no opset for the default domain)", c->path);
    if (opset < 9 || opset > 17)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: opset %lld not supported (9 to 17 are)", c->path,
                           (long long)opset);
    c->opset = g->opset = opset;
    char prod[256];
    snprintf(prod, sizeof prod, "%s%s%s", m->producer_name ? m->producer_name : "",
             m->producer_version && m->producer_version[0] ? " " : "",
             m->producer_version ? m->producer_version : "");
    if (!(g->producer = strdup(prod))) return oom(c);

    if (!gp->n_node) return gad_err_set(c->err, GAD_EFORMAT, "%s: the graph has no nodes", c->path);
    if (gp->n_node > 1000000) return gad_err_set(c->err, GAD_ELIMIT, "%s: too many nodes", c->path);
    if (gp->n_output != 1) {
        char names[200] = "";
        for (size_t k = 0; k < gp->n_output && k < 4; k++) {
            size_t l = strlen(names);
            snprintf(names + l, sizeof names - l, "%s'%s'", k ? ", " : " (",
                     k < 3 ? (gp->output[k]->name ? gp->output[k]->name : "") : "...");
        }
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: the graph has %zu outputs%s%s; exactly one is supported",
                           c->path, gp->n_output, names, gp->n_output ? ")" : "");
    }
    if (gp->n_sparse_initializer)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: sparse initializers not supported", c->path);

    /* name table, sized for every name the file can define */
    size_t names = gp->n_initializer + gp->n_input + 1;
    for (size_t i = 0; i < gp->n_node; i++) names += gp->node[i]->n_output;
    if (names > ((size_t)1 << 26)) return gad_err_set(c->err, GAD_ELIMIT, "%s: too many tensors", c->path);
    c->hcap = 16;
    while ((size_t)c->hcap < 2 * names + 2) c->hcap *= 2;
    if (!(c->htab = malloc((size_t)c->hcap * sizeof(int)))) return oom(c);
    memset(c->htab, 0xff, (size_t)c->hcap * sizeof(int));

    /* The initializers' declared sizes, summed with overflow checks, must
     * fit the byte limit before any of them is decoded: dims are what the
     * decoder allocates from, and a few bytes of protobuf can declare
     * terabytes. */
    {
        int64_t total = 0;
        for (size_t k = 0; k < gp->n_initializer; k++) {
            const Onnx__TensorProto *tp = gp->initializer[k];
            /* bytes once decoded: float32, or integers widened to int64 */
            int64_t n = tp->has_data_type && tp->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 8 : 4;
            for (size_t d = 0; d < tp->n_dims && n >= 0; d++) {
                if (tp->dims[d] < 0) n = -1;
                else if (tp->dims[d] > 0 && n > c->max_bytes / tp->dims[d]) n = INT64_MAX;
                else n *= tp->dims[d];
            }
            if (n < 0) continue; /* decode_tensor names the negative dim */
            if (n > c->max_bytes - total)
                return gad_err_set(c->err, GAD_ELIMIT,
                                   "%s: initializer '%s' brings the weights above the limit of %lld "
                                   "bytes (--max-model-bytes)",
                                   c->path, tp->name && tp->name[0] ? tp->name : "?",
                                   (long long)c->max_bytes);
            total += n;
        }
    }

    /* initializers */
    for (size_t k = 0; k < gp->n_initializer; k++) {
        const Onnx__TensorProto *tp = gp->initializer[k];
        if (!tp->name || !tp->name[0])
            return gad_err_set(c->err, GAD_EFORMAT, "%s: initializer %zu has no name", c->path, k);
        entry *e = get_or_add(c, tp->name);
        if (!e) return oom(c);
        if (e->kind != E_NONE)
            return gad_err_set(c->err, GAD_EFORMAT, "%s: initializer '%s' is defined twice", c->path, tp->name);
        if ((rc = decode_tensor(c, tp, "initializer", &e->c))) return rc;
        e->kind = E_CONST;
        /* drop the protobuf's copy now: big models would otherwise be held
         * three times (file bytes, protobuf, decoded) */
        Onnx__TensorProto *mt = gp->initializer[k];
        if (mt->has_raw_data && mt->raw_data.data) {
            free(mt->raw_data.data); /* unpacked with the default (malloc) allocator */
            mt->raw_data.data = NULL;
            mt->raw_data.len = 0;
        }
    }
    if ((rc = setup_input(c))) return rc;

    /* node outputs and use counts */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *nd = gp->node[i];
        set_node_name(c, nd, (int)i);
        for (size_t o = 0; o < nd->n_output; o++) {
            if (!nd->output[o] || !nd->output[o][0]) continue;
            entry *e = get_or_add(c, nd->output[o]);
            if (!e) return oom(c);
            if (e->kind != E_NONE || e->producer >= 0)
                return node_err(c, GAD_EFORMAT, "output '%s' is already defined elsewhere", nd->output[o]);
            e->producer = (int)i;
        }
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *nd = gp->node[i];
        for (size_t k = 0; k < nd->n_input; k++) {
            entry *e = find(c, in_name(nd, k));
            if (e) e->uses++;
        }
    }
    const char *oname = gp->output[0]->name ? gp->output[0]->name : "";
    entry *oe = find(c, oname);
    if (!oe || (oe->producer < 0 && oe->kind != E_VALUE))
        return gad_err_set(c->err, GAD_EFORMAT, "%s: output '%s' is not produced by any node", c->path, oname);
    oe->uses++;
    if (!(g->output_name = strdup(oname))) return oom(c);

    int *order = malloc(gp->n_node * sizeof(int));
    if (!order) return oom(c);
    if ((rc = topo_sort(c, order))) {
        free(order);
        return rc;
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        set_node_name(c, gp->node[order[i]], order[i]);
        if ((rc = convert_node(c))) break;
    }
    free(order);
    if (rc) return rc;

    oe = find(c, oname);
    if (oe->kind != E_VALUE || oe->val < 0)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: output '%s' is a constant, not computed from the input",
                           c->path, oname);
    if (oe->has_pad)
        return gad_err_set(c->err, GAD_EUNSUPPORTED, "%s: output '%s' comes from a Pad", c->path, oname);
    if (oe->val == g->input || !g->n_nodes)
        return gad_err_set(c->err, GAD_EFORMAT, "%s: the graph computes nothing (output is the input)", c->path);
    g->output = oe->val;

    /* consumer counts on gad values */
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) g->values[g->nodes[i].in[k]].n_consumers++;
    g->values[g->output].n_consumers++;
    return 0;
}

/* Shape checks queued by Reshape, run once shapes are known. */
static int run_checks(ctx *c) {
    for (int i = 0; i < c->n_checks; i++) {
        const check *k = &c->checks[i];
        const gad_shape *s = &c->g->values[k->val].shape;
        int ok = s->nd == k->want.nd;
        for (int d = 0; ok && d < s->nd; d++) ok = k->want.d[d] < 0 || k->want.d[d] == s->d[d];
        if (!ok)
            return gad_err_set(c->err, GAD_EUNSUPPORTED,
                               "%s: Reshape of '%s' to a shape other than [N, -1] or its own shape "
                               "(per image %d-D %d,%d,%d) not supported",
                               c->path, c->g->values[k->val].name, s->nd, s->d[0], s->d[1], s->d[2]);
    }
    return 0;
}

/* `owned`: data is a malloc'd copy the loader may free once unpacked. */
static int load_impl(const void *data, size_t size, int owned, const char *name, int64_t max_bytes,
                     gad_model **out, gad_err *err) {
    ctx c;
    memset(&c, 0, sizeof c);
    c.path = name;
    c.err = err;
    c.max_bytes = max_bytes;
    c.m = onnx__model_proto__unpack(NULL, size, data);
    if (owned) free((void *)data);
    if (!c.m) return gad_err_set(err, GAD_EFORMAT, "%s: not a valid ONNX model (protobuf parse failed)", name);
    c.g = gad_graph_new(name);
    int rc = c.g ? build(&c) : oom(&c);
    if (!rc && !c.g->free_hw) {
        rc = gad_graph_infer_shapes(c.g, err);
        if (!rc) rc = run_checks(&c);
    }
    for (int i = 0; i < c.n_cts; i++) {
        free(c.cts[i]->f);
        free(c.cts[i]->i);
        free(c.cts[i]);
    }
    free(c.cts);
    free(c.ents);
    free(c.htab);
    free(c.checks);
    onnx__model_proto__free_unpacked(c.m, NULL);
    if (rc) {
        gad_graph_free(c.g);
        return rc;
    }
    *out = c.g;
    return 0;
}

static int64_t limit_bytes(const gad_model_limits *lim) {
    if (!lim || lim->max_bytes <= 0 || lim->max_bytes > GAD_DEFAULT_MAX_MODEL_BYTES)
        return GAD_DEFAULT_MAX_MODEL_BYTES;
    return lim->max_bytes;
}

int gad_model_load_mem_ex(const void *data, size_t size, const char *name,
                          const gad_model_limits *lim, gad_model **out, gad_err *err) {
    if (out) *out = NULL;
    if (!name) name = "<memory>";
    if (!out || (!data && size))
        return gad_err_set(err, GAD_EINVAL, "%s: invalid argument to gad_model_load_mem", name);
    if (!size) return gad_err_set(err, GAD_EFORMAT, "%s: empty file", name);
    int64_t max = limit_bytes(lim);
    if ((uint64_t)size > (uint64_t)max)
        return gad_err_set(err, GAD_ELIMIT, "%s: %zu bytes exceeds the model size limit of %lld bytes",
                           name, size, (long long)max);
    return load_impl(data, size, 0, name, max, out, err);
}

int gad_model_load_mem(const void *data, size_t size, const char *name, gad_model **out, gad_err *err) {
    return gad_model_load_mem_ex(data, size, name, NULL, out, err);
}

int gad_model_load(const char *path, gad_model **out, gad_err *err) {
    return gad_model_load_ex(path, NULL, out, err);
}

int gad_model_load_ex(const char *path, const gad_model_limits *lim, gad_model **out, gad_err *err) {
    if (out) *out = NULL;
    if (!path || !out) return gad_err_set(err, GAD_EINVAL, "gad_model_load: path and out are required");
    int64_t max = limit_bytes(lim);
    struct stat st;
    if (stat(path, &st))
        return gad_err_set(err, errno == ENOENT ? GAD_ENOTFOUND : GAD_EIO, "%s: cannot open (%s)", path,
                           strerror(errno));
    if (S_ISDIR(st.st_mode)) return gad_err_set(err, GAD_EIO, "%s: is a directory, not an ONNX file", path);
    if (!S_ISREG(st.st_mode)) return gad_err_set(err, GAD_EIO, "%s: not a regular file", path);
    if (st.st_size == 0) return gad_err_set(err, GAD_EFORMAT, "%s: empty file", path);
    if ((uint64_t)st.st_size > (uint64_t)max)
        return gad_err_set(err, GAD_ELIMIT, "%s: %lld bytes exceeds the model size limit of %lld bytes",
                           path, (long long)st.st_size, (long long)max);
    FILE *f = fopen(path, "rb");
    if (!f) return gad_err_set(err, GAD_EIO, "%s: cannot open (%s)", path, strerror(errno));
    size_t size = (size_t)st.st_size;
    unsigned char *buf = malloc(size);
    if (!buf) {
        fclose(f);
        return gad_err_set(err, GAD_ENOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = fread(buf, 1, size, f);
    int extra = fgetc(f) != EOF; /* the file grew while reading */
    int ferr = ferror(f);
    fclose(f);
    if (got != size || extra || ferr) {
        free(buf);
        return gad_err_set(err, GAD_EIO, "%s: read %zu of %zu bytes (file changed or read error)", path, got, size);
    }
    return load_impl(buf, size, 1, path, max, out, err);
}
