#include "harness.h"

#include "gad/gad.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void gad_test_add_suite(const char *name, const gad_test_case *tests) {
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s) return;
    for (int i = 0; tests[i].name; i++) CU_add_test(s, tests[i].name, tests[i].fn);
}

const char *gad_test_data(const char *rel) {
    static char bufs[8][1024];
    static int slot;
    char *b = bufs[slot++ & 7];
    snprintf(b, sizeof bufs[0], "%s/tests/data/%s", GAD_SOURCE_DIR, rel);
    return b;
}

const char *gad_test_tmpdir(void) {
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/gad-test-XXXXXX");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
    }
    return dir;
}

double gad_test_rel_err(const float *a, const float *b, size_t n, double floor) {
    double maxd = 0, maxb = floor;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= maxd)) maxd = d; /* NaN propagates as failure */
        if (fabs(b[i]) > maxb) maxb = fabs(b[i]);
    }
    return maxd / maxb;
}

double gad_test_rel_l2(const float *a, const float *b, size_t n, double floor) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    double r = sqrt(num) / fmax(sqrt(den), floor);
    return isnan(r) ? INFINITY : r;
}

void *gad_test_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        if (size) *size = (size_t)n;
    }
    return buf;
}

int gad_test_have_torch(const char *what) {
    static int known = -1;
    if (known < 0)
        known = system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
    if (!known) printf("\n  SKIPPED: %s (needs /usr/bin/python3 with torch)\n", what);
    return known;
}

int gad_test_run(const char *cmd, char *buf, size_t bufsize) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    if (buf && bufsize) {
        size_t r;
        while (n + 1 < bufsize && (r = fread(buf + n, 1, bufsize - 1 - n, p)) > 0) n += r;
        buf[n] = 0;
    }
    char sink[4096];
    while (fread(sink, 1, sizeof sink, p) > 0) {}
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int gad_test_cli_prefixed(const char *line) {
    if (!strncmp(line, "gad: ", 5)) return 1;
    if (strncmp(line, "gad ", 4)) return 0;
    const char *p = line + 4;
    while (*p >= 'a' && *p <= 'z') p++;
    return p > line + 4 && p[0] == ':' && p[1] == ' ';
}

double gad_test_json_num(const char *json, const char *key) {
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

int gad_test_runf(char *buf, size_t bufsize, const char *fmt, ...) {
    char cmd[1 << 14];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd) return -1;
    return gad_test_run(cmd, buf, bufsize);
}

float *gad_test_demo_images(int *n_out, int *labels) {
    char cmd[512], list[16384];
    *n_out = 0;
    snprintf(cmd, sizeof cmd, "ls %s/tools/demo/images", GAD_SOURCE_DIR);
    if (gad_test_run(cmd, list, sizeof list)) return NULL;
    float *x = malloc(64 * 784 * sizeof(float));
    gad_preproc pp = {.channels = 1, .height = 28, .width = 28};
    int n = 0;
    for (char *line = strtok(list, "\n"); x && line && n < 64; line = strtok(NULL, "\n")) {
        char path[1024];
        gad_image img;
        gad_err e;
        snprintf(path, sizeof path, "%s/tools/demo/images/%s", GAD_SOURCE_DIR, line);
        if (gad_image_load(path, 0, &img, &e) || gad_preprocess(&img, &pp, x + (size_t)n * 784, path, &e)) {
            fprintf(stderr, "\n  %s\n", e.msg);
            gad_image_free(&img);
            free(x);
            return NULL;
        }
        gad_image_free(&img);
        if (labels) labels[n] = !strncmp(line, "ankle-boot", 10) ? 9 : 7;
        n++;
    }
    *n_out = n;
    return x;
}
