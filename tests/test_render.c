/* Overlays and masks: the colours render.h documents, pixel by pixel, and
 * the nearest-neighbour enlargement (every map pixel an s x s block). */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>

#include "gad/gad.h"
#include "gad/render.h"
#include "harness.h"

/* |got - 255 * want| <= 1 for the three channels of pixel (y, x) */
static int near_rgb(const gad_rgb *img, int y, int x, double r, double g, double b) {
    const uint8_t *p = img->pixels + ((size_t)y * img->w + x) * 3;
    const double want[3] = {r, g, b};
    for (int k = 0; k < 3; k++)
        if (fabs(p[k] - 255.0 * want[k]) > 1.0) return 0;
    return 1;
}

/* every s x s block of img equals its top-left pixel */
static int blocks_uniform(const gad_rgb *img, int s) {
    for (int y = 0; y < img->h; y++)
        for (int x = 0; x < img->w; x++) {
            const uint8_t *p = img->pixels + ((size_t)y * img->w + x) * 3;
            const uint8_t *q = img->pixels + ((size_t)(y / s * s) * img->w + x / s * s) * 3;
            if (p[0] != q[0] || p[1] != q[1] || p[2] != q[2]) return 0;
        }
    return 1;
}

static void test_overlay_signed(void) {
    /* 2 x 3 map; clipped at the 100th percentile of |v| = 4 */
    const float map[6] = {4, 0, -4, 2, -4, 1};
    const float grey[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0, 1};
    gad_rgb img;
    gad_err err = {0};
    GAD_ASSERT_OK(gad_render_overlay(map, grey, 2, 3, 1, 100.0, 6, &img, &err), err);
    /* the shorter side (2) is enlarged to at least 6: s = 3 */
    CU_ASSERT_EQUAL(img.h, 6);
    CU_ASSERT_EQUAL(img.w, 9);
    CU_ASSERT(blocks_uniform(&img, 3));
    /* full red at +clip, full blue at -clip, the dimmed image (0.25 + 0.5
     * grey) where the map is 0 */
    CU_ASSERT(near_rgb(&img, 0, 0, 0.85, 0.10, 0.10));
    CU_ASSERT(near_rgb(&img, 1, 4, 0.5, 0.5, 0.5));
    CU_ASSERT(near_rgb(&img, 2, 8, 0.13, 0.40, 0.85));
    CU_ASSERT(near_rgb(&img, 4, 4, 0.13, 0.40, 0.85));
    /* half way: opacity 0.5 over grey 0.5 */
    CU_ASSERT(near_rgb(&img, 5, 2, 0.5 * 0.5 + 0.5 * 0.85, 0.5 * 0.5 + 0.5 * 0.10, 0.5 * 0.5 + 0.5 * 0.10));
    /* quarter way over a white pixel (grey 1 -> 0.75) */
    CU_ASSERT(near_rgb(&img, 3, 6, 0.75 * 0.75 + 0.25 * 0.85, 0.75 * 0.75 + 0.25 * 0.10,
                       0.75 * 0.75 + 0.25 * 0.10));
    gad_rgb_free(&img);
}

static void test_overlay_unsigned(void) {
    /* non-negative maps: the hot ramp, opacity 1.5 |v| (at most 1); negative
     * values count as 0; no background: mid grey */
    const float map[4] = {1, 0.5f, -1, 0};
    gad_rgb img;
    gad_err err = {0};
    GAD_ASSERT_OK(gad_render_overlay(map, NULL, 1, 4, 0, 100.0, 1, &img, &err), err);
    CU_ASSERT_EQUAL(img.h, 1);
    CU_ASSERT_EQUAL(img.w, 4);
    CU_ASSERT(near_rgb(&img, 0, 0, 1, 1, 1));                           /* v = 1: white end of the ramp */
    CU_ASSERT(near_rgb(&img, 0, 1, 0.25 * 0.5 + 0.75 * 1, 0.25 * 0.5 + 0.75 * 0.5, 0.25 * 0.5)); /* v = 0.5 */
    CU_ASSERT(near_rgb(&img, 0, 2, 0.5, 0.5, 0.5));
    CU_ASSERT(near_rgb(&img, 0, 3, 0.5, 0.5, 0.5));
    gad_rgb_free(&img);
}

static void test_mask(void) {
    const uint8_t mask[6] = {1, 0, 0, 0, 0, 1};
    gad_rgb img;
    gad_err err = {0};
    GAD_ASSERT_OK(gad_render_mask(mask, 3, 2, 5, &img, &err), err);
    CU_ASSERT_EQUAL(img.h, 9); /* shorter side 2 -> 6 >= 5: s = 3 */
    CU_ASSERT_EQUAL(img.w, 6);
    CU_ASSERT(blocks_uniform(&img, 3));
    CU_ASSERT(near_rgb(&img, 0, 0, 1, 1, 1));
    CU_ASSERT(near_rgb(&img, 0, 3, 0, 0, 0));
    CU_ASSERT(near_rgb(&img, 8, 5, 1, 1, 1));
    gad_rgb_free(&img);
}

void gad_test_register_render(void) {
    static const gad_test_case t[] = {
        {"overlay_signed", test_overlay_signed},
        {"overlay_unsigned", test_overlay_unsigned},
        {"mask", test_mask},
        {0, 0}};
    gad_test_add_suite("render", t);
}
