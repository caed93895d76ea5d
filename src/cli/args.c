#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gad_flag *find(gad_args *a, const char *name, size_t len) {
    for (gad_flag *f = a->flags; f->name; f++)
        if (strlen(f->name) == len && !strncmp(f->name, name, len)) return f;
    return NULL;
}

int gad_args_parse(gad_args *a, int argc, char **argv, int first, gad_err *err) {
    /* Positionals are compacted in place to argv[first..]: slot first+n_pos
     * is always at or behind the one being read. */
    a->n_pos = 0;
    a->pos = argv + first;
    int only_pos = 0;
    for (int i = first; i < argc; i++) {
        char *s = argv[i];
        if (only_pos || s[0] != '-' || s[1] != '-' || s[2] == 0) {
            if (!only_pos && !strcmp(s, "--")) {
                only_pos = 1;
                continue;
            }
            if (!only_pos && s[0] == '-' && s[1] && s[1] != '-')
                return gad_err_set(err, GAD_EINVAL, "gad %s: unknown option '%s' (flags are --long)",
                                   a->command, s);
            argv[first + a->n_pos++] = s;
            continue;
        }
        const char *name = s + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        gad_flag *f = find(a, name, len);
        if (!f)
            return gad_err_set(err, GAD_EINVAL, "gad %s: unknown flag '--%.*s' (see gad %s --help)",
                               a->command, (int)len, name, a->command);
        if (f->value)
            return gad_err_set(err, GAD_EINVAL, "gad %s: flag '--%s' given twice", a->command, f->name);
        if (f->takes_value) {
            if (eq)
                f->value = eq + 1;
            else if (i + 1 < argc)
                f->value = argv[++i];
            else
                return gad_err_set(err, GAD_EINVAL, "gad %s: flag '--%s' needs a value", a->command,
                                   f->name);
        } else {
            if (eq)
                return gad_err_set(err, GAD_EINVAL, "gad %s: flag '--%s' takes no value", a->command,
                                   f->name);
            f->value = "1";
        }
    }
    return 0;
}

const char *gad_args_get(const gad_args *a, const char *name) {
    for (gad_flag *f = a->flags; f->name; f++)
        if (!strcmp(f->name, name)) return f->value;
    return NULL;
}

int gad_args_has(const gad_args *a, const char *name) { return gad_args_get(a, name) != NULL; }

int gad_args_int(const gad_args *a, const char *name, long def, long lo, long hi, long *out,
                 gad_err *err) {
    const char *v = gad_args_get(a, name);
    *out = def;
    if (!v) return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end)
        return gad_err_set(err, GAD_EINVAL, "gad %s: --%s '%s' is not an integer", a->command, name, v);
    if (x < lo || x > hi)
        return gad_err_set(err, GAD_EINVAL, "gad %s: --%s %ld is out of range [%ld, %ld]", a->command,
                           name, x, lo, hi);
    *out = x;
    return 0;
}

static int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(x)) return -1;
    *out = x;
    return 0;
}

int gad_args_double(const gad_args *a, const char *name, double def, double lo, double hi,
                    double *out, gad_err *err) {
    const char *v = gad_args_get(a, name);
    *out = def;
    if (!v) return 0;
    double x;
    if (parse_double(v, &x))
        return gad_err_set(err, GAD_EINVAL, "gad %s: --%s '%s' is not a finite number", a->command,
                           name, v);
    if (x < lo || x > hi)
        return gad_err_set(err, GAD_EINVAL, "gad %s: --%s %g is out of range [%g, %g]", a->command,
                           name, x, lo, hi);
    *out = x;
    return 0;
}

int gad_args_floats(const gad_args *a, const char *name, float *vals, int max, int *n,
                    gad_err *err) {
    const char *v = gad_args_get(a, name);
    *n = 0;
    if (!v) return 0;
    char buf[256];
    if (strlen(v) >= sizeof buf)
        return gad_err_set(err, GAD_EINVAL, "gad %s: --%s value too long", a->command, name);
    strcpy(buf, v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        double x;
        if (*n >= max)
            return gad_err_set(err, GAD_EINVAL, "gad %s: --%s takes at most %d values", a->command,
                               name, max);
        if (parse_double(tok, &x))
            return gad_err_set(err, GAD_EINVAL, "gad %s: --%s: '%s' is not a finite number",
                               a->command, name, tok);
        vals[(*n)++] = (float)x;
    }
    if (*n == 0) return gad_err_set(err, GAD_EINVAL, "gad %s: --%s is empty", a->command, name);
    return 0;
}

void gad_args_usage(const gad_args *a, const char *synopsis) {
    printf("usage: gad %s %s\n\nflags:\n", a->command, synopsis);
    for (gad_flag *f = a->flags; f->name; f++) {
        char left[64];
        const char *help = f->help ? f->help : "";
        const char *colon = f->takes_value ? strchr(help, ':') : NULL;
        if (colon)
            snprintf(left, sizeof left, "--%s %.*s", f->name, (int)(colon - help), help);
        else
            snprintf(left, sizeof left, "--%s", f->name);
        printf("  %-28s %s\n", left, colon ? colon + 2 : help);
    }
}
