#!/usr/bin/env bash
# Per-model throughput of packed CellOT training (screen.pack, issue 16): TASKS tasks at the paper
# setting (d 48, batch 256, ICNN 4 x 64, 10 g steps) on one rank and one thread, trained in packs
# of PACK (models::train_cellot_pack) and one after another (pack 1), next to the reference
# PyTorch trainer (one task), alternating so background load hits all alike. Target: per-model
# throughput >= 4x the reference.
#
# Two measures of the training loop alone (no start-up): wall time, and CPU time of the process
# (ours: std::clock in bench_trainer; the reference: its own loop timer run with
# time.process_time in place of time.perf_counter). On a machine shared with other work the CPU
# time is the one to trust; the load average is printed with the table. (Instruction counts are
# not available here: perf has no hardware counters in this VM, and valgrind 3.19 cannot run
# anything that loads torch: Debian's libhwy executes RDTSCP.)
#
# usage: [BLAS_ENV=keep] bench/pack.sh [BUILD_DIR] [TASKS] [PACK] [ITERS] [ROUNDS]   (defaults: build 16 16 20 1)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
build="${1:-$bench_root/build}"
tasks="${2:-16}"
pack="${3:-16}"
iters="${4:-20}"
rounds="${5:-1}"
ref="${REF:-$bench_root/../shared/reference/ref_cellot.py}"
python="${CELLOT_PYTHON:-/usr/bin/python3}"
bench="$build/bin/bench_trainer"
[[ -x "$bench" ]] || { echo "pack.sh: $bench not built (cmake --build $build --target bench_trainer)" >&2; exit 2; }
[[ -f "$ref" ]] || { echo "pack.sh: the reference trainer $ref is absent (set REF=path)" >&2; exit 2; }
"$python" -c "import torch" 2>/dev/null || { echo "pack.sh: $python cannot import torch (apt-get install python3-torch)" >&2; exit 2; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

# Kernels: both programs run OpenBLAS's own choice (bench_blas_env in bench/lib.sh).
ours() {  # ours PACK -> "wall cpu" seconds per outer iteration per model
  env "${bench_blas_env[@]}" "$bench" --tasks "$tasks" --pack "$1" --iters "$iters" --warmup 2 --threads 1 |
    awk '/^seconds_per_outer_iter_per_model/ {w = $2} /^cpu_seconds_per_outer_iter_per_model/ {c = $2} END {print w, c}'
}
theirs() {  # the reference's own loop timer, on the wall clock and on the process's CPU clock
  local w c
  w=$(env "${bench_blas_env[@]}" "$python" "$ref" --iters "$iters" --threads 1 | awk '/^seconds_per_outer_iter/ {print $2}')
  c=$(env "${bench_blas_env[@]}" "$python" -c 'import runpy, sys, time; time.perf_counter = time.process_time; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__")' \
    "$ref" --iters "$iters" --threads 1 | awk '/^seconds_per_outer_iter/ {print $2}')
  echo "$w $c"
}
ours_kernels=$(env "${bench_blas_env[@]}" "$bench" --tasks 1 --pack 1 --iters 1 --warmup 0 --threads 1 |
  awk '/^blas_kernels/ {sub(/^blas_kernels /, ""); print}')
ref_kernels=$(bench_py_kernels "$python")
declare -a P A T
for ((r = 1; r <= rounds; ++r)); do
  p=$(ours "$pack") a=$(ours 1) t=$(theirs)
  echo "round $r (wall cpu, s per outer iteration per model): pack $pack: $p; pack 1: $a; reference: $t"
  P+=("$p") A+=("$a") T+=("$t")
done
# median COLUMN VALUES...
median() { local c=$1; shift; printf '%s\n' "$@" | awk -v c="$c" '{print $c}' | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
x() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
tw=$(median 1 "${T[@]}") tc=$(median 2 "${T[@]}")
row() {  # row LABEL ARRAY-NAME
  local -n arr=$2
  local w c
  w=$(median 1 "${arr[@]}") c=$(median 2 "${arr[@]}")
  echo "| $1 | $w | $c | $(x "$tw" "$w")x | **$(x "$tc" "$c")x** |"
}
bench_table "| $tasks CellOT tasks, one rank, one thread ($iters outer iterations, median of $rounds) | wall s / outer iteration / model | CPU s / outer iteration / model | throughput vs reference (wall) | throughput vs reference (CPU) |" \
  "|---|---|---|---|---|" \
  "$(row "reference (\`ref_cellot.py --threads 1\`, one task)" T)" \
  "$(row "ours, pack 1 (\`bench_trainer --tasks $tasks --pack 1\`)" A)" \
  "$(row "ours, pack $pack (\`bench_trainer --tasks $tasks --pack $pack\`)" P)" \
  "" "Kernels: ours $ours_kernels, the reference $ref_kernels; every command ran $(bench_blas_note). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (target: ≥ 4x per model)." ""
