/* ONNX import: structure, parameters and errors on the fixtures made by
 * tools/make_onnx_fixtures.py (tests/data/onnx/). The references come from
 * PyTorch: expect.txt holds per-layer output shapes recorded with forward
 * hooks and parameter counts, tiny_fold.bin the BN-folded weights computed in
 * float64. Numerical forward/backward checks live elsewhere. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gad/gad.h"
#include "harness.h"
#include "net/graph.h"
#include "onnx.pb-c.h"

#define ONNX(f) gad_test_data("onnx/" f)

/* ---- expect.txt --------------------------------------------------------- */

typedef struct exp_layer {
    char op[32];
    int nd, d[3];
} exp_layer;

typedef struct exp_model {
    char file[64];
    int c, h, w, classes, n_layers;
    long long params_torch, params_gad;
    exp_layer layers[32];
} exp_model;

static int read_expect(exp_model *ms, int max) {
    FILE *f = fopen(ONNX("expect.txt"), "r");
    if (!f) return 0;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f)) {
        exp_model *m = n >= 0 ? &ms[n] : NULL;
        int i, nd;
        char op[32];
        if (!strncmp(line, "model ", 6) && n + 1 < max) {
            m = &ms[++n];
            memset(m, 0, sizeof *m);
            sscanf(line + 6, "%63s", m->file);
        } else if (!m) {
            continue;
        } else if (sscanf(line, "input %d %d %d", &m->c, &m->h, &m->w) == 3) {
        } else if (sscanf(line, "classes %d", &m->classes) == 1) {
        } else if (sscanf(line, "params_torch %lld", &m->params_torch) == 1) {
        } else if (sscanf(line, "params_gad %lld", &m->params_gad) == 1) {
        } else if (sscanf(line, "layers %d", &m->n_layers) == 1) {
        } else if (sscanf(line, "layer %d %31s %d", &i, op, &nd) == 3 && i >= 0 && i < 32) {
            exp_layer *l = &m->layers[i];
            snprintf(l->op, sizeof l->op, "%s", op);
            l->nd = nd;
            const char *p = line;
            for (int k = 0; k < 4; k++) p = strchr(p, ' ') + 1; /* past "layer i op nd " */
            sscanf(p, "%d %d %d", &l->d[0], &l->d[1], &l->d[2]);
        }
    }
    fclose(f);
    return n + 1;
}

static gad_model *load_ok(const char *path) {
    gad_model *m = NULL;
    gad_err e;
    e.msg[0] = 0;
    int rc = gad_model_load(path, &m, &e);
    if (rc) fprintf(stderr, "\n  load %s -> %d: %s\n", path, rc, e.msg);
    CU_ASSERT_EQUAL(rc, 0);
    return rc ? NULL : m;
}

/* Expect failure with `code`; the message must name the path and contain
 * every non-NULL fragment. */
static void load_fails(const char *path, int code, const char *frag1, const char *frag2) {
    gad_model *m = (gad_model *)1;
    gad_err e;
    e.msg[0] = 0;
    int rc = gad_model_load(path, &m, &e);
    if (rc != code || !strstr(e.msg, path) || (frag1 && !strstr(e.msg, frag1)) ||
        (frag2 && !strstr(e.msg, frag2)))
        fprintf(stderr, "\n  %s: rc %d (want %d), msg: %s\n", path, rc, code, e.msg);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_EQUAL(e.code, code);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
    if (frag1) CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, frag1));
    if (frag2) CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, frag2));
    if (!rc) gad_model_free(m);
}

/* ---- structure against PyTorch ------------------------------------------ */

static void check_against(gad_model *m, const exp_model *x) {
    int c, h, w;
    gad_model_input_dims(m, &c, &h, &w);
    CU_ASSERT_EQUAL(c, x->c);
    if (!m->free_hw) {
        CU_ASSERT_EQUAL(h, x->h);
        CU_ASSERT_EQUAL(w, x->w);
    }
    CU_ASSERT_EQUAL(gad_model_num_classes(m), x->classes);
    CU_ASSERT_EQUAL(gad_model_total_params(m), x->params_gad);
    int nl = gad_model_num_layers(m);
    if (nl != x->n_layers) fprintf(stderr, "\n  %s: %d layers, want %d\n", x->file, nl, x->n_layers);
    CU_ASSERT_EQUAL_FATAL(nl, x->n_layers);
    int64_t psum = 0;
    for (int i = 0; i < nl; i++) {
        gad_layer_info li;
        CU_ASSERT_EQUAL_FATAL(gad_model_layer(m, i, &li), 0);
        const exp_layer *el = &x->layers[i];
        int same = !strcmp(li.op, el->op) && li.out_nd == el->nd;
        for (int k = 0; k < el->nd; k++) same &= li.out_dims[k] == el->d[k];
        if (!same)
            fprintf(stderr, "\n  %s layer %d: %s %d-D (%d,%d,%d), want %s %d-D (%d,%d,%d)\n", x->file, i,
                    li.op, li.out_nd, li.out_dims[0], li.out_dims[1], li.out_dims[2], el->op, el->nd,
                    el->d[0], el->d[1], el->d[2]);
        CU_ASSERT(same);
        CU_ASSERT_PTR_NOT_NULL(li.name);
        CU_ASSERT(li.flops > 0 || !strcmp(li.op, "Flatten") || !strcmp(li.op, "Concat"));
        psum += li.params;
    }
    CU_ASSERT_EQUAL(psum, x->params_gad);
    CU_ASSERT(gad_model_total_flops(m) > 0);
}

static void test_fixtures(void) {
    exp_model *ms = calloc(32, sizeof *ms);
    int n = read_expect(ms, 32);
    CU_ASSERT_FATAL(n >= 13);
    for (int i = 0; i < n; i++) {
        char rel[96];
        snprintf(rel, sizeof rel, "onnx/%s", ms[i].file);
        gad_model *m = load_ok(gad_test_data(rel));
        if (!m) continue;
        gad_err e;
        if (m->free_hw) GAD_ASSERT_OK(gad_model_set_input_size(m, ms[i].h, ms[i].w, &e), e);
        check_against(m, &ms[i]);
        CU_ASSERT_STRING_EQUAL(gad_model_name(m), gad_test_data(rel));
        gad_model_free(m);
    }
    free(ms);
}

/* BN folding: which layers fold, and the counts that follow. */
static void test_bn_fold_structure(void) {
    gad_model *m = load_ok(ONNX("tiny13.onnx"));
    if (!m) return;
    gad_layer_info li;
    gad_model_layer(m, 0, &li);
    CU_ASSERT_STRING_EQUAL(li.onnx_op, "Conv+BatchNormalization");
    CU_ASSERT_STRING_EQUAL(li.name, "/conv1/Conv");
    /* conv1 had no bias: 8*3*3*3 weights + 8 folded biases */
    CU_ASSERT_EQUAL(li.params, 8 * 27 + 8);
    gad_model_layer(m, 3, &li);
    CU_ASSERT_STRING_EQUAL(li.onnx_op, "Conv+BatchNormalization");
    CU_ASSERT_EQUAL(li.params, 16 * 8 * 9 + 16);
    /* PyTorch counts gamma and beta too: 2082 there, 40 fewer here */
    CU_ASSERT_EQUAL(gad_model_total_params(m), 2082 - 8 - 2 * 16);
    CU_ASSERT_EQUAL(gad_model_had_softmax(m), 0);
    gad_model_free(m);

    /* BN after a Mul stays a depthwise 1x1 conv with the affine map */
    m = load_ok(ONNX("ops13.onnx"));
    if (!m) return;
    const gad_node *bn = &m->nodes[8];
    CU_ASSERT_EQUAL(bn->op, GAD_OP_CONV);
    CU_ASSERT_STRING_EQUAL(bn->onnx_op, "BatchNormalization");
    CU_ASSERT_EQUAL(bn->group, 10);
    CU_ASSERT_EQUAL(m->params[bn->weight].count, 10);
    CU_ASSERT_EQUAL(m->params[bn->weight].nd, 4);
    CU_ASSERT_EQUAL(m->params[bn->weight].dims[1], 1);
    CU_ASSERT(bn->bias >= 0);
    gad_model_free(m);
}

static void test_bn_fold_values(void) {
    size_t sz = 0;
    float *ref = gad_test_read_file(ONNX("tiny_fold.bin"), &sz);
    CU_ASSERT_FATAL(ref != NULL);
    CU_ASSERT_EQUAL_FATAL(sz, (8 * 27 + 8) * sizeof(float));
    static const char *files[] = {"onnx/tiny9.onnx", "onnx/tiny11.onnx", "onnx/tiny13.onnx",
                                  "onnx/tiny17.onnx", "onnx/reversed.onnx"};
    for (int f = 0; f < 5; f++) {
        gad_model *m = load_ok(gad_test_data(files[f]));
        if (!m) continue;
        const gad_node *n = &m->nodes[0];
        CU_ASSERT_FATAL(n->weight >= 0 && n->bias >= 0);
        gad_param_info w, b;
        CU_ASSERT_EQUAL(gad_model_param(m, n->weight, &w), 0);
        CU_ASSERT_EQUAL(gad_model_param(m, n->bias, &b), 0);
        CU_ASSERT_EQUAL_FATAL(w.count, 8 * 27);
        CU_ASSERT_EQUAL_FATAL(b.count, 8);
        CU_ASSERT_EQUAL(w.nd, 4);
        CU_ASSERT_EQUAL(w.dims[0], 8);
        CU_ASSERT_EQUAL(w.dims[1], 3);
        double ew = gad_test_rel_err(w.data, ref, w.count, 1.0);
        double eb = gad_test_rel_err(b.data, ref + w.count, b.count, 1.0);
        if (ew > 1e-5 || eb > 1e-5) fprintf(stderr, "\n  %s: fold err w %g b %g\n", files[f], ew, eb);
        CU_ASSERT(ew <= 1e-5);
        CU_ASSERT(eb <= 1e-5);
        /* tiny17's weights are those of tiny9: parameters identical across opsets */
        gad_model_free(m);
    }
    free(ref);
}

/* The attributes the importer maps, per opset (Clip: attributes < 11,
 * inputs from 11; Unsqueeze axes attribute < 13, input from 13). */
static void test_ops_attributes(void) {
    static const char *files[] = {"onnx/ops9.onnx", "onnx/ops11.onnx", "onnx/ops13.onnx", "onnx/ops17.onnx"};
    for (int f = 0; f < 4; f++) {
        gad_model *m = load_ok(gad_test_data(files[f]));
        if (!m) continue;
        CU_ASSERT_EQUAL_FATAL(m->n_nodes, 12);
        const gad_node *nd = m->nodes;
        CU_ASSERT_EQUAL(nd[1].op, GAD_OP_CLIP);
        CU_ASSERT_EQUAL(nd[1].alpha, 0.0f);
        CU_ASSERT_EQUAL(nd[1].beta, 6.0f);
        CU_ASSERT_EQUAL(nd[3].op, GAD_OP_LEAKY_RELU);
        CU_ASSERT(fabsf(nd[3].alpha - 0.2f) < 1e-7f);
        CU_ASSERT_EQUAL(nd[4].op, GAD_OP_CONCAT);
        CU_ASSERT_EQUAL(nd[4].n_in, 2);
        CU_ASSERT_EQUAL(nd[4].in[0], nd[1].out);
        CU_ASSERT_EQUAL(nd[4].in[1], nd[3].out);
        CU_ASSERT_EQUAL(nd[0].in[0], m->input);
        CU_ASSERT_EQUAL(nd[2].in[0], m->input);
        CU_ASSERT_EQUAL(nd[6].op, GAD_OP_MUL_SCALAR);
        CU_ASSERT_EQUAL(nd[6].alpha, 0.5f);
        /* x * s with s [1,10,1,1]: depthwise conv holding s, no bias */
        CU_ASSERT_EQUAL(nd[7].op, GAD_OP_CONV);
        CU_ASSERT_EQUAL(nd[7].group, 10);
        CU_ASSERT_EQUAL(nd[7].bias, -1);
        CU_ASSERT_STRING_EQUAL(m->params[nd[7].weight].name, "scale.s");
        CU_ASSERT_EQUAL(nd[9].op, GAD_OP_AVGPOOL);
        /* opset 9 has no ceil_mode: PyTorch pads the end instead */
        CU_ASSERT_EQUAL(nd[9].ceil_mode, f > 0);
        CU_ASSERT_EQUAL(nd[9].pad[2], f > 0 ? 0 : 2);
        CU_ASSERT_EQUAL(nd[9].count_include_pad, 0);
        CU_ASSERT_EQUAL(nd[9].kernel[0], 3);
        CU_ASSERT_EQUAL(nd[9].stride[1], 2);
        CU_ASSERT_EQUAL(m->output, nd[11].out);
        gad_model_free(m);
    }
    /* MaxPool/conv attributes in tiny: stride 2 pad 1 conv, 2x2 pool */
    gad_model *m = load_ok(ONNX("tiny9.onnx"));
    if (m) {
        CU_ASSERT_EQUAL(m->nodes[2].op, GAD_OP_MAXPOOL);
        CU_ASSERT_EQUAL(m->nodes[2].kernel[0], 2);
        CU_ASSERT_EQUAL(m->nodes[2].stride[0], 2);
        CU_ASSERT_EQUAL(m->nodes[3].stride[0], 2);
        CU_ASSERT_EQUAL(m->nodes[3].pad[0], 1);
        CU_ASSERT_EQUAL(m->nodes[3].pad[3], 1);
        /* the zero Pad PyTorch puts before AvgPool2d vanished */
        CU_ASSERT_EQUAL(m->nodes[5].op, GAD_OP_AVGPOOL);
        CU_ASSERT_EQUAL(m->nodes[5].pad[0], 0);
        CU_ASSERT_EQUAL(m->nodes[5].in[0], m->nodes[4].out);
        gad_model_free(m);
    }
}

/* Find initializer `name` of an ONNX file as floats (raw_data), independent
 * of the importer. */
static float *initializer(const char *path, const char *name, size_t *n) {
    size_t sz;
    void *buf = gad_test_read_file(path, &sz);
    if (!buf) return NULL;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, sz, buf);
    free(buf);
    float *out = NULL;
    for (size_t i = 0; mp && i < mp->graph->n_initializer; i++) {
        Onnx__TensorProto *t = mp->graph->initializer[i];
        if (strcmp(t->name, name) || !t->has_raw_data) continue;
        *n = t->raw_data.len / 4;
        out = malloc(t->raw_data.len);
        memcpy(out, t->raw_data.data, t->raw_data.len);
    }
    if (mp) onnx__model_proto__free_unpacked(mp, NULL);
    return out;
}

static void test_matmul_softmax_view(void) {
    gad_model *m = load_ok(ONNX("matmul13.onnx"));
    if (m) {
        CU_ASSERT_EQUAL(gad_model_had_softmax(m), 1);
        CU_ASSERT_EQUAL(gad_model_num_classes(m), 4);
        const gad_node *g = &m->nodes[3];
        CU_ASSERT_EQUAL(g->op, GAD_OP_GEMM);
        CU_ASSERT_STRING_EQUAL(g->onnx_op, "MatMul+Add");
        CU_ASSERT_EQUAL(m->output, g->out);
        size_t nw = 0, nb = 0;
        float *w = initializer(ONNX("matmul13.onnx"), "w", &nw); /* [3, 4] = [in, out] */
        float *b = initializer(ONNX("matmul13.onnx"), "b", &nb);
        CU_ASSERT_FATAL(w && b && nw == 12 && nb == 4);
        const gad_param *pw = &m->params[g->weight], *pb = &m->params[g->bias];
        CU_ASSERT_EQUAL(pw->dims[0], 4);
        CU_ASSERT_EQUAL(pw->dims[1], 3);
        int same = 1;
        for (int o = 0; o < 4; o++) {
            for (int i = 0; i < 3; i++) same &= pw->data[o * 3 + i] == w[i * 4 + o];
            same &= pb->data[o] == b[o];
        }
        CU_ASSERT(same);
        free(w), free(b);
        gad_model_free(m);
    }
    /* x.view(x.size(0), -1): Shape/Gather/Unsqueeze/Concat evaluated, a Flatten */
    const char *views[] = {"onnx/view9.onnx", "onnx/view13.onnx"};
    for (int f = 0; f < 2; f++) {
        m = load_ok(gad_test_data(views[f]));
        if (!m) continue;
        CU_ASSERT_EQUAL(m->nodes[3].op, GAD_OP_FLATTEN);
        CU_ASSERT_STRING_EQUAL(m->nodes[3].onnx_op, "Reshape");
        CU_ASSERT_EQUAL(m->values[m->nodes[3].out].shape.d[0], 36);
        gad_model_free(m);
    }
}

static void test_free_hw(void) {
    gad_model *m = load_ok(ONNX("freehw13.onnx"));
    if (!m) return;
    gad_err e;
    int c, h, w;
    gad_model_input_dims(m, &c, &h, &w);
    CU_ASSERT_EQUAL(c, 3);
    CU_ASSERT_EQUAL(h, 0);
    CU_ASSERT_EQUAL(w, 0);
    CU_ASSERT_EQUAL(m->free_hw, 1);
    GAD_ASSERT_OK(gad_model_set_input_size(m, 20, 15, &e), e);
    gad_layer_info li;
    gad_model_layer(m, 0, &li);
    /* conv k3 s2 p1: floor((20+2-3)/2)+1 = 10, floor((15+2-3)/2)+1 = 8 */
    CU_ASSERT_EQUAL(li.out_dims[0], 5);
    CU_ASSERT_EQUAL(li.out_dims[1], 10);
    CU_ASSERT_EQUAL(li.out_dims[2], 8);
    CU_ASSERT_EQUAL(gad_model_num_classes(m), 4);
    gad_model_input_dims(m, &c, &h, &w);
    CU_ASSERT_EQUAL(h, 20);
    CU_ASSERT_EQUAL(w, 15);
    CU_ASSERT_EQUAL(gad_model_set_input_size(m, 0, 15, &e), GAD_EINVAL);
    /* the clone is independent */
    gad_model *k;
    GAD_ASSERT_OK(gad_model_clone(m, &k, &e), e);
    GAD_ASSERT_OK(gad_model_set_input_size(k, 7, 9, &e), e);
    gad_model_layer(k, 0, &li);
    CU_ASSERT_EQUAL(li.out_dims[1], 4);
    CU_ASSERT_EQUAL(li.out_dims[2], 5);
    gad_model_layer(m, 0, &li);
    CU_ASSERT_EQUAL(li.out_dims[1], 10);
    gad_model_free(k);
    gad_model_free(m);

    /* fixed models accept only their own size */
    m = load_ok(ONNX("tiny13.onnx"));
    if (!m) return;
    GAD_ASSERT_OK(gad_model_set_input_size(m, 16, 16, &e), e);
    CU_ASSERT_EQUAL(gad_model_set_input_size(m, 32, 32, &e), GAD_ESHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "16x16"));
    CU_ASSERT_EQUAL(gad_model_num_classes(m), 10);
    gad_model_free(m);
}

static void test_clone(void) {
    gad_model *m = load_ok(ONNX("residual13.onnx")), *k = NULL;
    if (!m) return;
    gad_err e;
    GAD_ASSERT_OK(gad_model_clone(m, &k, &e), e);
    CU_ASSERT_EQUAL_FATAL(gad_model_num_params(k), gad_model_num_params(m));
    CU_ASSERT_EQUAL(gad_model_num_layers(k), gad_model_num_layers(m));
    CU_ASSERT_EQUAL(gad_model_total_params(k), gad_model_total_params(m));
    CU_ASSERT_EQUAL(gad_model_total_flops(k), gad_model_total_flops(m));
    CU_ASSERT_STRING_EQUAL(gad_model_name(k), gad_model_name(m));
    for (int i = 0; i < gad_model_num_params(m); i++) {
        gad_param_info a, b;
        gad_model_param(m, i, &a);
        gad_model_param(k, i, &b);
        CU_ASSERT_STRING_EQUAL(a.name, b.name);
        CU_ASSERT_EQUAL_FATAL(a.count, b.count);
        CU_ASSERT(a.data != b.data);
        CU_ASSERT(!memcmp(a.data, b.data, a.count * sizeof(float)));
    }
    for (int i = 0; i < gad_model_num_layers(m); i++) {
        gad_layer_info a, b;
        gad_model_layer(m, i, &a);
        gad_model_layer(k, i, &b);
        CU_ASSERT_STRING_EQUAL(a.name, b.name);
        CU_ASSERT_STRING_EQUAL(a.onnx_op, b.onnx_op);
        CU_ASSERT(!memcmp(a.out_dims, b.out_dims, sizeof a.out_dims));
    }
    /* residual: the Add joins the first ReLU's output and the folded conv2 */
    const gad_node *add = &m->nodes[5];
    CU_ASSERT_EQUAL(add->op, GAD_OP_ADD);
    CU_ASSERT_EQUAL(add->in[0], m->nodes[1].out);
    CU_ASSERT_EQUAL(add->in[1], m->nodes[4].out);
    CU_ASSERT_EQUAL(m->values[m->nodes[1].out].n_consumers, 2);
    gad_param_info p;
    gad_model_param(k, 0, &p);
    float old = p.data[0];
    p.data[0] = old + 1.0f;
    gad_model_param(m, 0, &p);
    CU_ASSERT_EQUAL(p.data[0], old);
    CU_ASSERT_EQUAL(gad_model_param(m, gad_model_num_params(m), &p), GAD_EINVAL);
    CU_ASSERT_EQUAL(gad_model_layer(m, -1, &(gad_layer_info){0}), GAD_EINVAL);
    gad_model_free(k);
    gad_model_free(m);
}

static void test_unsupported(void) {
    load_fails(ONNX("tanh13.onnx"), GAD_EUNSUPPORTED, "node '/Tanh' (Tanh)", "operator not supported");
}

/* The formula tools/make_onnx_fixtures.py uses for handmade weights. */
static float hand_val(int k) { return (float)((k % 7 - 3) / 8.0); }

static void test_handmade(void) {
    gad_model *m = load_ok(ONNX("hand_gemm.onnx"));
    if (m) {
        CU_ASSERT_EQUAL_FATAL(gad_model_num_layers(m), 2);
        CU_ASSERT_STRING_EQUAL(m->nodes[0].name, "Flatten_0"); /* unnamed nodes get op_index */
        CU_ASSERT_STRING_EQUAL(m->nodes[1].name, "Gemm_1");
        CU_ASSERT_EQUAL(m->output, m->nodes[1].out); /* Identity vanished */
        CU_ASSERT_STRING_EQUAL(m->output_name, "y");
        const gad_param *w = &m->params[m->nodes[1].weight], *b = &m->params[m->nodes[1].bias];
        CU_ASSERT_EQUAL_FATAL(w->count, 160);
        CU_ASSERT_EQUAL(w->dims[0], 5);
        int ok = 1;
        for (int o = 0; o < 5; o++) {
            for (int i = 0; i < 32; i++) ok &= w->data[o * 32 + i] == 2 * hand_val(i * 5 + o); /* alpha B^T */
            ok &= fabsf(b->data[o] - 0.5f * (hand_val(o) + 1)) < 1e-7f;                  /* beta C */
        }
        CU_ASSERT(ok);
        CU_ASSERT_EQUAL(gad_model_num_classes(m), 5);
        gad_model_free(m);
    }
    m = load_ok(ONNX("hand_misc.onnx"));
    if (m) {
        static const char *names[] = {"conv", "clip", "addc", "view", "fc"};
        static const gad_op ops[] = {GAD_OP_CONV, GAD_OP_RELU, GAD_OP_CONV, GAD_OP_FLATTEN, GAD_OP_GEMM};
        CU_ASSERT_EQUAL_FATAL(gad_model_num_layers(m), 5);
        for (int i = 0; i < 5; i++) {
            CU_ASSERT_STRING_EQUAL(m->nodes[i].name, names[i]);
            CU_ASSERT_EQUAL(m->nodes[i].op, ops[i]);
        }
        /* SAME_UPPER, k2 s1: one pad row/column, at the end */
        const gad_node *cv = &m->nodes[0];
        CU_ASSERT(cv->pad[0] == 0 && cv->pad[1] == 0 && cv->pad[2] == 1 && cv->pad[3] == 1);
        CU_ASSERT_EQUAL(m->values[cv->out].shape.d[1], 4);
        int ok = 1;
        for (int k = 0; k < 24; k++) ok &= m->params[cv->weight].data[k] == hand_val(k); /* float_data */
        /* Add of a [3,1,1] constant: depthwise 1x1 conv, weight 1, bias the constant */
        const gad_node *ad = &m->nodes[2];
        CU_ASSERT_EQUAL(ad->group, 3);
        CU_ASSERT_STRING_EQUAL(ad->onnx_op, "Add");
        for (int k = 0; k < 3; k++) {
            ok &= m->params[ad->weight].data[k] == 1.0f;
            ok &= m->params[ad->bias].data[k] == hand_val(k) + 2;
        }
        /* transB=1: the weight is F as stored */
        for (int k = 0; k < 240; k++) ok &= m->params[m->nodes[4].weight].data[k] == hand_val(k);
        CU_ASSERT(ok);
        CU_ASSERT_EQUAL(m->nodes[4].bias, -1);
        CU_ASSERT_EQUAL(m->values[m->nodes[3].out].shape.d[0], 48);
        CU_ASSERT_EQUAL(gad_model_had_softmax(m), 1);
        CU_ASSERT_EQUAL(gad_model_num_classes(m), 5);
        gad_model_free(m);
    }
    m = load_ok(ONNX("hand_same_reshape.onnx"));
    if (m) {
        CU_ASSERT_EQUAL(gad_model_num_layers(m), 3); /* relu, gap, flatten */
        CU_ASSERT_EQUAL(m->nodes[1].in[0], m->nodes[0].out);
        gad_model_free(m);
    }
    load_fails(ONNX("bad_reshape.onnx"), GAD_EUNSUPPORTED, "Reshape", NULL);
    load_fails(ONNX("bad_indices.onnx"), GAD_EUNSUPPORTED, "node 'pool' (MaxPool)", "'idx' is used");
    load_fails(ONNX("bad_two_inputs.onnx"), GAD_EUNSUPPORTED, "'x'", "'x2'");
    load_fails(ONNX("bad_softmax_mid.onnx"), GAD_EUNSUPPORTED, "node 'mid_soft' (Softmax)", NULL);
    load_fails(ONNX("bad_autopad.onnx"), GAD_EUNSUPPORTED, "node 'sconv' (Conv)", "'auto_pad'=SAME_UPPER");
    load_fails(ONNX("bad_rank.onnx"), GAD_EUNSUPPORTED, "must be 4-D", NULL);
    /* shape inference's verdict comes through with the node named */
    gad_model *bs = (gad_model *)1;
    gad_err e;
    CU_ASSERT(gad_model_load(ONNX("bad_shape.onnx"), &bs, &e) < 0);
    CU_ASSERT_PTR_NULL(bs);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "mismatch"));
    load_fails(ONNX("bad_two_outputs.onnx"), GAD_EUNSUPPORTED, "'y', 'y2'", NULL);
    m = load_ok(ONNX("hand_clipinf.onnx"));
    if (m) {
        CU_ASSERT_EQUAL(m->nodes[0].op, GAD_OP_RELU);
        gad_model_free(m);
    }
    m = load_ok(ONNX("hand_pad.onnx"));
    if (m) {
        CU_ASSERT_EQUAL_FATAL(gad_model_num_layers(m), 4); /* conv, avgpool, gap, flatten */
        const gad_node *cv = &m->nodes[0], *ap = &m->nodes[1];
        CU_ASSERT(cv->op == GAD_OP_CONV && cv->pad[0] == 1 && cv->pad[1] == 1 && cv->pad[2] == 1 && cv->pad[3] == 1);
        CU_ASSERT(ap->op == GAD_OP_AVGPOOL && ap->pad[0] == 1 && ap->pad[3] == 1 && ap->count_include_pad == 1);
        CU_ASSERT_EQUAL(cv->in[0], m->input);
        /* 4x4 padded to 6x6, conv k2 -> 5x5, padded to 7x7, avg k2 -> 6x6 */
        CU_ASSERT_EQUAL(m->values[cv->out].shape.d[1], 5);
        CU_ASSERT_EQUAL(m->values[ap->out].shape.d[2], 6);
        gad_model_free(m);
    }
    load_fails(ONNX("bad_pad_maxpool.onnx"), GAD_EUNSUPPORTED, "node 'mpool' (MaxPool)", "Pad");
    m = load_ok(ONNX("hand_batch4.onnx"));
    if (m) {
        CU_ASSERT_EQUAL(m->nodes[0].op, GAD_OP_FLATTEN);
        CU_ASSERT_EQUAL(gad_model_num_classes(m), 5);
        gad_model_free(m);
    }
}

/* Random byte damage must never crash (run under ASan in the sanitizer
 * build); whatever is refused names the model. */
static void test_mutated(void) {
    size_t sz;
    unsigned char *d = gad_test_read_file(ONNX("residual13.onnx"), &sz);
    CU_ASSERT_FATAL(d != NULL);
    unsigned char *c = malloc(sz);
    unsigned s = 99;
    int refused = 0, named = 1;
    for (int it = 0; it < 400; it++) {
        memcpy(c, d, sz);
        for (int k = 0; k < 1 + it % 4; k++) {
            s = s * 1103515245u + 12345u;
            size_t at = (s >> 8) % sz;
            s = s * 1103515245u + 12345u;
            c[at] = (unsigned char)(s >> 16);
        }
        gad_model *m = NULL;
        gad_err e;
        int rc = gad_model_load_mem(c, sz, "mut.onnx", &m, &e);
        if (rc) {
            refused++;
            if (strncmp(e.msg, "mut.onnx: ", 10)) named = 0;
        } else {
            CU_ASSERT(gad_model_num_layers(m) > 0);
            gad_model_free(m);
        }
    }
    CU_ASSERT(refused > 0);
    CU_ASSERT(named);
    free(c);
    free(d);
}

/* ---- bad files ---------------------------------------------------------- */

static void write_file(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    if (n) fwrite(d, 1, n, f);
    fclose(f);
}

static void test_bad_files(void) {
    char p[512];
    const char *tmp = gad_test_tmpdir();
    snprintf(p, sizeof p, "%s/empty.onnx", tmp);
    write_file(p, "", 0);
    load_fails(p, GAD_EFORMAT, "empty", NULL);
    load_fails(tmp, GAD_EIO, "directory", NULL);
    snprintf(p, sizeof p, "%s/no_such_file.onnx", tmp);
    load_fails(p, GAD_ENOTFOUND, "cannot open", NULL);

    unsigned char junk[4096];
    unsigned s = 12345;
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)((s = s * 1103515245u + 12345u) >> 16);
    snprintf(p, sizeof p, "%s/garbage.onnx", tmp);
    write_file(p, junk, sizeof junk);
    load_fails(p, GAD_EFORMAT, "not a valid ONNX model", NULL);

    load_fails(ONNX("bad_size.onnx"), GAD_EFORMAT, "conv1.weight", "raw_data");
    load_fails(ONNX("bad_external.onnx"), GAD_EUNSUPPORTED, "conv1.weight", "external data");
    load_fails(ONNX("bad_nan.onnx"), GAD_EVALUE, "conv1.weight", "NaN");
    load_fails(ONNX("bad_opset.onnx"), GAD_EUNSUPPORTED, "opset 8", NULL);
    load_fails(ONNX("bad_missing.onnx"), GAD_EFORMAT, "node '/conv1/Conv' (Conv)", "'conv1.weight'");
    load_fails(ONNX("bad_cycle.onnx"), GAD_EFORMAT, "cycle", NULL);

    /* a file whose nodes are listed in reverse loads like the original */
    gad_model *a = load_ok(ONNX("reversed.onnx")), *b = load_ok(ONNX("tiny13.onnx"));
    if (a && b) {
        CU_ASSERT_EQUAL(gad_model_num_layers(a), gad_model_num_layers(b));
        for (int i = 0; i < gad_model_num_layers(a); i++) {
            gad_layer_info x, y;
            gad_model_layer(a, i, &x);
            gad_model_layer(b, i, &y);
            CU_ASSERT_STRING_EQUAL(x.name, y.name);
        }
    }
    gad_model_free(a);
    gad_model_free(b);
}

/* Every strict prefix of a valid file must be refused, never crash. */
static void test_truncated(void) {
    size_t sz;
    unsigned char *d = gad_test_read_file(ONNX("matmul13.onnx"), &sz);
    CU_ASSERT_FATAL(d != NULL && sz > 100);
    int accepted = 0, named = 1;
    for (size_t n = 1; n < sz; n++) {
        gad_model *m = NULL;
        gad_err e;
        e.msg[0] = 0;
        int rc = gad_model_load_mem(d, n, "cut.onnx", &m, &e);
        if (!rc) {
            accepted++;
            gad_model_free(m);
        }
        if (rc && strncmp(e.msg, "cut.onnx: ", 10)) named = 0;
    }
    CU_ASSERT_EQUAL(accepted, 0);
    CU_ASSERT(named);
    /* truncated files on disk, at a few offsets of a bigger model */
    free(d);
    d = gad_test_read_file(ONNX("tiny13.onnx"), &sz);
    CU_ASSERT_FATAL(d != NULL);
    size_t cuts[] = {1, 7, 64, sz / 3, sz / 2, sz - 200, sz - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/trunc_%zu.onnx", gad_test_tmpdir(), cuts[i]);
        write_file(p, d, cuts[i]);
        gad_model *m = NULL;
        gad_err e;
        int rc = gad_model_load(p, &m, &e);
        CU_ASSERT(rc < 0);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, p));
    }
    /* the whole buffer from memory loads */
    gad_model *m = NULL;
    gad_err e;
    GAD_ASSERT_OK(gad_model_load_mem(d, sz, "mem.onnx", &m, &e), e);
    CU_ASSERT_STRING_EQUAL(gad_model_name(m), "mem.onnx");
    gad_model_free(m);
    CU_ASSERT_EQUAL(gad_model_load_mem(d, 0, "zero.onnx", &m, &e), GAD_EFORMAT);
    CU_ASSERT_EQUAL(gad_model_load_mem(NULL, 10, "null.onnx", &m, &e), GAD_EINVAL);
    free(d);
}

/* ---- torchvision architectures ------------------------------------------ */

static void test_torchvision(void) {
    if (!gad_test_have_torch("torchvision architectures load")) return;
    char cmd[1024], out[4096];
    const char *dir = gad_test_tmpdir();
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tools/make_onnx_fixtures.py --torchvision %s/tv 2>/dev/null",
             GAD_SOURCE_DIR, dir);
    int rc = gad_test_run(cmd, out, sizeof out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    /* layers: resnet18 = conv1, relu, maxpool + 8 blocks x (conv, relu, conv,
     * add, relu) + 3 downsample convs + gap, flatten, fc = 3 + 40 + 3 + 3.
     * vgg11 = 8 conv + 8 relu + 5 maxpool + avgpool + flatten + 3 fc + 2 relu
     * (dropout vanishes). vgg11_bn: the same (BN folded). mobilenet_v2: 52
     * convs + 35 clips + 10 adds + gap + flatten + fc (dropout vanishes).
     * squeezenet1_1: 26 convs + 26 relus + 3 maxpools + 8 concats + gap +
     * flatten = 65; dropout vanishes. */
    static const struct { const char *name; int layers; } nets[] = {
        {"resnet18", 49}, {"vgg11", 28}, {"vgg11_bn", 28}, {"mobilenet_v2", 100}, {"squeezenet1_1", 65}};
    for (int i = 0; i < 5; i++) {
        char p[512], key[64];
        snprintf(p, sizeof p, "%s/tv/%s.onnx", dir, nets[i].name);
        gad_model *m = load_ok(p);
        if (!m) continue;
        long long torch_params = -1, folded = -1;
        snprintf(key, sizeof key, "%s ", nets[i].name);
        const char *line = strstr(out, key);
        if (line) sscanf(line + strlen(key), "%lld %lld", &torch_params, &folded);
        if (gad_model_num_layers(m) != nets[i].layers || gad_model_total_params(m) != folded)
            fprintf(stderr, "\n  %s: %d layers (want %d), %lld params (want %lld)\n", nets[i].name,
                    gad_model_num_layers(m), nets[i].layers, (long long)gad_model_total_params(m), folded);
        CU_ASSERT_EQUAL(gad_model_num_layers(m), nets[i].layers);
        CU_ASSERT_EQUAL(gad_model_num_classes(m), 1000);
        CU_ASSERT_EQUAL(gad_model_total_params(m), folded);
        int c, h, w;
        gad_model_input_dims(m, &c, &h, &w);
        CU_ASSERT(c == 3 && h == 224 && w == 224);
        gad_layer_info li;
        gad_model_layer(m, gad_model_num_layers(m) - 1, &li);
        CU_ASSERT_EQUAL(li.out_nd, 1);
        gad_model_free(m);
    }
    /* about 1 GB of exports: do not leave them in /tmp */
    for (int i = 0; i < 5; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/tv/%s.onnx", dir, nets[i].name);
        remove(p);
    }
    snprintf(cmd, sizeof cmd, "%s/tv", dir);
    remove(cmd);
}

void gad_test_register_onnx(void) {
    static const gad_test_case t[] = {{"fixtures_vs_pytorch", test_fixtures},
                                      {"bn_fold_structure", test_bn_fold_structure},
                                      {"bn_fold_values", test_bn_fold_values},
                                      {"ops_attributes", test_ops_attributes},
                                      {"matmul_softmax_view", test_matmul_softmax_view},
                                      {"free_hw", test_free_hw},
                                      {"clone", test_clone},
                                      {"unsupported_op", test_unsupported},
                                      {"handmade", test_handmade},
                                      {"mutated", test_mutated},
                                      {"bad_files", test_bad_files},
                                      {"truncated", test_truncated},
                                      {"torchvision", test_torchvision},
                                      {0, 0}};
    gad_test_add_suite("onnx", t);
}
