/* Occlusion inputs. Images are planar (c x hw), so a pixel is one index in
 * each of the c planes. */
#include <string.h>

#include "gad/eval.h"

void gad_occlude(float *x_out, const float *x, const float *baseline, const uint8_t *mask,
                 int c, size_t hw) {
    for (int ch = 0; ch < c; ch++) {
        size_t off = (size_t)ch * hw;
        for (size_t i = 0; i < hw; i++)
            x_out[off + i] = mask[i] ? baseline[off + i] : x[off + i];
    }
}

void gad_informative_pixels(uint8_t *mask, const float *x, const float *baseline, int c,
                            size_t hw) {
    memset(mask, 0, hw);
    for (int ch = 0; ch < c; ch++) {
        size_t off = (size_t)ch * hw;
        /* != rather than a tolerance: a baseline built from the image
         * (blur, value) matches it bit for bit where nothing changed. */
        for (size_t i = 0; i < hw; i++) mask[i] |= x[off + i] != baseline[off + i];
    }
}

void gad_curve_input(float *out, const float *x, const float *baseline, const size_t *order,
                     size_t k, int c, size_t hw, int insertion) {
    const float *start = insertion ? baseline : x, *put = insertion ? x : baseline;
    if (k > hw) k = hw;
    if (c > 0 && out != start) memcpy(out, start, sizeof *out * (size_t)c * hw);
    for (int ch = 0; ch < c; ch++) {
        size_t off = (size_t)ch * hw;
        for (size_t j = 0; j < k; j++) out[off + order[j]] = put[off + order[j]];
    }
}
