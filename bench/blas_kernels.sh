#!/usr/bin/env bash
# Which bits change with the CPU-dependent kernels, and what each choice costs (issue 12).
# OpenBLAS (DYNAMIC_ARCH) picks its kernels from the CPU; OPENBLAS_CORETYPE forces a family.
# libtorch picks its own vectorised operator kernels (ATen's CPU capability: avx512, avx2 or
# default); ATEN_CPU_CAPABILITY forces one. For each setting this CPU can run: (1) a small
# screen of every model (configs/screen-tiny.ini, one rank, one thread) compared bit for bit
# with the same screen under the default kernels (the datasets that differ are listed); (2) the
# seconds of a CellOT training run (configs/cellot-4i.ini, ITERS iterations, one thread), the
# best of REPS. "Default" is OpenBLAS's own choice on this CPU (bench_blas_env in bench/lib.sh:
# the environment's OPENBLAS_CORETYPE pin is removed unless BLAS_ENV=keep).
#
# usage: [BLAS_ENV=keep] bench/blas_kernels.sh [BUILD_DIR] [ITERS] [REPS] [SETTINGS]
#        SETTINGS: comma-separated; a bare name is an OPENBLAS_CORETYPE family, VAR=value sets
#        that variable (defaults: build 300 3 Haswell,Zen,SkylakeX,Cooperlake,Sandybridge,Prescott,
#        ATEN_CPU_CAPABILITY=avx2,ATEN_CPU_CAPABILITY=default)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
build="$(cd "${1:-$bench_root/build}" && pwd)"
iters="${2:-300}" reps="${3:-3}" families="${4:-Haswell,Zen,SkylakeX,Cooperlake,Sandybridge,Prescott,ATEN_CPU_CAPABILITY=avx2,ATEN_CPU_CAPABILITY=default}"
bin="$build/bin/cellot"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
[[ -x "$bin" ]] || { echo "blas_kernels.sh: $bin not built" >&2; exit 2; }
work="$(mktemp -d /tmp/cellot-bench-blas.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 3 --features 8 --cells-scale 0.1 --seed 5 --out screen.h5ad 2>/dev/null
"$bin" synth --preset 4i --out 4i.h5ad --seed 0 2>/dev/null
screen=(screen --config "$bench_root/configs/screen-tiny.ini" --data.path screen.h5ad --training.threads 1 --quiet
  --screen.models cellot,scgen,cae,mean_shift,observed,identity)
train=(train --config "$bench_root/configs/cellot-4i.ini" --data 4i.h5ad --perturbation Imatinib --model cellot
  --training.iters "$iters" --training.eval_every 1000000 --training.threads 1 --quiet)

kernels() { "$bin" inspect --store "$1" | sed -n 's/.*blas: //p' | head -1; }
seconds() {  # seconds ENV... : best of $reps training runs
  local best="" t0 t1 t
  for _ in $(seq "$reps"); do
    rm -rf m
    t0=$(date +%s.%N)
    env "${bench_blas_env[@]}" "$@" "$bin" "${train[@]}" --out m 2>/dev/null
    t1=$(date +%s.%N)
    t=$(echo "$t1 - $t0" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" -eq 1 ]; then best=$t; fi
  done
  printf '%.2f' "$best"
}

env "${bench_blas_env[@]}" "$bin" "${screen[@]}" --store default.h5 2>/dev/null
base_s=$(seconds OPENBLAS_VERBOSE=0)
rows=("| kernels (OPENBLAS_CORETYPE, or the variable set) | screen vs default kernels | CellOT ${iters} iterations, best of ${reps} | vs default |"
  "|---|---|---|---|"
  "| default: $(kernels default.h5) | (reference) | ${base_s} s | 1.00x |")
IFS=, read -ra fams <<<"$families"
for fam in "${fams[@]}"; do
  if [[ "$fam" == *=* ]]; then setting=$fam; label="\`$fam\`"; else setting=OPENBLAS_CORETYPE=$fam; label=$fam; fi
  if ! env "${bench_blas_env[@]}" "$setting" "$bin" "${screen[@]}" --store "$fam.h5" 2>/dev/null; then
    rows+=("| $label | does not run on this CPU | | |")
    continue
  fi
  diff="$("$py" "$bench_root/tests/e2e/screen_compare.py" default.h5 "$fam.h5" 2>&1 | sed -n 's/^DIFF \([^ ]*\) differs.*/\1/p' | paste -sd, - || true)"
  s=$(seconds "$setting")
  rows+=("| $label ($(kernels "$fam.h5")) | ${diff:-bit-identical} | ${s} s | $(echo "scale=2; $base_s / $s" | bc)x |")
done
rows+=("" "Every command ran $(bench_blas_note). Machine: $(bench_machine)")
bench_table "${rows[@]}"
