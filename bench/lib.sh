#!/usr/bin/env bash
# Helpers shared by the bench/ drivers (sourced, not run).
#   bench_root            the repository root (bench/..)
#   bench_table LINE...   prints each LINE and, when BENCH_TABLE names a file (scripts/bench
#                         sets it), appends it there too: that file becomes the driver's block
#                         in docs/BENCHMARKS.md
#   bench_machine         one line: CPU model, cores, memory, BLAS, load average, commit
#   bench_blas_env        env(1) arguments for every timed command: OpenBLAS's kernel family sets
#                         the speed of every product, ours and the reference's alike (torch loads
#                         the same OpenBLAS). Some machines export OPENBLAS_CORETYPE (with
#                         OPENBLAS_L2_SIZE) for older OpenBLAS builds; this development machine
#                         pins Haswell (AVX2) that way, while OpenBLAS 0.3.21's own choice on its
#                         CPU is Cooperlake (AVX-512). The drivers that time BLAS work run without
#                         both variables, i.e. on OpenBLAS's own choice as on a node that sets
#                         neither; BLAS_ENV=keep keeps the environment's pin.
#   bench_blas_note       how the timed commands ran, for the table's note
#   bench_py_kernels PY   the OpenBLAS kernel family a Python process with torch runs (the
#                         reference trainer's), under bench_blas_env

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bench_table() {
  local line
  for line in "$@"; do
    printf '%s\n' "$line"
    if [ -n "${BENCH_TABLE:-}" ]; then printf '%s\n' "$line" >>"$BENCH_TABLE"; fi
  done
}

bench_machine() {
  local cpu cores mem blas commit
  cpu="$(lscpu 2>/dev/null | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')"
  cores="$(nproc --all)"
  mem="$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  blas="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null | sed "s|/libblas.so.3$||; s|.*/||")"
  commit="$(git -C "$bench_root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf '%s, %s cores, %s, BLAS %s, load average %s, commit %s\n' "${cpu:-unknown CPU}" "$cores" "$mem" \
    "${blas:-unknown}" "$(cut -d' ' -f1-3 /proc/loadavg)" "$commit"
}

bench_blas_env=()
[[ "${BLAS_ENV:-cpu}" == keep ]] || bench_blas_env=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

bench_blas_note() {
  if [[ "${BLAS_ENV:-cpu}" == keep ]]; then
    echo "in the environment as it is (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
  else
    echo "without the environment's OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (OpenBLAS's own choice of kernels)"
  fi
}

bench_py_kernels() {
  env "${bench_blas_env[@]}" "$1" -c 'import ctypes, torch
lib = ctypes.CDLL("libopenblas.so.0"); lib.openblas_get_corename.restype = ctypes.c_char_p
print(lib.openblas_get_corename().decode())' 2>/dev/null || echo "(not OpenBLAS)"
}
