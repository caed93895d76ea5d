/* Image reading, preprocessing and writing against references made by
 * tools/make_image_fixtures.py (numpy arrays, PIL's JPEG decoding,
 * torch.nn.functional.interpolate). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gad/gad.h"
#include "harness.h"
#include "io/atomic.h"

static float *read_f32(const char *rel, size_t n) {
    size_t size = 0;
    float *d = gad_test_read_file(gad_test_data(rel), &size);
    if (d && size != n * sizeof(float)) {
        fprintf(stderr, "\n  %s: %zu bytes, expected %zu\n", rel, size, n * sizeof(float));
        free(d);
        return NULL;
    }
    return d;
}

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d;
    }
    return m;
}

/* Run `fn` with stderr redirected to a file; returns the bytes it wrote. */
static long stderr_bytes_during(void (*fn)(void *), void *arg) {
    char path[512];
    snprintf(path, sizeof path, "%s/stderr.txt", gad_test_tmpdir());
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (saved < 0 || fd < 0) return -1;
    dup2(fd, 2);
    close(fd);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    if (st.st_size > 0) {
        char *s = gad_test_read_file(path, NULL);
        fprintf(stderr, "\n  stderr output: %s\n", s ? s : "?");
        free(s);
    }
    return (long)st.st_size;
}

/* ---- good files ---------------------------------------------------------- */

static void test_load_formats(void) {
    static const struct {
        const char *file;
        int c, h, w;
        double tol;
    } cases[] = {
        {"gray8.png", 1, 7, 13, 1e-7},        {"gray16.png", 1, 7, 13, 1e-7},
        {"rgb16.png", 3, 7, 13, 1e-7},        {"rgb8_interlaced.png", 3, 7, 13, 1e-7},
        {"rgba8.png", 3, 7, 13, 1e-7},        {"la8.png", 1, 7, 13, 1e-7},
        {"palette.png", 3, 7, 13, 1e-7},      {"gray1.png", 1, 7, 13, 0},
        {"palette_trns.png", 3, 7, 13, 1e-7}, {"gray8_trns.png", 1, 7, 13, 1e-7},
        {"progressive.jpg", 3, 21, 39, 1e-7},
        /* Same libjpeg-turbo and defaults as PIL: expected to be exact. */
        {"gray.jpg", 1, 21, 39, 1e-7},        {"rgb.jpg", 3, 21, 39, 1e-7},
        {"rgb8_lzw.tif", 3, 7, 13, 1e-7},     {"gray16_be.tif", 1, 7, 13, 1e-7},
        {"float3.tif", 3, 7, 13, 0},          {"tiled_rgba.tif", 3, 21, 37, 1e-7},
        {"planar16.tif", 3, 7, 13, 1e-7},     {"gray8_ifdfirst.tif", 1, 7, 13, 1e-7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "images/%s", cases[i].file);
        gad_image img;
        gad_err e = {0};
        int rc = gad_image_load(gad_test_data(rel), GAD_DEFAULT_MAX_PIXELS, &img, &e);
        if (rc) fprintf(stderr, "\n  %s: %s\n", cases[i].file, e.msg);
        CU_ASSERT_EQUAL(rc, 0);
        if (rc) continue;
        CU_ASSERT_EQUAL(img.c, cases[i].c);
        CU_ASSERT_EQUAL(img.h, cases[i].h);
        CU_ASSERT_EQUAL(img.w, cases[i].w);
        size_t n = (size_t)cases[i].c * cases[i].h * cases[i].w;
        snprintf(rel, sizeof rel, "images/%s.f32", cases[i].file);
        float *ref = read_f32(rel, n);
        CU_ASSERT_PTR_NOT_NULL(ref);
        if (ref && img.c == cases[i].c && img.h == cases[i].h && img.w == cases[i].w) {
            double d = max_abs_diff(img.data, ref, n);
            if (d > cases[i].tol) fprintf(stderr, "\n  %s: max diff %g\n", cases[i].file, d);
            CU_ASSERT(d <= cases[i].tol);
        }
        free(ref);
        gad_image_free(&img);
        CU_ASSERT_PTR_NULL(img.data);
    }
}

static void test_max_pixels(void) {
    gad_image img;
    gad_err e = {0};
    const char *p = gad_test_data("images/gray8.png");
    CU_ASSERT_EQUAL(gad_image_load(p, 13 * 7 - 1, &img, &e), GAD_ELIMIT);
    CU_ASSERT_PTR_NULL(img.data);
    CU_ASSERT(strncmp(e.msg, p, strlen(p)) == 0);
    GAD_ASSERT_OK(gad_image_load(p, 13 * 7, &img, &e), e);
    gad_image_free(&img);
    p = gad_test_data("images/tiled_rgba.tif");
    CU_ASSERT_EQUAL(gad_image_load(p, 100, &img, &e), GAD_ELIMIT);
    p = gad_test_data("images/rgb.jpg");
    CU_ASSERT_EQUAL(gad_image_load(p, 100, &img, &e), GAD_ELIMIT);
}

/* ---- bad files ------------------------------------------------------------ */

typedef struct bad_ctx {
    const char **paths;
    int n;
    int failures;
} bad_ctx;

/* Every path must fail with a message that starts with the path, and leave
 * no image behind. Failures are counted here and asserted outside, while
 * stderr is restored. */
static void load_all_bad(void *arg) {
    bad_ctx *b = arg;
    for (int i = 0; i < b->n; i++) {
        gad_image img;
        memset(&img, 0x5a, sizeof img);
        gad_err e = {0};
        int rc = gad_image_load(b->paths[i], GAD_DEFAULT_MAX_PIXELS, &img, &e);
        int ok = rc < 0 && e.code == rc && !strncmp(e.msg, b->paths[i], strlen(b->paths[i])) &&
                 e.msg[strlen(b->paths[i])] == ':' && img.data == NULL;
        if (getenv("GAD_TEST_VERBOSE")) printf("\n  %s", e.msg);
        if (!ok) {
            b->failures++;
            printf("\n  bad input accepted or badly reported: %s -> %d '%s'\n", b->paths[i], rc,
                   e.msg);
            gad_image_free(&img);
        }
    }
}

static char *write_tmp(const char *name, const void *data, size_t n) {
    char *p = malloc(1024);
    snprintf(p, 1024, "%s/%s", gad_test_tmpdir(), name);
    FILE *f = fopen(p, "wb");
    if (!f) return p;
    if (n) fwrite(data, 1, n, f);
    fclose(f);
    return p;
}

/* Offset of the first byte after `marker` in buf, or 0. */
static size_t find_bytes(const unsigned char *buf, size_t n, const char *marker, size_t mlen) {
    for (size_t i = 0; i + mlen <= n; i++)
        if (!memcmp(buf + i, marker, mlen)) return i + mlen;
    return 0;
}

static void test_load_bad(void) {
    const char *paths[128];
    char *owned[128];
    int n = 0, nown = 0;
    static const char *fixed[] = {"images/zero_width.png", "images/zero_width.tif",
                                  "images/huge_cols.tif",  "images/nan.tif",
                                  "images/cmyk.jpg"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        owned[nown] = strdup(gad_test_data(fixed[i]));
        paths[n++] = owned[nown++];
    }
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such-file.png", gad_test_tmpdir());
    paths[n++] = missing;
    paths[n++] = gad_test_tmpdir(); /* a directory */
    owned[nown] = write_tmp("text.png", "hello, I am not an image\n", 25);
    paths[n++] = owned[nown++];
    owned[nown] = write_tmp("empty.jpg", "", 0);
    paths[n++] = owned[nown++];
    owned[nown] = write_tmp("magic_only.tif", "II*\0", 4);
    paths[n++] = owned[nown++];

    /* Truncations at several offsets (including just before the end, where
     * only the PNG IEND / JPEG EOI / last strip bytes are missing). */
    static const char *src[] = {"gray8.png", "rgb16.png", "rgb8_interlaced.png", "rgb.jpg",
                                "gray.jpg",  "gray16_be.tif", "planar16.tif", "tiled_rgba.tif",
                                "rgb8_lzw.tif", "gray8_ifdfirst.tif"};
    static const double frac[] = {0.02, 0.3, 0.6, 0.9};
    for (size_t s = 0; s < sizeof src / sizeof src[0]; s++) {
        char rel[128];
        snprintf(rel, sizeof rel, "images/%s", src[s]);
        size_t size = 0;
        unsigned char *buf = gad_test_read_file(gad_test_data(rel), &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        size_t cuts[6];
        int nc = 0;
        for (size_t k = 0; k < sizeof frac / sizeof frac[0]; k++) cuts[nc++] = (size_t)(size * frac[k]);
        cuts[nc++] = size - 1;
        if (strstr(src[s], ".png")) cuts[nc++] = size - 12; /* no IEND chunk */
        for (int k = 0; k < nc; k++) {
            char name[160];
            snprintf(name, sizeof name, "cut%zu_%s", cuts[k], src[s]);
            owned[nown] = write_tmp(name, buf, cuts[k]);
            paths[n++] = owned[nown++];
        }
        free(buf);
    }

    /* Corrupt bytes inside the compressed pixel data. */
    {
        size_t size = 0;
        unsigned char *buf = gad_test_read_file(gad_test_data("images/rgb16.png"), &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        size_t at = find_bytes(buf, size, "IDAT", 4);
        CU_ASSERT_FATAL(at > 0);
        for (int i = 0; i < 8; i++) buf[at + 40 + i] ^= 0xA5;
        owned[nown] = write_tmp("corrupt_idat.png", buf, size);
        paths[n++] = owned[nown++];
        free(buf);
    }
    {
        size_t size = 0;
        unsigned char *buf = gad_test_read_file(gad_test_data("images/rgb.jpg"), &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        size_t at = find_bytes(buf, size, "\xff\xda", 2); /* start of scan */
        CU_ASSERT_FATAL(at > 0);
        size_t mid = at + (size - at) / 2;
        /* A stray marker in entropy-coded data: the decoder hits it early. */
        buf[mid] = 0xFF;
        buf[mid + 1] = 0xD9;
        owned[nown] = write_tmp("corrupt_scan_marker.jpg", buf, size);
        paths[n++] = owned[nown++];
        free(buf);
    }
    {
        size_t size = 0;
        unsigned char *buf = gad_test_read_file(gad_test_data("images/rgb.jpg"), &size);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        size_t at = find_bytes(buf, size, "\xff\xda", 2);
        CU_ASSERT_FATAL(at > 0);
        /* Stuffed FF 00 pairs decode as a run of one-bits, which no Huffman
         * table can contain. (JPEG has no checksum: corruption that happens
         * to decode as valid codes cannot be detected by any reader.) */
        size_t mid = at + 14 + (size - at - 16) / 3;
        for (int i = 0; i < 24; i += 2) {
            buf[mid + i] = 0xFF;
            buf[mid + i + 1] = 0x00;
        }
        owned[nown] = write_tmp("corrupt_scan_bytes.jpg", buf, size);
        paths[n++] = owned[nown++];
        free(buf);
    }

    bad_ctx b = {paths, n, 0};
    long spam = stderr_bytes_during(load_all_bad, &b);
    CU_ASSERT_EQUAL(b.failures, 0);
    CU_ASSERT_EQUAL(spam, 0);
    for (int i = 0; i < nown; i++) free(owned[i]);
}

/* Deterministic byte flips all over each fixture: whatever the outcome, no
 * crash (run under ASan), no stderr output, and either a sane image or a
 * message that starts with the path. */
typedef struct flip_ctx {
    int bad_results, loaded, refused;
} flip_ctx;

static void flip_all(void *arg) {
    flip_ctx *fc = arg;
    static const char *src[] = {"gray16.png", "palette.png", "rgb8_interlaced.png", "rgb.jpg",
                                "progressive.jpg", "gray8_ifdfirst.tif", "planar16.tif",
                                "tiled_rgba.tif", "rgb8_lzw.tif", "float3.tif"};
    unsigned seed = 12345;
    int trials = getenv("GAD_TEST_FLIPS") ? atoi(getenv("GAD_TEST_FLIPS")) : 40;
    for (size_t s = 0; s < sizeof src / sizeof src[0]; s++) {
        char rel[128];
        snprintf(rel, sizeof rel, "images/%s", src[s]);
        size_t size = 0;
        unsigned char *orig = gad_test_read_file(gad_test_data(rel), &size);
        if (!orig) {
            fc->bad_results++;
            continue;
        }
        unsigned char *buf = malloc(size);
        for (int trial = 0; trial < trials; trial++) {
            memcpy(buf, orig, size);
            for (int k = 0; k < 1 + trial % 4; k++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = 8 + (seed >> 8) % (size - 8); /* keep the magic */
                seed = seed * 1103515245u + 12345u;
                buf[at] ^= (unsigned char)(1 + (seed >> 16) % 255);
            }
            char name[160];
            snprintf(name, sizeof name, "flip%d_%s", trial, src[s]);
            char *p = write_tmp(name, buf, size);
            gad_image img;
            gad_err e = {0};
            int rc = gad_image_load(p, 1 << 20, &img, &e);
            if (rc == 0) {
                fc->loaded++;
                if (!img.data || img.w <= 0 || img.h <= 0 || (img.c != 1 && img.c != 3))
                    fc->bad_results++;
                gad_image_free(&img);
            } else {
                fc->refused++;
                if (strncmp(e.msg, p, strlen(p)) || img.data) {
                    fc->bad_results++;
                    printf("\n  %s -> %d '%s'\n", p, rc, e.msg);
                }
            }
            unlink(p);
            free(p);
        }
        free(buf);
        free(orig);
    }
}

static void test_byte_flips(void) {
    flip_ctx fc = {0};
    long spam = stderr_bytes_during(flip_all, &fc);
    CU_ASSERT_EQUAL(fc.bad_results, 0);
    CU_ASSERT_EQUAL(spam, 0);
    /* Most flips must be caught (CRCs, structure); a few in raw pixel data
     * are legitimately undetectable. */
    CU_ASSERT(fc.refused > 0);
    if (getenv("GAD_TEST_VERBOSE")) printf("\n  flips: %d loaded, %d refused\n", fc.loaded, fc.refused);
}

static void test_bad_messages(void) {
    gad_image img;
    gad_err e = {0};
    char p[600];
    snprintf(p, sizeof p, "%s/notes.txt", gad_test_tmpdir());
    free(write_tmp("notes.txt", "just text\n", 10));
    CU_ASSERT_EQUAL(gad_image_load(p, 0, &img, &e), GAD_EFORMAT);
    char want[700];
    snprintf(want, sizeof want, "%s: unrecognised image format", p);
    CU_ASSERT_STRING_EQUAL(e.msg, want);

    const char *cmyk = gad_test_data("images/cmyk.jpg");
    CU_ASSERT_EQUAL(gad_image_load(cmyk, 0, &img, &e), GAD_EUNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "CMYK"));

    const char *huge = gad_test_data("images/huge_cols.tif");
    CU_ASSERT_NOT_EQUAL(gad_image_load(huge, 0, &img, &e), 0);
    CU_ASSERT(strncmp(e.msg, huge, strlen(huge)) == 0);

    const char *nan = gad_test_data("images/nan.tif");
    CU_ASSERT_EQUAL(gad_image_load(nan, 0, &img, &e), GAD_EVALUE);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "(5, 3)"));

    CU_ASSERT_EQUAL(gad_image_load(gad_test_tmpdir(), 0, &img, &e), GAD_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "directory"));
    snprintf(p, sizeof p, "%s/missing.png", gad_test_tmpdir());
    CU_ASSERT_EQUAL(gad_image_load(p, 0, &img, &e), GAD_ENOTFOUND);
}

/* ---- resize and preprocessing --------------------------------------------- */

static void test_resize_torch(void) {
    float *in = read_f32("images/resize_in.f32", 3 * 7 * 13);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    static const int sizes[][2] = {{5, 9}, {11, 17}, {4, 20}, {1, 1}, {14, 26}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int oh = sizes[i][0], ow = sizes[i][1];
        size_t n = (size_t)3 * oh * ow;
        char rel[64];
        snprintf(rel, sizeof rel, "images/resize_%dx%d.f32", oh, ow);
        float *ref = read_f32(rel, n);
        float *out = malloc(n * sizeof(float));
        CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
        gad_resize_bilinear(in, 3, 7, 13, out, oh, ow);
        double d = max_abs_diff(out, ref, n);
        if (d > 1e-6) fprintf(stderr, "\n  resize to %dx%d: max diff %g\n", oh, ow, d);
        CU_ASSERT(d <= 1e-6);
        free(ref);
        free(out);
    }
    /* Same size is a copy. */
    float same[3 * 7 * 13];
    gad_resize_bilinear(in, 3, 7, 13, same, 7, 13);
    CU_ASSERT_EQUAL(memcmp(same, in, sizeof same), 0);
    free(in);
}

static void test_preprocess_torch(void) {
    float *in = read_f32("images/resize_in.f32", 3 * 7 * 13);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    gad_err e = {0};
    gad_image rgb = {13, 7, 3, in};
    gad_preproc pp = {.channels = 1, .height = 5, .width = 9, .n_mean = 1, .n_std = 1,
                      .mean = {0.5f}, .std = {0.25f}};
    float out1[5 * 9];
    GAD_ASSERT_OK(gad_preprocess(&rgb, &pp, out1, "rgb", &e), e);
    float *ref = read_f32("images/pre_lum_5x9.f32", 5 * 9);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    CU_ASSERT(max_abs_diff(out1, ref, 5 * 9) <= 4e-6);
    free(ref);

    gad_image gray = {13, 7, 1, in}; /* first plane only */
    gad_preproc pp3 = {.channels = 3, .height = 9, .width = 15, .n_mean = 3, .n_std = 3,
                       .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f}};
    float out3[3 * 9 * 15];
    GAD_ASSERT_OK(gad_preprocess(&gray, &pp3, out3, "gray", &e), e);
    ref = read_f32("images/pre_rep_9x15.f32", 3 * 9 * 15);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    CU_ASSERT(max_abs_diff(out3, ref, 3 * 9 * 15) <= 1e-5);
    free(ref);
    free(in);
}

static void test_preprocess_hand(void) {
    /* 2 x 2 RGB, no resize: luminance and mean/std by hand. */
    float px[12] = {1, 0, 0.5f, 0.2f, /* R */ 0, 1, 0.5f, 0.4f, /* G */ 0, 0, 0.5f, 0.6f};
    gad_image img = {2, 2, 3, px};
    gad_err e = {0};
    gad_preproc pp = {.channels = 1, .height = 2, .width = 2};
    float o[12];
    GAD_ASSERT_OK(gad_preprocess(&img, &pp, o, "hand", &e), e);
    CU_ASSERT_DOUBLE_EQUAL(o[0], 0.299, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(o[1], 0.587, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(o[2], 0.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(o[3], 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6, 1e-6);

    /* Broadcast mean, per-channel std, RGB stays RGB. */
    gad_preproc p3 = {.channels = 3, .height = 2, .width = 2, .n_mean = 1, .n_std = 3,
                      .mean = {0.1f}, .std = {1, 2, 4}};
    GAD_ASSERT_OK(gad_preprocess(&img, &p3, o, "hand", &e), e);
    CU_ASSERT_DOUBLE_EQUAL(o[0], 0.9, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(o[4 + 1], (1 - 0.1) / 2, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(o[8 + 3], (0.6 - 0.1) / 4, 1e-6);

    /* Gray replicated into 3 identical planes. */
    float g[4] = {0, 0.25f, 0.5f, 1};
    gad_image gi = {2, 2, 1, g};
    gad_preproc pr = {.channels = 3, .height = 2, .width = 2};
    GAD_ASSERT_OK(gad_preprocess(&gi, &pr, o, "gray", &e), e);
    for (int k = 0; k < 3; k++) CU_ASSERT_EQUAL(memcmp(o + 4 * k, g, sizeof g), 0);

    /* Refusals, each naming the image. */
    gad_preproc bad = p3;
    bad.std[1] = 0;
    CU_ASSERT_EQUAL(gad_preprocess(&img, &bad, o, "hand", &e), GAD_EINVAL);
    CU_ASSERT(strncmp(e.msg, "hand: ", 6) == 0);
    bad = p3;
    bad.n_mean = 2;
    CU_ASSERT_EQUAL(gad_preprocess(&img, &bad, o, "hand", &e), GAD_EINVAL);
    bad = p3;
    bad.channels = 4;
    CU_ASSERT_NOT_EQUAL(gad_preprocess(&img, &bad, o, "hand", &e), 0);
    gad_image two = {2, 2, 2, px};
    CU_ASSERT_NOT_EQUAL(gad_preprocess(&two, &p3, o, "two", &e), 0);
    bad = p3;
    bad.height = 0;
    CU_ASSERT_NOT_EQUAL(gad_preprocess(&img, &bad, o, "hand", &e), 0);
}

/* ---- writing --------------------------------------------------------------- */

static int count_temporaries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static void test_tiff_roundtrip(void) {
    gad_err e = {0};
    char path[600];
    for (int c = 1; c <= 4; c++) {
        int h = 9, w = 11;
        size_t n = (size_t)c * h * w;
        float *d = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) d[i] = (float)sin((double)i * 0.37) * 1e3f - 17.25f;
        d[0] = -0.0f;
        d[1] = 3.4e38f;
        snprintf(path, sizeof path, "%s/rt%d.tif", gad_test_tmpdir(), c);
        GAD_ASSERT_OK(gad_tiff_write_float(path, d, c, h, w, &e), e);
        float *back = NULL;
        int bc = 0, bh = 0, bw = 0;
        GAD_ASSERT_OK(gad_tiff_read_float(path, &back, &bc, &bh, &bw, &e), e);
        CU_ASSERT_EQUAL(bc, c);
        CU_ASSERT_EQUAL(bh, h);
        CU_ASSERT_EQUAL(bw, w);
        CU_ASSERT_EQUAL(memcmp(back, d, n * sizeof(float)), 0);
        free(back);
        free(d);
    }
    CU_ASSERT_EQUAL(count_temporaries(gad_test_tmpdir()), 0);

    /* An independent reader: PIL's "F" mode for the one-sample file. */
    if (gad_test_have_torch("PIL cross-check of the float TIFF")) {
        char cmd[1200], out[256];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"from PIL import Image; import numpy as np; "
                 "a=np.asarray(Image.open('%s/rt1.tif'),dtype=np.float64); "
                 "print(a.shape[0], a.shape[1], repr(float(a[4,7])), repr(float(a[8,10])))\" 2>&1",
                 gad_test_tmpdir());
        int st = gad_test_run(cmd, out, sizeof out);
        float e47 = (float)sin((4 * 11 + 7) * 0.37) * 1e3f - 17.25f;
        float e810 = (float)sin((8 * 11 + 10) * 0.37) * 1e3f - 17.25f;
        int ph = 0, pw = 0;
        double v1 = 0, v2 = 0;
        CU_ASSERT_EQUAL(st, 0);
        CU_ASSERT_EQUAL(sscanf(out, "%d %d %lf %lf", &ph, &pw, &v1, &v2), 4);
        CU_ASSERT_EQUAL(ph, 9);
        CU_ASSERT_EQUAL(pw, 11);
        CU_ASSERT_EQUAL((float)v1, e47);
        CU_ASSERT_EQUAL((float)v2, e810);
    }

    /* Non-float TIFFs are refused by the float reader. */
    float *x = NULL;
    int c, h, w;
    CU_ASSERT_EQUAL(gad_tiff_read_float(gad_test_data("images/planar16.tif"), &x, &c, &h, &w, &e),
                    GAD_EUNSUPPORTED);
    CU_ASSERT_PTR_NULL(x);
    /* The float 3-sample fixture reads the same through both entry points. */
    GAD_ASSERT_OK(gad_tiff_read_float(gad_test_data("images/float3.tif"), &x, &c, &h, &w, &e), e);
    float *ref = read_f32("images/float3.tif.f32", 3 * 7 * 13);
    CU_ASSERT(ref && c == 3 && h == 7 && w == 13 && !memcmp(x, ref, sizeof(float) * 3 * 7 * 13));
    free(ref);
    free(x);
}

static void test_failed_writes_leave_nothing(void) {
    gad_err e = {0};
    float d[6] = {1, 2, 3, 4, 5, 6};
    uint8_t px[6] = {1, 2, 3, 4, 5, 6};
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/wdir", gad_test_tmpdir());
    CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || errno == EEXIST);

    /* Folder missing: the temporary cannot even be created. */
    snprintf(path, sizeof path, "%s/missing/out.tif", dir);
    CU_ASSERT_EQUAL(gad_tiff_write_float(path, d, 1, 2, 3, &e), GAD_EIO);
    CU_ASSERT(strncmp(e.msg, path, strlen(path)) == 0);
    snprintf(path, sizeof path, "%s/missing/out.png", dir);
    CU_ASSERT_EQUAL(gad_png_write(path, px, 1, 2, 3, &e), GAD_EIO);

    /* Target is a non-empty folder: everything is written, then the rename
     * fails; the temporary must go. */
    snprintf(path, sizeof path, "%s/occupied", dir);
    CU_ASSERT_FATAL(mkdir(path, 0755) == 0 || errno == EEXIST);
    char inner[800];
    snprintf(inner, sizeof inner, "%s/keep", path);
    free(write_tmp("wdir/occupied/keep", "x", 1));
    CU_ASSERT_NOT_EQUAL(gad_tiff_write_float(path, d, 1, 2, 3, &e), 0);
    CU_ASSERT(strncmp(e.msg, path, strlen(path)) == 0);
    CU_ASSERT_NOT_EQUAL(gad_png_write(path, px, 3, 1, 2, &e), 0);
    CU_ASSERT_EQUAL(count_temporaries(dir), 0);

    /* A folder without write permission (meaningless for root, who may
     * write anywhere). */
    if (geteuid() != 0) {
        char ro[640];
        snprintf(ro, sizeof ro, "%s/readonly", dir);
        CU_ASSERT_FATAL(mkdir(ro, 0555) == 0 || errno == EEXIST);
        chmod(ro, 0555);
        snprintf(path, sizeof path, "%s/out.tif", ro);
        CU_ASSERT_EQUAL(gad_tiff_write_float(path, d, 1, 2, 3, &e), GAD_EIO);
        CU_ASSERT(strncmp(e.msg, path, strlen(path)) == 0);
        CU_ASSERT_EQUAL(count_temporaries(ro), 0);
        chmod(ro, 0755);
    }

    /* Bad arguments never touch the disk. */
    snprintf(path, sizeof path, "%s/bad.png", dir);
    CU_ASSERT_EQUAL(gad_png_write(path, px, 2, 1, 3, &e), GAD_EINVAL);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    CU_ASSERT_EQUAL(count_temporaries(dir), 0);

    /* The signal-handler path: in-flight temporaries are removed. */
    snprintf(path, sizeof path, "%s/inflight.bin", dir);
    gad_atomic a1, a2;
    GAD_ASSERT_OK(gad_atomic_open(path, &a1, &e), e);
    GAD_ASSERT_OK(gad_atomic_open(path, &a2, &e), e);
    CU_ASSERT_STRING_NOT_EQUAL(a1.tmp, a2.tmp);
    CU_ASSERT_EQUAL(count_temporaries(dir), 2);
    gad_atomic_cleanup_all();
    CU_ASSERT_EQUAL(count_temporaries(dir), 0);
    gad_atomic_abort(&a1);
    gad_atomic_abort(&a2);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);

    /* Commit replaces an existing file only when complete. */
    GAD_ASSERT_OK(gad_atomic_open(path, &a1, &e), e);
    fputs("new", a1.f);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
    GAD_ASSERT_OK(gad_atomic_commit(&a1, &e), e);
    char *s = gad_test_read_file(path, NULL);
    CU_ASSERT(s && !strcmp(s, "new"));
    free(s);
    CU_ASSERT_EQUAL(count_temporaries(dir), 0);
}

/* Deferred commits: nothing appears under a final name before end; end
 * renames in commit order; a failing rename reports that file and leaves
 * no temporary; abort and a signal's cleanup remove the pending ones. */
static void test_atomic_deferred(void) {
    gad_err e = {0};
    char dir[600], p1[700], p2[700], p3[700];
    snprintf(dir, sizeof dir, "%s/deferred", gad_test_tmpdir());
    CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || errno == EEXIST);
    snprintf(p1, sizeof p1, "%s/one.txt", dir);
    snprintf(p2, sizeof p2, "%s/two.png", dir);
    snprintf(p3, sizeof p3, "%s/sub", dir); /* a folder: renaming a file onto it fails */
    CU_ASSERT_FATAL(mkdir(p3, 0755) == 0 || errno == EEXIST);
    const uint8_t px[6] = {1, 2, 3, 4, 5, 6};

    gad_atomic_defer_begin(NULL);
    gad_atomic a;
    GAD_ASSERT_OK(gad_atomic_open(p1, &a, &e), e);
    fputs("first", a.f);
    GAD_ASSERT_OK(gad_atomic_commit(&a, &e), e);
    GAD_ASSERT_OK(gad_png_write(p2, px, 3, 1, 2, &e), e);
    CU_ASSERT_EQUAL(access(p1, F_OK), -1);
    CU_ASSERT_EQUAL(access(p2, F_OK), -1);
    CU_ASSERT_EQUAL(count_temporaries(dir), 2);
    GAD_ASSERT_OK(gad_atomic_defer_end(&e), e);
    char *s = gad_test_read_file(p1, NULL);
    CU_ASSERT(s && !strcmp(s, "first"));
    free(s);
    gad_image img;
    GAD_ASSERT_OK(gad_image_load(p2, 0, &img, &e), e);
    CU_ASSERT(img.c == 3 && img.h == 1 && img.w == 2 && img.data[0] == 1 / 255.0f);
    gad_image_free(&img);
    CU_ASSERT_EQUAL(count_temporaries(dir), 0);

    /* after end, commits are immediate again */
    GAD_ASSERT_OK(gad_atomic_open(p1, &a, &e), e);
    fputs("again", a.f);
    GAD_ASSERT_OK(gad_atomic_commit(&a, &e), e);
    s = gad_test_read_file(p1, NULL);
    CU_ASSERT(s && !strcmp(s, "again"));
    free(s);

    /* a rename that fails: the files before it land, the failing one and
     * those after it are removed; the landed counter counts only marked
     * files that were renamed */
    volatile sig_atomic_t landed = 0;
    gad_atomic_defer_begin(&landed);
    GAD_ASSERT_OK(gad_atomic_open(p1, &a, &e), e);
    a.landmark = 1;
    fputs("third", a.f);
    GAD_ASSERT_OK(gad_atomic_commit(&a, &e), e);
    CU_ASSERT_EQUAL(landed, 0);
    GAD_ASSERT_OK(gad_atomic_open(p3, &a, &e), e);
    a.landmark = 1;
    fputs("x", a.f);
    GAD_ASSERT_OK(gad_atomic_commit(&a, &e), e);
    unlink(p2);
    GAD_ASSERT_OK(gad_png_write(p2, px, 3, 1, 2, &e), e);
    CU_ASSERT_EQUAL(gad_atomic_defer_end(&e), GAD_EIO);
    CU_ASSERT(strncmp(e.msg, p3, strlen(p3)) == 0);
    CU_ASSERT_EQUAL(landed, 1);
    s = gad_test_read_file(p1, NULL);
    CU_ASSERT(s && !strcmp(s, "third"));
    free(s);
    CU_ASSERT_EQUAL(access(p2, F_OK), -1);
    CU_ASSERT_EQUAL(count_temporaries(dir), 0);

    /* the signal handler's cleanup, and abort, remove pending files */
    gad_atomic_defer_begin(NULL);
    GAD_ASSERT_OK(gad_png_write(p2, px, 3, 1, 2, &e), e);
    CU_ASSERT_EQUAL(count_temporaries(dir), 1);
    gad_atomic_cleanup_all();
    CU_ASSERT_EQUAL(count_temporaries(dir), 0);
    gad_atomic_defer_abort();
    gad_atomic_defer_begin(NULL);
    GAD_ASSERT_OK(gad_png_write(p2, px, 3, 1, 2, &e), e);
    gad_atomic_defer_abort();
    CU_ASSERT_EQUAL(count_temporaries(dir), 0);
    CU_ASSERT_EQUAL(access(p2, F_OK), -1);

    /* more pending files than GAD_ATOMIC_DEFER_MAX: early flushes land
     * them in order, so the last write wins */
    gad_atomic_defer_begin(NULL);
    for (int i = 0; i < 2 * GAD_ATOMIC_DEFER_MAX + 3; i++) {
        GAD_ASSERT_OK(gad_atomic_open(p1, &a, &e), e);
        fprintf(a.f, "%d", i);
        GAD_ASSERT_OK(gad_atomic_commit(&a, &e), e);
    }
    CU_ASSERT_EQUAL(count_temporaries(dir), 3);
    GAD_ASSERT_OK(gad_atomic_defer_end(&e), e);
    s = gad_test_read_file(p1, NULL);
    char want[16];
    snprintf(want, sizeof want, "%d", 2 * GAD_ATOMIC_DEFER_MAX + 2);
    CU_ASSERT(s && !strcmp(s, want));
    free(s);
    CU_ASSERT_EQUAL(count_temporaries(dir), 0);
}

static void test_png_write_roundtrip(void) {
    gad_err e = {0};
    char path[600];
    for (int c = 1; c <= 3; c += 2) {
        int h = 5, w = 7;
        uint8_t px[3 * 5 * 7];
        for (int i = 0; i < c * h * w; i++) px[i] = (uint8_t)(i * 37 + 11);
        snprintf(path, sizeof path, "%s/w%d.png", gad_test_tmpdir(), c);
        GAD_ASSERT_OK(gad_png_write(path, px, c, h, w, &e), e);
        gad_image img;
        GAD_ASSERT_OK(gad_image_load(path, 0, &img, &e), e);
        CU_ASSERT(img.c == c && img.h == h && img.w == w);
        int bad = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++)
                    if (img.data[(k * h + y) * w + x] != px[(y * w + x) * c + k] / 255.0f) bad++;
        CU_ASSERT_EQUAL(bad, 0);
        gad_image_free(&img);
    }
    CU_ASSERT_EQUAL(count_temporaries(gad_test_tmpdir()), 0);
}

void gad_test_register_image(void) {
    static const gad_test_case t[] = {
        {"load_formats", test_load_formats},
        {"max_pixels", test_max_pixels},
        {"load_bad", test_load_bad},
        {"bad_messages", test_bad_messages},
        {"byte_flips", test_byte_flips},
        {"resize_torch", test_resize_torch},
        {"preprocess_torch", test_preprocess_torch},
        {"preprocess_hand", test_preprocess_hand},
        {"tiff_roundtrip", test_tiff_roundtrip},
        {"failed_writes_leave_nothing", test_failed_writes_leave_nothing},
        {"png_write_roundtrip", test_png_write_roundtrip},
        {"atomic_deferred", test_atomic_deferred},
        {0, 0}};
    gad_test_add_suite("image", t);
}
