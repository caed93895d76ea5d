/* Atomic writes: temporary in the same folder (rename is only atomic within
 * one filesystem), then rename. In-flight temporaries are listed in a fixed
 * lock-free table so a signal handler can remove them without locks or
 * allocation. */
#define _GNU_SOURCE /* syncfs */
#include "io/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gad/gad.h"

#define GAD_ATOMIC_SLOTS 256
#define GAD_ATOMIC_PATH_MAX 4096

/* state: 0 free, 1 being filled or emptied (ignored by cleanup), 2 live. */
static struct {
    atomic_int state;
    char path[GAD_ATOMIC_PATH_MAX];
} registry[GAD_ATOMIC_SLOTS];

static atomic_uint counter;

static int registry_add(const char *tmp) {
    if (strlen(tmp) >= GAD_ATOMIC_PATH_MAX) return -1;
    for (int i = 0; i < GAD_ATOMIC_SLOTS; i++) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&registry[i].state, &expect, 1)) {
            strcpy(registry[i].path, tmp);
            atomic_store(&registry[i].state, 2);
            return i;
        }
    }
    /* Table full: the write still works, only signal cleanup misses it. */
    return -1;
}

static void registry_remove(int slot) {
    if (slot < 0) return;
    atomic_store(&registry[slot].state, 1);
    registry[slot].path[0] = 0;
    atomic_store(&registry[slot].state, 0);
}

void gad_atomic_cleanup_all(void) {
    for (int i = 0; i < GAD_ATOMIC_SLOTS; i++)
        if (atomic_load(&registry[i].state) == 2) unlink(registry[i].path);
}

/* Commits deferred on this thread (gad_atomic_defer_begin): each file is
 * closed, its temporary still registered, waiting for the one sync. */
typedef struct pending {
    char *path, *tmp;
    int slot, landmark;
    dev_t dev;
} pending;

static _Thread_local struct {
    int on, n;
    volatile sig_atomic_t *landed;
    pending v[GAD_ATOMIC_DEFER_MAX];
} defer;

static void release(gad_atomic *a) {
    registry_remove(a->slot);
    free(a->path);
    free(a->tmp);
    a->f = NULL;
    a->path = a->tmp = NULL;
    a->slot = -1;
}

int gad_atomic_open(const char *path, gad_atomic *a, gad_err *err) {
    memset(a, 0, sizeof *a);
    a->slot = -1;
    if (!path || !*path) return gad_err_set(err, GAD_EINVAL, "(null): empty output path");
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dirlen;
    if (!*base) return gad_err_set(err, GAD_EINVAL, "%s: output path names a folder", path);
    a->path = malloc(n + 1);
    a->tmp = malloc(n + 64);
    if (!a->path || !a->tmp) {
        release(a);
        return gad_err_set(err, GAD_ENOMEM, "%s: out of memory", path);
    }
    memcpy(a->path, path, n + 1);
    int fd = -1, e = 0;
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned r = atomic_fetch_add(&counter, 1) * 2654435761u ^ (unsigned)ts.tv_nsec;
        snprintf(a->tmp, n + 64, "%.*s.%s.tmp.%ld.%08x", (int)dirlen, path, base,
                 (long)getpid(), r);
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        e = errno;
        if (fd < 0 && e != EEXIST) break;
    }
    if (fd < 0) {
        int rc = gad_err_set(err, GAD_EIO, "%s: cannot create temporary file %s: %s", path,
                             a->tmp, strerror(e));
        release(a);
        return rc;
    }
    a->slot = registry_add(a->tmp);
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        e = errno;
        close(fd);
        unlink(a->tmp);
        release(a);
        return gad_err_set(err, GAD_EIO, "%s: cannot open temporary file: %s", path, strerror(e));
    }
    return 0;
}

static int defer_flush(gad_err *err);

static int commit_deferred(gad_atomic *a, gad_err *err) {
    int e = 0;
    struct stat st;
    if (a->f) {
        if (fflush(a->f) != 0 || ferror(a->f)) e = errno ? errno : EIO;
        if (!e && fstat(fileno(a->f), &st) != 0) e = errno;
        if (fclose(a->f) != 0 && !e) e = errno ? errno : EIO;
        a->f = NULL;
    } else if (stat(a->tmp, &st) != 0) {
        e = errno;
    }
    if (e) {
        int rc = gad_err_set(err, GAD_EIO, "%s: cannot write: %s", a->path, strerror(e));
        unlink(a->tmp);
        release(a);
        return rc;
    }
    /* the pending entry takes over the names and the registry slot */
    defer.v[defer.n++] = (pending){a->path, a->tmp, a->slot, a->landmark, st.st_dev};
    a->path = a->tmp = NULL;
    a->slot = -1;
    return defer.n == GAD_ATOMIC_DEFER_MAX ? defer_flush(err) : 0;
}

void gad_atomic_defer_begin(volatile sig_atomic_t *landed) {
    defer.on = 1;
    defer.landed = landed;
}

static void pending_release(pending *p) {
    registry_remove(p->slot);
    free(p->path);
    free(p->tmp);
}

static int defer_flush(gad_err *err) {
    int rc = 0, e = 0, i = 0;
    const char *what = NULL;
    /* one sync a filesystem (nearly always one): syncfs writes the data
     * and metadata of every file on it, ours included */
    for (int k = 0; k < defer.n && !e; k++) {
        int seen = 0;
        for (int j = 0; j < k; j++) seen |= defer.v[j].dev == defer.v[k].dev;
        if (seen) continue;
        int fd = open(defer.v[k].tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            e = errno;
            what = defer.v[k].path;
            continue;
        }
        if (syncfs(fd) != 0) {
            /* a filesystem without syncfs: each of its files on its own,
             * EINVAL meaning one that cannot sync at all (as in commit) */
            if (errno == EINVAL || errno == ENOSYS) {
                for (int j = k; j < defer.n && !e; j++) {
                    if (defer.v[j].dev != defer.v[k].dev) continue;
                    int f = open(defer.v[j].tmp, O_RDONLY | O_CLOEXEC);
                    if (f < 0 || (fsync(f) != 0 && errno != EINVAL)) {
                        e = errno;
                        what = defer.v[j].path;
                    }
                    if (f >= 0) close(f);
                }
            } else {
                e = errno;
                what = defer.v[k].path;
            }
        }
        close(fd);
    }
    for (; i < defer.n && !e; i++) {
        if (rename(defer.v[i].tmp, defer.v[i].path) != 0) {
            e = errno;
            what = defer.v[i].path;
            break;
        }
        if (defer.v[i].landmark && defer.landed) *defer.landed = *defer.landed + 1;
        pending_release(&defer.v[i]);
    }
    if (e) rc = gad_err_set(err, GAD_EIO, "%s: cannot write: %s", what, strerror(e));
    for (; i < defer.n; i++) {
        unlink(defer.v[i].tmp);
        pending_release(&defer.v[i]);
    }
    defer.n = 0;
    return rc;
}

int gad_atomic_defer_end(gad_err *err) {
    int rc = defer_flush(err);
    defer.on = 0;
    return rc;
}

void gad_atomic_defer_abort(void) {
    for (int i = 0; i < defer.n; i++) {
        unlink(defer.v[i].tmp);
        pending_release(&defer.v[i]);
    }
    defer.n = 0;
    defer.on = 0;
}

int gad_atomic_commit(gad_atomic *a, gad_err *err) {
    if (!a->tmp) return gad_err_set(err, GAD_ESTATE, "(atomic): commit without open");
    if (defer.on) return commit_deferred(a, err);
    int e = 0;
    if (a->f) {
        if (fflush(a->f) != 0 || ferror(a->f)) e = errno ? errno : EIO;
        /* fsync before rename: otherwise a crash can leave the new name
         * pointing at an empty file on some filesystems. */
        if (!e && fsync(fileno(a->f)) != 0 && errno != EINVAL) e = errno;
        if (fclose(a->f) != 0 && !e) e = errno ? errno : EIO;
        a->f = NULL;
    } else {
        int fd = open(a->tmp, O_RDONLY | O_CLOEXEC);
        if (fd < 0) e = errno;
        else {
            if (fsync(fd) != 0 && errno != EINVAL) e = errno;
            close(fd);
        }
    }
    if (!e && rename(a->tmp, a->path) != 0) e = errno;
    if (e) {
        int rc = gad_err_set(err, GAD_EIO, "%s: cannot write: %s", a->path, strerror(e));
        unlink(a->tmp);
        release(a);
        return rc;
    }
    release(a);
    return 0;
}

void gad_atomic_abort(gad_atomic *a) {
    if (!a) return;
    if (a->f) fclose(a->f);
    a->f = NULL;
    if (a->tmp) unlink(a->tmp);
    if (a->tmp || a->path) release(a);
}
