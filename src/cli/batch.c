#define _XOPEN_SOURCE 700 /* realpath */
#include "cli/batch.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/method.h"
#include "cli/mpi.h"
#include "io/atomic.h"

/* What the signal handler reports: plain values set before and during the
 * run (sig_atomic_t counters, strings that outlive the run). */
static volatile sig_atomic_t g_active, g_done, g_total, g_rank, g_ranks;
static const char *volatile g_cmd, *volatile g_dir;

static int parse_shard(const char *s, int *i, int *n) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '/' || errno) return -1;
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (end == t || *end || errno || b < 1 || b > 1000000 || a < 0 || a >= b) return -1;
    *i = (int)a;
    *n = (int)b;
    return 0;
}

static void record_path(const char *dir, const char *img, const char *suffix, char *out, size_t n) {
    char stem[512];
    gad_cli_stem(img, stem, sizeof stem);
    snprintf(out, n, "%s/%s%s", dir, stem, suffix);
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* An image is complete when its record and every output file exist; the
 * record is written last, so it alone nearly says so, and the outputs are
 * checked in case someone deleted one since. */
static int complete(const gad_batch *b, const char *img) {
    char p[4096], stem[512];
    record_path(b->out_dir, img, b->record_suffix, p, sizeof p);
    if (!is_file(p)) return 0;
    gad_cli_stem(img, stem, sizeof stem);
    for (int j = 0; j < b->n_suffixes; j++) {
        snprintf(p, sizeof p, "%s/%s%s", b->out_dir, stem, b->suffixes[j]);
        if (!is_file(p)) return 0;
    }
    return 1;
}

/* ---- the settings a folder was written with ----------------------------
 * DIR/.gad-settings holds the command and every flag that shapes an
 * image's outputs, one "--flag value" a line in the command's table order
 * (file names made absolute). --resume refuses a folder whose settings
 * differ, so that one results.jsonl never mixes two configurations. It is
 * written with the first record, so a run that produced nothing leaves no
 * file. */
#define SETTINGS_FILE ".gad-settings"

static int run_only(const char *flag) {
    static const char *const names[] = {"shard", "resume", "progress", "profile", "threads", "batch", "out",
                                        "list", "max-pixels", "max-model-bytes", "help", "quiet"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(flag, names[i])) return 1;
    return 0;
}

static char *settings_text(const gad_args *a) {
    gad_line l;
    if (gad_line_open(&l)) return NULL;
    fprintf(l.f, "gad %s\n", a->command);
    for (const gad_flag *f = a->flags; f->name; f++) {
        if (!f->value || run_only(f->name)) continue;
        char *abs = f->takes_value && is_file(f->value) ? realpath(f->value, NULL) : NULL;
        fprintf(l.f, "--%s %s\n", f->name, abs ? abs : f->value);
        free(abs);
    }
    gad_line_close(&l);
    return l.buf;
}

/* The first line where the two texts differ, for the message. */
static void first_difference(const char *was, const char *now, char *out, size_t n) {
    while (*was || *now) {
        int lw = (int)strcspn(was, "\n"), ln = (int)strcspn(now, "\n");
        if (lw != ln || memcmp(was, now, (size_t)lw)) {
            /* a missing line reads "(none)"; long ones are cut at 200 */
            snprintf(out, n, "'%.*s' there, '%.*s' now", lw ? (lw > 200 ? 200 : lw) : 6, lw ? was : "(none)",
                     ln ? (ln > 200 ? 200 : ln) : 6, ln ? now : "(none)");
            return;
        }
        was += lw + (was[lw] != 0);
        now += ln + (now[ln] != 0);
    }
    snprintf(out, n, "identical");
}

/* A small text file, NUL-terminated (NULL when unreadable or over 64 KB). */
static char *read_small(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(65537);
    size_t n = buf ? fread(buf, 1, 65537, f) : 0;
    int bad = !buf || ferror(f) || n > 65536;
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

static int settings_check(gad_batch *b, gad_err *err) {
    char p[4096];
    snprintf(p, sizeof p, "%s/" SETTINGS_FILE, b->out_dir);
    if (!b->resume || !is_file(p)) return 0;
    char *was = read_small(p);
    if (!was) return gad_err_set(err, GAD_EIO, "%s: cannot read the settings of the earlier run", p);
    int same = !strcmp(was, b->settings);
    char diff[512] = "";
    if (!same) first_difference(was, b->settings, diff, sizeof diff);
    free(was);
    if (same) return 0;
    return gad_err_set(err, GAD_EINVAL,
                       "%s: --resume into a folder written with other settings (%s); rerun with the same flags, "
                       "or without --resume to redo every image",
                       p, diff);
}

static int settings_write(gad_batch *b, gad_err *err) {
    if (b->settings_written || !b->settings || gad_mpi_rank() != 0) return 0;
    char p[4096];
    snprintf(p, sizeof p, "%s/" SETTINGS_FILE, b->out_dir);
    gad_atomic at = {0};
    int rc = gad_atomic_open(p, &at, err);
    if (rc) return rc;
    size_t len = strlen(b->settings);
    if (fwrite(b->settings, 1, len, at.f) != len) {
        gad_atomic_abort(&at);
        return gad_err_set(err, GAD_EIO, "%s: write error", p);
    }
    if (!(rc = gad_atomic_commit(&at, err))) b->settings_written = 1;
    return rc;
}

/* --shard and --progress, checked before a command creates anything. */
static int parse_flags(const gad_args *a, const char *command, int *shard_i, int *shard_n, gad_progress_mode *progress,
                       gad_err *err) {
    const char *sh = gad_args_get(a, "shard");
    if (sh && parse_shard(sh, shard_i, shard_n))
        return gad_err_set(err, GAD_EINVAL,
                           "gad %s: --shard '%s' is not I/N with 0 <= I < N (e.g. 0/4; shards are 0-based)",
                           command, sh);
    const char *pr = gad_args_get(a, "progress");
    if (!pr)
        *progress = isatty(STDERR_FILENO) ? GAD_PROGRESS_BAR : GAD_PROGRESS_NONE;
    else if (!strcmp(pr, "bar"))
        *progress = GAD_PROGRESS_BAR;
    else if (!strcmp(pr, "json"))
        *progress = GAD_PROGRESS_JSON;
    else if (!strcmp(pr, "none"))
        *progress = GAD_PROGRESS_NONE;
    else
        return gad_err_set(err, GAD_EINVAL, "gad %s: --progress '%s' is not bar, json or none", command, pr);
    return 0;
}

int gad_batch_check_flags(const gad_args *a, const char *command, gad_err *err) {
    int i, n = 1;
    gad_progress_mode pm;
    return parse_flags(a, command, &i, &n, &pm, err);
}

static void write_begin(gad_batch *b);
static int write_sync(gad_batch *b, gad_err *err);

int gad_batch_open(const gad_args *a, const char *command, const char *out_dir, const gad_cli_paths *paths,
                   const char *const *suffixes, int n_suffixes, const char *record_suffix, gad_batch *b,
                   gad_err *err) {
    memset(b, 0, sizeof *b);
    b->command = command;
    b->out_dir = out_dir;
    b->paths = paths;
    b->suffixes = suffixes;
    b->n_suffixes = n_suffixes;
    b->shard_n = 1;
    b->record_suffix = record_suffix ? record_suffix : ".result.json";
    b->merge_results = !record_suffix; /* results.jsonl from .result.json records */
    b->t0 = omp_get_wtime();
    b->threads = omp_get_max_threads();
    int rc = parse_flags(a, command, &b->shard_i, &b->shard_n, &b->progress, err);
    if (rc) return rc;
    b->resume = gad_args_has(a, "resume");
    if (!(b->settings = settings_text(a))) return gad_err_set(err, GAD_ENOMEM, "gad %s: out of memory", command);
    if ((rc = settings_check(b, err))) return rc;
    if (gad_mpi_rank() != 0) b->progress = GAD_PROGRESS_NONE; /* rank 0 reports for all */
    b->profile_path = gad_args_get(a, "profile");

    b->queue = malloc((size_t)(paths->n ? paths->n : 1) * sizeof *b->queue);
    if (!b->queue) return gad_err_set(err, GAD_ENOMEM, "gad %s: out of memory", command);
    int counts[3] = {0, 0, 0}; /* n_queue, n_share, n_skipped */
    if (gad_mpi_rank() == 0) {
        for (int k = 0; k < paths->n; k++) {
            if (k % b->shard_n != b->shard_i) continue;
            counts[1]++;
            if (b->resume && complete(b, paths->v[k]))
                counts[2]++;
            else
                b->queue[counts[0]++] = k;
        }
    }
    gad_mpi_bcast_ints(counts, 3);
    gad_mpi_bcast_ints(b->queue, counts[0]);
    b->n_queue = counts[0];
    b->n_share = counts[1];
    b->n_skipped = counts[2];
    if (gad_mpi_active() && gad_mpi_counter_open())
        return gad_err_set(err, GAD_EIO, "gad %s: cannot create the MPI work counter", command);
    if (b->resume && b->n_skipped && b->progress != GAD_PROGRESS_NONE)
        fprintf(stderr, "gad %s: --resume: %d of %d images already complete in %s\n", command, b->n_skipped,
                b->n_share, out_dir);
    g_cmd = command;
    g_dir = out_dir;
    g_done = gad_mpi_active() ? 0 : b->n_skipped; /* a rank counts the images it wrote */
    g_total = b->n_share;
    g_rank = gad_mpi_rank();
    g_ranks = gad_mpi_size();
    g_active = 1;
    write_begin(b);
    return 0;
}

void gad_batch_close(gad_batch *b) {
    if (b->writing) gad_atomic_defer_abort();
    b->writing = 0;
    g_active = 0;
    free(b->queue);
    b->queue = NULL;
    free(b->settings);
    b->settings = NULL;
}

int gad_batch_chunk(gad_batch *b, int threads) {
    b->threads = threads > 0 ? threads : omp_get_max_threads();
    /* 2 images a thread keep every worker busy; an image's result does not
     * depend on its chunk (the engine's parallel and sequential paths give
     * the same bits), so chunking, sharding and ranks are free */
    int chunk = 2 * b->threads < b->n_queue ? 2 * b->threads : b->n_queue;
    return chunk < 1 ? 1 : chunk;
}

int gad_batch_next(gad_batch *b, int max, int *idx) {
    if (b->writing &&
        (b->pending >= GAD_BATCH_SYNC_IMAGES || omp_get_wtime() - b->t_write0 >= GAD_BATCH_SYNC_SECONDS)) {
        gad_err err = {0};
        double t = gad_batch_tic();
        int rc = write_sync(b, &err);
        gad_batch_toc(b, GAD_PH_WRITE, t);
        if (rc) {
            gad_cli_fail(&err);
            gad_batch_stopped(b);
            return -1;
        }
        write_begin(b);
    }
    long s;
    if (gad_mpi_active()) {
        s = gad_mpi_counter_take(max);
    } else {
        s = b->next;
        b->next += max;
    }
    if (s >= b->n_queue) return 0;
    int n = b->n_queue - s < max ? b->n_queue - (int)s : max;
    for (int j = 0; j < n; j++) idx[j] = b->queue[s + j];
    return n;
}

static void progress_line(gad_batch *b, long done) {
    double el = omp_get_wtime() - b->t0;
    double rate = done / fmax(el, 1e-9);
    double eta = rate > 0 ? (b->n_queue - done) / rate : 0;
    if (b->progress == GAD_PROGRESS_JSON) {
        fprintf(stderr, "{\"done\": %ld, \"total\": %d, \"rate\": %.4g, \"eta_s\": %.1f}\n", done, b->n_queue, rate,
                eta);
    } else if (b->progress == GAD_PROGRESS_BAR) {
        int w = b->n_queue ? (int)(30.0 * done / b->n_queue) : 30;
        fprintf(stderr, "\r[%-30.*s] %ld/%d images, %.2f img/s, ETA %.0fs   ", w, "##############################",
                done, b->n_queue, rate, eta);
    }
    fflush(stderr);
}

static long finished_total(gad_batch *b, long add) {
    if (gad_mpi_active()) return gad_mpi_counter_add_done(add);
    return b->done + b->failed;
}

/* n more images done; g_done, the signal handler's count, only when
 * counted (deferred records count it as each is renamed) */
static void count_done(gad_batch *b, int n, int counted) {
    for (int i = 0; i < n; i++) {
        b->done++;
        if (!counted) g_done = g_done + 1;
        long tot = finished_total(b, 1);
        if (b->progress != GAD_PROGRESS_NONE) progress_line(b, tot);
    }
}

int gad_batch_record(gad_batch *b, int idx, const char *line, gad_err *err) {
    return gad_batch_record_bytes(b, idx, line, strlen(line), err);
}

int gad_batch_record_bytes(gad_batch *b, int idx, const void *data, size_t len, gad_err *err) {
    char p[4096];
    record_path(b->out_dir, b->paths->v[idx], b->record_suffix, p, sizeof p);
    gad_atomic at = {0};
    int rc = settings_write(b, err);
    if (!rc) rc = gad_atomic_open(p, &at, err);
    if (rc) return rc;
    at.landmark = 1;
    if (fwrite(data, 1, len, at.f) != len) {
        gad_atomic_abort(&at);
        return gad_err_set(err, GAD_EIO, "%s: write error", p);
    }
    if ((rc = gad_atomic_commit(&at, err))) return rc;
    if (b->writing)
        b->pending++;
    else
        count_done(b, 1, 0);
    return 0;
}

/* The write phase (batch.h): from gad_batch_open to gad_batch_finish every
 * commit on this thread is deferred; write_sync makes the pending files
 * durable and renames them, then counts their images. */
static void write_begin(gad_batch *b) {
    b->writing = 1;
    b->pending = 0;
    b->t_write0 = omp_get_wtime();
    gad_atomic_defer_begin(&g_done);
}

static int write_sync(gad_batch *b, gad_err *err) {
    int rc = gad_atomic_defer_end(err);
    /* on failure, images whose records were renamed before it are complete
     * on disk but not counted: --resume skips them anyway */
    if (!rc) count_done(b, b->pending, 1);
    b->writing = b->pending = 0;
    return rc;
}

void gad_batch_failed(gad_batch *b) {
    b->failed++;
    long tot = finished_total(b, 1);
    if (b->progress != GAD_PROGRESS_NONE) progress_line(b, tot);
}

double gad_batch_tic(void) { return omp_get_wtime(); }
void gad_batch_toc(gad_batch *b, gad_phase ph, double t0) { b->t_phase[ph] += omp_get_wtime() - t0; }

int gad_batch_merge(const char *out_dir, const gad_cli_paths *paths, int *n_found, gad_err *err) {
    char p[4096];
    snprintf(p, sizeof p, "%s/results.jsonl", out_dir);
    gad_atomic out = {0};
    int rc = gad_atomic_open(p, &out, err), found = 0;
    char buf[65536];
    for (int k = 0; !rc && k < paths->n; k++) {
        char rp[4096];
        record_path(out_dir, paths->v[k], ".result.json", rp, sizeof rp);
        FILE *f = fopen(rp, "rb");
        if (!f) continue; /* failed, or not done (yet) */
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, f)) > 0)
            if (fwrite(buf, 1, got, out.f) != got) break;
        if (ferror(f) || ferror(out.f)) rc = gad_err_set(err, GAD_EIO, "%s: read error while merging into %s", rp, p);
        fclose(f);
        found++;
    }
    /* no image complete: leave no empty results.jsonl behind (a run where
     * every input was bad writes nothing) */
    if (rc || !found) {
        gad_atomic_abort(&out);
        if (n_found) *n_found = found;
        return rc;
    }
    if ((rc = gad_atomic_commit(&out, err))) return rc;
    if (n_found) *n_found = found;
    return 0;
}

/* ---- profile ---------------------------------------------------------- */

static const char *const phase_names[GAD_PH_COUNT] = {"load", "preprocess", "forward", "backward",
                                                      "kernels", "fusion", "write"};
enum { PF_WALL = GAD_PH_COUNT, PF_FLOPS, PF_THREADS, PF_RSS, PF_IMAGES, PF_N };

static double peak_rss_mb(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return 0;
    return ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

static int write_profile(gad_batch *b, gad_err *err) {
    double mine[PF_N];
    for (int j = 0; j < GAD_PH_COUNT; j++) mine[j] = b->t_phase[j];
    mine[PF_WALL] = omp_get_wtime() - b->t0;
    mine[PF_FLOPS] = b->flops;
    mine[PF_THREADS] = b->threads;
    mine[PF_RSS] = peak_rss_mb();
    mine[PF_IMAGES] = b->done;
    int ranks = gad_mpi_size();
    double *all = malloc((size_t)ranks * PF_N * sizeof *all);
    if (!all) return gad_err_set(err, GAD_ENOMEM, "gad %s: out of memory", b->command);
    gad_mpi_gather(mine, PF_N, all);
    int rc = 0;
    if (gad_mpi_rank() == 0) {
        gad_atomic at = {0};
        rc = gad_atomic_open(b->profile_path, &at, err);
        if (!rc) {
            FILE *f = at.f;
            double imgs = 0, wall = 0, flops = 0;
            for (int r = 0; r < ranks; r++) {
                imgs += all[r * PF_N + PF_IMAGES];
                flops += all[r * PF_N + PF_FLOPS];
                wall = fmax(wall, all[r * PF_N + PF_WALL]);
            }
            fprintf(f, "{\"command\": \"%s\", \"ranks\": %d, \"images\": %.0f, \"wall_s\": %.6f, "
                       "\"images_per_s\": %.6g, \"gflops_per_s\": %.6g,\n",
                    b->command, ranks, imgs, wall, imgs / fmax(wall, 1e-9), flops / fmax(wall, 1e-9) / 1e9);
            fprintf(f, " \"notes\": \"seconds: load = model and plans; preprocess = image read, decode, resize, "
                       "normalise and baselines; forward, backward, kernels = network passes and SIMD "
                       "accumulation summed over worker threads (can exceed wall time); fusion = GAD fusion; "
                       "write = output files and records. FLOPs = the model's forward FLOPs (gad info) x "
                       "(points x 2 + probe forwards) an image: a backward to the input costs about a forward. "
                       "gflops_per_s = FLOPs / wall time.\",\n \"per_rank\": [");
            for (int r = 0; r < ranks; r++) {
                const double *v = all + r * PF_N;
                fprintf(f, "%s\n  {\"rank\": %d, \"threads\": %.0f, \"images\": %.0f, \"wall_s\": %.6f, "
                           "\"gflops_per_s\": %.6g, \"peak_rss_mb\": %.1f, \"seconds\": {",
                        r ? "," : "", r, v[PF_THREADS], v[PF_IMAGES], v[PF_WALL],
                        v[PF_FLOPS] / fmax(v[PF_WALL], 1e-9) / 1e9, v[PF_RSS]);
                for (int j = 0; j < GAD_PH_COUNT; j++)
                    fprintf(f, "%s\"%s\": %.6f", j ? ", " : "", phase_names[j], v[j]);
                fputs("}}", f);
            }
            fputs("\n]}\n", f);
            rc = gad_atomic_commit(&at, err);
        }
    }
    free(all);
    return rc;
}

int gad_batch_finish(gad_batch *b, int status) {
    gad_err err = {0};
    if (b->progress == GAD_PROGRESS_BAR) fputc('\n', stderr);
    double t = gad_batch_tic();
    if (b->writing && write_sync(b, &err)) {
        gad_cli_fail(&err);
        gad_batch_stopped(b);
        status = 1;
    }
    double c[2] = {b->done, b->failed};
    gad_mpi_barrier(); /* every rank's records are on disk */
    gad_mpi_allreduce_sum(c, 2);
    if (b->progress == GAD_PROGRESS_JSON && gad_mpi_active()) progress_line(b, (long)(c[0] + c[1]));
    int found = 0;
    if (b->merge_results && gad_mpi_rank() == 0 && gad_batch_merge(b->out_dir, b->paths, &found, &err))
        status = gad_cli_fail(&err);
    gad_batch_toc(b, GAD_PH_WRITE, t);
    if (b->profile_path && write_profile(b, &err)) status = gad_cli_fail(&err);
    /* the summary adds nothing to a lone image's own error line */
    if (c[1] > 0 && gad_mpi_rank() == 0 && b->n_queue > 1) {
        fprintf(stderr, "gad %s: %.0f of %d images failed; %.0f written to %s\n", b->command, c[1], b->n_queue,
                c[0], b->out_dir);
    }
    if (c[1] > 0) status = status ? status : 1;
    if (gad_mpi_active()) status = gad_mpi_allreduce_max_int(status);
    g_active = 0;
    return status;
}

void gad_batch_stopped(const gad_batch *b) {
    fprintf(stderr,
            "gad %s: stopped by an error after %d of %d images; their outputs in %s are complete; "
            "rerun with --resume to finish\n",
            b->command, b->done + b->n_skipped, b->n_share, b->out_dir);
    g_active = 0;
    /* the other ranks would wait for this one at the final barrier */
    if (gad_mpi_active()) gad_mpi_abort(1);
}

/* ---- async-signal-safe message ------------------------------------- */

static size_t put_str(char *buf, size_t at, size_t cap, const char *s) {
    while (s && *s && at + 1 < cap) buf[at++] = *s++;
    return at;
}

static size_t put_int(char *buf, size_t at, size_t cap, long v) {
    char t[24];
    int n = 0;
    if (v < 0) v = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < 23);
    while (n && at + 1 < cap) buf[at++] = t[--n];
    return at;
}

int gad_batch_on_signal(void) {
    if (!g_active) return 0;
    static char buf[4096 + 256];
    size_t n = 0, cap = sizeof buf;
    n = put_str(buf, n, cap, "gad ");
    n = put_str(buf, n, cap, g_cmd);
    if (g_ranks > 1) {
        /* a rank knows only its own count (asking rank 0 is no signal-safe call) */
        n = put_str(buf, n, cap, ": rank ");
        n = put_int(buf, n, cap, g_rank);
        n = put_str(buf, n, cap, " of ");
        n = put_int(buf, n, cap, g_ranks);
        n = put_str(buf, n, cap, " interrupted after its ");
        n = put_int(buf, n, cap, g_done);
        n = put_str(buf, n, cap, " images (");
        n = put_int(buf, n, cap, g_total);
        n = put_str(buf, n, cap, " in the job); their outputs in ");
    } else {
        n = put_str(buf, n, cap, ": interrupted after ");
        n = put_int(buf, n, cap, g_done);
        n = put_str(buf, n, cap, " of ");
        n = put_int(buf, n, cap, g_total);
        n = put_str(buf, n, cap, " images; their outputs in ");
    }
    n = put_str(buf, n, cap, g_dir);
    n = put_str(buf, n, cap, " are complete; rerun with --resume to finish\n");
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
    return 1;
}

/* ---- lines ------------------------------------------------------------- */

int gad_line_open(gad_line *l) {
    l->buf = NULL;
    l->len = 0;
    l->f = open_memstream(&l->buf, &l->len);
    return l->f ? 0 : GAD_ENOMEM;
}

void gad_line_close(gad_line *l) {
    if (l->f) fclose(l->f);
    l->f = NULL;
}

/* ---- gad merge ---------------------------------------------------------- */

int gad_cmd_merge(int argc, char **argv) {
    gad_flag flags[] = {GAD_INPUT_FLAGS,
                        {"out", 1, "DIR: the output folder the batch jobs wrote", 0},
                        {"help", 0, "show this help", 0},
                        {0}};
    gad_args a = {.command = "merge", .flags = flags};
    gad_err err = {0};
    if (gad_args_parse(&a, argc, argv, 2, &err)) return gad_cli_fail(&err);
    if (gad_args_has(&a, "help")) {
        gad_args_usage(&a, "--out DIR IMAGE|FOLDER...|--list FILE  (the inputs the jobs were given)");
        return 0;
    }
    const char *out = gad_args_get(&a, "out");
    if (!out) return gad_cli_fail_msg("gad merge: --out DIR is required");
    gad_cli_paths paths = {0};
    int found = 0, status = 0;
    if (gad_cli_paths_collect(&a, &paths, &err) || gad_cli_check_stems(&paths, &err) ||
        gad_batch_merge(out, &paths, &found, &err)) {
        status = gad_cli_fail(&err);
    } else if (found < paths.n) {
        for (int k = 0; k < paths.n; k++) {
            char rp[4096];
            record_path(out, paths.v[k], ".result.json", rp, sizeof rp);
            if (!is_file(rp)) {
                fprintf(stderr, "gad merge: %d of %d images have no record in %s (failed or not done), e.g. %s; "
                                "results.jsonl has the other %d\n",
                        paths.n - found, paths.n, out, paths.v[k], found);
                break;
            }
        }
        status = 1;
    }
    gad_cli_paths_free(&paths);
    return status;
}

void gad_batch_record_path(const gad_batch *b, int k, char *out, size_t n) {
    record_path(b->out_dir, b->paths->v[k], b->record_suffix, out, n);
}
