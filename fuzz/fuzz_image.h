/* Shared by the image harnesses: the loaders under test read files, so the
 * bytes are handed over as an in-memory file (memfd) reached by its
 * /proc/self/fd path — no disk I/O, nothing left behind. */
#ifndef GAD_FUZZ_IMAGE_H
#define GAD_FUZZ_IMAGE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gad/gad.h"

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

#endif
