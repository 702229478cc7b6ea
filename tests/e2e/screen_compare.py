"""Compares the result content of two cellot stores (docs/STORE.md) bit for bit.

usage: screen_compare.py A.h5 B.h5 [--ignore-owned] [--only-done]

Compared: the plan table, every row's state and checksum, metrics (value, sd, iterations),
curves, params and predictions. Not compared: timing and placement (wall_time, phase_time,
group, rank, host, finished_at), provenance, and with --ignore-owned the shard ownership mask.
Exit 0 when equal, 1 with the differing datasets listed otherwise.
"""
import sys

import h5py
import numpy as np


def datasets(f):
    out = {}

    def visit(name, obj):
        # Provenance (run records) describes each run, not its results.
        if isinstance(obj, h5py.Dataset) and not name.startswith("provenance/"):
            out[name] = obj

    f.visititems(visit)
    return out


SKIP = {"status/wall_time", "status/phase_time", "status/group", "status/rank", "status/host",
        "status/finished_at", "status/message"}


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    ignore_owned = "--ignore-owned" in argv
    a, b = h5py.File(args[0], "r"), h5py.File(args[1], "r")
    da, db = datasets(a), datasets(b)
    problems = []
    if a["plan"].attrs["plan_hash"] != b["plan"].attrs["plan_hash"]:
        problems.append("plan_hash differs")
    if set(da) != set(db):
        problems.append("datasets differ: %s" % sorted(set(da) ^ set(db)))
    for name in sorted(set(da) & set(db)):
        if name in SKIP or (ignore_owned and name == "plan/owned"):
            continue
        x, y = da[name][()], db[name][()]
        if x.shape != y.shape or x.dtype != y.dtype:
            problems.append("%s: shape/type %s %s vs %s %s" % (name, x.shape, x.dtype, y.shape, y.dtype))
            continue
        if name.startswith("plan/"):
            same = np.array_equal(x, y)
        else:
            # Only rows whose state is final carry data; pending rows are undefined by design.
            state_a = a["status/state"][()]
            state_b = b["status/state"][()]
            if not np.array_equal(state_a, state_b):
                problems.append("status/state differs: %s vs %s" % (np.bincount(state_a, minlength=5),
                                                                      np.bincount(state_b, minlength=5)))
                break
            if name.startswith("params/"):
                rows = a[name.rsplit("/", 1)[0] + "/task"][()]
                final = state_a[rows] >= 2
            elif name == "predictions/values" or name == "predictions/cell":
                final = None
            else:
                final = state_a >= 2
            if final is not None and x.ndim >= 1 and x.shape[0] == final.shape[0]:
                x, y = x[final], y[final]
            # Bitwise, NaN included.
            same = x.tobytes() == y.tobytes()
        if not same:
            problems.append("%s differs" % name)
    for p in problems:
        print("DIFF", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
