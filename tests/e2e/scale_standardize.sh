#!/usr/bin/env bash
# Issue 14 item 2: per-feature sd 10 with a heterogeneous response. Synthetic 4i at
# --feature-scale 10 --heterogeneity 3 (the maps' subpopulation-specific and scaling part tripled,
# so mean shift is clearly wrong: uvp 16-23% against identity's 25-29%). With the defaults
# (data.standardize = true, training.select_metric = energy) CellOT beats identity and mean shift
# on uvp against the known true map of every held-out control cell; with the settings of the
# issue's failure (data.standardize = false and MMD with the fixed RBF gammas selecting the
# iterate) CellOT is clearly worse. (Standardisation off alone, energy still selecting, is NOT a
# failure on this case: docs/BENCHMARKS.md 'Feature scale 10'.)
# Assertions are on medians over drugs x seeds, never on one run:
#   median cellot_on / min(identity, mean_shift) < 0.6, and cellot_on beats both on >= 2/3 of the runs;
#   median cellot_off / cellot_on > 2 and median cellot_off > median min(identity, mean_shift).
# CellOT runs at lr 1e-3 (README 'Your own data': the paper's 1e-4 is for its 100,000 iterations).
# usage (ctest): scale_standardize.sh [reduced|full|broken]
#   reduced: seed 0, 3 drugs, cells-scale 0.1 (~165 training cells per drug), 400 iterations.
#   full:    seeds 0 and 1, 4 drugs, cells-scale 0.3 (~500 training cells per drug), 2,000 iterations.
#   broken:  reduced with the failing settings in both arms: must fail (the check can fail).
source "$(dirname "$0")/screen_lib.sh"
variant="${1:-reduced}"
case "$variant" in
  reduced|broken) seeds="0" cells=0.1 iters=400 perts="Erlotinib,Imatinib,Trametinib" ;;
  full) seeds="0 1" cells=0.3 iters=2000 perts="Erlotinib,Imatinib,Trametinib,Trametinib+Erlotinib" ;;
  *) fail "unknown variant '$variant' (reduced | full | broken)" ;;
esac
# The defaults (standardised, energy selection) against the settings of the issue's failure
# (unstandardised, MMD with the fixed RBF gammas selecting the iterate).
on_args=(--data.standardize true --training.select_metric energy)
[ "$variant" = broken ] && on_args=(--data.standardize false --training.select_metric mmd)
work="$(mktemp -d /tmp/cellot-scale-std.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
common=(--config "$src/configs/cellot-4i.ini" --data.perturbations "$perts" --training.iters "$iters"
        --training.lr 0.001 --training.eval_every 50 --training.checkpoint_every 1000000
        --metrics.names uvp --quiet)
stores=()
for seed in $seeds; do
  "$bin" synth --preset 4i --out "s$seed.h5ad" --seed "$seed" --cells-scale "$cells" --feature-scale 10 \
    --heterogeneity 3 --quiet || fail "synth seed $seed exited $?"
  # Identity and mean shift do not depend on standardisation (both commute with an affine
  # rescaling of the features): they run once, in the standardised arm.
  "$bin" screen "${common[@]}" --data.path "s$seed.h5ad" --screen.models cellot,identity,mean_shift \
    "${on_args[@]}" --store "on$seed.h5" 2>"on$seed.log" || { cat "on$seed.log"; fail "screen on, seed $seed"; }
  "$bin" screen "${common[@]}" --data.path "s$seed.h5ad" --screen.models cellot \
    --data.standardize false --training.select_metric mmd --store "off$seed.h5" 2>"off$seed.log" || { cat "off$seed.log"; fail "screen off, seed $seed"; }
  stores+=("on$seed.h5" "off$seed.h5")
done
"$py" - "${stores[@]}" <<'PY' || fail "scale assertions ($variant)"
import statistics
import sys
import h5py

def uvp(path):
    f = h5py.File(path, "r")
    names = [n.decode() if isinstance(n, bytes) else n for n in f["metrics"].attrs["names"]]
    j = names.index("uvp")
    out = {}
    for k, v in zip(f["plan/key"][:], f["metrics/value"][:]):
        pert, model = (k.decode() if isinstance(k, bytes) else k).split("|")[:2]
        out.setdefault(pert, {})[model] = float(v[j])
    return out

rows = []
for on_path, off_path in zip(sys.argv[1::2], sys.argv[2::2]):
    on, off = uvp(on_path), uvp(off_path)
    for p in sorted(on):
        c, i, m, c_off = on[p]["cellot"], on[p]["identity"], on[p]["mean_shift"], off[p]["cellot"]
        rows.append((c, min(i, m), c_off))
        print(f"{on_path} {p}: uvp% identity {i:.2f} mean_shift {m:.2f} cellot standardised {c:.2f} "
              f"unstandardised {c_off:.2f}")
med = statistics.median
r_on = med(c / b for c, b, _ in rows)
wins = sum(c < b for c, b, _ in rows)
r_off = med(o / c for c, _, o in rows)
off_vs_base = med(o for _, _, o in rows) / med(b for _, b, _ in rows)
print(f"median cellot_on/min(identity, mean_shift) {r_on:.3f} (< 0.6); wins {wins}/{len(rows)} (>= 2/3); "
      f"median cellot_off/cellot_on {r_off:.2f} (> 2); median cellot_off / median baseline {off_vs_base:.2f} (> 1)")
bad = 0
if not r_on < 0.6:
    print("FAIL: standardised CellOT does not beat identity and mean shift (median ratio)"); bad += 1
if not 3 * wins >= 2 * len(rows):
    print("FAIL: standardised CellOT beats identity and mean shift on fewer than 2/3 of the runs"); bad += 1
if not r_off > 2:
    print("FAIL: unstandardised CellOT is not clearly worse than standardised (median ratio <= 2)"); bad += 1
if not off_vs_base > 1:
    print("FAIL: unstandardised CellOT is not worse than the better baseline (medians)"); bad += 1
sys.exit(1 if bad else 0)
PY
echo "scale_standardize ($variant): ok"
