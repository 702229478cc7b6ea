#!/usr/bin/env bash
# The jobs/ scripts on a real (throw-away, single-node) Slurm cluster:
#   1. jobs/submit-screen, run as the docs show it: a config with a *relative* data.path (jobs
#      run in the run directory, so submit-screen must resolve it) and the shard count from
#      `cellot screen --count-tasks` with every --extra override. A job array of 4 shards, then
#      merge (afterany) and report (afterok); the merged store must be complete and its metrics
#      equal to a run of the same screen without Slurm (mpiexec), and the reports written.
#   2. jobs/screen.sbatch: one MPI job of 2 tasks launched with `srun --mpi=pmix`, and one
#      launched with CELLOT_LAUNCHER=mpirun; same store check. A Slurm without the pmix plugin
#      fails the test (CELLOT_SLURM_ALLOW_MPIRUN=1 tests the srun job with mpirun instead).
#   3. preemption: jobs/screen.sbatch gets the batch signal (SIGUSR1, as --signal=B:USR1@120
#      sends before a time limit) while it trains; it must checkpoint, requeue itself, restart with
#      --resume in a fresh per-restart temporary directory and end with a complete store equal to
#      the reference, its history holding both runs.
#   4. a failing array (every element stops early, exit 1): merge and report still run (afterany,
#      --allow-incomplete) and the report lists the missing tasks.
# Needs root (slurmd, munged) and the slurm-wlm + munge packages; otherwise SKIPPED (exit 77).
# Environment (from ctest): CELLOT_BIN, CELLOT_SOURCE_DIR, CELLOT_PYTHON, CELLOT_MPIEXEC(_FLAGS).
set -euo pipefail

src="${CELLOT_SOURCE_DIR:?}"
bin="${CELLOT_BIN:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
# shellcheck source=tests/slurm/local_slurm.sh
source "$src/tests/slurm/local_slurm.sh"

skip() {
  echo "=====================================================================" >&2
  echo "SKIPPED: slurm test: $*" >&2
  echo "=====================================================================" >&2
  exit 77
}
fail() { echo "FAIL: $*" >&2; exit 1; }
stage() { echo "[slurm test +${SECONDS}s] $*"; }
# CMD | contains PATTERN: reads all of CMD's output first (grep -q would close the pipe early).
contains() { local out; out="$(cat)"; grep -q -- "$1" <<<"$out"; }
# mpiexec with the flags this machine needs: the array `mpi`.
source "${CELLOT_SOURCE_DIR:?}/tests/support/mpi_launcher.sh"

why="$(local_slurm_check)" || skip "$why"
[ -x "$bin" ] || fail "CELLOT_BIN='$bin' is not executable"

work="$(mktemp -d /tmp/cellot-slurm-test.XXXXXX)"
chmod 755 "$work"
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -n "$LOCAL_SLURM_DIR" ]; then
    echo "----- job logs -----" >&2
    for f in "$work"/*.out "$work"/run/logs/*.out; do
      [ -f "$f" ] && { echo "== $f" >&2; tail -n 30 "$f" >&2; }
    done
    local_slurm_dump_logs
  fi
  local_slurm_stop
  if [ "${CELLOT_TEST_KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$work"

# --- data and config: a tiny screen (2 perturbations x 3 models = 6 tasks) ----------------------
"$bin" synth --preset 4i --out "$work/data.h5ad" --seed 3 --cells-scale 0.05 >/dev/null
# A relative data path, as in configs/*.ini: it names $work/data.h5ad from $work, where every
# command below is run (jobs/submit-screen's jobs run in the run directory: it must resolve it).
cat >"$work/screen.ini" <<EOF
[data]
path = data.h5ad
perturbations = Erlotinib,Trametinib

[training]
iters = 30
epochs = 2
eval_every = 10
checkpoint_every = 10

[screen]
models = cellot,scgen,identity
seeds = 0

[metrics]
max_cells = 300
EOF

stage "reference screen (mpiexec, no Slurm)"
# --- reference: the same screen without Slurm -----------------------------------------------------
"${mpi[@]}" -n 2 "$bin" screen --config "$work/screen.ini" \
  --store "$work/reference.h5" >"$work/reference.log" 2>&1 || { cat "$work/reference.log" >&2; fail "reference screen"; }

# submit-screen's default shard count: one per task of the plan (2 perturbations x 3 models), as
# `cellot screen --count-tasks` counts it, --extra overrides included; merge after any end of the
# array unless --strict.
dry="$("$src/jobs/submit-screen" --config screen.ini --out dry --bin "$bin" --dry-run 2>dry.err)" ||
  { cat dry.err >&2; fail "submit-screen --dry-run"; }
grep -q "^array DRYRUN (6 shards" <<<"$dry" || fail "submit-screen did not count 6 tasks: $dry"
grep -q -- "--dependency=afterany:DRYRUN" dry.err || fail "merge does not run after any end of the array"
dry="$("$src/jobs/submit-screen" --config screen.ini --out dry2 --bin "$bin" --dry-run --strict \
  --extra "--screen.models cellot,identity --prefetch 1" 2>dry.err)" || { cat dry.err >&2; fail "submit-screen --strict"; }
grep -q "^array DRYRUN (4 shards" <<<"$dry" || fail "submit-screen ignored --extra when counting: $dry"
grep -q -- "--dependency=afterok:DRYRUN" dry.err || fail "--strict: merge is not afterok"
grep -q "^models = cellot,identity$" dry2/screen.ini || fail "--extra not in the frozen config"
grep -q "^path = $work/data.h5ad$" dry2/screen.ini || fail "frozen config: data.path not made absolute"

stage "starting the local cluster"
# --- the cluster -----------------------------------------------------------------------------------
local_slurm_start "$work/slurm" || fail "local Slurm did not start"
# task/none in this cluster: no binding support; a real cluster keeps the default (cores).
export CELLOT_CPU_BIND=none

# The srun job must use srun --mpi=pmix: a Slurm without the plugin fails the test, unless
# CELLOT_SLURM_ALLOW_MPIRUN=1 accepts mpirun in its place (said loudly).
launcher=srun
if ! srun --mpi=list 2>&1 | grep -qw pmix; then
  [ "${CELLOT_SLURM_ALLOW_MPIRUN:-0}" = 1 ] ||
    fail "this Slurm has no pmix MPI plugin (srun --mpi=list): srun --mpi=pmix cannot be tested (CELLOT_SLURM_ALLOW_MPIRUN=1 tests mpirun instead)"
  launcher=mpirun
  echo "#####################################################################" >&2
  echo "WARNING: this Slurm has no pmix MPI plugin: CELLOT_SLURM_ALLOW_MPIRUN=1," >&2
  echo "WARNING: testing the srun job with mpirun inside sbatch instead" >&2
  echo "#####################################################################" >&2
fi

stage "submitting: array of 4 shards + merge + report, and a 2-task MPI job ($launcher)"
# 1. array of shards + merge + report
submit_out="$("$src/jobs/submit-screen" --config screen.ini --out run --shards 4 \
  --launcher "$launcher" --bin "$bin")" || fail "submit-screen"
echo "$submit_out"
array_id="$(awk '$1 == "array" {print $2}' <<<"$submit_out")"
merge_id="$(awk '$1 == "merge" {print $2}' <<<"$submit_out")"
report_id="$(awk '$1 == "report" {print $2}' <<<"$submit_out")"
[[ "$array_id" =~ ^[0-9]+$ && "$merge_id" =~ ^[0-9]+$ && "$report_id" =~ ^[0-9]+$ ]] ||
  fail "submit-screen printed no job ids"
scontrol show job "$merge_id" | grep -q "Dependency=afterany:${array_id}" || fail "merge job does not depend on the array"

# 2. one MPI job of 2 tasks
mpi_id="$(CELLOT_CONFIG="$work/screen.ini" CELLOT_BIN="$bin" CELLOT_STORE="$work/single.h5" \
  CELLOT_LAUNCHER="$launcher" sbatch --parsable --ntasks=2 --output="$work/single-%j.out" \
  "$src/jobs/screen.sbatch")" || fail "sbatch screen.sbatch"
mpi_id="${mpi_id%%;*}"
# ... and the same with OpenMPI's mpirun inside the allocation (CELLOT_LAUNCHER=mpirun).
mpirun_id="$(CELLOT_CONFIG="$work/screen.ini" CELLOT_BIN="$bin" CELLOT_STORE="$work/single-mpirun.h5" \
  CELLOT_LAUNCHER=mpirun sbatch --parsable --ntasks=2 --output="$work/mpirun-%j.out" \
  "$src/jobs/screen.sbatch")" || fail "sbatch screen.sbatch (mpirun)"
mpirun_id="${mpirun_id%%;*}"

stage "waiting for jobs $array_id (array) $merge_id (merge) $report_id (report) $mpi_id (MPI, $launcher) $mpirun_id (MPI, mpirun)"
local_slurm_wait 900 "$array_id" "$merge_id" "$report_id" "$mpi_id" "$mpirun_id" || fail "jobs did not finish"

for id in "$array_id" "$merge_id" "$report_id" "$mpi_id" "$mpirun_id"; do
  states="$(scontrol show job "$id" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort -u | tr '\n' ' ')"
  [ "$states" = "COMPLETED " ] || fail "job $id ended in state(s) $states"
done
[ "$(ls "$work"/run/shards/shard-*.h5 | wc -l)" -eq 4 ] || fail "expected 4 shard stores"
grep -q "srun --mpi=pmix" "$work"/single-*.out || [ "$launcher" = mpirun ] || fail "the MPI job did not use srun --mpi=pmix"
grep -q "^path = $work/data.h5ad$" "$work/run/screen.ini" || fail "the array's frozen config has no absolute data.path"
grep -q "mpirun .* -n 2 " "$work"/mpirun-*.out || fail "the mpirun job did not use mpirun"
for fmt in md csv tex; do
  [ -s "$work/run/report.$fmt" ] || fail "report.$fmt missing or empty"
done

stage "checking the stores against the reference"
# Stores: every task done, plan hash and metrics equal to the reference (bit for bit: a task's
# randomness depends on (seed, task key) only, not on the shard, group or world size).
"$py" - "$work/reference.h5" "$work/run/results.h5" "$work/single.h5" "$work/single-mpirun.h5" <<'PY'
import sys, h5py, numpy as np
ref_path, *paths = sys.argv[1:]
def load(p):
    with h5py.File(p, "r") as f:
        return dict(hash=f["plan"].attrs["plan_hash"], keys=f["plan/key"][:], state=f["status/state"][:],
                    names=list(f["metrics"].attrs["names"]), value=f["metrics/value"][:])
ref = load(ref_path)
assert (ref["state"] == 2).all(), f"reference store incomplete: {ref['state']}"
for p in paths:
    s = load(p)
    assert s["hash"] == ref["hash"], f"{p}: plan hash {s['hash']} != {ref['hash']}"
    assert (s["keys"] == ref["keys"]).all(), f"{p}: task keys differ"
    assert (s["state"] == 2).all(), f"{p}: not every task done: {s['state']}"
    assert s["names"] == ref["names"], f"{p}: metric names differ"
    same = np.array_equal(s["value"], ref["value"], equal_nan=True)
    if not same:
        diff = np.nanmax(np.abs(s["value"] - ref["value"]))
        raise AssertionError(f"{p}: metrics differ from the run without Slurm (max abs diff {diff})")
    print(f"{p}: {len(s['keys'])} tasks done, metrics equal to the reference")
PY
cmp <("$bin" report --store "$work/reference.h5" --format csv) "$work/run/report.csv" ||
  fail "report.csv of the merged store differs from the reference's"

stage "checking the provenance of the runs"
# Every store's history names its launcher and Slurm job; the merged store keeps the shards' runs.
"$bin" inspect --store "$work/single.h5" >single.txt
grep -q "run: .*launcher $( [ "$launcher" = srun ] && echo 'srun --mpi=pmix' || echo 'mpirun (Open MPI)') .*slurm job $mpi_id restart 0" single.txt ||
  { cat single.txt >&2; fail "single.h5: history does not name the launcher and the job"; }
"$bin" inspect --store "$work/single-mpirun.h5" | contains "run: .*launcher mpirun (Open MPI) .*slurm job $mpirun_id" ||
  fail "single-mpirun.h5: history does not name mpirun"
"$bin" inspect --store "$work/run/results.h5" >merged.txt
[ "$(grep -c "^  run: \[.*shard-.*array ${array_id}_[0-3] restart 0" merged.txt)" -eq 4 ] ||
  { cat merged.txt >&2; fail "the merged store does not keep the 4 shards' runs"; }

stage "preemption: reference run"
# 3. preemption: the batch signal makes the job checkpoint, requeue itself and resume.
cat "$work/screen.ini" >"$work/long.ini"
sed -i 's/^iters = 30$/iters = 800/' "$work/long.ini"
"$py" - "$work/long.ini" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read().replace("models = cellot,scgen,identity", "models = cellot")
open(p, "w").write(s)
PY
"${mpi[@]}" -n 2 "$bin" screen --config "$work/long.ini" \
  --store "$work/long-reference.h5" >"$work/long-reference.log" 2>&1 ||
  { cat "$work/long-reference.log" >&2; fail "long reference screen"; }
stage "preemption: submitting, signalling SIGUSR1, waiting for requeue and resume"
pre_id="$(CELLOT_CONFIG="$work/long.ini" CELLOT_BIN="$bin" CELLOT_STORE="$work/preempted.h5" \
  CELLOT_LAUNCHER="$launcher" sbatch --parsable --ntasks=2 --output="$work/preempted-%j.out" \
  "$src/jobs/screen.sbatch")" || fail "sbatch screen.sbatch (preemption)"
pre_id="${pre_id%%;*}"
# Signal once training is under way (the store exists and the log shows progress).
for _ in $(seq 1 240); do
  [ "$(local_slurm_job_state "$pre_id")" = RUNNING ] && [ -e "$work/preempted.h5" ] && break
  sleep 0.5
done
sleep 3
[ "$(local_slurm_job_state "$pre_id")" = RUNNING ] || fail "preemption job not running before the signal"
# The ranks' PMIx client directory lies in this run's own temporary directory.
run_tmp0="$(sed -n 's/.*restart 0 on .* (tmp \([^)]*\)).*/\1/p' "$work"/preempted-*.out | head -n1)"
[ -n "$run_tmp0" ] || fail "screen.sbatch printed no per-run temporary directory"
[ "$launcher" = mpirun ] || compgen -G "$run_tmp0/spmix_appdir_*" >/dev/null ||
  { ls -la "$run_tmp0" >&2 || true; fail "srun's PMIx directory is not in $run_tmp0 (SLURM_PMIX_TMPDIR)"; }
scancel --batch --signal=USR1 "$pre_id"
# The job requeues itself; Slurm holds a requeued job back until the first run's credential has
# expired (cred_expire, 20 s on this cluster). Forcing it earlier (scontrol update StartTime=now)
# races with that and gets the restart killed ("Job credential revoked").
for _ in $(seq 1 120); do
  restarts="$(scontrol show job "$pre_id" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)"
  [ "${restarts:-0}" -ge 1 ] && break
  sleep 0.5
done
[ "${restarts:-0}" -ge 1 ] || fail "the job did not requeue itself after SIGUSR1"
local_slurm_wait 600 "$pre_id" || fail "requeued job did not finish"
[ "$(local_slurm_job_state "$pre_id")" = COMPLETED ] || fail "requeued job ended $(local_slurm_job_state "$pre_id")"
grep -q -- "--resume" "$work"/preempted-*.out || fail "the restarted job did not pass --resume"
run_tmp1="$(sed -n 's/.*restart 1 on .* (tmp \([^)]*\)).*/\1/p' "$work"/preempted-*.out | head -n1)"
[ -n "$run_tmp1" ] && [ "$run_tmp1" != "$run_tmp0" ] || fail "the restart reused the temporary directory '$run_tmp0'"
[ ! -e "$run_tmp0" ] && [ ! -e "$run_tmp1" ] || fail "per-run temporary directories left behind"
"$bin" inspect --store "$work/preempted.h5" >preempted.txt
grep -q "run: .*interrupted by signal.*slurm job $pre_id restart 0" preempted.txt &&
  grep -q "run: .*complete.*slurm job $pre_id restart 1" preempted.txt ||
  { cat preempted.txt >&2; fail "the preempted store's history does not hold both runs"; }
"$py" - "$work/long-reference.h5" "$work/preempted.h5" <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:])
assert (b["status/state"][:] == 2).all(), f"preempted store incomplete: {b['status/state'][:]}"
assert np.array_equal(a["metrics/value"][:], b["metrics/value"][:], equal_nan=True), \
    "metrics after preemption + resume differ from an uninterrupted run"
print("preempted store: complete, metrics equal to an uninterrupted run")
PY

stage "failing array: merge and report still run and list the missing tasks"
# 4. Every element stops after one task (exit 1): merge (afterany, --allow-incomplete) and report
#    run all the same, and the report lists what is missing. Two seeds (12 tasks), so that each
#    shard owns two CellOT tasks and so more than one task (the shards are balanced by cost: with
#    one seed, one shard may own a single CellOT task and nothing else, finish it and succeed).
submit_out="$("$src/jobs/submit-screen" --config screen.ini --out failing --shards 2 \
  --launcher "$launcher" --bin "$bin" --extra "--stop-after 1 --screen.seeds 0,1")" || fail "submit-screen (failing)"
fail_ids=()
for kind in array merge report; do fail_ids+=("$(awk -v k="$kind" '$1 == k {print $2}' <<<"$submit_out")"); done
local_slurm_wait 600 "${fail_ids[@]}" || fail "failing-array jobs did not finish"
[ "$(scontrol show job "${fail_ids[0]}" | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' ')" = "JobState=FAILED " ] ||
  fail "the failing array's elements did not all fail"
for id in "${fail_ids[1]}" "${fail_ids[2]}"; do
  [ "$(local_slurm_job_state "$id")" = COMPLETED ] || fail "job $id after a failed array ended $(local_slurm_job_state "$id")"
done
grep -q "WARNING: [0-9]* of 12 tasks are not done" "$work/failing/report.md" ||
  { cat "$work/failing/report.md" >&2; fail "the report does not warn about the missing tasks"; }
grep -q "^| .* | not finished | never ran |" "$work/failing/report.md" || fail "the report does not list the missing tasks"

stage "slurm test: array + merge + report, MPI job ($launcher), preemption + requeue + resume, failing array: OK"
