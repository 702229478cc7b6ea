#!/usr/bin/env bash
# data.embedding = ae:K on a small sparse scRNA-seq file (cellot synth --preset scrna): the screen
# fits the autoencoder once per split on training cells (rank 0, deterministic), keeps its weights
# in /transform next to the standardisation, trains every model in its latent space and writes
# predictions decoded to genes; `predict --store` and `train` / `predict --model` remake them bit
# for bit into h5ad files that anndata opens with the genes as var; the same screen on one rank
# gives the same store (metrics, the genes: marker-gene metrics among them, effects, predictions);
# bad ae settings exit 2 with one line.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-embedding-ae.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

"$bin" synth --preset scrna --cells 1200 --perturbations 2 --genes 200 --cell-lines 1 --latent 6 --seed 5 \
  --out sc.h5ad --quiet || fail "synth exited $?"
grep -q csr_matrix <("$bin" describe --data sc.h5ad 2>&1) || fail "the test file is not CSR"

ae=(--data.embedding ae:8 --data.ae_width 32 --data.ae_epochs 6 --data.ae_batch_size 64 --data.ae_patience 2)
train=(--training.iters 40 --training.eval_every 20 --training.batch_size 64 --model.hidden 16,16)
cfg=(--data.path sc.h5ad "${ae[@]}" "${train[@]}" --screen.models cellot,identity --screen.save_predictions true
     --metrics.names mmd,energy,l2_ds,pearson_delta,r2_means,direction_acc --metrics.top_k 20 --quiet)
mpirun_n 2 screen "${cfg[@]}" --store s2.h5 2>s2.log || { cat s2.log; fail "2-rank screen exited $?"; }
mpirun_n 1 screen "${cfg[@]}" --store s1.h5 2>s1.log || { cat s1.log; fail "1-rank screen exited $?"; }
compare_stores s2.h5 s1.h5 --ignore-owned || fail "the 1-rank screen differs from the 2-rank one"
# The genes: metrics (decoded predictions on the top-20 marker genes) are among what was compared.
"$bin" report --store s2.h5 >report.md 2>r.log || { cat r.log; fail "report"; }
for m in "genes:pearson_delta@20" "genes:r2_means@20" "genes:direction_acc@20"; do
  grep -q "| $m |" report.md || fail "report lacks $m"
done

key="drug_001|cellot|fold0|seed0"
"$bin" predict --store s2.h5 --task "$key" --data sc.h5ad --out pred.h5ad --quiet 2>p.log || { cat p.log; fail "predict --store"; }
"$bin" train --data sc.h5ad --perturbation drug_001 --model cellot "${ae[@]}" "${train[@]}" --out m --quiet 2>t.log ||
  { cat t.log; fail "train"; }
"$bin" predict --model m --out pred_m.h5ad --quiet 2>pm.log || { cat pm.log; fail "predict --model"; }

"$py" - <<'PY' || fail "decoded predictions"
import anndata, h5py, numpy as np
data = anndata.read_h5ad("sc.h5ad")
f = h5py.File("s2.h5", "r")
assert list(f["transform"].keys()) == ["fold0_seed0"], list(f["transform"].keys())
t = f["transform/fold0_seed0"]
spec = t.attrs["spec"]
assert "embedding=ae:8" in spec and "scaling=per_feature" in spec and "dim=8" in spec and "input_dim=200" in spec, spec
# The encoder and decoder (depth 2, width 32) chain from 200 genes to 8 and back.
assert t["ae_enc_0_weight"].shape == (32, 200) and t["ae_enc_2_weight"].shape == (8, 32), spec
assert t["ae_dec_0_weight"].shape == (32, 8) and t["ae_dec_2_weight"].shape == (200, 32)
assert "ae_enc_3_weight" not in t
ev = t["explained_variance"][0]
assert 0 < ev < 1, ev
# The store's config names the ae settings.
cfg = f["plan"].attrs["config"]
cfg = cfg.decode() if isinstance(cfg, bytes) else str(cfg)
assert "ae_width = 32" in cfg and "ae_epochs = 6" in cfg, cfg
# numpy's forward pass of the stored weights: the decoded predictions are decoder outputs
# (their encoding decodes back to themselves up to the autoencoder's own rounding).
def mlp(h, prefix, n):
    for l in range(n):
        h = h @ t[f"{prefix}_{l}_weight"][()].T + t[f"{prefix}_{l}_bias"][()]
        if l + 1 < n:
            h = np.maximum(h, 0)
    return h
c, s = t["ae_center"][()], t["ae_scale"][0]
keys = [k.decode() for k in f["plan/key"][()]]
for k in keys:
    i = keys.index(k)
    o, n = f["predictions/offset"][i], f["predictions/count"][i]
    P = f["predictions/values"][o:o + n].astype(np.float64)
    assert P.shape[1] == 200 and n > 0, (k, P.shape)
    # identity predicts the controls themselves: decode(encode(x)), in gene space.
    if "|identity|" in k:
        cells = f["predictions/cell"][o:o + n]
        X = data.X[cells].toarray().astype(np.float64)
        R = mlp(mlp((X - c) / s, "ae_enc", 3), "ae_dec", 3) * s + c
        assert np.abs(R - P).max() < 1e-4 * (1 + np.abs(P).max()), (k, np.abs(R - P).max())
# predict --store: the screen's decoded rows bit for bit, genes as var.
i = keys.index("drug_001|cellot|fold0|seed0")
o, n = f["predictions/offset"][i], f["predictions/count"][i]
p = anndata.read_h5ad("pred.h5ad")
assert p.X.tobytes() == f["predictions/values"][o:o + n].tobytes()
assert list(p.var_names) == list(data.var_names)
assert list(p.obs_names) == list(data.obs_names[f["predictions/cell"][o:o + n]])
# train + predict --model: the same autoencoder (fitted again, deterministically) and model.
m = anndata.read_h5ad("pred_m.h5ad")
assert list(m.obs_names) == list(p.obs_names) and list(m.var_names) == list(data.var_names)
with h5py.File("m/model.h5") as g:
    for name in ("ae_enc_0_weight", "ae_dec_2_weight", "center", "scale"):
        assert np.array_equal(g["transform/" + name][()], t[name][()]), name
assert m.X.tobytes() == p.X.tobytes(), np.abs(m.X - p.X).max()
PY

# Refusals: exit 2, one line naming the key and the value.
for bad in "data.embedding ae:0" "data.ae_width 0" "data.ae_depth -1" "data.ae_epochs 0" "data.ae_lr 0" \
           "data.ae_batch_size 0" "data.ae_patience -2"; do
  set -- $bad
  emb=(--data.embedding ae:4)
  [ "$1" = data.embedding ] && emb=()
  rc=0
  "$bin" screen --data.path sc.h5ad "${emb[@]}" --"$1" "$2" --store bad.h5 >err.out 2>&1 || rc=$?
  [ $rc -eq 2 ] && grep -q "$1 = '$2'" err.out && [ "$(grep -c . err.out)" -eq 1 ] || { cat err.out; fail "$bad: exit $rc"; }
done
echo "embedding_ae: ok"
