#!/usr/bin/env python3
"""Turns a results store written now into one as cellot wrote it before XXH3 (test fixture):
no root attribute `checksum`, FNV-1a-64 row checksums, the plan text's data fingerprint made
with the earlier home-made stream hash and the plan hash (FNV-1a of the plan text) to match.
Both old hashes are re-implemented here from the code of before, independently of cellot.

usage: legacy_store.py STORE DATA.h5ad CONDITION_KEY
"""
import re
import sys

import h5py
import numpy as np

M = (1 << 64) - 1


def fnv1a(data, h=1469598103934665603):  # cellot's start value (one digit short of FNV's)
    for c in data:
        h = ((h ^ c) * 1099511628211) & M
    return h


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M


def avalanche(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


class OldStreamHash:
    """The data fingerprint's hash before XXH3: four lanes of 8-byte words."""

    MUL = 0x9FB21C651E98DF25

    def __init__(self):
        self.lanes = [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5]
        self.buf = bytearray()
        self.total = 0

    def update(self, data):
        self.total += len(data)
        self.buf += data
        n = len(self.buf) // 32 * 32
        if n:
            words = np.frombuffer(bytes(self.buf[:n]), dtype="<u8").reshape(-1, 4)
            for row in words:
                for k in range(4):
                    self.lanes[k] = rotl(((self.lanes[k] ^ int(row[k])) * self.MUL) & M, 29)
            del self.buf[:n]

    def digest(self):
        h = self.total
        for k in range(4):
            h = avalanche(h ^ avalanche((self.lanes[k] + k) & M))
        tail = bytes(self.buf) + bytes(32 - len(self.buf))
        for k in range(4):
            h = avalanche(h ^ int.from_bytes(tail[8 * k: 8 * k + 8], "little"))
        return h


def put_text(h, s):
    h.update(s.encode() + b"\0")


def put_u64(h, v):
    h.update(int(v).to_bytes(8, "little"))


def hash_dataset(h, d):
    a = d[()]
    kind = a.dtype.kind
    put_u64(h, 1 if kind == "f" else 0)  # H5T_FLOAT 1, H5T_INTEGER 0
    put_u64(h, a.dtype.itemsize)
    put_u64(h, (1 if kind == "i" else 0) if kind in "iu" else 0)  # H5T_SGN_2 1, H5T_SGN_NONE 0
    put_u64(h, a.ndim)
    for n in a.shape:
        put_u64(h, n)
    h.update(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes())


def old_fingerprint(path, key):
    h = OldStreamHash()
    with h5py.File(path, "r") as f:
        x = f["X"]
        enc = x.attrs.get("encoding-type", "array")
        enc = enc.decode() if isinstance(enc, bytes) else str(enc)
        put_text(h, "cellot-data-fingerprint 1")
        put_text(h, enc)
        obs = f["obs"]
        index = obs[obs.attrs["_index"]]
        n_obs = len(index)
        n_vars = x.shape[1] if isinstance(x, h5py.Dataset) else int(x.attrs["shape"][1])
        put_u64(h, n_obs)
        put_u64(h, n_vars)
        if isinstance(x, h5py.Dataset):
            hash_dataset(h, x)
        else:
            for part in ("data", "indices", "indptr"):
                put_text(h, part)
                hash_dataset(h, x[part])
        put_text(h, "obs/" + key)
        col = obs[key]
        if isinstance(col, h5py.Group):
            cats = [c.decode() if isinstance(c, bytes) else c for c in col["categories"][()]]
            labels = [cats[c] for c in col["codes"][()]]
        else:
            labels = [c.decode() if isinstance(c, bytes) else c for c in col[()]]
        for lab in labels:
            put_text(h, lab)
    return "%016x" % h.digest()


def row_image(f, t):
    parts = [f[n][t: t + 1].tobytes() for n in ("metrics/value", "metrics/sd", "metrics/iterations", "curves/values",
                                                 "curves/count", "curves/columns")]
    model = f["plan/model"][t].decode()
    r = int(f["plan/params_row"][t])
    if r >= 0:
        g = f["params/" + model]
        parts += [g["values"][r: r + 1].tobytes(), g["count"][r: r + 1].tobytes(), g["layout"][r: r + 1].tobytes()]
    else:
        parts.append(bytes(8))
    count = 0
    if "predictions" in f:
        p = f["predictions"]
        count = int(p["count"][t])
        off = int(p["offset"][t])
        if 0 < count <= int(p["capacity"][t]):
            parts += [p["values"][off: off + count].tobytes(), p["cell"][off: off + count].tobytes()]
    parts.append(np.int64(count).tobytes())
    if "effects" in f:
        for n in ("predicted", "observed", "iid_predicted", "iid_observed"):
            if n in f["effects"]:
                parts.append(f["effects/" + n][t: t + 1].tobytes())
    return b"".join(parts)


def main(store, data, key):
    fp = old_fingerprint(data, key)
    with h5py.File(store, "r+") as f:
        if "checksum" in f.attrs:
            del f.attrs["checksum"]
        plan = f["plan"]
        text = plan.attrs["plan_text"]
        text = text.decode() if isinstance(text, bytes) else text
        text, n = re.subn(r"\n\[data\] fingerprint [0-9a-f]{16}\n", "\n[data] fingerprint " + fp + "\n", text)
        assert n == 1, "no fingerprint line in the plan text"
        plan.attrs.modify("plan_text", text)
        plan.attrs.modify("plan_hash", "%016x" % fnv1a(text.encode()))
        sums = f["status/checksum"]
        for t in range(sums.shape[0]):
            sums[t] = fnv1a(row_image(f, t))
    print(fp)


if __name__ == "__main__":
    main(*sys.argv[1:4])
