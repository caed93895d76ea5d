/* support.h — the support models `gad fit` wrote: SUPPORT/fit.json (the
 * pair), SUPPORT/level-K.onnx and, when fitted, SUPPORT/control-K.onnx. */
#ifndef GAD_CLI_SUPPORT_H
#define GAD_CLI_SUPPORT_H

#include "cli/common.h"

typedef struct gad_cli_support {
    int p, q;
    int k;           /* level models, in sequence from level-1.onnx */
    gad_model *m[16];
    int k_control;   /* control models, in sequence from control-1.onnx */
    gad_model *ctrl[16];
} gad_cli_support;

/* Read the pair and load the level models (and, when `control`, the control
 * models, which must then exist), sized to cm's input. Refuses a fit that
 * fit.json marks as not accepted. */
int gad_cli_support_open(const char *dir, const gad_cli_model *cm, int control, gad_cli_support *s,
                         gad_err *err);
void gad_cli_support_free(gad_cli_support *s);

#endif
