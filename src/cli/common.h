/* common.h — what every gad subcommand shares: the flags for the model and
 * its preprocessing, the list of input images, JSON output. */
#ifndef GAD_CLI_COMMON_H
#define GAD_CLI_COMMON_H

#include <stdio.h>

#include "cli/args.h"
#include "gad/gad.h"

/* Flag table entries for --model and preprocessing; splice with
 * GAD_MODEL_FLAGS into a command's table. */
#define GAD_MODEL_FLAGS                                                                \
    {"model", 1, "FILE: the ONNX classifier", 0},                                       \
        {"size", 1, "HxW: input size for models with free spatial dims", 0},            \
        {"mean", 1, "A[,B,C]: per-channel mean subtracted after scaling to [0,1] (0)", 0}, \
        {"std", 1, "A[,B,C]: per-channel std dividing after the mean (1)", 0},           \
        {"max-pixels", 1, "N: refuse images with more pixels (67108864 = 8192 x 8192)", 0},           \
        {"max-model-bytes", 1, "N: refuse model files, or weights, above N bytes (2147483648)", 0}

#define GAD_INPUT_FLAGS {"list", 1, "FILE: read image paths from FILE, one a line", 0}

/* Load --model, apply --size; fills the preprocessing from the flags. */
typedef struct gad_cli_model {
    gad_model *model;
    gad_preproc pp;
    int64_t max_pixels;
    int64_t max_model_bytes;
    int size_h, size_w; /* --size, 0 when absent */
} gad_cli_model;

/* Parse the model flags other than --model (--max-pixels, --max-model-bytes,
 * --mean, --std, --size) into cm without touching any file; gad_cli_model_open
 * calls it first. */
int gad_cli_model_flags(const gad_args *a, gad_cli_model *cm, gad_err *err);
int gad_cli_model_open(const gad_args *a, gad_cli_model *cm, gad_err *err);
void gad_cli_model_close(gad_cli_model *cm);

/* Read and preprocess one image into `out` (pp.channels x pp.height x pp.width). */
int gad_cli_load_input(const gad_cli_model *cm, const char *path, float *out, gad_err *err);

/* The model input x un-normalised and averaged over channels: the grey
 * background of overlays (H x W floats). */
void gad_cli_grey(const gad_cli_model *cm, const float *x, float *grey);

/* Image paths from the positionals (files, or folders searched recursively for
 * .png/.jpg/.jpeg/.tif/.tiff, sorted) and --list. Caller frees with
 * gad_cli_paths_free. Empty result is an error. */
typedef struct gad_cli_paths {
    char **v;
    int n;
} gad_cli_paths;

int gad_cli_paths_collect(const gad_args *a, gad_cli_paths *p, gad_err *err);
void gad_cli_paths_free(gad_cli_paths *p);

/* JSON helpers: a quoted, escaped string; a float array with 9 significant digits. */
void gad_json_string(FILE *f, const char *s);
void gad_json_floats(FILE *f, const float *v, int n);

#endif
