#include "cli/support.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void gad_cli_support_free(gad_cli_support *s) {
    for (int i = 0; i < s->k; i++) gad_model_free(s->m[i]);
    for (int i = 0; i < s->k_control; i++) gad_model_free(s->ctrl[i]);
    s->k = s->k_control = 0;
}

/* PREFIX-1.onnx, PREFIX-2.onnx, ... as many as exist in sequence. */
static int load_series(const char *dir, const char *prefix, const gad_cli_model *cm, gad_model **m, int *k,
                       gad_err *err) {
    char path[4096];
    int c, h, w;
    gad_model_input_dims(cm->model, &c, &h, &w);
    for (*k = 0; *k < 16; (*k)++) {
        snprintf(path, sizeof path, "%s/%s-%d.onnx", dir, prefix, *k + 1);
        if (access(path, F_OK)) break;
        gad_model_limits lim = {.max_bytes = cm->max_model_bytes};
        int rc = gad_model_load_ex(path, &lim, &m[*k], err);
        if (!rc && cm->pp.height != h) rc = gad_model_set_input_size(m[*k], cm->pp.height, cm->pp.width, err);
        if (!rc) {
            /* free spatial dims in the file: take the input size of f */
            int sc, sh, sw;
            gad_model_input_dims(m[*k], &sc, &sh, &sw);
            if (!sh) rc = gad_model_set_input_size(m[*k], cm->pp.height, cm->pp.width, err);
        }
        if (rc) {
            if (m[*k]) gad_model_free(m[*k]);
            m[*k] = NULL;
            return rc;
        }
    }
    return 0;
}

int gad_cli_support_open(const char *dir, const gad_cli_model *cm, int control, gad_cli_support *s,
                         gad_err *err) {
    memset(s, 0, sizeof *s);
    char path[4096];
    snprintf(path, sizeof path, "%s/fit.json", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return gad_err_set(err, GAD_ENOTFOUND, "%s: cannot open (is %s a folder written by gad fit?): %s", path, dir,
                           strerror(errno));
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *pair = strstr(buf, "\"pair\": [");
    if (!pair || sscanf(pair + 9, "%d , %d", &s->p, &s->q) != 2)
        return gad_err_set(err, GAD_EFORMAT, "%s: no \"pair\" found", path);
    if (strstr(buf, "\"accepted\": false"))
        return gad_err_set(err, GAD_EINVAL, "%s: this fit was refused (fidelity below its minimum); fit again", path);
    int rc = load_series(dir, "level", cm, s->m, &s->k, err);
    if (!rc && !s->k)
        rc = gad_err_set(err, GAD_ENOTFOUND, "%s/level-1.onnx: missing (no support models in %s)", dir, dir);
    if (!rc && control) {
        rc = load_series(dir, "control", cm, s->ctrl, &s->k_control, err);
        if (!rc && !s->k_control)
            rc = gad_err_set(err, GAD_ENOTFOUND, "%s/control-1.onnx: missing (fit with --control to get control models)",
                             dir);
    }
    if (rc) gad_cli_support_free(s);
    return rc;
}
