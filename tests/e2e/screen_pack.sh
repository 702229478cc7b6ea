#!/usr/bin/env bash
# Packed training (screen.pack, issue 16): a screen whose CellOT tasks are trained in packs of 3
# or 4 on one group writes the same store, bit for bit, as the screen with pack 1 (every task
# alone): on 1 rank, on 2 ranks of one rank each, on 2 ranks sharing each pack (ranks_per_task
# 2), with a task count that is not a multiple of the pack, with early stopping on (some tasks
# of a pack stop while the others go on), and after the packed screen was killed (SIGKILL) and
# resumed. screen.pack 0 is refused with one line naming the key.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-pack.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 5 --features 8 --cells-scale 0.1 --seed 4 --out data.h5ad 2>/dev/null
# 5 perturbations x 2 seeds = 10 CellOT tasks (packs of 3: 3+3+3+1; of 4: 4+4+2) and the
# baselines alone; patience 1 at eval_every 5 stops some tasks before 200 iterations.
args=(screen --config "$src/configs/screen-tiny.ini" --data.path data.h5ad --screen.models cellot,identity,mean_shift
  --training.iters 200 --training.eval_every 5 --training.patience 1 --training.min_iters 0 --training.threads 1 --quiet)

"$bin" "${args[@]}" --store ref.h5 || fail "pack 1"
"$bin" inspect --store ref.h5 | contains "state: done 30, failed 0" || fail "pack 1: not every task done"
# The test means something only if some CellOT tasks stopped early and others did not.
"$py" - ref.h5 <<'PY' || fail "early stopping did not split the tasks"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
keys = [k.decode() if isinstance(k, bytes) else k for k in f["plan/key"][()]]
# The last logged step of each CellOT task (curves/values[t, count-1, 0]): 200 unless stopped.
last = {k: float(f["curves/values"][i, f["curves/count"][i] - 1, 0]) for i, k in enumerate(keys) if "|cellot|" in k}
print("last step per cellot task:", sorted(last.values()))
assert any(v < 200 for v in last.values()) and any(v == 200 for v in last.values()), last
PY

"$bin" "${args[@]}" --store p3.h5 --screen.pack 3 || fail "pack 3, 1 rank"
compare_stores ref.h5 p3.h5 || fail "pack 3 on 1 rank differs from pack 1"
mpirun_n 2 "${args[@]}" --store p4_w2.h5 --screen.pack 4 || fail "pack 4, 2 ranks"
compare_stores ref.h5 p4_w2.h5 || fail "pack 4 on 2 ranks (ranks_per_task 1) differs from pack 1"
mpirun_n 2 "${args[@]}" --store p3_g2.h5 --screen.pack 3 --ranks-per-task 2 || fail "pack 3, ranks_per_task 2"
compare_stores ref.h5 p3_g2.h5 || fail "pack 3 on a group of 2 ranks differs from pack 1"

# SIGKILL of a packed job once a few tasks are done, then --resume (also packed).
setsid "${mpi[@]}" -n 2 "$bin" "${args[@]/--quiet/--verbose}" --store k.h5 --screen.pack 3 2>kill.txt &
# The first finished task (a whole pack, largest units first) is early enough on any machine: the
# other rank is then inside a pack, and three packs and the baselines are still to come.
kill_session_after_tasks $! 1 kill.txt
"$bin" inspect --store k.h5 >k1.txt || { cat kill.txt; fail "killed store does not open"; }
grep "^state:" k1.txt
done_k=$(sed -n 's/^state: done \([0-9]*\),.*/\1/p' k1.txt)
[ "$done_k" -lt 30 ] || fail "the kill came after the screen had finished (nothing to resume)"
grep -q "pack of 3 tasks" kill.txt || fail "the packed screen trained no pack of 3"
mpirun_n 2 "${args[@]}" --store k.h5 --resume --screen.pack 3 || fail "resume after SIGKILL"
compare_stores ref.h5 k.h5 || fail "packed kill + resume differs from the uninterrupted pack-1 run"

# Bad input: one line naming the key and the value, exit 2.
set +e
"$bin" "${args[@]}" --store bad.h5 --screen.pack 0 2>bad.txt; rc=$?
set -e
[ $rc -eq 2 ] || { cat bad.txt; fail "pack 0: exit $rc"; }
[ "$(wc -l <bad.txt)" -eq 1 ] && grep -q "screen.pack" bad.txt && grep -q "0" bad.txt || { cat bad.txt; fail "pack 0 message"; }
echo "screen_pack: ok"
