/* gad/render.h — attribution maps drawn for people.
 *
 * An overlay blends a colour-mapped map over a grey copy of the image:
 * signed maps use a diverging blue-white-red map (blue negative, red
 * positive), non-negative maps a sequential black-red-yellow map; the map is
 * clipped at the clip_pct-th percentile of |value| and its opacity grows
 * with |value|, so unimportant pixels show the image. Small images are
 * enlarged (nearest neighbour) so the shorter side is at least min_side.
 */
#ifndef GAD_RENDER_H
#define GAD_RENDER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gad_err;

typedef struct gad_rgb {
    int w, h;
    uint8_t *pixels; /* h x w x 3, owned; free with gad_rgb_free */
} gad_rgb;

void gad_rgb_free(gad_rgb *img);

/* map: h x w; grey: h x w background in [0, 1] (NULL: mid grey);
 * is_signed selects the colour map. */
int gad_render_overlay(const float *map, const float *grey, int h, int w, int is_signed,
                       double clip_pct, int min_side, gad_rgb *out, struct gad_err *err);

/* A binary mask drawn as white regions on black, enlarged like overlays. */
int gad_render_mask(const uint8_t *mask, int h, int w, int min_side, gad_rgb *out,
                    struct gad_err *err);

/* Place images side by side with a 4-pixel gap (same heights required). */
int gad_rgb_hconcat(const gad_rgb *a, const gad_rgb *b, gad_rgb *out, struct gad_err *err);

#ifdef __cplusplus
}
#endif

#endif
