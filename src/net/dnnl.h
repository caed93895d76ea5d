/* net/dnnl.h — the one adapter between gad and oneDNN 2.x.
 *
 * Every oneDNN call lives in dnnl.c; the plan speaks to it through small
 * integer handles:
 *   - a "mem" is a tensor (memory descriptor + memory object). Its buffer is
 *     owned by the context, shared scratch, a view of another mem, or
 *     supplied by the user at run time (gad_dnn_set_handle);
 *   - a "list" is a sequence of primitive executions ("steps"), built once and
 *     run many times. Steps carry flags so one list can hold optional work.
 * Nothing is allocated after gad_dnn_finalize; running a list only executes
 * primitives.
 */
#ifndef GAD_NET_DNNL_H
#define GAD_NET_DNNL_H

#include <stddef.h>

#include "net/graph.h"

typedef struct gad_dnn gad_dnn;

/* Step flags: a step runs only when all its flags are in the run mask. */
enum {
    GAD_DNN_GUIDED = 1 << 0, /* guided-backprop masking after a ReLU backward */
};

/* Shared scratch kinds for gad_dnn_mem_scratch. */
enum { GAD_DNN_SCRATCH_G = 0, GAD_DNN_SCRATCH_C = 1 };

/* `g` names the model in messages; `training` keeps what backward needs
 * (max-pool workspaces); `weights` adds weight-gradient steps. */
int gad_dnn_create(const gad_graph *g, int batch, int training, int weights, gad_dnn **out,
                   gad_err *err);
void gad_dnn_free(gad_dnn *d);

/* Before any node is added: the backward-data passes of convolutions and
 * inner products read bf16 weights and a bf16 copy of their output gradient
 * and accumulate in f32; everything else (forward, activations, the
 * gradients between layers) stays f32. Refused when oneDNN's CPU ISA lacks
 * bf16 dot products. */
int gad_dnn_set_bf16(gad_dnn *d, gad_err *err);

/* Before any node is added: parameter mems whose layout matches the
 * finalized `donor`'s (same graph) use its buffers instead of copies, and
 * get no load step here (the donor loads them). The donor must outlive d.
 * Returns -1 when donor cannot serve (other graph, not finalized). */
int gad_dnn_share_weights(gad_dnn *d, const gad_dnn *donor);

/* Allocate every buffer, create every memory object, zero owned buffers. */
int gad_dnn_finalize(gad_dnn *d, gad_err *err);
size_t gad_dnn_bytes(const gad_dnn *d);

int gad_dnn_list_new(gad_dnn *d);
int gad_dnn_run(gad_dnn *d, int list, unsigned mask, gad_err *err);

/* A plain (nchw for 4-D, nc for 2-D) mem. user: buffer given at run time. */
int gad_dnn_mem_plain(gad_dnn *d, int nd, const int *dims, int user);
/* A mem whose layout the first primitive that reads it will choose. */
int gad_dnn_mem_undecided(gad_dnn *d, int nd, const int *dims);
/* A 4-D mem in 16-channel blocks (nChw16c), the layout convolutions and
 * the element-wise and pooling kernels share on AVX-512 */
int gad_dnn_mem_channel_blocked(gad_dnn *d, int nd, const int *dims);
/* An owned mem with the same layout as `like`. */
int gad_dnn_mem_like(gad_dnn *d, int like);
/* Another name for `mem`'s buffer and layout. */
int gad_dnn_mem_alias(gad_dnn *d, int mem);
/* A mem in shared scratch `kind` with the layout of `like`. */
int gad_dnn_mem_scratch(gad_dnn *d, int like, int kind);
int gad_dnn_same_layout(const gad_dnn *d, int a, int b);
void gad_dnn_set_handle(gad_dnn *d, int mem, void *ptr);

/* Steps on lists; `who` is node k (-1: the plan's edges) for messages. */
int gad_dnn_reorder(gad_dnn *d, int list, int k, int src, int dst, unsigned flags,
                    gad_err *err);
/* dst += src (same shape; layouts may differ). */
int gad_dnn_accumulate(gad_dnn *d, int list, int k, int dst, int src, gad_err *err);
/* In place: m = max(m, 0), flagged GAD_DNN_GUIDED. */
int gad_dnn_guided_mask(gad_dnn *d, int list, int k, int m, gad_err *err);

/* Forward of node k from its input mems; creates its output mem. Weight
 * loading reorders go to `load_list`. */
int gad_dnn_node_forward(gad_dnn *d, int k, int list, int load_list, const int *in,
                         int *out, gad_err *err);
/* Backward of node k from diff_out (a mem laid out like its output).
 * direct[i] >= 0 proposes a mem to write input i's gradient to; the adapter
 * uses it when layouts agree. grad[i] receives where input i's gradient is
 * (direct[i], a scratch mem, or a view of diff_out). */
int gad_dnn_node_backward(gad_dnn *d, int k, int list, int diff_out, const int *direct,
                          int *grad, gad_err *err);
/* Parameter gradient of node k's weight (which=0) or bias (1) to a plain
 * user mem in the model's layout: creates mem + list. */
int gad_dnn_param_grad_list(gad_dnn *d, int k, int which, int *user_mem, int *list,
                            gad_err *err);
/* The user mems holding the model's weight (0) / bias (1) of node k. */
int gad_dnn_param_user_mem(const gad_dnn *d, int k, int which);

#endif
