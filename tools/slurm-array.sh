#!/usr/bin/env bash
# Explain a data set with a Slurm job array: N independent tasks, task I
# running `gad CMD --shard I/N --resume` on the same list into one shared
# output folder, then a dependent job assembling OUT/results.jsonl.
#
#   tools/slurm-array.sh submit N CMD OUT LIST -- GAD_FLAGS...
#       e.g. tools/slurm-array.sh submit 16 attribute /scratch/out imgs.txt -- \
#                --model net.onnx --method ig --steps 32
#       submits the array (sbatch --array=0-(N-1)) and the merge job
#       (sbatch --dependency=afterany:ARRAY: `gad merge`, or for eval a
#       `gad eval --resume` that builds the report); prints both job ids.
#
# sbatch runs this same file as the task body ("task" and "merge" modes);
# they can be run by hand too, with SLURM_ARRAY_TASK_ID/_MIN/_COUNT set.
# A task that hits its time limit or is preempted is stopped by SIGTERM:
# its finished images are complete, the one in flight is removed, and a
# resubmission (or --requeue) carries on where it stopped (--resume).
# Resources per task: override on the command line (sbatch flags given to
# `submit` via SBATCH_ARGS="--cpus-per-task=32 --time=4:00:00").
#SBATCH --job-name=gad
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=8
#SBATCH --time=02:00:00
#SBATCH --output=gad-%A_%a.log
#SBATCH --requeue
set -euo pipefail

GAD=${GAD:-gad}
usage() {
  awk 'NR > 1 && /^#SBATCH/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0" >&2
  exit 2
}

mode=${1:-}
[ -n "$mode" ] || usage
shift
case "$mode" in
  submit)
    [ $# -ge 4 ] || usage
    n=$1 cmd=$2 out=$3 list=$4
    shift 4
    [ "${1:-}" = -- ] && shift
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "slurm-array.sh: N must be a positive integer, got '$n'" >&2; exit 2; }
    [ -r "$list" ] || { echo "slurm-array.sh: cannot read list '$list'" >&2; exit 2; }
    list=$(realpath "$list")
    mkdir -p "$out"
    out=$(realpath "$out")
    # shellcheck disable=SC2086  # SBATCH_ARGS is a list of flags
    jid=$(sbatch --parsable ${SBATCH_ARGS:-} --array=0-$((n - 1)) "$0" task "$cmd" "$out" "$list" -- "$@")
    jid=${jid%%;*}
    mid=$(sbatch --parsable --dependency=afterany:"$jid" --ntasks=1 --cpus-per-task=1 --time=00:30:00 \
      --output=gad-merge-%j.log "$0" merge "$cmd" "$out" "$list" -- "$@")
    what=results.jsonl
    [ "$cmd" = eval ] && what=report.json
    echo "array job $jid ($n tasks), merge job ${mid%%;*}: $out/$what when both are done"
    ;;
  task)
    [ $# -ge 3 ] || usage
    cmd=$1 out=$2 list=$3
    shift 3
    [ "${1:-}" = -- ] && shift
    : "${SLURM_ARRAY_TASK_ID:?task mode runs inside a Slurm array job (set SLURM_ARRAY_TASK_ID)}"
    : "${SLURM_ARRAY_TASK_COUNT:?task mode needs SLURM_ARRAY_TASK_COUNT}"
    # shards are 0-based whatever the array's first index (--array=1-16 works too)
    shard=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0}))
    # one OpenMP thread a core Slurm gave the task
    export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-${OMP_NUM_THREADS:-1}}
    export OMP_PROC_BIND=${OMP_PROC_BIND:-close}
    exec "$GAD" "$cmd" --list "$list" --out "$out" --shard "$shard/$SLURM_ARRAY_TASK_COUNT" --resume \
      --progress json "$@"
    ;;
  merge)
    [ $# -ge 3 ] || usage
    cmd=$1 out=$2 list=$3
    shift 3
    [ "${1:-}" = -- ] && shift
    if [ "$cmd" = eval ]; then
      # eval's report is built from every image's record: a --resume run
      # with nothing left to do assembles it
      export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-${OMP_NUM_THREADS:-1}}
      exec "$GAD" eval --list "$list" --out "$out" --resume "$@"
    fi
    exec "$GAD" merge --out "$out" --list "$list"
    ;;
  *) usage ;;
esac
