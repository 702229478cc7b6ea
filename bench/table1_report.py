"""The tables of bench/table1.sh: the whole screen's wall time, CPU time and peak memory, per
model the tasks' wall times, iterations and mean test metrics, and the progress line's ETA error.

usage: table1_report.py STORE LOG TIME_V RANKS EXTRA_ARGS BLAS_NOTE
"""
import datetime
import re
import sys

import h5py
import numpy as np


def text(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def duration(s):
    """Seconds of a log::format_duration string (12.3s, 5m03s, 1h02m); None for '?'."""
    m = re.fullmatch(r"([\d.]+)s|(\d+)m(\d+)s|(\d+)h(\d+)m", s)
    if not m:
        return None
    if m.group(1):
        return float(m.group(1))
    if m.group(2):
        return 60 * int(m.group(2)) + int(m.group(3))
    return 3600 * int(m.group(4)) + 60 * int(m.group(5))


def stamp(line):
    m = re.match(r"\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z r\d+\]", line)
    return datetime.datetime.fromisoformat(m.group(1)).timestamp() if m else None


def eta_errors(log_path):
    """(fraction of the run elapsed, predicted end - actual end as a fraction of the run) per
    progress line, and the run's length in seconds."""
    points, start, end = [], None, None
    pat = re.compile(r"\] screen (\d+)/(\d+) \([\d.]+%\) \S+ elapsed (\S+) ETA (\S+)")
    for line in open(log_path, errors="replace"):
        t = stamp(line)
        if t is None:
            continue
        if "] screen done in " in line:
            end = t
        m = pat.search(line)
        if not m:
            continue
        el, eta = duration(m.group(3)), duration(m.group(4))
        if start is None and el is not None:
            start = t - el
        if eta is not None:
            points.append((t, t + eta))
    if start is None or end is None or end <= start:
        return [], None
    total = end - start
    return [((t - start) / total, (pred - end) / total) for t, pred in points], total


def time_v(path):
    out = {}
    for line in open(path):
        key, _, value = line.strip().rpartition(": ")
        out[key] = value
    wall = out.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "0:0")
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    cpu = float(out.get("User time (seconds)", 0)) + float(out.get("System time (seconds)", 0))
    return seconds, cpu, int(out.get("Maximum resident set size (kbytes)", 0)) / 1024


def hms(s):
    return f"{int(s // 60)} min {int(round(s % 60))} s"


def main():
    store, log_path, time_path, ranks, extra, blas_note = sys.argv[1:7]
    f = h5py.File(store, "r")
    models = text(f["plan/model"][:])
    names = text(f["metrics"].attrs["names"])
    values, wall = f["metrics/value"][:], f["status/wall_time"][:]
    state, count, curves = f["status/state"][:], f["curves/count"][:], f["curves/values"][:]
    columns = text(f["curves/columns"][:])
    shown = [n for n in ("uvp", "mmd", "l2_ds") if n in names]
    print(f"| model | tasks done | task wall, mean | sum | iterations trained | "
          + " | ".join(f"mean test {n}" for n in shown) + " |")
    print("|---|---|---|---|---|" + "---|" * len(shown))
    for model in dict.fromkeys(models):
        rows = [i for i, m in enumerate(models) if m == model]
        done = sum(1 for i in rows if state[i] == 2)
        cols = [c for c in re.split(r"[,;| ]", columns[rows[0]]) if c]
        unit = "epoch" if "epoch" in cols else "step"
        at = cols.index(unit) if unit in cols else 0
        steps = [int(curves[i, count[i] - 1, at]) for i in rows if count[i] > 0]
        trained = (f"{unit} {min(steps):,}–{max(steps):,}, mean {np.mean(steps):,.0f}" if steps else "–")
        cols_m = [values[rows, names.index(n)] for n in shown]
        means = [np.nanmean(c) if np.isfinite(c).any() else np.nan for c in cols_m]
        print(f"| {model} | {done} of {len(rows)} | {np.mean(wall[rows]):.1f} s | {np.sum(wall[rows]):,.0f} s | "
              f"{trained} | " + " | ".join("–" if np.isnan(m) else f"{m:.4g}" for m in means) + " |")
    seconds, cpu, rss = time_v(time_path)
    print()
    print(f"**Wall time {hms(seconds)}** ({len(models)} tasks, {ranks} ranks; target ≤ 1 hour), "
          f"{cpu:,.0f} s CPU, {rss:,.0f} MiB peak RSS of one process"
          + (f"; extra arguments: `{extra}`" if extra else "") + f"; every command ran {blas_note}.")
    errors, total = eta_errors(log_path)
    if errors:
        marks, used = [], set()
        for target in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9):
            i = min(range(len(errors)), key=lambda j: abs(errors[j][0] - target))
            frac, err = errors[i]
            if i not in used and abs(frac - target) <= 0.05:
                used.add(i)
                marks.append(f"{100 * err:+.0f}% at {100 * frac:.0f}%")
        mean_abs = 100 * np.mean([abs(e) for _, e in errors])
        print()
        print(f"ETA (predicted end, elapsed + ETA, against the actual end, as a share of the run's "
              f"{total:,.0f} s): " + (", ".join(marks) or "no line near 5–90% of the run") + f"; mean |error| over {len(errors)} progress "
              f"lines {mean_abs:.0f}%, over the lines after 30% of the run "
              f"{100 * np.mean([abs(e) for x, e in errors if x >= 0.3] or [0]):.0f}%.")


if __name__ == "__main__":
    main()
