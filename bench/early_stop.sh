#!/usr/bin/env bash
# Early stopping on synthetic 4i data: the same CellOT screen (configs/cellot-4i.ini, one rank)
# with training.patience 0 (every iteration) and PATIENCE (min_iters MIN_ITERS); per task the
# iterations trained, the selected step and the test metrics of both runs, and the share of
# iterations saved. Results: docs/BENCHMARKS.md 'Early stopping'.
#
# usage: bench/early_stop.sh [BUILD_DIR] [ITERS] [EVAL_EVERY] [PATIENCE] [MIN_ITERS] [PERTURBATIONS] [SEEDS]
#        (defaults: build 2000 100 5 500 Imatinib,Trametinib 0,1)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
build="$(cd "${1:-$bench_root/build}" && pwd)"
iters="${2:-2000}" every="${3:-100}" patience="${4:-5}" min_iters="${5:-500}"
perts="${6:-Imatinib,Trametinib}" seeds="${7:-0,1}"
bin="$build/bin/cellot"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
[[ -x "$bin" ]] || { echo "early_stop.sh: $bin not built" >&2; exit 2; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work="$(mktemp -d /tmp/cellot-bench-early.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset 4i --out synth-4i.h5ad --seed 0 2>/dev/null
for p in 0 "$patience"; do
  /usr/bin/time -f "%e s wall" "$bin" screen --config "$bench_root/configs/cellot-4i.ini" --data.path synth-4i.h5ad \
    --data.perturbations "$perts" --screen.seeds "$seeds" --training.iters "$iters" --training.eval_every "$every" \
    --training.checkpoint_every 1000000 --training.patience "$p" --training.min_iters "$min_iters" \
    --metrics.names mmd,l2_ds,w2_eps,uvp --store "p$p.h5" >"p$p.log" 2>&1 || { tail "p$p.log"; exit 1; }
  echo "patience $p: $(tail -1 "p$p.log")"
done
table="$("$py" - "p0.h5" "p$patience.h5" "$patience" "$min_iters" "$(tail -1 p0.log)" "$(tail -1 "p$patience.log")" <<'PY'
import sys
import h5py, numpy as np
def load(path):
    f = h5py.File(path, "r")
    names = [n.decode() if isinstance(n, bytes) else n for n in f["metrics"].attrs["names"]]
    keys = [k.decode() if isinstance(k, bytes) else k for k in f["plan/key"][:]]
    cnt, cur = f["curves/count"][:], f["curves/values"][:]
    steps = [int(cur[i, cnt[i] - 1, 0]) for i in range(len(cnt))]
    best = [int(cur[i, np.nanargmin(cur[i, :cnt[i], 4]), 0]) for i in range(len(cnt))]
    return names, keys, f["metrics/value"][:], steps, best
full, early = load(sys.argv[1]), load(sys.argv[2])
pat, mi, wall_full, wall_early = sys.argv[3:7]
names = full[0]
print(f"| task | iterations (patience 0 / {pat}) | selected step | " +
      " | ".join(f"test {n} (patience 0 / {pat})" for n in names) + " |")
print("|---|---|---|" + "---|" * len(names))
for i, key in enumerate(full[1]):
    key = key.replace("|", "\\|")  # task keys hold '|', a markdown column separator
    print(f"| {key} | {full[3][i]} / {early[3][i]} | {full[4][i]} / {early[4][i]} | " +
          " | ".join(f"{full[2][i][j]:.5g} / {early[2][i][j]:.5g}" for j in range(len(names))) + " |")
a, b = sum(full[3]), sum(early[3])
same = all(np.array_equal(full[2][i], early[2][i]) for i in range(len(full[1])))
print()
print(f"Iterations: {a} with patience 0, {b} with patience {pat} (min_iters {mi}): **{100 * (1 - b / a):.1f}% saved**; "
      f"test metrics {'bit-identical' if same else 'differ (table)'}; wall {wall_full} / {wall_early}.")
PY
)"
bench_table "$table"
