#include "cli/common.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static int parse_size(const char *s, int *h, int *w) {
    char *end;
    long hh = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X')) return -1;
    const char *t = end + 1;
    long ww = strtol(t, &end, 10);
    if (end == t || *end || hh <= 0 || ww <= 0 || hh > 65536 || ww > 65536) return -1;
    *h = (int)hh;
    *w = (int)ww;
    return 0;
}

int gad_cli_model_flags(const gad_args *a, gad_cli_model *cm, gad_err *err) {
    memset(cm, 0, sizeof *cm);
    long v;
    int rc = gad_args_int(a, "max-pixels", GAD_DEFAULT_MAX_PIXELS, 1, (long)1 << 40, &v, err);
    if (rc) return rc;
    cm->max_pixels = v;
    if ((rc = gad_args_int(a, "max-model-bytes", (long)GAD_DEFAULT_MAX_MODEL_BYTES, 1,
                           (long)GAD_DEFAULT_MAX_MODEL_BYTES, &v, err)))
        return rc;
    cm->max_model_bytes = v;
    gad_preproc *pp = &cm->pp;
    if ((rc = gad_args_floats(a, "mean", pp->mean, 3, &pp->n_mean, err))) return rc;
    if ((rc = gad_args_floats(a, "std", pp->std, 3, &pp->n_std, err))) return rc;
    for (int i = 0; i < pp->n_std; i++)
        if (!(pp->std[i] != 0))
            return gad_err_set(err, GAD_EINVAL, "gad %s: --std values must be non-zero", a->command);
    const char *size = gad_args_get(a, "size");
    if (size && parse_size(size, &cm->size_h, &cm->size_w))
        return gad_err_set(err, GAD_EINVAL, "gad %s: --size '%s' is not HxW (e.g. 224x224)",
                           a->command, size);
    /* the model input is an image too: the pixel limit bounds every buffer
     * the plan sizes from it */
    if ((int64_t)cm->size_h * cm->size_w > cm->max_pixels)
        return gad_err_set(err, GAD_ELIMIT, "gad %s: --size %dx%d exceeds --max-pixels %lld", a->command,
                           cm->size_h, cm->size_w, (long long)cm->max_pixels);
    return 0;
}

int gad_cli_model_open(const gad_args *a, gad_cli_model *cm, gad_err *err) {
    const char *path = gad_args_get(a, "model");
    if (!path) {
        memset(cm, 0, sizeof *cm);
        return gad_err_set(err, GAD_EINVAL, "gad %s: --model FILE is required", a->command);
    }
    int rc = gad_cli_model_flags(a, cm, err);
    if (rc) return rc;
    gad_preproc *pp = &cm->pp;
    gad_model_limits lim = {.max_bytes = cm->max_model_bytes};
    if ((rc = gad_model_load_ex(path, &lim, &cm->model, err))) return rc;
    int c, h, w;
    gad_model_input_dims(cm->model, &c, &h, &w);
    if (cm->size_h) {
        if ((rc = gad_model_set_input_size(cm->model, cm->size_h, cm->size_w, err))) {
            gad_cli_model_close(cm);
            return rc;
        }
        h = cm->size_h;
        w = cm->size_w;
    } else if (h == 0 || w == 0) {
        gad_cli_model_close(cm);
        return gad_err_set(err, GAD_EINVAL,
                           "%s: the model has free spatial dims; give the input size with --size HxW",
                           path);
    }
    if ((int64_t)h * w > cm->max_pixels) { /* the file's own input size, before any plan is sized by it */
        gad_cli_model_close(cm);
        return gad_err_set(err, GAD_ELIMIT, "%s: model input of %d x %d pixels exceeds --max-pixels %lld", path,
                           h, w, (long long)cm->max_pixels);
    }
    if ((pp->n_mean > 1 && pp->n_mean != c) || (pp->n_std > 1 && pp->n_std != c)) {
        gad_cli_model_close(cm);
        return gad_err_set(err, GAD_EINVAL,
                           "gad %s: --mean/--std take 1 or %d values for this %d-channel model",
                           a->command, c, c);
    }
    pp->channels = c;
    pp->height = h;
    pp->width = w;
    return 0;
}

void gad_cli_model_close(gad_cli_model *cm) {
    gad_model_free(cm->model);
    cm->model = NULL;
}

int gad_cli_load_input(const gad_cli_model *cm, const char *path, float *out, gad_err *err) {
    gad_image img;
    int rc = gad_image_load(path, cm->max_pixels, &img, err);
    if (rc) return rc;
    rc = gad_preprocess(&img, &cm->pp, out, path, err);
    gad_image_free(&img);
    return rc;
}

void gad_cli_grey(const gad_cli_model *cm, const float *x, float *grey) {
    const gad_preproc *pp = &cm->pp;
    const size_t hw = (size_t)pp->height * pp->width;
    for (size_t i = 0; i < hw; i++) {
        double g = 0;
        for (int ch = 0; ch < pp->channels; ch++) {
            float mean = pp->n_mean ? pp->mean[pp->n_mean == 1 ? 0 : ch] : 0;
            float sd = pp->n_std ? pp->std[pp->n_std == 1 ? 0 : ch] : 1;
            g += x[ch * hw + i] * sd + mean;
        }
        grey[i] = (float)(g / pp->channels);
    }
}

/* ---- input lists ---------------------------------------------------- */

static int push(gad_cli_paths *p, int *cap, const char *s) {
    if (p->n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        char **v = realloc(p->v, (size_t)nc * sizeof *v);
        if (!v) return GAD_ENOMEM;
        p->v = v;
        *cap = nc;
    }
    if (!(p->v[p->n] = strdup(s))) return GAD_ENOMEM;
    p->n++;
    return 0;
}

static int is_image_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".tif", ".tiff"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Recursive folder walk; depth bound guards against symlink loops. */
static int walk(gad_cli_paths *p, int *cap, const char *dir, int depth, gad_err *err) {
    if (depth > 32) return gad_err_set(err, GAD_ELIMIT, "%s: folders nested too deep", dir);
    DIR *d = opendir(dir);
    if (!d) return gad_err_set(err, GAD_EIO, "%s: cannot open folder: %s", dir, strerror(errno));
    int first = p->n, rc = 0;
    struct dirent *e;
    gad_cli_paths sub = {0};
    int subcap = 0;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *full = malloc(len);
        if (!full) {
            rc = GAD_ENOMEM;
            break;
        }
        snprintf(full, len, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(full, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                rc = push(&sub, &subcap, full);
            else if (S_ISREG(st.st_mode) && is_image_name(e->d_name))
                rc = push(p, cap, full);
        }
        free(full);
    }
    closedir(d);
    if (rc == GAD_ENOMEM) rc = gad_err_set(err, rc, "%s: out of memory listing folder", dir);
    if (p->n > first) qsort(p->v + first, (size_t)(p->n - first), sizeof *p->v, cmp_str);
    if (sub.n) qsort(sub.v, (size_t)sub.n, sizeof *sub.v, cmp_str);
    for (int i = 0; !rc && i < sub.n; i++) rc = walk(p, cap, sub.v[i], depth + 1, err);
    gad_cli_paths_free(&sub);
    return rc;
}

int gad_cli_paths_collect(const gad_args *a, gad_cli_paths *p, gad_err *err) {
    memset(p, 0, sizeof *p);
    int cap = 0, rc = 0;
    for (int i = 0; !rc && i < a->n_pos; i++) {
        struct stat st;
        const char *s = a->pos[i];
        if (stat(s, &st) == 0 && S_ISDIR(st.st_mode))
            rc = walk(p, &cap, s, 0, err);
        else
            rc = push(p, &cap, s); /* a missing file is reported when it is read */
    }
    const char *list = gad_args_get(a, "list");
    if (!rc && list) {
        FILE *f = fopen(list, "r");
        if (!f) {
            rc = gad_err_set(err, GAD_EIO, "%s: cannot open list: %s", list, strerror(errno));
        } else {
            char line[4096];
            int lineno = 0;
            while (!rc && fgets(line, sizeof line, f)) {
                lineno++;
                size_t len = strlen(line);
                if (len == sizeof line - 1 && line[len - 1] != '\n') {
                    rc = gad_err_set(err, GAD_EFORMAT, "%s:%d: line too long", list, lineno);
                    break;
                }
                while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
                if (len == 0 || line[0] == '#') continue;
                rc = push(p, &cap, line);
            }
            if (!rc && ferror(f)) rc = gad_err_set(err, GAD_EIO, "%s: read error", list);
            fclose(f);
        }
    }
    if (rc == GAD_ENOMEM) rc = gad_err_set(err, rc, "gad %s: out of memory", a->command);
    if (!rc && p->n == 0)
        rc = gad_err_set(err, GAD_EINVAL, "gad %s: no input images (give paths, folders or --list)",
                         a->command);
    if (rc) gad_cli_paths_free(p);
    return rc;
}

void gad_cli_paths_free(gad_cli_paths *p) {
    for (int i = 0; i < p->n; i++) free(p->v[i]);
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

/* ---- JSON ----------------------------------------------------------- */

void gad_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*c < 0x20)
                fprintf(f, "\\u%04x", *c);
            else
                fputc(*c, f);
        }
    }
    fputc('"', f);
}

void gad_json_floats(FILE *f, const float *v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        if (isfinite(v[i]))
            fprintf(f, "%.9g", (double)v[i]);
        else
            fputs("null", f);
    }
    fputc(']', f);
}
