#!/usr/bin/python3
"""The screen's ETA replayed on a finished screen under another cost weight of the autoencoders.

The progress line's ETA is elapsed / f, where f is the share of the planned work done: each
model's tasks weigh their plan cost (/plan/cost), scaled by that model's ratio of work actually
done to work planned over its finished tasks (CellOT's early stopping), and running tasks count
their progress (screen.cpp: WorkEstimate). This script recomputes f at every progress line of
the screen's log from the store (task start = finished_at - wall_time, progress linear in time,
CellOT's share of its planned iterations from its curve), with the autoencoders' plan cost
multiplied by each WEIGHT, and prints the ETA's error (predicted end - actual end, as a share of
the run) against the one the log printed. Weight 1 reproduces the run's own ETA (a check of
the replay); another weight shows what that plan unit would have predicted.

usage: eta_replay.py STORE LOG [WEIGHT ...]     (e.g. t1.h5 screen.log 1 0.15; KEEP=DIR bench/table1.sh)
"""
import datetime as dt
import re
import sys

import h5py
import numpy as np

from table1_report import duration, stamp, text  # the log's and the store's formats, parsed once

AUTOENCODERS = ("scgen", "cae")


def iso(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def load(path):
    with h5py.File(path, "r") as f:
        model = text(f["plan/model"][:])
        cost = f["plan/cost"][:].astype(float)
        state = f["status/state"][:]
        fin = np.array([iso(x) if s == 2 else np.nan for x, s in zip(text(f["status/finished_at"][:]), state)])
        wall = f["status/wall_time"][:].astype(float)
        config = f["plan"].attrs["config"]
        config = config.decode() if isinstance(config, bytes) else str(config)
        iters = float(re.search(r"^iters = (\d+)$", config, re.M).group(1))
        share = np.ones(len(model))  # CellOT: iterations trained / planned (early stopping)
        for t, m in enumerate(model):
            if m == "cellot" and state[t] == 2:
                n = int(f["curves/count"][t])
                share[t] = f["curves/values"][t, n - 1, 0] / iters
    if np.isnan(fin).any():
        sys.exit("eta_replay.py: the screen has unfinished tasks")
    return model, cost, fin, fin - wall, wall, share


def fraction(t, model, cost, fin, start, wall, share):
    done = fin <= t
    total = done_work = 0.0
    for m in set(model):
        idx = [i for i, x in enumerate(model) if x == m]
        planned_done = sum(cost[i] for i in idx if done[i])
        ratio = sum(cost[i] * share[i] for i in idx if done[i]) / planned_done if planned_done > 0 else 1.0
        done_work += ratio * planned_done
        total += ratio * (planned_done + sum(cost[i] for i in idx if not done[i]))
    running = [i for i in range(len(model)) if not done[i] and start[i] < t]
    inflight = sum(cost[i] * share[i] * min(1.0, (t - start[i]) / wall[i]) for i in running)
    return (done_work + min(inflight, 0.99 * (total - done_work))) / total


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    store, log = sys.argv[1:3]
    weights = [float(w) for w in sys.argv[3:]] or [1.0]
    model, cost, fin, start, wall, share = load(store)
    pat = re.compile(r"\] screen \d+/\d+ \([\d.]+%\) \S+ elapsed (\S+) ETA (\S+)")
    # (time of the line, elapsed, ETA) of every progress line with both
    lines = []
    for line in open(log):
        m = pat.search(line)
        if m and stamp(line) is not None and duration(m.group(1)) is not None and duration(m.group(2)) is not None:
            lines.append((stamp(line), duration(m.group(1)), duration(m.group(2))))
    if not lines:
        sys.exit("eta_replay.py: no progress line in " + log)
    t0 = lines[0][0] - lines[0][1]
    end = fin.max()
    span = end - t0
    print("| ETA | mean abs error, all lines | after 30% of the run | at 10%, 30%, 50%, 70%, 90% |")
    print("|---|---|---|---|")

    def row(name, errors):
        late = [abs(e) for p, e in errors if p >= 0.3]
        at = [min(errors, key=lambda pe: abs(pe[0] - q))[1] for q in (0.1, 0.3, 0.5, 0.7, 0.9)]
        print(f"| {name} | {100 * np.mean([abs(e) for _, e in errors]):.0f}% | "
              + (f"{100 * np.mean(late):.0f}%" if late else "–") + " | "
              + ", ".join(f"{100 * e:+.0f}%" for e in at) + " |")

    row("printed by the screen", [((t - t0) / span, (t + eta - end) / span) for t, _, eta in lines])
    for w in weights:
        c = np.array([cost[i] * (w if m in AUTOENCODERS else 1.0) for i, m in enumerate(model)])
        errors = []
        for t, _, _ in lines:
            fr = fraction(t, model, c, fin, start, wall, share)
            if fr <= 0:
                continue  # nothing done or running yet: the screen printed no work-based ETA either
            errors.append(((t - t0) / span, (t0 + (t - t0) / fr - end) / span))
        row(f"replayed, autoencoder cost x {w:g}", errors)


if __name__ == "__main__":
    main()
