#!/usr/bin/env bash
# Seconds per outer iteration of our CellOT trainer next to the reference PyTorch trainer, same
# machine, same run, one thread each, alternating so that background load hits both alike.
# Prints the ratio ours / reference (target <= 0.5) and, unless PEAK=0, the GEMM work, the rate
# achieved and a measured single-thread sgemm peak.
#
# The reference is ../shared/reference/ref_cellot.py next to the repository (override with
# REF=path); it needs python3 with torch (Debian: python3-torch, installed by scripts/bench).
#
# Both programs run OpenBLAS's own choice of kernels (bench_blas_env in bench/lib.sh).
#
# usage: [BLAS_ENV=keep] bench/trainer.sh [BUILD_DIR] [ITERS] [ROUNDS]    (defaults: build 200 3)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
build="${1:-$bench_root/build}"
iters="${2:-200}"
rounds="${3:-3}"
peak="${PEAK:-1}"
ref="${REF:-$bench_root/../shared/reference/ref_cellot.py}"
python="${CELLOT_PYTHON:-/usr/bin/python3}"
bench="$build/bin/bench_trainer"
[[ -x "$bench" ]] || { echo "trainer.sh: $bench not built (cmake --build $build --target bench_trainer)" >&2; exit 2; }
if [[ ! -f "$ref" ]]; then
  echo "trainer.sh: the reference trainer $ref is absent (it is expected at ../shared/reference/ref_cellot.py" \
    "next to the repository; set REF=path to use another copy)" >&2
  exit 2
fi
if ! "$python" -c "import torch" 2>/dev/null; then
  echo "trainer.sh: $python cannot import torch, which the reference trainer needs (Debian: apt-get install" \
    "python3-torch, or scripts/setup --bench)" >&2
  exit 2
fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

ours=() theirs=()
for ((r = 1; r <= rounds; ++r)); do
  o=$(env "${bench_blas_env[@]}" "$bench" --iters "$iters" --threads 1 --repeat 1 --peak 0 | awk '/^seconds_per_outer_iter/ {print $2}')
  t=$(env "${bench_blas_env[@]}" "$python" "$ref" --iters "$iters" --threads 1 | awk '/^seconds_per_outer_iter/ {print $2}')
  echo "round $r: ours $o s/iter, reference $t s/iter"
  ours+=("$o") theirs+=("$t")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
mo=$(median "${ours[@]}") mt=$(median "${theirs[@]}")
ratio=$(awk -v o="$mo" -v t="$mt" 'BEGIN {printf "%.3f", o / t}')
details="$(env "${bench_blas_env[@]}" "$bench" --iters "$iters" --threads 1 --repeat 1 --peak "$peak")"
echo "--- details (ours, one more run) ---"
echo "$details"
value() { awk -v k="$1" '$1 == k {print $2}' <<<"$details"; }
ours_kernels=$(awk '$1 == "blas_kernels" {sub(/^blas_kernels /, ""); print}' <<<"$details")
echo "--- table ---"
bench_table "| | seconds / outer iteration (median of $rounds, $iters iterations each) |" "|---|---|" \
  "| reference (\`ref_cellot.py --threads 1\`) | $mt (rounds: ${theirs[*]}) |" \
  "| ours (\`bench_trainer --threads 1\`) | $mo (rounds: ${ours[*]}) |" \
  "| **ratio ours / reference** | **$ratio** (target ≤ 0.5) |" "" \
  "Kernels: ours $ours_kernels, the reference $(bench_py_kernels "$python"); every command ran $(bench_blas_note)." ""
rows=("| GEMM work and rate (ours, one more run) | |" "|---|---|"
  "| GEMM flops per outer iteration (counted in \`nn::blas::gemm\`) | $(value gemm_gflop_per_outer_iter) GFLOP |"
  "| achieved | $(value achieved_gflops) GFLOP/s |")
if [ "$peak" != "0" ]; then
  rows+=("| measured single-thread sgemm peak, \`at::mm\` at the trainer's shapes | $(value sgemm_peak_gflops_trainer_shapes) GFLOP/s |"
    "| measured single-thread sgemm peak, \`at::mm\` 1024³ | $(value sgemm_peak_gflops_1024) GFLOP/s |"
    "| **fraction of peak** | **$(value fraction_of_peak)** |")
fi
bench_table "${rows[@]}"
echo "--- summary ---"
echo "machine: $(bench_machine)"
echo "kernels: $ours_kernels, every command ran $(bench_blas_note)"
echo "ours_seconds_per_outer_iter $mo"
echo "reference_seconds_per_outer_iter $mt"
echo "ratio_ours_over_reference $ratio (target <= 0.5)"
