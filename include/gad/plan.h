/* gad/plan.h — an execution plan: a model compiled for one batch size.
 *
 * gad_plan_create builds every oneDNN primitive and buffer once (layouts are
 * chosen by oneDNN; reorders happen only at the edges); forward and backward
 * then run as many times as needed without allocating. A plan is used by one
 * thread at a time; give each worker thread its own plan (they share nothing
 * but the read-only model).
 *
 * Backward runs from a gradient on the logits (dL/dlogits, N x K) through the
 * activations of the last forward call. It produces the gradient with respect
 * to the input (N x C x H x W, NCHW) and, when the plan was created with
 * GAD_PLAN_BACKWARD_WEIGHTS, with respect to every parameter of the model
 * (read with gad_plan_param_grad, in the model's parameter order and layout).
 */
#ifndef GAD_PLAN_H
#define GAD_PLAN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gad_err;
struct gad_model;
typedef struct gad_plan gad_plan;

enum {
    GAD_PLAN_FORWARD = 0,            /* inference only */
    GAD_PLAN_BACKWARD_DATA = 1 << 0, /* gradient w.r.t. the input */
    GAD_PLAN_BACKWARD_WEIGHTS = 1 << 1, /* and w.r.t. parameters */
    GAD_PLAN_BF16 = 1 << 2, /* backward to the input with bf16 weights and
                               output gradients in convolutions and inner
                               products (f32 accumulation); the forward and
                               the gradients between layers stay f32. Needs
                               AVX-512 BF16 or AMX (GAD_EUNSUPPORTED
                               otherwise); not with BACKWARD_WEIGHTS */
};

int gad_plan_create(const struct gad_model *m, int batch, unsigned flags,
                    gad_plan **out, struct gad_err *err);
void gad_plan_free(gad_plan *p);

/* Like gad_plan_create, but the weights (in oneDNN's layouts) are read from
 * `donor`, a plan of the same model, wherever it holds them in the layout
 * this plan needs, instead of a copy per plan: worker plans of one model then
 * cost one set of weights. The donor must outlive the plan and is only read
 * (plans on other threads may share one donor). After the model's weights
 * change, reload the donor first, then each sharer (which reloads only the
 * weights it holds itself). */
int gad_plan_create_shared(const struct gad_model *m, int batch, unsigned flags,
                           const gad_plan *donor, gad_plan **out, struct gad_err *err);

int gad_plan_batch(const gad_plan *p);

/* x: batch x C x H x W floats. logits: batch x K floats (may be NULL). */
int gad_plan_forward(gad_plan *p, const float *x, float *logits,
                     struct gad_err *err);

/* dlogits: batch x K. dx: batch x C x H x W (may be NULL when only parameter
 * gradients are wanted). Must follow a gad_plan_forward on this plan. */
int gad_plan_backward(gad_plan *p, const float *dlogits, float *dx,
                      struct gad_err *err);

/* Guided backpropagation: when on, every ReLU's backward also drops negative
 * gradients (passes g only where input > 0 and g > 0). Off by default. */
void gad_plan_set_guided(gad_plan *p, int on);

/* Gradient of parameter i (model order, model layout), summed over the batch,
 * from the last backward. Copies into `out` (count floats). */
int gad_plan_param_grad(gad_plan *p, int i, float *out, struct gad_err *err);

/* Re-read the model's parameters (after an optimizer step). */
int gad_plan_load_weights(gad_plan *p, const struct gad_model *m,
                          struct gad_err *err);

/* Bytes of buffers the plan owns (activations, gradients, scratch). */
size_t gad_plan_bytes(const gad_plan *p);

#ifdef __cplusplus
}
#endif

#endif
