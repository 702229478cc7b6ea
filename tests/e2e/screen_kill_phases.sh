#!/usr/bin/env bash
# SIGKILL at each phase of writing (CELLOT_FAULT=kill:<phase> on rank 0, src/core/fault.cpp):
# store creation, a row's data, its checksum, its done flag, the provenance line, a checkpoint,
# a done task's checkpoint removal, a merge. Each time the next run (--resume; merge again) must
# end with the store an uninterrupted run writes, and no checkpoint left beside it. Also: a torn checkpoint falls back to scratch instead of failing the
# task, and a store whose creation was killed is started afresh by --resume (jobs/screen.sbatch
# passes --resume on every requeue).
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-kill.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 2 --features 8 --cells-scale 0.1 --seed 3 --out data.h5ad 2>/dev/null
args=(screen --config "$src/configs/screen-tiny.ini" --data.path data.h5ad --quiet)
mpirun_n 2 "${args[@]}" --store ref.h5 || fail "reference run"
killed() {  # killed PHASE ARGS...: 2 ranks, rank 0 SIGKILLed at PHASE; must not succeed
  local p="$1"; shift
  set +e
  CELLOT_FAULT="kill:$p@0" timeout 120 "${mpi[@]}" -x CELLOT_FAULT -n 2 "$bin" "$@" >/dev/null 2>&1
  local rc=$?
  set -e
  [ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "kill at $p: exit $rc"
}
for phase in store_create row_write checksum done_flag provenance checkpoint_write checkpoint_cleanup; do
  killed "$phase" "${args[@]}" --store "$phase.h5"
  if [ "$phase" = store_create ]; then
    [ ! -e store_create.h5 ] || fail "a store killed while being created exists under its name"
    [ -e store_create.h5.creating ] || fail "no .creating file left by the killed creation"
  fi
  if [ "$phase" = checkpoint_cleanup ]; then  # a done task's checkpoint files were left
    [ -n "$(ls checkpoint_cleanup.h5.ckpt 2>/dev/null)" ] || fail "kill at checkpoint_cleanup left no checkpoint file"
  fi
  mpirun_n 2 "${args[@]}" --store "$phase.h5" --resume 2>"$phase.txt" || { cat "$phase.txt"; fail "resume after kill at $phase"; }
  compare_stores ref.h5 "$phase.h5" || fail "kill at $phase + resume differs from the uninterrupted run"
  [ ! -e "$phase.h5.ckpt" ] || { ls -l "$phase.h5.ckpt"; fail "kill at $phase: checkpoints outlived the complete store"; }
done
grep -q "creation was interrupted" store_create.txt || fail "no warning for the half-created store"

# A torn checkpoint (garbage under the checkpoint's name) for every task: the tasks restart from
# scratch with a warning, and the result is the uninterrupted one.
"$bin" "${args[@]}" --store torn.h5 --stop-after 1 2>/dev/null || true
for t in $(seq 0 15); do echo "torn" >"torn.h5.ckpt/task$t.ckpt"; done
"$bin" "${args[@]}" --store torn.h5 --resume 2>torn.txt || { cat torn.txt; fail "resume with torn checkpoints"; }
grep -q "unreadable" torn.txt || fail "no warning for a torn checkpoint"
compare_stores ref.h5 torn.h5 || fail "torn checkpoint + resume differs from the uninterrupted run"

# Merge killed midway: nothing at --out, the next merge completes.
"$bin" "${args[@]}" --store s0.h5 --shard 0/2
"$bin" "${args[@]}" --store s1.h5 --shard 1/2
set +e
CELLOT_FAULT=kill:merge "$bin" merge --out merged.h5 s0.h5 s1.h5 >/dev/null 2>&1; rc=$?
set -e
[ $rc -ne 0 ] || fail "kill at merge: exit 0"
[ ! -e merged.h5 ] || fail "a killed merge left a store at --out"
"$bin" merge --out merged.h5 s0.h5 s1.h5 >/dev/null || fail "merge after the killed one"
compare_stores ref.h5 merged.h5 || fail "merge differs from the one-job store"
echo "screen_kill_phases: ok"
