# Shared by scrna_cellot.sh (slow) and scrna_cellot_quick.sh (sourced, not a test itself):
# CellOT against the known truth on the scrna preset (issue 14 item 4).
#   scrna_cellot_run CELLS GENES PERTURBATIONS TOP MODELS BEST [screen options...]
# writes a seed-1 file (20% controls), screens the TOP perturbations of largest stored strength
# with configs/scrna-small.ini and MODELS on 2 ranks, and checks the test split of every
# perturbation: CellOT's energy at most half identity's, its MMD lower, and its uvp (against the
# truth E[X | T(z)]) at most 0.6 of identity's; with BEST = 1 also every metric lower than mean
# shift's. A model that predicted the control cells unchanged fails every check.
source "$(dirname "${BASH_SOURCE[0]}")/screen_lib.sh"

scrna_cellot_run() {
  local cells="$1" genes="$2" nperts="$3" top="$4" models="$5" best="$6"
  shift 6
  "$bin" synth --preset scrna --cells "$cells" --perturbations "$nperts" --control-fraction 0.2 --genes "$genes" \
    --seed 1 --out data.h5ad --quiet || fail "synth exited $?"
  local perts
  perts="$("$py" -c "
import h5py, numpy as np
f = h5py.File('data.h5ad', 'r')
s = f['uns/cellot_synth/strength'][:]
p = [x.decode() for x in f['uns/cellot_synth/perturbations'][:]]
print(','.join(p[i] for i in np.argsort(-s)[:$top]))")"
  mpirun_n 2 screen --config "$src/configs/scrna-small.ini" --data.path data.h5ad --data.perturbations "$perts" \
    --screen.models "$models" --store s.h5 --quiet "$@" 2>screen.log || { cat screen.log; fail "screen exited $?"; }
  BEST="$best" "$py" - <<'PY' || fail "CellOT is not the best model against the known truth"
import os, sys
import h5py, numpy as np
f = h5py.File("s.h5", "r")
keys = [k.decode() if isinstance(k, bytes) else k for k in f["plan/key"][:]]
names = [n.decode() if isinstance(n, bytes) else n for n in f["metrics"].attrs["names"]]
val = f["metrics/value"][:]
assert (f["status/state"][:] == 2).all(), "not every task is done"
models = sorted({k.split("|")[1] for k in keys})
get = lambda p, m, metric: val[keys.index(f"{p}|{m}|fold0|seed0"), names.index(metric)]
ok = True
for p in sorted({k.split("|")[0] for k in keys}):
    v = {m: {x: get(p, m, x) for x in ("energy", "mmd", "uvp")} for m in models}
    print(p + ": " + "; ".join(f"{m} energy {v[m]['energy']:.4g} mmd {v[m]['mmd']:.4g} uvp {v[m]['uvp']:.4g}"
                               for m in models))
    c, i = v["cellot"], v["identity"]
    good = c["energy"] <= 0.5 * i["energy"] and c["mmd"] < i["mmd"] and c["uvp"] <= 0.6 * i["uvp"]
    if os.environ["BEST"] == "1":
        good &= all(c[x] < v["mean_shift"][x] for x in ("energy", "mmd", "uvp"))
    if not good:
        print(f"FAIL: {p}", file=sys.stderr)
    ok &= bool(good)
sys.exit(0 if ok else 1)
PY
}
