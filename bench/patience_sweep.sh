#!/usr/bin/env bash
# Which early-stopping patience keeps the science (issue 16 item 2): full CellOT runs of the 4i
# drugs at the paper setting (configs/4i.ini: 100,000 outer iterations, eval_every 1000) with
# patience 0, then every patience of PATIENCES replayed on their validation curves
# (bench/patience_curves.py): where each run would stop, which iterate it would keep, and
# whether that is the full run's (then its results are bit-identical to the full run's).
# KEEP=path keeps the full runs' store (a re-analysis: bench/patience_curves.py path MIN P,...).
# PRESET scrna runs the same on scRNA-seq-like counts instead (`cellot synth --preset scrna`:
# 12,000 cells, 4 perturbations, 1,000 genes, as configs/scrna-small.ini) embedded in 50 principal
# components and standardised, trained at the paper's setting of configs/4i.ini.
#
# usage: bench/patience_sweep.sh [BUILD_DIR] [ITERS] [SEEDS] [PATIENCES] [MIN_ITERS] [RANKS] [EVAL_EVERY] [PRESET]
#        (defaults: build 100000 0 5,10,20,30,50 20000 2 1000 4i)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
build="$(cd "${1:-$bench_root/build}" && pwd)"
iters="${2:-100000}" seeds="${3:-0}" patiences="${4:-5,10,20,30,50}" min_iters="${5:-20000}" ranks="${6:-2}" every="${7:-1000}"
preset="${8:-4i}"
bin="$build/bin/cellot"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
[[ -x "$bin" ]] || { echo "patience_sweep.sh: $bin not built" >&2; exit 2; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work="$(mktemp -d /tmp/cellot-bench-patience.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
case "$preset" in
  4i)
    "$bin" synth --preset 4i --out data.h5ad --seed 0 2>/dev/null
    data=(--data.path data.h5ad) ;;
  scrna)
    "$bin" synth --preset scrna --cells 12000 --perturbations 4 --genes 1000 --out data.h5ad --seed 0 2>/dev/null
    data=(--data.path data.h5ad --data.embedding pca:50 --data.standardize true) ;;
  *) echo "patience_sweep.sh: PRESET = '$preset': not 4i or scrna" >&2; exit 2 ;;
esac
mpi=(mpiexec --oversubscribe -n "$ranks")
[ "$(id -u)" -eq 0 ] && mpi=(mpiexec --oversubscribe --allow-run-as-root -n "$ranks")
/usr/bin/time -f "%e s wall" env "${bench_blas_env[@]}" "${mpi[@]}" "$bin" screen --config "$bench_root/configs/4i.ini" \
  "${data[@]}" --screen.models cellot --screen.seeds "$seeds" --training.iters "$iters" \
  --training.eval_every "$every" --training.patience 0 --metrics.names mmd,uvp --store full.h5 >full.log 2>&1 || { tail full.log; exit 1; }
echo "full runs: $(tail -1 full.log)"
[[ -n "${KEEP:-}" ]] && cp full.h5 "$KEEP"
bench_table "$("$py" "$here/patience_curves.py" full.h5 "$min_iters" "$patiences")" "" \
  "Full runs ($preset data): $(grep -c . <<<"${seeds//,/$'\n'}") seed(s) ($seeds) x 4 perturbations, $iters iterations (evaluated every $every), $ranks ranks, $(tail -1 full.log); every command ran $(bench_blas_note). Machine: $(bench_machine)"
