/* Shared by the image harnesses: the bytes reach the readers in memory
 * (fmemopen for the stream readers; a memfd reached by its /proc/self/fd
 * path for libtiff, which opens by name): no disk I/O, nothing left behind. */
#ifndef GAD_FUZZ_IMAGE_H
#define GAD_FUZZ_IMAGE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gad/gad.h"
#include "io/image_internal.h"

/* 4 Mpixel cap: a forged header may ask for more, which must be refused
 * (the check under test), but an honest 4 Mpixel image stays well under
 * libFuzzer's -rss_limit_mb. */
#define FUZZ_MAX_PIXELS ((int64_t)1 << 22)

static inline int fuzz_memfd(const uint8_t *data, size_t size, char *path, size_t n) {
    int fd = memfd_create("fuzz", 0);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    snprintf(path, n, "/proc/self/fd/%d", fd);
    return fd;
}

/* Stream readers (PNG, JPEG) read from a FILE: fmemopen suffices. */
typedef int (*fuzz_stream_loader)(const char *path, FILE *f, int64_t max_pixels, gad_image *out,
                                  gad_err *err);
static inline int fuzz_stream(const uint8_t *data, size_t size, const char *name, fuzz_stream_loader load) {
    if (!size) return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) return 0;
    gad_err e;
    gad_image img = {0};
    load(name, f, FUZZ_MAX_PIXELS, &img, &e);
    free(img.data); /* the reader may leave it allocated on error; gad_image_load frees it */
    fclose(f);
    return 0;
}

#endif
