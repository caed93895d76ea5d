/* batch.h — batch-job semantics shared by `gad attribute` and `gad explain`:
 * the share of the inputs a process works on (--shard, MPI ranks), which
 * images are already complete (--resume), one completion record a finished
 * image, results.jsonl merged from the records, progress lines and the
 * --profile breakdown.
 *
 * Completion record: after an image's output files are written (each
 * atomically), its results line is written atomically to DIR/S.result.json.
 * Its presence is the proof that the image is complete, so a run stopped at
 * any point can be resumed, and shards writing into one folder need no
 * coordination. results.jsonl is assembled from the records in input order. */
#ifndef GAD_CLI_BATCH_H
#define GAD_CLI_BATCH_H

#include <stdio.h>

#include "cli/args.h"
#include "cli/common.h"

#define GAD_BATCH_FLAGS                                                                              \
    {"shard", 1, "I/N: only the images k (0-based, input order) with k mod N = I; 0 <= I < N", 0},   \
        {"resume", 0, "skip images whose record S.result.json and outputs are complete", 0},         \
        {"progress", 1, "bar|json|none: progress on stderr (bar on a terminal, else none)", 0},      \
        {"profile", 1, "FILE: JSON breakdown of times, GFLOP/s, threads, peak memory (per rank)", 0}

/* Phases timed for --profile (seconds, summed over the process). */
typedef enum gad_phase {
    GAD_PH_LOAD,       /* model (and support models) loaded and planned */
    GAD_PH_PREPROCESS, /* images read, decoded, resized, normalised; baselines */
    GAD_PH_FORWARD,    /* network forward passes (inside the engine) */
    GAD_PH_BACKWARD,   /* network backward passes (inside the engine) */
    GAD_PH_KERNELS,    /* SIMD accumulate / reduce (inside the engine) */
    GAD_PH_FUSION,     /* GAD fusion (explain) */
    GAD_PH_WRITE,      /* output files and records */
    GAD_PH_COUNT
} gad_phase;

typedef enum gad_progress_mode { GAD_PROGRESS_NONE, GAD_PROGRESS_BAR, GAD_PROGRESS_JSON } gad_progress_mode;

typedef struct gad_batch {
    const char *command; /* "attribute" */
    const char *out_dir;
    const gad_cli_paths *paths; /* the full input list, in input order */
    int shard_i, shard_n;
    int resume;
    const char *const *suffixes; /* output files of an image: DIR/S<suffix> */
    const char *record_suffix;   /* DIR/S<record_suffix>: ".result.json" */
    int merge_results;           /* gad_batch_finish writes results.jsonl (1) */
    int n_suffixes;
    int *queue;    /* indices into paths this job must do (same on every rank) */
    int n_queue;   /* images to do after --shard and --resume */
    int n_share;  /* images of the shard (before --resume) */
    int n_skipped;/* complete already (--resume) */
    int next;     /* next queue slot (single process) */
    int done, failed; /* this process */
    int writing;      /* commits are deferred (see gad_batch_next) */
    int pending;      /* records written since begin, not yet durable */
    double t_write0;  /* when the pending commits began */
    char *settings;   /* this run's DIR/.gad-settings text (batch.c) */
    int settings_written;
    gad_progress_mode progress;
    const char *profile_path;
    double t0, t_phase[GAD_PH_COUNT];
    double flops_per_image; /* model forward FLOPs x passes an image (0: unknown) */
    double flops;           /* total counted */
    int threads;
} gad_batch;

/* Check --shard and --progress alone (before the output folder is made). */
int gad_batch_check_flags(const gad_args *a, const char *command, gad_err *err);

/* Parse --shard/--resume/--progress/--profile and work out the images to do.
 * suffixes lists the output files of an image (for --resume); record_suffix
 * names the records (NULL: ".result.json" records holding results.jsonl
 * lines, merged at the end; else the command reads its records back
 * itself). Under MPI,
 * rank 0 decides the list and broadcasts it, so that records written while
 * other ranks start cannot make them disagree. */
int gad_batch_open(const gad_args *a, const char *command, const char *out_dir, const gad_cli_paths *paths,
                   const char *const *suffixes, int n_suffixes, const char *record_suffix, gad_batch *b,
                   gad_err *err);
void gad_batch_close(gad_batch *b);

/* Up to `max` next image indices (into paths) for this process; 0 when the
 * work is exhausted, -1 (already reported, with the stopped line) when the
 * outputs written so far could not be made durable. Under MPI the images
 * are handed out dynamically.
 *
 * Writes: from gad_batch_open to gad_batch_finish, every output and record
 * this thread commits is only closed (see gad_atomic_defer_begin). Once
 * GAD_BATCH_SYNC_IMAGES records are pending or GAD_BATCH_SYNC_SECONDS have
 * passed, the next call makes them all durable at once, renames them and
 * only then counts those images as done, so that the interrupt message never
 * counts an image whose files a signal would remove; the time bound caps the
 * work an interrupt throws away on big models. gad_batch_finish syncs the
 * rest; gad_batch_close abandons them. */
#define GAD_BATCH_SYNC_IMAGES 32
#define GAD_BATCH_SYNC_SECONDS 1.0
int gad_batch_next(gad_batch *b, int max, int *idx);
/* Images a chunk (2 a thread, at most the queue, at least 1) for `threads`
 * worker threads (0: all OpenMP threads); sets b->threads for --profile. */
int gad_batch_chunk(gad_batch *b, int threads);

/* Write the record DIR/S.result.json holding `line` (a JSON object and a
 * newline) atomically; the image then counts as done. */
int gad_batch_record(gad_batch *b, int idx, const char *line, gad_err *err);
/* The same with any bytes (a binary record). */
int gad_batch_record_bytes(gad_batch *b, int idx, const void *data, size_t len, gad_err *err);
/* Record of path k in dir (for commands that read records back). */
void gad_batch_record_path(const gad_batch *b, int k, char *out, size_t n);
/* An image that failed (already reported). */
void gad_batch_failed(gad_batch *b);

/* End of the run: wait for every rank, merge results.jsonl (rank 0), write
 * --profile, print the failure summary. Returns the exit status. */
int gad_batch_finish(gad_batch *b, int status);

/* The fatal-error line: "gad CMD: stopped by an error after D of T images;
 * ..." (printed by the commands when the engine fails mid-run). */
void gad_batch_stopped(const gad_batch *b);

/* Merge DIR/S.result.json of every path, in order, into DIR/results.jsonl
 * (atomically). *n_found gets the number of records. */
int gad_batch_merge(const char *out_dir, const gad_cli_paths *paths, int *n_found, gad_err *err);

/* Timers: gad_batch_tic returns now; gad_batch_toc adds now - t0 to a phase. */
double gad_batch_tic(void);
void gad_batch_toc(gad_batch *b, gad_phase ph, double t0);

/* For main.c's signal handler: write "gad CMD: interrupted after D of T
 * images; ..." to stderr if a batch is running (returns 1), else 0.
 * Async-signal-safe. */
int gad_batch_on_signal(void);

/* Build a JSON line into a growable buffer (open_memstream). */
typedef struct gad_line {
    char *buf;
    size_t len;
    FILE *f;
} gad_line;
int gad_line_open(gad_line *l);
/* Close the stream; l->buf holds the text (caller frees). */
void gad_line_close(gad_line *l);

/* `gad merge --out DIR IMAGE|FOLDER...|--list FILE`. */
int gad_cmd_merge(int argc, char **argv);

#endif
