/* gad/model.h — a CNN image classifier loaded from ONNX.
 *
 * gad_model_load reads an ONNX file (as exported by PyTorch, opsets 9-17) into
 * gad's own graph: BatchNormalization is folded into the preceding Conv (or,
 * when it has none, kept as a per-channel affine layer), Dropout and Identity
 * vanish, a trailing Softmax is removed so the model's output is its logits,
 * and constant shape sub-graphs (Shape/Gather/Unsqueeze/Concat feeding a
 * Reshape) are evaluated. Anything the engine cannot differentiate is refused
 * with a message naming the node, its op type and the file.
 *
 * The model owns its parameters (float32, ONNX layouts: conv weights OIHW,
 * fully-connected weights [out, in]). Plans copy them at creation; after
 * changing parameters (fine-tuning), call gad_plan_load_weights on each plan.
 */
#ifndef GAD_MODEL_H
#define GAD_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gad_err;
typedef struct gad_model gad_model;

/* Load from a file / from memory (`name` is used in messages). */
int gad_model_load(const char *path, gad_model **out, struct gad_err *err);
int gad_model_load_mem(const void *data, size_t size, const char *name,
                       gad_model **out, struct gad_err *err);

/* Limits checked before anything sized by the file is allocated. */
#define GAD_DEFAULT_MAX_MODEL_BYTES ((int64_t)2 << 30) /* ONNX's own 2 GiB protobuf limit */
typedef struct gad_model_limits {
    /* Refuse files larger than this, and models whose initializers together
     * declare more bytes than this (float32 = 4 bytes an element). 0 or
     * above the default: the default. */
    int64_t max_bytes;
} gad_model_limits;
/* As gad_model_load / gad_model_load_mem with explicit limits (NULL: defaults). */
int gad_model_load_ex(const char *path, const gad_model_limits *lim, gad_model **out,
                      struct gad_err *err);
int gad_model_load_mem_ex(const void *data, size_t size, const char *name,
                          const gad_model_limits *lim, gad_model **out,
                          struct gad_err *err);
void gad_model_free(gad_model *m);

/* Deep copy (parameters included): the starting point of a support model. */
int gad_model_clone(const gad_model *m, gad_model **out, struct gad_err *err);

/* Input geometry per image: channels, height, width. For models exported
 * with free spatial dims, height and width are 0 until set. */
void gad_model_input_dims(const gad_model *m, int *c, int *h, int *w);
/* Fix free spatial dims (or confirm fixed ones); re-infers every shape. */
int gad_model_set_input_size(gad_model *m, int h, int w, struct gad_err *err);
/* Number of logits (classes). */
int gad_model_num_classes(const gad_model *m);
/* Path or name the model was loaded from. */
const char *gad_model_name(const gad_model *m);
/* 1 when a Softmax at the output was removed at load. */
int gad_model_had_softmax(const gad_model *m);

/* ---- layers, for `gad info` and reports -------------------------------- */
typedef struct gad_layer_info {
    const char *name;    /* ONNX node name (or a generated one) */
    const char *op;      /* gad op name, e.g. "Conv", "MaxPool" */
    const char *onnx_op; /* op type in the file, e.g. "Conv+BatchNormalization" */
    int out_nd;          /* per-image output rank: 3 (C,H,W) or 1 (features) */
    int out_dims[3];
    int64_t params;      /* trainable parameter count */
    int64_t flops;       /* forward FLOPs for one image (multiply-add = 2) */
} gad_layer_info;

int gad_model_num_layers(const gad_model *m);
int gad_model_layer(const gad_model *m, int i, gad_layer_info *info);
int64_t gad_model_total_params(const gad_model *m);
int64_t gad_model_total_flops(const gad_model *m);

/* ---- parameters, for fine-tuning ---------------------------------------- */
typedef struct gad_param_info {
    const char *name; /* initializer name (or generated for folded BN) */
    int nd;
    int64_t dims[4];
    size_t count;
    float *data; /* owned by the model, writable */
} gad_param_info;

int gad_model_num_params(const gad_model *m);
int gad_model_param(const gad_model *m, int i, gad_param_info *info);

/* Write the model as a self-contained ONNX file (current parameters). */
int gad_model_save(const gad_model *m, const char *path, struct gad_err *err);

#ifdef __cplusplus
}
#endif

#endif
