#include "cli/method.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gad/render.h"
#include "gad/simd.h"

static int parse_reduce(const char *s) {
    if (!s || !strcmp(s, "mean")) return GAD_REDUCE_MEAN;
    if (!strcmp(s, "sum")) return GAD_REDUCE_SUM;
    if (!strcmp(s, "abssum")) return GAD_REDUCE_ABSSUM;
    if (!strcmp(s, "l2")) return GAD_REDUCE_L2;
    return -1;
}

const char *gad_cli_reduce_name(int r) {
    return r == GAD_REDUCE_SUM ? "sum" : r == GAD_REDUCE_ABSSUM ? "abssum" : r == GAD_REDUCE_L2 ? "l2" : "mean";
}

/* A class given as an index or, with --labels, as a name. */
static int parse_class(const gad_args *a, const char *s, int k, int *out, gad_err *err) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end != s && !*end) {
        if (v < 0 || v >= k)
            return gad_err_set(err, GAD_EINVAL, "gad %s: --target: class %ld is outside the model's %d outputs",
                               a->command, v, k);
        *out = (int)v;
        return 0;
    }
    const char *labels = gad_args_get(a, "labels");
    if (!labels)
        return gad_err_set(err, GAD_EINVAL, "gad %s: --target '%s' is not a class index (class names need --labels FILE)",
                           a->command, s);
    FILE *f = fopen(labels, "r");
    if (!f) return gad_err_set(err, GAD_EIO, "%s: cannot open labels: %s", labels, strerror(errno));
    char line[1024];
    int i = 0, found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!strcmp(line, s)) found = i;
        i++;
    }
    fclose(f);
    if (found < 0) return gad_err_set(err, GAD_EINVAL, "%s: no class named '%s'", labels, s);
    if (found >= k)
        return gad_err_set(err, GAD_EINVAL, "%s: class '%s' is line %d but the model has %d outputs", labels, s,
                           found + 1, k);
    *out = found;
    return 0;
}

int gad_cli_parse_target(const gad_args *a, int k, gad_target *t, gad_err *err) {
    const char *s = gad_args_get(a, "target");
    t->kind = GAD_TARGET_PRED;
    t->p = 0;
    t->q = -1;
    if (!s || !strcmp(s, "pred")) return 0;
    if (!strncmp(s, "contrast:", 9)) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", s + 9);
        char *comma = strchr(buf, ',');
        if (!comma)
            return gad_err_set(err, GAD_EINVAL, "gad %s: --target contrast:P,Q needs two classes", a->command);
        *comma = 0;
        int rc = parse_class(a, buf, k, &t->p, err);
        if (!rc) rc = parse_class(a, comma + 1, k, &t->q, err);
        if (rc) return rc;
        if (t->p == t->q)
            return gad_err_set(err, GAD_EINVAL, "gad %s: --target contrast needs two different classes", a->command);
        t->kind = GAD_TARGET_CONTRAST;
        return 0;
    }
    t->kind = GAD_TARGET_CLASS;
    return parse_class(a, s, k, &t->p, err);
}

int gad_cli_method_parse(const gad_args *a, const gad_model *m, gad_cli_method *o, gad_err *err) {
    memset(o, 0, sizeof *o);
    gad_attr_config *c = &o->cfg;
    gad_attr_config_init(c);
    const char *s;
    int e;
    if ((s = gad_args_get(a, "method"))) {
        if ((e = gad_method_parse(s)) < 0)
            return gad_err_set(err, GAD_EINVAL, "gad %s: --method '%s' is not one of ig, saliency, gradient, ixg, guided",
                               a->command, s);
        c->method = (gad_method)e;
    }
    if ((s = gad_args_get(a, "quadrature"))) {
        if ((e = gad_quadrature_parse(s)) < 0)
            return gad_err_set(err, GAD_EINVAL,
                               "gad %s: --quadrature '%s' is not one of gausslegendre, left, right, middle, trapezoid",
                               a->command, s);
        c->quadrature = (gad_quadrature)e;
    }
    if ((s = gad_args_get(a, "precision"))) {
        if (strcmp(s, "f32") && strcmp(s, "bf16"))
            return gad_err_set(err, GAD_EINVAL, "gad %s: --precision '%s' is not one of f32, bf16", a->command, s);
        c->precision = strcmp(s, "bf16") ? GAD_PRECISION_F32 : GAD_PRECISION_BF16;
    }
    if ((s = gad_args_get(a, "noise"))) {
        if ((e = gad_noise_parse(s)) < 0)
            return gad_err_set(err, GAD_EINVAL, "gad %s: --noise '%s' is not one of smoothgrad, smoothgrad_sq, vargrad",
                               a->command, s);
        c->noise = (gad_noise)e;
    }
    long v;
    double dv;
    int rc;
    if ((rc = gad_args_int(a, "steps", 50, 1, 1 << 20, &v, err))) return rc;
    c->steps = (int)v;
    if (c->quadrature == GAD_QUAD_TRAPEZOID && c->steps < 2)
        return gad_err_set(err, GAD_EINVAL, "gad %s: --quadrature trapezoid needs --steps >= 2", a->command);
    if ((rc = gad_args_double(a, "tolerance", 0, 0, 1e6, &dv, err))) return rc;
    c->tolerance = (float)dv;
    if ((rc = gad_args_int(a, "max-steps", 512, 2, 1 << 20, &v, err))) return rc;
    c->max_steps = (int)v;
    if (gad_args_get(a, "tolerance")) {
        /* the adaptive rule chooses the points: a fixed rule's flags would be ignored */
        if (!(c->tolerance > 0))
            return gad_err_set(err, GAD_EINVAL, "gad %s: --tolerance must be > 0 (leave it out for a fixed rule)",
                               a->command);
        if (c->method != GAD_METHOD_IG)
            return gad_err_set(err, GAD_EINVAL, "gad %s: --tolerance applies to --method ig only", a->command);
        if (gad_args_get(a, "steps") || gad_args_get(a, "quadrature"))
            return gad_err_set(err, GAD_EINVAL,
                               "gad %s: --tolerance chooses the IG points itself: drop --steps/--quadrature "
                               "(--max-steps caps the points)",
                               a->command);
        if (c->noise != GAD_NOISE_NONE)
            return gad_err_set(err, GAD_EINVAL, "gad %s: --tolerance does not combine with --noise", a->command);
    } else if (gad_args_get(a, "max-steps")) {
        return gad_err_set(err, GAD_EINVAL, "gad %s: --max-steps needs --tolerance", a->command);
    }
    if ((rc = gad_args_int(a, "samples", 10, 1, 1 << 20, &v, err))) return rc;
    c->samples = (int)v;
    if ((rc = gad_args_double(a, "stdev", 0.15, 0, 1e6, &dv, err))) return rc;
    c->stdev = (float)dv;
    if ((rc = gad_args_int(a, "batch", 0, 0, 4096, &v, err))) return rc;
    c->batch = (int)v;
    if ((rc = gad_args_int(a, "threads", 0, 1, 4096, &v, err))) return rc;
    c->threads = (int)v;
    if ((rc = gad_args_int(a, "seed", 0, 0, 0x7fffffffffffffffL, &v, err))) return rc;
    c->seed = (uint64_t)v;
    if ((rc = gad_args_double(a, "clip", 99, 0, 100, &o->clip, err))) return rc;
    if ((rc = gad_args_double(a, "blur-sigma", 0, 0, 1e4, &dv, err))) return rc;
    o->blur_sigma = (float)dv;
    if (o->blur_sigma == 0) { /* default: a tenth of the shorter side, at least a pixel */
        int c, h, w;
        gad_model_input_dims(m, &c, &h, &w);
        o->blur_sigma = (float)fmax(1.0, (h < w ? h : w) / 10.0);
    }
    if ((o->reduce = parse_reduce(gad_args_get(a, "reduce"))) < 0)
        return gad_err_set(err, GAD_EINVAL, "gad %s: --reduce '%s' is not one of mean, sum, abssum, l2", a->command,
                           gad_args_get(a, "reduce"));

    o->baseline = GAD_BASELINE_BLACK;
    if ((s = gad_args_get(a, "baseline"))) {
        char *end;
        double x = strtod(s, &end);
        if (!strcmp(s, "black"))
            o->baseline = GAD_BASELINE_BLACK;
        else if (!strcmp(s, "white"))
            o->baseline = GAD_BASELINE_WHITE;
        else if (!strcmp(s, "blur"))
            o->baseline = GAD_BASELINE_BLUR;
        else if (!strcmp(s, "noise"))
            o->baseline = GAD_BASELINE_NOISE;
        else if (end != s && !*end) {
            if (!isfinite(x) || x < 0 || x > 1)
                return gad_err_set(err, GAD_EINVAL, "gad %s: --baseline %s: a pixel value must be in [0, 1]",
                                   a->command, s);
            o->baseline = GAD_BASELINE_VALUE;
            o->baseline_value = (float)x;
        } else if (access(s, R_OK)) {
            return gad_err_set(err, GAD_EINVAL,
                               "%s: cannot read baseline image (--baseline takes black, white, blur, noise, a "
                               "pixel value or an image file)",
                               s);
        } else {
            o->baseline_file = s;
        }
    }
    if ((rc = gad_cli_parse_target(a, gad_model_num_classes(m), &c->target, err))) return rc;
    o->out_dir = gad_args_get(a, "out");
    return 0;
}

int gad_cli_load_with_baseline(const gad_cli_model *cm, const gad_cli_method *o, const float *bfile,
                               const char *path, float *x, float *base, gad_err *err) {
    int rc = gad_cli_load_input(cm, path, x, err);
    if (rc) return rc;
    if (bfile) {
        memcpy(base, bfile, (size_t)cm->pp.channels * cm->pp.height * cm->pp.width * sizeof *base);
        return 0;
    }
    return gad_baseline_make(o->baseline, o->baseline_value, o->blur_sigma, o->cfg.seed, x, &cm->pp, base, err);
}

void gad_cli_stem(const char *path, char *out, size_t n) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t len = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    if (len >= n) len = n - 1;
    memcpy(out, b, len);
    out[len] = 0;
}

static int cmp_stem(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int gad_cli_check_stems(const gad_cli_paths *p, gad_err *err) {
    /* sort (stem, path) pairs packed as "stem\0path" so duplicates are adjacent */
    char **v = malloc((size_t)p->n * sizeof *v);
    if (!v) return gad_err_set(err, GAD_ENOMEM, "out of memory");
    int rc = 0, made = 0;
    for (; made < p->n; made++) {
        char stem[512];
        gad_cli_stem(p->v[made], stem, sizeof stem);
        size_t ls = strlen(stem), lp = strlen(p->v[made]);
        if (!(v[made] = malloc(ls + lp + 2))) {
            rc = gad_err_set(err, GAD_ENOMEM, "out of memory");
            break;
        }
        memcpy(v[made], stem, ls + 1);
        memcpy(v[made] + ls + 1, p->v[made], lp + 1);
    }
    if (!rc) {
        qsort(v, (size_t)p->n, sizeof *v, cmp_stem);
        for (int i = 1; i < p->n && !rc; i++)
            if (!strcmp(v[i - 1], v[i]))
                rc = gad_err_set(err, GAD_EINVAL, "%s and %s: both would write outputs named '%s'",
                                 v[i - 1] + strlen(v[i - 1]) + 1, v[i] + strlen(v[i]) + 1, v[i]);
    }
    for (int i = 0; i < made; i++) free(v[i]);
    free(v);
    return rc;
}

/* Folders this process created, so that a failed command can take back the
 * ones it left empty (gad_cli_out_dirs_abandon). */
static char *made_dirs[8];
static int n_made;

int gad_cli_make_out_dir(const char *dir, gad_err *err) {
    struct stat st;
    if (!dir || !*dir) return gad_err_set(err, GAD_EINVAL, "--out DIR is required");
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return gad_err_set(err, GAD_EIO, "%s: --out exists and is not a folder", dir);
    } else if (mkdir(dir, 0777) == 0) {
        if (n_made < (int)(sizeof made_dirs / sizeof *made_dirs) && (made_dirs[n_made] = strdup(dir))) n_made++;
    } else if (errno != EEXIST) {
        return gad_err_set(err, GAD_EIO, "%s: cannot create output folder: %s", dir, strerror(errno));
    }
    if (access(dir, W_OK)) return gad_err_set(err, GAD_EIO, "%s: output folder is not writable", dir);
    return 0;
}

void gad_cli_out_dirs_abandon(int failed) {
    /* newest first: a folder made inside another empties its parent;
     * rmdir leaves any folder that holds something */
    while (n_made > 0) {
        char *d = made_dirs[--n_made];
        if (failed) rmdir(d);
        free(d);
    }
}

int gad_cli_write_attribution(const gad_cli_method *o, const gad_cli_model *cm, const char *path,
                              const char *suffix, const float *x, const float *attr, float *scratch,
                              gad_err *err) {
    const int c = cm->pp.channels, h = cm->pp.height, w = cm->pp.width;
    const size_t hw = (size_t)h * w;
    char stem[512], out[4096];
    gad_cli_stem(path, stem, sizeof stem);
    float *map = scratch, *grey = scratch + hw;

    snprintf(out, sizeof out, "%s/%s%s.attr.tiff", o->out_dir, stem, suffix);
    int rc = gad_tiff_write_float(out, attr, c, h, w, err);
    if (rc) return rc;
    gad_simd_reduce_channels(map, attr, c, hw, o->reduce);
    snprintf(out, sizeof out, "%s/%s%s.map.tiff", o->out_dir, stem, suffix);
    if ((rc = gad_tiff_write_float(out, map, 1, h, w, err))) return rc;

    /* grey background: the model input un-normalised, averaged over channels */
    gad_cli_grey(cm, x, grey);
    int is_signed = !(o->cfg.method == GAD_METHOD_SALIENCY || o->cfg.noise == GAD_NOISE_SMOOTHGRAD_SQ ||
                      o->cfg.noise == GAD_NOISE_VARGRAD || o->reduce == GAD_REDUCE_ABSSUM ||
                      o->reduce == GAD_REDUCE_L2);
    gad_rgb rgb;
    if ((rc = gad_render_overlay(map, grey, h, w, is_signed, o->clip, 224, &rgb, err))) return rc;
    snprintf(out, sizeof out, "%s/%s%s.overlay.png", o->out_dir, stem, suffix);
    rc = gad_png_write(out, rgb.pixels, 3, rgb.h, rgb.w, err);
    gad_rgb_free(&rgb);
    return rc;
}
