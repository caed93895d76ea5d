/* gad/image.h — reading images and turning them into model inputs.
 *
 * gad_image_load reads PNG (8/16-bit, gray/RGB, with or without alpha,
 * palette), JPEG (gray/RGB) and TIFF (8/16-bit unsigned, 32-bit float; gray or
 * RGB, contiguous or planar) into planar float pixels scaled to [0, 1]
 * (float TIFFs are taken as they are). The format is chosen by the file's
 * magic bytes, not its name. Alpha is dropped.
 *
 * gad_preprocess turns such an image into a model input: bilinear resize to
 * the model's size when it differs, gray -> C channels by replication or
 * RGB -> 1 channel by luminance (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B),
 * then (x - mean[c]) / std[c].
 */
#ifndef GAD_IMAGE_H
#define GAD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gad_err;

typedef struct gad_image {
    int w, h, c;  /* c is 1 (gray) or 3 (RGB) */
    float *data;  /* planar: c x h x w, owned; free with gad_image_free */
} gad_image;

/* Refuse images with more than this many pixels before allocating. 2^26
 * (8192 x 8192) takes a few seconds and about 1 GB to decode; a 780 KB PNG
 * declaring 2^28 RGB pixels took 13 s and 4.2 GB. --max-pixels raises it. */
#define GAD_DEFAULT_MAX_PIXELS ((int64_t)1 << 26)

int gad_image_load(const char *path, int64_t max_pixels, gad_image *out,
                   struct gad_err *err);
void gad_image_free(gad_image *img);

typedef struct gad_preproc {
    int channels;     /* the model's input channels (1 or 3) */
    int height, width;
    int n_mean, n_std; /* 1 (broadcast) or `channels` values; 0 = defaults */
    float mean[3];    /* default 0 */
    float std[3];     /* default 1 */
} gad_preproc;

/* out: channels x height x width floats (caller-allocated). */
int gad_preprocess(const gad_image *img, const gad_preproc *pp, float *out,
                   const char *name, struct gad_err *err);

/* Bilinear resize of planar float images (half-pixel centres, edge clamp,
 * as PyTorch's interpolate(mode="bilinear", align_corners=False) without
 * antialiasing). */
void gad_resize_bilinear(const float *src, int c, int sh, int sw, float *dst,
                         int dh, int dw);

/* Write a float32 TIFF with c samples per pixel (planar c x h x w input),
 * atomically (temporary name in the same folder, then rename). */
int gad_tiff_write_float(const char *path, const float *data, int c, int h,
                         int w, struct gad_err *err);
/* Read a float32 TIFF written by gad_tiff_write_float (or any float TIFF). */
int gad_tiff_read_float(const char *path, float **data, int *c, int *h,
                        int *w, struct gad_err *err);

/* Write an 8-bit PNG (gray c=1, RGB c=3, interleaved h x w x c), atomically. */
int gad_png_write(const char *path, const uint8_t *pixels, int c, int h,
                  int w, struct gad_err *err);

/* IDX files (the MNIST family's format; gzip-compressed or plain), as
 * Debian's dataset-fashion-mnist ships them. Images (unsigned bytes, n x h x
 * w) come out as floats in [0, 1]; labels as ints. At most `max` items are
 * read (0: all). The caller frees *data / *labels. */
int gad_idx_load_images(const char *path, int max, float **data, int *n, int *h, int *w,
                        struct gad_err *err);
int gad_idx_load_labels(const char *path, int max, int **labels, int *n, struct gad_err *err);

#ifdef __cplusplus
}
#endif

#endif
