/* gad — the command line. A thin layer over the library: parse flags, call
 * the API, print results; every failure is one line on stderr naming the
 * file and the problem, and a non-zero exit. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/commands.h"
#include "cli/method.h"
#include "cli/mpi.h"
#include "io/atomic.h"

int gad_cli_fail(const gad_err *err) {
    const char *m = err->msg[0] ? err->msg : gad_strerror(err->code);
    /* messages that already name the command ("gad fit: ...") get no second prefix */
    fprintf(stderr, strncmp(m, "gad ", 4) ? "gad: %s\n" : "%s\n", m);
    return 1;
}

int gad_cli_fail_msg(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (strncmp(fmt, "gad ", 4)) fputs("gad: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *what;
} commands[] = {
    {"info", gad_cmd_info, "show a model's inputs, outputs, layers, parameters and FLOPs"},
    {"predict", gad_cmd_predict, "classify images: logits, probabilities, class (JSON lines)"},
    {"attribute", gad_cmd_attribute, "explain images with a gradient method (IG, saliency, ...)"},
    {"fit", gad_cmd_fit, "GAD: fit the support regression models of a class pair"},
    {"explain", gad_cmd_explain, "GAD: fused explanations of the regions that separate the pair"},
    {"eval", gad_cmd_eval, "evaluate plain and GAD selections: occlusion, hull, curves, report"},
    {"merge", gad_cmd_merge, "batch jobs: assemble DIR/results.jsonl from the per-image records"},
    {"demo", gad_cmd_demo, "the whole method on the bundled model: fit, explain, eval, index.html"},
};

static void usage(FILE *f) {
    fprintf(f, "gad %s — gradient attributions and GAD for CNN classifiers on CPUs\n\n"
               "usage: gad COMMAND [flags] (gad COMMAND --help for its flags)\n\ncommands:\n",
            gad_version());
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
}

/* SIGINT/SIGTERM: remove every output still being written (their final
 * names only ever hold complete files), say so, and die of the signal so
 * the caller sees how the run ended. Only async-signal-safe calls here. */
static void on_signal(int sig) {
    gad_atomic_cleanup_all();
    static const char msg[] = "gad: interrupted; files being written were removed, finished ones are complete\n";
    /* a batch job says instead how far it got and how to finish */
    if (!gad_batch_on_signal()) {
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int main(int argc, char **argv) {
    install_signal_handlers();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("gad %s\n", gad_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        /* MPI only when a launcher started us (mpi.h) */
        if (gad_mpi_init(&argc, &argv)) return 1;
        /* the commands that share work across ranks; others would only run
         * R copies of themselves writing the same files */
        int mpi_ok = !strcmp(argv[1], "attribute") || !strcmp(argv[1], "explain") || !strcmp(argv[1], "eval") ||
                     !strcmp(argv[1], "fit");
        if (gad_mpi_size() > 1 && !mpi_ok) {
            if (gad_mpi_rank() == 0)
                fprintf(stderr, "gad %s: does not use MPI; run it without mpirun (attribute, explain, eval and fit do)\n",
                        argv[1]);
            gad_mpi_finalize();
            return 2;
        }
        int status = commands[i].run(argc, argv);
        gad_cli_out_dirs_abandon(status != 0);
        gad_mpi_finalize();
        return status;
    }
    fprintf(stderr, "gad: unknown command '%s' (try gad --help)\n", argv[1]);
    return 2;
}
