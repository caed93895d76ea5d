/* libFuzzer harness: bytes -> the ONNX loader (in memory, no file I/O).
 * A model that loads is also given an input size when its spatial dims are
 * free, so shape inference runs on whatever graph the bytes describe. */
#include <stddef.h>
#include <stdint.h>

#include "gad/gad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gad_err e;
    gad_model *m = NULL;
    /* 64 MB of weights: enough for every seed, small enough for -rss_limit_mb */
    gad_model_limits lim = {.max_bytes = (int64_t)64 << 20};
    if (gad_model_load_mem_ex(data, size, "fuzz.onnx", &lim, &m, &e) == 0) {
        int c, h, w;
        gad_model_input_dims(m, &c, &h, &w);
        if (!h || !w) gad_model_set_input_size(m, 16, 16, &e);
        (void)gad_model_num_classes(m);
        gad_model_free(m);
    }
    return 0;
}
