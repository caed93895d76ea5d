/* gad demo: the whole method on the bundled model, with no other argument.
 *
 *  1. the fitting set: the demo pair's training images from Debian's
 *     dataset-fashion-mnist, written as an ImageFolder (DIR/data/CLASS/NNNNN.png)
 *     so the fit reads them exactly as a user's images;
 *  2. plain attributions of the bundled test images (ig, saliency, ixg, guided);
 *  3. gad fit (with control models);
 *  4. gad explain for each method;
 *  5. gad eval for each method;
 *  6. DIR/index.html: per image the input, the plain and the GAD overlays,
 *     then the evaluation tables and curves.
 * Each step is the same code path as its command, called with the flags a
 * user would type (printed as it runs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/method.h"
#include "io/atomic.h"

#ifndef GAD_DEMO_DIR_BUILD
#define GAD_DEMO_DIR_BUILD ""
#endif
#ifndef GAD_DEMO_DIR_INSTALL
#define GAD_DEMO_DIR_INSTALL ""
#endif

static const char *const methods[] = {"ig", "saliency", "ixg", "guided"};
enum { N_METHODS = 4 };

/* Run a subcommand with a printed argument list (NULL-terminated). */
static int run(int (*cmd)(int, char **), const char *const *args) {
    char *argv[64];
    int argc = 0;
    fprintf(stderr, "\n$ gad");
    for (; args[argc] && argc < 63; argc++) {
        argv[argc + 1] = (char *)args[argc];
        fprintf(stderr, " %s", args[argc]);
    }
    fprintf(stderr, "\n");
    argv[0] = "gad";
    argv[argc + 1] = NULL;
    return cmd(argc + 1, argv);
}

static int find_demo_dir(const char *given, char *out, size_t n) {
    /* next to an installed binary: BIN/../share/gad/demo */
    char exe[2048] = "", rel[2200] = "";
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(rel, sizeof rel, "%s/../share/gad/demo", exe);
        }
    }
    const char *cand[] = {given, getenv("GAD_DEMO_DIR"), rel, GAD_DEMO_DIR_BUILD, GAD_DEMO_DIR_INSTALL};
    for (size_t i = 0; i < sizeof cand / sizeof *cand; i++) {
        if (!cand[i] || !*cand[i]) continue;
        snprintf(out, n, "%s/fashion_cnn.onnx", cand[i]);
        if (!access(out, R_OK)) {
            snprintf(out, n, "%s", cand[i]);
            return 0;
        }
    }
    return -1;
}

/* The pair's training images as DIR/data/{Sneaker,Ankle-boot}/NNNNN.png and a
 * labels file whose names are folder-safe. */
static int write_fit_set(const char *data_dir, const char *out, int per_class, char *labels_path, size_t lp,
                         gad_err *err) {
    static const char *const names[10] = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Ankle-boot"};
    static const int pair[2] = {7, 9};
    char path[4096];
    float *img = NULL;
    int *lab = NULL, n, nl, h, w, rc;
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", data_dir);
    if ((rc = gad_idx_load_images(path, 0, &img, &n, &h, &w, err))) return rc;
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", data_dir);
    if ((rc = gad_idx_load_labels(path, 0, &lab, &nl, err))) {
        free(img);
        return rc;
    }
    if (nl != n) rc = gad_err_set(err, GAD_EFORMAT, "%s: %d labels for %d images", path, nl, n);
    snprintf(path, sizeof path, "%s/data", out);
    if (!rc) rc = gad_cli_make_out_dir(path, err);
    uint8_t *px = malloc((size_t)h * w);
    if (!rc && !px) rc = gad_err_set(err, GAD_ENOMEM, "out of memory");
    int written = 0;
    for (int c = 0; c < 2 && !rc; c++) {
        snprintf(path, sizeof path, "%s/data/%s", out, names[pair[c]]);
        if ((rc = gad_cli_make_out_dir(path, err))) break;
        int k = 0;
        for (int i = 0; i < n && k < per_class && !rc; i++) {
            if (lab[i] != pair[c]) continue;
            snprintf(path, sizeof path, "%s/data/%s/%05d.png", out, names[pair[c]], i);
            k++;
            if (!access(path, F_OK)) continue; /* kept from an earlier run */
            for (int j = 0; j < h * w; j++) px[j] = (uint8_t)(img[(size_t)i * h * w + j] * 255.0f + 0.5f);
            rc = gad_png_write(path, px, 1, h, w, err);
            written++;
        }
    }
    free(px);
    free(img);
    free(lab);
    snprintf(labels_path, lp, "%s/data/labels.txt", out);
    if (!rc) {
        gad_atomic f;
        if (!(rc = gad_atomic_open(labels_path, &f, err))) {
            for (int i = 0; i < 10; i++) fprintf(f.f, "%s\n", names[i]);
            rc = gad_atomic_commit(&f, err);
        }
    }
    if (!rc) fprintf(stderr, "gad demo: fitting set: %d images a class in %s/data (%d written now)\n", per_class, out, written);
    return rc;
}

static void html_text(FILE *o, const char *s, size_t n) {
    for (size_t i = 0; i < n && s[i]; i++) {
        if (s[i] == '<') fputs("&lt;", o);
        else if (s[i] == '>') fputs("&gt;", o);
        else if (s[i] == '&') fputs("&amp;", o);
        else if (s[i] != '`') fputc(s[i], o);
    }
}

/* The few Markdown forms gad eval's report.md uses, as HTML: headings,
 * tables (first row as header, the |---| row dropped), list items, text. */
static void md_to_html(FILE *o, FILE *md) {
    char line[8192];
    int in_table = 0, header = 0;
    while (fgets(line, sizeof line, md)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '|') {
            if (!in_table) fputs("<table>\n", o), in_table = 1, header = 1;
            if (strstr(line, "|---")) continue;
            fputs("<tr>", o);
            char *cell = line + 1, *bar;
            while ((bar = strchr(cell, '|'))) {
                fputs(header ? "<th>" : "<td>", o);
                html_text(o, cell, (size_t)(bar - cell));
                fputs(header ? "</th>" : "</td>", o);
                cell = bar + 1;
            }
            fputs("</tr>\n", o);
            header = 0;
            continue;
        }
        if (in_table) fputs("</table>\n", o), in_table = 0;
        if (!line[0] || !strncmp(line, "# ", 2)) continue;
        const char *open = "<p>", *close = "</p>", *text = line;
        if (!strncmp(line, "## ", 3)) open = "<h4>", close = "</h4>", text = line + 3;
        else if (!strncmp(line, "- ", 2)) open = "<p>&bull; ", text = line + 2;
        fputs(open, o);
        html_text(o, text, strlen(text));
        fputs(close, o);
        fputc('\n', o);
    }
    if (in_table) fputs("</table>\n", o);
}

/* index.html: one page with every image's input, plain and GAD overlays per
 * method, then the evaluation reports and curves. */
static int write_index(const char *out, const char *demo, const gad_cli_paths *imgs, gad_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/index.html", out);
    gad_atomic f;
    int rc = gad_atomic_open(path, &f, err);
    if (rc) return rc;
    FILE *o = f.f;
    fprintf(o, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>gad demo: GAD on Fashion-MNIST</title>\n"
               "<style>body{font-family:sans-serif;margin:2em;max-width:1500px}img{image-rendering:pixelated}"
               "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:3px 6px;"
               "text-align:center;font-size:13px}th{background:#f0f0f0}.cap{font-size:11px;color:#555}</style>"
               "</head><body>\n");
    fprintf(o, "<h1>GAD (Gradient Artificial Distancing) on the bundled Fashion-MNIST model</h1>\n"
               "<p>Class pair: <b>Sneaker</b> vs <b>Ankle boot</b>. Model: <code>%s/fashion_cnn.onnx</code>; "
               "support models in <code>support/</code> (see <code>support/fit.json</code>). For each image and "
               "method: the plain attribution, then GAD's fused regions (left) beside the plain map (right). "
               "Red: evidence for the explained class; blue: against. Evaluation tables and curves follow.</p>\n",
            demo);
    fprintf(o, "<h2>Images</h2>\n<table><tr><th>input</th>");
    for (int m = 0; m < N_METHODS; m++) fprintf(o, "<th>%s: plain</th><th>%s: GAD | plain</th>", methods[m], methods[m]);
    fprintf(o, "</tr>\n");
    for (int i = 0; i < imgs->n; i++) {
        char stem[512];
        gad_cli_stem(imgs->v[i], stem, sizeof stem);
        fprintf(o, "<tr><td><img src=\"inputs/%s.png\" width=\"112\"><div class=\"cap\">%s</div></td>", stem, stem);
        for (int m = 0; m < N_METHODS; m++)
            fprintf(o,
                    "<td><img src=\"plain/%s/%s.overlay.png\" width=\"112\"></td>"
                    "<td><img src=\"explain/%s/%s.gad-overlay.png\" width=\"228\"></td>",
                    methods[m], stem, methods[m], stem);
        fprintf(o, "</tr>\n");
    }
    fprintf(o, "</table>\n<h2>Evaluation</h2>\n");
    for (int m = 0; m < N_METHODS; m++) {
        char md[4096];
        snprintf(md, sizeof md, "%s/eval/%s/report.md", out, methods[m]);
        FILE *r = fopen(md, "r");
        fprintf(o, "<h3>%s</h3>\n", methods[m]);
        if (r) {
            md_to_html(o, r);
            fclose(r);
        }
        fprintf(o, "<p><img src=\"eval/%s/%s.deletion.svg\" width=\"460\"> "
                   "<img src=\"eval/%s/%s.insertion.svg\" width=\"460\"></p>\n",
                methods[m], methods[m], methods[m], methods[m]);
    }
    fprintf(o, "<p class=\"cap\">Made by <code>gad demo</code> (gad %s).</p></body></html>\n", gad_version());
    return gad_atomic_commit(&f, err);
}

/* The inputs, copied next to the page so it is self-contained. */
static int copy_inputs(const char *out, const gad_cli_paths *imgs, gad_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/inputs", out);
    int rc = gad_cli_make_out_dir(path, err);
    for (int i = 0; i < imgs->n && !rc; i++) {
        gad_image img;
        if ((rc = gad_image_load(imgs->v[i], 0, &img, err))) break;
        uint8_t *px = malloc((size_t)img.w * img.h * img.c);
        if (!px) {
            gad_image_free(&img);
            return gad_err_set(err, GAD_ENOMEM, "out of memory");
        }
        /* planar floats -> interleaved bytes */
        for (int c = 0; c < img.c; c++)
            for (int j = 0; j < img.w * img.h; j++)
                px[(size_t)j * img.c + c] = (uint8_t)(img.data[(size_t)c * img.w * img.h + j] * 255.0f + 0.5f);
        char stem[512];
        gad_cli_stem(imgs->v[i], stem, sizeof stem);
        snprintf(path, sizeof path, "%s/inputs/%s.png", out, stem);
        rc = gad_png_write(path, px, img.c, img.h, img.w, err);
        free(px);
        gad_image_free(&img);
    }
    return rc;
}

int gad_cmd_demo(int argc, char **argv) {
    gad_flag flags[] = {{"out", 1, "DIR: where everything goes (gad-demo)", 0},
                        {"demo-dir", 1, "DIR: the bundled model and images (found automatically)", 0},
                        {"data", 1, "DIR: Fashion-MNIST IDX files (/usr/share/datasets/fashion-mnist)", 0},
                        {"fit-images", 1, "N: training images a class for the fit (6000 = all)", 0},
                        {"steps", 1, "N: IG points (32)", 0},
                        {"threads", 1, "N: threads (all cores)", 0},
                        {"help", 0, "show this help", 0},
                        {0}};
    gad_args a = {.command = "demo", .flags = flags};
    gad_err err = {0};
    if (gad_args_parse(&a, argc, argv, 2, &err)) return gad_cli_fail(&err);
    if (gad_args_has(&a, "help")) {
        gad_args_usage(&a, "[--out DIR]");
        return 0;
    }
    if (a.n_pos) return gad_cli_fail_msg("gad demo: unexpected argument '%s'", a.pos[0]);
    long per_class, steps, threads;
    if (gad_args_int(&a, "fit-images", 6000, 10, 6000, &per_class, &err) ||
        gad_args_int(&a, "steps", 32, 1, 4096, &steps, &err) || gad_args_int(&a, "threads", 0, 0, 4096, &threads, &err))
        return gad_cli_fail(&err);
    const char *out = gad_args_get(&a, "out") ? gad_args_get(&a, "out") : "gad-demo";
    const char *data = gad_args_get(&a, "data") ? gad_args_get(&a, "data") : "/usr/share/datasets/fashion-mnist";
    char demo[2048];
    if (find_demo_dir(gad_args_get(&a, "demo-dir"), demo, sizeof demo))
        return gad_cli_fail_msg("gad demo: cannot find the bundled model (fashion_cnn.onnx); give --demo-dir DIR");
    if (gad_cli_make_out_dir(out, &err)) return gad_cli_fail(&err);

    char model[4096], images[4096], labels[4096], support[4096], dir[4096], st[32], th[32];
    snprintf(model, sizeof model, "%s/fashion_cnn.onnx", demo);
    snprintf(images, sizeof images, "%s/images", demo);
    snprintf(support, sizeof support, "%s/support", out);
    snprintf(st, sizeof st, "%ld", steps);
    snprintf(th, sizeof th, "%ld", threads);
    if (write_fit_set(data, out, (int)per_class, labels, sizeof labels, &err)) {
        gad_cli_fail(&err);
        return gad_cli_fail_msg("gad demo: the fit needs Debian's dataset-fashion-mnist (apt-get install "
                                "dataset-fashion-mnist) or --data DIR with its IDX files");
    }
    const char *thr[2] = {threads ? "--threads" : NULL, th};
    for (int m = 0; m < N_METHODS; m++) {
        snprintf(dir, sizeof dir, "%s/plain/%s", out, methods[m]);
        char parent[4096];
        snprintf(parent, sizeof parent, "%s/plain", out);
        if (gad_cli_make_out_dir(parent, &err)) return gad_cli_fail(&err);
        const char *args[] = {"attribute", "--model", model, "--method", methods[m], "--steps", st, "--out", dir,
                              images, thr[0], thr[1], NULL};
        if (run(gad_cmd_attribute, args)) return gad_cli_fail_msg("gad demo: plain %s attribution failed", methods[m]);
    }
    snprintf(dir, sizeof dir, "%s/data", out);
    {
        const char *args[] = {"fit", "--model", model, "--data", dir, "--labels", labels, "--pair", "Sneaker,Ankle-boot",
                              "--out", support, "--control", thr[0], thr[1], NULL};
        if (run(gad_cmd_fit, args)) return gad_cli_fail_msg("gad demo: fitting the support models failed");
    }
    for (int m = 0; m < N_METHODS; m++) {
        char parent[4096];
        snprintf(parent, sizeof parent, "%s/explain", out);
        if (gad_cli_make_out_dir(parent, &err)) return gad_cli_fail(&err);
        snprintf(dir, sizeof dir, "%s/explain/%s", out, methods[m]);
        const char *args[] = {"explain", "--model", model, "--support", support, "--method", methods[m], "--steps", st,
                              "--out", dir, images, thr[0], thr[1], NULL};
        if (run(gad_cmd_explain, args)) return gad_cli_fail_msg("gad demo: GAD %s explanations failed", methods[m]);
    }
    for (int m = 0; m < N_METHODS; m++) {
        char parent[4096];
        snprintf(parent, sizeof parent, "%s/eval", out);
        if (gad_cli_make_out_dir(parent, &err)) return gad_cli_fail(&err);
        snprintf(dir, sizeof dir, "%s/eval/%s", out, methods[m]);
        const char *args[] = {"eval", "--model", model, "--support", support, "--control", "--method", methods[m],
                              "--steps", st, "--out", dir, images, thr[0], thr[1], NULL};
        if (run(gad_cmd_eval, args)) return gad_cli_fail_msg("gad demo: evaluating %s failed", methods[m]);
    }
    gad_cli_paths imgs;
    gad_flag pflags[] = {GAD_INPUT_FLAGS, {0}};
    char *pargv[] = {"gad", "demo", images, NULL};
    gad_args pa = {.command = "demo", .flags = pflags};
    if (gad_args_parse(&pa, 3, pargv, 2, &err) || gad_cli_paths_collect(&pa, &imgs, &err)) return gad_cli_fail(&err);
    int rc = copy_inputs(out, &imgs, &err);
    if (!rc) rc = write_index(out, demo, &imgs, &err);
    gad_cli_paths_free(&imgs);
    if (rc) return gad_cli_fail(&err);
    fprintf(stderr, "\ngad demo: done. Open %s/index.html\n", out);
    return 0;
}
