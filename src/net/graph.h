/* graph.h — gad's internal network graph: what the ONNX importer produces,
 * what shape inference annotates and what the execution plan compiles.
 *
 * The graph is already normalised for the engine:
 *   - nodes are in topological order;
 *   - BatchNormalization is folded into the preceding Conv, or, when there is
 *     none, became a depthwise 1x1 Conv (group = C) holding the affine map;
 *     a Mul by a per-channel constant is the same depthwise Conv (no bias);
 *   - Dropout, Identity and shape-preserving Reshapes are gone (aliased);
 *   - Gemm and MatMul(+Add) became GAD_OP_GEMM with weights [out, in];
 *   - a Softmax at the output was stripped (graph.had_softmax = 1).
 * Shapes are per image (the batch dimension is left out): 3-D (C, H, W) for
 * feature maps, 1-D (F) after Flatten/Gemm.
 */
#ifndef GAD_NET_GRAPH_H
#define GAD_NET_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "gad/gad.h"

typedef enum gad_op {
    GAD_OP_CONV,        /* weight OIHW [O, I/group, kh, kw], optional bias [O] */
    GAD_OP_RELU,
    GAD_OP_LEAKY_RELU,  /* alpha = negative slope */
    GAD_OP_CLIP,        /* alpha = min, beta = max (ReLU6: 0, 6) */
    GAD_OP_SIGMOID,
    GAD_OP_MAXPOOL,     /* kernel, stride, pads, dilation, ceil_mode */
    GAD_OP_AVGPOOL,     /* kernel, stride, pads, ceil_mode, count_include_pad */
    GAD_OP_GLOBAL_AVGPOOL, /* output (C, 1, 1) */
    GAD_OP_FLATTEN,     /* (C, H, W) -> (C*H*W), NCHW order; 1-D input: no-op */
    GAD_OP_GEMM,        /* weight [out, in], optional bias [out]; 1-D in/out */
    GAD_OP_ADD,         /* two inputs of equal shape (residual) */
    GAD_OP_MUL_SCALAR,  /* y = alpha * x */
    GAD_OP_CONCAT,      /* channel concat of 3-D inputs (n_in >= 2) */
    GAD_OP_COUNT_
} gad_op;

/* Name of an op for messages and `gad info` ("Conv", "MaxPool", ...). */
const char *gad_op_name(gad_op op);

typedef struct gad_shape {
    int nd;    /* 3: (C, H, W); 1: (F); 0: not yet inferred */
    int d[3];
} gad_shape;

typedef struct gad_value {
    char *name;       /* ONNX tensor name */
    gad_shape shape;  /* per image, filled by gad_graph_infer_shapes */
    int producer;     /* index of producing node, -1 for the graph input */
    int n_consumers;  /* number of (node, input slot) uses, +1 if output */
} gad_value;

typedef struct gad_param {
    char *name;
    int nd;
    int64_t dims[4];
    size_t count;
    float *data;      /* owned by the graph */
} gad_param;

typedef struct gad_node {
    gad_op op;
    char *name;       /* ONNX node name, or generated "<op>_<index>" */
    char *onnx_op;    /* what the file had, e.g. "Conv+BatchNormalization" */
    int n_in;
    int *in;          /* value indices */
    int out;          /* value index */
    int weight, bias; /* parameter indices or -1 (CONV, GEMM) */
    int group;        /* CONV */
    int kernel[2];    /* kh, kw (CONV: from weight; pools: attribute) */
    int stride[2];
    int dilation[2];  /* ONNX convention: 1 = dense */
    int pad[4];       /* top, left, bottom, right */
    int ceil_mode;    /* pools */
    int count_include_pad; /* AVGPOOL */
    float alpha, beta;
} gad_node;

struct gad_model {
    char *path;           /* file or name given at load */
    int64_t opset;
    char *producer;       /* producer_name + version from the file */
    char *input_name, *output_name;
    int input;            /* value index of the image input */
    int output;           /* value index of the logits */
    int in_c, in_h, in_w; /* per-image input dims; h = w = 0 when free */
    int free_hw;          /* input had symbolic H/W in the file */
    int had_softmax;

    gad_value *values;
    int n_values;
    gad_node *nodes;
    int n_nodes;
    gad_param *params;
    int n_params;
};
typedef struct gad_model gad_graph;

/* Infer every value's per-image shape from in_c/in_h/in_w. Fails (with the
 * node's name and op in the message) on any inconsistency: channel or group
 * mismatch, pooling window larger than its padded input, unequal Add
 * operands, Gemm input width not matching its weight, etc. */
int gad_graph_infer_shapes(gad_graph *g, gad_err *err);

/* Trainable parameter count and forward FLOPs of node i (shapes inferred). */
int64_t gad_node_params(const gad_graph *g, int i);
int64_t gad_node_flops(const gad_graph *g, int i);

/* Free everything the graph owns (and the graph). */
void gad_graph_free(gad_graph *g);

/* ---- building, used by the importer and by tests --------------------- */
gad_graph *gad_graph_new(const char *path);
int gad_graph_add_value(gad_graph *g, const char *name);           /* -> index */
int gad_graph_add_param(gad_graph *g, const char *name, int nd,
                        const int64_t *dims, const float *data);   /* copies */
int gad_graph_add_node(gad_graph *g, gad_op op, const char *name,
                       const char *onnx_op, int n_in, const int *in, int out);
/* Give g (which has no parameters yet) the parameters of `from`, same
 * order, the data not copied: g reads from's weights, and from must outlive
 * g. Returns 0 or -1 (ENOMEM). */
int gad_graph_share_params(gad_graph *g, const gad_graph *from);

/* The linear head of a model: when its first node is a Conv reading the
 * image input and nothing else reads that input, *head becomes a graph of
 * that Conv alone (image -> pre-activation) and *body the rest (the
 * pre-activation -> logits); both read g's parameters (g must outlive
 * them). Returns 1 when split, 0 when g has no such head (both NULL), or a
 * negative status with err set. Integrated Gradients uses it: the head is
 * affine, so along the path x' + a (x - x') its output is the same blend of
 * head(x') and head(x), and its input gradients sum to the head's backward
 * of the summed pre-activation gradients (see attr.c). */
int gad_graph_split_head(const gad_graph *g, gad_graph **head, gad_graph **body, gad_err *err);

/* Node defaults after add: weight = bias = -1, group = 1, stride = dilation
 * = 1, pads 0, kernel 0, alpha = beta = 0. Returns node index or -1 (ENOMEM). */

#endif
