#!/usr/bin/env bash
# cellot evaluate on synthetic 4i data: predictions from cellot predict (identity and mean_shift)
# and from a hand-written anndata file (any model), checked against numpy / scikit-learn.
set -euo pipefail
bin="${CELLOT_BIN:?}"
src="${CELLOT_SOURCE_DIR:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-evaluate.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# mpiexec with the flags this machine needs: the array `mpi`.
source "${CELLOT_SOURCE_DIR:?}/tests/support/mpi_launcher.sh"
export OMP_NUM_THREADS=1

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
  --metrics.names mmd,l2_ds,r_means,knn_mix@50,spearman_pair,uvp --json >"$work/split_all.json"
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
         "r_means", "l2_means", "r_stds", "l2_stds", "energy", "knn_mix@50", "knn_mix@100", "spearman_pair", "uvp"]
assert list(ms["metrics"]) == names, list(ms["metrics"])
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
grep -q "Sinkhorn iterations" "$work/ms.txt" || fail "table lacks iteration counts"

# Errors: exit 2, one line naming the file / key / value.
expect_input_error() {
  local pattern="$1"; shift
  set +e
  out="$("$bin" "$@" 2>&1)"
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "expected exit 2, got $rc: $* -> $out"
  grep -q -- "$pattern" <<<"$out" || fail "expected '$pattern' in: $out"
}
expect_input_error "var_names" evaluate --data "$data" --predictions "$work/wrong_features.h5ad" -p Imatinib
expect_input_error "metrics.names" evaluate --data "$data" --predictions "$work/pred_identity.h5ad" --metrics.names mmd,bogus
expect_input_error "Nonexistent" evaluate --data "$data" --predictions "$work/pred_identity.h5ad" -p Nonexistent
expect_input_error "--split" evaluate --data "$data" --predictions "$work/pred_identity.h5ad" --split val
expect_input_error "missing.h5ad" evaluate --data "$data" --predictions "$work/missing.h5ad"
echo "evaluate e2e passed"
