#!/usr/bin/env bash
# Evaluation as the field does it (issue 15) end to end on 2 ranks: a leave-one-cell-line-out
# screen (data.holdout_value = each) scores every task on the held-out line (ood) and on unseen
# cells of the lines it trained on (iid), stores per-task effects, and the report shows iid/ood
# side by side, discrimination (recomputed here from /effects with numpy) and paired sign tests;
# a one-seed, one-fold report shows no sd and no reproducibility section; `train` refuses
# holdout_value = each (a screen-only setting).
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-eval.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

"$bin" synth --preset 4i --seed 4 --cells-scale 0.05 --out data.h5ad 2>/dev/null
cat >eval.ini <<INI
[data]
path = data.h5ad
split = holdout
holdout_key = cell_line
holdout_value = each
[model]
hidden = 16,16
[training]
iters = 20
inner_iters = 2
batch_size = 32
eval_every = 10
[screen]
models = cellot,identity,mean_shift,observed
seeds = 0
[metrics]
names = mmd,e_distance,pearson_delta,pearson_delta@5,r2_means,direction_acc@5
top_k = 5
INI
mpirun_n 2 screen --config eval.ini --store loo.h5 2>log.txt || { cat log.txt; fail "holdout each screen"; }
grep -q "32 tasks (4 perturbations x 4 models x 2 folds x 1 seeds)" log.txt || { cat log.txt; fail "one fold per cell line"; }

"$py" - loo.h5 <<'PY' || fail "store contents"
import h5py, numpy as np
f = h5py.File("loo.h5", "r")
names = [n.decode() if isinstance(n, bytes) else n for n in f["metrics"].attrs["names"]]
base = ["mmd", "e_distance", "pearson_delta", "pearson_delta@5", "r2_means", "direction_acc@5"]
assert names == base + ["iid:" + n for n in base], names
assert "[holdout] 2" in (f["plan"].attrs["plan_text"] if isinstance(f["plan"].attrs["plan_text"], str)
                          else f["plan"].attrs["plan_text"].decode())
state, v = f["status/state"][:], f["metrics/value"][:]
assert (state == 2).all(), state
for name in ["predicted", "observed", "iid_predicted", "iid_observed"]:
    e = f["effects"][name][:]
    assert e.shape == (32, 48) and np.isfinite(e).all(), name
model = [m.decode() for m in f["plan/model"][:]]
for t in range(32):
    paired = model[t] != "observed"
    for k, n in enumerate(names):
        assert np.isfinite(v[t, k]), (t, n)
    assert 0 <= v[t, names.index("direction_acc@5")] <= 1
print("store: iid and ood columns and effects present and finite")
PY

"$bin" report --store loo.h5 >r.md
"$bin" report --store loo.h5 --format csv >r.csv
"$bin" report --store loo.h5 --format tex >r.tex
grep -q "^## In and out of distribution" r.md || fail "iid/ood section"
grep -q "fold 0 = .*, fold 1 = " r.md || fail "fold values listed"
grep -q "| model | mmd iid | mmd ood |" r.md || fail "iid/ood columns"
grep -q "^## Discrimination" r.md || fail "discrimination section"
grep -q "^## Paired comparisons against cellot" r.md || fail "paired section"
grep -q "^| mmd | identity | [0-9]* | [0-9]* | [0-9]* | " r.md || fail "paired row"
! grep -q "^| mmd | observed |" r.md || fail "observed must not be compared"
! grep -q "^## Reproducibility" r.md || fail "reproducibility section on a one-seed screen"
grep -q "Discrimination" r.tex || fail "tex discrimination"

# Discrimination recomputed from /effects with numpy must equal the report's per-model means.
"$py" - loo.h5 r.csv <<'PY' || fail "discrimination vs numpy"
import csv, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
pe, oe = f["effects/predicted"][:], f["effects/observed"][:]
model = [m.decode() for m in f["plan/model"][:]]
fold = f["plan/fold"][:]
scores = {}
for t in range(len(model)):
    group = [j for j in range(len(model)) if model[j] == model[t] and fold[j] == fold[t]]
    d = np.linalg.norm(oe[group] - pe[t], axis=1)
    own = d[group.index(t)]
    scores.setdefault(model[t], []).append((np.sum(d < own) + 0.5 * (np.sum(d == own) - 1)) / (len(group) - 1))
rows = {r["model"]: float(r["mean"]) for r in csv.DictReader(open(sys.argv[2])) if r["table"] == "discrimination_mean"}
for m, v in scores.items():
    assert abs(np.mean(v) - rows[m]) < 1e-3, (m, np.mean(v), rows[m])
# The observed floor's predicted and observed effects are two halves of the same cells: it
# should tell the perturbations apart at least as well as identity, which predicts no change.
assert rows["observed"] <= rows["identity"], rows
paired = [r for r in csv.DictReader(open(sys.argv[2])) if r["table"] == "paired_vs_cellot"]
assert paired and all(r["model"] not in ("cellot", "observed") for r in paired), paired
print("discrimination agrees with numpy:", rows)
PY

# One seed, one fold: no sd anywhere in the results, no reproducibility section, no iid/ood.
mpirun_n 2 screen --config eval.ini --store one.h5 --data.split train_val_test 2>log1.txt ||
  { cat log1.txt; fail "one-fold screen"; }
"$bin" report --store one.h5 >one.md
! sed -n '/^## Results/,/^## Mean over/p' one.md | grep "^| " | grep -q " ± " || { cat one.md; fail "sd shown for n = 1"; }
grep -q "^| Erlotinib | cellot | 1 |" one.md || { cat one.md; fail "n = 1 rows"; }
! grep -q "^## Reproducibility" one.md || fail "reproducibility section for one seed"
! grep -q "^## In and out of distribution" one.md || fail "iid/ood section without holdout"
# The same with metrics.bootstrap: a 95% interval over cells instead of nothing.
mpirun_n 2 screen --config eval.ini --store boot.h5 --data.split train_val_test --screen.models identity,cellot \
  --metrics.bootstrap 5 2>logb.txt || { cat logb.txt; fail "bootstrap screen"; }
"$bin" report --store boot.h5 >boot.md
grep -q "^| Erlotinib | identity | 1 | [*]*[-0-9.e]* \[[-0-9.e]*, [-0-9.e]*\]" boot.md || { cat boot.md; fail "bootstrap interval"; }

# holdout_value = each is a screen setting: train refuses it with exit 2.
set +e
"$bin" train --data data.h5ad --perturbation Erlotinib --model identity --out m --data.split holdout \
  --data.holdout_key cell_line --data.holdout_value each 2>err.txt
rc=$?
set -e
[ $rc -eq 2 ] || { cat err.txt; fail "train with holdout_value = each: exit $rc"; }
grep -q "data.holdout_value = 'each'" err.txt || { cat err.txt; fail "holdout each message"; }
echo "screen_evaluation: all checks passed"
