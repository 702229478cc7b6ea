#!/usr/bin/env bash
# The control cells of a pca:K screen are prepared once per screen (src/screen/detail/split_controls.hpp):
# embedded by all ranks together and, with genes: metrics, summarised in gene space once per
# split, so no task reads control rows of the file. Checked on a small sparse scRNA-seq file with
# two seeds (two splits, two PCA fits) and the genes: metrics:
#  - the stores (metrics, effects, params, predictions) are bit-identical at 1, 2 and 3 ranks (a
#    rank's control cells once came from the first split it loaded: a later task of the other
#    seed on that rank paired its cells with controls embedded by the wrong PCA);
#  - each seed's tasks equal those of a screen of that seed alone;
#  - every rank's tasks read 0 control rows (the -v line), and the log shows the controls
#    embedded once per split by all ranks;
#  - a holdout screen (data.holdout_value = each: one split per fold, iid cells scored too) is
#    bit-identical at 1 and 2 ranks.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-controls.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset scrna --cells 3000 --genes 200 --perturbations 3 --shuffle --seed 3 --out data.h5ad --quiet ||
  fail "synth"
cfg=(--data.path data.h5ad --data.embedding pca:8 --data.perturbations all --screen.models identity,mean_shift,observed
     --screen.save_predictions true --metrics.names mmd,l2_ds,pearson_delta@20,r2_means,energy --metrics.top_k 10,20
     --training.threads 1)

"$bin" screen "${cfg[@]}" --screen.seeds 0,1 --store r1.h5 -v 2>r1.log || { cat r1.log; fail "1 rank"; }
for n in 2 3; do
  mpirun_n "$n" screen "${cfg[@]}" --screen.seeds 0,1 --store "r$n.h5" -v 2>"r$n.log" || { cat "r$n.log"; fail "$n ranks"; }
  compare_stores r1.h5 "r$n.h5" || fail "$n ranks differ from 1 rank"
done
for n in 1 2 3; do
  [ "$(grep -c "this rank's tasks read [0-9]* rows of the data file, 0 of them control cells" "r$n.log")" -eq "$n" ] ||
    { grep "tasks read" "r$n.log"; fail "$n ranks: a rank's tasks read control rows"; }
  for key in fold0_seed0 fold0_seed1; do
    [ "$(grep -c "$key: the [0-9,]* control cells embedded once for the screen by $n rank(s)" "r$n.log")" -eq 1 ] ||
      { grep "control cells" "r$n.log"; fail "$n ranks: $key's controls not embedded once by all ranks"; }
  done
done

# Each seed's tasks as in a screen of that seed alone (its own split, its own PCA).
for s in 0 1; do
  "$bin" screen "${cfg[@]}" --screen.seeds "$s" --store "seed$s.h5" --quiet || fail "seed $s alone"
done
"$py" - <<'PY' || fail "a seed's tasks differ from the screen of that seed alone"
import h5py
def rows(path):
    f = h5py.File(path, "r")
    keys = [k.decode() for k in f["plan/key"][()]]
    v, po, pc = f["metrics/value"][()], f["predictions/offset"][()], f["predictions/count"][()]
    P = f["predictions/values"]
    return {k: (v[i].tobytes(), P[po[i]:po[i] + pc[i]].tobytes()) for i, k in enumerate(keys)}
both = rows("r1.h5")
names = [n.decode() if isinstance(n, bytes) else str(n) for n in h5py.File("r1.h5", "r")["metrics"].attrs["names"]]
assert any(n.startswith("genes:") for n in names), names
for path in ("seed0.h5", "seed1.h5"):
    alone = rows(path)
    bad = [k for k in alone if alone[k] != both[k]]
    assert len(alone) == 9 and not bad, (path, bad)
PY

# Holdout, one split per cell line: the iid cells' gene statistics too.
hold=(--data.split holdout --data.holdout_key cell_line --data.holdout_value each --screen.seeds 0 --quiet)
"$bin" screen "${cfg[@]}" "${hold[@]}" --store h1.h5 || fail "holdout, 1 rank"
mpirun_n 2 screen "${cfg[@]}" "${hold[@]}" --store h2.h5 || fail "holdout, 2 ranks"
compare_stores h1.h5 h2.h5 || fail "holdout: 2 ranks differ from 1 rank"
"$py" - <<'PY' || fail "holdout: iid genes: metrics"
import h5py, numpy as np
f = h5py.File("h1.h5", "r")
names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["metrics"].attrs["names"]]
v = f["metrics/value"][()]
for n in ("genes:r2_means@10", "iid:genes:r2_means@10"):
    assert n in names, names
    assert np.isfinite(v[:, names.index(n)]).any(), n
PY
echo "screen_controls: ok"
