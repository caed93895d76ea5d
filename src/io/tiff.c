/* TIFF reading through libtiff: 8/16-bit unsigned and 32-bit float samples,
 * strips or tiles, contiguous or separate planes. TIFFReadRGBAImage is not
 * used because it reduces everything to 8 bits. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "gad/gad.h"
#include "io/image_internal.h"

static int tiff_on_error(TIFF *t, void *ud, const char *module, const char *fmt, va_list ap) {
    (void)t;
    gad_tiff_msg *m = ud;
    if (m && !m->have_error) {
        char body[200];
        vsnprintf(body, sizeof body, fmt, ap);
        if (module && *module && !(m->name && !strcmp(module, m->name)))
            snprintf(m->msg, sizeof m->msg, "%s: %s", module, body);
        else snprintf(m->msg, sizeof m->msg, "%s", body);
        m->have_error = 1;
    }
    return 1; /* handled: libtiff must not also call the global handler */
}

static int tiff_on_warning(TIFF *t, void *ud, const char *module, const char *fmt,
                           va_list ap) {
    (void)t;
    gad_tiff_msg *m = ud;
    if (m && !m->have_error && !m->msg[0]) {
        char body[200];
        vsnprintf(body, sizeof body, fmt, ap);
        if (module && *module && !(m->name && !strcmp(module, m->name)))
            snprintf(m->msg, sizeof m->msg, "%s: %s", module, body);
        else
            snprintf(m->msg, sizeof m->msg, "%s", body);
    }
    return 1;
}

/* A few libtiff paths still report through the process-wide handlers;
 * those would print to stderr, so they are silenced once. */
static void silence_globals(void) {
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
}
static pthread_once_t globals_once = PTHREAD_ONCE_INIT;

TIFF *gad_io_tiff_open(const char *path, const char *mode, int64_t max_alloc,
                       gad_tiff_msg *m) {
    pthread_once(&globals_once, silence_globals);
    memset(m, 0, sizeof *m);
    m->name = path;
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (!o) {
        snprintf(m->msg, sizeof m->msg, "out of memory");
        m->have_error = 1;
        return NULL;
    }
    TIFFOpenOptionsSetErrorHandlerExtR(o, tiff_on_error, m);
    TIFFOpenOptionsSetWarningHandlerExtR(o, tiff_on_warning, m);
    if (max_alloc > 0) TIFFOpenOptionsSetMaxSingleMemAlloc(o, (tmsize_t)max_alloc);
    TIFF *t = TIFFOpenExt(path, mode, o);
    TIFFOpenOptionsFree(o);
    if (!t && !m->have_error) {
        snprintf(m->msg, sizeof m->msg, "cannot open");
        m->have_error = 1;
    }
    return t;
}

typedef struct tiff_layout {
    int bps;       /* 8, 16 or 32 */
    int is_float;
    int spp;       /* samples stored per pixel */
    int nout;      /* channels kept */
    int separate;  /* PLANARCONFIG_SEPARATE */
    int invert;    /* MINISWHITE */
    int check_finite;
} tiff_layout;

static float sample_at(const unsigned char *p, int bps) {
    if (bps == 8) return (float)p[0] / 255.0f;
    if (bps == 16) {
        uint16_t v;
        memcpy(&v, p, 2);
        return (float)v / 65535.0f;
    }
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* Copy a block of `rows` x `cols` pixels whose first pixel is at (x0, y0)
 * from a decoded strip/tile with `pitch` pixels per row. `plane` is the
 * sample of a separate-plane block, or -1 for interleaved blocks. */
static int copy_block(const tiff_layout *L, const unsigned char *buf, int pitch, int x0, int y0,
                      int cols, int rows, int plane, gad_image *img, const char *path,
                      gad_err *err) {
    size_t bs = (size_t)L->bps / 8;
    size_t stride = plane >= 0 ? 1 : (size_t)L->spp;
    size_t hw = (size_t)img->w * img->h;
    int k0 = plane >= 0 ? plane : 0, k1 = plane >= 0 ? plane + 1 : L->nout;
    for (int yy = 0; yy < rows; yy++)
        for (int xx = 0; xx < cols; xx++) {
            const unsigned char *px = buf + ((size_t)yy * pitch + xx) * stride * bs;
            for (int k = k0; k < k1; k++) {
                float v = sample_at(px + (size_t)(plane >= 0 ? 0 : k) * bs, L->bps);
                if (L->check_finite && !isfinite(v))
                    return gad_err_set(err, GAD_EVALUE,
                                       "%s: pixel (%d, %d) channel %d is NaN or infinite", path,
                                       x0 + xx, y0 + yy, k);
                if (L->invert) v = 1.0f - v;
                img->data[(size_t)k * hw + (size_t)(y0 + yy) * img->w + (x0 + xx)] = v;
            }
        }
    return 0;
}

static int tiff_fail(const char *path, const gad_tiff_msg *m, int code, const char *what,
                     gad_err *err) {
    if (m->have_error)
        return gad_err_set(err, code, "%s: TIFF: %s (%s)", path, what, m->msg);
    return gad_err_set(err, code, "%s: TIFF: %s", path, what);
}

/* max_buf: the most one strip/tile buffer may take (the same bound libtiff's
 * own allocations get): the file states rows per strip, tile size and
 * samples per pixel, so a forged header could otherwise ask for gigabytes
 * for a small image. */
static int read_pixels(TIFF *t, const tiff_layout *L, gad_image *img, const char *path,
                       gad_tiff_msg *m, uint64_t max_buf, gad_err *err) {
    int nplanes = L->separate ? L->nout : 1;
    size_t bs = (size_t)L->bps / 8;
    size_t spp_block = L->separate ? 1 : (size_t)L->spp;
    int w = img->w, h = img->h, rc = 0;
    if (TIFFIsTiled(t)) {
        uint32_t tw = 0, th = 0;
        if (!TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw) || !TIFFGetField(t, TIFFTAG_TILELENGTH, &th) ||
            tw == 0 || th == 0 || tw > (1u << 20) || th > (1u << 20))
            return tiff_fail(path, m, GAD_EFORMAT, "bad tile size", err);
        tmsize_t tsz = TIFFTileSize(t);
        size_t need = (size_t)tw * th * spp_block * bs;
        if (tsz <= 0 || (size_t)tsz < need)
            return tiff_fail(path, m, GAD_EFORMAT, "bad tile size", err);
        if ((uint64_t)tsz > max_buf)
            return gad_err_set(err, GAD_ELIMIT, "%s: TIFF: a %u x %u tile of %lld bytes exceeds the limit of %llu",
                               path, tw, th, (long long)tsz, (unsigned long long)max_buf);
        unsigned char *buf = malloc((size_t)tsz);
        if (!buf) return gad_err_set(err, GAD_ENOMEM, "%s: out of memory for a tile", path);
        for (int p = 0; p < nplanes && !rc; p++)
            for (uint32_t ty = 0; ty < (uint32_t)h && !rc; ty += th)
                for (uint32_t tx = 0; tx < (uint32_t)w && !rc; tx += tw) {
                    tmsize_t n = TIFFReadTile(t, buf, tx, ty, 0, (uint16_t)p);
                    if (n < (tmsize_t)need) {
                        char what[80];
                        snprintf(what, sizeof what, "cannot read tile at (%u, %u)", tx, ty);
                        rc = tiff_fail(path, m, GAD_EFORMAT, what, err);
                        break;
                    }
                    int cols = (int)((uint32_t)w - tx < tw ? (uint32_t)w - tx : tw);
                    int rows = (int)((uint32_t)h - ty < th ? (uint32_t)h - ty : th);
                    rc = copy_block(L, buf, (int)tw, (int)tx, (int)ty, cols, rows,
                                    L->separate ? p : -1, img, path, err);
                }
        free(buf);
        return rc;
    }
    uint32_t rps = 0;
    TIFFGetFieldDefaulted(t, TIFFTAG_ROWSPERSTRIP, &rps);
    if (rps == 0 || rps > (uint32_t)h) rps = (uint32_t)h;
    tmsize_t ssz = TIFFStripSize(t);
    if (ssz <= 0) return tiff_fail(path, m, GAD_EFORMAT, "bad strip size", err);
    if ((uint64_t)ssz > max_buf)
        return gad_err_set(err, GAD_ELIMIT, "%s: TIFF: a strip of %u rows and %lld bytes exceeds the limit of %llu",
                           path, rps, (long long)ssz, (unsigned long long)max_buf);
    unsigned char *buf = malloc((size_t)ssz);
    if (!buf) return gad_err_set(err, GAD_ENOMEM, "%s: out of memory for a strip", path);
    for (int p = 0; p < nplanes && !rc; p++)
        for (uint32_t y = 0; y < (uint32_t)h; y += rps) {
            int rows = (int)((uint32_t)h - y < rps ? (uint32_t)h - y : rps);
            size_t need = (size_t)rows * w * spp_block * bs;
            if (need > (size_t)ssz) {
                rc = tiff_fail(path, m, GAD_EFORMAT, "strip smaller than its rows", err);
                break;
            }
            tstrip_t s = TIFFComputeStrip(t, y, (uint16_t)p);
            tmsize_t n = TIFFReadEncodedStrip(t, s, buf, (tmsize_t)need);
            if (n < (tmsize_t)need) {
                char what[80];
                snprintf(what, sizeof what, "cannot read strip %u (rows %u-%u)", (unsigned)s,
                         y, y + rows - 1);
                rc = tiff_fail(path, m, GAD_EFORMAT, what, err);
                break;
            }
            rc = copy_block(L, buf, w, 0, (int)y, w, rows, L->separate ? p : -1, img, path, err);
            if (rc) break;
        }
    free(buf);
    return rc;
}

int gad_io_tiff_load(const char *path, int keep_all, int64_t max_pixels, gad_image *out,
                     gad_err *err) {
    if (max_pixels <= 0) max_pixels = GAD_DEFAULT_MAX_PIXELS;
    gad_tiff_msg m;
    /* Bound libtiff's own allocations (strip/tile buffers, offsets arrays)
     * by what the pixel limit allows, so a forged header cannot make it
     * allocate gigabytes before our checks run. */
    int64_t max_alloc = max_pixels > ((int64_t)1 << 56) ? 0 : max_pixels * 32;
    if (max_alloc && max_alloc < ((int64_t)64 << 20)) max_alloc = (int64_t)64 << 20;
    TIFF *t = gad_io_tiff_open(path, "r", max_alloc, &m);
    if (!t) return gad_err_set(err, GAD_EFORMAT, "%s: TIFF: %s", path, m.msg);
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, bps = 1, fmt = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG, photo = 0;
    int rc = 0;
    if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h)) {
        rc = tiff_fail(path, &m, GAD_EFORMAT, "missing image size", err);
        goto done;
    }
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &planar);
    if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photo))
        photo = spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    tiff_layout L = {0};
    L.bps = bps;
    L.spp = spp;
    L.separate = planar == PLANARCONFIG_SEPARATE;
    int ok_type = (bps == 8 || bps == 16) ? fmt == SAMPLEFORMAT_UINT
                                          : (bps == 32 && fmt == SAMPLEFORMAT_IEEEFP);
    L.is_float = bps == 32;
    if (keep_all) {
        if (!(bps == 32 && fmt == SAMPLEFORMAT_IEEEFP)) {
            rc = gad_err_set(err, GAD_EUNSUPPORTED,
                             "%s: TIFF: expected 32-bit float samples, found %u-bit format %u",
                             path, bps, fmt);
            goto done;
        }
        L.nout = spp;
    } else {
        if (!ok_type) {
            rc = gad_err_set(err, GAD_EUNSUPPORTED,
                             "%s: TIFF: %u-bit samples of format %u are not supported "
                             "(8/16-bit unsigned or 32-bit float only)",
                             path, bps, fmt);
            goto done;
        }
        if (photo == PHOTOMETRIC_MINISBLACK || photo == PHOTOMETRIC_MINISWHITE) {
            L.nout = 1;
            L.invert = photo == PHOTOMETRIC_MINISWHITE;
            if (L.invert && L.is_float) {
                rc = gad_err_set(err, GAD_EUNSUPPORTED,
                                 "%s: TIFF: white-is-zero float images are not supported", path);
                goto done;
            }
        } else if (photo == PHOTOMETRIC_RGB) {
            L.nout = 3;
        } else {
            rc = gad_err_set(err, GAD_EUNSUPPORTED,
                             "%s: TIFF: photometric interpretation %u is not supported "
                             "(gray or RGB only)",
                             path, photo);
            goto done;
        }
        L.check_finite = L.is_float;
    }
    if (spp < L.nout || spp == 0) {
        rc = gad_err_set(err, GAD_EFORMAT, "%s: TIFF: %u samples per pixel for %d channels",
                         path, spp, L.nout);
        goto done;
    }
    rc = gad_io_image_alloc(path, w, h, L.nout, max_pixels, out, err);
    if (rc) goto done;
    rc = read_pixels(t, &L, out, path, &m, max_alloc ? (uint64_t)max_alloc : UINT64_MAX, err);
done:
    TIFFClose(t);
    if (rc) {
        free(out->data);
        out->data = NULL;
    }
    return rc;
}
