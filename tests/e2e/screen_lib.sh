# Shared by the screen e2e scripts (sourced, not a test itself).
set -euo pipefail
bin="${CELLOT_BIN:?}"
src="${CELLOT_SOURCE_DIR:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
fail() { echo "FAIL: $*" >&2; exit 1; }
# The launcher with its flags: the array `mpi`.
source "$src/tests/support/mpi_launcher.sh"
# mpirun_n N ARGS...: cellot under mpiexec with N ranks.
mpirun_n() {
  local n="$1"; shift
  "${mpi[@]}" -n "$n" "$bin" "$@"
}
compare_stores() { "$py" "$src/tests/e2e/screen_compare.py" "$@"; }
# CMD | contains PATTERN: reads all of CMD's output first (grep -q would close the pipe early,
# and pipefail would then report the writer's SIGPIPE as a failure).
contains() { local out; out="$(cat)"; grep -q -- "$1" <<<"$out"; }

# Sends SIGUSR1 (as Slurm's --signal does) to JOB, a background screen, DELAY seconds after its
# LOG first shows PATTERN (at most 30 s of waiting for it), then reaps it: its exit code in job_rc.
usr1_after_line() {
  local job="$1" pattern="$2" delay="$3" log="$4"
  for _ in $(seq 1 600); do
    grep -q -- "$pattern" "$log" 2>/dev/null && break
    sleep 0.05
  done
  sleep "$delay"
  kill -USR1 "$job"
  set +e
  wait "$job"
  job_rc=$?
  set -e
}

# Waits until LOG announces N finished tasks (rank 0's debug lines) or the job (its own session,
# started with setsid) has ended, then SIGKILLs every process of that session and reaps it.
kill_session_after_tasks() {
  local job="$1" n_done="$2" log="$3" n
  for _ in $(seq 1 1500); do  # at most 30 s
    n=$(grep -c ': done (group' "$log" 2>/dev/null || true)
    [ "${n:-0}" -ge "$n_done" ] && break
    kill -0 "$job" 2>/dev/null || break
    sleep 0.02
  done
  pkill -KILL -s "$job" 2>/dev/null || true
  wait "$job" 2>/dev/null || true
  sleep 0.5
}
