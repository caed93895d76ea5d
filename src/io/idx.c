/* IDX reader (MNIST, Fashion-MNIST): a big-endian header of magic and dims,
 * then unsigned bytes. zlib's gz* functions read gzip and plain files alike. */
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "gad/gad.h"

/* Open, check the magic (type 0x08 = unsigned byte, `nd` dims) and read dims. */
static int open_idx(const char *path, int nd, uint32_t *dims, gzFile *out, gad_err *err) {
    gzFile f = gzopen(path, "rb");
    if (!f) return gad_err_set(err, GAD_EIO, "%s: cannot open IDX file", path);
    unsigned char hdr[4 + 4 * 3];
    int want = 4 + 4 * nd;
    if (gzread(f, hdr, (unsigned)want) != want) {
        gzclose(f);
        return gad_err_set(err, GAD_EFORMAT, "%s: truncated IDX header", path);
    }
    if (hdr[0] || hdr[1] || hdr[2] != 0x08 || hdr[3] != nd) {
        gzclose(f);
        return gad_err_set(err, GAD_EFORMAT, "%s: not an IDX file of unsigned bytes with %d dims", path, nd);
    }
    for (int i = 0; i < nd; i++)
        dims[i] = (uint32_t)hdr[4 + 4 * i] << 24 | (uint32_t)hdr[5 + 4 * i] << 16 | (uint32_t)hdr[6 + 4 * i] << 8 |
                  hdr[7 + 4 * i];
    *out = f;
    return 0;
}

int gad_idx_load_images(const char *path, int max, float **data, int *n, int *h, int *w, gad_err *err) {
    uint32_t dims[3] = {0};
    gzFile f = NULL; /* set by open_idx on success (initialised for gcc's -O3 flow analysis) */
    *data = NULL;
    int rc = open_idx(path, 3, dims, &f, err);
    if (rc) return rc;
    if (dims[1] == 0 || dims[2] == 0 || dims[1] > 65536 || dims[2] > 65536 || dims[0] > (1u << 26)) {
        gzclose(f);
        return gad_err_set(err, GAD_ELIMIT, "%s: implausible IDX dims %u x %u x %u", path, dims[0], dims[1], dims[2]);
    }
    size_t count = dims[0], px = (size_t)dims[1] * dims[2];
    if (max > 0 && (size_t)max < count) count = (size_t)max;
    /* The header's count is only a claim (the data may be gzip'd, so the
     * file size says nothing): the buffer grows with the bytes actually
     * read, and the float copy is made once they are all there. */
    size_t need = count * px, got = 0, cap = 0;
    unsigned char *buf = NULL;
    while (got < need) {
        if (got == cap) {
            size_t nc = cap ? cap * 2 : ((size_t)1 << 20);
            if (nc > need) nc = need;
            unsigned char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                gzclose(f);
                return gad_err_set(err, GAD_ENOMEM, "%s: out of memory for %zu images", path, count);
            }
            buf = nb;
            cap = nc;
        }
        size_t part = cap - got > (1u << 30) ? (1u << 30) : cap - got;
        int r = gzread(f, buf + got, (unsigned)part);
        if (r <= 0) break;
        got += (size_t)r;
    }
    gzclose(f);
    if (got != need) {
        free(buf);
        return gad_err_set(err, GAD_EFORMAT, "%s: truncated IDX data (%zu of %zu bytes)", path, got, need);
    }
    float *out = malloc((need ? need : 1) * sizeof *out);
    if (!out) {
        free(buf);
        return gad_err_set(err, GAD_ENOMEM, "%s: out of memory for %zu images", path, count);
    }
    for (size_t i = 0; i < count * px; i++) out[i] = buf[i] / 255.0f;
    free(buf);
    *data = out;
    *n = (int)count;
    *h = (int)dims[1];
    *w = (int)dims[2];
    return 0;
}

int gad_idx_load_labels(const char *path, int max, int **labels, int *n, gad_err *err) {
    uint32_t dims[1] = {0};
    gzFile f = NULL;
    *labels = NULL;
    int rc = open_idx(path, 1, dims, &f, err);
    if (rc) return rc;
    if (dims[0] > (1u << 26)) {
        gzclose(f);
        return gad_err_set(err, GAD_ELIMIT, "%s: implausible IDX label count %u", path, dims[0]);
    }
    size_t count = dims[0];
    if (max > 0 && (size_t)max < count) count = (size_t)max;
    unsigned char *buf = malloc(count ? count : 1);
    int *out = malloc((count ? count : 1) * sizeof *out);
    int r = buf && out ? gzread(f, buf, (unsigned)count) : -1;
    gzclose(f);
    if (r != (int)count) {
        free(buf);
        free(out);
        return gad_err_set(err, r < 0 ? GAD_ENOMEM : GAD_EFORMAT, "%s: cannot read %zu labels", path, count);
    }
    for (size_t i = 0; i < count; i++) out[i] = buf[i];
    free(buf);
    *labels = out;
    *n = (int)count;
    return 0;
}
