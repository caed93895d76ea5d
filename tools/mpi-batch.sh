#!/usr/bin/env bash
# Explain a data set with MPI: one `gad CMD` over R ranks, rank 0 handing
# out images (dynamic load balancing: an image under --tolerance or with a
# noise tunnel costs more than another), each rank on its share of a node's
# cores with OpenMP; one OUT/results.jsonl, outputs identical to one process.
#
#   sbatch --nodes=4 tools/mpi-batch.sh CMD OUT LIST -- GAD_FLAGS...
#       inside a Slurm allocation: RANKS_PER_NODE ranks a node (default 1),
#       each bound to the node's cores / RANKS_PER_NODE.
#   NP=2 tools/mpi-batch.sh CMD OUT LIST -- GAD_FLAGS...
#       outside Slurm: NP ranks on this machine, or on HOSTFILE's hosts.
#
# Run again with the same arguments to finish a run that was stopped: the
# script passes --resume. Extra mpirun flags: MPIRUN_ARGS="...".
#SBATCH --job-name=gad-mpi
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=32
#SBATCH --exclusive
#SBATCH --time=04:00:00
#SBATCH --output=gad-mpi-%j.log
set -euo pipefail

GAD=${GAD:-gad}
if [ $# -lt 3 ]; then
  awk 'NR > 1 && /^#SBATCH/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0" >&2
  exit 2
fi
cmd=$1 out=$2 list=$3
shift 3
[ "${1:-}" = -- ] && shift

args=()
if [ -n "${SLURM_JOB_ID:-}" ]; then
  # the allocation's nodes and cores; OpenMPI reads the allocation itself
  per_node=${RANKS_PER_NODE:-${SLURM_NTASKS_PER_NODE:-1}}
  nodes=${SLURM_JOB_NUM_NODES:-1}
  cores=${SLURM_CPUS_ON_NODE:-$(nproc)}
  pe=$((cores / per_node))
  [ "$pe" -ge 1 ] || pe=1
  args+=(-n $((nodes * per_node)) --map-by "ppr:$per_node:node:PE=$pe" --bind-to core)
  export OMP_NUM_THREADS=$pe
else
  args+=(-n "${NP:-2}")
  [ -n "${HOSTFILE:-}" ] && args+=(--hostfile "$HOSTFILE")
  # more ranks than cores here: let them share (gad divides the cores)
  [ "${NP:-2}" -gt "$(nproc)" ] && args+=(--oversubscribe)
fi
[ "$(id -u)" = 0 ] && args+=(--allow-run-as-root)
# OpenMP workers that spin while waiting would steal the other ranks' cores
args+=(-x OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}")
[ -n "${OMP_NUM_THREADS:-}" ] && args+=(-x OMP_NUM_THREADS)

# shellcheck disable=SC2086  # MPIRUN_ARGS is a list of flags
exec mpirun "${args[@]}" ${MPIRUN_ARGS:-} "$GAD" "$cmd" --list "$list" --out "$out" --resume "$@"
