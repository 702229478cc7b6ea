#!/usr/bin/env bash
# Overhead of the batch system: a screen of 400 small tasks (100 synthetic perturbations x
# cellot (tiny iteration count) and mean_shift x 2 seeds) on 4 ranks, one rank per task. The
# screen's own phase summary (rank 0, end of run) gives the time of every phase summed over the
# groups against groups x wall: the overhead is the share outside the tasks' work (plan, store
# setup, waiting for the coordinator, idle tail, closing). Also runs the store micro-benchmark
# (bench_screen_store: seconds per row written independently by 4 ranks).
#
# usage: bench/screen.sh [BUILD_DIR] [RANKS[,RANKS...]] [CELLOT_ITERS]   (defaults: build 4 300)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
build="$(cd "${1:-$bench_root/build}" && pwd)"
ranks_list="${2:-4}"
iters="${3:-300}"
bin="$build/bin/cellot"
[[ -x "$bin" ]] || { echo "screen.sh: $bin not built" >&2; exit 2; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work="$(mktemp -d /tmp/cellot-bench-screen.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

"$bin" synth --preset screen --perturbations 100 --features 16 --cells-scale 0.1 --out data.h5ad 2>/dev/null
args=(screen --config "$bench_root/configs/screen-tiny.ini" --data.path data.h5ad
      --screen.models cellot,mean_shift --screen.seeds 0,1 --screen.save_predictions false
      --training.iters "$iters" --training.eval_every 100 --training.checkpoint_every 1000
      --metrics.names mmd,l2_ds,r_means,energy,uvp)
# From "screen: <clock> overhead outside load/train/predict/metrics/write A%, outside
# train/metrics/write B%; store write C ms per task": field 1, 2 or 3 of the clock's line.
over() {
  grep "screen: $2 overhead" "$1" |
    sed -E "s/.*write ([0-9.]+)%, outside train\/metrics\/write ([0-9.]+)%; store write ([0-9.]+) ms.*/\\$3/"
}
bench_table "| ranks | prefetch | wall s (mpiexec included) | wall outside train/metrics/write | CPU outside train/metrics/write | CPU outside all task work | store write per task (CPU) |" \
  "|---|---|---|---|---|---|---|"
store_rows=()
for ranks in ${ranks_list//,/ }; do
  mpi=(mpiexec --oversubscribe -n "$ranks")
  [ "$(id -u)" -eq 0 ] && mpi=(mpiexec --oversubscribe --allow-run-as-root -n "$ranks")
  echo "== $(getconf _NPROCESSORS_ONLN) cores, ${ranks} ranks, 400 tasks, cellot iters ${iters}"
  for depth in 2 1 0; do
    mode="r$ranks-prefetch-$depth"
    /usr/bin/time -f "%e s wall (mpiexec included)" "${mpi[@]}" "$bin" "${args[@]}" --prefetch "$depth" \
      --store "$mode.h5" 2>"$mode.log" || { tail "$mode.log"; exit 1; }
    echo "-- $mode"
    grep -E "screen done|time,|overhead|wall \(mpiexec" "$mode.log" | sed 's/^\[[^]]*\] //'
    wall_s=$(awk '/s wall \(mpiexec included\)/ {print $1}' "$mode.log")
    row="| $ranks | $depth | $wall_s | $(over "$mode.log" wall 2)% | $(over "$mode.log" cpu 2)% |"
    bench_table "$row $(over "$mode.log" cpu 1)% | $(over "$mode.log" cpu 3) ms |"
  done
  if [[ -x "$build/bin/bench_screen_store" ]]; then
    echo "-- store rows (bench_screen_store, ${ranks} ranks)"
    rows=$("${mpi[@]}" "$build/bin/bench_screen_store" --tasks 2000 --params 12000 --path "$work/rows.h5")
    echo "$rows"
    store_rows+=("Store rows (\`bench_screen_store --tasks 2000 --params 12000\`, $ranks ranks): $(grep '^rows:' <<<"$rows" | sed 's/^rows: //'); $(grep '^store create' <<<"$rows")." "")
  fi
done
[ ${#store_rows[@]} -eq 0 ] || bench_table "" "${store_rows[@]}"
