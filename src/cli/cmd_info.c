/* gad info: what a model contains, as the engine sees it. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/common.h"

/* Shapes are unknown (out_nd 0) for models with free spatial dims until
 * --size is given. */
static void dims_str(const gad_layer_info *l, char *buf, size_t n) {
    if (l->out_nd == 0)
        snprintf(buf, n, "free");
    else if (l->out_nd == 3)
        snprintf(buf, n, "%dx%dx%d", l->out_dims[0], l->out_dims[1], l->out_dims[2]);
    else
        snprintf(buf, n, "%d", l->out_dims[0]);
}

static void print_json(const gad_model *m, int c, int h, int w) {
    printf("{\"model\": ");
    gad_json_string(stdout, gad_model_name(m));
    if (h)
        printf(", \"input\": [%d, %d, %d]", c, h, w);
    else
        printf(", \"input\": [%d, null, null]", c);
    printf(", \"classes\": %d, \"softmax_removed\": %s, \"layers\": [", gad_model_num_classes(m),
           gad_model_had_softmax(m) ? "true" : "false");
    for (int i = 0; i < gad_model_num_layers(m); i++) {
        gad_layer_info l;
        gad_model_layer(m, i, &l);
        printf("%s{\"name\": ", i ? ", " : "");
        gad_json_string(stdout, l.name);
        printf(", \"op\": \"%s\", \"onnx_op\": ", l.op);
        gad_json_string(stdout, l.onnx_op);
        printf(", \"output\": [");
        for (int d = 0; d < l.out_nd; d++) printf("%s%d", d ? ", " : "", l.out_dims[d]);
        printf("], \"params\": %lld, \"flops\": %lld}", (long long)l.params, (long long)l.flops);
    }
    printf("], \"params\": %lld, \"flops\": %lld}\n", (long long)gad_model_total_params(m),
           (long long)gad_model_total_flops(m));
}

static void print_table(const gad_model *m, int c, int h, int w) {
    printf("model:   %s\n", gad_model_name(m));
    if (h)
        printf("input:   %d x %d x %d (C x H x W, batch free)\n", c, h, w);
    else
        printf("input:   %d x H x W with H, W free (give --size HxW for shapes, classes and FLOPs)\n", c);
    if (gad_model_num_classes(m))
        printf("output:  %d logits", gad_model_num_classes(m));
    else
        printf("output:  logits (their count follows from --size)");
    printf("%s\n", gad_model_had_softmax(m) ? " (the file's final Softmax is removed: gad works on logits)" : "");
    printf("\n%4s  %-28s %-18s %-30s %-12s %12s %14s\n", "#", "layer", "op", "from ONNX", "output",
           "params", "FLOPs");
    for (int i = 0; i < gad_model_num_layers(m); i++) {
        gad_layer_info l;
        char dims[48];
        gad_model_layer(m, i, &l);
        dims_str(&l, dims, sizeof dims);
        char flops[32];
        snprintf(flops, sizeof flops, h ? "%lld" : "-", (long long)l.flops);
        printf("%4d  %-28.28s %-18s %-30.30s %-12s %12lld %14s\n", i, l.name, l.op, l.onnx_op, dims,
               (long long)l.params, flops);
    }
    if (h)
        printf("\ntotal:   %lld parameters, %.4g MFLOPs forward per image\n",
               (long long)gad_model_total_params(m), (double)gad_model_total_flops(m) / 1e6);
    else
        printf("\ntotal:   %lld parameters\n", (long long)gad_model_total_params(m));
}

int gad_cmd_info(int argc, char **argv) {
    gad_flag flags[] = {GAD_MODEL_FLAGS, {"json", 0, "print one JSON object instead of a table", 0},
                        {"help", 0, "show this help", 0}, {0}};
    gad_args a = {.command = "info", .flags = flags};
    gad_err err = {0};
    if (gad_args_parse(&a, argc, argv, 2, &err)) return gad_cli_fail(&err);
    if (gad_args_has(&a, "help")) {
        gad_args_usage(&a, "--model M.onnx [--size HxW] [--json]");
        return 0;
    }
    if (a.n_pos)
        return gad_cli_fail_msg("gad info: unexpected argument '%s'", a.pos[0]);
    gad_cli_model cm = {0};
    int c, h, w;
    if (!gad_args_get(&a, "size") && gad_args_get(&a, "model")) {
        /* a model with free spatial dims is still described, without shapes */
        if (gad_cli_model_flags(&a, &cm, &err)) return gad_cli_fail(&err);
        gad_model_limits lim = {.max_bytes = cm.max_model_bytes};
        if (gad_model_load_ex(gad_args_get(&a, "model"), &lim, &cm.model, &err)) return gad_cli_fail(&err);
        gad_model_input_dims(cm.model, &c, &h, &w);
        if (!h) {
            (gad_args_has(&a, "json") ? print_json : print_table)(cm.model, c, 0, 0);
            gad_cli_model_close(&cm);
            return 0;
        }
        gad_cli_model_close(&cm);
    }
    if (gad_cli_model_open(&a, &cm, &err)) return gad_cli_fail(&err);
    if (gad_args_has(&a, "json"))
        print_json(cm.model, cm.pp.channels, cm.pp.height, cm.pp.width);
    else
        print_table(cm.model, cm.pp.channels, cm.pp.height, cm.pp.width);
    gad_cli_model_close(&cm);
    return 0;
}
