#!/usr/bin/env bash
# Crash consistency and resume: a screen stopped after a few tasks (--stop-after, exit 1) and a
# screen killed with SIGKILL in the middle both resume (--resume) to the same final store as an
# uninterrupted run; a preemption signal (SIGUSR1) checkpoints, closes the store and exits 1.
# The plan hash follows the data, not the path: a resume that spells the path differently
# (./data.h5ad) or reads a copy is accepted; one after X was changed in place is refused.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-resume.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 4 --features 8 --cells-scale 0.1 --seed 3 --out data.h5ad 2>/dev/null
cfg="$src/configs/screen-tiny.ini"
args=(screen --config "$cfg" --data.path data.h5ad)

mpirun_n 2 "${args[@]}" --store ref.h5 --quiet || fail "reference run"

# 1. Graceful stop after 5 done tasks, then resume.
set +e
mpirun_n 2 "${args[@]}" --store a.h5 --stop-after 5 --quiet 2>stop.txt; rc=$?
set -e
[ $rc -eq 1 ] || { cat stop.txt; fail "--stop-after exit $rc"; }
"$bin" inspect --store a.h5 >a1.txt
done1=$(sed -n 's/^state: done \([0-9]*\),.*/\1/p' a1.txt)
[ "$done1" -ge 5 ] && [ "$done1" -lt 32 ] || fail "stopped store has $done1 done tasks"
grep -q "stopped with" a1.txt || fail "history line of the stopped run"
# Resumed with another spelling of the same file's path.
mpirun_n 2 screen --config "$cfg" --data.path ./data.h5ad --store a.h5 --resume 2>resume.txt ||
  { cat resume.txt; fail "resume (./data.h5ad)"; }
grep -q "$((32 - done1)) to run ($done1 already done)" resume.txt || { cat resume.txt; fail "resume ran the wrong tasks"; }
compare_stores ref.h5 a.h5 || fail "stop + resume differs from the uninterrupted run"

# 2. SIGKILL of the whole job once a few tasks are done (debug lines on rank 0 announce them).
# The job runs in its own session so that every process of it (launcher and ranks) is killed.
setsid "${mpi[@]}" -n 2 "$bin" "${args[@]}" --store b.h5 --verbose --training.iters 300 2>kill.txt &
kill_session_after_tasks $! 3 kill.txt
"$bin" inspect --store b.h5 >b1.txt || { cat kill.txt; fail "killed store does not open"; }
grep "^state:" b1.txt
mpirun_n 2 "${args[@]}" --store b.h5 --resume --training.iters 300 --quiet || fail "resume after SIGKILL"
mpirun_n 2 "${args[@]}" --store refb.h5 --training.iters 300 --quiet || fail "reference run (300 iterations)"
compare_stores refb.h5 b.h5 || fail "kill + resume differs from the uninterrupted run"

# 3. SIGUSR1 (as Slurm's --signal or jobs/*.sbatch send it): checkpoint, close, exit 1, resume.
"$bin" "${args[@]}" --store c.h5 --training.iters 100000 --training.checkpoint_every 1000 \
  --screen.models cellot 2>usr1.txt &
usr1_after_line $! "screen: plan" 1 usr1.txt
[ "$job_rc" -eq 1 ] || { cat usr1.txt; fail "SIGUSR1 exit $job_rc"; }
grep -q "resume with --resume" usr1.txt || { cat usr1.txt; fail "no requeue message"; }
"$bin" inspect --store c.h5 | contains "interrupted by signal" || fail "history does not record the interruption"
ls c.h5.ckpt/*.ckpt >/dev/null 2>&1 || fail "no checkpoint written"

# 4. The data changed in place under the same path: refused, the store left as it was. A copy of
#    the original data elsewhere is the same data: accepted.
cp data.h5ad moving.h5ad
set +e
"$bin" screen --config "$cfg" --data.path moving.h5ad --store d.h5 --stop-after 2 --quiet 2>/dev/null; rc=$?
set -e
[ $rc -eq 1 ] || fail "--stop-after 2 exit $rc"
"$bin" inspect --store d.h5 >d1.txt
"$py" - moving.h5ad <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    x = f["X"] if isinstance(f["X"], h5py.Dataset) else f["X/data"]
    x[...] = x[...] * 2.0
PY
set +e
"$bin" screen --config "$cfg" --data.path moving.h5ad --store d.h5 --resume --quiet 2>changed.txt; rc=$?
set -e
[ $rc -eq 2 ] || { cat changed.txt; fail "resume after X changed in place: exit $rc (expected 2)"; }
grep -q "plan_hash = .*different plan" changed.txt || { cat changed.txt; fail "no plan refusal message"; }
"$bin" inspect --store d.h5 >d2.txt
[ "$(grep '^state:' d1.txt)" = "$(grep '^state:' d2.txt)" ] || fail "the refused resume changed the store"
mkdir -p elsewhere
cp data.h5ad elsewhere/copy.h5ad
"$bin" screen --config "$cfg" --data.path data.h5ad --store e.h5 --stop-after 2 --quiet 2>/dev/null || true
"$bin" screen --config "$cfg" --data.path elsewhere/copy.h5ad --store e.h5 --resume --quiet ||
  fail "resume from a copy of the data refused"
compare_stores ref.h5 e.h5 || fail "resume from a copy differs from the uninterrupted run"
echo "screen_resume: ok"
