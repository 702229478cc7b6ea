#!/usr/bin/env bash
# Overhead of the batch system: a screen of 400 small tasks (100 synthetic perturbations x
# cellot (tiny iteration count) and mean_shift x 2 seeds) on 4 ranks, one rank per task. The
# screen's own phase summary (rank 0, end of run) gives the time of every phase summed over the
# groups against groups x wall: the overhead is the share outside the tasks' work (plan, store
# setup, waiting for the coordinator, idle tail, closing). Also runs the store micro-benchmark
# (bench_screen_store: seconds per row written independently by 4 ranks).
#
# usage: bench/screen.sh [BUILD_DIR] [RANKS] [CELLOT_ITERS]   (defaults: build 4 300)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$(cd "${1:-$here/../build}" && pwd)"
ranks="${2:-4}"
iters="${3:-300}"
bin="$build/bin/cellot"
[[ -x "$bin" ]] || { echo "screen.sh: $bin not built" >&2; exit 2; }
mpi=(mpiexec --oversubscribe -n "$ranks")
[ "$(id -u)" -eq 0 ] && mpi=(mpiexec --oversubscribe --allow-run-as-root -n "$ranks")
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work="$(mktemp -d /tmp/cellot-bench-screen.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

"$bin" synth --preset screen --perturbations 100 --features 16 --cells-scale 0.1 --out data.h5ad 2>/dev/null
args=(screen --config "$here/../configs/screen-tiny.ini" --data.path data.h5ad
      --screen.models cellot,mean_shift --screen.seeds 0,1 --screen.save_predictions false
      --training.iters "$iters" --training.eval_every 100 --training.checkpoint_every 1000
      --metrics.names mmd,l2_ds,r_means,energy,uvp)
echo "== $(getconf _NPROCESSORS_ONLN) cores, ${ranks} ranks, 400 tasks, cellot iters ${iters}"
for depth in 2 1 0; do
  mode="prefetch-$depth"
  extra=(--prefetch "$depth")
  /usr/bin/time -f "%e s wall (mpiexec included)" "${mpi[@]}" "$bin" "${args[@]}" "${extra[@]}" --store "$mode.h5" \
    2>"$mode.log" || { tail "$mode.log"; exit 1; }
  echo "-- $mode"
  grep -E "screen done|time,|overhead|wall \(mpiexec" "$mode.log" | sed 's/^\[[^]]*\] //'
done
if [[ -x "$build/bin/bench_screen_store" ]]; then
  echo "-- store rows (bench_screen_store, ${ranks} ranks)"
  "${mpi[@]}" "$build/bin/bench_screen_store" --tasks 2000 --params 12000 --path "$work/rows.h5"
fi
