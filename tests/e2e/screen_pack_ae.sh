#!/usr/bin/env bash
# Packed autoencoders (screen.pack, issue 16 item 1): a screen whose scGen and cAE tasks are
# trained in packs of 3 or 4 writes the same store, bit for bit, as the screen with pack 1 (every
# task alone): on 1 rank and on 2 ranks sharing each pack (ranks_per_task 2), with early stopping
# on (some tasks of a pack stop while the others go on). Packs handed to several groups are
# screen_pack_e2e's (the coordinator does not look at the model kind). A packed screen preempted
# by SIGUSR1 in the middle of a pack (its autoencoders report Interrupted and are refitted from
# scratch on --resume) ends with the store of the uninterrupted run.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-pack-ae.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 5 --features 8 --cells-scale 0.1 --seed 4 --out data.h5ad 2>/dev/null
# 5 perturbations x 2 seeds = 10 tasks of each autoencoder (packs of 3: 3+3+3+1; of 4 in the preempted run: 4+4+2)
# (one model kind per pack); patience 1 at eval_every 5 stops some tasks before their last epoch.
args=(screen --config "$src/configs/screen-tiny.ini" --data.path data.h5ad --screen.models scgen,cae
  --training.epochs 20 --training.eval_every 5 --training.patience 1 --training.threads 1 --quiet)

"$bin" "${args[@]}" --store ref.h5 || fail "pack 1"
"$bin" inspect --store ref.h5 | contains "state: done 20, failed 0" || fail "pack 1: not every task done"
# The test means something only if some autoencoder tasks stopped early and others did not. The
# tasks of one perturbation share their data, so they plan the same steps: one whose last logged
# step is below the largest of its perturbation stopped early.
"$py" - ref.h5 <<'PY' || fail "early stopping did not split the tasks"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
keys = [k.decode() if isinstance(k, bytes) else k for k in f["plan/key"][()]]
last = {k: float(f["curves/values"][i, f["curves/count"][i] - 1, 0])
        for i, k in enumerate(keys) if "|scgen|" in k or "|cae|" in k}
most = {}
for k, v in last.items():
    most[k.split("|")[0]] = max(most.get(k.split("|")[0], 0), v)
early = [k for k, v in last.items() if v < most[k.split("|")[0]]]
full = [k for k, v in last.items() if v == most[k.split("|")[0]]]
print("stopped early:", len(early), "ran to the end:", len(full))
assert early and full, last
PY

"$bin" "${args[@]}" --store p3.h5 --screen.pack 3 --verbose 2>p3.txt || { cat p3.txt; fail "pack 3, 1 rank"; }
grep -q "pack of 3 tasks" p3.txt || fail "the screen trained no pack of 3"
compare_stores ref.h5 p3.h5 || fail "pack 3 on 1 rank differs from pack 1"
mpirun_n 2 "${args[@]}" --store p3_g2.h5 --screen.pack 3 --ranks-per-task 2 || fail "pack 3, ranks_per_task 2"
compare_stores ref.h5 p3_g2.h5 || fail "pack 3 on a group of 2 ranks differs from pack 1"

# SIGUSR1 once the first pack is training: the job exits 1 with tasks left; --resume (packed)
# refits them and the store equals the uninterrupted unpacked run's.
long=(screen --config "$src/configs/screen-tiny.ini" --data.path data.h5ad --screen.models scgen
  --training.epochs 1000 --training.eval_every 25 --training.threads 1)
"$bin" "${long[@]}" --store long_ref.h5 --quiet || fail "pack 1, 1000 epochs"
"$bin" "${long[@]}" --store u.h5 --screen.pack 4 --verbose 2>usr1.txt &
usr1_after_line $! "pack of 4 tasks" 0.3 usr1.txt
[ "$job_rc" -eq 1 ] || { cat usr1.txt; fail "SIGUSR1 exit $job_rc"; }
"$bin" inspect --store u.h5 >u1.txt
done_u=$(sed -n 's/^state: done \([0-9]*\),.*/\1/p' u1.txt)
[ "$done_u" -lt 10 ] || { cat u1.txt; fail "the signal came after the screen had finished"; }
# Every member of the pack in training was stopped (at the same step: one vote per round).
[ "$(grep -c "interrupted.*scgen: stopped at step" usr1.txt)" -ge 2 ] || { cat usr1.txt; fail "no pack interrupted in training"; }
"$bin" "${long[@]}" --store u.h5 --resume --screen.pack 4 --quiet || fail "resume after SIGUSR1"
compare_stores long_ref.h5 u.h5 || fail "packed SIGUSR1 + resume differs from the uninterrupted pack-1 run"
echo "screen_pack_ae: ok"
