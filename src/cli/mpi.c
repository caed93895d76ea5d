#include "cli/mpi.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

/* Threads a rank uses: the cores it may run on (its affinity mask, which a
 * launcher binding ranks to cores shrinks) and, on a node shared by L ranks,
 * at most the node's cores / L, so `mpirun -n 2` on 2 cores does not
 * oversubscribe. OMP_NUM_THREADS or --threads still win. */
static void set_rank_threads(void) {
    if (getenv("OMP_NUM_THREADS")) return;
    const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!ls) ls = getenv("MPI_LOCALNRANKS");
    if (!ls) ls = getenv("SLURM_NTASKS_PER_NODE");
    int local = ls ? atoi(ls) : 1;
    if (local < 1) local = 1;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int share = online > 0 ? (int)(online / local) : 1;
    int mine = omp_get_num_procs();
    int t = mine < share ? mine : share;
    omp_set_num_threads(t < 1 ? 1 : t);
}

#ifdef GAD_HAVE_MPI
#include <mpi.h>

static int g_on, g_rank, g_size = 1;
static MPI_Win g_win = MPI_WIN_NULL;
static long *g_base;

int gad_mpi_init(int *argc, char ***argv) {
    if (!launched()) return 0;
    int provided;
    /* FUNNELED: only the main thread calls MPI; OpenMP threads compute */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "gad: MPI_Init failed\n");
        return 1;
    }
    g_on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    set_rank_threads();
    return 0;
}

void gad_mpi_finalize(void) {
    if (!g_on) return;
    gad_mpi_counter_close();
    MPI_Finalize();
    g_on = 0;
}

int gad_mpi_rank(void) { return g_rank; }
int gad_mpi_size(void) { return g_size; }
int gad_mpi_active(void) { return g_on && g_size > 1; }

void gad_mpi_barrier(void) {
    if (g_on) MPI_Barrier(MPI_COMM_WORLD);
}

void gad_mpi_abort(int code) {
    if (g_on) MPI_Abort(MPI_COMM_WORLD, code);
}

void gad_mpi_bcast_ints(int *v, int n) {
    if (g_on && n > 0) MPI_Bcast(v, n, MPI_INT, 0, MPI_COMM_WORLD);
}

void gad_mpi_allreduce_sum(double *v, int n) {
    if (g_on && n > 0) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

void gad_mpi_allreduce_sum_f(float *v, long n) {
    /* in pieces: MPI counts are int */
    for (long off = 0; g_on && off < n; off += 1 << 28) {
        long k = n - off < (1 << 28) ? n - off : (1 << 28);
        MPI_Allreduce(MPI_IN_PLACE, v + off, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
}

int gad_mpi_allreduce_max_int(int v) {
    if (g_on) MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

void gad_mpi_gather(const double *v, int n, double *all) {
    if (!g_on) {
        for (int j = 0; j < n; j++) all[j] = v[j];
        return;
    }
    MPI_Gather(v, n, MPI_DOUBLE, all, n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

int gad_mpi_counter_open(void) {
    if (!g_on) return 0;
    MPI_Aint bytes = g_rank == 0 ? 2 * sizeof(long) : 0;
    if (MPI_Win_allocate(bytes, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD, &g_base, &g_win) != MPI_SUCCESS)
        return -1;
    if (g_rank == 0) {
        MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, g_win);
        g_base[0] = g_base[1] = 0;
        MPI_Win_unlock(0, g_win);
    }
    MPI_Barrier(MPI_COMM_WORLD); /* counters are zero before anyone takes */
    return 0;
}

static long fetch_add(int slot, long n) {
    long old = 0;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, g_win);
    MPI_Fetch_and_op(&n, &old, MPI_LONG, 0, slot, MPI_SUM, g_win);
    MPI_Win_unlock(0, g_win);
    return old;
}

long gad_mpi_counter_take(long n) { return fetch_add(0, n); }
long gad_mpi_counter_add_done(long n) { return fetch_add(1, n) + n; }

void gad_mpi_counter_close(void) {
    if (g_win != MPI_WIN_NULL) MPI_Win_free(&g_win);
    g_win = MPI_WIN_NULL;
}

#else /* built without MPI: a world of one rank */

int gad_mpi_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (!launched()) return 0;
    /* several copies of this binary would each do the whole job */
    fprintf(stderr, "gad: started by an MPI launcher, but this gad was built without MPI "
                    "(install libopenmpi-dev and rebuild with -DGAD_MPI=ON)\n");
    set_rank_threads();
    return 1;
}
void gad_mpi_finalize(void) {}
int gad_mpi_rank(void) { return 0; }
int gad_mpi_size(void) { return 1; }
int gad_mpi_active(void) { return 0; }
void gad_mpi_barrier(void) {}
void gad_mpi_abort(int code) { (void)code; }
void gad_mpi_bcast_ints(int *v, int n) {
    (void)v;
    (void)n;
}
void gad_mpi_allreduce_sum(double *v, int n) {
    (void)v;
    (void)n;
}
void gad_mpi_allreduce_sum_f(float *v, long n) {
    (void)v;
    (void)n;
}
int gad_mpi_allreduce_max_int(int v) { return v; }
void gad_mpi_gather(const double *v, int n, double *all) {
    for (int j = 0; j < n; j++) all[j] = v[j];
}
int gad_mpi_counter_open(void) { return 0; }
long gad_mpi_counter_take(long n) {
    (void)n;
    return 0;
}
long gad_mpi_counter_add_done(long n) { return n; }
void gad_mpi_counter_close(void) {}

#endif
