#!/usr/bin/env bash
# data.embedding = pca:K on a sparse (CSR) 2,000-gene file written by python anndata: the screen
# fits the PCA once per split on training cells, keeps it in /transform, trains every model in
# the embedding and writes decoded predictions in gene space; `predict --store` remakes them bit
# for bit into an h5ad that current anndata opens with the genes as var and the mapped control
# cells' obs names; `train` / `predict --model` keep the transform in the model directory and
# agree with the screen's task; bad embeddings are refused with exit 2.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-embedding-pca.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

"$py" - <<'PY'
import anndata, numpy as np, pandas as pd, scipy.sparse as sp
rng = np.random.default_rng(0)
genes, latent = 2000, 6
w = rng.normal(size=(latent, genes)) * 0.6
base = rng.normal(size=genes) - 1.5
def cells(n, shift):
    z = rng.normal(size=(n, latent)) + shift
    rate = np.exp(z @ w / np.sqrt(latent) + base)
    lib = rng.lognormal(0.0, 0.3, size=(n, 1))
    counts = rng.poisson(rate * lib)
    return np.log1p(counts * 1e4 / np.maximum(counts.sum(1, keepdims=True), 1))
blocks = [("control", 300, 0.0), ("drugA", 120, 1.0), ("drugB", 100, -0.8)]
X = np.vstack([cells(n, s) for _, n, s in blocks]).astype(np.float32)
cond = np.concatenate([[c] * n for c, n, _ in blocks])
obs = pd.DataFrame({"condition": pd.Categorical(cond)}, index=[f"bc{i:05d}-1" for i in range(len(cond))])
var = pd.DataFrame(index=[f"GENE{j}" for j in range(genes)])
a = anndata.AnnData(X=sp.csr_matrix(X), obs=obs, var=var)
print("density", a.X.nnz / np.prod(a.shape))
a.write_h5ad("sparse.h5ad")
PY
grep -q csr_matrix <("$bin" describe --data sparse.h5ad 2>&1) || fail "the test file is not CSR"

cfg=(--data.path sparse.h5ad --data.embedding pca:50 --screen.models cellot,identity,mean_shift
     --training.iters 60 --training.eval_every 20 --training.batch_size 64 --model.hidden 16,16
     --screen.save_predictions true --metrics.names mmd,energy,l2_ds,pearson_delta@20,r2_means --metrics.top_k 20,50
     --quiet)
mpirun_n 2 screen "${cfg[@]}" --store s.h5 2>screen.log || { cat screen.log; fail "screen exited $?"; }
key="drugA|cellot|fold0|seed0"
"$bin" predict --store s.h5 --task "$key" --data sparse.h5ad --out pred.h5ad --quiet 2>p.log || { cat p.log; fail "predict --store"; }
"$bin" train --data sparse.h5ad --perturbation drugA --model cellot --data.embedding pca:50 --training.iters 60 \
  --training.eval_every 20 --training.batch_size 64 --model.hidden 16,16 --out m --quiet 2>t.log || { cat t.log; fail "train"; }
"$bin" predict --model m --out pred_m.h5ad --quiet 2>pm.log || { cat pm.log; fail "predict --model"; }

"$py" - <<'PY' || fail "decoded predictions"
import anndata, h5py, numpy as np
data = anndata.read_h5ad("sparse.h5ad")
f = h5py.File("s.h5", "r")
# One transform per split, fitted once: 50 orthonormal components over the 2,000 genes.
assert list(f["transform"].keys()) == ["fold0_seed0"], list(f["transform"].keys())
t = f["transform/fold0_seed0"]
assert "embedding=pca:50" in t.attrs["spec"] and "scaling=global" in t.attrs["spec"], t.attrs["spec"]
C = t["components"][()]
assert C.shape == (50, 2000)
assert np.abs(C @ C.T - np.eye(50)).max() < 1e-9
# Every model's predictions are decoded to genes, and lie in the PCA's affine subspace.
keys = [k.decode() for k in f["plan/key"][()]]
for k in keys:
    i = keys.index(k)
    o, n = f["predictions/offset"][i], f["predictions/count"][i]
    P = f["predictions/values"][o:o + n].astype(np.float64)
    assert P.shape[1] == 2000 and n > 0, (k, P.shape)
    R = (P - t["pca_mean"][()]) @ C.T @ C + t["pca_mean"][()]
    assert np.abs(R - P).max() < 1e-3 * (1 + np.abs(P).max()), k
# predict --store: the screen's decoded rows bit for bit, in an h5ad anndata opens.
key = "drugA|cellot|fold0|seed0"
i = keys.index(key)
o, n = f["predictions/offset"][i], f["predictions/count"][i]
p = anndata.read_h5ad("pred.h5ad")
assert p.X.tobytes() == f["predictions/values"][o:o + n].tobytes()
assert list(p.var_names) == list(data.var_names)
cells = f["predictions/cell"][o:o + n]
assert list(p.obs_names) == list(data.obs_names[cells])
assert (data.obs["condition"][p.obs_names] == "control").all()
# train + predict --model: the same task's model, the same transform and the same cells.
m = anndata.read_h5ad("pred_m.h5ad")
assert list(m.obs_names) == list(p.obs_names) and list(m.var_names) == list(data.var_names)
with h5py.File("m/model.h5") as g:
    assert np.array_equal(g["transform/components"][()], C)
assert m.X.tobytes() == p.X.tobytes(), np.abs(m.X - p.X).max()
PY

# With the embedding, the decoded predictions are also scored on the top-k marker genes
# ("genes:" columns, k of metrics.top_k): the report shows them; the floor and mean_shift, which
# move the cells towards the perturbed ones, beat identity on genes:r2_means.
"$bin" report --store s.h5 >report.md 2>r.log || { cat r.log; fail "report"; }
for m in "genes:pearson_delta@20" "genes:r2_means@20" "genes:r2_means@50" "genes:energy@20" "genes:energy@50"; do
  grep -q "| $m |" report.md || fail "report lacks $m"
done
"$py" - <<'PY' || fail "genes: values"
rows = {}
header = None
for line in open("report.md"):
    if line.startswith("| perturbation |") and header is None:
        header = [c.strip() for c in line.strip().strip("|").split("|")]
    elif header and line.startswith("| drug") and len(rows) < 6:
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        rows[(cells[0], cells[1])] = dict(zip(header, cells))
for p in ("drugA", "drugB"):
    for m in ("genes:r2_means@20", "genes:energy@20", "genes:pearson_delta@20"):
        for model in ("cellot", "identity", "mean_shift"):
            float(rows[(p, model)][m])  # a number, not "–"
    assert float(rows[(p, "mean_shift")]["genes:r2_means@20"]) > float(rows[(p, "identity")]["genes:r2_means@20"]), p
    assert float(rows[(p, "mean_shift")]["genes:energy@20"]) < float(rows[(p, "identity")]["genes:energy@20"]), p
PY

# evaluate with the embedding offers the same genes: metrics (predictions already decoded);
# on the genes, pearson_delta@20 and genes:pearson_delta@20 are one definition.
"$bin" evaluate --data sparse.h5ad --predictions pred.h5ad --data.embedding pca:50 \
  --metrics.names pearson_delta@20,r2_means --metrics.top_k 20 --json >ev.json 2>ev.log || { cat ev.log; fail "evaluate"; }
"$py" - <<'PY' || fail "evaluate genes: metrics"
import json
m = json.load(open("ev.json"))["metrics"]
assert "genes:r2_means@20" in m and "genes:pearson_delta@20" in m, sorted(m)
assert abs(m["genes:pearson_delta@20"]["value"] - m["pearson_delta@20"]["value"]) < 1e-12, m
PY

# Refusals: exit 2, naming the key and the value.
for bad in "pca:0" "pca:abc" "umap:5" "obsm:"; do
  rc=0
  "$bin" screen --data.path sparse.h5ad --data.embedding "$bad" --store bad.h5 >err.out 2>&1 || rc=$?
  [ $rc -eq 2 ] && grep -q "data.embedding = '$bad'" err.out || { cat err.out; fail "embedding $bad: exit $rc"; }
done
rc=0
"$bin" screen --data.path sparse.h5ad --data.embedding obsm:X_nope --store bad.h5 >err.out 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q "X_nope.*no such obsm key" err.out || { cat err.out; fail "obsm:X_nope: exit $rc"; }
rc=0
"$bin" screen --data.path sparse.h5ad --data.embedding pca:5000 --store bad.h5 >err.out 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q "pca:5000" err.out || { cat err.out; fail "pca:5000: exit $rc"; }
echo "embedding_pca: ok"
