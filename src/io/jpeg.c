/* JPEG reading through libjpeg(-turbo). libjpeg's default error handler
 * calls exit() and its warnings go to stderr; here errors longjmp back and
 * warnings that mean damaged data (truncation, corrupt entropy-coded data)
 * become errors too, so a cut file never comes back as a half-grey image. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "gad/gad.h"
#include "io/image_internal.h"

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub; /* first: libjpeg hands us a pointer to it */
    jmp_buf jmp;
    struct jpeg_decompress_struct cinfo;
    int created;
    JSAMPLE *row;
    char msg[JMSG_LENGTH_MAX + 32];
    int code;
    const char *path;
    gad_err *err;
} jpeg_ctx;

static void jpeg_on_error(j_common_ptr ci) {
    jpeg_ctx *c = (jpeg_ctx *)ci->err;
    if (!c->msg[0]) (*ci->err->format_message)(ci, c->msg);
    longjmp(c->jmp, 1);
}

static int warning_is_damage(int code) {
    switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION:
        return 1;
    default:
        return 0;
    }
}

/* level -1 is a warning, >= 0 trace output: nothing reaches stderr. */
static void jpeg_on_message(j_common_ptr ci, int level) {
    if (level >= 0) return;
    ci->err->num_warnings++;
    if (warning_is_damage(ci->err->msg_code)) jpeg_on_error(ci);
}

static void jpeg_silent_output(j_common_ptr ci) { (void)ci; }

static int jpeg_read_body(jpeg_ctx *c, FILE *f, int64_t max_pixels, gad_image *img) {
    if (setjmp(c->jmp)) return c->code ? c->code : GAD_EFORMAT;
    jpeg_create_decompress(&c->cinfo);
    c->created = 1;
    jpeg_stdio_src(&c->cinfo, f);
    jpeg_read_header(&c->cinfo, TRUE);
    J_COLOR_SPACE cs = c->cinfo.jpeg_color_space;
    if (cs == JCS_CMYK || cs == JCS_YCCK) {
        snprintf(c->msg, sizeof c->msg, "CMYK JPEG is not supported (convert it to RGB)");
        c->code = GAD_EUNSUPPORTED;
        return c->code;
    }
    int ch;
    if (cs == JCS_GRAYSCALE && c->cinfo.num_components == 1) {
        ch = 1;
        c->cinfo.out_color_space = JCS_GRAYSCALE;
    } else if ((cs == JCS_YCbCr || cs == JCS_RGB) && c->cinfo.num_components == 3) {
        ch = 3;
        c->cinfo.out_color_space = JCS_RGB;
    } else {
        snprintf(c->msg, sizeof c->msg, "unsupported JPEG colour space (%d, %d components)",
                 (int)cs, c->cinfo.num_components);
        c->code = GAD_EUNSUPPORTED;
        return c->code;
    }
    int rc = gad_io_image_alloc(c->path, c->cinfo.image_width, c->cinfo.image_height, ch,
                                max_pixels, img, c->err);
    if (rc) {
        c->code = rc;
        c->msg[0] = 0;
        return rc;
    }
    jpeg_start_decompress(&c->cinfo);
    int w = (int)c->cinfo.output_width, h = (int)c->cinfo.output_height;
    if (w != img->w || h != img->h || c->cinfo.output_components != ch) {
        snprintf(c->msg, sizeof c->msg, "decoder output does not match the header");
        c->code = GAD_EFORMAT;
        return c->code;
    }
    c->row = malloc((size_t)w * ch);
    if (!c->row) {
        snprintf(c->msg, sizeof c->msg, "out of memory");
        c->code = GAD_ENOMEM;
        return c->code;
    }
    size_t plane = (size_t)w * h;
    while (c->cinfo.output_scanline < c->cinfo.output_height) {
        int y = (int)c->cinfo.output_scanline;
        JSAMPROW rp = c->row;
        if (jpeg_read_scanlines(&c->cinfo, &rp, 1) != 1) {
            snprintf(c->msg, sizeof c->msg, "decoder stopped at row %d", y);
            c->code = GAD_EFORMAT;
            return c->code;
        }
        for (int x = 0; x < w; x++)
            for (int k = 0; k < ch; k++)
                img->data[k * plane + (size_t)y * w + x] = (float)c->row[x * ch + k] / 255.0f;
    }
    /* Reads up to EOI, so a file cut inside the last scan is noticed. */
    jpeg_finish_decompress(&c->cinfo);
    return 0;
}

int gad_io_jpeg_load(const char *path, FILE *f, int64_t max_pixels, gad_image *out,
                     gad_err *err) {
    jpeg_ctx *c = calloc(1, sizeof *c);
    if (!c) return gad_err_set(err, GAD_ENOMEM, "%s: out of memory", path);
    c->path = path;
    c->err = err;
    c->cinfo.err = jpeg_std_error(&c->pub);
    c->pub.error_exit = jpeg_on_error;
    c->pub.emit_message = jpeg_on_message;
    c->pub.output_message = jpeg_silent_output;
    int rc = jpeg_read_body(c, f, max_pixels, out);
    if (c->created) jpeg_destroy_decompress(&c->cinfo);
    free(c->row);
    if (rc) {
        free(out->data);
        out->data = NULL;
        if (c->msg[0]) gad_err_set(err, rc, "%s: JPEG: %s", path, c->msg);
    }
    free(c);
    return rc;
}
