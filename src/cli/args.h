/* args.h — the command line parser every gad subcommand uses.
 *
 * A command declares its flags in a table; the parser accepts `--flag VALUE`,
 * `--flag=VALUE` and boolean `--flag`, collects positional arguments, and
 * refuses unknown flags, missing values and repeated flags with a message
 * naming the command and the flag. Values are checked by the typed getters. */
#ifndef GAD_CLI_ARGS_H
#define GAD_CLI_ARGS_H

#include <stdint.h>

#include "gad/gad.h"

typedef struct gad_flag {
    const char *name;  /* without the leading "--" */
    int takes_value;   /* 0: boolean switch */
    const char *help;  /* one line for --help; "VALUE: text" */
    const char *value; /* set by the parser: the value, or "1" for switches */
} gad_flag;

typedef struct gad_args {
    const char *command;
    gad_flag *flags;   /* table ending with a {0} entry */
    int n_pos;
    char **pos;        /* positional arguments (points into argv) */
} gad_args;

/* Parse argv[first..argc). Returns 0, or GAD_EINVAL with err set. */
int gad_args_parse(gad_args *a, int argc, char **argv, int first, gad_err *err);

/* The flag's value or NULL if absent. */
const char *gad_args_get(const gad_args *a, const char *name);
int gad_args_has(const gad_args *a, const char *name);

/* Typed getters: return 0 (and leave *out at def) when absent; GAD_EINVAL with
 * a message when present but malformed or outside [lo, hi]. */
int gad_args_int(const gad_args *a, const char *name, long def, long lo, long hi,
                 long *out, gad_err *err);
int gad_args_double(const gad_args *a, const char *name, double def, double lo,
                    double hi, double *out, gad_err *err);
/* Comma-separated floats: at most `max`, count in *n. */
int gad_args_floats(const gad_args *a, const char *name, float *vals, int max,
                    int *n, gad_err *err);

/* Print the flag table (for --help) to stdout. */
void gad_args_usage(const gad_args *a, const char *synopsis);

#endif
