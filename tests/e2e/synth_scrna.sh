#!/usr/bin/env bash
# cellot synth --preset scrna: current anndata opens the file (X CSR float32 of the right shape,
# layers/counts int32 with X == log1p(1e4 counts / total) recomputed in numpy), the same options
# give a bit-identical file, and the ground truth is consistent, checked by an independent numpy
# implementation of the stored maps and decoder: every treated cell's latent state is the map of
# its stored source state, the maps are monotone (<T(x) - T(y), x - y> >= 0, gradients of convex
# potentials), the decoder's proportions are the counts' expectation, and `cellot evaluate`'s uvp
# agrees with a numpy Monte Carlo estimate of the truth E[X | T(z)] (the expected log-normalised
# expression of the treated cell over library size and counts) for three predictions.
# Bad options exit 2 with one line.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-synth-scrna.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

opts=(--preset scrna --cells 6000 --perturbations 5 --genes 300 --cell-lines 2 --latent 6 --seed 3 --quiet)
"$bin" synth "${opts[@]}" --out a.h5ad || fail "synth exited $?"
"$bin" synth "${opts[@]}" --out b.h5ad || fail "synth (again) exited $?"
cmp -s a.h5ad b.h5ad || fail "the same options gave different files"
"$bin" synth "${opts[@]}" --shuffle --out s.h5ad || fail "synth --shuffle exited $?"
ls a.h5ad.tmp* 2>/dev/null && fail "temporary files left behind"
"$bin" describe --data a.h5ad >describe.log 2>&1 || { cat describe.log; fail "describe exited $?"; }
grep -q "latent_nb_counts" describe.log || { cat describe.log; fail "describe does not name the ground truth"; }
grep -q "csr_matrix" describe.log || { cat describe.log; fail "describe does not see CSR X"; }

# The truth of uvp is E[X | T(z)] (SynthDecoder::expected_log_normalised: the mean over 32 draws
# of library and counts). numpy estimates it independently with its own draws for 200 control
# cells (R draws each) and writes three predictions of them: that estimate, the log of the
# expected normalised counts log1p(1e4 p(T(z))) (the old truth), and the cells' own X (identity).
"$py" - <<'PY' || fail "numpy truth"
import json
import anndata, numpy as np
a = anndata.read_h5ad("a.h5ad")
u = a.uns["cellot_synth"]
d = u["decoder"]
W, off, ts = np.asarray(d["loadings"]), np.asarray(d["offset"]), float(d["target_sum"])
shape, depth = np.asarray(d["nb_shape"]), np.asarray(d["line_depth"])
lib0, libsd = float(d["library_size"]), float(d["library_sd"])
m = u["maps"]["drug_001"]
scale, shift, U, amp, t = (np.asarray(m[k]) for k in ("scale", "shift", "u", "a", "t"))
c = a[a.obs["condition"] == "control"][:200]
z = c.obsm["cellot_latent"]
z = z * scale + shift + ((1 / (1 + np.exp(-(z @ U.T - t)))) * amp) @ U
e = z @ W.T + off
e = np.exp(e - e.max(1, keepdims=True))
prop = e / e.sum(1, keepdims=True)
line = c.obs["cell_line"].cat.codes.to_numpy()
rng = np.random.default_rng(7)
R = 200
s1, s2 = np.zeros_like(prop), np.zeros_like(prop)
for _ in range(R):
    lib = lib0 * np.exp(depth[line] + libsd * rng.standard_normal(len(prop)))
    n = rng.poisson(rng.gamma(shape, lib[:, None] * prop / shape))
    tot = n.sum(1, keepdims=True)
    x = np.where(tot > 0, np.log1p(ts * n / np.maximum(tot, 1)), 0.0)
    s1 += x
    s2 += x * x
E = s1 / R
V = float(np.mean(np.sum(s2 / R - E * E, 1)))  # count noise of one cell's X, summed over genes
preds = {"truth": E, "noisefree": np.log1p(ts * prop), "identity": c.X.toarray().astype(np.float32).astype(np.float64)}
stats = {"R": R, "V": V, "var": float(np.sum(E.var(0)))}
for name, x in preds.items():
    x32 = x.astype(np.float32)
    anndata.AnnData(X=x32, obs=c.obs[["condition"]].copy(), var=c.var.copy()).write_h5ad(name + ".h5ad")
    stats["mse_" + name] = float(np.mean(np.sum((x32.astype(np.float64) - E) ** 2, 1)))
json.dump(stats, open("numpy_truth.json", "w"))
PY
for p in truth noisefree identity; do
  "$bin" evaluate --data a.h5ad --predictions $p.h5ad --perturbation drug_001 --split all --json \
    --metrics.names uvp,mmd >eval_$p.json 2>eval.log || { cat eval.log; fail "evaluate $p exited $?"; }
done

"$py" - <<'PY' || fail "python checks"
import json, sys
import anndata, h5py, numpy as np, scipy.sparse as sp

def check(ok, what):
    if not ok:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)

for name in ("a.h5ad", "s.h5ad"):
    a = anndata.read_h5ad(name)
    check(a.shape == (6000, 300), f"{name}: shape {a.shape}")
    check(sp.isspmatrix_csr(a.X) and a.X.dtype == np.float32, f"{name}: X is {type(a.X)} {a.X.dtype}")
    c = a.layers["counts"]
    check(sp.isspmatrix_csr(c) and np.issubdtype(c.dtype, np.integer), f"{name}: counts are {c.dtype}")
    check((c.data > 0).all(), f"{name}: explicit zeros in counts")
    total = np.asarray(c.sum(1)).ravel().astype(np.float64)
    check((total > 0).all(), f"{name}: a cell without counts")
    check(np.array_equal(total, a.obs["total_counts"].to_numpy()), f"{name}: obs total_counts")
    check(np.array_equal(c.indptr, a.X.indptr) and np.array_equal(c.indices, a.X.indices),
          f"{name}: X and counts differ in sparsity")
    check(all((np.diff(c.indices[c.indptr[i]:c.indptr[i + 1]]) > 0).all() for i in range(0, 6000, 97)),
          f"{name}: column indices not ascending")
    norm = np.log1p(1e4 * c.data / np.repeat(total, np.diff(c.indptr)))
    check(np.allclose(norm, a.X.data, rtol=1e-6, atol=0), f"{name}: X != log1p(1e4 counts / total)")
    check(list(a.obs.columns[:3]) == ["condition", "cell_line", "subpopulation"], f"{name}: obs {list(a.obs.columns)}")
    check(a.obs["cell_line"].nunique() == 2 and a.obs["condition"].nunique() == 6, f"{name}: obs categories")
    check(a.var_names[0] == "gene_0000", f"{name}: var {a.var_names[:3]}")

a = anndata.read_h5ad("a.h5ad")
s = anndata.read_h5ad("s.h5ad")
check(not np.array_equal(a.obs["condition"].to_numpy(), s.obs["condition"].to_numpy()), "--shuffle kept the order")
check(sorted(a.obs["condition"].value_counts().items()) == sorted(s.obs["condition"].value_counts().items()),
      "--shuffle changed the counts")

u = a.uns["cellot_synth"]
check(u["family"] == "latent_nb_counts", "family")
W, off = np.asarray(u["decoder"]["loadings"]), np.asarray(u["decoder"]["offset"])
ts = float(u["decoder"]["target_sum"])
check(W.shape == (300, 6) and off.shape == (300,), "decoder shapes")

def T(p, z):
    m = u["maps"][p]
    scale, shift, U, amp, t = (np.asarray(m[k]) for k in ("scale", "shift", "u", "a", "t"))
    check((scale > 0).all() and (amp > 0).all(), f"{p}: potential not convex")
    g = 1 / (1 + np.exp(-(z @ U.T - t)))
    return z * scale + shift + (g * amp) @ U

def decode(z):
    e = z @ W.T + off
    e = np.exp(e - e.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)

lat, src = a.obsm["cellot_latent"], a.obsm["cellot_latent_source"]
cond = a.obs["condition"].to_numpy()
check(np.array_equal(lat[cond == "control"], src[cond == "control"]), "controls moved")
rng = np.random.default_rng(0)
for p in u["perturbations"]:
    rows = cond == p
    check(np.allclose(T(p, src[rows]), lat[rows], rtol=1e-12, atol=1e-12), f"{p}: latent != T(source)")
    x = np.vstack([lat[cond == "control"][:500], rng.normal(scale=3, size=(500, 6))])
    y = x[rng.permutation(len(x))]
    mono = np.sum((T(p, x) - T(p, y)) * (x - y), axis=1)
    check(mono.min() >= -1e-12, f"{p}: not monotone ({mono.min()})")

# The decoder is the counts' expectation: mean of counts / total against mean proportion.
c = a.layers["counts"]
total = np.asarray(c.sum(1)).ravel()
emp = np.asarray((sp.diags(1 / total) @ c).mean(0)).ravel()
pro = decode(lat).mean(0)
big = pro > 2e-3
rel = np.abs(emp[big] - pro[big]) / pro[big]
print(f"decoder: {big.sum()} genes above 0.2%, max relative error {rel.max():.3f}, median {np.median(rel):.4f}")
check(rel.max() < 0.1 and np.median(rel) < 0.02, "decoder proportions do not match the counts")

# evaluate's uvp against numpy's truth. Both are Monte Carlo estimates of E[X | T(z)] with
# independent draws: evaluate's (32 draws) adds V/32 to the squared error and to the variance of
# the truth (V = one cell's count noise), numpy's (R draws) adds V/R to both. So evaluate's uvp of
# a prediction x is 100 (mse(x, numpy) - V/R + V/32) / (var(numpy) - V/R + V/32), and of numpy's
# own estimate 100 (V/R + V/32) / (...). The old truth log1p(1e4 p) fails this (numpy's estimate
# would score ~45 instead of ~7 against it).
st = json.load(open("numpy_truth.json"))
R, V = st["R"], st["V"]
var = st["var"] - V / R + V / 32
for name in ("truth", "noisefree", "identity"):
    mse = (V / R if name == "truth" else st["mse_" + name] - V / R) + V / 32
    want = 100 * mse / var
    val = json.load(open(f"eval_{name}.json")).get("metrics", {}).get("uvp", {}).get("value")
    print(f"uvp of {name}: cellot evaluate {val}, expected from numpy {want:.3f}")
    check(val is not None and abs(val - want) <= 0.1 * want, f"evaluate's uvp of {name} differs from numpy's")
PY

# Bad options: exit 2, one line.
for bad in "--cells 5 --perturbations 10" "--latent 400 --genes 300" "--cell-lines 0" "--control-fraction 1" \
           "--features 10" "--library-size 0"; do
  set +e
  "$bin" synth --preset scrna --out bad.h5ad $bad 2>err.log
  rc=$?
  set -e
  [ "$rc" = 2 ] || fail "synth $bad exited $rc"
  [ "$(wc -l <err.log)" = 1 ] || { cat err.log; fail "synth $bad: not one line"; }
  [ -e bad.h5ad ] && fail "synth $bad wrote a file"
done
set +e
"$bin" synth --preset screen --genes 10 --out bad.h5ad 2>err.log; rc=$?
set -e
[ "$rc" = 2 ] || fail "--genes with --preset screen exited $rc"
echo "synth_scrna: ok"
