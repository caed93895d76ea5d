/* Shared helpers for the CUnit suites. */
#ifndef GAD_TEST_HARNESS_H
#define GAD_TEST_HARNESS_H

#include <stddef.h>
#include <stdio.h>

#include <CUnit/CUnit.h>

/* Add a suite with the given tests; tests is a {name, fn} list ending {0,0}. */
typedef struct gad_test_case {
    const char *name;
    void (*fn)(void);
} gad_test_case;
void gad_test_add_suite(const char *name, const gad_test_case *tests);

/* Path under the source tree's tests/data (static buffer per call slot). */
const char *gad_test_data(const char *rel);
/* A fresh empty temporary directory for this process (created on demand). */
const char *gad_test_tmpdir(void);

/* max_i |a_i - b_i| / max(max_i |b_i|, floor): relative error against a
 * reference b, robust to tiny entries. */
double gad_test_rel_err(const float *a, const float *b, size_t n, double floor);
/* ||a - b||_2 / max(||b||_2, floor). */
double gad_test_rel_l2(const float *a, const float *b, size_t n, double floor);

/* Read a whole file; caller frees. NULL if missing. */
void *gad_test_read_file(const char *path, size_t *size);

/* 1 when /usr/bin/python3 can import torch (PyTorch-backed tests need it);
 * otherwise prints one visible "SKIPPED: ..." line naming `what`. */
int gad_test_have_torch(const char *what);

/* The 48 bundled demo images (tools/demo/images, sorted: ankle-boot-*
 * then sneaker-*), preprocessed for the 1 x 28 x 28 demo model; labels (may
 * be NULL) get 9 (Ankle boot) or 7 (Sneaker). Caller frees. NULL on error. */
float *gad_test_demo_images(int *n, int *labels);

/* Run a shell command, capture stdout into buf (NUL-terminated); returns
 * the exit status (or -1). */
int gad_test_run(const char *cmd, char *buf, size_t bufsize);
/* 1 when an error line has the CLI's prefix: "gad: " or "gad COMMAND: ". */
int gad_test_cli_prefixed(const char *line);

/* The number after "KEY": in a JSON text; -1 when absent. */
double gad_test_json_num(const char *json, const char *key);

/* The same with a printf-formatted command. */
int gad_test_runf(char *buf, size_t bufsize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Assert a gad call returned 0; on failure print its message from `e`. */
#define GAD_ASSERT_OK(expr, e)                                                 \
    do {                                                                       \
        (e).msg[0] = 0;                                                        \
        int rc_ = (expr);                                                      \
        if (rc_) fprintf(stderr, "\n  %s -> %d: %s\n", #expr, rc_, (e).msg);   \
        CU_ASSERT_EQUAL_FATAL(rc_, 0);                                         \
    } while (0)

#endif
