#!/usr/bin/env bash
# Issue 14 item 2: per-feature sd 10 with a heterogeneous response. Synthetic 4i at
# --feature-scale 10 --heterogeneity 3 (the maps' subpopulation-specific and scaling part tripled,
# so mean shift is clearly wrong: uvp 16-23% against identity's 24-30%). With the defaults
# (data.standardize = true, training.select_metric = energy) CellOT must beat identity and mean
# shift on uvp against the known true map of every held-out control cell. Assertions are on all
# drugs x seeds of the variant, never on one run:
#   median over runs of cellot / min(identity, mean_shift) < 0.6 (fewcells: 0.85), and CellOT beats both on >= 2/3 of the runs.
# CellOT runs at lr 1e-3 (README 'Your own data': the paper's 1e-4 is for its 100,000 iterations).
# fewcells also runs CellOT with the settings of the issue's failure (data.standardize = false,
# MMD with the fixed RBF gammas selecting the iterate) and asserts that failure comes back:
#   median unstandardised-mmd uvp > median identity uvp, and median of its ratio to standardised > 1.5.
# Standardisation off alone (energy still selecting) is not asserted to fail: it does not
# (measured, docs/BENCHMARKS.md 'Feature scale 10').
# usage (ctest): scale_standardize.sh [reduced|full|broken] [extra screen options for CellOT...]
#   reduced: seed 0, 3 drugs, cells-scale 0.1 (~165 training cells per drug), 400 iterations.
#   full:    seeds 0 and 1, 4 drugs, cells-scale 0.3 (~500 training cells per drug), 2,000 iterations.
#   fewcells: seeds 0, 1, 2, 3 drugs, cells-scale 0.027 (~50 cells per drug, as in the issue),
#            400 iterations, and the failure arm.
#   broken:  reduced on the preset's own maps (--heterogeneity 1, nearly translations: mean shift
#            within 4-6% of the truth), where CellOT does not beat mean shift: must fail.
source "$(dirname "$0")/screen_lib.sh"
variant="${1:-reduced}"
shift || true
het=3 off_arm=0 max_ratio=0.6
case "$variant" in
  reduced) seeds="0" cells=0.1 iters=400 perts="Erlotinib,Imatinib,Trametinib" ;;
  broken) seeds="0" cells=0.1 iters=400 perts="Erlotinib,Imatinib,Trametinib" het=1 ;;
  fewcells) seeds="0 1 2" cells=0.027 iters=400 perts="Erlotinib,Imatinib,Trametinib" off_arm=1 max_ratio=0.85 ;;
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
  [ "$off_arm" = 1 ] || continue
  "$bin" screen --config "$src/configs/cellot-4i.ini" --data.path "s$seed.h5ad" --data.perturbations "$perts" \
    --screen.models cellot --training.iters "$iters" --training.lr 0.001 --training.eval_every 50 \
    --training.checkpoint_every 1000000 --metrics.names uvp --quiet --data.standardize false \
    --training.select_metric mmd --store "off$seed.h5" 2>"off$seed.log" || { cat "off$seed.log"; fail "screen off, seed $seed"; }
  stores+=("off$seed.h5")
done
"$py" - "$max_ratio" "${stores[@]}" <<'PY' || fail "scale assertions ($variant)"
import statistics
import sys
import h5py

rows, off = [], {}
max_ratio = float(sys.argv[1])
for path in sys.argv[2:]:
    f = h5py.File(path, "r")
    names = [n.decode() if isinstance(n, bytes) else n for n in f["metrics"].attrs["names"]]
    j = names.index("uvp")
    by = {}
    for k, v in zip(f["plan/key"][:], f["metrics/value"][:]):
        pert, model = (k.decode() if isinstance(k, bytes) else k).split("|")[:2]
        by.setdefault(pert, {})[model] = float(v[j])
    if path.startswith("off"):
        for p in by:
            off[(path[3:], p)] = by[p]["cellot"]
        continue
    for p in sorted(by):
        c, i, m = by[p]["cellot"], by[p]["identity"], by[p]["mean_shift"]
        rows.append((c, min(i, m), i, (path[2:], p)))
        print(f"{path} {p}: uvp% identity {i:.2f} mean_shift {m:.2f} cellot {c:.2f}")
ratio = statistics.median(c / b for c, b, _, _ in rows)
wins = sum(c < b for c, b, _, _ in rows)
print(f"median cellot/min(identity, mean_shift) {ratio:.3f} (< {max_ratio}); CellOT beats both on {wins}/{len(rows)} (>= 2/3)")
bad = 0
if not ratio < max_ratio:
    print("FAIL: CellOT does not beat identity and mean shift by the median ratio"); bad += 1
if not 3 * wins >= 2 * len(rows):
    print("FAIL: CellOT beats identity and mean shift on fewer than 2/3 of the runs"); bad += 1
if off:
    med_off = statistics.median(off.values())
    med_id = statistics.median(i for _, _, i, _ in rows)
    r_off = statistics.median(off[k] / c for c, _, _, k in rows)
    for c, _, i, k in rows:
        print(f"{k[0]} {k[1]}: unstandardised + mmd cellot {off[k]:.2f} (standardised {c:.2f}, identity {i:.2f})")
    print(f"median unstandardised+mmd {med_off:.2f} vs median identity {med_id:.2f} (>); "
          f"median ratio to standardised {r_off:.2f} (> 1.5)")
    if not med_off > med_id:
        print("FAIL: with the issue's settings CellOT is not worse than identity (medians)"); bad += 1
    if not r_off > 1.5:
        print("FAIL: with the issue's settings CellOT is not clearly worse than standardised (median ratio)"); bad += 1
sys.exit(1 if bad else 0)
PY
echo "scale_standardize ($variant): ok"
