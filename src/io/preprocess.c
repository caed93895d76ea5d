/* Image -> model input: channel conversion, bilinear resize, normalisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gad/gad.h"

/* Index and weight arithmetic follows PyTorch's CPU upsample_bilinear2d
 * (float scale in/out, source coordinate clamped at 0, upper neighbour
 * clamped to the edge) so results match F.interpolate to float rounding. */
typedef struct lerp_tap {
    int i0, i1;
    float l0, l1;
} lerp_tap;

static lerp_tap tap_at(int in, int out, int d) {
    float scale = (float)in / (float)out;
    float s = scale * ((float)d + 0.5f) - 0.5f;
    if (s < 0) s = 0;
    lerp_tap t;
    t.i0 = (int)s;
    if (t.i0 > in - 1) t.i0 = in - 1;
    t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
    t.l1 = s - (float)t.i0;
    t.l0 = 1.0f - t.l1;
    return t;
}

void gad_resize_bilinear(const float *src, int c, int sh, int sw, float *dst, int dh, int dw) {
    if (!src || !dst || c <= 0 || sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0) return;
    if (sh == dh && sw == dw) {
        memmove(dst, src, (size_t)c * sh * sw * sizeof(float));
        return;
    }
    /* Without scratch memory the taps are recomputed per pixel. */
    lerp_tap *ty = malloc(sizeof *ty * (size_t)dh);
    lerp_tap *tx = malloc(sizeof *tx * (size_t)dw);
    if (ty)
        for (int y = 0; y < dh; y++) ty[y] = tap_at(sh, dh, y);
    if (tx)
        for (int x = 0; x < dw; x++) tx[x] = tap_at(sw, dw, x);
    for (int k = 0; k < c; k++) {
        const float *s = src + (size_t)k * sh * sw;
        float *o = dst + (size_t)k * dh * dw;
        for (int y = 0; y < dh; y++) {
            lerp_tap a = ty ? ty[y] : tap_at(sh, dh, y);
            const float *r0 = s + (size_t)a.i0 * sw, *r1 = s + (size_t)a.i1 * sw;
            for (int x = 0; x < dw; x++) {
                lerp_tap t = tx ? tx[x] : tap_at(sw, dw, x);
                o[(size_t)y * dw + x] = a.l0 * (t.l0 * r0[t.i0] + t.l1 * r0[t.i1]) +
                                        a.l1 * (t.l0 * r1[t.i0] + t.l1 * r1[t.i1]);
            }
        }
    }
    free(ty);
    free(tx);
}

int gad_preprocess(const gad_image *img, const gad_preproc *pp, float *out, const char *name,
                   gad_err *err) {
    const char *nm = name ? name : "(image)";
    if (!img || !pp || !out || !img->data)
        return gad_err_set(err, GAD_EINVAL, "%s: missing image, settings or output", nm);
    if (img->w <= 0 || img->h <= 0 || (img->c != 1 && img->c != 3))
        return gad_err_set(err, GAD_EINVAL, "%s: image of %d x %d with %d channels", nm, img->w,
                           img->h, img->c);
    int C = pp->channels, H = pp->height, W = pp->width;
    if (C != 1 && C != 3)
        return gad_err_set(err, GAD_EUNSUPPORTED,
                           "%s: the model takes %d input channels; only 1 (gray) or 3 (RGB) "
                           "images can be fed",
                           nm, C);
    if (H <= 0 || W <= 0)
        return gad_err_set(err, GAD_EINVAL, "%s: target size %d x %d is not positive", nm, W, H);
    if ((pp->n_mean != 0 && pp->n_mean != 1 && pp->n_mean != C) ||
        (pp->n_std != 0 && pp->n_std != 1 && pp->n_std != C))
        return gad_err_set(err, GAD_EINVAL,
                           "%s: %d mean and %d std values given for %d channels (need 1 or %d)",
                           nm, pp->n_mean, pp->n_std, C, C);
    float mean[3], stdv[3];
    for (int k = 0; k < C; k++) {
        mean[k] = pp->n_mean == 0 ? 0.0f : pp->mean[pp->n_mean == 1 ? 0 : k];
        stdv[k] = pp->n_std == 0 ? 1.0f : pp->std[pp->n_std == 1 ? 0 : k];
        if (!isfinite(mean[k]) || !isfinite(stdv[k]))
            return gad_err_set(err, GAD_EVALUE, "%s: mean/std for channel %d is not finite", nm,
                               k);
        if (stdv[k] == 0.0f)
            return gad_err_set(err, GAD_EINVAL, "%s: std for channel %d is zero", nm, k);
    }
    const float *src = img->data;
    int sc = img->c;
    size_t shw = (size_t)img->w * img->h, hw = (size_t)H * W;
    float *lum = NULL;
    if (sc == 3 && C == 1) {
        /* Luminance first: one plane to resize instead of three. */
        lum = malloc(shw * sizeof(float));
        if (!lum) return gad_err_set(err, GAD_ENOMEM, "%s: out of memory", nm);
        for (size_t i = 0; i < shw; i++)
            lum[i] = 0.299f * src[i] + 0.587f * src[shw + i] + 0.114f * src[2 * shw + i];
        src = lum;
        sc = 1;
    }
    gad_resize_bilinear(src, sc, img->h, img->w, out, H, W);
    free(lum);
    if (sc == 1 && C == 3) {
        memcpy(out + hw, out, hw * sizeof(float));
        memcpy(out + 2 * hw, out, hw * sizeof(float));
    }
    for (int k = 0; k < C; k++) {
        float m = mean[k], s = stdv[k];
        float *o = out + (size_t)k * hw;
        for (size_t i = 0; i < hw; i++) o[i] = (o[i] - m) / s;
    }
    return 0;
}
