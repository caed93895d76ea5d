/* Float32 TIFF output for attribution maps, and reading them back.
 *
 * Layout choice: samples are interleaved (PLANARCONFIG_CONTIG), uncompressed,
 * in strips, because that is the variant every TIFF reader handles (ImageJ,
 * GDAL, tifffile, PIL for one sample); separate planes and float predictors
 * are optional features that several readers lack. */
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "gad/gad.h"
#include "io/atomic.h"
#include "io/image_internal.h"

int gad_tiff_write_float(const char *path, const float *data, int c, int h, int w,
                         gad_err *err) {
    const char *p = path ? path : "(null)";
    if (!data || c <= 0 || c > 65535 || h <= 0 || w <= 0)
        return gad_err_set(err, GAD_EINVAL, "%s: cannot write a TIFF of %d x %d x %d", p, c, h,
                           w);
    if ((int64_t)w * c > ((int64_t)1 << 30))
        return gad_err_set(err, GAD_ELIMIT, "%s: TIFF row too wide", p);
    gad_atomic a;
    int rc = gad_atomic_open(path, &a, err);
    if (rc) return rc;
    /* libtiff opens by name; the temporary already exists and is ours. */
    fclose(a.f);
    a.f = NULL;
    gad_tiff_msg m;
    TIFF *t = gad_io_tiff_open(a.tmp, "w", 0, &m);
    if (!t) {
        gad_atomic_abort(&a);
        return gad_err_set(err, GAD_EIO, "%s: TIFF: %s", p, m.msg);
    }
    float *row = malloc((size_t)w * c * sizeof(float));
    int oom = row == NULL;
    int ok = !oom;
    ok = ok && TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)w);
    ok = ok && TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)h);
    ok = ok && TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)c);
    ok = ok && TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, (uint16_t)32);
    ok = ok && TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, (uint16_t)SAMPLEFORMAT_IEEEFP);
    ok = ok && TIFFSetField(t, TIFFTAG_PLANARCONFIG, (uint16_t)PLANARCONFIG_CONTIG);
    ok = ok && TIFFSetField(t, TIFFTAG_COMPRESSION, (uint16_t)COMPRESSION_NONE);
    ok = ok && TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                            (uint16_t)(c == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK));
    if (ok && c != 1 && c != 3) {
        /* Samples beyond the first are declared as unspecified extras so
         * readers do not take them for colour. */
        uint16_t n = (uint16_t)(c - 1);
        uint16_t *kinds = calloc(n, sizeof *kinds);
        ok = kinds && TIFFSetField(t, TIFFTAG_EXTRASAMPLES, n, kinds);
        free(kinds);
    }
    ok = ok && TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(t, 0));
    size_t hw = (size_t)h * w;
    for (int y = 0; ok && y < h; y++) {
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) row[(size_t)x * c + k] = data[k * hw + (size_t)y * w + x];
        ok = TIFFWriteScanline(t, row, (uint32_t)y, 0) == 1;
    }
    free(row);
    /* TIFFClose writes the directory; its failure (disk full) shows in m. */
    ok = ok && TIFFWriteDirectory(t);
    TIFFClose(t);
    if (!ok || m.have_error) {
        gad_atomic_abort(&a);
        return gad_err_set(err, GAD_EIO, "%s: TIFF: %s", p,
                           m.have_error ? m.msg : (oom ? "out of memory" : "write failed"));
    }
    return gad_atomic_commit(&a, err);
}

int gad_tiff_read_float(const char *path, float **data, int *c, int *h, int *w, gad_err *err) {
    if (!data) return gad_err_set(err, GAD_EINVAL, "%s: no output", path ? path : "(null)");
    *data = NULL;
    if (!path || !*path) return gad_err_set(err, GAD_EINVAL, "(null): empty path");
    gad_image img = {0};
    int rc = gad_io_tiff_load(path, 1, GAD_DEFAULT_MAX_PIXELS, &img, err);
    if (rc) return rc;
    *data = img.data;
    if (c) *c = img.c;
    if (h) *h = img.h;
    if (w) *w = img.w;
    return 0;
}
