#!/usr/bin/env bash
# Which validation metric selects CellOT's iterate best (issue 14 item 2): for each
# training.select_metric (energy, mmd_median, mmd) the same CellOT screen on synthetic 4i files
# (cellot synth --preset 4i) at feature scale 1 and 10 (per-feature sd ~1 and ~10), cell scales
# CELLS (0.027: ~50 training cells per drug; 0.1: ~190), seeds SEEDS; every case also runs
# identity and mean_shift. Per case and select_metric: the selected step and the test metrics of
# the selected iterate, uvp against the known true map and energy / mmd against the observed test
# cells, averaged over the four drugs and the seeds, and the number of tasks where CellOT beats
# identity and mean shift on uvp. Results: docs/BENCHMARKS.md 'Model-selection metric'.
#
# usage: bench/select_metric.sh [BUILD_DIR] [ITERS] [EVAL_EVERY] [CELLS] [SCALES] [SEEDS]
#        (defaults: build 2000 100 0.027,0.1 1,10 0,1)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
build="$(cd "${1:-$bench_root/build}" && pwd)"
iters="${2:-2000}" every="${3:-100}" cells="${4:-0.027,0.1}" scales="${5:-1,10}" seeds="${6:-0,1}"
bin="$build/bin/cellot"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
[[ -x "$bin" ]] || { echo "select_metric.sh: $bin not built" >&2; exit 2; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work="$(mktemp -d /tmp/cellot-bench-select.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
stores=()
IFS=, read -ra cell_list <<<"$cells"
IFS=, read -ra scale_list <<<"$scales"
for c in "${cell_list[@]}"; do
  for s in "${scale_list[@]}"; do
    "$bin" synth --preset 4i --out "d_${c}_${s}.h5ad" --seed 0 --cells-scale "$c" --feature-scale "$s" 2>/dev/null
    for m in energy mmd_median mmd; do
      store="c${c}_s${s}_${m}.h5"
      "$bin" screen --config "$bench_root/configs/cellot-4i.ini" --data.path "d_${c}_${s}.h5ad" \
        --screen.models cellot,identity,mean_shift --screen.seeds "$seeds" --training.iters "$iters" \
        --training.eval_every "$every" --training.checkpoint_every 1000000 --training.select_metric "$m" \
        --metrics.names uvp,energy,mmd --store "$store" >"${store%.h5}.log" 2>&1 || { tail "${store%.h5}.log"; exit 1; }
      stores+=("$c:$s:$m:$store")
    done
  done
done
table="$("$py" - "${stores[@]}" <<'PY'
import sys
import h5py, numpy as np
def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)
print("| cells scale | feature scale | select_metric | CellOT tasks | selected step (mean) | "
      "uvp % (CellOT / identity / mean shift) | test energy (CellOT / identity / mean shift) | "
      "test mmd (CellOT) | CellOT best on uvp |")
print("|---|---|---|---|---|---|---|---|---|")
for arg in sys.argv[1:]:
    c, s, m, path = arg.split(":")
    f = h5py.File(path, "r")
    names = [text(n) for n in f["metrics"].attrs["names"]]
    keys = [text(k) for k in f["plan/key"][:]]
    val = f["metrics/value"][:]
    col = {n: i for i, n in enumerate(names)}
    by = {}  # (perturbation, seed) -> model -> metric row
    for i, k in enumerate(keys):
        pert, model, fold, seed = k.split("|")[:4]  # task key: perturbation|model|fold|seed
        by.setdefault((pert, fold, seed), {})[model] = val[i]
    cur, cnt = f["curves/values"][:], f["curves/count"][:]
    steps = []
    for i in range(len(cnt)):  # CellOT's curves: the step its validation metric selected
        sel = cur[i, :cnt[i], len(text(f["curves/columns"][i]).split(",")) - 1]  # last named column
        if keys[i].split("|")[1] == "cellot" and cnt[i] > 0 and not np.all(np.isnan(sel)):
            steps.append(int(cur[i, np.nanargmin(sel), 0]))
    rows = [r for r in by.values() if {"cellot", "identity", "mean_shift"} <= r.keys()]
    def mean(model, metric):
        return np.mean([r[model][col[metric]] for r in rows])
    wins = sum(r["cellot"][col["uvp"]] < min(r["identity"][col["uvp"]], r["mean_shift"][col["uvp"]]) for r in rows)
    print(f"| {c} | {s} | {m} | {len(rows)} | {np.mean(steps):.0f} | "
          f"{mean('cellot', 'uvp'):.1f} / {mean('identity', 'uvp'):.1f} / {mean('mean_shift', 'uvp'):.1f} | "
          f"{mean('cellot', 'energy'):.4g} / {mean('identity', 'energy'):.4g} / {mean('mean_shift', 'energy'):.4g} | "
          f"{mean('cellot', 'mmd'):.4g} | {wins}/{len(rows)} |")
PY
)"
bench_table "$table"
