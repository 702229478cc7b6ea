#!/usr/bin/env bash
# One writer per store (screen/lease.hpp): a second writer is refused (exit 2, one line naming
# the holder) and touches nothing; stale leases (process gone, no heartbeat, an earlier run of
# the same Slurm job) are broken with a warning; --break-lease breaks a live one; a finished
# screen removes its lease; two real screens on one store: the second is refused while the
# first runs; a running screen whose lease another job takes stops and writes nothing more.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-lease.XXXXXX)"
holder="" live=""
trap 'for p in $holder $live; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 2 --features 8 --cells-scale 0.1 --seed 3 --out data.h5ad 2>/dev/null
args=(screen --config "$src/configs/screen-tiny.ini" --data.path data.h5ad --screen.models cellot,identity --quiet)
host="$(hostname)"
lease() {  # lease HOST PID JOB RESTART: writes s.h5.lease as another writer would
  printf 'host=%s pid=%s job=%s restart=%s started=2026-01-01T00:00:00Z token=other\n' "$@" >s.h5.lease
}
refused() {  # refused WHAT ARGS...: exit 2, one stderr line naming the lease holder
  local what="$1" rc=0
  shift
  "$bin" "$@" 2>err.log || rc=$?
  [ "$rc" -eq 2 ] || { cat err.log; fail "$what: exit $rc, expected 2"; }
  [ "$(wc -l <err.log)" -eq 1 ] || { cat err.log; fail "$what: not one line"; }
  grep -q "^cellot: error: s.h5.lease: lease = '.*': another job is writing this store" err.log \
    || { cat err.log; fail "$what: message"; }
}
# stops_untouched NAME LOG WHAT: the screen $holder, whose lease on NAME.h5 another job took,
# exits 1 with the lost-lease line in LOG, writes nothing more to NAME.h5 from now on, and
# leaves the other job's lease in place.
stops_untouched() {
  local name="$1" log="$2" what="$3" sum rc=0
  sum="$(md5sum <"$name.h5")"
  wait "$holder" || rc=$?
  holder=""
  [ "$rc" -eq 1 ] || { cat "$log"; fail "$what: exit $rc, expected 1"; }
  [ "$(md5sum <"$name.h5")" = "$sum" ] || fail "$what: the screen wrote to the store after losing its lease"
  grep -q "^cellot: error: $name.h5.lease: another job took this store's lease" "$log" \
    || { cat "$log"; fail "$what: message"; }
  grep -q "other-node" "$name.h5.lease" || fail "$what: the stopped screen removed the other job's lease"
}
sleep 30 &
live=$!

# 1. A live process on this host holds it: refused, no store created, the lease untouched.
lease "$host" "$live" - 0
cp s.h5.lease before.lease
refused "live holder" "${args[@]}" --store s.h5
[ ! -e s.h5 ] || fail "a refused screen created the store"
cmp -s s.h5.lease before.lease || fail "a refused screen changed the lease"

# 2. The holder's process is gone: broken with a warning; the finished screen removes its lease.
lease "$host" 999999 - 0
"$bin" "${args[@]}" --store s.h5 2>ok.log || { cat ok.log; fail "dead holder: exit $?"; }
grep -q "warning: screen: breaking the lease of $host:999999.*(its process is gone)" ok.log || { cat ok.log; fail "dead holder warning"; }
[ ! -e s.h5.lease ] || fail "the lease outlived its screen"
"$bin" inspect --store s.h5 | contains "state: done" || fail "dead holder: store not written"
md5="$(md5sum <s.h5)"

# 3. Another host with a fresh heartbeat: refused, the existing store untouched by --resume.
lease other-node 4242 - 0
refused "other host" "${args[@]}" --store s.h5 --resume
[ "$(md5sum <s.h5)" = "$md5" ] || fail "a refused --resume changed the store"
# ... its heartbeat 10 minutes old with --lease-timeout 300: stale.
touch -d '-10 min' s.h5.lease
"$bin" "${args[@]}" --store s.h5 --resume 2>ok.log || { cat ok.log; fail "stale holder: exit $?"; }
grep -q "breaking the lease of other-node:4242.*(no heartbeat for [0-9]* s)" ok.log || { cat ok.log; fail "stale warning"; }

# 4. An earlier run of the same Slurm job (a requeue): broken at once, even with a fresh heartbeat.
lease other-node 4242 77 0
SLURM_JOB_ID=77 SLURM_RESTART_COUNT=1 "$bin" "${args[@]}" --store s.h5 --resume 2>ok.log \
  || { cat ok.log; fail "requeue: exit $?"; }
grep -q "Slurm job 77, run 0.*earlier run of this Slurm job" ok.log || { cat ok.log; fail "requeue warning"; }
# ... but another job's lease is not (a second submit while the first runs).
lease other-node 4242 78 0
SLURM_JOB_ID=77 SLURM_RESTART_COUNT=1 refused "other Slurm job" "${args[@]}" --store s.h5 --resume

# 5. --break-lease takes a live one.
lease "$host" "$live" - 0
"$bin" "${args[@]}" --store s.h5 --resume --break-lease 2>ok.log || { cat ok.log; fail "--break-lease: exit $?"; }
grep -q "breaking the lease of $host:$live.*(--break-lease)" ok.log || { cat ok.log; fail "--break-lease warning"; }
[ ! -e s.h5.lease ] || fail "the lease outlived --break-lease's screen"
kill "$live" 2>/dev/null || true

# 6. Two real screens on one store: the second is refused while the first runs; the first,
#    stopped by SIGUSR1 (as Slurm's --signal), closes its store and releases its lease.
rm -f s2.h5
"$bin" "${args[@]}" --store s2.h5 --training.iters 100000 --training.eval_every 100000 2>first.log &
holder=$!
for _ in $(seq 300); do [ -e s2.h5.lease ] && break; sleep 0.1; done
[ -e s2.h5.lease ] || { cat first.log; fail "the first screen took no lease"; }
rc=0
"$bin" "${args[@]}" --store s2.h5 --resume --training.iters 100000 --training.eval_every 100000 2>err.log || rc=$?
[ "$rc" -eq 2 ] && grep -q "s2.h5.lease: lease = '$host:$holder.*another job is writing this store" err.log \
  || { cat err.log; fail "second writer: exit $rc"; }
kill -USR1 "$holder"
rc=0
wait "$holder" || rc=$?
holder=""
[ "$rc" -eq 1 ] || { cat first.log; fail "the stopped screen: exit $rc, expected 1"; }
grep -q "resume with --resume" first.log || { cat first.log; fail "the first screen did not stop on SIGUSR1"; }
[ ! -e s2.h5.lease ] || fail "the stopped screen left its lease"
"$bin" inspect --store s2.h5 | contains "interrupted by signal" || fail "the stopped screen's history"
# 7. The lease taken from a running screen (another job's --break-lease, written here as it
#    would): the screen stops (exit 1, one error line naming the lease), writes nothing more to
#    the store after it noticed (the heartbeat, or at the latest the end, reads the lease), leaves
#    the other job's lease in place; the store opens, and --resume (breaking that lease) ends
#    with the uninterrupted store. SIGSTOP holds the screen while its lease is rewritten.
# Long enough (2,000 iterations per CellOT task) that the stop lands while tasks run: a screen of
# a second could pass its last lease check before SIGSTOP, and end without having noticed.
long=("${args[@]}" --training.iters 2000)
"$bin" "${long[@]}" --store ref.h5 2>/dev/null || fail "the uninterrupted run"
rm -f s3.h5
"$bin" "${long[@]}" --store s3.h5 --lease-timeout 2 2>third.log &
holder=$!
for _ in $(seq 1200); do [ -e s3.h5 ] && break; kill -0 "$holder" 2>/dev/null || break; sleep 0.05; done
kill -STOP "$holder"
[ -e s3.h5 ] || { cat third.log; fail "lost lease: the screen created no store"; }
printf 'host=other-node pid=4242 job=- restart=0 started=2026-01-01T00:00:00Z token=other\n' >s3.h5.lease.new
mv s3.h5.lease.new s3.h5.lease
kill -CONT "$holder"
for _ in $(seq 1200); do
  grep -q "the lease s3.h5.lease was taken by other-node:4242" third.log && break
  kill -0 "$holder" 2>/dev/null || break
  sleep 0.02
done
grep -q "the lease s3.h5.lease was taken by other-node:4242" third.log || { cat third.log; fail "lost lease: not noticed"; }
stops_untouched s3 third.log "lost lease"
[ "$(grep -c '^cellot: error: ' third.log)" -eq 1 ] || { cat third.log; fail "lost lease: not one error line"; }
"$bin" inspect --store s3.h5 >/dev/null || fail "lost lease: the store does not open"
"$bin" "${long[@]}" --store s3.h5 --resume --break-lease 2>ok.log || { cat ok.log; fail "lost lease: --resume"; }
compare_stores ref.h5 s3.h5 || fail "lost lease + --resume differs from the uninterrupted run"
# 8. The same on three ranks, with a heartbeat far away (--lease-timeout 600: the next one in
#    150 s): every writing rank reads the lease before each write, so no rank writes after the
#    lease is taken (before, ranks 1 and 2 went on writing rows until the end), the job stops with
#    tasks left and exits 1 naming the lease, and the other job's lease stays.
"$bin" synth --preset screen --perturbations 8 --features 8 --cells-scale 0.1 --seed 4 --out data8.h5ad 2>/dev/null
mpirun_n 3 screen --config "$src/configs/screen-tiny.ini" --data.path data8.h5ad --screen.models cellot \
  --training.iters 15000 --training.eval_every 500 --training.checkpoint_every 1000000 --quiet \
  --store s4.h5 --lease-timeout 600 2>fourth.log &
holder=$!
for _ in $(seq 1200); do [ -e s4.h5.lease ] && [ -e s4.h5 ] && break; kill -0 "$holder" 2>/dev/null || break; sleep 0.05; done
[ -e s4.h5 ] || { cat fourth.log; fail "3 ranks, lost lease: the screen created no store"; }
sleep 3  # tasks under way on every rank
printf 'host=other-node pid=4243 job=- restart=0 started=2026-01-01T00:00:00Z token=other\n' >s4.h5.lease.new
mv s4.h5.lease.new s4.h5.lease
sleep 1  # a write that read the lease just before it was taken lands now
stops_untouched s4 fourth.log "3 ranks, lost lease"
"$bin" inspect --store s4.h5 >inspect4.txt || fail "3 ranks, lost lease: the store does not open"
grep -Eq "pending [1-9]|running [1-9]" inspect4.txt \
  || { cat inspect4.txt; fail "3 ranks, lost lease: no task was left (the case did not test writes after the loss)"; }
echo "screen_lease: ok"
