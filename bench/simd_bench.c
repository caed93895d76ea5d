/* simd_bench — each gad_simd kernel's memory throughput against memcpy.
 *
 *   simd_bench [MB [REPEATS]]   (MB = 64 per float array, REPEATS = 10)
 *
 * Every array is MB megabytes, far beyond L2, so the kernels run at memory
 * speed, which is what bounds them in the attribution loop. A kernel's bytes
 * are what it must read plus what it writes (an in-place array counts twice),
 * and memcpy is timed copying the same number of bytes (half read, half
 * written), so the ratio says how close each kernel comes to a plain copy.
 * Best of REPEATS timed runs after one untimed run, kernel and memcpy
 * alternating; one thread, the table the
 * CPU picks (GAD_SIMD=scalar measures the C twins). Prints one JSON line. */
#include <gad/simd.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ACC_CHUNK = 4 };

typedef struct bufs {
    size_t n;
    float *a, *b, *c, *d, *grads;
    uint8_t *m1, *m2;
    float w[ACC_CHUNK];
    const float *maps[3];
} bufs;

typedef void (*kernel_fn)(bufs *s);

static void k_accumulate(bufs *s) { gad_simd_accumulate(s->a, s->grads, s->w, ACC_CHUNK, s->n); }
static void k_ig_finish(bufs *s) { gad_simd_ig_finish(s->d, s->a, s->b, s->c, 0.5f, s->n); }
static void k_mul(bufs *s) { gad_simd_mul(s->c, s->a, s->b, s->n); }
static void k_abs(bufs *s) { gad_simd_abs(s->b, s->a, s->n); }
static void k_acc_sq(bufs *s) { gad_simd_accumulate_sq(s->a, s->b, s->c, s->n); }
static void k_scale(bufs *s) { gad_simd_scale(s->b, s->a, 0.5f, s->n); }
static void k_reduce(bufs *s) { gad_simd_reduce_channels(s->b, s->a, 3, s->n / 3, GAD_REDUCE_MEAN); }
static void k_minmax(bufs *s)
{
    float mn, mx;
    gad_simd_minmax(s->a, s->n, &mn, &mx);
    if (mn > mx)
        s->a[0] = 0.0f; /* keeps the call from being optimised away */
}
static void k_absmax(bufs *s)
{
    if (gad_simd_absmax(s->a, s->n) < 0.0f)
        s->a[0] = 0.0f;
}
static void k_percentile(bufs *s)
{
    if (gad_simd_percentile(s->a, s->n, 99.0, 1, s->b) < -1.0f)
        s->a[0] = 0.0f;
}
static void k_threshold(bufs *s)
{
    if (gad_simd_threshold_mask(s->m1, s->a, 0.5f, s->n) > s->n)
        s->a[0] = 0.0f;
}
static void k_votes(bufs *s) { gad_simd_count_votes(s->m2, s->m1, s->n); }
static void k_fuse(bufs *s) { gad_simd_fuse_mean(s->d, s->maps, 3, s->m2, 1, s->n); }

typedef struct kernel {
    const char *name;
    kernel_fn fn;
    double bytes_per_elem; /* read + written */
    const char *what;
} kernel;

static const kernel KERNELS[] = {
    {"accumulate", k_accumulate, 4.0 * (2 + ACC_CHUNK), "acc r/w + 4 gradient rows"},
    {"ig_finish", k_ig_finish, 16.0, "x, baseline, acc read, out written"},
    {"mul", k_mul, 12.0, "2 read, 1 written"},
    {"abs", k_abs, 8.0, "1 read, 1 written"},
    {"accumulate_sq", k_acc_sq, 20.0, "acc, acc_sq r/w, g read"},
    {"scale", k_scale, 8.0, "1 read, 1 written"},
    {"reduce_channels", k_reduce, 4.0 * 4 / 3, "3 planes read, 1 written (per input float)"},
    {"minmax", k_minmax, 4.0, "1 read"},
    {"absmax", k_absmax, 4.0, "1 read"},
    {"percentile", k_percentile, 4.0, "1 read (what it must read; the band copied to scratch, ~1-7 % of n, and the in-cache passes over it not counted)"},
    {"threshold_mask", k_threshold, 5.0, "floats read, bytes written"},
    {"count_votes", k_votes, 3.0, "mask read, votes read and written (bytes)"},
    {"fuse_mean", k_fuse, 4.0 * 4 + 1, "3 maps + votes read, out written"},
};

static double now_run(void (*fn)(bufs *), bufs *s)
{
    double t0 = omp_get_wtime();
    fn(s);
    return omp_get_wtime() - t0;
}

static uint8_t *g_src, *g_dst;
static size_t g_copy;
static void do_memcpy(bufs *s)
{
    (void)s;
    memcpy(g_dst, g_src, g_copy);
}

/* Kernel and memcpy alternate, so that both see the same spells of
 * interference from other work on a shared machine; best of each. */
static void best_pair(void (*fn)(bufs *), bufs *s, int repeats, double *tk, double *tm)
{
    *tk = *tm = 1e30;
    for (int r = -1; r < repeats; r++) {
        double a = now_run(fn, s), b = now_run(do_memcpy, s);
        if (r >= 0 && a < *tk)
            *tk = a;
        if (r >= 0 && b < *tm)
            *tm = b;
    }
}

int main(int argc, char **argv)
{
    long mb = argc > 1 ? atol(argv[1]) : 64;
    int repeats = argc > 2 ? atoi(argv[2]) : 10;
    if (mb < 1 || mb > 4096 || repeats < 1) {
        fprintf(stderr, "usage: simd_bench [MB [REPEATS]]\n");
        return 2;
    }
    bufs s;
    memset(&s, 0, sizeof s);
    s.n = (size_t)mb * 1024 * 1024 / sizeof(float);
    s.n -= s.n % 3;
    size_t fb = s.n * sizeof(float);
    s.a = malloc(fb), s.b = malloc(fb), s.c = malloc(fb), s.d = malloc(fb);
    s.grads = malloc(fb * ACC_CHUNK);
    s.m1 = malloc(s.n), s.m2 = malloc(s.n);
    size_t max_bytes = fb * (2 + ACC_CHUNK) + fb;
    g_src = malloc(max_bytes), g_dst = malloc(max_bytes);
    if (!s.a || !s.b || !s.c || !s.d || !s.grads || !s.m1 || !s.m2 || !g_src || !g_dst) {
        fprintf(stderr, "simd_bench: out of memory for %ld MB arrays\n", mb);
        return 1;
    }
    uint32_t x = 12345u;
    for (size_t i = 0; i < s.n; i++) {
        x = x * 1664525u + 1013904223u;
        float v = (float)(x >> 8) / 16777216.0f - 0.5f;
        s.a[i] = v, s.b[i] = -v, s.c[i] = 0.25f * v, s.d[i] = 0.0f;
        s.m1[i] = (uint8_t)(x >> 31), s.m2[i] = 0;
    }
    for (size_t i = 0; i < s.n * ACC_CHUNK; i++)
        s.grads[i] = (float)(i % 17) * 0.01f;
    memset(g_src, 1, max_bytes);
    memset(g_dst, 0, max_bytes);
    for (int j = 0; j < ACC_CHUNK; j++)
        s.w[j] = 0.25f;
    s.maps[0] = s.a, s.maps[1] = s.b, s.maps[2] = s.c;

    omp_set_num_threads(1);
    printf("{\"isa\": \"%s\", \"array_mb\": %ld, \"repeats\": %d, \"kernels\": [", gad_simd_name(), mb, repeats);
    size_t nk = sizeof KERNELS / sizeof KERNELS[0];
    for (size_t k = 0; k < nk; k++) {
        const kernel *kk = &KERNELS[k];
        double bytes = kk->bytes_per_elem * (double)s.n;
        /* memcpy moving the same bytes: bytes/2 read and bytes/2 written. */
        g_copy = (size_t)(bytes / 2);
        double t, tm;
        best_pair(kk->fn, &s, repeats, &t, &tm);
        double gbs = bytes / t / 1e9, gbs_m = 2.0 * (double)g_copy / tm / 1e9;
        printf("%s{\"kernel\": \"%s\", \"bytes\": %.0f, \"seconds\": %.6f, \"gb_s\": %.2f, "
               "\"memcpy_gb_s\": %.2f, \"ratio\": %.3f, \"bytes_model\": \"%s\"}",
               k ? ", " : "", kk->name, bytes, t, gbs, gbs_m, gbs / gbs_m, kk->what);
    }
    printf("]}\n");
    free(s.a), free(s.b), free(s.c), free(s.d), free(s.grads), free(s.m1), free(s.m2);
    free(g_src), free(g_dst);
    return 0;
}
