#!/usr/bin/env bash
# cellot evaluate on synthetic 4i data: predictions from cellot predict (identity, mean_shift,
# observed) and from a hand-written anndata file (any model), checked against numpy /
# scikit-learn; the split taken from the model directory; the Sinkhorn stopping report.
set -euo pipefail
bin="${CELLOT_BIN:?}"
src="${CELLOT_SOURCE_DIR:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-evaluate.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# mpiexec with the flags this machine needs: the array `mpi`.
source "${CELLOT_SOURCE_DIR:?}/tests/support/mpi_launcher.sh"

data="$work/data.h5ad"
"$bin" synth --preset 4i --seed 3 --cells-scale 0.1 --out "$data" >/dev/null
for m in identity mean_shift; do
  "$bin" train --data "$data" --perturbation Imatinib --model "$m" --out "$work/$m" -q >/dev/null
  "$bin" predict --model "$work/$m" --data "$data" --out "$work/pred_$m.h5ad" -q >/dev/null
done
"$bin" predict --model "$work/mean_shift" --data "$data" --all-cells --out "$work/pred_all.h5ad" -q >/dev/null

# 1. Every metric on the default (test) split, JSON; the table names every metric too.
"$bin" evaluate --data "$data" --predictions "$work/pred_mean_shift.h5ad" --json >"$work/ms.json"
"$bin" evaluate --data "$data" --predictions "$work/pred_mean_shift.h5ad" >"$work/ms.txt"
"$bin" evaluate --data "$data" --predictions "$work/pred_identity.h5ad" --perturbation Imatinib --json >"$work/id.json"
# 2. predict --all-cells output, test split: only the test-split controls count.
"$bin" evaluate --data "$data" --predictions "$work/pred_all.h5ad" --perturbation Imatinib --json >"$work/all_test.json"
# 3. --split all against every Imatinib cell, a subset of metrics, cross-checked in python.
"$bin" evaluate --data "$data" --predictions "$work/pred_mean_shift.h5ad" --split all \
  --metrics.names mmd,l2_ds,r_means,knn_mix@50,spearman_pair,uvp,pearson_delta,r2_means,e_distance,direction_acc@20 \
  --json >"$work/split_all.json"
# 4. Resampling: deterministic in the seed, sd reported.
for run in a b; do
  "$bin" evaluate --data "$data" --predictions "$work/pred_mean_shift.h5ad" --metrics.names mmd,energy,knn_mix@20 \
    --metrics.bootstrap 3 --metrics.max_cells 80 --json >"$work/boot_$run.json"
done
cmp -s <(sed 's/"seconds": [^,]*,//' "$work/boot_a.json") <(sed 's/"seconds": [^,]*,//' "$work/boot_b.json") \
  || fail "bootstrap not deterministic"
# 5. Two ranks share the pair work: same values.
"${mpi[@]}" -n 2 "$bin" evaluate --data "$data" --predictions "$work/pred_mean_shift.h5ad" --json >"$work/ms_np2.json"

"$py" - "$work" "$data" <<'PY'
import json, sys
import anndata, numpy as np
from sklearn.metrics.pairwise import rbf_kernel
work, data = sys.argv[1], sys.argv[2]
load = lambda n: json.load(open(f"{work}/{n}.json"))
ms, ident, all_test, split_all = load("ms"), load("id"), load("all_test"), load("split_all")
names = ["mmd", "w2_eps", "sinkhorn_div@0.5", "sinkhorn_div@1", "sinkhorn_div@10", "sinkhorn_div@100", "l2_ds",
         "r_means", "l2_means", "r_stds", "l2_stds", "energy", "e_distance", "knn_mix@50", "knn_mix@100",
         "spearman_pair", "uvp", "pearson_delta", "pearson_delta@20", "pearson_delta@50", "pearson_delta@100",
         "r2_means", "direction_acc@20", "direction_acc@50", "direction_acc@100"]
assert list(ms["metrics"]) == names, list(ms["metrics"])
# 48 features: the top-50 and top-100 marker metrics are not available, the rest are.
too_many = {"pearson_delta@50", "pearson_delta@100", "direction_acc@50", "direction_acc@100"}
for n in too_many:
    assert ms["metrics"][n] is None, (n, ms["metrics"][n])
names = [n for n in names if n not in too_many]
for n in names:
    v = ms["metrics"][n]
    assert v is not None and v["value"] is not None and np.isfinite(v["value"]), (n, v)
assert ms["metrics"]["w2_eps"]["iterations"] > 0
assert ms["perturbation"] == "Imatinib" and ms["split"] == "test"
# identity: predictions are the control cells themselves.
assert abs(ident["metrics"]["spearman_pair"]["value"] - 1.0) < 1e-12, ident["metrics"]["spearman_pair"]
assert ident["metrics"]["mmd"]["value"] > ms["metrics"]["mmd"]["value"], "mean_shift should beat identity on mmd"
# --all-cells predictions in test mode: exactly the test-split controls of the default output.
assert all_test["cells"] == ms["cells"], (all_test["cells"], ms["cells"])
for n in names:
    assert abs(all_test["metrics"][n]["value"] - ms["metrics"][n]["value"]) <= 1e-12 * abs(ms["metrics"][n]["value"]), n

# --split all: recompute from the files.
d, p = anndata.read_h5ad(data), anndata.read_h5ad(f"{work}/pred_mean_shift.h5ad")
obs = np.asarray(d.X[(d.obs["condition"] == "Imatinib").values], dtype=np.float64)
pred = np.asarray(p.X, dtype=np.float64)
ctrl = np.asarray(d[p.obs_names].X, dtype=np.float64)
assert split_all["cells"] == {"predicted": len(pred), "observed": len(obs), "control": len(ctrl)}, split_all["cells"]
g = [2, 1, 0.5, 0.1, 0.01, 0.005]
mmd = np.mean([rbf_kernel(pred, pred, gamma=k).mean() + rbf_kernel(obs, obs, gamma=k).mean()
               - 2 * rbf_kernel(pred, obs, gamma=k).mean() for k in g])
m = split_all["metrics"]
assert abs(m["mmd"]["value"] - mmd) <= 1e-5 * mmd, (m["mmd"], mmd)
ds = np.linalg.norm((obs.mean(0) - ctrl.mean(0)) - (pred.mean(0) - ctrl.mean(0)))
assert abs(m["l2_ds"]["value"] - ds) <= 1e-9 * ds, (m["l2_ds"], ds)
assert abs(m["r_means"]["value"] - np.corrcoef(obs.mean(0), pred.mean(0))[0, 1]) < 1e-9
assert m["uvp"] is not None and m["uvp"]["value"] > 0
# Expression-change metrics from the files: changes from the paired controls' mean.
from scipy.spatial.distance import cdist
from scipy.stats import pearsonr
from sklearn.metrics import r2_score
dp, do = pred.mean(0) - ctrl.mean(0), obs.mean(0) - ctrl.mean(0)
assert abs(m["pearson_delta"]["value"] - pearsonr(dp, do)[0]) < 1e-9, m["pearson_delta"]
assert abs(m["r2_means"]["value"] - r2_score(obs.mean(0), pred.mean(0))) < 1e-9, m["r2_means"]
within = lambda z: cdist(z, z, "sqeuclidean").sum() / (len(z) * (len(z) - 1))
ed = 2 * cdist(pred, obs, "sqeuclidean").mean() - within(pred) - within(obs)
assert abs(m["e_distance"]["value"] - ed) <= 1e-8 * abs(ed), (m["e_distance"], ed)
assert 0 <= m["direction_acc@20"]["value"] <= 1
print("evaluate JSON checks passed")

boot = load("boot_a")
for n in ["mmd", "energy", "knn_mix@20"]:
    assert boot["metrics"][n]["sd"] > 0, (n, boot["metrics"][n])
np2 = load("ms_np2")
for n in names:
    a, b = ms["metrics"][n]["value"], np2["metrics"][n]["value"]
    assert abs(a - b) <= 1e-12 * max(abs(a), 1e-300), (n, a, b)
print("bootstrap and 2-rank checks passed")

# Predictions from "any model": unknown obs names, random values.
rng = np.random.default_rng(0)
fake = anndata.AnnData(X=(obs[:50] + 0.1 * rng.standard_normal((50, obs.shape[1]))).astype(np.float32),
                       obs={"source": ["elsewhere"] * 50}, var=d.var[[]].copy())
fake.obs_names = [f"external_{i}" for i in range(50)]
fake.write_h5ad(f"{work}/fake.h5ad")
wrong = fake[:, :-1].copy()
wrong.write_h5ad(f"{work}/wrong_features.h5ad")
PY

"$bin" evaluate --data "$data" --predictions "$work/fake.h5ad" --perturbation Imatinib --json >"$work/fake.json"
"$py" - "$work/fake.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
m = f["metrics"]
assert m["spearman_pair"] is None and m["uvp"] is None, (m["spearman_pair"], m["uvp"])
assert f["cells"]["predicted"] == 50 and f["cells"]["control"] == 0
assert m["mmd"]["value"] >= 0 and m["l2_ds"]["value"] >= 0
print("unpaired predictions: paired metrics n/a, the rest computed")
PY
grep -q "spearman_pair .*n/a" < <("$bin" evaluate --data "$data" --predictions "$work/fake.h5ad" -p Imatinib \
  --metrics.names mmd,spearman_pair) || fail "table should show n/a"
grep -q "^  mmd " "$work/ms.txt" || fail "table lacks the mmd row"
grep -q "Sinkhorn iterations, .*converged" "$work/ms.txt" || fail "table lacks iteration counts"

# Errors: exit 2, one line naming the file / key / value.
expect_input_error() {
  local pattern="$1"; shift
  set +e
  out="$("$bin" "$@" 2>&1)"
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "expected exit 2, got $rc: $* -> $out"
  # One error line (warnings may precede it) that names the problem.
  [ "$(grep -c "error:" <<<"$out")" -eq 1 ] || fail "expected one error line: $out"
  grep "error:" <<<"$out" | grep -q -- "$pattern" || fail "expected '$pattern' in: $out"
}

# 6. The observed baseline: compared with the disjoint other half of the test split (the model's
# seed), --split all with every Imatinib cell but its pool; paired metrics n/a.
"$bin" train --data "$data" --perturbation Imatinib --model observed --out "$work/observed" -q >/dev/null
"$bin" predict --model "$work/observed" --data "$data" --out "$work/pred_observed.h5ad" -q >/dev/null
"$bin" evaluate --data "$data" --predictions "$work/pred_observed.h5ad" --json >"$work/observed.json"
"$bin" evaluate --data "$data" --predictions "$work/pred_observed.h5ad" --split all \
  --metrics.names mmd,knn_mix@10,spearman_pair --json >"$work/observed_all.json"
"$bin" evaluate --data "$data" --predictions "$work/pred_observed.h5ad" --metrics.names mmd,uvp \
  >"$work/observed.txt"
grep -q "uvp .*n/a" "$work/observed.txt" || fail "observed table: uvp should be n/a"
grep -q "the other half of the test split" "$work/observed.txt" || fail "observed table: reference not named"
"$py" - "$work" "$data" <<'PY'
import json, sys
import anndata, h5py, numpy as np
from sklearn.metrics.pairwise import rbf_kernel
work, data = sys.argv[1], sys.argv[2]
o, a, ms = (json.load(open(f"{work}/{n}.json")) for n in ("observed", "observed_all", "ms"))
with h5py.File(f"{work}/observed/model.h5") as f:
    pool = f["params"]["pool"][()].astype(np.float64)
d = anndata.read_h5ad(data)
treated = np.asarray(d.X[(d.obs["condition"] == "Imatinib").values], dtype=np.float64)
in_pool = (np.abs(treated[:, None, :] - pool[None, :, :]).max(-1) == 0).any(1)
assert in_pool.sum() == len(pool), (in_pool.sum(), len(pool))
test_cells = ms["cells"]["observed"]  # the Imatinib test split (same seed)
assert o["model"] == "observed" and o["split_from"] == "model", o
assert o["cells"]["predicted"] == len(pool), o["cells"]  # distinct cells: the pool repeats
assert o["cells"]["observed"] == test_cells - len(pool), (o["cells"], test_cells, len(pool))
assert o["metrics"]["spearman_pair"] is None and o["metrics"]["uvp"] is None, o["metrics"]
for n, v in o["metrics"].items():
    assert v is None or np.isfinite(v["value"]), (n, v)
# --split all: the reference is every Imatinib cell outside the pool (recomputed here).
ref = treated[~in_pool]
assert a["cells"]["observed"] == len(ref), (a["cells"], len(ref))
mmd = np.mean([rbf_kernel(pool, pool, gamma=g).mean() + rbf_kernel(ref, ref, gamma=g).mean()
               - 2 * rbf_kernel(pool, ref, gamma=g).mean() for g in [2, 1, 0.5, 0.1, 0.01, 0.005]])
assert abs(a["metrics"]["mmd"]["value"] - mmd) <= 1e-6 * mmd, (a["metrics"]["mmd"], mmd)
assert a["metrics"]["spearman_pair"] is None
print("observed baseline: disjoint halves, paired metrics n/a")
PY
# Without the model directory the seeds come from this command's (default) configuration, as
# cellot train derived them: the same result; another seed is refused (the pool is not its half).
mv "$work/observed" "$work/observed_moved"
"$bin" evaluate --data "$data" --predictions "$work/pred_observed.h5ad" --json 2>"$work/moved.log" \
  >"$work/observed_nodir.json"
grep -q "not readable" "$work/moved.log" || fail "missing model directory should be warned about"
"$py" -c "
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a['metrics'] == b['metrics'] and a['cells'] == b['cells'], 'fallback split differs'
assert b['split_from'] == 'config'
" "$work/observed.json" "$work/observed_nodir.json" || fail "observed without model dir"
expect_input_error "prediction half" evaluate --data "$data" --predictions "$work/pred_observed.h5ad" --training.seed 1

# 7. The split is the model's: a model trained with --training.seed 5 is scored on its own test
# split by a plain evaluate; a conflicting explicit seed is an error; without the model directory
# the default seed's split would drop predictions: an error, not a silent overlap.
"$bin" train --data "$data" --perturbation Imatinib --model mean_shift --training.seed 5 --out "$work/ms5" -q >/dev/null
"$bin" predict --model "$work/ms5" --data "$data" --out "$work/pred_ms5.h5ad" -q >/dev/null
"$bin" evaluate --data "$data" --predictions "$work/pred_ms5.h5ad" --json >"$work/ms5.json"
"$bin" evaluate --data "$data" --predictions "$work/pred_ms5.h5ad" --training.seed 5 --json >"$work/ms5_explicit.json"
"$bin" evaluate --predictions "$work/pred_ms5.h5ad" --json >"$work/ms5_nodata.json"  # --data: the model's
expect_input_error "training.seed" evaluate --data "$data" --predictions "$work/pred_ms5.h5ad" --training.seed 0
mv "$work/ms5" "$work/ms5_moved"
expect_input_error "outside the test split" evaluate --data "$data" --predictions "$work/pred_ms5.h5ad"
"$bin" evaluate --data "$data" --predictions "$work/pred_ms5.h5ad" --training.seed 5 --json \
  2>/dev/null >"$work/ms5_nodir.json"
"$py" - "$work" <<'PY'
import json, sys
import anndata
work = sys.argv[1]
j = {n: json.load(open(f"{work}/{n}.json")) for n in ("ms", "ms5", "ms5_explicit", "ms5_nodata", "ms5_nodir")}
n_pred = anndata.read_h5ad(f"{work}/pred_ms5.h5ad").n_obs
assert j["ms5"]["training_seed"] == 5 and j["ms5"]["split_from"] == "model", j["ms5"]
assert j["ms5"]["cells"]["predicted"] == n_pred, (j["ms5"]["cells"], n_pred)  # none dropped
for other in ("ms5_explicit", "ms5_nodata", "ms5_nodir"):
    assert j[other]["metrics"] == j["ms5"]["metrics"], other
    assert j[other]["cells"] == j["ms5"]["cells"], other
assert j["ms5_nodir"]["split_from"] == "config"
assert j["ms5"]["metrics"]["mmd"] != j["ms"]["metrics"]["mmd"]  # another split than seed 0
print("split from the model directory: ok")
PY

# 8. Sinkhorn stopping rule: a small cap is reported (JSON, table, warning); a raised cap converges.
"$bin" evaluate --data "$data" --predictions "$work/pred_mean_shift.h5ad" --metrics.names w2_eps,sinkhorn_div@100,mmd \
  --metrics.sinkhorn_max_iter 5 --json 2>"$work/cap.log" >"$work/cap.json"
grep -q "warning: metrics: w2_eps stopped at the Sinkhorn iteration cap (metrics.sinkhorn_max_iter = 5)" "$work/cap.log" \
  || fail "no warning at the cap: $(cat "$work/cap.log")"
"$bin" evaluate --data "$data" --predictions "$work/pred_mean_shift.h5ad" --metrics.names w2_eps \
  --metrics.sinkhorn_max_iter 5 2>/dev/null >"$work/cap.txt"
grep -q "w2_eps .*5 Sinkhorn iterations, NOT converged" "$work/cap.txt" || fail "table: $(cat "$work/cap.txt")"
grep -q "tolerance 1e-09 .* cap 5 iterations" "$work/cap.txt" || fail "table lacks tolerance and cap"
"$bin" evaluate --data "$data" --predictions "$work/pred_mean_shift.h5ad" --metrics.names w2_eps,sinkhorn_div@100 \
  --metrics.sinkhorn_max_iter 50000 --metrics.sinkhorn_tol 1e-6 --json 2>"$work/conv.log" >"$work/conv.json"
grep -q "warning" "$work/conv.log" && fail "converged run warned: $(cat "$work/conv.log")"
"$py" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
cap, conv = (json.load(open(f"{work}/{n}.json")) for n in ("cap", "conv"))
assert cap["sinkhorn"] == {"tol": 1e-9, "max_iter": 5}, cap["sinkhorn"]
w = cap["metrics"]["w2_eps"]
assert w["converged"] is False and w["iterations"] == 5 and w["marginal_error"] > 1e-9, w
assert "converged" not in cap["metrics"]["mmd"]
assert conv["sinkhorn"] == {"tol": 1e-6, "max_iter": 50000}, conv["sinkhorn"]
for n in ("w2_eps", "sinkhorn_div@100"):
    v = conv["metrics"][n]
    assert v["converged"] is True and v["marginal_error"] < 1e-6 and 5 < v["iterations"] < 50000, (n, v)
print("Sinkhorn stopping report: ok")
PY
expect_input_error "var_names" evaluate --data "$data" --predictions "$work/wrong_features.h5ad" -p Imatinib
expect_input_error "metrics.names" evaluate --data "$data" --predictions "$work/pred_identity.h5ad" --metrics.names mmd,bogus
expect_input_error "Nonexistent" evaluate --data "$data" --predictions "$work/pred_identity.h5ad" -p Nonexistent
expect_input_error "--split" evaluate --data "$data" --predictions "$work/pred_identity.h5ad" --split val
expect_input_error "missing.h5ad" evaluate --data "$data" --predictions "$work/missing.h5ad"
echo "evaluate e2e passed"
