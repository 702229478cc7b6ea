#!/usr/bin/env bash
# Kill trials (issue 13): a 2-rank screen SIGKILLed at random moments, then resumed as
# jobs/screen.sbatch does (--resume, nothing else: the killed run's lease must be broken by
# itself), must end with a complete store equal, bit for bit in /metrics, /params and every other
# result dataset (screen_compare.py), to an uninterrupted run's.
#
# The moment: the reference run is timed from its store's creation (<store>.creating appears) to
# its closing writes (its lease, released after the store is closed, disappears); each trial waits
# for its own store's creation to begin, then kills after a delay drawn uniformly from that window,
# so every phase of writing is hit: creation, rows, checksums, done flags, checkpoints,
# provenance, the close. Two ways to die, alternating:
#   job   every process of the job at once (mpiexec and both ranks): Slurm's time limit, scancel -9
#   rank  one rank (chosen by the seed): a node lost under a running job; the launcher must end
#         the other rank (the run may not hang, nor exit 0)
# After the kill, a store at its name must open read-only (inspect); the resume must break the
# killed run's lease by itself ("its process is gone": same host, no --break-lease), finish, and
# leave no lease, .creating file or checkpoint directory behind. Last, one SIGTERM to every rank
# (a time limit, scancel): exit 1, the lease released, and the resume ends identical too.
# Environment: CELLOT_KILL_TRIALS (5), CELLOT_KILL_SEED (random; printed), CELLOT_KILL_ONLY (run
# only trial i of the seed's sequence: a failing trial replays with the seed and its number),
# CELLOT_KILL_KEEP=1 (keep the work directory with every run's log).
# Each trial prints its seed, kind and delay; a failure prints the replay command.
source "$(dirname "$0")/screen_lib.sh"
trials="${CELLOT_KILL_TRIALS:-5}"
seed="${CELLOT_KILL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}"
only="${CELLOT_KILL_ONLY:-}"
work="$(mktemp -d /tmp/cellot-screen-kill-trials.XXXXXX)"
job="" sid=""
trap '[ -z "$job" ] || kill_job "$sid" job; [ -n "${CELLOT_KILL_KEEP:-}" ] && echo "kept: $work" || rm -rf "$work"' EXIT
cd "$work"
now_ms() { date +%s%3N; }
replay() { echo "replay: CELLOT_KILL_SEED=$seed CELLOT_KILL_ONLY=$1 bash $0"; }

# The processes of the job started by `setsid` as session SID: mpiexec and its ranks.
session() { ps -o pid= -s "$1" 2>/dev/null | tr -s ' \n' ' ' || true; }
# kill_job SID job|rank[:R]: SIGKILL every process of the session at once, or one rank's.
kill_job() {
  local sid="$1" kind="$2" pids
  if [ "${kind%%:*}" = rank ]; then
    pids=$( (ps -o pid=,comm= -s "$sid" || true) | awk '$2 ~ /^cellot/ { print $1 }' | sed -n "$((${kind#rank:} + 1))p")
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    return
  fi
  for _ in 1 2 3; do  # again, in case the launcher forked a rank between listing and killing
    pids=$(session "$sid")
    [ -n "${pids// /}" ] || return 0
    kill -KILL $pids 2>/dev/null || true
    sleep 0.05
  done
}

"$bin" synth --preset screen --perturbations 2 --features 8 --cells-scale 0.1 --seed 3 --out data.h5ad 2>/dev/null
# screen-tiny with 60 iterations: 16 tasks, 5 checkpoints each for CellOT.
args=(screen --config "$src/configs/screen-tiny.ini" --data.path data.h5ad --training.iters 60 --quiet)

# The uninterrupted run, timed: from the start of its store's creation (<store>.creating appears)
# to its closing writes (the lease, released after the store is closed, disappears).
t0=$(now_ms)
(
  while [ ! -e ref.h5.creating ] && [ ! -e ref.h5 ]; do sleep 0.01; done
  now_ms >t_create
  while [ ! -e ref.h5.lease ] && [ ! -e ref.h5.done ]; do sleep 0.01; done
  while [ -e ref.h5.lease ]; do sleep 0.01; done
  now_ms >t_closed
) &
poller=$!
mpirun_n 2 "${args[@]}" --store ref.h5 2>ref.log || { cat ref.log; fail "reference run"; }
t_end=$(( $(now_ms) - t0 ))
touch ref.h5.done
wait "$poller" || true
t_create=$(( $(cat t_create) - t0 )) t_closed=$(( $(cat t_closed) - t0 ))
window=$(( t_closed - t_create ))
[ "$window" -gt 0 ] || fail "store creation at $t_create ms, after its closing writes ($t_closed ms)?"
echo "kill trials: seed $seed, $trials trials; uninterrupted run ${t_end} ms: store created at ${t_create} ms," \
  "closed at ${t_closed} ms; kills within ${window} ms of the store's creation"

RANDOM=$seed
passed=0
for i in $(seq 1 "$trials"); do
  r1=$RANDOM r2=$RANDOM r3=$RANDOM  # drawn for every trial, so trial i is the same with CELLOT_KILL_ONLY
  [ -z "$only" ] || [ "$only" = "$i" ] || continue
  delay=$(( (r1 * 32768 + r2) * window / 1073741824 ))
  kind=job
  [ $((i % 2)) -eq 1 ] || kind="rank:$((r3 % 2))"
  s="t$i.h5"
  echo "trial $i: seed $seed, kill ($kind) ${delay} ms after the store's creation began"
  # 1. The run, killed `delay` ms after its store's creation began.
  # (In a subshell that waits for it: bash's "Killed" notice goes to the log, not the output.)
  rm -f sid
  ( setsid "${mpi[@]}" -n 2 "$bin" "${args[@]}" --store "$s" & echo $! >sid; wait $! ) >"t$i.run.log" 2>&1 &
  job=$!
  for _ in $(seq 500); do [ -s sid ] && break; sleep 0.01; done
  sid=$(cat sid)
  for _ in $(seq 12000); do
    [ ! -e "$s.creating" ] && [ ! -e "$s" ] && kill -0 "$job" 2>/dev/null || break
    sleep 0.01
  done
  [ -e "$s.creating" ] || [ -e "$s" ] || { cat "t$i.run.log"; replay "$i"; fail "trial $i: the run created no store"; }
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill_job "$sid" "$kind"
  # The job must end by itself once a rank is gone (bounded: 60 s), never with success.
  rc=0
  for _ in $(seq 600); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$job" 2>/dev/null; then
    kill_job "$sid" job
    replay "$i"
    fail "trial $i: the job still ran 60 s after one rank was killed ($kind)"
  fi
  wait "$job" || rc=$?
  job=""
  [ "$rc" -ne 0 ] || {
    # A kill after the last write (the launcher's own exit) is a finished run: nothing to test.
    [ -e "$s" ] && [ ! -e "$s.lease" ] || { replay "$i"; fail "trial $i: killed run exited 0"; }
    echo "trial $i: the run had finished before the kill"
  }
  # Every process of the killed job gone (a survivor would still hold the store).
  for _ in $(seq 100); do [ -z "$(session "$sid")" ] && break; sleep 0.05; done
  survivors="$(session "$sid")"  # still running 5 s after the launcher ended: reported on a failure below
  had_lease=0
  [ ! -e "$s.lease" ] || had_lease=1
  # What the kill left; a store at its name must be readable as it is (inspect, read-only).
  state="no store"
  [ ! -e "$s.creating" ] || state="a half-created store"
  if [ -e "$s" ]; then
    "$bin" inspect --store "$s" >"t$i.killed.inspect" 2>&1 ||
      { cat "t$i.killed.inspect"; replay "$i"; fail "trial $i: inspect of the killed store failed"; }
    state="store with $(sed -n 's/^state: \(done [0-9]*\).*/\1/p' "t$i.killed.inspect")"
  fi
  # 2. The resume, as jobs/screen.sbatch runs it on a requeue.
  t_resume=$(now_ms)
  timeout 300 "${mpi[@]}" -n 2 "$bin" "${args[@]}" --store "$s" --resume >"t$i.resume.log" 2>&1 ||
    { cat "t$i.resume.log"; replay "$i"; fail "trial $i: resume after the kill ($kind at $delay ms, $state) failed"; }
  t_resume=$(( $(now_ms) - t_resume ))
  if [ "$had_lease" -eq 1 ]; then
    grep -q "warning: screen: breaking the lease of .* (its process is gone)" "t$i.resume.log" ||
      { cat "t$i.resume.log"; replay "$i"; fail "trial $i: the killed run's lease was not broken as stale"; }
  fi
  [ ! -e "$s.lease" ] || { replay "$i"; fail "trial $i: the resumed run left its lease"; }
  [ ! -e "$s.creating" ] || { replay "$i"; fail "trial $i: a .creating file outlived the resume"; }
  [ ! -e "$s.ckpt" ] || {
    ls -l --time-style=+%T.%N "$s.ckpt" >&2
    echo "resume ended at $(date +%T.%N); killed job's processes alive 5 s after it ended: ${survivors:-none}" >&2
    replay "$i"
    fail "trial $i: checkpoints outlived the complete store"
  }
  compare_stores ref.h5 "$s" ||
    { replay "$i"; fail "trial $i: kill ($kind at $delay ms, $state) + resume differs from the uninterrupted run"; }
  "$bin" inspect --store "$s" >"t$i.inspect" || { replay "$i"; fail "trial $i: inspect of the resumed store"; }
  lease=no
  [ "$had_lease" -eq 0 ] || lease="broken as stale"
  echo "trial $i: identical (the kill left $state, exit $rc; lease: $lease; resume ${t_resume} ms)"
  passed=$((passed + 1))
  rm -f "$s"
done
echo "screen_kill_trials: $passed/$([ -n "$only" ] && echo 1 || echo "$trials") identical (seed $seed)"
[ -z "$only" ] || exit 0

# SIGTERM to every rank (Slurm's time limit and scancel signal every task of the job) 0.1 s after
# the store is in place: the running tasks checkpoint, the store is closed
# cleanly and the lease released, exit 1; --resume then ends with the uninterrupted store.
rm -f sid
( setsid "${mpi[@]}" -n 2 "$bin" "${args[@]}" --store term.h5 & echo $! >sid; wait $! ) >term.run.log 2>&1 &
job=$!
for _ in $(seq 500); do [ -s sid ] && break; sleep 0.01; done
sid=$(cat sid)
for _ in $(seq 12000); do [ ! -e term.h5 ] && kill -0 "$job" 2>/dev/null || break; sleep 0.01; done
sleep 0.1  # tasks in flight: the store exists (renamed into place) and its rows take far longer
ranks=$( (ps -o pid=,comm= -s "$sid" || true) | awk '$2 ~ /^cellot/ { print $1 }')
[ -z "$ranks" ] || kill -TERM $ranks 2>/dev/null || true
rc=0
for _ in $(seq 600); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
kill -0 "$job" 2>/dev/null && { kill_job "$sid" job; fail "SIGTERM: the job still ran 60 s later"; }
wait "$job" || rc=$?
job=""
if [ -n "$ranks" ] && [ "$rc" -ne 0 ]; then
  # Each rank exits 1 once the store is closed; mpiexec ends the ranks still running when the
  # first exits non-zero, so it may report 143 for a rank it terminated after the close.
  [ "$rc" -eq 1 ] || [ "$rc" -eq 143 ] || { cat term.run.log; fail "SIGTERM: exit $rc (want 1)"; }
  # (A signal that lands after the last task was written stops nothing: the store is complete.)
  grep -q "screen interrupted by a signal: .* was closed cleanly; requeue the job and resume with --resume" \
    term.run.log || "$bin" inspect --store term.h5 | contains "pending 0" ||
    { cat term.run.log; fail "SIGTERM: no clean close and requeue message"; }
fi
[ ! -e term.h5.lease ] || fail "SIGTERM: the lease was not released"
mpirun_n 2 "${args[@]}" --store term.h5 --resume 2>term.resume.log || { cat term.resume.log; fail "resume after SIGTERM"; }
compare_stores ref.h5 term.h5 || fail "SIGTERM + resume differs from the uninterrupted run"
echo "SIGTERM 0.1 s after the store was in place: exit $rc, lease released, resumed: identical"
