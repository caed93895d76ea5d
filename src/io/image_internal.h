/* Shared between the per-format image readers. */
#ifndef GAD_IO_IMAGE_INTERNAL_H
#define GAD_IO_IMAGE_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "gad/gad.h"

/* Validate w x h x c against max_pixels and size_t, then allocate img->data
 * (zeroed). Messages name `path`. */
int gad_io_image_alloc(const char *path, int64_t w, int64_t h, int c, int64_t max_pixels,
                       gad_image *img, gad_err *err);

/* Each reader gets the opened file positioned at its start. */
int gad_io_png_load(const char *path, FILE *f, int64_t max_pixels, gad_image *out,
                    gad_err *err);
int gad_io_jpeg_load(const char *path, FILE *f, int64_t max_pixels, gad_image *out,
                     gad_err *err);

/* TIFF reader used by gad_image_load (keep_all = 0: gray/RGB only, extra
 * samples dropped, 8/16-bit scaled to [0,1], NaN/Inf refused) and by
 * gad_tiff_read_float (keep_all = 1: float32 only, every sample kept, values
 * taken as they are). */
int gad_io_tiff_load(const char *path, int keep_all, int64_t max_pixels, gad_image *out,
                     gad_err *err);

/* libtiff with per-handle message handlers (thread-safe, nothing printed):
 * the first error (or, if none, the first warning) lands in msg. */
typedef struct gad_tiff_msg {
    char msg[256];
    int have_error;
    const char *name; /* file name, left out of libtiff's messages */
} gad_tiff_msg;
struct tiff;
struct tiff *gad_io_tiff_open(const char *path, const char *mode, int64_t max_alloc,
                              gad_tiff_msg *m);

#endif
