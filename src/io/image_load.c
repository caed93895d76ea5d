/* gad_image_load: format chosen by magic bytes, never by file name. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gad/gad.h"
#include "io/image_internal.h"

int gad_io_image_alloc(const char *path, int64_t w, int64_t h, int c, int64_t max_pixels,
                       gad_image *img, gad_err *err) {
    /* 0 (or negative) means "no caller preference": the default cap still
     * applies, since an unbounded forged header could exhaust memory. */
    if (max_pixels <= 0) max_pixels = GAD_DEFAULT_MAX_PIXELS;
    if (w <= 0 || h <= 0)
        return gad_err_set(err, GAD_EFORMAT, "%s: image has zero size (%lld x %lld)", path,
                           (long long)w, (long long)h);
    if (c <= 0 || w > INT_MAX || h > INT_MAX || w > max_pixels / h)
        return gad_err_set(err, GAD_ELIMIT,
                           "%s: image of %lld x %lld pixels exceeds the limit of %lld pixels (--max-pixels)",
                           path, (long long)w, (long long)h, (long long)max_pixels);
    uint64_t n = (uint64_t)w * (uint64_t)h * (uint64_t)c;
    /* Channels come from the file too (a float TIFF read with every sample
     * kept may claim thousands): the budget is max_pixels RGBA pixels. */
    if (c > 4 && n / 4 > (uint64_t)max_pixels)
        return gad_err_set(err, GAD_ELIMIT,
                           "%s: image of %lld x %lld pixels with %d channels exceeds the limit of %lld "
                           "pixels x 4 channels",
                           path, (long long)w, (long long)h, c, (long long)max_pixels);
    if (n > SIZE_MAX / sizeof(float))
        return gad_err_set(err, GAD_ELIMIT, "%s: image too large for memory", path);
    float *d = calloc((size_t)n, sizeof(float));
    if (!d)
        return gad_err_set(err, GAD_ENOMEM, "%s: out of memory for a %lld x %lld image", path,
                           (long long)w, (long long)h);
    img->w = (int)w;
    img->h = (int)h;
    img->c = c;
    img->data = d;
    return 0;
}

int gad_image_load(const char *path, int64_t max_pixels, gad_image *out, gad_err *err) {
    if (!out) return gad_err_set(err, GAD_EINVAL, "%s: no output image", path ? path : "(null)");
    memset(out, 0, sizeof *out);
    if (!path || !*path) return gad_err_set(err, GAD_EINVAL, "(null): empty image path");
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return gad_err_set(err, e == ENOENT ? GAD_ENOTFOUND : GAD_EIO, "%s: %s", path,
                           strerror(e));
    }
    if (S_ISDIR(st.st_mode)) return gad_err_set(err, GAD_EIO, "%s: is a directory", path);
    if (!S_ISREG(st.st_mode))
        return gad_err_set(err, GAD_EIO, "%s: not a regular file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return gad_err_set(err, GAD_EIO, "%s: %s", path, strerror(errno));
    unsigned char m[8] = {0};
    size_t got = fread(m, 1, sizeof m, f);
    rewind(f);
    int rc;
    gad_image img = {0};
    if (got >= 8 && !memcmp(m, "\x89PNG\r\n\x1a\n", 8)) {
        rc = gad_io_png_load(path, f, max_pixels, &img, err);
        fclose(f);
    } else if (got >= 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF) {
        rc = gad_io_jpeg_load(path, f, max_pixels, &img, err);
        fclose(f);
    } else if (got >= 4 && (!memcmp(m, "II*\0", 4) || !memcmp(m, "MM\0*", 4))) {
        /* libtiff wants to open the file itself (it seeks and maps). */
        fclose(f);
        rc = gad_io_tiff_load(path, 0, max_pixels, &img, err);
    } else {
        fclose(f);
        return gad_err_set(err, GAD_EFORMAT, "%s: unrecognised image format", path);
    }
    if (rc) {
        free(img.data);
        return rc;
    }
    *out = img;
    return 0;
}

void gad_image_free(gad_image *img) {
    if (!img) return;
    free(img->data);
    img->data = NULL;
    img->w = img->h = img->c = 0;
}
