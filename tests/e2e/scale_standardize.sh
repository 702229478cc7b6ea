#!/usr/bin/env bash
# Issue 14 item 2: per-feature sd 10 with a heterogeneous response. Synthetic 4i at
# --feature-scale 10 --heterogeneity 3 (the maps' subpopulation-specific and scaling part tripled,
# so mean shift is clearly wrong: uvp 16-23% against identity's 24-30%). With the defaults
# (data.standardize = true, training.select_metric = energy) CellOT must beat identity and mean
# shift on uvp against the known true map of every held-out control cell. Assertions are on all
# drugs x seeds of the variant, never on one run:
#   median over runs of cellot / min(identity, mean_shift) < 0.6, and CellOT beats both on >= 2/3 of the runs.
# CellOT runs at lr 1e-3 (README 'Your own data': the paper's 1e-4 is for its 100,000 iterations).
# Standardisation off is NOT asserted to fail: on this case, with energy selection and the batch
# capped, unstandardised CellOT is as good (measured, docs/BENCHMARKS.md 'Feature scale 10').
# usage (ctest): scale_standardize.sh [reduced|full|broken] [extra screen options for CellOT...]
#   reduced: seed 0, 3 drugs, cells-scale 0.1 (~165 training cells per drug), 400 iterations.
#   full:    seeds 0 and 1, 4 drugs, cells-scale 0.3 (~500 training cells per drug), 2,000 iterations.
#   broken:  reduced on the preset's own maps (--heterogeneity 1, nearly translations: mean shift
#            within 4-6% of the truth), where CellOT does not beat mean shift: must fail.
source "$(dirname "$0")/screen_lib.sh"
variant="${1:-reduced}"
shift || true
het=3
case "$variant" in
  reduced) seeds="0" cells=0.1 iters=400 perts="Erlotinib,Imatinib,Trametinib" ;;
  broken) seeds="0" cells=0.1 iters=400 perts="Erlotinib,Imatinib,Trametinib" het=1 ;;
  full) seeds="0 1" cells=0.3 iters=2000 perts="Erlotinib,Imatinib,Trametinib,Trametinib+Erlotinib" ;;
  *) fail "unknown variant '$variant' (reduced | full | broken)" ;;
esac
work="$(mktemp -d /tmp/cellot-scale-std.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
stores=()
for seed in $seeds; do
  "$bin" synth --preset 4i --out "s$seed.h5ad" --seed "$seed" --cells-scale "$cells" --feature-scale 10 \
    --heterogeneity "$het" --quiet || fail "synth seed $seed exited $?"
  "$bin" screen --config "$src/configs/cellot-4i.ini" --data.path "s$seed.h5ad" --data.perturbations "$perts" \
    --screen.models cellot,identity,mean_shift --training.iters "$iters" --training.lr 0.001 \
    --training.eval_every 50 --training.checkpoint_every 1000000 --metrics.names uvp --quiet "$@" \
    --store "st$seed.h5" 2>"st$seed.log" || { cat "st$seed.log"; fail "screen seed $seed"; }
  stores+=("st$seed.h5")
done
"$py" - "${stores[@]}" <<'PY' || fail "scale assertions ($variant)"
import statistics
import sys
import h5py

rows = []
for path in sys.argv[1:]:
    f = h5py.File(path, "r")
    names = [n.decode() if isinstance(n, bytes) else n for n in f["metrics"].attrs["names"]]
    j = names.index("uvp")
    by = {}
    for k, v in zip(f["plan/key"][:], f["metrics/value"][:]):
        pert, model = (k.decode() if isinstance(k, bytes) else k).split("|")[:2]
        by.setdefault(pert, {})[model] = float(v[j])
    for p in sorted(by):
        c, i, m = by[p]["cellot"], by[p]["identity"], by[p]["mean_shift"]
        rows.append((c, min(i, m)))
        print(f"{path} {p}: uvp% identity {i:.2f} mean_shift {m:.2f} cellot {c:.2f}")
ratio = statistics.median(c / b for c, b in rows)
wins = sum(c < b for c, b in rows)
print(f"median cellot/min(identity, mean_shift) {ratio:.3f} (< 0.6); CellOT beats both on {wins}/{len(rows)} (>= 2/3)")
bad = 0
if not ratio < 0.6:
    print("FAIL: CellOT does not beat identity and mean shift by the median ratio"); bad += 1
if not 3 * wins >= 2 * len(rows):
    print("FAIL: CellOT beats identity and mean shift on fewer than 2/3 of the runs"); bad += 1
sys.exit(1 if bad else 0)
PY
echo "scale_standardize ($variant): ok"
