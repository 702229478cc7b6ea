#!/usr/bin/env bash
# The paper's Table 1 end to end: configs/4i.ini (4 drugs x 6 models x 3 seeds, the paper's
# iterations and epochs, each model's own early-stopping default) on synthetic 4i data at the
# paper's cell counts, RANKS ranks of one thread under mpiexec, as a user would run it. Reports the
# wall time of the whole screen, CPU time and peak memory (/usr/bin/time -v), per model the task
# wall times, CellOT's stopping iterations and the mean test metrics, and the error of the
# progress line's predicted end (elapsed + ETA) against the actual end.
# Results: docs/BENCHMARKS.md 'The paper's Table 1 end to end'.
#
# usage: bench/table1.sh [BUILD_DIR] [RANKS] [SCREEN_ARG ...]
#        (defaults: build 2; extra arguments go to `cellot screen`, e.g. --training.iters 2000
#        --training.epochs 32 for a reduced run)
#        KEEP=DIR keeps the store and the screen's log there (t1.h5, screen.log) for re-analysis,
#        e.g. bench/patience_curves.py DIR/t1.h5 0 10,20,50 --model cae
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
build="$(cd "${1:-$bench_root/build}" && pwd)"
ranks="${2:-2}"
shift $(($# < 2 ? $# : 2))
bin="$build/bin/cellot"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
[[ -x "$bin" ]] || { echo "table1.sh: $bin not built" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "table1.sh: /usr/bin/time missing (scripts/setup --bench installs it)" >&2; exit 2; }
work="$(mktemp -d /tmp/cellot-bench-table1.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset 4i --out synth-4i.h5ad --seed 0 2>/dev/null
mpi_flags=(--oversubscribe)
[ "$(id -u)" -eq 0 ] && mpi_flags+=(--allow-run-as-root)
run=("${CELLOT_MPIEXEC:-mpiexec}" "${mpi_flags[@]}" -n "$ranks" "$bin" screen --config "$bench_root/configs/4i.ini"
  --data.path synth-4i.h5ad --store t1.h5 "$@")
echo "table1.sh: ${run[*]}"
set +e
env "${bench_blas_env[@]}" /usr/bin/time -v -o time.txt "${run[@]}" >screen.out 2>screen.log
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  tail -20 screen.log >&2
  echo "table1.sh: the screen exited $rc" >&2
  exit 1
fi
if [ -n "${KEEP:-}" ]; then
  mkdir -p "$KEEP"
  cp t1.h5 screen.log "$KEEP"/
fi
table="$("$py" "$here/table1_report.py" t1.h5 screen.log time.txt "$ranks" "${*:-}" "$(bench_blas_note)")"
bench_table "$table"
