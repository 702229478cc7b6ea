"""Cross-check of cellot's .h5ad reader/writer against python anndata (>= 0.8), both ways.

1. C++ -> anndata: files written by cellot (h5ad_tool write, cellot synth) open in anndata
   unchanged, with the same X, obs names, categorical / string / numeric / bool columns, var
   names, obsm and uns; the synth presets have exactly the documented counts; the map family
   stored in uns, evaluated here in numpy, equals cellot's true_map.
2. anndata -> C++: fixtures written by anndata (dense float32/float64/int32, CSR, CSC,
   categorical with unused and missing categories, string, numeric and bool columns, obsm, nested
   uns) read by cellot (h5ad_tool dump) give the same values, including a scattered row
   selection; `cellot describe` accepts them.
"""
import argparse
import json
import os
import subprocess
import sys
import warnings

import anndata
import numpy as np
import pandas as pd
import scipy.sparse as sp

warnings.filterwarnings("ignore")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def dense(x):
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def mat(j):
    return np.asarray(j["data"], dtype=np.float64).reshape(j["shape"])


def compare_frame(df, j, label, index_check=True):
    if index_check:
        check(list(df.index) == j["index"], f"{label}: index differs")
    check(list(df.columns) == [c["name"] for c in j["columns"]], f"{label}: column order {list(df.columns)}")
    for c in j["columns"]:
        if c["name"] not in df.columns:
            continue
        s = df[c["name"]]
        name = f"{label}.{c['name']}"
        if c["kind"] == "categorical":
            check(isinstance(s.dtype, pd.CategoricalDtype), f"{name}: not categorical ({s.dtype})")
            check(list(s.cat.categories) == c["categories"], f"{name}: categories {list(s.cat.categories)}")
            check(list(s.cat.codes) == c["codes"], f"{name}: codes differ")
        elif c["kind"] == "string":
            check(list(s) == c["values"], f"{name}: strings differ")
        elif c["kind"] == "bool":
            check(s.dtype == bool, f"{name}: dtype {s.dtype}")
            check([int(v) for v in s] == c["values"], f"{name}: values differ")
        else:
            check(np.array_equal(s.to_numpy(dtype=np.float64), np.asarray(c["values"], dtype=np.float64)),
                  f"{name}: values differ")


def cpp_to_anndata(tool, cellot, work):
    for enc, f64 in [("array", False), ("array", True), ("csr_matrix", False), ("csc_matrix", True)]:
        path = os.path.join(work, f"cpp_{enc}_{'f64' if f64 else 'f32'}.h5ad")
        wrote = run_json([tool, "write", path] + [enc] + (["f64"] if f64 else []))
        a = anndata.read_h5ad(path)
        label = os.path.basename(path)
        want_type = {"array": np.ndarray, "csr_matrix": sp.csr_matrix, "csc_matrix": sp.csc_matrix}[enc]
        check(isinstance(a.X, want_type), f"{label}: X type {type(a.X)}")
        check(a.X.dtype == (np.float64 if f64 else np.float32), f"{label}: X dtype {a.X.dtype}")
        x = mat(wrote["X"])
        expect = x if f64 else x.astype(np.float32).astype(np.float64)
        check(np.array_equal(dense(a.X).astype(np.float64), expect), f"{label}: X values differ")
        compare_frame(a.obs, wrote["obs"], label + ":obs")
        compare_frame(a.var, wrote["var"], label + ":var")
        check(np.array_equal(a.obsm["X_emb"], mat(wrote["obsm"]["X_emb"])), f"{label}: obsm differs")
        u = a.uns
        check(u["title"] == "cross-check", f"{label}: uns title {u.get('title')!r}")
        check(u["nested"]["deeper"]["label"] == "inner", f"{label}: nested uns string")
        check(float(u["nested"]["answer"]) == 42.5, f"{label}: uns number")
        check(np.array_equal(u["nested"]["matrix"], np.array([[1, 2, 3], [4, 5, 6.25]])), f"{label}: uns matrix")
        check(np.array_equal(u["vector"], [-1, 0, 1]), f"{label}: uns vector")
        check(list(u["names"]) == ["x", "y z"], f"{label}: uns string array")
        # anndata can rewrite what it read (no element it cannot handle).
        a.write_h5ad(os.path.join(work, "rewritten.h5ad"))

    # The synth presets.
    p4i = os.path.join(work, "synth_4i.h5ad")
    subprocess.run([cellot, "synth", "--preset", "4i", "--out", p4i], check=True, capture_output=True)
    a = anndata.read_h5ad(p4i)
    counts = a.obs["condition"].value_counts().to_dict()
    want = {"control": 11526, "Erlotinib": 2364, "Imatinib": 2650, "Trametinib": 2683, "Trametinib+Erlotinib": 2417}
    check(counts == want, f"4i counts {counts}")
    check(list(a.obs["condition"].cat.categories) == list(want), "4i condition categories order")
    check(a.shape == (21640, 48), f"4i shape {a.shape}")
    check(a.X.dtype == np.float32, "4i X dtype")
    check(a.obs_names.is_unique and a.obs_names[0] == "cell_000001", "4i obs names")
    names = list(a.var_names)
    check(len(set(names)) == 48, "4i var names unique")
    check(sum(n.startswith("Intensity_") for n in names) == 26, "4i 26 intensity features")
    check("Intensity_Nuclei_Sox9" in names and "Intensity_Cell_pERK" in names and "Cell_Area" in names,
          "4i feature names")
    lines = a.obs.groupby("condition")["cell_line"].value_counts().unstack()
    check(((lines["CL1"] - lines["CL2"]).abs() <= 1).all(), f"4i cell lines not 1:1 per condition:\n{lines}")
    check(np.isfinite(a.X).all(), "4i X finite")
    u = a.uns["cellot_synth"]
    check(u["family"] == "quadratic_softplus_gates", "4i family")
    check(list(u["perturbations"]) == list(want)[1:], "4i perturbation list")
    # T(x) = s*x + b + sum_m a_m sigmoid(u_m.x - t_m) u_m, from uns, against cellot's true_map.
    got = run_json([tool, "truemap", p4i, "Imatinib", "50"])
    m = u["maps"]["Imatinib"]
    x = np.asarray(a.X[got["rows"]], dtype=np.float64)
    z = x @ m["u"].T - m["t"]
    y = x * m["scale"] + m["shift"] + (m["a"] / (1 + np.exp(-z))) @ m["u"]
    check(np.allclose(y, mat(got["y"]), rtol=1e-12, atol=1e-12), "true_map differs from the documented family")
    # Perturbed cells follow T applied to control-distribution cells: their mean is close to the
    # mean of T(control).
    xc = np.asarray(a.X[(a.obs["condition"] == "control").to_numpy()], dtype=np.float64)
    zc = xc @ m["u"].T - m["t"]
    tc = xc * m["scale"] + m["shift"] + (m["a"] / (1 + np.exp(-zc))) @ m["u"]
    xt = np.asarray(a.X[(a.obs["condition"] == "Imatinib").to_numpy()], dtype=np.float64)
    gap = np.abs(tc.mean(0) - xt.mean(0)).max()
    check(gap < 0.2, f"Imatinib cells are not T(control): mean gap {gap}")

    pscreen = os.path.join(work, "synth_screen.h5ad")
    subprocess.run([cellot, "synth", "--preset", "screen", "--out", pscreen], check=True, capture_output=True)
    s = anndata.read_h5ad(pscreen)
    vc = s.obs["condition"].value_counts()
    check(len(vc) == 201 and (vc > 0).all(), f"screen: {len(vc)} conditions")
    check(len(s.uns["cellot_synth"]["perturbations"]) == 200, "screen: 200 perturbations in uns")
    per = vc.drop("control")
    check(per.min() >= 150 and per.max() <= 1500 and per.nunique() > 100, "screen: counts 150..1500, varying")
    check(s.shape[1] == 48, "screen: 48 features")


def anndata_to_cpp(tool, cellot, work):
    rng = np.random.default_rng(0)
    n, d = 31, 5
    base = rng.normal(size=(n, d))
    base[rng.random((n, d)) < 0.4] = 0
    cond = pd.Categorical(
        ["control" if i % 3 == 0 else ("drug A" if i % 3 == 1 else "drug+B") for i in range(n)],
        categories=["control", "drug A", "drug+B", "unused"])
    cond_missing = pd.Categorical([None if i == 4 else "L" + str(i % 2) for i in range(n)])
    obs = pd.DataFrame({
        "condition": cond,
        "line": cond_missing,
        "note": [f"s\u00e9{i}" for i in range(n)],
        "dose": np.linspace(0, 1, n),
        "plate": np.arange(n, dtype=np.int64) - 3,
        "flag": np.arange(n) % 2 == 0,
    }, index=[f"c{i}" for i in range(n)])
    var = pd.DataFrame({"desc": [f"gene {j}" for j in range(d)]}, index=[f"g{j}" for j in range(d)])
    fixtures = {
        "dense_f32": base.astype(np.float32),
        "dense_f64": base,
        "dense_i32": (base * 10).astype(np.int32),
        "csr_f32": sp.csr_matrix(base.astype(np.float32)),
        "csc_f64": sp.csc_matrix(base),
    }
    for name, X in fixtures.items():
        a = anndata.AnnData(X=X, obs=obs.copy(), var=var.copy(), dtype=X.dtype)  # default would cast to float32
        a.obsm["X_pca"] = rng.normal(size=(n, 2)).astype(np.float32)
        a.uns["title"] = "from python"
        a.uns["count"] = 7
        a.uns["ratio"] = 0.25
        a.uns["params"] = {"w": np.arange(6.0).reshape(2, 3), "tag": "t", "labels": np.array(["p", "q"], dtype=object)}
        path = os.path.join(work, f"py_{name}.h5ad")
        a.write_h5ad(path)
        got = run_json([tool, "dump", path])
        ad = got["anndata"]
        label = os.path.basename(path)
        want_enc = "csr_matrix" if name.startswith("csr") else ("csc_matrix" if name.startswith("csc") else "array")
        check(ad["x_encoding"] == want_enc, f"{label}: encoding {ad['x_encoding']}")
        want_dtype = {"dense_f32": "float32", "dense_f64": "float64", "dense_i32": "int32", "csr_f32": "float32",
                      "csc_f64": "float64"}[name]
        check(got["x_dtype"] == want_dtype, f"{label}: dtype {got['x_dtype']}")
        xd = dense(X).astype(np.float64)
        check(np.array_equal(mat(ad["X"]), xd), f"{label}: X differs")
        check(np.array_equal(mat(got["selected"]), xd[got["rows"]]), f"{label}: row selection differs")
        compare_frame(a.obs, ad["obs"], label + ":obs")
        compare_frame(a.var, ad["var"], label + ":var")
        missing = [c for c in ad["obs"]["columns"] if c["name"] == "line"][0]
        check(missing["codes"][4] == -1, f"{label}: missing category should have code -1")
        check(np.array_equal(mat(ad["obsm"]["X_pca"]), a.obsm["X_pca"].astype(np.float64)), f"{label}: obsm differs")
        check(ad["uns_strings"].get("title") == "from python", f"{label}: uns string")
        check(ad["uns_strings"].get("params/tag") == "t", f"{label}: nested uns string")
        check(ad["uns_numbers"].get("count") == 7 and ad["uns_numbers"].get("ratio") == 0.25, f"{label}: uns numbers")
        w = ad["uns_arrays"].get("params/w")
        check(w is not None and w["shape"] == [2, 3] and w["data"] == list(range(6)), f"{label}: uns array")
        check(ad["uns_string_arrays"].get("params/labels") == ["p", "q"], f"{label}: uns string array")
        # The CLI reads it too: conditions and counts.
        out = subprocess.run([cellot, "describe", "--data", path], capture_output=True, text=True)
        check(out.returncode == 0, f"{label}: describe failed: {out.stderr.strip()}")
        check("drug A" in out.stdout and " 11  control" in out.stdout, f"{label}: describe output:\n{out.stdout}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--cellot", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    print("anndata", anndata.__version__)
    cpp_to_anndata(args.tool, args.cellot, args.work)
    anndata_to_cpp(args.tool, args.cellot, args.work)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("h5ad cross-check: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
