#!/usr/bin/env python3
# uvp of every task of a screen store on the scrna preset against the old and the new truth
# (docs/BENCHMARKS.md 'scrna preset: CellOT against the expected treated state'), recomputed in
# numpy on all test controls of the store's saved predictions (screen.save_predictions = true),
# in the store's PCA (/transform/fold0_seed0, the space of the screen's metrics):
#   uvp_old_np  against log1p(1e4 p(T(z))), the truth before (the log of the expected counts);
#   uvp_new_np  against numpy's own Monte Carlo estimate of E[X | T(z)] (R draws per cell);
# beside the store's energy, mmd and uvp (computed by the screen on its scored subsample).
#   python3 bench/scrna_truth.py DATA.h5ad STORE.h5 [R=64]   -> one JSON line per task
import sys, json
import h5py, numpy as np
data, store = sys.argv[1], sys.argv[2]
R = int(sys.argv[3]) if len(sys.argv) > 3 else 64
f = h5py.File(data, "r"); s = h5py.File(store, "r")
d = f["uns/cellot_synth/decoder"]
W, off, shape, depth = d["loadings"][:], d["offset"][:], d["nb_shape"][:], d["line_depth"][:]
lib0, ts = d["library_size"][()], d["target_sum"][()]
libsd = d["library_sd"][()] if "library_sd" in d else 0.35
line = f["obs/cell_line/codes"][:]
lat = f["obsm/cellot_latent"][:]
dec = lambda x: x.decode() if isinstance(x, bytes) else x
keys = [dec(k) for k in s["plan/key"][:]]
names = [dec(n) for n in s["metrics"].attrs["names"]]
val = s["metrics/value"][:]
tr = s["transform/fold0_seed0"]
mu, C = tr["pca_mean"][:], tr["components"][:]
emb = lambda x: (x - mu) @ C.T
def T(p, z):
    m = f[f"uns/cellot_synth/maps/{p}"]
    scale, shift, U, amp, t = (m[k][:] for k in ("scale", "shift", "u", "a", "t"))
    return z * scale + shift + ((1 / (1 + np.exp(-(z @ U.T - t)))) * amp) @ U
def prop(z):
    e = z @ W.T + off; e = np.exp(e - e.max(1, keepdims=True)); return e / e.sum(1, keepdims=True)
rng = np.random.default_rng(11)
cache = {}
def truths(p, cells):
    k = (p, tuple(cells[:5]), len(cells))
    if k in cache: return cache[k]
    pr = prop(T(p, lat[cells]))
    E = np.zeros_like(pr)
    for _ in range(R):
        lib = lib0 * np.exp(depth[line[cells]] + libsd * rng.standard_normal(len(cells)))
        n = rng.poisson(rng.gamma(shape, lib[:, None] * pr / shape))
        tot = n.sum(1, keepdims=True)
        E += np.where(tot > 0, np.log1p(ts * n / np.maximum(tot, 1)), 0.0)
    cache[k] = (emb(np.log1p(ts * pr)), emb(E / R))
    return cache[k]
uvp = lambda a, b: 100 * ((a - b) ** 2).sum(1).mean() / b.var(0).sum()
rows = []
for i, key in enumerate(keys):
    p, model = key.split("|")[:2]
    o, n = s["predictions/offset"][i], s["predictions/count"][i]
    cells = s["predictions/cell"][o:o + n]
    pred = emb(s["predictions/values"][o:o + n].astype(np.float64))
    old, new = truths(p, cells)
    r = {"key": key, **{m: float(val[i, names.index(m)]) for m in ("energy", "mmd", "uvp")},
         "uvp_old_np": uvp(pred, old), "uvp_new_np": uvp(pred, new)}
    rows.append(r)
    print(json.dumps(r), flush=True)
