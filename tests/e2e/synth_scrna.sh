#!/usr/bin/env bash
# cellot synth --preset scrna: current anndata opens the file (X CSR float32 of the right shape,
# layers/counts int32 with X == log1p(1e4 counts / total) recomputed in numpy), the same options
# give a bit-identical file, and the ground truth is consistent, checked by an independent numpy
# implementation of the stored maps and decoder: every treated cell's latent state is the map of
# its stored source state, the maps are monotone (<T(x) - T(y), x - y> >= 0, gradients of convex
# potentials), the decoder's proportions are the counts' expectation, and `cellot evaluate`'s uvp
# of an identity prediction equals the numpy uvp against log1p(1e4 softmax(offset + W T(z))).
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

# Identity predictions of every control cell (obs names kept) for evaluate's uvp.
"$py" - <<'PY'
import anndata
a = anndata.read_h5ad("a.h5ad")
c = a[a.obs["condition"] == "control"].copy()
p = anndata.AnnData(X=c.X.toarray(), obs=c.obs[["condition"]].copy(), var=c.var.copy())
p.write_h5ad("identity.h5ad")
PY
"$bin" evaluate --data a.h5ad --predictions identity.h5ad --perturbation drug_001 --split all --json \
  --metrics.names uvp,mmd >eval.json 2>eval.log || { cat eval.log; fail "evaluate exited $?"; }

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

# evaluate's uvp of identity predictions (all control cells) against the numpy truth.
ctrl = a[cond == "control"]
truth = np.log1p(ts * decode(T("drug_001", ctrl.obsm["cellot_latent"])))
pred = ctrl.X.toarray().astype(np.float32).astype(np.float64)
uvp = 100 * np.mean(np.sum((pred - truth) ** 2, 1)) / np.sum(truth.var(0))
ev = json.load(open("eval.json"))
val = ev.get("metrics", {}).get("uvp", {}).get("value")
print(f"uvp identity: cellot evaluate {val}, numpy {uvp}")
check(val is not None and abs(val - uvp) <= 1e-6 * uvp, "evaluate's uvp differs from numpy's")
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
