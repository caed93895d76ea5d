/* IG baselines in the model's input space. "Black" means black pixels
 * before normalisation, i.e. (0 - mean) / std, not zeros after it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gad/attr.h"
#include "gad/gad.h"
#include "core/mix.h"

static float ch_mean(const gad_preproc *pp, int c) {
    return pp->n_mean == 0 ? 0.0f : pp->mean[pp->n_mean == 1 ? 0 : c];
}
static float ch_std(const gad_preproc *pp, int c) {
    return pp->n_std == 0 ? 1.0f : pp->std[pp->n_std == 1 ? 0 : c];
}

/* Separable Gaussian blur of one plane, edges clamped. */
static void blur_plane(float *p, int h, int w, float *tmp, const float *k, int r) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double s = 0;
            for (int t = -r; t <= r; t++) {
                int xx = x + t < 0 ? 0 : x + t >= w ? w - 1 : x + t;
                s += k[t + r] * p[(size_t)y * w + xx];
            }
            tmp[(size_t)y * w + x] = (float)s;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double s = 0;
            for (int t = -r; t <= r; t++) {
                int yy = y + t < 0 ? 0 : y + t >= h ? h - 1 : y + t;
                s += k[t + r] * tmp[(size_t)yy * w + x];
            }
            p[(size_t)y * w + x] = (float)s;
        }
}

int gad_baseline_make(gad_baseline_kind kind, float value, float sigma, uint64_t seed, const float *x,
                      const gad_preproc *pp, float *out, gad_err *err) {
    const int c = pp->channels, h = pp->height, w = pp->width;
    const size_t hw = (size_t)h * w;
    switch (kind) {
    case GAD_BASELINE_BLACK:
    case GAD_BASELINE_WHITE:
    case GAD_BASELINE_VALUE: {
        float v = kind == GAD_BASELINE_BLACK ? 0.0f : kind == GAD_BASELINE_WHITE ? 1.0f : value;
        if (!isfinite(v)) return gad_err_set(err, GAD_EINVAL, "baseline: value must be finite");
        for (int ch = 0; ch < c; ch++)
            for (size_t i = 0; i < hw; i++) out[ch * hw + i] = (v - ch_mean(pp, ch)) / ch_std(pp, ch);
        return 0;
    }
    case GAD_BASELINE_NOISE: {
        /* keyed by the image's values so a given image always gets the same noise */
        uint64_t key = gad_hash_bytes(seed, x, (size_t)c * hw * sizeof(float));
        for (int ch = 0; ch < c; ch++)
            for (size_t i = 0; i < hw; i++) {
                double u = (gad_mix64(key + ch * hw + i) >> 11) * 0x1.0p-53;
                out[ch * hw + i] = ((float)u - ch_mean(pp, ch)) / ch_std(pp, ch);
            }
        return 0;
    }
    case GAD_BASELINE_BLUR: {
        if (!(sigma > 0) || !isfinite(sigma))
            return gad_err_set(err, GAD_EINVAL, "baseline: blur sigma must be > 0");
        int r = (int)ceil(3 * sigma);
        if (r > (h > w ? h : w)) r = h > w ? h : w;
        float *k = malloc((size_t)(2 * r + 1) * sizeof(float)), *tmp = malloc(hw * sizeof(float));
        if (!k || !tmp) {
            free(k);
            free(tmp);
            return gad_err_set(err, GAD_ENOMEM, "baseline: out of memory");
        }
        double s = 0;
        for (int t = -r; t <= r; t++) s += k[t + r] = (float)exp(-0.5 * t * t / ((double)sigma * sigma));
        for (int t = -r; t <= r; t++) k[t + r] = (float)(k[t + r] / s);
        /* blur commutes with the per-channel affine normalisation: blur x itself */
        memcpy(out, x, (size_t)c * hw * sizeof(float));
        for (int ch = 0; ch < c; ch++) blur_plane(out + ch * hw, h, w, tmp, k, r);
        free(k);
        free(tmp);
        return 0;
    }
    }
    return gad_err_set(err, GAD_EINVAL, "baseline: unknown kind %d", (int)kind);
}
