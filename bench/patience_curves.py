"""Early stopping replayed on full runs' validation curves (bench/patience_sweep.sh).

A run with training.patience P stops at the first evaluation, at or after min_iters steps, that
ends P evaluations in a row without a new (strictly lower) best validation value, and keeps the
best iterate evaluated so far (nn/early_stop.hpp). Its steps up to there are the full run's
(same config, data and seed), so the full run's curve tells, for every P, where it stops and
which iterate it keeps. When that iterate is the full run's best, the early-stopped task's
parameters, predictions and test metrics are bit-identical to the full run's; otherwise its
validation value is worse by the reported ratio.

usage: patience_curves.py STORE MIN_ITERS P1,P2,... [--tsv] [--model NAME]
  prints markdown tables; --tsv prints "task patience stop kept same" lines instead (the
  replay's cross-check against real early-stopped runs: tests/e2e/patience_replay.sh).
  --model: the model whose tasks are replayed (default cellot; scgen and cae evaluate the same
  way, every eval_every optimiser steps, and keep their best validation iterate too).
"""
import sys

import h5py
import numpy as np


def curves(path, want):
    with h5py.File(path, "r") as f:
        keys = [k.decode() if isinstance(k, bytes) else str(k) for k in f["plan/key"][:]]
        model = [m.decode() if isinstance(m, bytes) else str(m) for m in f["plan/model"][:]]
        state = f["status/state"][:]
        for t, key in enumerate(keys):
            if model[t] != want or state[t] != 2:
                continue
            n = int(f["curves/count"][t])
            cols = f["curves/columns"][t].decode().split(",")
            rows = f["curves/values"][t, :n, : len(cols)]
            yield key, rows[:, 0].astype(np.int64), rows[:, -1], cols[-1]


def replay(steps, values, patience, min_iters):
    """(stop step, kept step, kept value) of a run with this patience."""
    best, best_step, since = np.inf, -1, 0
    for step, v in zip(steps, values):
        if not np.isfinite(v):
            continue
        improved = v < best
        if improved:
            best, best_step = v, step
        since = 0 if improved else since + 1
        if patience > 0 and step >= min_iters and since >= patience:
            return step, best_step, best
    return steps[-1], best_step, best


def main():
    path, min_iters = sys.argv[1], int(sys.argv[2])
    patiences = [int(p) for p in sys.argv[3].split(",")]
    args = sys.argv[4:]
    want = args[args.index("--model") + 1] if "--model" in args else "cellot"
    tasks = list(curves(path, want))
    if not tasks:
        sys.exit(f"{path}: no finished {want} task with a curve")
    full = [replay(s, v, 0, 0) for _, s, v, _ in tasks]
    if "--tsv" in args:
        for (key, steps, values, _), (_, bstep, _) in zip(tasks, full):
            for p in patiences:
                stop, kstep, _ = replay(steps, values, p, min_iters)
                print(f"{key}\t{p}\t{stop}\t{kstep}\t{int(kstep == bstep)}")
        return
    metric = tasks[0][3]
    print(f"| task | full run: iterations, best step, best {metric} | " +
          " | ".join(f"patience {p}: stop, kept step" for p in patiences) + " |")
    print("|---|---|" + "---|" * len(patiences))
    summary = {p: [0, 0, 1.0] for p in patiences}  # iterations, tasks identical, worst value ratio
    for (key, steps, values, _), (last, bstep, bval) in zip(tasks, full):
        cells = []
        for p in patiences:
            stop, kstep, kval = replay(steps, values, p, min_iters)
            same = kstep == bstep
            summary[p][0] += stop
            summary[p][1] += same
            summary[p][2] = max(summary[p][2], kval / bval)
            cells.append(f"{stop}, {kstep}" + (" (same)" if same else f" (val x{kval / bval:.3f})"))
        print(f"| {key.replace('|', chr(92) + '|')} | {last}, {bstep}, {bval:.5g} | " + " | ".join(cells) + " |")
    total = sum(f[0] for f in full)
    print()
    print(f"| patience (min_iters {min_iters}) | iterations saved | tasks keeping the full run's model "
          f"(bit-identical results) | worst validation {metric} vs the full run |")
    print("|---|---|---|---|")
    for p in patiences:
        it, same, worst = summary[p]
        print(f"| {p} | {100 * (1 - it / total):.1f}% | {same} of {len(tasks)} | x{worst:.3f} |")


if __name__ == "__main__":
    main()
