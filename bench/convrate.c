/* convrate — what oneDNN's convolutions reach on this CPU at resnet18's
 * layer shapes, in f32 (direct, Winograd, automatic choice) and in bf16.
 *
 *   convrate [REPEATS]   (REPEATS = 5)
 *
 * For each shape (the 7x7 stride-2 first convolution 3->64 at 224x224, and
 * the 3x3 stride-1 convolutions 64@56, 128@28, 256@14, 512@7), each batch
 * (mb 1, as gad runs an IG step per thread, and mb 25, the chunk the PyTorch
 * reference runs), each direction (forward_training, backward_data: an IG
 * step is one of each), each variant and each thread count (1 and every
 * core), it creates the primitive with memory format `any`, runs it once
 * untimed (JIT, first touch) and reports the fastest of at least REPEATS
 * timed runs as GFLOP/s = 2 x multiply-adds / s, with oneDNN's
 * implementation name. Each run is timed alone (the smallest, mb 1 at
 * 512@7, still takes about 2 ms) and runs continue until MIN_TOTAL_S has
 * been spent (at most MAX_RUNS): on shared cores a run that another process
 * preempts takes several times longer, and a longer sample would almost
 * always contain one.
 *
 * bf16 means bf16 src/weights/diff_dst with f32 accumulation; the output
 * (dst or diff_src) is tried in f32 and in bf16 and the faster accepted one
 * is reported, with its type. Bias is left out: a per-channel add, no
 * multiply-adds.
 *
 * A variant oneDNN has no implementation for (dnnl_unimplemented when the
 * primitive descriptor is created, e.g. Winograd on a shape or ISA it does not
 * cover) is recorded as "unsupported" with the status; any other oneDNN
 * error stops the program with a message and exit status 1.
 *
 * Prints one JSON object: the ISA oneDNN uses (dnnl_get_effective_cpu_isa),
 * whether /proc/cpuinfo lists avx512_bf16 and amx_bf16, and one row per
 * measurement. */
#include <dnnl.h>
#include <dnnl_debug.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_TOTAL_S 0.2
#define MAX_RUNS 1000

typedef struct {
    const char *name;
    int ic, oc, hw, k, stride, pad;
} conv_shape;

static const conv_shape SHAPES[] = {
    {"conv1 7x7/2 3->64 @224", 3, 64, 224, 7, 2, 3},
    {"3x3 64 @56", 64, 64, 56, 3, 1, 1},
    {"3x3 128 @28", 128, 128, 28, 3, 1, 1},
    {"3x3 256 @14", 256, 256, 14, 3, 1, 1},
    {"3x3 512 @7", 512, 512, 7, 3, 1, 1},
};
static const int BATCHES[] = {1, 25};

typedef struct {
    const char *name;
    dnnl_alg_kind_t alg;
    dnnl_data_type_t in; /* src / weights / diff_dst */
} variant;

static const variant VARIANTS[] = {
    {"f32_direct", dnnl_convolution_direct, dnnl_f32},
    {"f32_winograd", dnnl_convolution_winograd, dnnl_f32},
    {"f32_auto", dnnl_convolution_auto, dnnl_f32},
    {"bf16", dnnl_convolution_direct, dnnl_bf16},
};

/* One measurement's outcome. */
typedef struct {
    int ok;                /* 1 measured, 0 unsupported */
    dnnl_status_t status;  /* why unsupported */
    double gflops;
    dnnl_data_type_t out;  /* dst / diff_src type measured */
    char impl[128];
} outcome;

static dnnl_engine_t eng;
static dnnl_stream_t strm;

/* Exit on an error that is not "no implementation": the figures would be
 * meaningless, and a half-printed JSON object must not look like a result. */
static void die(const char *what, dnnl_status_t st)
{
    fflush(stdout);
    fprintf(stderr, "\nconvrate: %s failed: %s\n", what, dnnl_status2str(st));
    exit(1);
}

#define DN(call)                                   \
    do {                                           \
        dnnl_status_t st_ = (call);                \
        if (st_ != dnnl_success) die(#call, st_);  \
    } while (0)

/* Creates the primitive descriptor of one convolution; returns the status
 * (dnnl_unimplemented is an answer, not an error). For backward_data the
 * forward descriptor of the same algorithm is the hint, as oneDNN requires;
 * it is made with the input type throughout (a bf16 forward with an f32 src
 * would be refused and hide the backward). */
static dnnl_status_t make_pd(dnnl_primitive_desc_t *pd, const conv_shape *s, int mb, int backward,
                             const variant *v, dnnl_data_type_t out)
{
    int oh = (s->hw + 2 * s->pad - s->k) / s->stride + 1;
    dnnl_dims_t sd = {mb, s->ic, s->hw, s->hw}, wd = {s->oc, s->ic, s->k, s->k}, dd = {mb, s->oc, oh, oh};
    dnnl_dims_t strides = {s->stride, s->stride}, pad = {s->pad, s->pad};
    dnnl_memory_desc_t smd, wmd, dmd;
    DN(dnnl_memory_desc_init_by_tag(&smd, 4, sd, v->in, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, v->in, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, backward ? v->in : out, dnnl_format_tag_any));
    dnnl_convolution_desc_t fd;
    DN(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, v->alg, &smd, &wmd, NULL, &dmd, strides, pad,
                                          pad));
    dnnl_primitive_desc_t fpd = NULL;
    dnnl_status_t st = dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL);
    if (st != dnnl_success || !backward) {
        *pd = fpd;
        return st;
    }
    /* backward_data: diff_dst (dmd) in, diff_src out */
    DN(dnnl_memory_desc_init_by_tag(&smd, 4, sd, out, dnnl_format_tag_any));
    dnnl_convolution_desc_t bd;
    DN(dnnl_convolution_backward_data_desc_init(&bd, v->alg, &smd, &wmd, &dmd, strides, pad, pad));
    st = dnnl_primitive_desc_create(pd, &bd, NULL, eng, fpd);
    dnnl_primitive_desc_destroy(fpd);
    return st;
}

/* A memory object of the primitive's chosen layout for argument QUERY,
 * filled with 0x3c bytes: a small normal number in both f32 and bf16, so no
 * denormal or NaN operand can change the speed. */
static dnnl_memory_t make_mem(const_dnnl_primitive_desc_t pd, dnnl_query_t query)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, query, 0);
    dnnl_memory_t m;
    void *p;
    DN(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
    DN(dnnl_memory_get_data_handle(m, &p));
    memset(p, 0x3c, dnnl_memory_desc_get_size(md));
    return m;
}

/* Best GFLOP/s of one primitive descriptor's timed runs. */
static double time_pd(const_dnnl_primitive_desc_t pd, int backward, double flops, int repeats)
{
    dnnl_primitive_t prim;
    DN(dnnl_primitive_create(&prim, pd));
    dnnl_exec_arg_t args[4];
    int nargs = 0;
    if (backward) {
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, make_mem(pd, dnnl_query_diff_dst_md)};
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, make_mem(pd, dnnl_query_weights_md)};
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, make_mem(pd, dnnl_query_diff_src_md)};
    } else {
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, make_mem(pd, dnnl_query_src_md)};
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, make_mem(pd, dnnl_query_weights_md)};
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_DST, make_mem(pd, dnnl_query_dst_md)};
    }
    /* In the default scratchpad mode each primitive allocates its own
     * scratch (e.g. Winograd's transformed tiles): nothing more to pass. */
    DN(dnnl_primitive_execute(prim, strm, nargs, args));
    DN(dnnl_stream_wait(strm));
    double best = 0.0, spent = 0.0;
    for (int r = 0; r < MAX_RUNS && (r < repeats || spent < MIN_TOTAL_S); r++) {
        double t0 = omp_get_wtime();
        DN(dnnl_primitive_execute(prim, strm, nargs, args));
        DN(dnnl_stream_wait(strm));
        double dt = omp_get_wtime() - t0;
        spent += dt;
        if (flops / dt / 1e9 > best)
            best = flops / dt / 1e9;
    }
    for (int i = 0; i < nargs; i++)
        dnnl_memory_destroy(args[i].memory);
    dnnl_primitive_destroy(prim);
    return best;
}

static outcome measure(const conv_shape *s, int mb, int backward, const variant *v, int repeats)
{
    int oh = (s->hw + 2 * s->pad - s->k) / s->stride + 1;
    double flops = 2.0 * mb * s->oc * (double)oh * oh * s->ic * s->k * s->k;
    outcome best = {0, dnnl_unimplemented, 0.0, dnnl_f32, ""};
    /* f32 variants write f32; bf16 tries both output types */
    dnnl_data_type_t outs[2] = {dnnl_f32, dnnl_bf16};
    int n_out = v->in == dnnl_bf16 ? 2 : 1;
    for (int o = 0; o < n_out; o++) {
        dnnl_primitive_desc_t pd = NULL;
        dnnl_status_t st = make_pd(&pd, s, mb, backward, v, outs[o]);
        if (st == dnnl_unimplemented) {
            if (!best.ok)
                best.status = st;
            continue;
        }
        if (st != dnnl_success)
            die("dnnl_primitive_desc_create", st);
        const char *name = NULL;
        DN(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name));
        double g = time_pd(pd, backward, flops, repeats);
        if (!best.ok || g > best.gflops) {
            best.ok = 1;
            best.gflops = g;
            best.out = outs[o];
            snprintf(best.impl, sizeof best.impl, "%s", name ? name : "?");
        }
        dnnl_primitive_desc_destroy(pd);
    }
    return best;
}

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

/* Whether the "flags" line of /proc/cpuinfo lists FLAG as a whole word;
 * -1 when the file cannot be read (not Linux). */
static int cpu_flag(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return -1;
    char line[8192];
    int found = 0;
    size_t n = strlen(flag);
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        for (char *p = strstr(line, flag); p && !found; p = strstr(p + 1, flag))
            found = (p[-1] == ' ' || p[-1] == '\t') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0');
        break; /* every core lists the same flags */
    }
    fclose(f);
    return found;
}

static const char *tri(int v)
{
    return v < 0 ? "null" : v ? "true" : "false";
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 5;
    if (argc > 2 || repeats < 1 || repeats > 1000) {
        fprintf(stderr, "usage: convrate [REPEATS]   (1..1000, default 5)\n");
        return 2;
    }
    DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
    DN(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    int nproc = omp_get_num_procs();
    int threads[2] = {1, nproc};
    int n_threads = nproc > 1 ? 2 : 1;
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    printf("{\"isa\": \"%s\", \"cpuinfo_avx512_bf16\": %s, \"cpuinfo_amx_bf16\": %s, \"threads\": %d, "
           "\"repeats\": %d, \"min_total_s\": %g, \"rows\": [",
           isa_name(isa), tri(cpu_flag("avx512_bf16")), tri(cpu_flag("amx_bf16")), nproc, repeats, MIN_TOTAL_S);
    const char *sep = "\n";
    for (int t = 0; t < n_threads; t++) {
        /* before any primitive is created: oneDNN plans its work split by
         * the thread count at creation */
        omp_set_num_threads(threads[t]);
        for (size_t si = 0; si < sizeof SHAPES / sizeof *SHAPES; si++)
            for (size_t bi = 0; bi < sizeof BATCHES / sizeof *BATCHES; bi++)
                for (int backward = 0; backward < 2; backward++)
                    for (size_t vi = 0; vi < sizeof VARIANTS / sizeof *VARIANTS; vi++) {
                        const conv_shape *s = &SHAPES[si];
                        outcome o = measure(s, BATCHES[bi], backward, &VARIANTS[vi], repeats);
                        int oh = (s->hw + 2 * s->pad - s->k) / s->stride + 1;
                        printf("%s {\"shape\": \"%s\", \"ic\": %d, \"oc\": %d, \"hw\": %d, \"k\": %d, \"stride\": %d, "
                               "\"macs\": %.0f, \"mb\": %d, \"direction\": \"%s\", \"variant\": \"%s\", "
                               "\"threads\": %d, ",
                               sep, s->name, s->ic, s->oc, s->hw, s->k, s->stride,
                               (double)BATCHES[bi] * s->oc * oh * oh * s->ic * s->k * s->k, BATCHES[bi],
                               backward ? "backward_data" : "forward_training", VARIANTS[vi].name, threads[t]);
                        if (o.ok)
                            printf("\"gflops\": %.2f, \"out_type\": \"%s\", \"impl\": \"%s\"}", o.gflops,
                                   dnnl_dt2str(o.out), o.impl);
                        else
                            printf("\"unsupported\": \"%s\"}", dnnl_status2str(o.status));
                        sep = ",\n";
                        fflush(stdout);
                    }
    }
    printf("\n]}\n");
    dnnl_stream_destroy(strm);
    dnnl_engine_destroy(eng);
    return 0;
}
