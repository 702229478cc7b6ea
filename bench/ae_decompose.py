#!/usr/bin/python3
"""Where the autoencoder baselines' error comes from, on synthetic data with known maps.

For every finished task of a screen store (save_predictions = true) on a `cellot synth` file:
  uvp         100 E|pred(x) - T*(x)|^2 / Var(T*(x)) over the test controls x (recomputed here from
              /predictions and the file's maps; the store's own uvp may score a subsample)
and for scgen / cae, from the stored weights and the split's transform (numpy forward, eval mode):
  recon       100 E|psi(phi(x)) - x|^2 / Var(T*(x)): the autoencoder's reconstruction error of the
              test controls alone (cAE: encoded and decoded as control), in the same units; a
              prediction decoded through psi cannot be closer to T*(x) than this, up to the shift
  pca         the same for the best rank-`latent` linear code (PCA of the standardised training
              controls): the part of the data an affine `latent`-dimensional code cannot carry
  identity    100 E|x - T*(x)|^2 / Var(T*(x)): the error of not moving at all
  remade      max |prediction from the stored weights by the definition above - stored prediction|
              / max |stored prediction| (the screen's predict and unstandardise path)
plus the steps trained and the selected step of every autoencoder (curves).
usage: ae_decompose.py STORE H5AD     prints one table (markdown)
"""
import sys

import h5py
import numpy as np


def true_map(uns, pert, x):
    g = uns[f"maps/{pert}"]
    c = float(uns["feature_scale"][()]) if "feature_scale" in uns else 1.0
    z = x / c
    u, a, t = g["u"][()], g["a"][()], g["t"][()]
    gate = 1.0 / (1.0 + np.exp(-(z @ u.T - t)))
    return c * (g["scale"][()] * z + g["shift"][()] + (gate * a) @ u)


def forward(layers, h):
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i + 1 < len(layers):
            h = np.maximum(h, 0)
    return h


def unpack(flat, layout):
    out, off = {}, 0
    for item in layout.split(";"):
        if not item:
            continue
        name, shape = item.rsplit(":", 1)
        dims = [int(s) for s in shape.split("x")]
        n = int(np.prod(dims))
        out[name] = flat[off:off + n].astype(np.float64).reshape(dims)
        off += n
    return out


def autoencode(p, xs, n_cond, predict):
    """psi(phi(x)) (reconstruction as control) or, with predict, the model's prediction from its
    definition: scGen psi(phi(x) - mean_z(control) + mean_z(perturbed)), cAE psi(phi(x|0)|1)."""
    depth = int(p["hparams"][3])
    enc = [(p[f"encoder.{l}.weight"], p[f"encoder.{l}.bias"]) for l in range(depth + 1)]
    dec = [(p[f"decoder.{l}.weight"], p[f"decoder.{l}.bias"]) for l in range(depth + 1)]
    cond = np.zeros((len(xs), n_cond))
    if n_cond:
        cond[:, 0] = 1  # control
    z = forward(enc, np.hstack([xs, cond]))
    if predict and n_cond:
        cond = cond[:, ::-1].copy()  # perturbed
    elif predict:
        z = z - p["latent_mean.control"] + p["latent_mean.perturbed"]
    return forward(dec, np.hstack([z, cond]))


def pca_residual(xs_train, xs_test, k):
    mu = xs_train.mean(0)
    _, _, vt = np.linalg.svd(xs_train - mu, full_matrices=False)
    v = vt[:k].T
    c = xs_test - mu
    return c - c @ v @ v.T


def main():
    store, h5ad = sys.argv[1], sys.argv[2]
    f, d = h5py.File(store, "r"), h5py.File(h5ad, "r")
    X = d["X"][()].astype(np.float64)
    uns = d["uns/cellot_synth"]
    pert = f["plan/perturbation"][()].astype(str)
    model = f["plan/model"][()].astype(str)
    seed, fold = f["plan/seed"][()], f["plan/fold"][()]
    done = f["status/state"][()] == 2
    names = list(f["metrics"].attrs["names"])
    value = f["metrics/value"][()]
    print("| perturbation | model | seed | steps | best step | mmd | uvp (store) | uvp | recon | pca | identity | remade |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in np.flatnonzero(done):
        m = model[t]
        if m == "observed":
            continue
        o, n = f["predictions/offset"][t], f["predictions/count"][t]
        pred = f["predictions/values"][o:o + n].astype(np.float64)
        cells = f["predictions/cell"][o:o + n]
        x = X[cells]
        truth = true_map(uns, pert[t], x)
        var = truth.var(0).sum()
        uvp = lambda y: 100 * np.mean(np.sum((y - truth) ** 2, 1)) / var
        steps = best = recon = pca = "–"
        remade_err = np.nan
        if m in ("scgen", "cae"):
            cols = f["curves/columns"][t].decode().split(",")
            curve = f["curves/values"][t, :f["curves/count"][t], :len(cols)]
            steps = int(curve[-1, 0])
            r = f["plan/params_row"][t]
            p = unpack(f[f"params/{m}/values"][r, :f[f"params/{m}/count"][r]], f[f"params/{m}/layout"][r].decode())
            best = int(p["selection"][0])
            tf = f[f"transform/fold{fold[t]}_seed{seed[t]}"]
            center, scale = tf["center"][()], tf["scale"][()]
            n_cond = int(p["hparams"][1])
            rec = autoencode(p, (x - center) / scale, n_cond, False) * scale + center
            remade = autoencode(p, (x - center) / scale, n_cond, True) * scale + center
            remade_err = np.abs(remade - pred).max() / np.abs(pred).max()
            recon = f"{100 * np.mean(np.sum((rec - x) ** 2, 1)) / var:.1f}"
            # PCA of the standardised training controls: all controls not in any test split here
            # would need the split; the test controls' own PCA is a (slightly optimistic) stand-in.
            xs = (x - center) / scale
            res = pca_residual(xs, xs, int(p["hparams"][4])) * scale
            pca = f"{100 * np.mean(np.sum(res ** 2, 1)) / var:.1f}"
        mmd = value[t, names.index("mmd")] if "mmd" in names else np.nan
        uvp_store = value[t, names.index("uvp")] if "uvp" in names else np.nan
        print(f"| {pert[t]} | {m} | {seed[t]} | {steps} | {best} | {mmd:.4f} | {uvp_store:.1f} | {uvp(pred):.1f} | "
              f"{recon} | {pca} | {uvp(x):.1f} | {remade_err:.1e} |")


if __name__ == "__main__":
    main()
