/* PNG reading through libpng. libpng reports errors by
 * longjmp; each setjmp lives in a small function whose caller owns every
 * resource through a context struct, so nothing modified after setjmp is a
 * local of the function that called it. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "gad/gad.h"
#include "io/image_internal.h"

typedef struct png_ctx {
    const char *path;
    png_structp png;
    png_infop info;
    unsigned char *buf;
    png_bytep *rows;
    char msg[200];
    char warning[120]; /* last warning: often the reason behind a terse error */
    int code; /* gad code when we raised the error ourselves */
    gad_err *err;
} png_ctx;

static void png_on_error(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    if (!c->msg[0]) snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

/* Warnings (bad sRGB profiles, unknown chunks) are not printed; the last
 * one is kept to explain a following error such as "Invalid IHDR data". */
static void png_on_warning(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->warning, sizeof c->warning, "%s", msg ? msg : "");
}

static int png_read_body(png_ctx *c, FILE *f, int64_t max_pixels, gad_image *img) {
    if (setjmp(png_jmpbuf(c->png))) return c->code ? c->code : GAD_EFORMAT;
    png_init_io(c->png, f);
    /* Our own max_pixels check decides; lift libpng's 1e6 x 1e6 cap only
     * as far as int allows. */
    png_set_user_limits(c->png, 0x7fffffff, 0x7fffffff);
    png_read_info(c->png, c->info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(c->png, c->info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    int ch = (ctype & PNG_COLOR_MASK_COLOR) ? 3 : 1;
    int rc = gad_io_image_alloc(c->path, w, h, ch, max_pixels, img, c->err);
    if (rc) {
        c->code = rc;
        c->msg[0] = 0;
        return rc;
    }
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(c->png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(c->png);
    /* Alpha is dropped. png_set_palette_to_rgb also turns a tRNS chunk into
     * an alpha channel, so images with tRNS need the strip as well. */
    if ((ctype & PNG_COLOR_MASK_ALPHA) || png_get_valid(c->png, c->info, PNG_INFO_tRNS))
        png_set_strip_alpha(c->png);
    png_set_interlace_handling(c->png);
    png_read_update_info(c->png, c->info);
    int outch = png_get_channels(c->png, c->info);
    int outdepth = png_get_bit_depth(c->png, c->info);
    size_t rowbytes = png_get_rowbytes(c->png, c->info);
    if (outch != ch || (outdepth != 8 && outdepth != 16) ||
        rowbytes != (size_t)w * ch * (outdepth / 8)) {
        snprintf(c->msg, sizeof c->msg, "unexpected layout after conversion (%d channels, %d bits)",
                 outch, outdepth);
        c->code = GAD_EUNSUPPORTED;
        return c->code;
    }
    c->buf = malloc(rowbytes * h);
    c->rows = malloc(sizeof(png_bytep) * h);
    if (!c->buf || !c->rows) {
        snprintf(c->msg, sizeof c->msg, "out of memory");
        c->code = GAD_ENOMEM;
        return c->code;
    }
    for (png_uint_32 y = 0; y < h; y++) c->rows[y] = c->buf + rowbytes * y;
    png_read_image(c->png, c->rows);
    /* A file cut after the pixels but before IEND is still a damaged file. */
    png_read_end(c->png, NULL);
    size_t plane = (size_t)w * h;
    for (png_uint_32 y = 0; y < h; y++) {
        const unsigned char *r = c->rows[y];
        for (png_uint_32 x = 0; x < w; x++)
            for (int k = 0; k < ch; k++) {
                float v;
                if (outdepth == 16) {
                    const unsigned char *p = r + ((size_t)x * ch + k) * 2;
                    v = (float)((p[0] << 8) | p[1]) / 65535.0f;
                } else {
                    v = (float)r[(size_t)x * ch + k] / 255.0f;
                }
                img->data[k * plane + (size_t)y * w + x] = v;
            }
    }
    return 0;
}

int gad_io_png_load(const char *path, FILE *f, int64_t max_pixels, gad_image *out,
                    gad_err *err) {
    png_ctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.err = err;
    c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_on_error, png_on_warning);
    if (!c.png) return gad_err_set(err, GAD_ENOMEM, "%s: cannot initialise libpng", path);
    c.info = png_create_info_struct(c.png);
    int rc;
    if (!c.info) {
        snprintf(c.msg, sizeof c.msg, "out of memory");
        rc = GAD_ENOMEM;
    } else {
        rc = png_read_body(&c, f, max_pixels, out);
    }
    png_destroy_read_struct(&c.png, c.info ? &c.info : NULL, NULL);
    free(c.buf);
    free(c.rows);
    if (rc) {
        free(out->data);
        out->data = NULL;
        if (c.msg[0]) {
            const char *why = c.msg;
            if (!strcmp(why, "Read Error")) why = "truncated file (Read Error)";
            if (c.warning[0])
                gad_err_set(err, rc, "%s: PNG: %s (%s)", path, why, c.warning);
            else
                gad_err_set(err, rc, "%s: PNG: %s", path, why);
        }
        return rc;
    }
    return 0;
}
