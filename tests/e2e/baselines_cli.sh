#!/usr/bin/env bash
# The baselines through the CLI (cellot train / predict) on the synthetic 4i data (Imatinib):
# scGen and cAE curves and weights in the model directory, identity / mean_shift / observed
# predictions with their documented meaning, a reload that predicts identically, data-parallel
# training of an autoencoder on 2 ranks (reproducible, close to 1 rank), the validation grid,
# cellot evaluate on every model's predictions (CellOT's too), and a bad hyperparameter refused
# with exit 2.
set -euo pipefail
bin="${CELLOT_BIN:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-baselines-e2e.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# mpiexec with the flags this machine needs: the array `mpi`.
source "${CELLOT_SOURCE_DIR:?}/tests/support/mpi_launcher.sh"
cd "$work"

"$bin" synth --preset 4i --seed 3 --cells-scale 0.1 --out data.h5ad >/dev/null 2>&1
common=(--data data.h5ad --perturbation Imatinib --training.threads 1 --quiet)
ae=(--training.epochs 60 --training.eval_every 20)

# 1. Every baseline trains and predicts the test-split controls.
for m in scgen cae; do
  "$bin" train "${common[@]}" "${ae[@]}" --model "$m" --out "m_$m" || fail "train $m"
  [ "$(head -1 "m_$m/curves.csv")" = "step,epoch,train_loss,val_loss" ] || fail "$m curves header: $(head -1 "m_$m/curves.csv")"
done
for m in identity mean_shift observed; do
  "$bin" train "${common[@]}" --model "$m" --out "m_$m" || fail "train $m"
done
for m in scgen cae identity mean_shift observed; do
  "$bin" predict --model "m_$m" --out "pred_$m.h5ad" --quiet || fail "predict $m"
done
# A reload predicts bit-identically.
"$bin" predict --model m_scgen --out pred_scgen2.h5ad --quiet

# 2. Data-parallel scGen on 2 ranks, twice.
"${mpi[@]}" -n 2 "$bin" train "${common[@]}" "${ae[@]}" --model scgen --out m_np2a
"${mpi[@]}" -n 2 "$bin" train "${common[@]}" "${ae[@]}" --model scgen --out m_np2b

# 3. The App. C.1 grid (one epoch per candidate here), selected on the validation split.
"$bin" train "${common[@]}" --training.epochs 1 --model cae --model.grid true --out m_grid || fail "grid"

"$py" - <<'PY' || fail "baseline outputs"
import anndata, h5py, numpy as np

def params(d):
    with h5py.File(d + "/model.h5") as f:
        return {n: f["params"][n][()] for n in f["params"].attrs["names"]}

data = anndata.read_h5ad("data.h5ad")
X = np.asarray(data.X, dtype=np.float64)
row = {n: i for i, n in enumerate(data.obs_names)}
treated = X[(data.obs["condition"] == "Imatinib").values]
pred = {m: anndata.read_h5ad(f"pred_{m}.h5ad") for m in ["scgen", "cae", "identity", "mean_shift", "observed"]}
ctrl = X[[row[n] for n in pred["identity"].obs_names]]
for m, p in pred.items():
    assert list(p.obs_names) == list(pred["identity"].obs_names), m
    assert np.isfinite(np.asarray(p.X)).all(), m

# Paper hyperparameters and the scGen latent means are in the weights.
s = params("m_scgen")
assert np.allclose(s["hparams"], [48, 0, 32, 2, 8, 0.05, 1e-3, 128]), s["hparams"]
assert s["encoder.0.weight"].shape == (32, 48) and s["decoder.2.weight"].shape == (48, 32)
assert s["latent_mean.control"].shape == (8,) and not np.allclose(s["latent_mean.control"], s["latent_mean.perturbed"])
c = params("m_cae")
assert np.allclose(c["hparams"], [48, 2, 32, 2, 8, 0.05, 1e-4, 128]), c["hparams"]
assert c["encoder.0.weight"].shape == (32, 50) and c["decoder.0.weight"].shape == (32, 10)

# identity: the controls themselves; mean_shift: one constant shift, the stored one (up to the
# float32 rounding of the prediction file). Models work on standardised features (the model
# directory's /transform), so the stored shift is in units of each feature's sd.
assert np.array_equal(np.asarray(pred["identity"].X, dtype=np.float64), ctrl)
diff = np.asarray(pred["mean_shift"].X, dtype=np.float64) - ctrl
with h5py.File("m_mean_shift/model.h5") as f:
    assert f["transform"].attrs["spec"].startswith("cellot-transform-1; embedding=none; standardize=true")
    scale = f["transform/scale"][()]
shift = params("m_mean_shift")["shift"].astype(np.float64) * scale
assert np.abs(diff - shift).max() < 1e-5, np.abs(diff - shift).max()
assert np.abs(shift).max() > 0.01
# The autoencoders move the controls towards the perturbed mean.
gap = np.linalg.norm(ctrl.mean(0) - treated.mean(0))
for m in ["scgen", "cae"]:
    moved = np.linalg.norm(np.asarray(pred[m].X).mean(0) - treated.mean(0))
    assert moved < gap, (m, moved, gap)
# observed: real perturbed cells (float32 copies), from the pool stored as weights.
pool = params("m_observed")["pool"].astype(np.float64)
obs = np.asarray(pred["observed"].X, dtype=np.float64)
assert np.array_equal(obs, pool[np.arange(len(obs)) % len(pool)])
d2 = ((obs[:, None, :] - treated[None, :, :]) ** 2).sum(-1).min(1)
assert d2.max() < 1e-10, d2.max()

# Reload: identical predictions.
assert np.array_equal(np.asarray(anndata.read_h5ad("pred_scgen2.h5ad").X), np.asarray(pred["scgen"].X))

# 2 ranks: bit-identical run to run, close to 1 rank (float summation order only).
a, b = params("m_np2a"), params("m_np2b")
assert all(np.array_equal(a[n], b[n]) for n in a if n != "selection"), "2-rank runs differ"
close = max(np.abs(a[n] - s[n]).max() for n in a if n not in ("selection", "hparams"))
assert close < 1e-2, close

# Grid: 96 scored candidates, the chosen hyperparameters are the arg-min row.
g = params("m_grid")
table = g["grid"]
assert table.shape == (96, 6), table.shape
best = int(np.argmin(table[:, 5]))
assert np.allclose(g["hparams"][2:7], table[best, :5]), (g["hparams"], table[best])
assert g["selection"][2] == table[best, 5]
PY

# 4. cellot evaluate on every model's predictions (CellOT too, a few iterations): exit 0 and
# values that make sense. Then, on 5x more cells (no training cost for these three), the order
# the baselines must have: observed (the floor) < identity in MMD and energy, observed mixed.
"$bin" train "${common[@]}" --model cellot --training.iters 40 --training.eval_every 20 --out m_cellot \
  || fail "train cellot"
"$bin" predict --model m_cellot --out pred_cellot.h5ad --quiet || fail "predict cellot"
for m in cellot scgen cae identity mean_shift observed; do
  "$bin" evaluate --predictions "pred_$m.h5ad" --json >"eval_$m.json" 2>"eval_$m.log" \
    || { cat "eval_$m.log"; fail "evaluate $m"; }
done
"$bin" synth --preset 4i --seed 3 --cells-scale 0.5 --out big.h5ad >/dev/null 2>&1
for m in identity mean_shift observed; do
  "$bin" train --data big.h5ad --perturbation Imatinib --training.threads 1 --quiet --model "$m" --out "big_$m" \
    || fail "train $m (big)"
  "$bin" predict --model "big_$m" --out "bigpred_$m.h5ad" --quiet || fail "predict $m (big)"
  "$bin" evaluate --predictions "bigpred_$m.h5ad" --metrics.names mmd,energy,knn_mix@10,l2_ds --json \
    >"bigeval_$m.json" || fail "evaluate $m (big)"
done
"$py" - <<'PY' || fail "evaluate on the baselines' predictions"
import json
import numpy as np
models = ["cellot", "scgen", "cae", "identity", "mean_shift", "observed"]
import h5py
ev = {m: json.load(open(f"eval_{m}.json")) for m in models}
for m, e in ev.items():
    assert e["model"] == m and e["split_from"] == "model", (m, e["model"], e["split_from"])
    paired = m != "observed"
    with h5py.File(f"pred_{m}.h5ad", "r") as f:
        n_features = f["X"].shape[1]
    for n, v in e["metrics"].items():
        if n in ("spearman_pair", "uvp") and not paired:
            assert v is None, (m, n, v)
            continue
        # Marker metrics over more markers than there are features are n/a by definition.
        if n.startswith(("pearson_delta@", "direction_acc@")) and int(n.split("@")[1]) > n_features:
            assert v is None, (m, n, v, n_features)
            continue
        # identity predicts no change at all: the correlation of its (zero) change is undefined.
        if m == "identity" and n.startswith("pearson_delta"):
            assert v is None, (m, n, v)
            continue
        assert v is not None and np.isfinite(v["value"]), (m, n, v)
        if n.startswith(("w2_eps", "sinkhorn_div")):
            assert v["iterations"] > 0 and "converged" in v, (m, n, v)
    mt = e["metrics"]
    assert mt["mmd"]["value"] >= 0 and mt["energy"]["value"] >= 0, m
    assert -1 <= mt["r_means"]["value"] <= 1, m
    assert 0 <= mt["knn_mix@50"]["value"] <= 1, m
    assert e["cells"]["predicted"] > 0 and e["cells"]["observed"] > 0, m
# The test split is the same for all (same seed); observed uses the half it did not draw.
test = ev["identity"]["cells"]["observed"]
assert all(ev[m]["cells"]["observed"] == test for m in models if m != "observed")
assert ev["observed"]["cells"]["observed"] == test - test // 2, (ev["observed"]["cells"], test)
assert abs(ev["identity"]["metrics"]["spearman_pair"]["value"] - 1) < 1e-12
# mean_shift moves the mean by the training shift: its drug signature error beats identity's.
assert ev["mean_shift"]["metrics"]["l2_ds"]["value"] < ev["identity"]["metrics"]["l2_ds"]["value"]
big = {m: json.load(open(f"bigeval_{m}.json"))["metrics"] for m in ["identity", "mean_shift", "observed"]}
val = lambda m, n: big[m][n]["value"]
assert val("observed", "mmd") < 0.75 * val("identity", "mmd"), (val("observed", "mmd"), val("identity", "mmd"))
assert val("observed", "energy") < val("mean_shift", "energy") < val("identity", "energy")
assert abs(val("observed", "knn_mix@10") - 0.5) < 0.12, val("observed", "knn_mix@10")
assert val("identity", "knn_mix@10") > 0.8, val("identity", "knn_mix@10")
assert val("mean_shift", "l2_ds") < val("identity", "l2_ds")
print("evaluate on every baseline: " + ", ".join(f"{m} mmd {ev[m]['metrics']['mmd']['value']:.4g}" for m in models))
print("big: " + ", ".join(f"{m} mmd {val(m, 'mmd'):.4g} knn {val(m, 'knn_mix@10'):.3f}" for m in big))
PY

# 5. A bad hyperparameter: exit 2, one line naming the key and the value.
set +e
"$bin" train "${common[@]}" --model scgen --model.width 0 --out m_bad 2>bad.log
rc=$?
set -e
[ "$rc" -eq 2 ] || { cat bad.log; fail "bad width exited $rc"; }
grep -q "model.width = '0'" bad.log || { cat bad.log; fail "error does not name model.width"; }
echo "baselines e2e: ok"
