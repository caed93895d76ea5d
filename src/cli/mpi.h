/* mpi.h — the CLI's use of MPI, optional at build time (GAD_HAVE_MPI).
 *
 * The same `gad` binary runs alone or under a launcher: MPI is initialised
 * only when the environment shows one started the process (OpenMPI's
 * OMPI_COMM_WORLD_SIZE, PMIx's PMIX_RANK, or PMI_RANK), so plain runs never
 * touch MPI. Without MPI (not built, or not launched) every call below acts
 * as a world of one rank. The library never depends on MPI. */
#ifndef GAD_CLI_MPI_H
#define GAD_CLI_MPI_H

/* Initialise MPI if launched by mpirun/srun; also sets the OpenMP threads
 * of each rank (unless OMP_NUM_THREADS is set) to the cores it may use
 * divided among the ranks on its node. Returns 0, or 1 when MPI was
 * requested by the environment but this build has none (a message is
 * printed). */
int gad_mpi_init(int *argc, char ***argv);
void gad_mpi_finalize(void);
int gad_mpi_rank(void);
int gad_mpi_size(void);
int gad_mpi_active(void); /* 1 when running with more than one rank */

void gad_mpi_barrier(void);
/* End every rank (a fatal error on one). */
void gad_mpi_abort(int code);
void gad_mpi_bcast_ints(int *v, int n);           /* from rank 0 */
void gad_mpi_allreduce_sum(double *v, int n);     /* in place, every rank */
void gad_mpi_allreduce_sum_f(float *v, long n);   /* in place, every rank */
int gad_mpi_allreduce_max_int(int v);
/* Rank 0 gets every rank's n doubles in all[rank * n + j]; others: all unused. */
void gad_mpi_gather(const double *v, int n, double *all);

/* A work counter on rank 0 that every rank takes from with an atomic
 * fetch-and-add (one-sided, so rank 0 needs not answer messages while it
 * computes): the dynamic load balancing of batch jobs. A second counter
 * sums finished images for rank 0's progress reports. */
int gad_mpi_counter_open(void);
long gad_mpi_counter_take(long n);      /* returns the old value; counter += n */
long gad_mpi_counter_add_done(long n);  /* returns the finished count after adding */
void gad_mpi_counter_close(void);

#endif
