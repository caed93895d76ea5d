/* libFuzzer harness: bytes -> the JPEG reader. */
#define _GNU_SOURCE
#include "fuzz_image.h"

#include <stdlib.h>

#include "io/image_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) return 0;
    gad_err e;
    gad_image img = {0};
    gad_io_jpeg_load("fuzz.jpg", f, FUZZ_MAX_PIXELS, &img, &e);
    free(img.data); /* the reader may leave it allocated on error; gad_image_load frees it */
    fclose(f);
    return 0;
}
