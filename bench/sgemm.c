/* sgemm — the machine's single-precision GEMM rate through oneDNN, the
 * yardstick the IG figures are read against, and the bf16 GEMM rate next to
 * it (what --precision bf16 could reach at best on this CPU).
 *
 *   sgemm [N [REPEATS]]   (N = 2048, REPEATS = 5)
 *
 * Multiplies square N x N matrices with dnnl_sgemm on 1 thread and on every
 * core (omp_get_num_procs) and prints one JSON line with the best GFLOP/s of
 * REPEATS runs each (2 N^3 flops a run; one untimed warm-up run first so
 * that oneDNN's JIT and first-touch page faults are not timed).
 *
 * The same product with bf16 A and B and f32 C goes through oneDNN's matmul
 * primitive: oneDNN 2.6 exports no dnnl_gemm_bf16bf16f32 in its C API (only
 * sgemm and the int8 gemms), and matmul with plain row-major (ab) operands
 * is that GEMM. The inputs are rounded to bf16 once, before any timing; the
 * primitive is created for each thread count before its warm-up run (oneDNN
 * sizes its blocking by the thread count at creation). */
#include <dnnl.h>
#include <dnnl_debug.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double best_gflops(int threads, long n, int repeats, const float *a, const float *b, float *c)
{
    omp_set_num_threads(threads);
    double best = 0.0;
    for (int r = -1; r < repeats; r++) {
        double t0 = omp_get_wtime();
        if (dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n) != dnnl_success)
            return -1.0;
        double dt = omp_get_wtime() - t0;
        double g = 2.0 * (double)n * (double)n * (double)n / dt / 1e9;
        if (r >= 0 && g > best)
            best = g;
    }
    return best;
}

/* float -> bf16, round to nearest even (the top 16 bits of the f32 pattern,
 * rounded on the 16 dropped bits); the inputs here are finite. */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* bf16 x bf16 -> f32 GEMM through a matmul primitive on THREADS threads;
 * best GFLOP/s of REPEATS runs after one warm-up, or -1 with the failing call
 * in *what and its status in *why, or -2 when oneDNN has no bf16 matmul for
 * this CPU (an answer: the f32 yardstick still stands). *impl receives
 * oneDNN's implementation name. */
static double best_bf16_gflops(int threads, long n, int repeats, uint16_t *a, uint16_t *b, float *c,
                               const char **what, dnnl_status_t *why, char *impl, size_t impl_size)
{
    omp_set_num_threads(threads);
    dnnl_engine_t eng = NULL;
    dnnl_stream_t strm = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t ma = NULL, mb = NULL, mc = NULL;
    double best = -1.0;
    dnnl_dims_t dims = {n, n};
    dnnl_memory_desc_t da, db, dc;
    dnnl_matmul_desc_t md;
    const char *name = NULL;
#define TRY(call)                                \
    do {                                         \
        if ((*why = (call)) != dnnl_success) {   \
            *what = #call;                       \
            goto done;                           \
        }                                        \
    } while (0)
    TRY(dnnl_engine_create(&eng, dnnl_cpu, 0));
    TRY(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    TRY(dnnl_memory_desc_init_by_tag(&da, 2, dims, dnnl_bf16, dnnl_ab));
    TRY(dnnl_memory_desc_init_by_tag(&db, 2, dims, dnnl_bf16, dnnl_ab));
    TRY(dnnl_memory_desc_init_by_tag(&dc, 2, dims, dnnl_f32, dnnl_ab));
    TRY(dnnl_matmul_desc_init(&md, &da, &db, NULL, &dc));
    if ((*why = dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL)) == dnnl_unimplemented) {
        best = -2.0;
        goto done;
    }
    if (*why != dnnl_success) {
        *what = "dnnl_primitive_desc_create (bf16 matmul)";
        goto done;
    }
    TRY(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name));
    snprintf(impl, impl_size, "%s", name ? name : "?");
    TRY(dnnl_primitive_create(&prim, pd));
    TRY(dnnl_memory_create(&ma, &da, eng, a));
    TRY(dnnl_memory_create(&mb, &db, eng, b));
    TRY(dnnl_memory_create(&mc, &dc, eng, c));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    double top = 0.0;
    for (int r = -1; r < repeats; r++) {
        double t0 = omp_get_wtime();
        TRY(dnnl_primitive_execute(prim, strm, 3, args));
        TRY(dnnl_stream_wait(strm));
        double g = 2.0 * (double)n * (double)n * (double)n / (omp_get_wtime() - t0) / 1e9;
        if (r >= 0 && g > top)
            top = g;
    }
    best = top;
#undef TRY
done:
    dnnl_memory_destroy(ma), dnnl_memory_destroy(mb), dnnl_memory_destroy(mc);
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    dnnl_stream_destroy(strm);
    dnnl_engine_destroy(eng);
    return best;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2048;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (n < 1 || n > 32768 || repeats < 1) {
        fprintf(stderr, "usage: sgemm [N [REPEATS]]\n");
        return 2;
    }
    size_t count = (size_t)n * (size_t)n;
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b), *c = malloc(count * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "sgemm: out of memory for N = %ld\n", n);
        free(a), free(b), free(c);
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        a[i] = (float)((i * 7u) % 13u) / 13.0f - 0.5f;
        b[i] = (float)((i * 5u) % 11u) / 11.0f - 0.5f;
        c[i] = 0.0f;
    }
    int nproc = omp_get_num_procs();
    double g1 = best_gflops(1, n, repeats, a, b, c);
    double gn = best_gflops(nproc, n, repeats, a, b, c);
    if (g1 < 0 || gn < 0) {
        fprintf(stderr, "sgemm: dnnl_sgemm failed\n");
        free(a), free(b), free(c);
        return 1;
    }
    /* The same A and B rounded to bf16, so both GEMMs multiply the same matrices. */
    uint16_t *a16 = malloc(count * sizeof *a16), *b16 = malloc(count * sizeof *b16);
    if (!a16 || !b16) {
        fprintf(stderr, "sgemm: out of memory for the bf16 copies, N = %ld\n", n);
        free(a), free(b), free(c), free(a16), free(b16);
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        a16[i] = to_bf16(a[i]);
        b16[i] = to_bf16(b[i]);
    }
    const char *what = "";
    dnnl_status_t why = dnnl_success;
    char impl1[128] = "", impln[128] = "";
    double h1 = best_bf16_gflops(1, n, repeats, a16, b16, c, &what, &why, impl1, sizeof impl1);
    double hn = h1 < 0 ? h1 : best_bf16_gflops(nproc, n, repeats, a16, b16, c, &what, &why, impln, sizeof impln);
    free(a), free(b), free(c), free(a16), free(b16);
    if (h1 == -2.0 || hn == -2.0) {
        printf("{\"n\": %ld, \"repeats\": %d, \"threads\": %d, \"gflops_1\": %.2f, \"gflops_n\": %.2f, "
               "\"bf16_unsupported\": \"oneDNN has no bf16 matmul for this CPU\"}\n", n, repeats, nproc, g1, gn);
        return 0;
    }
    if (h1 < 0 || hn < 0) {
        fprintf(stderr, "sgemm: bf16 matmul: %s failed: %s\n", what, dnnl_status2str(why));
        return 1;
    }
    printf("{\"n\": %ld, \"repeats\": %d, \"threads\": %d, \"gflops_1\": %.2f, \"gflops_n\": %.2f, "
           "\"bf16_gflops_1\": %.2f, \"bf16_gflops_n\": %.2f, \"bf16_impl\": \"%s\"}\n",
           n, repeats, nproc, g1, gn, h1, hn, impln);
    return 0;
}
