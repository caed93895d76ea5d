/* libFuzzer harness: bytes split on NUL -> argv -> the command-line parser
 * (gad_args_parse) and the typed flag parsing every command runs after it:
 * the model flags (gad_cli_model_flags: --max-pixels, --max-model-bytes,
 * --mean, --std, --size) and the method flags (gad_cli_method_parse:
 * --method, --steps, --baseline, --target, ...). No file is opened: --labels
 * is left out of the table, and --model is parsed but not loaded; the model
 * that gad_cli_method_parse consults (class count, input size) is the demo
 * model, loaded once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/common.h"
#include "cli/method.h"
#include "gad/gad.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gad_model *demo;

static const gad_flag table[] = {
    GAD_MODEL_FLAGS,
    GAD_INPUT_FLAGS,
    {"method", 1, "", 0},
    {"steps", 1, "", 0},
    {"quadrature", 1, "", 0},
    {"baseline", 1, "", 0},
    {"blur-sigma", 1, "", 0},
    {"seed", 1, "", 0},
    {"noise", 1, "", 0},
    {"samples", 1, "", 0},
    {"stdev", 1, "", 0},
    {"target", 1, "", 0},
    {"batch", 1, "", 0},
    {"threads", 1, "", 0},
    {"reduce", 1, "", 0},
    {"clip", 1, "", 0},
    {"out", 1, "", 0},
    {"json", 0, "", 0},
    {0, 0, 0, 0},
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    gad_err e;
    if (gad_model_load(GAD_SOURCE_DIR "/tools/demo/fashion_cnn.onnx", &demo, &e)) {
        fprintf(stderr, "fuzz_args: %s\n", e.msg);
        abort();
    }
    return 0;
}

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[MAX_ARGS + 3];
    int argc = 0;
    argv[argc++] = "gad";
    argv[argc++] = "attribute";
    for (char *p = buf; p <= buf + size && argc < MAX_ARGS + 2; p += strlen(p) + 1) argv[argc++] = p;
    argv[argc] = NULL;

    gad_flag flags[sizeof table / sizeof table[0]];
    memcpy(flags, table, sizeof table);
    gad_args a = {.command = "attribute", .flags = flags};
    gad_err e;
    if (gad_args_parse(&a, argc, argv, 2, &e) == 0) {
        gad_cli_model cm;
        gad_cli_method o;
        if (gad_cli_model_flags(&a, &cm, &e) == 0) (void)gad_cli_method_parse(&a, demo, &o, &e);
        for (int i = 0; i < a.n_pos; i++) (void)strlen(a.pos[i]);
    }
    free(buf);
    return 0;
}
