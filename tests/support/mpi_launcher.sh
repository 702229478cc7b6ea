# Sourced by the script tests: sets the array `mpi` to mpiexec with the flags this machine needs.
# CELLOT_MPIEXEC_FLAGS comes from ctest (space-separated; ';' is accepted too for older builds).
mpi=("${CELLOT_MPIEXEC:-mpiexec}")
_cellot_f="${CELLOT_MPIEXEC_FLAGS:-}"
read -r -a _cellot_flags <<<"${_cellot_f//;/ }"
mpi+=("${_cellot_flags[@]}")
[ "$(id -u)" -eq 0 ] && [[ " ${mpi[*]} " != *" --allow-run-as-root "* ]] && mpi+=(--allow-run-as-root)
[[ " ${mpi[*]} " != *" --oversubscribe "* ]] && mpi+=(--oversubscribe)
unset _cellot_f _cellot_flags
