/* gad — gradient attributions and Gradient Artificial Distancing on CPUs.
 *
 * Public C API. Conventions (borrowed from libuv and ggml):
 *   - Every public name starts with gad_.
 *   - Functions that can fail return an int status: 0 (GAD_OK) or a negative
 *     GAD_E* code. They also take a `gad_err *err` (may be NULL) that receives
 *     the code and a one-line message naming the file and the problem.
 *   - Objects come in _create/_load and _free pairs; the caller owns what a
 *     _create or _load returns and frees it with the matching _free.
 *   - Tensors cross the API as plain float arrays in NCHW order (batch first),
 *     logits as N x K row-major.
 *
 * Typical use:
 *   gad_model *m; gad_err e;
 *   if (gad_model_load("net.onnx", &m, &e)) { fprintf(stderr, "%s\n", e.msg); ... }
 *   gad_plan *p;
 *   gad_plan_create(m, 8, GAD_PLAN_BACKWARD_DATA, &p, &e);   // plan once
 *   gad_plan_forward(p, x, logits, &e);                      // run many times
 *   gad_plan_backward(p, dlogits, dx, &e);
 */
#ifndef GAD_GAD_H
#define GAD_GAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------ */
/* X(name, value, description): one table gives the enum and gad_strerror. */
#define GAD_ERRNO_MAP(X)                                                       \
    X(OK, 0, "success")                                                        \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOMEM, -2, "out of memory")                                             \
    X(EIO, -3, "input/output error")                                           \
    X(EFORMAT, -4, "malformed file")                                           \
    X(EUNSUPPORTED, -5, "unsupported feature")                                 \
    X(ESHAPE, -6, "shape mismatch")                                            \
    X(EBACKEND, -7, "compute backend failure")                                 \
    X(ELIMIT, -8, "size limit exceeded")                                       \
    X(ENOTFOUND, -9, "not found")                                              \
    X(EVALUE, -10, "invalid value (NaN or infinite)")                          \
    X(ESTATE, -11, "call out of order")                                        \
    X(EINTR, -12, "interrupted")

enum {
#define GAD_ERRNO_ENUM_(name, val, desc) GAD_##name = val,
    GAD_ERRNO_MAP(GAD_ERRNO_ENUM_)
#undef GAD_ERRNO_ENUM_
};

/* Error detail: the code and a message such as
 * "model.onnx: node 'Conv_3' (Conv): group 3 does not divide 16 input channels". */
typedef struct gad_err {
    int code;
    char msg[512];
} gad_err;

/* Static description of a status code ("unknown error" for unknown codes). */
const char *gad_strerror(int code);

/* Fill err (if not NULL) with code and a printf-style message; returns code,
 * so failures read `return gad_err_set(err, GAD_EIO, "%s: ...", path);`. */
int gad_err_set(gad_err *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Version of the library, e.g. "0.1.0". */
const char *gad_version(void);

#ifdef __cplusplus
}
#endif

#include "gad/model.h"
#include "gad/plan.h"
#include "gad/image.h"
#include "gad/attr.h"
#include "gad/render.h"
#include "gad/simd.h"
#include "gad/fit.h"
#include "gad/explain.h"
#include "gad/eval.h"

#endif
