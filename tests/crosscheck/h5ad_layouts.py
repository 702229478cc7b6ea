"""Every .h5ad layout current anndata reads, built with h5py exactly as each anndata version wrote
it, read by cellot the same as by anndata.

Layouts (the writers they copy are in anndata's history: readwrite/write.py and
base.py:df_to_records_fixed_width of 0.6.x, _io/h5ad.py:write_series of 0.7.x):
  v0600  anndata 0.6.0-0.6.18: obs/var compound datasets with fixed-length byte strings, the index
         first; categorical columns as int8 codes with uns/<col>_categories (fixed-length bytes);
         obsm one compound dataset (a sub-array field per key); raw.X / raw.var / raw.cat at the
         root; layers/<name>; no encoding attributes anywhere.
  v0622  anndata 0.6.19-0.6.22: the same with variable-length UTF-8 strings, X and layers sparse
         (h5sparse_format / h5sparse_shape attributes), obsm a group.
  v07    anndata 0.7.x: dataframe groups (encoding-version 0.1.0, column-order, _index), codes
         with an object-reference attribute "categories" to <frame>/__categories/<col> (which
         carries "ordered"); csr_matrix groups with encoding attributes and "shape"; a raw group.
  v08    written by anndata itself (0.8 here): categorical groups, string-array, nullable-integer
         and nullable-boolean columns, raw/X, layers/counts, obsm.
  v011   a v08 file plus a nullable-string-array column as anndata 0.11 writes it (values +
         mask); anndata 0.8 cannot read that encoding, so its values are checked against the
         generator instead.
For each: anndata reads it (v011 excepted); cellot's reader (h5ad_tool layer) gives the same obs
names, column values (categorical: the same categories and codes), var names, X / raw / layer
values and obsm; `cellot describe` accepts it for every matrix; and a Dataset load through the CLI
(train identity, predict --all-cells) writes back exactly the layer's values with the obs names.
"""
import argparse
import json
import os
import subprocess
import sys
import warnings

import anndata
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

warnings.filterwarnings("ignore")
failures = []
N, D, D_RAW = 30, 4, 6


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


# ---------------------------------------------------------------- the data every layout holds
def content():
    rng = np.random.default_rng(7)
    raw = rng.poisson(2.0, size=(N, D_RAW)).astype(np.float32)
    x = np.log1p(raw[:, :D]).astype(np.float32)
    x[3, 1] = 0.0
    cond = ["control" if i % 3 == 0 else ("drug A" if i % 3 == 1 else "drug_B") for i in range(N)]
    line = [None if i == 5 else ("L1" if i % 2 else "L2") for i in range(N)]
    return {
        "obs_names": [f"cell{i:02d}" for i in range(N)],
        "var_names": [f"gene{j}" for j in range(D)],
        "raw_var_names": [f"gene{j}" for j in range(D_RAW)],
        "condition": pd.Categorical(cond, categories=["control", "drug A", "drug_B"]),
        "line": pd.Categorical(line, categories=["L1", "L2"]),
        "dose": np.linspace(0.0, 2.0, N),
        "plate": (np.arange(N) % 4).astype(np.int64),
        "flag": np.arange(N) % 2 == 0,
        "kind": pd.Categorical(["a", "b", "a", "b"], categories=["a", "b"]),
        "X": x,
        "raw": raw,
        "counts": raw[:, :D].copy(),
        "pca": rng.normal(size=(N, 2)).astype(np.float32),
    }


def vlen():
    return h5py.special_dtype(vlen=str)


# ---------------------------------------------------------------- anndata 0.6
def records(index, columns, fixed):
    """np.rec.fromarrays as df_to_records_fixed_width built it: the index first, categorical
    columns as their codes, strings fixed-length bytes (0.6.0) or vlen str (0.6.19+)."""
    def strings(values):
        if fixed:
            return np.array(values, dtype=f"S{max(len(v) for v in values)}")
        return np.array(values, dtype=object)

    names, arrays, formats = ["index"], [strings(index)], []
    for name, values in columns:
        names.append(name)
        arrays.append(np.asarray(values.codes) if isinstance(values, pd.Categorical) else np.asarray(values))
    formats = [a.dtype if a.dtype != object else vlen() for a in arrays]
    out = np.empty(len(index), dtype=list(zip(names, formats)))
    for n, a in zip(names, arrays):
        out[n] = a
    return out


def categories_dataset(f, key, cats, fixed):
    values = list(cats)
    if fixed:  # 0.6.0: value.astype('S') after h5py refused the object array
        f.create_dataset(key, data=np.array(values, dtype="S"))
    else:  # 0.6.22: the vlen str fallback
        f.create_dataset(key, data=np.array(values, dtype=object), dtype=vlen())


def sparse_legacy(f, key, m):
    """h5sparse.Group.create_dataset of anndata 0.6 (attributes h5sparse_format/_shape)."""
    g = f.create_group(key)
    g.attrs["h5sparse_format"] = "csr"
    g.attrs["h5sparse_shape"] = np.array(m.shape)
    g.create_dataset("data", data=m.data)
    g.create_dataset("indices", data=m.indices)
    g.create_dataset("indptr", data=m.indptr)


def write_v06(path, c, fixed):
    with h5py.File(path, "w") as f:
        obs_cols = [("condition", c["condition"]), ("line", c["line"]), ("dose", c["dose"]),
                    ("plate", c["plate"]), ("flag", c["flag"])]
        f.create_dataset("obs", data=records(c["obs_names"], obs_cols, fixed))
        f.create_dataset("var", data=records(c["var_names"], [("kind", c["kind"])], fixed))
        for name in ("condition", "line"):
            categories_dataset(f, f"uns/{name}_categories", c[name].categories, fixed)
        categories_dataset(f, "uns/kind_categories", c["kind"].categories, fixed)
        f.create_dataset("uns/title", data=np.array(["v06"], dtype="S" if fixed else object),
                         **({} if fixed else {"dtype": vlen()}))
        if fixed:
            f.create_dataset("X", data=c["X"])
            f.create_dataset("layers/counts", data=c["counts"])
            obsm = np.empty(N, dtype=[("X_pca", np.float32, (2,))])
            obsm["X_pca"] = c["pca"]
            f.create_dataset("obsm", data=obsm)
            f.create_dataset("raw.X", data=c["raw"])
        else:
            sparse_legacy(f, "X", sp.csr_matrix(c["X"]))
            sparse_legacy(f, "layers/counts", sp.csr_matrix(c["counts"]))
            f.create_dataset("obsm/X_pca", data=c["pca"])
            sparse_legacy(f, "raw.X", sp.csr_matrix(c["raw"]))
        f.create_dataset("raw.var", data=records(c["raw_var_names"], [], fixed))


# ---------------------------------------------------------------- anndata 0.7
def write_v07_frame(f, key, index, columns):
    g = f.create_group(key)
    g.attrs["encoding-type"] = "dataframe"
    g.attrs["encoding-version"] = "0.1.0"
    g.attrs["column-order"] = [name for name, _ in columns]
    g.attrs["_index"] = "_index"
    g.create_dataset("_index", data=np.array(index, dtype=object), dtype=vlen())
    for name, values in columns:
        if isinstance(values, pd.Categorical):
            cat_key = f"__categories/{name}"
            g.create_dataset(cat_key, data=np.array(list(values.categories), dtype=object), dtype=vlen())
            g.create_dataset(name, data=values.codes)
            g[name].attrs["categories"] = g[cat_key].ref
            g[cat_key].attrs["ordered"] = values.ordered
        else:
            g.create_dataset(name, data=np.asarray(values))


def sparse_v07(f, key, m):
    g = f.create_group(key)
    g.attrs["encoding-type"] = "csr_matrix"
    g.attrs["encoding-version"] = "0.1.0"
    g.attrs["shape"] = m.shape
    for part in ("data", "indices", "indptr"):
        g.create_dataset(part, data=getattr(m, part), maxshape=(None,))


def write_v07(path, c):
    with h5py.File(path, "w") as f:
        sparse_v07(f, "X", sp.csr_matrix(c["X"]))
        raw = f.create_group("raw")
        raw.attrs["encoding-type"] = "raw"
        raw.attrs["encoding-version"] = "0.1.0"
        raw.attrs["shape"] = c["raw"].shape
        f.create_dataset("raw/X", data=c["raw"])
        write_v07_frame(f, "raw/var", c["raw_var_names"], [])
        f.create_group("raw/varm")
        write_v07_frame(f, "obs", c["obs_names"], [("condition", c["condition"]), ("line", c["line"]),
                                                    ("dose", c["dose"]), ("plate", c["plate"]),
                                                    ("flag", c["flag"])])
        write_v07_frame(f, "var", c["var_names"], [("kind", c["kind"])])
        f.create_dataset("obsm/X_pca", data=c["pca"])
        for empty in ("varm", "obsp", "varp"):
            f.create_group(empty)
        f.create_dataset("layers/counts", data=c["counts"])
        f.create_dataset("uns/title", data="v07", dtype=vlen())


# ---------------------------------------------------------------- anndata 0.8 and 0.11
def v08_anndata(c):
    obs = pd.DataFrame({
        "condition": c["condition"], "line": c["line"], "dose": c["dose"], "plate": c["plate"],
        "flag": c["flag"],
        "count": pd.array([None if i == 2 else i for i in range(N)], dtype="Int64"),
        "ok": pd.array([None if i == 4 else bool(i % 3) for i in range(N)], dtype="boolean"),
        "note": [f"n{i}" for i in range(N)],  # unique strings stay a string-array
    }, index=c["obs_names"])
    a = anndata.AnnData(X=c["X"], obs=obs, var=pd.DataFrame({"kind": c["kind"]}, index=c["var_names"]),
                        dtype=np.float32)
    raw = anndata.AnnData(X=c["raw"], obs=obs[[]], var=pd.DataFrame(index=c["raw_var_names"]), dtype=np.float32)
    a.raw = raw
    a.layers["counts"] = sp.csr_matrix(c["counts"])
    a.obsm["X_pca"] = c["pca"]
    a.uns["title"] = "v08"
    return a


def write_v011(path, c):
    v08_anndata(c).write_h5ad(path)
    with h5py.File(path, "a") as f:
        g = f["obs"].create_group("label")
        g.attrs["encoding-type"] = "nullable-string-array"
        g.attrs["encoding-version"] = "0.1.0"
        values = g.create_dataset("values", data=np.array([f"s{i}" for i in range(N)], dtype=object), dtype=vlen())
        values.attrs["encoding-type"] = "string-array"
        values.attrs["encoding-version"] = "0.2.0"
        g.create_dataset("mask", data=np.arange(N) % 7 == 3)
        f["obs"].attrs["column-order"] = list(f["obs"].attrs["column-order"]) + ["label"]


# ---------------------------------------------------------------- comparing
def text(v):
    """A pandas value as cellot's Column::value prints it."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, (float, np.floating)):
        return "%.15g" % v
    return str(v)


def cellot_text(col):
    miss = col.get("missing") or []
    kind = col["kind"]
    if kind == "categorical":
        vals = ["" if k < 0 else col["categories"][k] for k in col["codes"]]
    elif kind == "string":
        vals = list(col["values"])
    elif kind == "float":
        vals = ["%.15g" % v for v in col["values"]]
    elif kind == "bool":
        vals = ["True" if v else "False" for v in col["values"]]
    else:
        vals = [str(int(v)) for v in col["values"]]
    return ["" if (miss and miss[i]) else v for i, v in enumerate(vals)]


def compare_frame(df, got, label):
    check(list(map(str, df.index)) == got["index"], f"{label}: index {got['index'][:3]} vs {list(df.index[:3])}")
    cols = {c["name"]: c for c in got["columns"]}
    check(list(df.columns) == [c["name"] for c in got["columns"]],
          f"{label}: columns {[c['name'] for c in got['columns']]} vs {list(df.columns)}")
    for name in df.columns:
        if name not in cols:
            continue
        s, c = df[name], cols[name]
        if isinstance(s.dtype, pd.CategoricalDtype):
            check(c["kind"] == "categorical", f"{label}.{name}: kind {c['kind']} (anndata: categorical)")
            if c["kind"] == "categorical":
                check(list(map(str, s.cat.categories)) == c["categories"], f"{label}.{name}: categories")
                check(list(s.cat.codes) == c["codes"], f"{label}.{name}: codes")
        check([text(v) for v in s] == cellot_text(c), f"{label}.{name}: values {cellot_text(c)[:6]}")


def tool_layer(tool, path, layer):
    out = subprocess.run([tool, "layer", path, layer], capture_output=True, text=True)
    if out.returncode != 0:
        check(False, f"{os.path.basename(path)} layer {layer}: {out.stderr.strip()}")
        return None
    return json.loads(out.stdout)


def mat(j):
    return np.asarray(j["data"], dtype=np.float64).reshape(j["shape"])


def dense(x):
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def check_cli(cellot, path, layer, want_x, work, label, load=True):
    d = subprocess.run([cellot, "describe", "--data", path, "--data.layer", layer, "--obsm", "X_pca"],
                       capture_output=True, text=True)
    check(d.returncode == 0, f"{label}: describe failed: {d.stderr.strip()}")
    check(" 10  control" in d.stdout and "drug A" in d.stdout and f"layer         {layer} (" in d.stdout,
          f"{label}: describe output:\n{d.stdout}")
    if not load:
        return
    model, pred = os.path.join(work, label + ".model"), os.path.join(work, label + ".pred.h5ad")
    t = subprocess.run([cellot, "train", "--data", path, "--data.layer", layer, "-p", "drug A", "--model", "identity",
                        "--out", model, "--quiet"], capture_output=True, text=True)
    check(t.returncode == 0, f"{label}: train failed: {t.stderr.strip()}")
    p = subprocess.run([cellot, "predict", "--model", model, "--all-cells", "--out", pred], capture_output=True,
                       text=True)
    check(p.returncode == 0, f"{label}: predict failed: {p.stderr.strip()}")
    if p.returncode == 0:
        out = anndata.read_h5ad(pred)
        check(np.allclose(dense(out.X), want_x, rtol=1e-6, atol=1e-6), f"{label}: predicted identity X differs")
        check(list(out.obs_names) == [f"cell{i:02d}" for i in range(N)], f"{label}: predicted obs names")


def check_layout(name, path, tool, cellot, work, c, a):
    """a: what current anndata read (None for v011)."""
    got = tool_layer(tool, path, "X")
    if got is None:
        return
    if a is not None:
        compare_frame(a.obs, got["obs"], f"{name}:obs")
        compare_frame(a.var, got["var"], f"{name}:var")
        check(np.array_equal(mat(got["X"]), dense(a.X).astype(np.float64)), f"{name}: X differs from anndata")
        check(np.array_equal(mat(got["obsm"]["X_pca"]), np.asarray(a.obsm["X_pca"], dtype=np.float64)),
              f"{name}: obsm differs from anndata")
    check(np.array_equal(mat(got["X"]), c["X"].astype(np.float64)), f"{name}: X differs from the generator")
    check(got["layers"] == ["X", "raw", "layers/counts"], f"{name}: layers {got['layers']}")
    for layer, want, var_names, from_anndata in [
            ("raw", c["raw"], c["raw_var_names"], (lambda: (a.raw.X, a.raw.var_names)) if a is not None else None),
            ("layers/counts", c["counts"], c["var_names"],
             (lambda: (a.layers["counts"], a.var_names)) if a is not None else None)]:
        g = tool_layer(tool, path, layer)
        if g is None:
            continue
        check(np.array_equal(mat(g["X"]), want.astype(np.float64)), f"{name} {layer}: values differ")
        check(g["var"]["index"] == var_names, f"{name} {layer}: var names {g['var']['index']}")
        if from_anndata:
            ax, names = from_anndata()
            check(np.array_equal(mat(g["X"]), dense(ax).astype(np.float64)), f"{name} {layer}: differs from anndata")
            check(list(names) == g["var"]["index"], f"{name} {layer}: var names differ from anndata")
    # A Dataset load through the CLI for X everywhere; for raw in one file of each raw layout
    # (raw.X dense, raw.X sparse 0.6, raw/X 0.7) to keep the test short.
    for layer, want in [("X", c["X"]), ("raw", c["raw"])]:
        check_cli(cellot, path, layer, want.astype(np.float64), work, f"{name}-{layer.replace('/', '_')}",
                  load=layer == "X" or name in ("v0600", "v0622", "v07"))
    return got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--cellot", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    print("anndata", anndata.__version__, "h5py", h5py.__version__)
    c = content()
    paths = {name: os.path.join(args.work, name + ".h5ad") for name in ("v0600", "v0622", "v07", "v08", "v011")}
    write_v06(paths["v0600"], c, fixed=True)
    write_v06(paths["v0622"], c, fixed=False)
    write_v07(paths["v07"], c)
    v08_anndata(c).write_h5ad(paths["v08"])
    write_v011(paths["v011"], c)

    # The files are what each version wrote: no encoding attributes before 0.7, 0.1.0 frames in 0.7.
    with h5py.File(paths["v0600"]) as f:
        check(isinstance(f["obs"], h5py.Dataset) and f["obs"].dtype.names[0] == "index", "v0600: obs not compound")
        check(f["obs"].dtype["index"].kind == "S", "v0600: index not fixed-length bytes")
        check(not any("encoding-type" in o.attrs for o in (f, f["obs"], f["X"])), "v0600: encoding attributes")
    with h5py.File(paths["v07"]) as f:
        check(f["obs"].attrs["encoding-version"] == "0.1.0", "v07: dataframe version")
        check(isinstance(f["obs/condition"].attrs["categories"], h5py.Reference), "v07: categories reference")
    with h5py.File(paths["v08"]) as f:
        check(f["obs/count"].attrs["encoding-type"] == "nullable-integer", "v08: Int64 column encoding")
        check(f["obs/ok"].attrs["encoding-type"] == "nullable-boolean", "v08: boolean column encoding")
        check(f["obs/note"].attrs["encoding-type"] == "string-array", "v08: string column encoding")

    for name, path in paths.items():
        a = None
        if name != "v011":
            try:
                a = anndata.read_h5ad(path)
            except Exception as e:  # noqa: BLE001 (any failure is the finding)
                check(False, f"{name}: anndata {anndata.__version__} cannot read it: {e}")
                continue
            # anndata read the layout as intended (so the comparison below is against the truth).
            check(list(a.obs["condition"].cat.categories) == ["control", "drug A", "drug_B"],
                  f"{name}: anndata categories {a.obs['condition'].dtype}")
            check(a.obs["line"].isna().sum() == 1, f"{name}: anndata missing category")
            check(a.raw is not None and a.raw.shape == (N, D_RAW), f"{name}: anndata raw")
        got = check_layout(name, path, args.tool, args.cellot, args.work, c, a)
        if name == "v011" and got is not None:
            label = [col for col in got["obs"]["columns"] if col["name"] == "label"]
            check(len(label) == 1 and cellot_text(label[0]) == ["" if i % 7 == 3 else f"s{i}" for i in range(N)],
                  f"v011: nullable-string-array {label}")
            want = anndata.read_h5ad(paths["v08"])  # the same file without the 0.11 column
            compare_frame(want.obs, {"index": got["obs"]["index"],
                                     "columns": [col for col in got["obs"]["columns"] if col["name"] != "label"]},
                          "v011:obs")
        if name == "v08" and got is not None:
            cols = {col["name"]: col for col in got["obs"]["columns"]}
            check(cols["count"].get("nullable") and cols["ok"].get("nullable"), "v08: nullable columns not flagged")
        print(f"{name}: checked")

    # A nullable column written back by cellot (predict keeps obs) reads the same in anndata.
    pred = os.path.join(args.work, "v08-X.pred.h5ad")
    if os.path.exists(pred):
        p = anndata.read_h5ad(pred)
        src = anndata.read_h5ad(paths["v08"])
        for col in ("count", "ok", "line", "note"):
            check([text(v) for v in p.obs[col]] == [text(v) for v in src.obs[col]], f"predict output obs.{col}")
        check(str(p.obs["count"].dtype) == "Int64" and str(p.obs["ok"].dtype) == "boolean",
              f"predict output nullable dtypes {p.obs.dtypes.to_dict()}")
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("h5ad layouts: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
