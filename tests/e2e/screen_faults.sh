#!/usr/bin/env bash
# Failures injected with CELLOT_FAULT (src/core/fault.cpp) into a 2-rank group (ranks_per_task 2):
# 1. an error seen by one rank at a training step fails that task on both ranks; the job goes on;
# 2. a rank-local throw the group cannot follow aborts the job with a diagnosis within
#    screen.wait_timeout instead of hanging it; the store resumes to the uninterrupted result;
# 3. a failure of the scheduler (rank 0's coordinator poll) fails the job (exit 1, every rank,
#    no hang) and is not recorded as the failure of the task in flight.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-faults.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 2 --features 8 --cells-scale 0.1 --seed 3 --out data.h5ad 2>/dev/null
args=(screen --config "$src/configs/screen-tiny.ini" --data.path data.h5ad --ranks-per-task 2 --quiet)
faulty() {  # faulty FAULT ARGS...: the 2-rank screen with CELLOT_FAULT set on every rank, 120 s at most
  local f="$1"; shift
  CELLOT_FAULT="$f" timeout 120 "${mpi[@]}" -x CELLOT_FAULT -n 2 "$bin" "$@"
}
mpirun_n 2 "${args[@]}" --store ref.h5 || fail "reference run"

# 1. step error on rank 1 only
set +e
faulty step_error@1 "${args[@]}" --store a.h5 2>a.txt; rc=$?
set -e
[ $rc -eq 1 ] || { cat a.txt; fail "step error: exit $rc (expected 1: a task failed)"; }
"$bin" inspect --store a.h5 >a1.txt
grep -q "^state: done 15, failed 1," a1.txt || { cat a1.txt; fail "step error: expected 15 done and 1 failed"; }
"$py" -c 'import h5py,sys; m=h5py.File("a.h5","r")["status/message"][()].astype(str); sys.exit(0 if sum("error at a training step on world rank 1" in x for x in m) == 1 else 1)' ||
  fail "the failed task's message"
mpirun_n 2 "${args[@]}" --store a.h5 --resume || fail "resume after a failed task"
compare_stores ref.h5 a.h5 || fail "retried task differs from the uninterrupted run"

# 2. rank-local throw inside training on rank 1: bounded abort with a diagnosis
start=$(date +%s)
set +e
faulty train_throw@1 "${args[@]}" --store b.h5 --screen.wait_timeout 5 >b.txt 2>&1; rc=$?
set -e
took=$(( $(date +%s) - start ))
[ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat b.txt; fail "rank-local throw: exit $rc (124: hung until timeout)"; }
[ $took -lt 60 ] || fail "rank-local throw took $took s"
grep -q "left the train phase with an error" b.txt || { cat b.txt; fail "no diagnosis of the rank-local throw"; }
"$bin" inspect --store b.h5 | contains "failed 0" || fail "the aborted task was recorded as failed"
mpirun_n 2 "${args[@]}" --store b.h5 --resume || fail "resume after the abort"
compare_stores ref.h5 b.h5 || fail "resume after the abort differs from the uninterrupted run"

# 3. the coordinator's poll fails on rank 0 (inside training): a job failure, not a task failure
set +e
faulty coordinator_poll "${args[@]}" --store c.h5 >c.txt 2>&1; rc=$?
set -e
[ $rc -eq 1 ] || { cat c.txt; fail "coordinator failure: exit $rc (expected 1)"; }
grep -q "injected poll failure" c.txt || { cat c.txt; fail "no coordinator diagnosis"; }
"$bin" inspect --store c.h5 | contains "failed 0" || fail "a coordinator failure was recorded as a task failure"
mpirun_n 2 "${args[@]}" --store c.h5 --resume || fail "resume after the coordinator failure"
compare_stores ref.h5 c.h5 || fail "resume after the coordinator failure differs"
echo "screen_faults: ok"
