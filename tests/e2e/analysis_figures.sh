#!/usr/bin/env bash
# analysis/figures on a real store: a tiny screen with saved predictions (2 perturbations x
# cellot, scgen, identity, observed), then every figure must be written as a non-trivial PNG, and
# bad arguments must fail with a message rather than draw something wrong.
set -euo pipefail
bin="${CELLOT_BIN:?}"
src="${CELLOT_SOURCE_DIR:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-analysis.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# mpiexec with the flags this machine needs: the array `mpi`.
source "${CELLOT_SOURCE_DIR:?}/tests/support/mpi_launcher.sh"

"$bin" synth --preset 4i --seed 5 --cells-scale 0.05 --out "$work/data.h5ad" >/dev/null
cat >"$work/screen.ini" <<INI
[data]
path = $work/data.h5ad
perturbations = Erlotinib,Trametinib

[training]
iters = 20
epochs = 2
eval_every = 5

[screen]
models = cellot,scgen,identity,observed
seeds = 0
save_predictions = true

[metrics]
max_cells = 200
INI
"${mpi[@]}" -n 2 "$bin" screen --config "$work/screen.ini" \
  --store "$work/results.h5" >"$work/screen.log" 2>&1 || { cat "$work/screen.log" >&2; fail "screen"; }

# Data path from the store's config (no --data), a chosen perturbation and features.
"$py" "$src/analysis/figures" --store "$work/results.h5" --out "$work/figs" --strict >"$work/figures.log" 2>&1 ||
  { cat "$work/figures.log" >&2; fail "analysis/figures"; }
cat "$work/figures.log"
for name in marginals knn_mixing spearman curves heatmap discrimination; do
  f="$work/figs/$name.png"
  [ -f "$f" ] || fail "$name.png not written"
  size=$(stat -c %s "$f")
  [ "$size" -gt 5000 ] || fail "$name.png is only $size bytes"
  [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$name.png is not a PNG"
done
# The figure's discrimination scores (numpy, from /effects) are the report's (C++): same means.
"$bin" report --store "$work/results.h5" --format csv >"$work/report.csv"
"$py" - "$work/results.h5" "$work/report.csv" "$src/analysis" <<'PY' || fail "discrimination: figure vs report"
import csv, sys
sys.path.insert(0, sys.argv[3])
from cellot_store import Store
s = Store(sys.argv[1])
scores = s.discrimination()
assert scores, "no discrimination scores"
rows = {r["model"]: float(r["mean"]) for r in csv.DictReader(open(sys.argv[2])) if r["table"] == "discrimination_mean"}
for m in set(s.model[t] for t, _ in scores):
    v = [x for t, x in scores if s.model[t] == m]
    assert abs(sum(v) / len(v) - rows[m]) < 1e-3, (m, sum(v) / len(v), rows[m])
print("discrimination means agree:", rows)
PY
# Image size sanity: decoded by matplotlib, not blank (more than one colour).
"$py" - "$work/figs" <<'PY'
import sys, os
import matplotlib
matplotlib.use("Agg")
import matplotlib.image as mpimg
import numpy as np
for name in sorted(os.listdir(sys.argv[1])):
    img = mpimg.imread(os.path.join(sys.argv[1], name))
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, (name, img.shape)
    assert len(np.unique(img.reshape(-1, img.shape[2])[:, :3], axis=0)) > 10, f"{name} is blank"
print("figures decode and are not blank")
PY

"$py" "$src/analysis/figures" --store "$work/results.h5" --data "$work/data.h5ad" --out "$work/figs2" \
  --perturbation Trametinib --features "$("$py" -c "import h5py; f=h5py.File('$work/data.h5ad'); print(','.join(x.decode() for x in f['var/_index'][:2]))")" \
  --metric w2_eps --only marginals,heatmap --strict >/dev/null || fail "figures with --perturbation/--features/--metric"
[ -s "$work/figs2/marginals.png" ] && [ -s "$work/figs2/heatmap.png" ] && [ ! -e "$work/figs2/curves.png" ] ||
  fail "--only did not select exactly marginals and heatmap"

# Wrong input fails loudly (non-zero, message naming the value).
if "$py" "$src/analysis/figures" --store "$work/results.h5" --out "$work/figs3" --perturbation NoSuchDrug 2>"$work/err"; then
  fail "an unknown perturbation was accepted"
fi
grep -q "NoSuchDrug" "$work/err" || fail "the error does not name the perturbation"
if "$py" "$src/analysis/figures" --store "$work/results.h5" --out "$work/figs3" --features nope --only marginals 2>"$work/err"; then
  fail "an unknown feature was accepted"
fi
grep -q "nope" "$work/err" || fail "the error does not name the feature"
echo "analysis figures: OK"
