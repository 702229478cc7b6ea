# usage: embedding_recon.py DATA.h5ad STORE.h5 [STORE.h5 ...]  (stores of an identity screen with
# screen.save_predictions = true)
# Held-out reconstruction: the identity baseline's decoded predictions are decode(encode(x)) of the
# test control cells (never in the fit); compared with their X rows.
import sys, anndata, h5py, numpy as np
X = anndata.read_h5ad(sys.argv[1]).X
for store in sys.argv[2:]:
    f = h5py.File(store, "r")
    keys = [k.decode() for k in f["plan/key"][()]]
    i = next(i for i, k in enumerate(keys) if "|identity|" in k)
    o, n = f["predictions/offset"][i], f["predictions/count"][i]
    P = f["predictions/values"][o:o + n].astype(np.float64)
    x = X[f["predictions/cell"][o:o + n]].toarray().astype(np.float64)
    sse = ((x - P) ** 2).sum(); sst = ((x - x.mean(0)) ** 2).sum()
    t = f["transform/fold0_seed0"]
    print(f"{store}: {n} held-out control cells, reconstruction MSE per gene {sse / x.size:.5f}, "
          f"explained {1 - sse / sst:.3f} (fit sample: {t['explained_variance'][0]:.3f})")
