#!/usr/bin/env bash
# CellOT against the known truth on the scrna preset (issue 14 item 4): a 30,000-cell x
# 1,000-gene file (seed 1, 20 perturbations, 20% controls), the two perturbations of largest
# stored strength, configs/scrna-small.ini (pca:50, standardised, 2,000 CellOT iterations at
# lr 5e-4) with CellOT and identity on 2 ranks. CellOT must beat identity by a margin on the
# test split: energy at most half of identity's and a lower MMD, for both perturbations. (Measured
# before this test was written on seeds 0 and 1, four perturbations each: energy ratio
# identity / CellOT 2.2-14.5, MMD lower in 8 of 8; uvp lower in 6 of 8, so uvp is not asserted.)
# Several minutes of training: labelled slow.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-scrna-cellot.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

"$bin" synth --preset scrna --cells 30000 --perturbations 20 --control-fraction 0.2 --genes 1000 --seed 1 \
  --out data.h5ad --quiet || fail "synth exited $?"
perts="$("$py" -c "
import h5py, numpy as np
f = h5py.File('data.h5ad', 'r')
s = f['uns/cellot_synth/strength'][:]
p = [x.decode() for x in f['uns/cellot_synth/perturbations'][:]]
print(','.join(p[i] for i in np.argsort(-s)[:2]))")"
mpirun_n 2 screen --config "$src/configs/scrna-small.ini" --data.path data.h5ad --data.perturbations "$perts" \
  --screen.models cellot,identity --store s.h5 --quiet 2>screen.log || { cat screen.log; fail "screen exited $?"; }
"$py" - <<'PY' || fail "CellOT does not beat identity"
import sys
import h5py, numpy as np
f = h5py.File("s.h5", "r")
keys = [k.decode() if isinstance(k, bytes) else k for k in f["plan/key"][:]]
names = [n.decode() if isinstance(n, bytes) else n for n in f["metrics"].attrs["names"]]
val = f["metrics/value"][:]
assert (f["status/state"][:] == 2).all(), "not every task is done"
get = lambda p, m, metric: val[keys.index(f"{p}|{m}|fold0|seed0"), names.index(metric)]
ok = True
for p in sorted({k.split("|")[0] for k in keys}):
    ec, ei = get(p, "cellot", "energy"), get(p, "identity", "energy")
    mc, mi = get(p, "cellot", "mmd"), get(p, "identity", "mmd")
    uc, ui = get(p, "cellot", "uvp"), get(p, "identity", "uvp")
    print(f"{p}: energy cellot {ec:.4g} identity {ei:.4g}; mmd {mc:.4g} vs {mi:.4g}; uvp {uc:.4g} vs {ui:.4g}")
    ok &= bool(ec <= 0.5 * ei and mc < mi)
sys.exit(0 if ok else 1)
PY
echo "scrna_cellot: ok"
