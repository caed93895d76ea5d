/* The oneDNN 2.x adapter: the only file that talks to oneDNN.
 *
 * Everything is described first (memory descriptors, primitives, steps with
 * mem ids) and materialised in gad_dnn_finalize, so buffers can be sized for
 * the whole plan at once (shared scratch, one user-mode scratchpad) and the
 * run path only executes primitives. The user scratchpad also keeps plans on
 * different threads from sharing any oneDNN-internal buffer. */
#include "net/dnnl.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdlib.h>
#include <string.h>

/* MK_EXT: a buffer owned by another context (weights shared with a donor
 * plan, see gad_dnn_share_weights), fixed at creation. */
enum { MK_OWN, MK_USER, MK_VIEW, MK_SCR_G, MK_SCR_C, MK_PAD, MK_EXT };

typedef struct dmem {
    dnnl_memory_desc_t md;
    int kind;
    int parent; /* MK_VIEW */
    void *buf;  /* MK_OWN */
    void *ext;  /* MK_EXT */
    dnnl_memory_t m;
} dmem;

typedef struct dstep {
    dnnl_primitive_t prim; /* NULL for a gad-computed step (gemm_node) */
    int gemm_node;         /* conv whose input gradient run_gemm_bwd computes */
    int nargs;
    int *arg, *mem;
    dnnl_exec_arg_t *ea;
    unsigned flags;
} dstep;

typedef struct dlist {
    dstep *s;
    int n, cap;
} dlist;

typedef struct dnode {
    dnnl_primitive_desc_t fwd_pd;
    int src;          /* the mem conv/gemm/eltwise/pool read (maybe converted) */
    int out, ws;
    int w, wb, b;     /* weights (fwd), weights (bwd data), bias */
    int uw, ub;       /* user mems in the model's layout */
    int dw, db;       /* weight/bias gradients */
    int load_list;
    int alg;
    float alpha, beta;
    int fused_from;   /* eltwise computed as a post-op of this conv/gemm, or -1 */
    int wino;         /* the forward runs Winograd (see wants_winograd) */
} dnode;

struct gad_dnn {
    const gad_graph *g;
    int batch, training, weights;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dnnl_primitive_attr_t attr;
    dmem *mems;
    int n_mems, cap_mems;
    dlist *lists;
    int n_lists, cap_lists;
    dnode *nodes;
    const struct gad_dnn *donor; /* weights come from here when layouts agree */
    int bwd_bf16;                /* backward-data convs/inner products in bf16 */
    void *scr[2], *pad;
    size_t scr_size[2], pad_size, own_bytes;
    int finalized;
};

/* ---- errors -------------------------------------------------------------- */

static int fail(const gad_dnn *d, int k, const char *call, dnnl_status_t st, gad_err *err) {
    char fn[64];
    size_t i = 0;
    while (call[i] && call[i] != '(' && i + 1 < sizeof fn) {
        fn[i] = call[i];
        i++;
    }
    fn[i] = 0;
    const char *path = d && d->g ? d->g->path : "?";
    if (d && d->g && k >= 0 && k < d->g->n_nodes)
        return gad_err_set(err, GAD_EBACKEND, "%s: node '%s' (%s): oneDNN %s: %s", path,
                           d->g->nodes[k].name, gad_op_name(d->g->nodes[k].op), fn,
                           dnnl_status2str(st));
    return gad_err_set(err, GAD_EBACKEND, "%s: plan: oneDNN %s: %s", path, fn, dnnl_status2str(st));
}

#define DN(call)                                                                                   \
    do {                                                                                           \
        dnnl_status_t st_ = (call);                                                                \
        if (st_ != dnnl_success) return fail(d, k, #call, st_, err);                               \
    } while (0)

static int nomem(const gad_dnn *d, gad_err *err) {
    return gad_err_set(err, GAD_ENOMEM, "%s: plan: out of memory", d->g ? d->g->path : "?");
}

/* ---- mems and lists ------------------------------------------------------ */

static int new_mem(gad_dnn *d, const dnnl_memory_desc_t *md, int kind, int parent) {
    if (d->n_mems == d->cap_mems) {
        int nc = d->cap_mems ? 2 * d->cap_mems : 64;
        dmem *p = realloc(d->mems, (size_t)nc * sizeof *p);
        if (!p) return -1;
        d->mems = p;
        d->cap_mems = nc;
    }
    dmem *m = &d->mems[d->n_mems];
    memset(m, 0, sizeof *m);
    m->md = *md;
    m->kind = kind;
    m->parent = parent;
    return d->n_mems++;
}

static int dims_of(int nd, const int *dims, dnnl_dims_t out) {
    for (int i = 0; i < nd; i++) out[i] = dims[i];
    return nd;
}

int gad_dnn_mem_plain(gad_dnn *d, int nd, const int *dims, int user) {
    dnnl_memory_desc_t md;
    dnnl_dims_t dd;
    dims_of(nd, dims, dd);
    if (dnnl_memory_desc_init_by_tag(&md, nd, dd, dnnl_f32, nd == 4 ? dnnl_nchw : nd == 2 ? dnnl_nc : dnnl_a) !=
        dnnl_success)
        return -1;
    return new_mem(d, &md, user ? MK_USER : MK_OWN, -1);
}

int gad_dnn_mem_undecided(gad_dnn *d, int nd, const int *dims) {
    dnnl_memory_desc_t md;
    dnnl_dims_t dd;
    dims_of(nd, dims, dd);
    if (dnnl_memory_desc_init_by_tag(&md, nd, dd, dnnl_f32, dnnl_format_tag_any) != dnnl_success)
        return -1;
    return new_mem(d, &md, MK_OWN, -1);
}

int gad_dnn_mem_channel_blocked(gad_dnn *d, int nd, const int *dims) {
    dnnl_memory_desc_t md;
    dnnl_dims_t dd;
    dims_of(nd, dims, dd);
    if (dnnl_memory_desc_init_by_tag(&md, nd, dd, dnnl_f32, dnnl_nChw16c) != dnnl_success) return -1;
    return new_mem(d, &md, MK_OWN, -1);
}

int gad_dnn_mem_like(gad_dnn *d, int like) {
    dnnl_memory_desc_t md = d->mems[like].md;
    return new_mem(d, &md, MK_OWN, -1);
}

int gad_dnn_mem_alias(gad_dnn *d, int mem) {
    dnnl_memory_desc_t md = d->mems[mem].md;
    return new_mem(d, &md, MK_VIEW, mem);
}

int gad_dnn_mem_scratch(gad_dnn *d, int like, int kind) {
    dnnl_memory_desc_t md = d->mems[like].md;
    return new_mem(d, &md, kind == GAD_DNN_SCRATCH_C ? MK_SCR_C : MK_SCR_G, -1);
}

int gad_dnn_same_layout(const gad_dnn *d, int a, int b) {
    return dnnl_memory_desc_equal(&d->mems[a].md, &d->mems[b].md);
}

void gad_dnn_set_handle(gad_dnn *d, int mem, void *ptr) {
    if (mem >= 0 && mem < d->n_mems && d->mems[mem].m) dnnl_memory_set_data_handle(d->mems[mem].m, ptr);
}

static int undecided(const gad_dnn *d, int mem) {
    return d->mems[mem].md.format_kind == dnnl_format_kind_any;
}

/* Fix an undecided mem's layout: `md` when given, else plain. */
static void decide(gad_dnn *d, int mem, const dnnl_memory_desc_t *md) {
    if (!undecided(d, mem)) return;
    if (md) {
        d->mems[mem].md = *md;
        return;
    }
    dnnl_memory_desc_t p;
    dmem *m = &d->mems[mem];
    int nd = m->md.ndims;
    if (dnnl_memory_desc_init_by_tag(&p, nd, m->md.dims, dnnl_f32,
                                     nd == 4 ? dnnl_nchw : nd == 2 ? dnnl_nc : dnnl_a) == dnnl_success)
        m->md = p;
}

int gad_dnn_list_new(gad_dnn *d) {
    if (d->n_lists == d->cap_lists) {
        int nc = d->cap_lists ? 2 * d->cap_lists : 16;
        dlist *p = realloc(d->lists, (size_t)nc * sizeof *p);
        if (!p) return -1;
        d->lists = p;
        d->cap_lists = nc;
    }
    memset(&d->lists[d->n_lists], 0, sizeof d->lists[0]);
    return d->n_lists++;
}

/* Create the primitive of `pd` and append it with its args to `list`; the
 * scratchpad argument is added here. `pd` is destroyed unless keep. */
static int add_step(gad_dnn *d, int list, int k, dnnl_primitive_desc_t pd, int keep, unsigned flags,
                    int nargs, const int *arg, const int *mem, gad_err *err) {
    dlist *L = &d->lists[list];
    int rc = 0;
    if (L->n == L->cap) {
        int nc = L->cap ? 2 * L->cap : 16;
        dstep *p = realloc(L->s, (size_t)nc * sizeof *p);
        if (!p) {
            if (!keep) dnnl_primitive_desc_destroy(pd);
            return nomem(d, err);
        }
        L->s = p;
        L->cap = nc;
    }
    dstep *s = &L->s[L->n];
    memset(s, 0, sizeof *s);
    s->flags = flags;
    s->arg = malloc((size_t)(nargs + 1) * sizeof(int));
    s->mem = malloc((size_t)(nargs + 1) * sizeof(int));
    s->ea = malloc((size_t)(nargs + 1) * sizeof(dnnl_exec_arg_t));
    if (!s->arg || !s->mem || !s->ea) {
        free(s->arg);
        free(s->mem);
        free(s->ea);
        if (!keep) dnnl_primitive_desc_destroy(pd);
        return nomem(d, err);
    }
    memcpy(s->arg, arg, (size_t)nargs * sizeof(int));
    memcpy(s->mem, mem, (size_t)nargs * sizeof(int));
    s->nargs = nargs;
    const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t psz = pmd ? dnnl_memory_desc_get_size(pmd) : 0;
    if (psz) {
        int pm = new_mem(d, pmd, MK_PAD, -1);
        if (pm < 0) rc = nomem(d, err);
        s->arg[s->nargs] = DNNL_ARG_SCRATCHPAD;
        s->mem[s->nargs++] = pm;
        if (psz > d->pad_size) d->pad_size = psz;
    }
    dnnl_status_t st = rc ? dnnl_success : dnnl_primitive_create(&s->prim, pd);
    if (!keep) dnnl_primitive_desc_destroy(pd);
    if (rc || st != dnnl_success) {
        free(s->arg);
        free(s->mem);
        free(s->ea);
        return rc ? rc : fail(d, k, "dnnl_primitive_create", st, err);
    }
    L->n++;
    return 0;
}

int gad_dnn_reorder(gad_dnn *d, int list, int k, int src, int dst, unsigned flags, gad_err *err) {
    decide(d, src, NULL);
    decide(d, dst, NULL);
    dnnl_primitive_desc_t pd;
    DN(dnnl_reorder_primitive_desc_create(&pd, &d->mems[src].md, d->eng, &d->mems[dst].md, d->eng,
                                          d->attr));
    int a[2] = {DNNL_ARG_FROM, DNNL_ARG_TO}, m[2] = {src, dst};
    return add_step(d, list, k, pd, 0, flags, 2, a, m, err);
}

int gad_dnn_accumulate(gad_dnn *d, int list, int k, int dst, int src, gad_err *err) {
    if (!gad_dnn_same_layout(d, dst, src)) {
        int c = gad_dnn_mem_scratch(d, dst, GAD_DNN_SCRATCH_C);
        if (c < 0) return nomem(d, err);
        int rc = gad_dnn_reorder(d, list, k, src, c, 0, err);
        if (rc) return rc;
        src = c;
    }
    dnnl_binary_desc_t bd;
    DN(dnnl_binary_desc_init(&bd, dnnl_binary_add, &d->mems[dst].md, &d->mems[src].md,
                             &d->mems[dst].md));
    dnnl_primitive_desc_t pd;
    DN(dnnl_primitive_desc_create(&pd, &bd, d->attr, d->eng, NULL));
    int a[3] = {DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST}, m[3] = {dst, src, dst};
    return add_step(d, list, k, pd, 0, 0, 3, a, m, err);
}

int gad_dnn_guided_mask(gad_dnn *d, int list, int k, int mem, gad_err *err) {
    dnnl_eltwise_desc_t ed;
    DN(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, dnnl_eltwise_relu,
                                      &d->mems[mem].md, 0.f, 0.f));
    dnnl_primitive_desc_t pd;
    DN(dnnl_primitive_desc_create(&pd, &ed, d->attr, d->eng, NULL));
    int a[2] = {DNNL_ARG_SRC, DNNL_ARG_DST}, m[2] = {mem, mem};
    return add_step(d, list, k, pd, 0, GAD_DNN_GUIDED, 2, a, m, err);
}

/* ---- context ------------------------------------------------------------- */

int gad_dnn_create(const gad_graph *g, int batch, int training, int weights, gad_dnn **out,
                   gad_err *err) {
    *out = NULL;
    gad_dnn *d = calloc(1, sizeof *d);
    if (!d) return gad_err_set(err, GAD_ENOMEM, "%s: plan: out of memory", g->path);
    d->g = g;
    d->batch = batch;
    d->training = training;
    d->weights = weights;
    d->nodes = calloc((size_t)(g->n_nodes > 0 ? g->n_nodes : 1), sizeof *d->nodes);
    if (!d->nodes) {
        free(d);
        return gad_err_set(err, GAD_ENOMEM, "%s: plan: out of memory", g->path);
    }
    for (int k = 0; k < g->n_nodes; k++) {
        dnode *n = &d->nodes[k];
        n->src = n->out = n->ws = n->w = n->wb = n->b = n->uw = n->ub = n->dw = n->db = -1;
        n->load_list = -1;
        n->fused_from = -1;
    }
    int k = -1;
    dnnl_status_t st;
    if ((st = dnnl_engine_create(&d->eng, dnnl_cpu, 0)) != dnnl_success ||
        (st = dnnl_stream_create(&d->strm, d->eng, dnnl_stream_default_flags)) != dnnl_success ||
        (st = dnnl_primitive_attr_create(&d->attr)) != dnnl_success ||
        (st = dnnl_primitive_attr_set_scratchpad_mode(d->attr, dnnl_scratchpad_mode_user)) !=
            dnnl_success) {
        int rc = fail(d, k, "engine/stream creation", st, err);
        gad_dnn_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void gad_dnn_free(gad_dnn *d) {
    if (!d) return;
    for (int l = 0; l < d->n_lists; l++) {
        for (int i = 0; i < d->lists[l].n; i++) {
            dstep *s = &d->lists[l].s[i];
            if (s->prim) dnnl_primitive_destroy(s->prim);
            free(s->arg);
            free(s->mem);
            free(s->ea);
        }
        free(d->lists[l].s);
    }
    free(d->lists);
    for (int i = 0; i < d->n_mems; i++) {
        if (d->mems[i].m) dnnl_memory_destroy(d->mems[i].m);
        free(d->mems[i].buf);
    }
    free(d->mems);
    if (d->nodes)
        for (int k = 0; k < d->g->n_nodes; k++)
            if (d->nodes[k].fwd_pd) dnnl_primitive_desc_destroy(d->nodes[k].fwd_pd);
    free(d->nodes);
    free(d->scr[0]);
    free(d->scr[1]);
    free(d->pad);
    if (d->attr) dnnl_primitive_attr_destroy(d->attr);
    if (d->strm) dnnl_stream_destroy(d->strm);
    if (d->eng) dnnl_engine_destroy(d->eng);
    free(d);
}

static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "SSE4.1";
    case dnnl_cpu_isa_avx: return "AVX";
    case dnnl_cpu_isa_avx2: return "AVX2";
    case dnnl_cpu_isa_avx2_vnni: return "AVX2 VNNI";
    case dnnl_cpu_isa_avx512_mic:
    case dnnl_cpu_isa_avx512_mic_4ops: return "AVX-512 (Xeon Phi)";
    case dnnl_cpu_isa_avx512_core: return "AVX-512";
    case dnnl_cpu_isa_avx512_core_vnni: return "AVX-512 VNNI";
    case dnnl_cpu_isa_avx512_core_bf16: return "AVX-512 BF16";
    case dnnl_cpu_isa_avx512_core_amx: return "AMX";
    default: return "no vector extension oneDNN uses";
    }
}

int gad_dnn_set_bf16(gad_dnn *d, gad_err *err) {
    /* the ISA oneDNN will use (capped by ONEDNN_MAX_CPU_ISA), not cpuid's:
     * without native bf16 dot products oneDNN would emulate them slowly or
     * refuse the primitives.
     * Only the backward-data passes run in bf16. Measured on resnet18 (random
     * weights, IG-50): bf16 forwards too ran 2.0x faster than f32 but moved
     * the attributions by 12 % (relative L2), because rounding flips max-pool
     * arg-maxes and ReLU signs, which reroute whole gradients; with the
     * forward in f32 the decisions are exact, the run 1.2-1.4x faster and
     * the attributions within 0.6 %. */
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) != (unsigned)dnnl_cpu_isa_avx512_core_bf16)
        return gad_err_set(err, GAD_EUNSUPPORTED,
                           "%s: --precision bf16 needs a CPU with AMX or AVX-512 BF16; this one has %s "
                           "(as oneDNN sees it; ONEDNN_MAX_CPU_ISA can lower that)",
                           d->g->path, isa_name(isa));
    if (d->weights)
        return gad_err_set(err, GAD_EUNSUPPORTED, "%s: bf16 plans compute no weight gradients", d->g->path);
    d->bwd_bf16 = 1;
    return 0;
}

int gad_dnn_share_weights(gad_dnn *d, const gad_dnn *donor) {
    if (!donor || donor->g != d->g || !donor->finalized || d->n_lists) return -1;
    d->donor = donor;
    return 0;
}

/* The donor's buffer for node k's parameter mem `which` (0 forward weights,
 * 1 backward-data weights, 2 bias) when it has layout `md`, else NULL. */
static void *donor_buf(const gad_dnn *d, int k, int which, const dnnl_memory_desc_t *md) {
    const gad_dnn *o = d->donor;
    if (!o) return NULL;
    const dnode *on = &o->nodes[k];
    int m = which == 0 ? on->w : which == 1 ? on->wb : on->b;
    if (m < 0 || !dnnl_memory_desc_equal(&o->mems[m].md, md)) return NULL;
    return o->mems[m].kind == MK_OWN ? o->mems[m].buf : o->mems[m].kind == MK_EXT ? o->mems[m].ext : NULL;
}

/* A mem for node k's parameter `which` in layout md: the donor's buffer when
 * it has one in that layout (*shared = 1), else an owned one. */
static int param_mem(gad_dnn *d, int k, int which, const dnnl_memory_desc_t *md, int *shared) {
    void *b = donor_buf(d, k, which, md);
    *shared = b != NULL;
    int m = new_mem(d, md, b ? MK_EXT : MK_OWN, -1);
    if (m >= 0 && b) d->mems[m].ext = b;
    return m;
}

static void *zalloc(size_t n) {
    size_t r = (n + 63) / 64 * 64;
    if (!r) r = 64;
    void *p = aligned_alloc(64, r);
    if (p) memset(p, 0, r);
    return p;
}

int gad_dnn_finalize(gad_dnn *d, gad_err *err) {
    int k = -1;
    for (int i = 0; i < d->n_mems; i++) {
        dmem *m = &d->mems[i];
        decide(d, i, NULL);
        size_t sz = dnnl_memory_desc_get_size(&m->md);
        if (m->kind == MK_SCR_G || m->kind == MK_SCR_C) {
            int s = m->kind == MK_SCR_C;
            if (sz > d->scr_size[s]) d->scr_size[s] = sz;
        } else if (m->kind == MK_OWN) {
            m->buf = zalloc(sz);
            if (!m->buf) return nomem(d, err);
            d->own_bytes += sz;
        }
    }
    for (int s = 0; s < 2; s++)
        if (d->scr_size[s] && !(d->scr[s] = zalloc(d->scr_size[s]))) return nomem(d, err);
    if (d->pad_size && !(d->pad = zalloc(d->pad_size))) return nomem(d, err);
    for (int i = 0; i < d->n_mems; i++) {
        dmem *m = &d->mems[i];
        void *h = NULL;
        switch (m->kind) {
        case MK_OWN: h = m->buf; break;
        case MK_USER: h = DNNL_MEMORY_NONE; break;
        case MK_VIEW: {
            /* views share the parent's handle; the offset is in their md */
            void *ph = NULL;
            DN(dnnl_memory_get_data_handle(d->mems[m->parent].m, &ph));
            h = ph;
            break;
        }
        case MK_SCR_G: h = d->scr[0]; break;
        case MK_SCR_C: h = d->scr[1]; break;
        case MK_PAD: h = d->pad; break;
        case MK_EXT: h = m->ext; break;
        }
        DN(dnnl_memory_create(&m->m, &m->md, d->eng, h));
    }
    for (int l = 0; l < d->n_lists; l++)
        for (int i = 0; i < d->lists[l].n; i++) {
            dstep *s = &d->lists[l].s[i];
            for (int a = 0; a < s->nargs; a++) {
                s->ea[a].arg = s->arg[a];
                s->ea[a].memory = d->mems[s->mem[a]].m;
            }
        }
    d->finalized = 1;
    return 0;
}

size_t gad_dnn_bytes(const gad_dnn *d) {
    return d->own_bytes + d->scr_size[0] + d->scr_size[1] + d->pad_size;
}

/* ---- a first layer's input gradient as GEMM + col2im ----------------------
 *
 * oneDNN's backward-data kernels vectorise over the input channels, padded
 * to the 16 (8) of a block: a first layer on 3 (1) plain channels wastes most
 * of each vector: on resnet18 (7x7/2 on RGB) the kernel was the slowest
 * layer of the backward, and this replacement took a point (forward and
 * backward, one core) from 83 to 73 ms. As a matrix product the
 * gradient is dense: per image, col (C*KH*KW x OH*OW) = W^T (C*KH*KW x OC) .
 * dY (OC x OH*OW), then every column entry is added to the input pixel it
 * came from. col is made a band of output rows at a time (gemm_rows), small
 * enough to stay in cache until it is scattered.
 * Step mems: plain dY, plain weights (oihw), col (one band), plain dX. */
/* Output rows a band holds: about 256 KB of col (an L2's share). */
static dnnl_dim_t gemm_rows(dnnl_dim_t k, dnnl_dim_t ow, dnnl_dim_t oh) {
    dnnl_dim_t r = ((dnnl_dim_t)256 << 10) / (4 * k * ow);
    return r < 1 ? 1 : r > oh ? oh : r;
}

static dnnl_status_t run_gemm_bwd(gad_dnn *d, const dstep *s) {
    const gad_node *n = &d->g->nodes[s->gemm_node];
    void *h[4];
    for (int i = 0; i < 4; i++) {
        dnnl_status_t st = dnnl_memory_get_data_handle(s->ea[i].memory, &h[i]);
        if (st != dnnl_success) return st;
    }
    const float *dy = h[0], *w = h[1];
    float *col = h[2], *dx = h[3];
    const dnnl_dim_t *od = d->mems[s->mem[0]].md.dims, *id = d->mems[s->mem[3]].md.dims;
    const dnnl_dim_t N = id[0], C = id[1], H = id[2], W = id[3];
    const dnnl_dim_t OC = od[1], OH = od[2], OW = od[3], P = OH * OW;
    const int KH = n->kernel[0], KW = n->kernel[1], sh = n->stride[0], sw = n->stride[1];
    const int dh = n->dilation[0], dw = n->dilation[1], ph = n->pad[0], pw = n->pad[1];
    const dnnl_dim_t K = C * KH * KW;
    const dnnl_dim_t R = gemm_rows(K, OW, OH);
    memset(dx, 0, (size_t)(N * C * H * W) * sizeof(float));
    for (dnnl_dim_t b = 0; b < N; b++) {
        float *dxb = dx + b * C * H * W;
        for (dnnl_dim_t oh0 = 0; oh0 < OH; oh0 += R) {
            const dnnl_dim_t rows = OH - oh0 < R ? OH - oh0 : R, np = rows * OW;
            dnnl_status_t st =
                dnnl_sgemm('T', 'N', K, np, OC, 1.f, w, K, dy + b * OC * P + oh0 * OW, P, 0.f, col, np);
            if (st != dnnl_success) return st;
            for (dnnl_dim_t c = 0; c < C; c++)
                for (int kh = 0; kh < KH; kh++)
                    for (int kw = 0; kw < KW; kw++) {
                        const float *band = col + ((c * KH + kh) * KW + kw) * np;
                        /* output columns whose tap lands inside the input row */
                        dnnl_dim_t off = (dnnl_dim_t)kw * dw - pw, lo = 0, hi = OW;
                        while (lo < OW && lo * sw + off < 0) lo++;
                        while (hi > lo && (hi - 1) * sw + off >= W) hi--;
                        for (dnnl_dim_t r = 0; r < rows; r++) {
                            dnnl_dim_t y = (oh0 + r) * sh - ph + (dnnl_dim_t)kh * dh;
                            if (y < 0 || y >= H) continue;
                            float *out = dxb + (c * H + y) * W + off;
                            const float *in = band + r * OW;
                            for (dnnl_dim_t ow = lo; ow < hi; ow++) out[ow * sw] += in[ow];
                        }
                    }
        }
    }
    return dnnl_success;
}

int gad_dnn_run(gad_dnn *d, int list, unsigned mask, gad_err *err) {
    int k = -1;
    if (!d->finalized || list < 0 || list >= d->n_lists)
        return gad_err_set(err, GAD_ESTATE, "%s: plan: not ready", d->g->path);
    dlist *L = &d->lists[list];
    for (int i = 0; i < L->n; i++) {
        dstep *s = &L->s[i];
        if (s->flags & ~mask) continue;
        if (!s->prim) {
            DN(dnnl_stream_wait(d->strm));
            DN(run_gemm_bwd(d, s));
            continue;
        }
        DN(dnnl_primitive_execute(s->prim, d->strm, s->nargs, s->ea));
    }
    DN(dnnl_stream_wait(d->strm));
    return 0;
}

/* ---- nodes --------------------------------------------------------------- */

/* Batch dims of value v: (N,C,H,W) or (N,F). */
static int value_dims(const gad_dnn *d, int v, dnnl_dims_t dd) {
    const gad_shape *s = &d->g->values[v].shape;
    dd[0] = d->batch;
    for (int i = 0; i < s->nd; i++) dd[1 + i] = s->d[i];
    return s->nd + 1;
}

static int md_any(dnnl_memory_desc_t *md, int nd, const dnnl_dims_t dd) {
    return dnnl_memory_desc_init_by_tag(md, nd, dd, dnnl_f32, dnnl_format_tag_any) != dnnl_success;
}

/* Weights of a conv/gemm in the model's layout: goihw with groups. */
static void weight_dims(const gad_dnn *d, const gad_node *n, int *nd, dnnl_dims_t wd,
                        dnnl_format_tag_t *tag) {
    const gad_param *p = &d->g->params[n->weight];
    if (n->op == GAD_OP_GEMM) {
        *nd = 2;
        wd[0] = p->dims[0];
        wd[1] = p->dims[1];
        *tag = dnnl_oi;
    } else if (n->group > 1) {
        *nd = 5;
        wd[0] = n->group;
        wd[1] = p->dims[0] / n->group;
        wd[2] = p->dims[1];
        wd[3] = p->dims[2];
        wd[4] = p->dims[3];
        *tag = dnnl_goihw;
    } else {
        *nd = 4;
        for (int i = 0; i < 4; i++) wd[i] = p->dims[i];
        *tag = dnnl_oihw;
    }
}

static void eltwise_alg(const gad_node *n, int *alg, float *alpha, float *beta);

/* The activation that alone reads conv/gemm k's output, when it can run as
 * a post-op: its backward then works from the activation's output (the
 * *_use_dst_for_bwd algorithms), so the pre-activation need not be kept. */
static int fusable_consumer(const gad_dnn *d, int k) {
    const gad_graph *g = d->g;
    int v = g->nodes[k].out;
    if (v == g->output || g->values[v].n_consumers != 1) return -1;
    for (int j = k + 1; j < g->n_nodes; j++) {
        const gad_node *n = &g->nodes[j];
        for (int i = 0; i < n->n_in; i++) {
            if (n->in[i] != v) continue;
            int ok = n->op == GAD_OP_RELU || n->op == GAD_OP_SIGMOID || n->op == GAD_OP_CLIP ||
                     (n->op == GAD_OP_LEAKY_RELU && n->alpha >= 0);
            return ok ? j : -1;
        }
    }
    return -1;
}

/* Winograd F(4x4, 3x3) where it wins: 3x3 stride-1 convolutions with an
 * output of at least 28 x 28. Measured with bench/convrate on this project's
 * AVX-512 machine, batch 1 on one thread (how IG runs a point), forward and
 * backward-data against oneDNN's direct kernels: 2.1-2.3x faster at 64
 * channels on 56 x 56 and 128 on 28 x 28, even at 256 on 14 x 14, 2.5x
 * slower at 512 on 7 x 7 (resnet18's shapes). A rule of the shape, not a
 * timing, so that a model gives the same bits on every run and rank. Only
 * for channels in multiples of 16: oneDNN took a 1-channel first layer (the
 * demo model's) too, and its saliency maps moved 5 % from the direct
 * kernels' (2e-7 between ISAs otherwise). Not in plans that compute weight
 * gradients (fit). Should oneDNN refuse a shape, the direct algorithm runs. */
static int wants_winograd(const gad_dnn *d, const gad_node *n, const dnnl_dims_t sd, const dnnl_dims_t od) {
    return !d->weights && n->op == GAD_OP_CONV && n->group <= 1 && n->kernel[0] == 3 && n->kernel[1] == 3 &&
           n->stride[0] == 1 && n->stride[1] == 1 && n->dilation[0] == 1 && n->dilation[1] == 1 && od[2] >= 28 &&
           od[3] >= 28 && sd[1] % 16 == 0 && od[1] % 16 == 0;
}

static int layer_forward(gad_dnn *d, int k, int list, int load_list, int in, int *out,
                         gad_err *err) {
    const gad_node *n = &d->g->nodes[k];
    dnode *dn = &d->nodes[k];
    dnnl_dims_t sd, od, wd, bd;
    int snd = value_dims(d, n->in[0], sd), ond = value_dims(d, n->out, od), wnd;
    dnnl_format_tag_t wtag;
    weight_dims(d, n, &wnd, wd, &wtag);
    dnnl_memory_desc_t smd, wmd, bmd, omd;
    if (md_any(&smd, snd, sd) || md_any(&wmd, wnd, wd) || md_any(&omd, ond, od))
        return fail(d, k, "dnnl_memory_desc_init_by_tag", dnnl_invalid_arguments, err);
    bd[0] = od[1];
    DN(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x));
    const dnnl_memory_desc_t *bp = n->bias >= 0 ? &bmd : NULL;
    dnnl_prop_kind_t prop = d->training ? dnnl_forward_training : dnnl_forward_inference;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_attr_t attr = d->attr;
    int j = fusable_consumer(d, k);
    if (j >= 0) {
        dnode *dj = &d->nodes[j];
        eltwise_alg(&d->g->nodes[j], &dj->alg, &dj->alpha, &dj->beta);
        dnnl_post_ops_t po;
        DN(dnnl_primitive_attr_clone(&attr, d->attr));
        dnnl_status_t st = dnnl_post_ops_create(&po);
        if (st == dnnl_success) {
            st = dnnl_post_ops_append_eltwise(po, 1.f, (dnnl_alg_kind_t)dj->alg, dj->alpha, dj->beta);
            if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, po);
            dnnl_post_ops_destroy(po);
        }
        if (st != dnnl_success) {
            dnnl_primitive_attr_destroy(attr);
            return fail(d, k, "dnnl_post_ops_append_eltwise", st, err);
        }
        dj->fused_from = k;
    }
    dnnl_status_t st;
    if (n->op == GAD_OP_CONV) {
        dnnl_convolution_desc_t cd;
        dnnl_dims_t str = {n->stride[0], n->stride[1]}, dl = {n->dilation[0] - 1, n->dilation[1] - 1},
                    pl = {n->pad[0], n->pad[1]}, pr = {n->pad[2], n->pad[3]};
        dn->wino = wants_winograd(d, n, sd, od);
        for (;;) {
            st = dnnl_dilated_convolution_forward_desc_init(
                &cd, prop, dn->wino ? dnnl_convolution_winograd : dnnl_convolution_direct, &smd, &wmd, bp, &omd,
                str, dl, pl, pr);
            if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &cd, attr, d->eng, NULL);
            if (st == dnnl_success || !dn->wino) break;
            dn->wino = 0;
        }
    } else {
        dnnl_inner_product_desc_t id;
        st = dnnl_inner_product_forward_desc_init(&id, prop, &smd, &wmd, bp, &omd);
        if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &id, attr, d->eng, NULL);
    }
    if (attr != d->attr) dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) return fail(d, k, "dnnl_primitive_desc_create", st, err);
    dn->fwd_pd = pd;
    const dnnl_memory_desc_t *qs = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *qw = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *qd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    decide(d, in, qs);
    int rc;
    if (dnnl_memory_desc_equal(&d->mems[in].md, qs)) {
        dn->src = in;
    } else {
        dn->src = new_mem(d, qs, MK_OWN, -1);
        if (dn->src < 0) return nomem(d, err);
        if ((rc = gad_dnn_reorder(d, list, k, in, dn->src, 0, err))) return rc;
    }
    dnnl_memory_desc_t uwmd;
    DN(dnnl_memory_desc_init_by_tag(&uwmd, wnd, wd, dnnl_f32, wtag));
    int shared_w, shared_b = 0;
    dn->uw = new_mem(d, &uwmd, MK_USER, -1);
    dn->w = param_mem(d, k, 0, qw, &shared_w);
    dn->out = new_mem(d, qd, MK_OWN, -1);
    if (dn->uw < 0 || dn->w < 0 || dn->out < 0) return nomem(d, err);
    dn->wb = dn->w;
    dn->load_list = load_list;
    if (!shared_w && (rc = gad_dnn_reorder(d, load_list, k, dn->uw, dn->w, 0, err))) return rc;
    int a[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
    int m[4] = {dn->src, dn->w, dn->out, -1};
    int na = 3;
    if (n->bias >= 0) {
        dn->ub = new_mem(d, &bmd, MK_USER, -1);
        dn->b = param_mem(d, k, 2, &bmd, &shared_b);
        if (dn->ub < 0 || dn->b < 0) return nomem(d, err);
        if (!shared_b && (rc = gad_dnn_reorder(d, load_list, k, dn->ub, dn->b, 0, err))) return rc;
        m[3] = dn->b;
        na = 4;
    }
    if ((rc = add_step(d, list, k, pd, 1, 0, na, a, m, err))) return rc;
    *out = dn->out;
    return 0;
}

/* The input gradient of conv k (plain input, few channels, no groups) by
 * run_gemm_bwd: dY converted to plain NCHW in scratch (free here: its other
 * users run after this step), the weights kept in the model's oihw layout,
 * a col buffer for one band. */
static int gemm_backward(gad_dnn *d, int k, int list, int diff_out, int direct, int *grad, gad_err *err) {
    dnode *dn = &d->nodes[k];
    const dnnl_memory_desc_t smd = d->mems[dn->src].md, omd = d->mems[dn->out].md;
    const gad_node *n = &d->g->nodes[k];
    dnnl_memory_desc_t pmd, cmd;
    DN(dnnl_memory_desc_init_by_tag(&pmd, 4, omd.dims, dnnl_f32, dnnl_nchw));
    dnnl_dim_t kk = smd.dims[1] * n->kernel[0] * n->kernel[1];
    dnnl_dims_t cd = {kk * gemm_rows(kk, omd.dims[3], omd.dims[2]) * omd.dims[3]};
    DN(dnnl_memory_desc_init_by_tag(&cmd, 1, cd, dnnl_f32, dnnl_a));
    int rc, dy = diff_out;
    if (!dnnl_memory_desc_equal(&pmd, &d->mems[diff_out].md)) {
        dy = new_mem(d, &pmd, MK_SCR_C, -1);
        if (dy < 0) return nomem(d, err);
        if ((rc = gad_dnn_reorder(d, list, k, diff_out, dy, 0, err))) return rc;
    }
    int wp = gad_dnn_mem_like(d, dn->uw), col = new_mem(d, &cmd, MK_OWN, -1);
    /* smd is plain NCHW here: a direct mem in that layout takes the result */
    int target = direct >= 0 && dnnl_memory_desc_equal(&d->mems[direct].md, &smd)
                     ? direct
                     : new_mem(d, &smd, MK_SCR_G, -1);
    if (wp < 0 || col < 0 || target < 0) return nomem(d, err);
    if ((rc = gad_dnn_reorder(d, dn->load_list, k, dn->uw, wp, 0, err))) return rc;
    dlist *L = &d->lists[list];
    if (L->n == L->cap) {
        int nc = L->cap ? 2 * L->cap : 16;
        dstep *p = realloc(L->s, (size_t)nc * sizeof *p);
        if (!p) return nomem(d, err);
        L->s = p;
        L->cap = nc;
    }
    dstep *s = &L->s[L->n];
    memset(s, 0, sizeof *s);
    s->gemm_node = k;
    s->nargs = 4;
    s->arg = malloc(4 * sizeof(int));
    s->mem = malloc(4 * sizeof(int));
    s->ea = malloc(4 * sizeof(dnnl_exec_arg_t));
    if (!s->arg || !s->mem || !s->ea) {
        free(s->arg);
        free(s->mem);
        free(s->ea);
        return nomem(d, err);
    }
    const int m[4] = {dy, wp, col, target};
    for (int i = 0; i < 4; i++) {
        s->arg[i] = DNNL_ARG_MULTIPLE_SRC + i; /* unused by oneDNN: names the slot */
        s->mem[i] = m[i];
    }
    L->n++;
    *grad = target;
    return 0;
}

static int layer_backward(gad_dnn *d, int k, int list, int diff_out, int direct, int *grad,
                          gad_err *err) {
    const gad_node *n = &d->g->nodes[k];
    dnode *dn = &d->nodes[k];
    /* copies: new_mem below may move the mem table */
    const dnnl_memory_desc_t smd_ = d->mems[dn->src].md, omd_ = d->mems[dn->out].md;
    const dnnl_memory_desc_t *smd = &smd_, *omd = &omd_;
    dnnl_dims_t wd, bd;
    int wnd, rc;
    dnnl_format_tag_t wtag;
    weight_dims(d, n, &wnd, wd, &wtag);
    dnnl_memory_desc_t wmd, bmd, ddmd = *omd;
    if (md_any(&wmd, wnd, wd))
        return fail(d, k, "dnnl_memory_desc_init_by_tag", dnnl_invalid_arguments, err);
    if (d->bwd_bf16) {
        /* bf16 weights and output gradient, f32 accumulation and input
         * gradient: the gradients between layers stay f32 */
        DN(dnnl_memory_desc_init_by_tag(&wmd, wnd, wd, dnnl_bf16, dnnl_format_tag_any));
        DN(dnnl_memory_desc_init_by_tag(&ddmd, omd->ndims, omd->dims, dnnl_bf16, dnnl_format_tag_any));
    }
    bd[0] = omd->dims[1];
    DN(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x));
    dnnl_dims_t st = {n->stride[0], n->stride[1]}, dl = {n->dilation[0] - 1, n->dilation[1] - 1},
                pl = {n->pad[0], n->pad[1]}, pr = {n->pad[2], n->pad[3]};
    /* diff_src is left to oneDNN: a plain forward src (first layer) with a
     * blocked diff_dst otherwise only has the reference implementation */
    dnnl_memory_desc_t dsmd;
    DN(dnnl_memory_desc_init_by_tag(&dsmd, smd->ndims, smd->dims, dnnl_f32, dnnl_format_tag_any));
    if (n->op == GAD_OP_CONV && !d->weights && n->group <= 1 && smd->ndims == 4 && smd->dims[1] < 16) {
        dnnl_memory_desc_t pmd;
        DN(dnnl_memory_desc_init_by_tag(&pmd, 4, smd->dims, dnnl_f32, dnnl_nchw));
        if (dnnl_memory_desc_equal(&pmd, smd)) return gemm_backward(d, k, list, diff_out, direct, grad, err);
    }
    dnnl_primitive_desc_t pd;
    if (n->op == GAD_OP_CONV) {
        dnnl_convolution_desc_t cd;
        /* Winograd backward where the forward is (f32 only) */
        int wino = dn->wino && !d->bwd_bf16;
        dnnl_status_t s2;
        for (;;) {
            s2 = dnnl_dilated_convolution_backward_data_desc_init(
                &cd, wino ? dnnl_convolution_winograd : dnnl_convolution_direct, &dsmd, &wmd, &ddmd, st, dl, pl, pr);
            if (s2 == dnnl_success) s2 = dnnl_primitive_desc_create(&pd, &cd, d->attr, d->eng, dn->fwd_pd);
            if (s2 == dnnl_success || !wino) break;
            wino = 0;
        }
        if (s2 != dnnl_success) return fail(d, k, "dnnl_primitive_desc_create", s2, err);
    } else {
        dnnl_inner_product_desc_t id;
        DN(dnnl_inner_product_backward_data_desc_init(&id, &dsmd, &wmd, &ddmd));
        DN(dnnl_primitive_desc_create(&pd, &id, d->attr, d->eng, dn->fwd_pd));
    }
    dsmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_diff_src_md, 0);
    const dnnl_memory_desc_t *qw = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if (!dnnl_memory_desc_equal(qw, &d->mems[dn->w].md)) {
        /* backward data wants the weights in another layout: keep a copy */
        int shared;
        dn->wb = param_mem(d, k, 1, qw, &shared);
        if (dn->wb < 0 || (!shared && (rc = gad_dnn_reorder(d, dn->load_list, k, dn->uw, dn->wb, 0, err)))) {
            dnnl_primitive_desc_destroy(pd);
            return dn->wb < 0 ? nomem(d, err) : rc;
        }
    }
    int target = (direct >= 0 && dnnl_memory_desc_equal(&d->mems[direct].md, &dsmd))
                     ? direct
                     : new_mem(d, &dsmd, MK_SCR_G, -1);
    if (target < 0) {
        dnnl_primitive_desc_destroy(pd);
        return nomem(d, err);
    }
    int dd = diff_out;
    if (d->bwd_bf16) {
        /* converted into the shared scratch, free here: the only other user
         * of the kind (gad_dnn_accumulate) runs after this step */
        dd = new_mem(d, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0), MK_SCR_C, -1);
        if (dd < 0 || (rc = gad_dnn_reorder(d, list, k, diff_out, dd, 0, err))) {
            dnnl_primitive_desc_destroy(pd);
            return dd < 0 ? nomem(d, err) : rc;
        }
    }
    int a[3] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
    int m[3] = {dd, dn->wb, target};
    if ((rc = add_step(d, list, k, pd, 0, 0, 3, a, m, err))) return rc;
    *grad = target;
    if (!d->weights) return 0;
    int bsrc = dn->src;
    if (n->op == GAD_OP_CONV) {
        /* src left to oneDNN too (a plain first-layer src has only the
         * reference kernel); a differing choice costs one reorder into
         * scratch, which no gradient occupies at this point */
        dnnl_convolution_desc_t cd;
        dnnl_memory_desc_t bsmd;
        DN(dnnl_memory_desc_init_by_tag(&bsmd, smd->ndims, smd->dims, dnnl_f32, dnnl_format_tag_any));
        DN(dnnl_dilated_convolution_backward_weights_desc_init(
            &cd, dnnl_convolution_direct, &bsmd, &wmd, n->bias >= 0 ? &bmd : NULL, omd, st, dl, pl, pr));
        DN(dnnl_primitive_desc_create(&pd, &cd, d->attr, d->eng, dn->fwd_pd));
        const dnnl_memory_desc_t *q = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
        if (!dnnl_memory_desc_equal(q, smd)) {
            bsrc = new_mem(d, q, MK_SCR_C, -1);
            if (bsrc < 0 || (rc = gad_dnn_reorder(d, list, k, dn->src, bsrc, 0, err))) {
                dnnl_primitive_desc_destroy(pd);
                return bsrc < 0 ? nomem(d, err) : rc;
            }
        }
    } else {
        dnnl_inner_product_desc_t id;
        DN(dnnl_inner_product_backward_weights_desc_init(&id, smd, &wmd, n->bias >= 0 ? &bmd : NULL,
                                                         omd));
        DN(dnnl_primitive_desc_create(&pd, &id, d->attr, d->eng, dn->fwd_pd));
    }
    dn->dw = new_mem(d, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0), MK_OWN, -1);
    if (dn->dw < 0) {
        dnnl_primitive_desc_destroy(pd);
        return nomem(d, err);
    }
    int a2[4] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS};
    int m2[4] = {bsrc, diff_out, dn->dw, -1};
    int na = 3;
    if (n->bias >= 0) {
        dn->db = new_mem(d, &bmd, MK_OWN, -1);
        if (dn->db < 0) {
            dnnl_primitive_desc_destroy(pd);
            return nomem(d, err);
        }
        m2[3] = dn->db;
        na = 4;
    }
    return add_step(d, list, k, pd, 0, 0, na, a2, m2, err);
}

static void eltwise_alg(const gad_node *n, int *alg, float *alpha, float *beta) {
    *alpha = *beta = 0.f;
    switch (n->op) {
    case GAD_OP_LEAKY_RELU: *alg = dnnl_eltwise_relu; *alpha = n->alpha; break;
    case GAD_OP_CLIP: *alg = dnnl_eltwise_clip_v2; *alpha = n->alpha; *beta = n->beta; break;
    case GAD_OP_SIGMOID: *alg = dnnl_eltwise_logistic; break;
    case GAD_OP_MUL_SCALAR: *alg = dnnl_eltwise_linear; *alpha = n->alpha; break;
    default: *alg = dnnl_eltwise_relu; break;
    }
}

/* Pool geometry; right padding grows so ceil-mode windows exist in oneDNN
 * (which derives the output size from the paddings). */
static int pool_geom(const gad_dnn *d, int k, int *alg, dnnl_dims_t st, dnnl_dims_t ker,
                     dnnl_dims_t dl, dnnl_dims_t pl, dnnl_dims_t pr, gad_err *err) {
    const gad_node *n = &d->g->nodes[k];
    const gad_shape *is = &d->g->values[n->in[0]].shape, *os = &d->g->values[n->out].shape;
    if (n->op == GAD_OP_GLOBAL_AVGPOOL) {
        *alg = dnnl_pooling_avg_exclude_padding;
        st[0] = st[1] = 1;
        ker[0] = is->d[1];
        ker[1] = is->d[2];
        dl[0] = dl[1] = pl[0] = pl[1] = pr[0] = pr[1] = 0;
        return 0;
    }
    int overhang = 0, padded = 0;
    for (int a = 0; a < 2; a++) {
        st[a] = n->stride[a];
        ker[a] = n->kernel[a];
        dl[a] = n->op == GAD_OP_MAXPOOL ? n->dilation[a] - 1 : 0;
        pl[a] = n->pad[a];
        int64_t span = (int64_t)(dl[a] + 1) * (ker[a] - 1) + 1;
        int64_t need = (int64_t)(os->d[1 + a] - 1) * st[a] + span - is->d[1 + a] - pl[a];
        pr[a] = need > n->pad[2 + a] ? need : n->pad[2 + a];
        if (pr[a] > n->pad[2 + a]) overhang = 1;
        if (n->pad[a] || n->pad[2 + a]) padded = 1;
    }
    if (n->op == GAD_OP_MAXPOOL) {
        *alg = dnnl_pooling_max;
    } else if (n->count_include_pad && padded) {
        if (overhang)
            return gad_err_set(err, GAD_EUNSUPPORTED,
                               "%s: node '%s' (%s): ceil_mode with count_include_pad and padding "
                               "(PyTorch's divisor for the last window cannot be expressed)",
                               d->g->path, n->name, gad_op_name(n->op));
        *alg = dnnl_pooling_avg_include_padding;
    } else {
        /* without declared padding both conventions divide by the in-input count */
        *alg = dnnl_pooling_avg_exclude_padding;
    }
    return 0;
}

static int simple_forward(gad_dnn *d, int k, int list, const int *in, int *out, gad_err *err) {
    const gad_node *n = &d->g->nodes[k];
    dnode *dn = &d->nodes[k];
    int src = in[0], rc;
    decide(d, src, NULL);
    const dnnl_memory_desc_t *smd = &d->mems[src].md;
    dnnl_primitive_desc_t pd;
    dnnl_prop_kind_t prop = d->training ? dnnl_forward_training : dnnl_forward_inference;
    dn->src = src;
    switch (n->op) {
    case GAD_OP_RELU:
    case GAD_OP_LEAKY_RELU:
    case GAD_OP_CLIP:
    case GAD_OP_SIGMOID:
    case GAD_OP_MUL_SCALAR: {
        eltwise_alg(n, &dn->alg, &dn->alpha, &dn->beta);
        dnnl_eltwise_desc_t ed;
        DN(dnnl_eltwise_forward_desc_init(&ed, prop, (dnnl_alg_kind_t)dn->alg, smd, dn->alpha, dn->beta));
        DN(dnnl_primitive_desc_create(&pd, &ed, d->attr, d->eng, NULL));
        break;
    }
    case GAD_OP_MAXPOOL:
    case GAD_OP_AVGPOOL:
    case GAD_OP_GLOBAL_AVGPOOL: {
        dnnl_dims_t st, ker, dl, pl, pr, od;
        if ((rc = pool_geom(d, k, &dn->alg, st, ker, dl, pl, pr, err))) return rc;
        int ond = value_dims(d, n->out, od);
        dnnl_memory_desc_t omd;
        if (md_any(&omd, ond, od))
            return fail(d, k, "dnnl_memory_desc_init_by_tag", dnnl_invalid_arguments, err);
        dnnl_pooling_v2_desc_t pdsc;
        DN(dnnl_pooling_v2_forward_desc_init(&pdsc, prop, (dnnl_alg_kind_t)dn->alg, smd, &omd, st, ker,
                                             dl, pl, pr));
        DN(dnnl_primitive_desc_create(&pd, &pdsc, d->attr, d->eng, NULL));
        break;
    }
    case GAD_OP_ADD: {
        decide(d, in[1], NULL);
        dnnl_binary_desc_t bd;
        DN(dnnl_binary_desc_init(&bd, dnnl_binary_add, smd, &d->mems[in[1]].md, smd));
        DN(dnnl_primitive_desc_create(&pd, &bd, d->attr, d->eng, NULL));
        break;
    }
    case GAD_OP_CONCAT: {
        dnnl_memory_desc_t *srcs = malloc((size_t)n->n_in * sizeof *srcs);
        if (!srcs) return nomem(d, err);
        for (int i = 0; i < n->n_in; i++) {
            decide(d, in[i], NULL);
            srcs[i] = d->mems[in[i]].md;
        }
        dnnl_dims_t od;
        int ond = value_dims(d, n->out, od);
        dnnl_memory_desc_t omd;
        md_any(&omd, ond, od);
        dnnl_status_t s = dnnl_concat_primitive_desc_create(&pd, &omd, n->n_in, 1, srcs, d->attr, d->eng);
        free(srcs);
        if (s != dnnl_success) return fail(d, k, "dnnl_concat_primitive_desc_create", s, err);
        break;
    }
    default:
        return gad_err_set(err, GAD_EUNSUPPORTED, "%s: node '%s' (%s): not supported by the plan",
                           d->g->path, n->name, gad_op_name(n->op));
    }
    dn->fwd_pd = pd;
    dn->out = new_mem(d, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), MK_OWN, -1);
    if (dn->out < 0) return nomem(d, err);
    int na = 0, cap = n->n_in + 3;
    int *a = malloc((size_t)cap * sizeof(int)), *m = malloc((size_t)cap * sizeof(int));
    if (!a || !m) {
        free(a);
        free(m);
        return nomem(d, err);
    }
    if (n->op == GAD_OP_ADD) {
        a[na] = DNNL_ARG_SRC_0; m[na++] = in[0];
        a[na] = DNNL_ARG_SRC_1; m[na++] = in[1];
    } else if (n->op == GAD_OP_CONCAT) {
        for (int i = 0; i < n->n_in; i++) {
            a[na] = DNNL_ARG_MULTIPLE_SRC + i;
            m[na++] = in[i];
        }
    } else {
        a[na] = DNNL_ARG_SRC; m[na++] = src;
    }
    a[na] = DNNL_ARG_DST; m[na++] = dn->out;
    const dnnl_memory_desc_t *wsmd = dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
    if (wsmd && dnnl_memory_desc_get_size(wsmd)) {
        dn->ws = new_mem(d, wsmd, MK_OWN, -1);
        if (dn->ws < 0) {
            free(a);
            free(m);
            return nomem(d, err);
        }
        a[na] = DNNL_ARG_WORKSPACE; m[na++] = dn->ws;
    }
    rc = add_step(d, list, k, pd, 1, 0, na, a, m, err);
    free(a);
    free(m);
    if (rc) return rc;
    *out = dn->out;
    return 0;
}

int gad_dnn_node_forward(gad_dnn *d, int k, int list, int load_list, const int *in, int *out,
                         gad_err *err) {
    const gad_node *n = &d->g->nodes[k];
    dnode *dn = &d->nodes[k];
    if (n->op == GAD_OP_CONV || n->op == GAD_OP_GEMM) return layer_forward(d, k, list, load_list, in[0], out, err);
    if (dn->fused_from >= 0) {
        /* already computed by the producer's post-op, in its output */
        dn->src = in[0];
        dn->out = *out = in[0];
        return 0;
    }
    if (n->op == GAD_OP_FLATTEN) {
        dnnl_dims_t od;
        value_dims(d, n->out, od);
        int dims[2] = {(int)od[0], (int)od[1]};
        decide(d, in[0], NULL);
        dn->src = in[0];
        dn->out = gad_dnn_mem_plain(d, 2, dims, 0);
        if (dn->out < 0) return nomem(d, err);
        int dst = dn->out;
        if (d->g->values[n->in[0]].shape.nd == 3) {
            /* the flat (N, C*H*W) buffer seen as plain NCHW: the reorder from
             * the producer's blocked layout gives PyTorch's flatten order */
            dnnl_memory_desc_t v;
            dnnl_dims_t sd;
            value_dims(d, n->in[0], sd);
            DN(dnnl_memory_desc_init_by_tag(&v, 4, sd, dnnl_f32, dnnl_nchw));
            dst = new_mem(d, &v, MK_VIEW, dn->out);
            if (dst < 0) return nomem(d, err);
        }
        int rc = gad_dnn_reorder(d, list, k, in[0], dst, 0, err);
        if (rc) return rc;
        *out = dn->out;
        return 0;
    }
    return simple_forward(d, k, list, in, out, err);
}

int gad_dnn_node_backward(gad_dnn *d, int k, int list, int diff_out, const int *direct, int *grad,
                          gad_err *err) {
    const gad_node *n = &d->g->nodes[k];
    dnode *dn = &d->nodes[k];
    int rc;
    switch (n->op) {
    case GAD_OP_CONV:
    case GAD_OP_GEMM:
        return layer_backward(d, k, list, diff_out, direct[0], grad, err);
    case GAD_OP_ADD:
        grad[0] = grad[1] = diff_out;
        return 0;
    case GAD_OP_FLATTEN:
        if (d->g->values[n->in[0]].shape.nd == 3) {
            dnnl_memory_desc_t v;
            dnnl_dims_t sd;
            value_dims(d, n->in[0], sd);
            DN(dnnl_memory_desc_init_by_tag(&v, 4, sd, dnnl_f32, dnnl_nchw));
            grad[0] = new_mem(d, &v, MK_VIEW, diff_out);
            if (grad[0] < 0) return nomem(d, err);
        } else {
            grad[0] = diff_out;
        }
        return 0;
    case GAD_OP_CONCAT: {
        /* split through a plain copy: channel offsets need not align with the
         * blocks of a blocked layout */
        dnnl_memory_desc_t pmd;
        dnnl_dims_t od;
        value_dims(d, n->out, od);
        DN(dnnl_memory_desc_init_by_tag(&pmd, 4, od, dnnl_f32, dnnl_nchw));
        int plain = new_mem(d, &pmd, MK_SCR_G, -1);
        if (plain < 0) return nomem(d, err);
        if ((rc = gad_dnn_reorder(d, list, k, diff_out, plain, 0, err))) return rc;
        int64_t off = 0;
        for (int i = 0; i < n->n_in; i++) {
            dnnl_dims_t sd, offs = {0, off, 0, 0};
            value_dims(d, n->in[i], sd);
            dnnl_memory_desc_t vmd;
            DN(dnnl_memory_desc_init_submemory(&vmd, &pmd, sd, offs));
            grad[i] = new_mem(d, &vmd, MK_VIEW, plain);
            if (grad[i] < 0) return nomem(d, err);
            off += sd[1];
        }
        return 0;
    }
    default:
        break;
    }
    /* eltwise and pooling */
    int target = (direct[0] >= 0 && gad_dnn_same_layout(d, direct[0], dn->src))
                     ? direct[0]
                     : gad_dnn_mem_scratch(d, dn->src, GAD_DNN_SCRATCH_G);
    if (target < 0) return nomem(d, err);
    const dnnl_memory_desc_t smd_ = d->mems[dn->src].md, omd_ = d->mems[dn->out].md;
    const dnnl_memory_desc_t *smd = &smd_, *omd = &omd_;
    dnnl_primitive_desc_t pd;
    int a[4], m[4], na = 0;
    if (n->op == GAD_OP_MAXPOOL || n->op == GAD_OP_AVGPOOL || n->op == GAD_OP_GLOBAL_AVGPOOL) {
        dnnl_dims_t st, ker, dl, pl, pr;
        int alg;
        if ((rc = pool_geom(d, k, &alg, st, ker, dl, pl, pr, err))) return rc;
        dnnl_pooling_v2_desc_t pdsc;
        DN(dnnl_pooling_v2_backward_desc_init(&pdsc, (dnnl_alg_kind_t)alg, smd, omd, st, ker, dl, pl, pr));
        DN(dnnl_primitive_desc_create(&pd, &pdsc, d->attr, d->eng, dn->fwd_pd));
        if (dn->ws >= 0) {
            a[na] = DNNL_ARG_WORKSPACE; m[na++] = dn->ws;
        }
    } else if (dn->fused_from >= 0) {
        int alg = dn->alg == dnnl_eltwise_relu       ? dnnl_eltwise_relu_use_dst_for_bwd
                  : dn->alg == dnnl_eltwise_clip_v2  ? dnnl_eltwise_clip_v2_use_dst_for_bwd
                                                     : dnnl_eltwise_logistic_use_dst_for_bwd;
        /* the backward needs a forward hint; this one is never executed */
        dnnl_eltwise_desc_t ed;
        dnnl_primitive_desc_t hint;
        DN(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training, (dnnl_alg_kind_t)alg, omd, dn->alpha,
                                          dn->beta));
        DN(dnnl_primitive_desc_create(&hint, &ed, d->attr, d->eng, NULL));
        dnnl_status_t st = dnnl_eltwise_backward_desc_init(&ed, (dnnl_alg_kind_t)alg, omd, omd, dn->alpha,
                                                           dn->beta);
        if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &ed, d->attr, d->eng, hint);
        dnnl_primitive_desc_destroy(hint);
        if (st != dnnl_success) return fail(d, k, "dnnl_primitive_desc_create", st, err);
        a[na] = DNNL_ARG_DST; m[na++] = dn->out;
    } else {
        dnnl_eltwise_desc_t ed;
        DN(dnnl_eltwise_backward_desc_init(&ed, (dnnl_alg_kind_t)dn->alg, omd, smd, dn->alpha, dn->beta));
        DN(dnnl_primitive_desc_create(&pd, &ed, d->attr, d->eng, dn->fwd_pd));
        a[na] = DNNL_ARG_SRC; m[na++] = dn->src;
    }
    a[na] = DNNL_ARG_DIFF_DST; m[na++] = diff_out;
    a[na] = DNNL_ARG_DIFF_SRC; m[na++] = target;
    if ((rc = add_step(d, list, k, pd, 0, 0, na, a, m, err))) return rc;
    grad[0] = target;
    return 0;
}

int gad_dnn_param_grad_list(gad_dnn *d, int k, int which, int *user_mem, int *list, gad_err *err) {
    dnode *dn = &d->nodes[k];
    int src = which ? dn->db : dn->dw, like = which ? dn->ub : dn->uw;
    if (src < 0 || like < 0)
        return gad_err_set(err, GAD_ESTATE, "%s: node '%s': no parameter gradient in this plan",
                           d->g->path, d->g->nodes[k].name);
    dnnl_memory_desc_t md = d->mems[like].md;
    int u = new_mem(d, &md, MK_USER, -1), l = gad_dnn_list_new(d);
    if (u < 0 || l < 0) return nomem(d, err);
    int rc = gad_dnn_reorder(d, l, k, src, u, 0, err);
    if (rc) return rc;
    *user_mem = u;
    *list = l;
    return 0;
}

int gad_dnn_param_user_mem(const gad_dnn *d, int k, int which) {
    return which ? d->nodes[k].ub : d->nodes[k].uw;
}
