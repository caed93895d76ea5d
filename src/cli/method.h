/* method.h — the attribution-method flags shared by `gad attribute` and the
 * GAD commands, and the per-image outputs they write. */
#ifndef GAD_CLI_METHOD_H
#define GAD_CLI_METHOD_H

#include "cli/common.h"
#include "gad/attr.h"

#define GAD_METHOD_FLAGS                                                                          \
    {"method", 1, "M: ig|saliency|gradient|ixg|guided (ig)", 0},                                  \
        {"steps", 1, "N: IG points (50)", 0},                                                     \
        {"tolerance", 1, "T: IG picks its points per image until |delta| <= T/10 |F(x)-F(x')| (adaptive bisection; off)", 0}, \
        {"max-steps", 1, "N: cap on those points per image, at least 2 (512)", 0},                \
        {"quadrature", 1, "Q: gausslegendre|left|right|middle|trapezoid (gausslegendre)", 0},     \
        {"baseline", 1, "B: black|white|blur|noise|VALUE|FILE (black = 0 pixels)", 0},            \
        {"blur-sigma", 1, "S: Gaussian sigma in pixels for --baseline blur (min(H,W)/10)", 0},    \
        {"seed", 1, "N: seed for noise baselines and the noise tunnel (0)", 0},                   \
        {"noise", 1, "T: noise tunnel smoothgrad|smoothgrad_sq|vargrad (none)", 0},               \
        {"samples", 1, "N: noise tunnel samples (10)", 0},                                        \
        {"stdev", 1, "S: noise stdev relative to the input's value range (0.15)", 0},             \
        {"target", 1, "T: pred|INDEX|NAME|contrast:P,Q (pred)", 0},                               \
        {"labels", 1, "FILE: class names, one a line, for --target NAME", 0},                     \
        {"batch", 1, "N: points run through the network at once (0 = auto: plan buffers within 64 MB, 1..16)", 0},                        \
        {"precision", 1, "P: f32|bf16 network arithmetic (f32; bf16 needs AVX-512 BF16 or AMX)", 0}, \
        {"threads", 1, "N: worker threads (all cores)", 0}

typedef struct gad_cli_method {
    gad_attr_config cfg;
    gad_baseline_kind baseline;
    float baseline_value, blur_sigma;
    const char *baseline_file;
    int reduce;  /* GAD_REDUCE_* */
    double clip; /* overlay percentile */
    const char *out_dir;
} gad_cli_method;

/* Parse GAD_METHOD_FLAGS plus --reduce, --clip, --out. */
int gad_cli_method_parse(const gad_args *a, const gad_model *m, gad_cli_method *o, gad_err *err);

/* --target pred|INDEX|NAME|contrast:P,Q for a model with k classes. */
int gad_cli_parse_target(const gad_args *a, int k, gad_target *t, gad_err *err);

const char *gad_cli_reduce_name(int reduce);

/* Read one image into x (model space) and its IG baseline into base: a copy
 * of bfile (the preprocessed --baseline FILE) or one made per --baseline. */
int gad_cli_load_with_baseline(const gad_cli_model *cm, const gad_cli_method *o, const float *bfile,
                               const char *path, float *x, float *base, gad_err *err);

/* Output stem of an image path (file name without extension). */
void gad_cli_stem(const char *path, char *out, size_t n);
/* Refuse two inputs that would write the same output files. */
int gad_cli_check_stems(const gad_cli_paths *p, gad_err *err);
/* Create --out if needed; refuse a file or an unwritable folder. */
int gad_cli_make_out_dir(const char *dir, gad_err *err);
/* At exit: when the command failed, remove the folders it created and left
 * empty (a late error, e.g. a bad --baseline FILE, leaves no trace). */
void gad_cli_out_dirs_abandon(int failed);

/* Write STEM<suffix>.attr.tiff, STEM<suffix>.map.tiff, STEM<suffix>.overlay.png
 * for one image; x is its model-space input; scratch holds 2 x H x W floats;
 * the channel-reduced map is left in scratch[0 .. H*W). */
int gad_cli_write_attribution(const gad_cli_method *o, const gad_cli_model *cm, const char *path,
                              const char *suffix, const float *x, const float *attr, float *scratch,
                              gad_err *err);

#endif
