# Shared by the screen e2e scripts (sourced, not a test itself).
set -euo pipefail
bin="${CELLOT_BIN:?}"
src="${CELLOT_SOURCE_DIR:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
read -r -a mpi_flags <<<"${CELLOT_MPIEXEC_FLAGS:-} "
mpiexec_bin="${CELLOT_MPIEXEC:-mpiexec}"
export OMP_NUM_THREADS=1
fail() { echo "FAIL: $*" >&2; exit 1; }
# The launcher with its flags (a CMake list: ';'-separated).
mpi_cmd=("$mpiexec_bin")
for f in "${mpi_flags[@]}"; do IFS=';' read -r -a parts <<<"$f"; mpi_cmd+=("${parts[@]}"); done
# ctest's ENVIRONMENT splits lists at ';', so the flags may arrive incomplete: add what root needs.
[ "$(id -u)" -eq 0 ] && [[ " ${mpi_cmd[*]} " != *" --allow-run-as-root "* ]] && mpi_cmd+=(--allow-run-as-root)
[[ " ${mpi_cmd[*]} " != *" --oversubscribe "* ]] && mpi_cmd+=(--oversubscribe)
# mpirun_n N ARGS...: cellot under mpiexec with N ranks.
mpirun_n() {
  local n="$1"; shift
  "${mpi_cmd[@]}" -n "$n" "$bin" "$@"
}
compare_stores() { "$py" "$src/tests/e2e/screen_compare.py" "$@"; }
# CMD | contains PATTERN: reads all of CMD's output first (grep -q would close the pipe early,
# and pipefail would then report the writer's SIGPIPE as a failure).
contains() { local out; out="$(cat)"; grep -q -- "$1" <<<"$out"; }
