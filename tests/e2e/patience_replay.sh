#!/usr/bin/env bash
# The early-stopping replay of bench/patience_curves.py (issue 16 item 2), against real runs: a
# screen with patience 0, replayed for patience 1, 3 and 1000, must predict what the same screen
# with that patience does, task by task: the step it stops at (its curve's last step) and the
# iterate it keeps (its curve's best step); where the replay says the kept iterate is the full
# run's, the stopped task's metrics and parameters must equal the full run's bit for bit. For
# CellOT and for the cAE (`--model cae`: the replay of the autoencoders' validation curves).
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-patience-replay.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 3 --features 8 --cells-scale 0.1 --seed 6 --out data.h5ad 2>/dev/null
for model in cellot cae; do
  # The cAE trains `iters` optimiser steps when epochs is 0.
  args=(screen --config "$src/configs/screen-tiny.ini" --data.path data.h5ad --screen.models "$model"
    --screen.seeds 0,1 --training.iters 300 --training.epochs 0 --training.eval_every 5 --training.min_iters 20
    --training.lr 0.003 --metrics.names mmd --quiet)
  "$bin" "${args[@]}" --training.patience 0 --store "$model-full.h5" || fail "$model, patience 0"
  "$py" "$src/bench/patience_curves.py" "$model-full.h5" 20 1,3,1000 --tsv --model "$model" >"$model-replay.tsv" ||
    fail "$model: replay"
  [ -s "$model-replay.tsv" ] || fail "$model: the replay printed no task"
  for p in 1 3 1000; do
    "$bin" "${args[@]}" --training.patience "$p" --store "$model-p$p.h5" || fail "$model, patience $p"
  done
  "$py" - "$model" <<'PY' || fail "$model: the replay does not predict the early-stopped runs"
import sys
import h5py, numpy as np
model = sys.argv[1]
full = h5py.File(f"{model}-full.h5", "r")
keys = [k.decode() for k in full["plan/key"][()]]
same_seen = stopped_seen = lines = 0
for line in open(f"{model}-replay.tsv"):
    key, p, stop, kept, same = line.rstrip("\n").split("\t")
    lines += 1
    run = h5py.File(f"{model}-p{p}.h5", "r")
    t = keys.index(key)
    n = run["curves/count"][t]
    curve = run["curves/values"][t, :n, : len(run["curves/columns"][t].decode().split(","))]
    last, best = int(curve[-1, 0]), int(curve[np.nanargmin(curve[:, -1]), 0])
    assert (last, best) == (int(stop), int(kept)), (key, p, "run stopped at", last, "kept", best, "replay", stop, kept)
    stopped_seen += last < 300
    if same == "1":
        same_seen += 1
        assert np.array_equal(run["metrics/value"][t], full["metrics/value"][t], equal_nan=True), (key, p, "metrics")
        r = full["plan/params_row"][t]
        assert np.array_equal(run[f"params/{model}/values"][r], full[f"params/{model}/values"][r]), (key, p, "params")
assert lines == len(keys) * 3, (lines, "replayed lines for", len(keys), "tasks")
print(f"{model}: replay matched {len(keys)} tasks x 3 patiences; {stopped_seen} stopped early, "
      f"{same_seen} kept the full run's model")
assert stopped_seen > 0 and same_seen > 0
PY
done
echo "patience_replay: ok"
