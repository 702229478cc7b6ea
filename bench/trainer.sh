#!/usr/bin/env bash
# Seconds per outer iteration of our CellOT trainer next to the reference PyTorch trainer
# (/work/shared/reference/ref_cellot.py; override with REF=path), same machine, same run, one
# thread each, alternating so that background load hits both alike. Prints the ratio
# ours / reference (target <= 0.5).
#
# usage: bench/trainer.sh [BUILD_DIR] [ITERS] [ROUNDS]    (defaults: build 200 3)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
iters="${2:-200}"
rounds="${3:-3}"
ref="${REF:-/work/shared/reference/ref_cellot.py}"
python="${CELLOT_PYTHON:-/usr/bin/python3}"
bench="$build/bin/bench_trainer"
[[ -x "$bench" ]] || { echo "trainer.sh: $bench not built (cmake --build $build --target bench_trainer)" >&2; exit 2; }
[[ -f "$ref" ]] || { echo "trainer.sh: reference $ref not found" >&2; exit 2; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

ours=() theirs=()
for ((r = 1; r <= rounds; ++r)); do
  o=$("$bench" --iters "$iters" --threads 1 --repeat 1 | awk '/^seconds_per_outer_iter/ {print $2}')
  t=$("$python" "$ref" --iters "$iters" --threads 1 | awk '/^seconds_per_outer_iter/ {print $2}')
  echo "round $r: ours $o s/iter, reference $t s/iter"
  ours+=("$o") theirs+=("$t")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
mo=$(median "${ours[@]}") mt=$(median "${theirs[@]}")
echo "--- details (ours, last run) ---"
"$bench" --iters "$iters" --threads 1 --repeat 1 | grep -v '^seconds_per_outer_iter'
echo "--- summary ---"
echo "machine: $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $(nproc --all) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ours_seconds_per_outer_iter $mo"
echo "reference_seconds_per_outer_iter $mt"
awk -v o="$mo" -v t="$mt" 'BEGIN {printf "ratio_ours_over_reference %.3f (target <= 0.5)\n", o / t}'
