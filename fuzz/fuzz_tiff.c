/* libFuzzer harness: bytes -> the TIFF reader, both ways it is used:
 * gad_image_load (8/16-bit and float gray/RGB, NaN refused) and
 * gad_tiff_read_float (float32, every sample kept). */
#define _GNU_SOURCE
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[64];
    int fd = fuzz_memfd(data, size, path, sizeof path);
    if (fd < 0) return 0;
    for (int keep_all = 0; keep_all < 2; keep_all++) {
        gad_err e;
        gad_image img = {0};
        gad_io_tiff_load(path, keep_all, FUZZ_MAX_PIXELS, &img, &e);
        free(img.data);
    }
    close(fd);
    return 0;
}
