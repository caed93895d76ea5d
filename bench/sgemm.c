/* sgemm — the machine's single-precision GEMM rate through oneDNN, the
 * yardstick the IG figures are read against.
 *
 *   sgemm [N [REPEATS]]   (N = 2048, REPEATS = 5)
 *
 * Multiplies square N x N matrices with dnnl_sgemm on 1 thread and on every
 * core (omp_get_num_procs) and prints one JSON line with the best GFLOP/s of
 * REPEATS runs each (2 N^3 flops a run; one untimed warm-up run first so
 * that oneDNN's JIT and first-touch page faults are not timed). */
#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

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
    free(a), free(b), free(c);
    if (g1 < 0 || gn < 0) {
        fprintf(stderr, "sgemm: dnnl_sgemm failed\n");
        return 1;
    }
    printf("{\"n\": %ld, \"repeats\": %d, \"threads\": %d, \"gflops_1\": %.2f, \"gflops_n\": %.2f}\n", n,
           repeats, nproc, g1, gn);
    return 0;
}
