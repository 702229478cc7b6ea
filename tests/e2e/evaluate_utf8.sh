#!/usr/bin/env bash
# cellot evaluate --json prints valid JSON (strict UTF-8) when names in the files are not UTF-8:
# a perturbation label, obs names and the data file's path with bytes such as 0xff (h5py writes
# them as they are). Invalid bytes become U+FFFD; the rest of the output is unchanged.
set -euo pipefail
bin="${CELLOT_BIN:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-evaluate-utf8.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

data="$work/data_"$'\xfe'".h5ad"
"$py" - "$data" "$work/pred.h5ad" <<'PY'
import sys
import h5py
import numpy as np

data_path, pred_path = (a.encode("utf-8", "surrogateescape") for a in sys.argv[1:3])
rng = np.random.default_rng(0)
n_ctrl, n_drug, d = 60, 50, 4
ctrl = rng.standard_normal((n_ctrl, d)).astype(np.float32)
drug = (rng.standard_normal((n_drug, d)) + 1.0).astype(np.float32)
names = [b"ctrl\xfe%d" % i for i in range(n_ctrl)] + [b"cell%d" % i for i in range(n_drug)]
vstr = h5py.string_dtype("utf-8")


def strings(g, name, values):
    ds = g.create_dataset(name, data=np.array(values, dtype=object), dtype=vstr)
    ds.attrs["encoding-type"] = "string-array"
    ds.attrs["encoding-version"] = "0.2.0"


def frame(g, index, columns=()):
    g.attrs["encoding-type"] = "dataframe"
    g.attrs["encoding-version"] = "0.2.0"
    g.attrs["_index"] = "_index"
    g.attrs["column-order"] = np.array(list(columns), dtype=object) if columns else np.array([], dtype="S1")
    strings(g, "_index", index)


def write(path, x, obs_names, labels=None):
    with h5py.File(path, "w") as f:
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        X = f.create_dataset("X", data=x)
        X.attrs["encoding-type"] = "array"
        X.attrs["encoding-version"] = "0.2.0"
        obs = f.create_group("obs")
        frame(obs, obs_names, ["condition"] if labels is not None else ())
        if labels is not None:
            cats = sorted(set(labels))
            c = obs.create_group("condition")
            c.attrs["encoding-type"] = "categorical"
            c.attrs["encoding-version"] = "0.2.0"
            c.attrs["ordered"] = False
            strings(c, "categories", cats)
            c.create_dataset("codes", data=np.array([cats.index(v) for v in labels], dtype=np.int8))
        frame(f.create_group("var"), [b"f%d" % j for j in range(d)])


write(data_path, np.vstack([ctrl, drug]), names, [b"control"] * n_ctrl + [b"drug\xff"] * n_drug)
write(pred_path, ctrl + 1.0, names[:n_ctrl])
PY

"$bin" evaluate --data "$data" --predictions "$work/pred.h5ad" --perturbation $'drug\xff' --split all \
  --metrics.names mmd,r_means,uvp --json >"$work/out.json" 2>"$work/err.txt" || { cat "$work/err.txt"; fail "evaluate"; }
"$py" - "$work/out.json" <<'PY' || { cat "$work/out.json"; fail "the JSON is not valid UTF-8 JSON"; }
import json, sys
with open(sys.argv[1], encoding="utf-8", errors="strict") as fh:
    j = json.load(fh)
assert j["perturbation"] == "drug\ufffd", j["perturbation"]
assert j["data"].endswith("data_\ufffd.h5ad"), j["data"]
assert j["cells"] == {"predicted": 60, "observed": 50, "control": 60}, j["cells"]
assert j["metrics"]["uvp"] is None and j["metrics"]["mmd"]["value"] > 0, j["metrics"]
print("non-UTF-8 names: valid JSON")
PY
# The table output prints the names as they are.
"$bin" evaluate --data "$data" --predictions "$work/pred.h5ad" --perturbation $'drug\xff' --split all \
  --metrics.names mmd >"$work/table.txt" 2>/dev/null || fail "evaluate (table)"
grep -q $'perturbation drug\xff' "$work/table.txt" || fail "table output"
echo "PASS evaluate_utf8"
