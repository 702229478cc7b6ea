#!/usr/bin/env bash
# cellot screen / inspect / report end to end on the tiny screen (2 ranks): every task done,
# the store layout h5py sees, report rows and best marks in md, csv and tex, refusals (store
# exists without --resume, another plan on --resume, bad ranks per task) with exit 2.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-basic.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

"$bin" screen --help | contains '--ranks-per-task' || fail "screen --help"
"$bin" synth --preset screen --perturbations 4 --features 8 --cells-scale 0.1 --out data.h5ad 2>/dev/null
cfg="$src/configs/screen-tiny.ini"

mpirun_n 2 screen --config "$cfg" --data.path data.h5ad --store s.h5 2>log.txt || { cat log.txt; fail "screen exited $?"; }
grep -q "screen: plan [0-9a-f]\{16\}: 32 tasks (4 perturbations x 4 models x 1 folds x 2 seeds)" log.txt \
  || { cat log.txt; fail "plan line"; }
grep -q "overhead outside" log.txt || fail "no phase summary"

"$bin" inspect --store s.h5 >inspect.txt
grep -q "state: done 32, failed 0, diverged 0, running 0" inspect.txt || { cat inspect.txt; fail "inspect counts"; }
grep -q "world_size: 2" inspect.txt || fail "provenance world size"
grep -q "drug_000|cellot|fold0|seed1 \[" inspect.txt || fail "done task listed"

# The layout as h5py (and the figure scripts) see it.
"$py" - s.h5 <<'PY' || fail "layout"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
T = f["plan/key"].shape[0]
assert T == 32, T
assert (f["status/state"][()] == 2).all()
names = list(f["metrics"].attrs["names"])
assert names == ["mmd", "w2_eps", "l2_ds", "r_means", "energy", "knn_mix@50", "uvp"], names
v = f["metrics/value"][()]
model = f["plan/model"][()].astype(str)
assert np.isfinite(v[:, names.index("mmd")]).all()
# uvp from the synthetic ground truth, except for the observed baseline (no map).
assert np.isfinite(v[model != "observed", names.index("uvp")]).all()
assert np.isnan(v[model == "observed", names.index("uvp")]).all()
# identity's uvp is that of doing nothing; mean_shift must be no worse on most tasks.
assert f["curves/count"][()][model == "cellot"].min() >= 1
rows = f["plan/params_row"][()]
cnt = f["params/cellot/count"][()]
assert (cnt > 0).all(), cnt
assert (f["predictions/count"][()] == f["predictions/capacity"][()]).all()
assert f["predictions/values"].shape[1] == 8
PY

"$bin" report --store s.h5 >r.md
"$bin" report --store s.h5 --format csv --metrics mmd,r_means >r.csv
"$bin" report --store s.h5 --format tex >r.tex
for p in drug_000 drug_001 drug_002 drug_003; do
  for m in cellot identity mean_shift observed; do
    grep -q "^| $p | $m | 2 |" r.md || fail "md row $p $m"
    grep -q "^results,$p,$m,mmd," r.csv || fail "csv row $p $m"
  done
done
# One best mark per perturbation and metric (ties aside): 4 perturbations x 7 metrics in md
# rows (bold), the csv flag column, \textbf in tex.
nbold=$(grep "^| drug_" r.md | grep -o '\*\*[^*]*\*\*' | wc -l)
[ "$nbold" -ge 28 ] || fail "md best marks: $nbold"
nbest=$(grep -c '^results,drug_[0-9]*,[a-z_]*,mmd,[^,]*,[^,]*,2,1,' r.csv)
[ "$nbest" -ge 4 ] || fail "csv best flags: $nbest"
grep -q '\\textbf{' r.tex || fail "tex bold"
grep -q '^## Reproducibility' r.md || fail "cv section"
grep -q '^| cellot | 4 |' r.md || fail "cv row for cellot"
"$bin" report --store s.h5 --compare s.h5 | contains "| mmd | 32 | 0 | 0 |" || fail "self-compare is not zero"

# Refusals: exit 2 with one line naming the file, key and value.
set +e
mpirun_n 2 screen --config "$cfg" --data.path data.h5ad --store s.h5 2>err1.txt; rc=$?
set -e
[ $rc -eq 2 ] || { cat err1.txt; fail "existing store without --resume: exit $rc"; }
grep -q "s.h5.*pass --resume" err1.txt || fail "existing-store message"
set +e
"$bin" screen --config "$cfg" --data.path data.h5ad --store s.h5 --resume --screen.seeds 0,2 2>err2.txt; rc=$?
set -e
[ $rc -eq 2 ] || { cat err2.txt; fail "plan mismatch: exit $rc"; }
grep -q "s.h5: plan_hash = '[0-9a-f]\{16\} (s.h5) vs [0-9a-f]\{16\} (this config)'.*the config differs: 'seeds = 0,1' (s.h5) vs 'seeds = 0,2'" err2.txt || { cat err2.txt; fail "plan mismatch message"; }
set +e
mpirun_n 3 screen --config "$cfg" --data.path data.h5ad --store t.h5 --ranks-per-task 2 2>err3.txt; rc=$?
set -e
[ $rc -eq 2 ] || { cat err3.txt; fail "bad ranks per task: exit $rc"; }
grep -q "screen.ranks_per_task = '2'" err3.txt || { cat err3.txt; fail "ranks per task message"; }
# A resume of a complete store runs nothing and changes no result.
cp s.h5 s0.h5
"$bin" screen --config "$cfg" --data.path data.h5ad --store s.h5 --resume 2>log2.txt
grep -q "0 to run (32 already done)" log2.txt || { cat log2.txt; fail "resume of a complete store"; }
compare_stores s0.h5 s.h5 || fail "resume changed a complete store"
# Every model is scored on as many cells per set as the observed floor: half the treated test
# cells (the biased metrics depend on sample size, so more cells would beat the floor by size).
"$bin" screen --config "$cfg" --data.path data.h5ad --store eq.h5 --screen.seeds 0 --verbose 2>eq.txt \
  || { cat eq.txt; fail "equal-size screen"; }
n_lines=$(grep -c "metrics on at most" eq.txt || true)
[ "$n_lines" -eq 16 ] || { cat eq.txt; fail "metrics size lines: $n_lines (want 16)"; }
grep -o "metrics on at most [0-9]* cells per set ([0-9]* predicted, [0-9]* treated test cells)" eq.txt |
  while read -r _ _ _ _ n _ _ _ p _ o _; do
    p="${p#(}"
    [ "$n" -eq $((o / 2)) ] || fail "metrics cells $n != half of $o treated test cells"
    [ "$p" -ge "$n" ] || fail "fewer predictions ($p) than the common size ($n)"
  done
# Sinkhorn stopped at a tiny cap: no line per task, one summary line for the screen, and the
# store's iterations column holds the cap for those tasks.
"$bin" screen --config "$cfg" --data.path data.h5ad --store cap.h5 --screen.models identity --screen.seeds 0 \
  --metrics.names mmd,w2_eps --metrics.sinkhorn_max_iter 5 2>cap.txt || { cat cap.txt; fail "capped screen"; }
! grep -q "metrics: w2_eps stopped" cap.txt || { cat cap.txt; fail "per-task Sinkhorn warnings in a screen"; }
grep -q "screen: Sinkhorn stopped at the iteration cap (metrics.sinkhorn_max_iter = 5, tolerance 1e-09) without converging: w2_eps in 4 tasks" cap.txt \
  || { cat cap.txt; fail "Sinkhorn summary line"; }
"$py" - cap.h5 <<'PY' || fail "iterations column"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
names = [n.decode() if isinstance(n, bytes) else n for n in f["metrics"].attrs["names"]]
it = f["metrics/iterations"][()][:, names.index("w2_eps")]
assert (it == 5).all(), it
PY
# Progress of tasks still running: a one-task screen on 2 ranks shows an ETA before the task
# ends (from the running task's steps: rank 0's own, or the other group's heartbeat every 3 s
# here), and the line keeps coming while rank 0 only waits (CELLOT_PROGRESS_KEEPALIVE: 1 s).
# Patience 0: the task runs its planned 150,000 iterations (CellOT's default would stop it).
CELLOT_PROGRESS_KEEPALIVE=1 mpirun_n 2 screen --config "$cfg" --data.path data.h5ad --store eta.h5 \
  --data.perturbations drug_000 --screen.models cellot --screen.seeds 0 --training.iters 150000 \
  --training.eval_every 10000 --training.patience 0 --training.checkpoint_every 1000000 --screen.wait_timeout 12 2>eta.log \
  || { cat eta.log; fail "one-task screen exited $?"; }
grep -Eq "screen 0/1 \(0\.0%\) .* ETA [0-9]" eta.log || { cat eta.log; fail "no ETA while the only task ran"; }
echo "screen_basic: ok"
