/* The bad-input matrix: each kind of bad file or flag thrown at the gad
 * command line in a child process. For every case the command must exit
 * non-zero (and not by a signal or a sanitizer report), print exactly one
 * line on stderr naming the file (or the flag) and the problem, and leave no
 * file behind: neither in --out nor in its working directory (temporaries
 * included). Under the ASan build the child is an ASan binary with
 * detect_leaks=1 inherited from the environment; its exit code is set apart
 * (86) and any report would add lines, so leaks fail the case too.
 *
 * Also here: the loader limits that need no child process (declared sizes
 * checked before allocation, --max-model-bytes on the initializers' sum),
 * and the fuzz regressions in tests/data/fuzz/<harness>/. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gad/gad.h"
#include "harness.h"
#include "io/image_internal.h"
#include "onnx.pb-c.h"

#define DEMO GAD_SOURCE_DIR "/tools/demo"
#define MODEL DEMO "/fashion_cnn.onnx"
#define IMG DEMO "/images/ankle-boot-00000.png"
#define CLI GAD_CLI_PATH
#define SAN_EXIT 86

static char tmp_path[1024];
static const char *tmpf(const char *name) {
    snprintf(tmp_path, sizeof tmp_path, "%s/%s", gad_test_tmpdir(), name);
    return tmp_path;
}

static void write_file(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    if (n) CU_ASSERT_EQUAL(fwrite(d, 1, n, f), n);
    fclose(f);
}

/* Entries in dir other than . and ..; -1 when it does not exist. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int n_cases;

/* Run `gad ARGS` in a fresh empty working directory; OUT in ARGS is replaced
 * by a fresh output folder (not created). Asserts the contract above; the
 * one stderr line must contain every non-NULL fragment. Returns the exit
 * status. */
static int expect_refused(const char *args, const char *frag1, const char *frag2) {
    char cwd[600], out[600], errf[600], cmd[8192], a[4096];
    int id = n_cases++;
    snprintf(cwd, sizeof cwd, "%s/case%03d", gad_test_tmpdir(), id);
    snprintf(out, sizeof out, "%s/case%03d.out", gad_test_tmpdir(), id);
    snprintf(errf, sizeof errf, "%s/case%03d.err", gad_test_tmpdir(), id);
    CU_ASSERT_FATAL(mkdir(cwd, 0755) == 0);
    /* substitute OUT */
    const char *p = args;
    size_t n = 0;
    while (*p && n + 700 < sizeof a) {
        if (!strncmp(p, "OUT", 3)) {
            n += (size_t)snprintf(a + n, sizeof a - n, "%s", out);
            p += 3;
        } else {
            a[n++] = *p++;
        }
    }
    a[n] = 0;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:exitcode=%d\" "
             "UBSAN_OPTIONS=\"${UBSAN_OPTIONS:-}:exitcode=%d\" timeout -s KILL 60 %s %s >/dev/null 2>'%s'",
             cwd, SAN_EXIT, SAN_EXIT, CLI, a, errf);
    int rc = gad_test_run(cmd, NULL, 0);
    size_t esz = 0;
    char *err = gad_test_read_file(errf, &esz);
    char *msg = err ? err : "";
    int one_line = esz > 0 && msg[esz - 1] == '\n' && strlen(msg) == esz;
    one_line = one_line && memchr(msg, '\n', esz - 1) == NULL;
    int ok = rc > 0 && rc < 126 && rc != SAN_EXIT && one_line && gad_test_cli_prefixed(msg) &&
             (!frag1 || strstr(msg, frag1)) && (!frag2 || strstr(msg, frag2));
    int out_n = count_entries(out), cwd_n = count_entries(cwd);
    if (!ok || out_n >= 0 || cwd_n != 0)
        fprintf(stderr, "\n  case %d: gad %s\n  exit %d, out entries %d, cwd entries %d, stderr:\n%s\n", id, a,
                rc, out_n, cwd_n, msg);
    CU_ASSERT(rc > 0 && rc < 126);
    CU_ASSERT(rc != SAN_EXIT);
    CU_ASSERT(one_line);
    CU_ASSERT(gad_test_cli_prefixed(msg));
    if (frag1) CU_ASSERT_PTR_NOT_NULL(strstr(msg, frag1));
    if (frag2) CU_ASSERT_PTR_NOT_NULL(strstr(msg, frag2));
    CU_ASSERT_EQUAL(out_n, -1); /* not even an empty folder */
    CU_ASSERT_EQUAL(cwd_n, 0);
    free(err);
    return rc;
}

/* The same command on good input must succeed: the matrix's command lines are
 * only meaningful if the one bad part is what makes them fail. */
static void expect_ok(const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", CLI, args);
    int rc = gad_test_run(cmd, NULL, 0);
    if (rc) fprintf(stderr, "\n  gad %s -> %d\n", args, rc);
    CU_ASSERT_EQUAL(rc, 0);
}

#define ATTR "attribute --steps 4 --out OUT --model "
#define ATTR0 "attribute --out OUT --model "

/* ---- models ---------------------------------------------------------------- */

static void test_cli_models(void) {
    char args[2048];
    /* control: with the bad part taken out, the same command line works */
    snprintf(args, sizeof args,
             "attribute --steps 4 --out %s/okout --model " MODEL " --max-model-bytes 200000 --max-pixels 784 " IMG
             " --target 9",
             gad_test_tmpdir());
    expect_ok(args);
    size_t sz;
    unsigned char *d = gad_test_read_file(MODEL, &sz);
    CU_ASSERT_FATAL(d != NULL && sz > 100000);

    /* truncated at many offsets */
    size_t cuts[] = {1, 2, 17, 100, 1000, 4096, 30000, sz / 2, sz - 1000, sz - 30, sz - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        char name[64];
        snprintf(name, sizeof name, "cut_%zu.onnx", cuts[i]);
        const char *p = tmpf(name);
        write_file(p, d, cuts[i]);
        snprintf(args, sizeof args, ATTR "%s " IMG, p);
        char head[1100];
        snprintf(head, sizeof head, "gad: %s: ", p); /* names the file first */
        expect_refused(args, head, NULL);
    }

    /* bit flips: a flipped file is either still a valid model (the library
     * loads it, e.g. a changed weight mantissa) or refused as above */
    unsigned char *c = malloc(sz);
    CU_ASSERT_FATAL(c != NULL);
    unsigned s = 7;
    int refused = 0;
    for (int it = 0; it < 12; it++) {
        memcpy(c, d, sz);
        for (int k = 0; k < 3; k++) {
            s = s * 1103515245u + 12345u;
            size_t at = (s >> 4) % sz;
            c[at] ^= (unsigned char)(1u << (s >> 28 & 7));
        }
        /* half of them in the first KB: the graph's structure */
        if (it % 2) c[(s >> 3) % 1024] ^= 0x40;
        gad_model *m = NULL;
        gad_err e;
        int lrc = gad_model_load_mem(c, sz, "flip", &m, &e);
        gad_model_free(m);
        if (!lrc) continue;
        refused++;
        char name[64];
        snprintf(name, sizeof name, "flip_%d.onnx", it);
        const char *p = tmpf(name);
        write_file(p, c, sz);
        snprintf(args, sizeof args, ATTR "%s " IMG, p);
        char head[1100];
        snprintf(head, sizeof head, "gad: %s: ", p);
        expect_refused(args, head, NULL);
    }
    CU_ASSERT(refused >= 3);
    free(c);

    /* an op we do not support: Relu renamed to Selu (same length, so the
     * protobuf stays valid) */
    memcpy(c = malloc(sz), d, sz);
    int renamed = 0;
    for (size_t i = 0; i + 4 <= sz; i++)
        if (!memcmp(c + i, "Relu", 4) && i && c[i - 1] == 4) { /* a 4-byte string field */
            memcpy(c + i, "Selu", 4);
            renamed++;
        }
    CU_ASSERT(renamed > 0);
    write_file(tmpf("selu.onnx"), c, sz);
    free(c);
    snprintf(args, sizeof args, ATTR "%s " IMG, tmpf("selu.onnx"));
    expect_refused(args, "selu.onnx: node '", "(Selu)");
    free(d);

    /* fixtures: external data, NaN weight, size vs dims, cycle, dangling input */
    expect_refused(ATTR GAD_SOURCE_DIR "/tests/data/onnx/bad_external.onnx " IMG, "bad_external.onnx: ",
                   "external data");
    expect_refused(ATTR GAD_SOURCE_DIR "/tests/data/onnx/bad_nan.onnx " IMG, "bad_nan.onnx: ", "NaN");
    expect_refused(ATTR GAD_SOURCE_DIR "/tests/data/onnx/bad_size.onnx " IMG, "bad_size.onnx: ", "dims need");
    expect_refused(ATTR GAD_SOURCE_DIR "/tests/data/onnx/bad_cycle.onnx " IMG, "bad_cycle.onnx: ", "cycle");
    expect_refused(ATTR GAD_SOURCE_DIR "/tests/data/onnx/bad_missing.onnx " IMG, "bad_missing.onnx: ",
                   "is not defined");

    /* a huge declared tensor (written by test_limits below) */
    snprintf(args, sizeof args, ATTR "%s " IMG, tmpf("huge.onnx"));
    expect_refused(args, "huge.onnx: ", "--max-model-bytes");
    /* the file itself above --max-model-bytes */
    expect_refused(ATTR MODEL " --max-model-bytes 100000 " IMG, "fashion_cnn.onnx: ", "limit of 100000");
    expect_refused(ATTR MODEL " --max-model-bytes 0 " IMG, "--max-model-bytes", "out of range");
    /* a directory where a file is expected */
    expect_refused(ATTR GAD_SOURCE_DIR "/tests " IMG, "/tests: ", "is a directory");
    expect_refused(ATTR "no_such.onnx " IMG, "no_such.onnx: ", "cannot open");
    /* every command refuses a bad model the same way */
    expect_refused("predict --model " GAD_SOURCE_DIR "/tests/data/onnx/bad_cycle.onnx " IMG, "bad_cycle.onnx: ",
                   "cycle");
    expect_refused("info --model " GAD_SOURCE_DIR "/tests/data/onnx/bad_nan.onnx", "bad_nan.onnx: ", "NaN");
}

/* ---- images ---------------------------------------------------------------- */

static void image_cuts(const char *fixture, const char *ext) {
    size_t sz;
    unsigned char *d = gad_test_read_file(gad_test_data(fixture), &sz);
    CU_ASSERT_FATAL(d != NULL && sz > 64);
    char args[2048], name[64];
    size_t cuts[] = {4, 20, sz / 2, sz - 8};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        snprintf(name, sizeof name, "cut_%zu.%s", cuts[i], ext);
        const char *p = tmpf(name);
        write_file(p, d, cuts[i]);
        snprintf(args, sizeof args, ATTR MODEL " %s", p);
        char head[1100];
        snprintf(head, sizeof head, "gad: %s: ", p);
        expect_refused(args, head, NULL);
    }
    /* corrupt: the middle third overwritten with noise, magic kept */
    unsigned s = 3;
    for (size_t i = sz / 3; i < 2 * sz / 3; i++) d[i] = (unsigned char)((s = s * 1103515245u + 12345u) >> 16);
    snprintf(name, sizeof name, "corrupt.%s", ext);
    const char *p = tmpf(name);
    write_file(p, d, sz);
    gad_image img;
    gad_err e;
    if (gad_image_load(p, 0, &img, &e) == 0) {
        /* noise in compressed data can decode: then the file is not bad */
        gad_image_free(&img);
    } else {
        snprintf(args, sizeof args, ATTR MODEL " %s", p);
        char head[1100];
        snprintf(head, sizeof head, "gad: %s: ", p);
        expect_refused(args, head, NULL);
    }
    free(d);
}

static void test_cli_images(void) {
    image_cuts("images/rgb8_lzw.tif", "tif");
    image_cuts("images/rgb16.png", "png");
    image_cuts("images/rgb.jpg", "jpg");
    expect_refused(ATTR MODEL " " GAD_SOURCE_DIR "/tests/data/images/huge_cols.tif", "huge_cols.tif: ",
                   "exceeds the limit");
    expect_refused(ATTR MODEL " " GAD_SOURCE_DIR "/tests/data/images/nan.tif", "nan.tif: ", "NaN");
    expect_refused(ATTR MODEL " " GAD_SOURCE_DIR "/tests/data/images/zero_width.png", "zero_width.png: ", NULL);
    expect_refused(ATTR MODEL " " GAD_SOURCE_DIR "/tests/data/images/zero_width.tif", "zero_width.tif: ", NULL);
    expect_refused(ATTR MODEL " --max-pixels 800 " GAD_SOURCE_DIR "/tests/data/images/rgb.jpg", "rgb.jpg: ",
                         "limit of 800 pixels"); /* 39 x 21 = 819 pixels; the model's 28 x 28 pass */
    write_file(tmpf("text.png"), "not an image\n", 13);
    char args[2048];
    snprintf(args, sizeof args, ATTR MODEL " %s", tmpf("text.png"));
    expect_refused(args, "text.png: ", "unrecognised image format");
    expect_refused(ATTR MODEL " --baseline " GAD_SOURCE_DIR "/tests/data/images/nan.tif " IMG, "nan.tif: ",
                   "NaN");
    expect_refused("predict --model " MODEL " " GAD_SOURCE_DIR "/tests/data/images/huge_cols.tif",
                   "huge_cols.tif: ", "exceeds the limit");
}

/* ---- flags and folders ------------------------------------------------------ */

static void test_cli_flags(void) {
    write_file(tmpf("afile"), "x", 1);
    char args[2048];
    /* an output folder that cannot be made: under a regular file, and under
     * /proc (root ignores permission bits, so these stand in for them) */
    snprintf(args, sizeof args, "attribute --steps 4 --model " MODEL " --out %s/sub " IMG, tmpf("afile"));
    expect_refused(args, "afile/sub", NULL);
    expect_refused("attribute --steps 4 --model " MODEL " --out /proc/gad-out " IMG, "/proc/gad-out", NULL);
    /* the support folder of gad explain */
    expect_refused("explain --model " MODEL " --support no_such_dir --out OUT " IMG, "no_such_dir", NULL);
    expect_refused(ATTR MODEL " --target 10 " IMG, "--target", "10");
    expect_refused(ATTR MODEL " --target -1 " IMG, "-1", "outside");
    expect_refused(ATTR MODEL " --target contrast:3,99 " IMG, "99", "outside");
    expect_refused(ATTR0 MODEL " --steps -3 " IMG, "--steps", "-3");
    expect_refused(ATTR0 MODEL " --steps 1e9 " IMG, "--steps", "not an integer");
    expect_refused(ATTR MODEL " --frobnicate " IMG, "--frobnicate", "unknown flag");
    expect_refused(ATTR MODEL " -x " IMG, "'-x'", "unknown option");
    expect_refused(ATTR0 MODEL " --steps", "--steps", "needs a value");
    expect_refused(ATTR MODEL " --method magic " IMG, "--method", "magic");
    expect_refused(ATTR MODEL " --stdev nan " IMG, "--stdev", "not a finite number");
    expect_refused(ATTR MODEL " --mean 0.5,inf " IMG, "--mean", "not a finite number");
    expect_refused(ATTR MODEL " --std 0 " IMG, "--std", "non-zero");
    expect_refused(ATTR MODEL " --size 0x28 " IMG, "--size", "HxW");
    expect_refused(ATTR MODEL " --max-pixels -5 " IMG, "--max-pixels", "out of range");
    expect_refused(ATTR MODEL " --size 100x100 --max-pixels 9999 " IMG, "--size 100x100", "--max-pixels 9999");
    expect_refused("info --max-model-bytes 1000 --model " MODEL, "fashion_cnn.onnx: ", "limit of 1000 bytes");
    expect_refused(ATTR MODEL " --max-pixels 700 " IMG, "fashion_cnn.onnx: ", "28 x 28 pixels exceeds --max-pixels 700");
    expect_refused(ATTR MODEL " --list " GAD_SOURCE_DIR "/tests " IMG, "/tests", NULL);
    expect_refused("frobnicate", "frobnicate", NULL);
}

/* ---- loader limits without a child process ------------------------------ */

/* The demo model with one initializer's dims replaced: the file stays small,
 * its declared size does not. */
static unsigned char *with_dims(const unsigned char *d, size_t sz, const int64_t *dims, size_t nd, int as_constant,
                                size_t *out_sz) {
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, sz, d);
    CU_ASSERT_FATAL(m != NULL && m->graph && m->graph->n_initializer > 0);
    Onnx__TensorProto *t = m->graph->initializer[0];
    int64_t *old = t->dims;
    size_t old_n = t->n_dims;
    t->dims = (int64_t *)dims;
    t->n_dims = nd;
    Onnx__NodeProto node = ONNX__NODE_PROTO__INIT, *nodes[64];
    Onnx__AttributeProto at = ONNX__ATTRIBUTE_PROTO__INIT, *ats[1] = {&at};
    char *outs[1] = {t->name}; /* the consumers' input now comes from the node */
    Onnx__NodeProto **old_nodes = m->graph->node;
    size_t old_nn = m->graph->n_node;
    if (as_constant) { /* the same tensor as a Constant node's value */
        CU_ASSERT_FATAL(old_nn < 63);
        at.name = "value";
        at.has_type = 1;
        at.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
        at.t = t;
        node.op_type = "Constant";
        node.name = "big";
        node.n_output = 1;
        node.output = outs;
        node.n_attribute = 1;
        node.attribute = ats;
        nodes[0] = &node;
        memcpy(nodes + 1, old_nodes, old_nn * sizeof *nodes);
        m->graph->node = nodes;
        m->graph->n_node = old_nn + 1;
        m->graph->n_initializer--; /* initializer[0] stays in the file as the Constant */
        m->graph->initializer++;
    }
    size_t n = onnx__model_proto__get_packed_size(m);
    unsigned char *buf = malloc(n);
    CU_ASSERT_FATAL(buf != NULL);
    onnx__model_proto__pack(m, buf);
    if (as_constant) {
        m->graph->initializer--;
        m->graph->n_initializer++;
        m->graph->node = old_nodes;
        m->graph->n_node = old_nn;
    }
    t->dims = old;
    t->n_dims = old_n;
    onnx__model_proto__free_unpacked(m, NULL);
    *out_sz = n;
    return buf;
}

static void test_limits(void) {
    size_t sz, n;
    unsigned char *d = gad_test_read_file(MODEL, &sz);
    CU_ASSERT_FATAL(d != NULL);
    gad_model *m = (gad_model *)1;
    gad_err e;

    /* 2^20 x 2^20 x 16 x 16 floats, declared by a few bytes of dims: refused
     * by the byte limit before decoding (and written for the CLI matrix) */
    int64_t huge[] = {1 << 20, 1 << 20, 16, 16};
    unsigned char *b = with_dims(d, sz, huge, 4, 0, &n);
    CU_ASSERT(n < sz + 64);
    CU_ASSERT_EQUAL(gad_model_load_mem(b, n, "huge.onnx", &m, &e), GAD_ELIMIT);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "huge.onnx: initializer '"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--max-model-bytes"));
    write_file(tmpf("huge.onnx"), b, n);
    free(b);

    /* overflowing int64 in the product of dims */
    int64_t wrap[] = {INT64_C(1) << 40, INT64_C(1) << 40, 1 << 20};
    b = with_dims(d, sz, wrap, 3, 0, &n);
    CU_ASSERT_EQUAL(gad_model_load_mem(b, n, "wrap.onnx", &m, &e), GAD_ELIMIT);
    free(b);

    /* the same huge tensor as a Constant node (not an initializer, so not
     * in the weights' sum): refused above the element cap, and below it
     * because its data does not match the dims, before the 16 GiB buffer
     * the dims ask for is allocated */
    int64_t big[] = {1 << 20, 1 << 20, 4};
    b = with_dims(d, sz, big, 3, 1, &n);
    CU_ASSERT_EQUAL(gad_model_load_mem(b, n, "const.onnx", &m, &e), GAD_ELIMIT);
    int64_t big2[] = {1 << 20, 1 << 10, 4}; /* under the element cap: the size check decides */
    free(b);
    b = with_dims(d, sz, big2, 3, 1, &n);
    int rc = gad_model_load_mem(b, n, "const2.onnx", &m, &e);
    CU_ASSERT_EQUAL(rc, GAD_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "const2.onnx: Constant '"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "dims need 17179869184"));
    free(b);

    /* --max-model-bytes on the file's size (the sum check is the huge case
     * above: real weights never outgrow the file holding them) */
    gad_model_limits lim = {.max_bytes = (int64_t)sz - 1};
    CU_ASSERT_EQUAL(gad_model_load_mem_ex(d, sz, "demo.onnx", &lim, &m, &e), GAD_ELIMIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "demo.onnx: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "exceeds the model size limit"));
    lim.max_bytes = (int64_t)sz;
    GAD_ASSERT_OK(gad_model_load_mem_ex(d, sz, "demo.onnx", &lim, &m, &e), e);
    gad_model_free(m);
    free(d);
}

/* Constant folding of Unsqueeze/Squeeze on a 5-element constant with axes
 * that change the element count (a repeated axis; squeezing a dim of 5):
 * the folded copy once wrote past its buffer. The demo model (opset 13, axes
 * as an input) gets three nodes in front: data, axes, the op. */
static void squeeze_case(const unsigned char *d, size_t sz, const char *op, const int64_t *axes, size_t n_axes) {
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, sz, d);
    CU_ASSERT_FATAL(m != NULL && m->graph && m->graph->n_node < 60);
    int64_t vals[5] = {1, 2, 3, 4, 5};
    Onnx__AttributeProto a_data = ONNX__ATTRIBUTE_PROTO__INIT, a_axes = ONNX__ATTRIBUTE_PROTO__INIT;
    Onnx__AttributeProto *pa_data[1] = {&a_data}, *pa_axes[1] = {&a_axes};
    a_data.name = a_axes.name = "value_ints";
    a_data.has_type = a_axes.has_type = 1;
    a_data.type = a_axes.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a_data.n_ints = 5;
    a_data.ints = vals;
    a_axes.n_ints = n_axes;
    a_axes.ints = (int64_t *)axes;
    char *o_data[1] = {"sq_data"}, *o_axes[1] = {"sq_axes"}, *o_op[1] = {"sq_out"};
    char *i_op[2] = {"sq_data", "sq_axes"};
    Onnx__NodeProto n_data = ONNX__NODE_PROTO__INIT, n_axes_ = ONNX__NODE_PROTO__INIT, n_op = ONNX__NODE_PROTO__INIT;
    n_data.op_type = n_axes_.op_type = "Constant";
    n_data.name = "sq_data";
    n_axes_.name = "sq_axes";
    n_data.n_output = n_axes_.n_output = n_op.n_output = 1;
    n_data.output = o_data;
    n_axes_.output = o_axes;
    n_data.n_attribute = n_axes_.n_attribute = 1;
    n_data.attribute = pa_data;
    n_axes_.attribute = pa_axes;
    n_op.op_type = (char *)op;
    n_op.name = "sq";
    n_op.n_input = 2;
    n_op.input = i_op;
    n_op.output = o_op;
    Onnx__NodeProto *nodes[64] = {&n_data, &n_axes_, &n_op};
    Onnx__NodeProto **old = m->graph->node;
    size_t old_n = m->graph->n_node;
    memcpy(nodes + 3, old, old_n * sizeof *nodes);
    m->graph->node = nodes;
    m->graph->n_node = old_n + 3;
    size_t n = onnx__model_proto__get_packed_size(m);
    unsigned char *buf = malloc(n);
    CU_ASSERT_FATAL(buf != NULL);
    onnx__model_proto__pack(m, buf);
    m->graph->node = old;
    m->graph->n_node = old_n;
    onnx__model_proto__free_unpacked(m, NULL);
    gad_model *g = NULL;
    gad_err e;
    int rc = gad_model_load_mem(buf, n, "squeeze.onnx", &g, &e);
    if (rc != GAD_EFORMAT) fprintf(stderr, "\n  %s: rc %d: %s\n", op, rc, e.msg);
    CU_ASSERT_EQUAL(rc, GAD_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "squeeze.onnx: node 'sq'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "element count"));
    gad_model_free(g);
    free(buf);
}

static void test_const_folding(void) {
    size_t sz;
    unsigned char *d = gad_test_read_file(MODEL, &sz);
    CU_ASSERT_FATAL(d != NULL);
    int64_t twice[] = {0, 0}, first[] = {0};
    squeeze_case(d, sz, "Unsqueeze", twice, 2);
    squeeze_case(d, sz, "Squeeze", first, 1);
    free(d);
}

/* IDX: the header's counts are claims; the data decides. */
static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
    p[3] = (unsigned char)v;
}

static void test_idx(void) {
    unsigned char f[16 + 12] = {0, 0, 8, 3};
    put_be32(f + 4, 2), put_be32(f + 8, 2), put_be32(f + 12, 3);
    for (int i = 0; i < 12; i++) f[16 + i] = (unsigned char)(i * 20);
    write_file(tmpf("ok.idx"), f, sizeof f);
    float *x = NULL;
    int n, h, w;
    gad_err e;
    GAD_ASSERT_OK(gad_idx_load_images(tmpf("ok.idx"), 0, &x, &n, &h, &w, &e), e);
    CU_ASSERT(n == 2 && h == 2 && w == 3);
    for (int i = 0; x && i < 12; i++) CU_ASSERT_EQUAL(x[i], (float)(i * 20) / 255.0f);
    free(x);
    /* 2^26 images of 28 x 28 claimed (52 GB), 12 bytes present */
    put_be32(f + 4, 1u << 26), put_be32(f + 8, 28), put_be32(f + 12, 28);
    write_file(tmpf("claim.idx"), f, sizeof f);
    CU_ASSERT_EQUAL(gad_idx_load_images(tmpf("claim.idx"), 0, &x, &n, &h, &w, &e), GAD_EFORMAT);
    CU_ASSERT_PTR_NULL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "claim.idx: truncated IDX data (12 of 52613349376 bytes)"));
    /* labels: an implausible count is refused, not read as zero labels */
    unsigned char l[8 + 3] = {0, 0, 8, 1};
    put_be32(l + 4, 1u << 27);
    write_file(tmpf("claim_labels.idx"), l, sizeof l);
    int *lab = NULL;
    CU_ASSERT_EQUAL(gad_idx_load_labels(tmpf("claim_labels.idx"), 0, &lab, &n, &e), GAD_ELIMIT);
    CU_ASSERT_PTR_NULL(lab);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "claim_labels.idx: "));
    put_be32(l + 4, 3), l[8] = 7, l[9] = 9, l[10] = 1;
    write_file(tmpf("labels.idx"), l, sizeof l);
    GAD_ASSERT_OK(gad_idx_load_labels(tmpf("labels.idx"), 0, &lab, &n, &e), e);
    CU_ASSERT(n == 3 && lab && lab[0] == 7 && lab[1] == 9 && lab[2] == 1);
    free(lab);
}

/* ---- fuzz regressions ------------------------------------------------------- */

/* Each reproducer in tests/data/fuzz/<harness>/ goes through the loader its
 * harness drives; it must be refused with a message naming it (or, for
 * files that turned out valid, load). The crash it once caused is what
 * the sanitizer build of this suite catches; a reproducer of an
 * out-of-memory (named *_oom.*) must be refused by a limit (GAD_ELIMIT),
 * since a huge allocation need not fail where the suite runs. */
static void test_fuzz_regressions(void) {
    const char *kinds[] = {"onnx", "tiff", "png", "jpeg"};
    for (int k = 0; k < 4; k++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/tests/data/fuzz/%s", GAD_SOURCE_DIR, kinds[k]);
        DIR *dd = opendir(dir);
        if (!dd) continue;
        struct dirent *de;
        while ((de = readdir(dd))) {
            if (de->d_name[0] == '.') continue;
            char p[1200];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            gad_err e;
            e.msg[0] = 0;
            int rc;
            if (k == 0) {
                gad_model *m = NULL;
                rc = gad_model_load(p, &m, &e);
                gad_model_free(m);
            } else {
                gad_image img = {0};
                FILE *f = fopen(p, "rb");
                CU_ASSERT_FATAL(f != NULL);
                if (k == 1) {
                    rc = gad_io_tiff_load(p, 0, (int64_t)1 << 22, &img, &e);
                    free(img.data);
                    img.data = NULL;
                    if (rc) {
                        rc = gad_io_tiff_load(p, 1, (int64_t)1 << 22, &img, &e);
                    }
                } else if (k == 2) {
                    rc = gad_io_png_load(p, f, (int64_t)1 << 22, &img, &e);
                } else {
                    rc = gad_io_jpeg_load(p, f, (int64_t)1 << 22, &img, &e);
                }
                fclose(f);
                free(img.data);
            }
            if (rc) CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, de->d_name));
            if (strstr(de->d_name, "_oom.")) {
                if (rc != GAD_ELIMIT) fprintf(stderr, "\n  %s: rc %d: %s\n", p, rc, e.msg);
                CU_ASSERT_EQUAL(rc, GAD_ELIMIT);
            }
        }
        closedir(dd);
    }
}

void gad_test_register_badinput(void) {
    static const gad_test_case tests[] = {{"limits", test_limits},
                                          {"const_folding", test_const_folding},
                                          {"idx", test_idx},
                                          {"cli_models", test_cli_models},
                                          {"cli_images", test_cli_images},
                                          {"cli_flags", test_cli_flags},
                                          {"fuzz_regressions", test_fuzz_regressions},
                                          {0, 0}};
    gad_test_add_suite("badinput", tests);
}
