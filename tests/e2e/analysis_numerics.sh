#!/usr/bin/env bash
# The numerics inside analysis/figures against references: per-cell Spearman against
# scipy.stats.spearmanr, kNN mixing against scikit-learn's NearestNeighbors and its two limits
# (separated sets -> 1, the same distribution -> about 0.5), the 4i preprocessing against the
# definition, and the h5ad reader against anndata.
set -euo pipefail
src="${CELLOT_SOURCE_DIR:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-analysis-num.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$py" - "$src/analysis" "$work" <<'PY'
import importlib.machinery, importlib.util, os, sys
import numpy as np
analysis, work = sys.argv[1], sys.argv[2]
sys.path.insert(0, analysis)
loader = importlib.machinery.SourceFileLoader("figures", os.path.join(analysis, "figures"))
spec = importlib.util.spec_from_loader("figures", loader)
fig = importlib.util.module_from_spec(spec)
loader.exec_module(fig)
from scipy.stats import spearmanr
from sklearn.neighbors import NearestNeighbors

rng = np.random.default_rng(0)
a, b = rng.normal(size=(50, 12)), rng.normal(size=(50, 12))
b[:25] = a[:25] * 2 + 0.1 * b[:25]
ours = fig.spearman_rows(a, b)
ref = np.array([spearmanr(a[i], b[i]).correlation for i in range(50)])
assert np.allclose(ours, ref, atol=1e-12), np.abs(ours - ref).max()

pred, obs = rng.normal(size=(300, 5)), rng.normal(size=(400, 5)) + 0.3
k = 20
ours = fig.knn_fraction(pred, obs, k)
joint = np.vstack([pred, obs])
nn = NearestNeighbors(n_neighbors=k + 1).fit(joint)
_, idx = nn.kneighbors(pred)
ref = (idx[:, 1:] < len(pred)).mean(axis=1)  # first neighbour is the cell itself
assert np.allclose(ours, ref), np.abs(ours - ref).max()
far = fig.knn_fraction(pred + 100.0, obs, k)
assert np.all(far == 1.0)
same = fig.knn_fraction(rng.normal(size=(800, 5)), rng.normal(size=(800, 5)), 50)
assert abs(same.mean() - 0.5) < 0.05, same.mean()

# h5ad reader and 4i preprocessing against anndata.
import anndata, pandas as pd, scipy.sparse as sp
X = np.abs(rng.normal(1, 0.5, size=(60, 4))).astype(np.float32)
obs_df = pd.DataFrame({"condition": pd.Categorical(["control"] * 40 + ["drug"] * 20)},
                      index=[f"c{i}" for i in range(60)])
var_df = pd.DataFrame(index=["g0", "g1", "g2", "g3"])
for name, mat in (("dense", X), ("csr", sp.csr_matrix(X)), ("csc", sp.csc_matrix(X))):
    p = os.path.join(work, f"{name}.h5ad")
    anndata.AnnData(X=mat, obs=obs_df, var=var_df).write_h5ad(p)
    d = fig.H5ad(p)
    assert np.allclose(d.X, X) and d.features == ["g0", "g1", "g2", "g3"], name
    assert list(d.rows_of("drug")) == list(range(40, 60)), name

class FakeStore:
    def config_value(self, section, key, default=None):
        return {("data", "preprocess"): "4i", ("data", "control"): "control"}.get((section, key), default)
pre = fig.preprocess_like(FakeStore(), d)
expect = np.log1p(X / np.percentile(X[:40], 75, axis=0))
assert np.allclose(pre, expect)
print("analysis numerics: spearman, kNN mixing, h5ad reader, 4i preprocessing agree with references")
PY
