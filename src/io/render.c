/* Overlays and masks as RGB images (see gad/render.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gad/gad.h"
#include "gad/render.h"
#include "gad/simd.h"

void gad_rgb_free(gad_rgb *img) {
    if (!img) return;
    free(img->pixels);
    img->pixels = NULL;
    img->w = img->h = 0;
}

static int scale_for(int h, int w, int min_side) {
    int m = h < w ? h : w, s = 1;
    while (m * s < min_side && s < 64) s++;
    return s;
}

static int rgb_alloc(gad_rgb *out, int h, int w, gad_err *err) {
    out->h = h;
    out->w = w;
    out->pixels = malloc((size_t)h * w * 3);
    if (!out->pixels) return gad_err_set(err, GAD_ENOMEM, "render: out of memory (%dx%d)", w, h);
    return 0;
}

static uint8_t to_byte(double v) {
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    return (uint8_t)lrint(v * 255);
}

/* Diverging map endpoints (blue for negative, red for positive) and the
 * sequential "hot" ramp for non-negative maps. */
static void colour(double v, int is_signed, double rgb[3]) {
    if (is_signed) {
        const double neg[3] = {0.13, 0.40, 0.85}, pos[3] = {0.85, 0.10, 0.10};
        memcpy(rgb, v < 0 ? neg : pos, sizeof neg);
        return;
    }
    rgb[0] = fmin(1, 3 * v);
    rgb[1] = fmin(1, fmax(0, 3 * v - 1));
    rgb[2] = fmax(0, 3 * v - 2);
}

int gad_render_overlay(const float *map, const float *grey, int h, int w, int is_signed, double clip_pct,
                       int min_side, gad_rgb *out, gad_err *err) {
    memset(out, 0, sizeof *out);
    if (h <= 0 || w <= 0) return gad_err_set(err, GAD_EINVAL, "render: empty map");
    size_t n = (size_t)h * w;
    float *scratch = malloc(n * sizeof(float));
    if (!scratch) return gad_err_set(err, GAD_ENOMEM, "render: out of memory");
    float clip = gad_simd_percentile(map, n, clip_pct, 1, scratch);
    free(scratch);
    if (!(clip > 0)) clip = 1; /* an all-zero map shows the image alone */
    int s = scale_for(h, w, min_side);
    int rc = rgb_alloc(out, h * s, w * s, err);
    if (rc) return rc;
    /* each map pixel is coloured once, then repeated s times across and its
     * row s times down (a 28x28 map becomes 224x224: 64x fewer colourings) */
    const size_t row = (size_t)out->w * 3;
    for (int y = 0; y < h; y++) {
        uint8_t *first = out->pixels + (size_t)y * s * row;
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + (size_t)x;
            double v = map[i] / clip;
            v = v > 1 ? 1 : v < -1 ? -1 : v;
            if (!is_signed && v < 0) v = 0;
            double g = grey ? 0.25 + 0.5 * grey[i] : 0.5; /* dimmed so colour reads */
            double c[3], a = fabs(v);
            colour(is_signed ? v : a, is_signed, c);
            if (!is_signed) a = fmin(1, 1.5 * a);
            uint8_t rgb[3];
            for (int k = 0; k < 3; k++) rgb[k] = to_byte((1 - a) * g + a * c[k]);
            for (int r = 0; r < s; r++) memcpy(first + ((size_t)x * s + r) * 3, rgb, 3);
        }
        for (int r = 1; r < s; r++) memcpy(first + r * row, first, row);
    }
    return 0;
}

int gad_render_mask(const uint8_t *mask, int h, int w, int min_side, gad_rgb *out, gad_err *err) {
    memset(out, 0, sizeof *out);
    if (h <= 0 || w <= 0) return gad_err_set(err, GAD_EINVAL, "render: empty mask");
    int s = scale_for(h, w, min_side);
    int rc = rgb_alloc(out, h * s, w * s, err);
    if (rc) return rc;
    for (int y = 0; y < h * s; y++)
        for (int x = 0; x < w * s; x++)
            memset(out->pixels + ((size_t)y * out->w + x) * 3, mask[(size_t)(y / s) * w + x / s] ? 255 : 0, 3);
    return 0;
}

int gad_rgb_hconcat(const gad_rgb *a, const gad_rgb *b, gad_rgb *out, gad_err *err) {
    memset(out, 0, sizeof *out);
    if (a->h != b->h) return gad_err_set(err, GAD_EINVAL, "render: heights differ (%d, %d)", a->h, b->h);
    const int gap = 4;
    int rc = rgb_alloc(out, a->h, a->w + gap + b->w, err);
    if (rc) return rc;
    memset(out->pixels, 255, (size_t)out->h * out->w * 3);
    for (int y = 0; y < a->h; y++) {
        memcpy(out->pixels + (size_t)y * out->w * 3, a->pixels + (size_t)y * a->w * 3, (size_t)a->w * 3);
        memcpy(out->pixels + ((size_t)y * out->w + a->w + gap) * 3, b->pixels + (size_t)y * b->w * 3,
               (size_t)b->w * 3);
    }
    return 0;
}
