/* libFuzzer harness: bytes -> the JPEG reader. */
#define _GNU_SOURCE
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_stream(data, size, "fuzz.jpg", gad_io_jpeg_load); }
