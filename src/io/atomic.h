/* Atomic file writing: every writer creates its output under a temporary
 * name in the destination folder and renames it into place only once the
 * content is complete, so a crash, a full disk or a signal never leaves a
 * half-written file under the real name. */
#ifndef GAD_IO_ATOMIC_H
#define GAD_IO_ATOMIC_H

#include <stdio.h>

struct gad_err;

typedef struct gad_atomic {
    FILE *f;          /* open on tmp ("wb"); a writer may fclose it and set
                         NULL to reopen tmp by name (libtiff does) */
    char *path;       /* final name (copy) */
    char *tmp;        /* temporary name, ".NAME.tmp.PID.N" next to path */
    int slot;         /* registry slot for gad_atomic_cleanup_all, or -1 */
    int landmark;     /* set before a deferred commit: its rename adds one
                         to the counter given to gad_atomic_defer_begin */
} gad_atomic;

/* Create the temporary (exclusively) and open it for writing. */
int gad_atomic_open(const char *path, gad_atomic *a, struct gad_err *err);
/* Flush, fsync, close and rename over path. On failure the temporary is
 * removed. Either way `a` is released. */
int gad_atomic_commit(gad_atomic *a, struct gad_err *err);
/* Close and unlink the temporary; releases `a`. Safe on a zeroed struct. */
void gad_atomic_abort(gad_atomic *a);

/* Deferred commits, for writers of many small files (a batch job writes
 * three or four files an image): between begin and end, gad_atomic_commit
 * on this thread only flushes and closes its temporary; end makes all of
 * them durable with one syncfs per filesystem and then renames them in
 * commit order. An fsync a file cost more than the attribution itself on
 * small models. Until end, the temporaries stay registered, so a signal
 * removes them like any in-flight file. end also runs early, inside a
 * commit, once GAD_ATOMIC_DEFER_MAX files are pending (the registry is
 * small). On failure end reports the first error and unlinks the
 * temporaries it had not renamed; abort unlinks all pending ones.
 * `landed` (may be NULL) counts the renames of files marked landmark (a
 * batch's records), as each happens, so that a signal handler reading it
 * never counts a record that is not in place. */
#define GAD_ATOMIC_DEFER_MAX 128
#include <signal.h>
void gad_atomic_defer_begin(volatile sig_atomic_t *landed);
int gad_atomic_defer_end(struct gad_err *err);
void gad_atomic_defer_abort(void);

/* Unlink every temporary still in flight. Async-signal-safe (only reads
 * lock-free atomics and calls unlink), meant for a SIGINT/SIGTERM handler. */
void gad_atomic_cleanup_all(void);

#endif
