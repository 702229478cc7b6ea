"""An independent scGen / cAE in PyTorch, written from their definitions, replaying our fit.

Definitions (CellOT paper App. A.1, A.2, C.1; DESIGN.md 'Model numerics'):
  encoder phi: (d [+ 2]) -> [Linear, ReLU, dropout] x depth -> Linear -> latent
  decoder psi: (latent [+ 2]) -> [Linear, ReLU, dropout] x depth -> Linear -> d
  cAE concatenates one_hot(condition) (control 0, perturbed 1) to the encoder's and the decoder's
  input; scGen has no condition input.
  loss: MSE of the reconstruction (mean over features and batch) of the training cells of both
  conditions (cAE with their true labels); torch.optim.Adam(lr) with its defaults (betas 0.9,
  0.999, eps 1e-8, no weight decay); batches of `batch_size` from a fresh shuffle every epoch.
  Validation: the mean per-cell reconstruction MSE of the validation cells of both conditions
  (eval mode) every eval_every steps and at the end; the iterate with the lowest value is kept;
  with patience P > 0 training stops after P evaluations in a row without a strictly lower value
  once min_iters steps are done.
  scGen predicts psi(phi(x) - mean_z(control train) + mean_z(perturbed train)); cAE predicts
  psi(phi(x | 0) | 1).

What is taken from our run (ae_tool's trace) and NOT re-derived: the initial parameters (ours
draw them from our generator), each step's batch rows and the dropout masks (torch's dropout RNG
is not ours). Both are checked for their definition: every epoch's batches are a permutation of
the training cells cut into consecutive batches of batch_size; masks are 0 or 1/(1-p) with a
zero fraction near p. Everything else — data (read from the .h5ad with anndata by file row),
forward, autograd gradients, Adam, validation, selection, early stopping, latent arithmetic and
conditional decoding — is computed here.

Tolerances. Ours and this reference both compute in float32 but sum in different orders (our
micro-batch tree and single-threaded GEMMs vs ATen's), so they agree to float32 rounding, and
Adam amplifies rounding in the direction of parameters whose gradient is near zero. The scale of
that noise is measured rather than guessed: the reference is replayed twice, in float32 and in
float64 from the same start. Our deviation from the float64 trajectory must be within
K x (the float32 reference's own deviation from it) + a small absolute floor, step by step. A
bug in a gradient, the optimiser, the loss scale, a mask or a label shows at the first step
where it acts, by orders of magnitude more.

usage: ae_reference.py TRACE_DIR... [--report JSON]    exit 0 = agreement, 1 = a failed check
"""
import argparse
import glob
import json
import os
import sys

import anndata
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

K_NOISE = 4.0  # ours may deviate from float64 by this many times the float32 reference's deviation
failures = []
current = [""]  # the trace being checked, for the failure list


def check(what, ok, detail):
    print(f"{'ok' if ok else 'FAIL':4s} {what}: {detail}")
    if not ok:
        failures.append(f"{current[0]}: {what}")


class Autoencoder(nn.Module):
    def __init__(self, d, n_cond, width, depth, latent):
        super().__init__()
        self.n_cond = n_cond
        enc = [d + n_cond] + [width] * depth + [latent]
        dec = [latent + n_cond] + [width] * depth + [d]
        self.encoder = nn.ModuleList(nn.Linear(i, o) for i, o in zip(enc[:-1], enc[1:]))
        self.decoder = nn.ModuleList(nn.Linear(i, o) for i, o in zip(dec[:-1], dec[1:]))

    def condition(self, h, labels):
        if self.n_cond == 0:
            return h
        return torch.cat([h, F.one_hot(labels, self.n_cond).to(h.dtype)], dim=1)

    @staticmethod
    def block(layers, h, masks):
        for l, lin in enumerate(layers):
            h = lin(h)
            if l + 1 < len(layers):
                h = torch.relu(h)
                if masks is not None:  # inverted dropout with the given realisation
                    h = h * masks[l]
        return h

    def encode(self, x, labels, masks=None):
        return self.block(self.encoder, self.condition(x, labels), masks)

    def decode(self, z, labels, masks=None):
        return self.block(self.decoder, self.condition(z, labels), masks)

    def forward(self, x, labels, masks=None):
        depth = len(self.encoder) - 1
        enc_m = None if masks is None else masks[:depth]
        dec_m = None if masks is None else masks[depth:]
        return self.decode(self.encode(x, labels, enc_m), labels, dec_m)


def load_trace(tdir):
    meta = json.load(open(os.path.join(tdir, "meta.json")))
    t = {"meta": meta}
    for f in glob.glob(os.path.join(tdir, "*.npy")):
        t[os.path.basename(f)[:-4]] = np.load(f)
    return t


def load_cells(t):
    """Training / validation / test cells read from the .h5ad by file row, labels 0/1."""
    X = np.asarray(anndata.read_h5ad(t["meta"]["data"]).X, dtype=np.float32)
    ct, tt = X[t["rows_control_train"]], X[t["rows_treated_train"]]
    cv, tv = X[t["rows_control_val"]], X[t["rows_treated_val"]]
    return {"train_x": np.vstack([ct, tt]), "train_y": np.r_[np.zeros(len(ct)), np.ones(len(tt))].astype(np.int64),
            "val_x": np.vstack([cv, tv]), "val_y": np.r_[np.zeros(len(cv)), np.ones(len(tv))].astype(np.int64),
            "control_train": ct, "treated_train": tt, "control_test": X[t["rows_control_test"]]}


def planned_steps(meta, n_train):
    per_epoch = -(-n_train // meta["batch_size"])
    return meta["epochs"] * per_epoch if meta["epochs"] > 0 else meta["iters"]


def batches(t, meta, n_train):
    """The traced batches, checked to be epochs of shuffles cut into consecutive batches."""
    bounds = np.r_[0, np.cumsum(t["step_n"])]
    rows = [t["step_rows"][bounds[s]:bounds[s + 1]] for s in range(len(t["step_n"]))]
    B = meta["batch_size"]
    per_epoch = -(-n_train // B)
    sizes_ok = all(len(r) == min(B, n_train - (s % per_epoch) * B) for s, r in enumerate(rows))
    epochs_ok = True
    for e in range(0, len(rows), per_epoch):
        got = np.concatenate(rows[e:e + per_epoch])
        full = e + per_epoch <= len(rows)
        epochs_ok &= (np.array_equal(np.sort(got), np.arange(n_train)) if full else len(np.unique(got)) == len(got))
    check("batches are per-epoch shuffles in consecutive batches", sizes_ok and epochs_ok,
          f"{len(rows)} steps, {per_epoch} per epoch of {n_train} cells, batch {B}")
    return rows


def masks_of(t, meta, rows):
    p = meta["dropout"]
    if p == 0:
        check("no dropout masks without dropout", "step_masks" not in t, "")
        return [None] * len(rows)
    m = t["step_masks"]
    keep = np.float32(1.0 / (1.0 - p))
    values_ok = bool(np.all((m == 0) | (m == keep)))
    frac = float(np.mean(m == 0))
    sd = np.sqrt(p * (1 - p) / m.size)
    check("dropout masks are 0 or 1/(1-p), zero fraction ~ p", values_ok and abs(frac - p) < 5 * sd,
          f"zero fraction {frac:.4f} (p {p}, 5 sd {5 * sd:.4f})")
    hidden, w = 2 * meta["depth"], meta["width"]
    out, off = [], 0
    for r in rows:
        n = len(r)
        block = m[off:off + hidden * n * w].reshape(hidden, n, w)
        out.append([block[l] for l in range(hidden)])
        off += hidden * n * w
    return out


def new_model(meta, t, dtype, step=0, source="traj"):
    m = Autoencoder(meta["n_features"], meta["n_conditions"], meta["width"], meta["depth"], meta["latent"]).to(dtype)
    state = {k: torch.from_numpy(np.ascontiguousarray(t[f"{source}__{k}"][step] if source == "traj" else t[f"{source}__{k}"]))
             .to(dtype) for k in m.state_dict()}
    m.load_state_dict(state)
    return m


def flat(model):
    return np.concatenate([p.detach().double().numpy().ravel() for p in model.state_dict().values()])


def traj_flat(t, model, step):
    return np.concatenate([t[f"traj__{k}"][step].astype(np.float64).ravel() for k in model.state_dict()])


@torch.no_grad()
def val_loss(model, cells, dtype):
    model.eval()
    x = torch.from_numpy(cells["val_x"]).to(dtype)
    r = model(x, torch.from_numpy(cells["val_y"]))
    return float(((r - x) ** 2).mean(dim=1).double().mean())


def replay(t, cells, rows, masks, dtype):
    """The fit from our initial parameters on our batches, computed here; the trajectory."""
    meta = t["meta"]
    torch.manual_seed(0)
    model = new_model(meta, t, dtype)
    opt = torch.optim.Adam(model.parameters(), lr=meta["lr"])
    X, Y = torch.from_numpy(cells["train_x"]).to(dtype), torch.from_numpy(cells["train_y"])
    total = planned_steps(meta, len(X))
    every = meta["eval_every"] if meta["eval_every"] > 0 else max(total, 1)
    out = {"loss": [], "params": [flat(model)], "val": [], "best": (np.inf, 0, None), "steps": total}
    since_best = 0
    for s in range(min(total, len(rows))):
        model.train()
        idx = torch.from_numpy(rows[s])
        x = X[idx]
        m = None if masks[s] is None else [torch.from_numpy(b).to(dtype) for b in masks[s]]
        loss = ((model(x, Y[idx], m) - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        out["loss"].append(float(loss))
        out["params"].append(flat(model))
        if (s + 1) % every == 0 or s + 1 == total:
            v = val_loss(model, cells, dtype)
            out["val"].append((s + 1, v))
            improved = v < out["best"][0]
            if improved:
                out["best"] = (v, s + 1, {k: p.clone() for k, p in model.state_dict().items()})
            since_best = 0 if improved else since_best + 1
            if meta["patience"] > 0 and s + 1 >= meta["min_iters"] and since_best >= meta["patience"] and s + 1 < total:
                out["steps"] = s + 1
                break
    else:
        if len(rows) < total:  # our fit stopped before this one would have: no batches left
            out["steps"] = f"not stopped within the {len(rows)} traced steps"
    model.load_state_dict(out["best"][2])
    out["model"] = model
    return out


@torch.no_grad()
def predict(model, meta, cells, dtype):
    """scGen's latent arithmetic / cAE's conditional decoding of the test controls."""
    model.eval()
    x = torch.from_numpy(cells["control_test"]).to(dtype)
    if meta["model"] == "scgen":
        zc = model.encode(torch.from_numpy(cells["control_train"]).to(dtype), None).double().mean(0)
        zt = model.encode(torch.from_numpy(cells["treated_train"]).to(dtype), None).double().mean(0)
        z = model.encode(x, None) - zc.to(dtype) + zt.to(dtype)
        return model.decode(z, None).double().numpy(), (zc.numpy(), zt.numpy())
    zeros = torch.zeros(len(x), dtype=torch.int64)
    return model.decode(model.encode(x, zeros), zeros + 1).double().numpy(), None


def within(ours, r32, r64):
    """Our deviation from float64 against the float32 reference's (max norms over the array)."""
    d_ours, d_32 = float(np.abs(ours - r64).max()), float(np.abs(r32 - r64).max())
    floor = 1e-7 * max(float(np.abs(r64).max()), 1e-30)
    ratio = d_ours / (K_NOISE * d_32 + floor)
    return ratio <= 1.0, ratio, d_ours, d_32


def compare_steps(t, r32, r64, n_train, report):
    ours_loss = t["step_loss"]
    steps = len(ours_loss)
    check("steps trained (early stopping)", steps == r64["steps"] == r32["steps"],
          f"ours {steps}, reference {r64['steps']} (float32 {r32['steps']}) of {planned_steps(t['meta'], n_train)} planned")
    n = min(steps, len(r64["loss"]), len(r32["loss"]))
    ok, ratio, d_o, d_32 = within(ours_loss[:n], np.array(r32["loss"][:n]), np.array(r64["loss"][:n]))
    check("loss at every step", ok, f"{n} steps, |ours - f64| max {d_o:.2e}, |ref f32 - f64| max {d_32:.2e}, "
          f"worst ratio to the tolerance {ratio:.3f}")
    model = r64["model"]
    worst, worst_step, dmax_o, dmax_32 = 0.0, 0, 0.0, 0.0
    for s in range(n + 1):
        ok_s, ratio, d_o, d_32 = within(traj_flat(t, model, s), r32["params"][s], r64["params"][s])
        dmax_o, dmax_32 = max(dmax_o, d_o), max(dmax_32, d_32)
        if ratio > worst:
            worst, worst_step = ratio, s
    check("parameters after every step", worst <= 1.0,
          f"|ours - f64| max {dmax_o:.2e}, |ref f32 - f64| max {dmax_32:.2e}, worst ratio {worst:.3f} (step {worst_step})")
    report.update(steps=steps, loss_first=float(ours_loss[0]), loss_last=float(ours_loss[-1]),
                  param_dev_ours=dmax_o, param_dev_f32=dmax_32, worst_param_ratio=worst)


def compare_selection(t, r32, r64, report):
    curves = t["curves"]
    ours_val = [(int(r[0]), float(r[3])) for r in curves]
    steps_ok = [s for s, _ in ours_val] == [s for s, _ in r64["val"]]
    ok, ratio, d_o, d_32 = within(np.array([v for _, v in ours_val]), np.array([v for _, v in r32["val"]]),
                                  np.array([v for _, v in r64["val"]])) if steps_ok else (False, np.inf, 0, 0)
    check("validation loss at every evaluation", steps_ok and ok,
          f"{len(ours_val)} evaluations, |ours - f64| max {d_o:.2e}, |ref f32 - f64| max {d_32:.2e}")
    best_ours = int(t["final__selection"][0])
    check("selected iterate (lowest validation loss)", best_ours == r64["best"][1] == r32["best"][1],
          f"ours step {best_ours}, reference {r64['best'][1]} (float32 {r32['best'][1]})")
    report.update(best_step=best_ours, best_val=float(t["final__selection"][1]))


def compare_predictions(t, cells, r32, r64, report):
    meta = t["meta"]
    # (1) Our selected weights through this file's latent arithmetic / conditional decoding:
    #     the predict path alone, to float32 rounding of a few layers.
    mine = new_model(meta, t, torch.float64, source="final")
    p64, means = predict(mine, meta, cells, torch.float64)
    scale = np.abs(p64).max()
    err = float(np.abs(t["pred"] - p64).max() / scale)
    check("predictions from our weights (predict path)", err < 1e-5, f"max |diff| / max |pred| {err:.2e} (tol 1e-5)")
    if means is not None:
        e = max(float(np.abs(t["final__latent_mean.control"] - means[0]).max()),
                float(np.abs(t["final__latent_mean.perturbed"] - means[1]).max())) / max(np.abs(means[0]).max(), 1)
        check("scGen latent means (training controls / perturbed)", e < 1e-5, f"max rel diff {e:.2e} (tol 1e-5)")
    # (2) End to end: the reference's own fit and prediction.
    q32, _ = predict(r32["model"], meta, cells, torch.float32)
    q64, _ = predict(r64["model"], meta, cells, torch.float64)
    ok, ratio, d_o, d_32 = within(t["pred"], q32, q64)
    check("predictions end to end (reference's own fit)", ok,
          f"|ours - f64| max {d_o:.2e}, |ref f32 - f64| max {d_32:.2e}, worst ratio {ratio:.3f}")
    report.update(pred_dev_ours=d_o, pred_dev_f32=d_32, pred_ratio=ratio)


def crosscheck(tdir):
    current[0] = os.path.basename(os.path.normpath(tdir))
    t = load_trace(tdir)
    meta = t["meta"]
    cells = load_cells(t)
    print(f"== {tdir}: {meta['model']}, {len(cells['train_x'])} training cells, {meta['n_features']} features, "
          f"width {meta['width']} depth {meta['depth']} latent {meta['latent']} dropout {meta['dropout']} "
          f"lr {meta['lr']}")
    rows = batches(t, meta, len(cells["train_x"]))
    masks = masks_of(t, meta, rows)
    r32 = replay(t, cells, rows, masks, torch.float32)
    r64 = replay(t, cells, rows, masks, torch.float64)
    report = {"trace": tdir, "model": meta["model"]}
    compare_steps(t, r32, r64, len(cells["train_x"]), report)
    compare_selection(t, r32, r64, report)
    compare_predictions(t, cells, r32, r64, report)
    return report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("traces", nargs="+")
    ap.add_argument("--report")
    a = ap.parse_args()
    torch.set_num_threads(1)
    reports = [crosscheck(tdir) for tdir in a.traces]
    if a.report:
        json.dump(reports, open(a.report, "w"), indent=1)
    print("FAILED: " + ", ".join(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
