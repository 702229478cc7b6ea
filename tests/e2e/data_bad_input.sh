#!/usr/bin/env bash
# Bad h5ad files and data settings (issue 13, h5ad/data part; data_errors.sh has the first
# set): every case exits 2 with exactly one line on stderr (no HDF5 error stack) naming the file,
# the key or dataset and the value, and an output file that existed before is left untouched.
set -euo pipefail
bin="${CELLOT_BIN:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-bad-input.XXXXXX)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
failed=0
cases=0
fail() { echo "FAIL: $*" >&2; failed=1; }

# A prediction written before the bad runs: every bad predict aims --out at it.
keep="$work/keep.h5ad"

# expect_bad "description" "needle1|needle2|..." -- command...
expect_bad() {
  local what="$1" needles="$2"
  shift 3
  cases=$((cases + 1))
  local before rc=0
  before=$(sha256sum "$keep" | cut -d' ' -f1)
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  [ "$rc" -eq 2 ] || { fail "$what: exit $rc (want 2); stderr: $(cat "$work/err")"; return; }
  local lines
  lines=$(wc -l <"$work/err")
  [ "$lines" -eq 1 ] || fail "$what: $lines lines on stderr (want 1): $(cat "$work/err")"
  ! grep -q "HDF5-DIAG" "$work/err" || fail "$what: HDF5 error stack printed"
  local msg
  msg=$(grep '^cellot: error: ' "$work/err" || true)
  [ -n "$msg" ] || fail "$what: no 'cellot: error:' line: $(cat "$work/err")"
  IFS='|' read -r -a parts <<<"$needles"
  for n in "${parts[@]}"; do
    [[ "$msg" == *"$n"* ]] || fail "$what: message lacks '$n': $msg"
  done
  [ "$(sha256sum "$keep" | cut -d' ' -f1)" = "$before" ] || fail "$what: $keep changed"
  echo "ok: $what -> $msg"
}

"$py" - "$work" <<'PY'
import sys, warnings
import h5py, numpy as np, pandas as pd, anndata
import scipy.sparse as sp
warnings.filterwarnings("ignore")
w = sys.argv[1]
N = 12
def frame(conds=None, features=None):
    conds = conds or ["control" if i % 3 == 0 else ("DrugA" if i % 3 == 1 else "DrugB") for i in range(N)]
    obs = pd.DataFrame({"condition": pd.Categorical(conds)}, index=[f"c{i}" for i in range(N)])
    return obs, pd.DataFrame(index=[f"f{j}" for j in range(4)] if features is None else features)
def make(path, X=None, conds=None, features=None, **kw):
    obs, var = frame(conds, features)
    X = np.arange(N * var.shape[0], dtype=np.float32).reshape(N, var.shape[0]) if X is None else X
    a = anndata.AnnData(X=X, obs=obs, var=var, dtype=np.float32, **kw)
    a.write_h5ad(path)
    return a
good = make(f"{w}/good.h5ad")
make(f"{w}/sparse.h5ad", X=sp.csr_matrix(np.arange(48, dtype=np.float32).reshape(N, 4)))
# X rows != obs rows.
make(f"{w}/rows.h5ad")
with h5py.File(f"{w}/rows.h5ad", "a") as f:
    del f["X"]
    f.create_dataset("X", data=np.zeros((N - 2, 4), dtype=np.float32))
# A categorical code beyond its categories.
make(f"{w}/codes.h5ad")
with h5py.File(f"{w}/codes.h5ad", "a") as f:
    f["obs/condition/codes"][5] = 7
# X of strings.
make(f"{w}/strx.h5ad")
with h5py.File(f"{w}/strx.h5ad", "a") as f:
    del f["X"]
    f.create_dataset("X", data=np.array([[b"1.5"] * 4] * N))
# An X group of an encoding we do not read.
make(f"{w}/coo.h5ad")
with h5py.File(f"{w}/coo.h5ad", "a") as f:
    del f["X"]
    g = f.create_group("X")
    g.attrs["encoding-type"] = "coo_matrix"
    g.attrs["encoding-version"] = "0.1.0"
# Sparse X: indptr not monotone, an index beyond the columns, indptr one entry short.
for name, fix in [("indptr", lambda g: g["indptr"].__setitem__(4, g["indptr"][6])),
                  ("indices", lambda g: g["indices"].__setitem__(9, 11)),
                  ("indptr_len", None)]:
    p = f"{w}/csr_{name}.h5ad"
    make(p, X=sp.csr_matrix(np.arange(48, dtype=np.float32).reshape(N, 4) + 1))
    with h5py.File(p, "a") as f:
        g = f["X"]
        if fix:
            fix(g)
        else:
            ip = g["indptr"][:-1]
            del g["indptr"]
            g.create_dataset("indptr", data=ip)
# Perturbation names that would break task keys.
make(f"{w}/pipe.h5ad", conds=["control" if i % 2 == 0 else "Drug|A" for i in range(N)])
make(f"{w}/newline.h5ad", conds=["control" if i % 2 == 0 else "Drug\nA" for i in range(N)])
# A column listed twice in column-order; duplicated var names.
make(f"{w}/dupcol.h5ad")
with h5py.File(f"{w}/dupcol.h5ad", "a") as f:
    f["obs"].attrs["column-order"] = ["condition", "condition"]
make(f"{w}/dupvar.h5ad", features=["f0", "f1", "f1", "f3"])
# Empty X: no features.
make(f"{w}/empty.h5ad", X=np.zeros((N, 0), dtype=np.float32), features=[])
# A NaN in layers/counts and an inf in raw/X (the matrices data.layer selects).
a = make(f"{w}/layers.h5ad")
counts = np.ones((N, 4), dtype=np.float32); counts[7, 2] = np.nan
raw_x = np.ones((N, 4), dtype=np.float32); raw_x[4, 3] = np.inf
a.layers["counts"] = counts
a.raw = anndata.AnnData(X=raw_x, obs=a.obs[[]], var=a.var.copy(), dtype=np.float32)
a.write_h5ad(f"{w}/layers.h5ad")
# The condition column in an encoding we do not read.
make(f"{w}/oddcol.h5ad")
with h5py.File(f"{w}/oddcol.h5ad", "a") as f:
    del f["obs/condition"]
    g = f["obs"].create_group("condition")
    g.attrs["encoding-type"] = "awkward-array"
    g.attrs["encoding-version"] = "0.1.0"
# The anndata 0.6 layout without the condition column (compound obs).
with h5py.File(f"{w}/v06.h5ad", "w") as f:
    rec = np.empty(N, dtype=[("index", "S3"), ("cell_type", np.int8)])
    rec["index"] = [f"c{i}".encode() for i in range(N)]
    rec["cell_type"] = np.arange(N) % 2
    f.create_dataset("obs", data=rec)
    f.create_dataset("uns/cell_type_categories", data=np.array([b"T", b"B"]))
    f.create_dataset("X", data=np.ones((N, 4), dtype=np.float32))
# X compressed with h5py's lzf filter, which the HDF5 C library lacks.
make(f"{w}/lzf.h5ad")
with h5py.File(f"{w}/lzf.h5ad", "a") as f:
    x = f["X"][()]
    del f["X"]
    f.create_dataset("X", data=x, compression="lzf")
PY
head -c 2000 "$work/good.h5ad" >"$work/truncated.h5ad"
mkdir "$work/dir.h5ad"
"$bin" train --data "$work/good.h5ad" -p DrugA --model identity --out "$work/m" --quiet
"$bin" predict --model "$work/m" --out "$keep" 2>/dev/null

# ---- the file itself ----
expect_bad "truncated h5ad" "$work/truncated.h5ad|path|truncated" -- "$bin" describe --data "$work/truncated.h5ad"
expect_bad "truncated h5ad (predict)" "$work/truncated.h5ad|path" -- \
  "$bin" predict --model "$work/m" --data "$work/truncated.h5ad" --out "$keep"
expect_bad "a directory as the file" "$work/dir.h5ad|is a directory" -- "$bin" describe --data "$work/dir.h5ad"
expect_bad "X rows != obs rows" "$work/rows.h5ad|obs/_index = '12 rows'|different number of rows than X (10)" -- \
  "$bin" describe --data "$work/rows.h5ad"
expect_bad "codes out of range" "$work/codes.h5ad|obs/condition/codes = '7 at row 5'|out of range" -- \
  "$bin" describe --data "$work/codes.h5ad"
expect_bad "string X" "$work/strx.h5ad|X = 'string'|numeric" -- "$bin" describe --data "$work/strx.h5ad"
expect_bad "X of an unknown encoding" "$work/coo.h5ad|X = 'coo_matrix'|unsupported matrix encoding" -- \
  "$bin" describe --data "$work/coo.h5ad"
expect_bad "indptr not monotone" "$work/csr_indptr.h5ad|X/indptr|not non-decreasing" -- \
  "$bin" describe --data "$work/csr_indptr.h5ad"
expect_bad "indices beyond the columns" "$work/csr_indices.h5ad|X/indices = '11 at row|column index out of range [0, 4)" -- \
  "$bin" describe --data "$work/csr_indices.h5ad"
expect_bad "indptr length" "$work/csr_indptr_len.h5ad|X/indptr = '12 entries'|expected 13" -- \
  "$bin" describe --data "$work/csr_indptr_len.h5ad"
expect_bad "lzf-compressed X" "$work/lzf.h5ad|X = 'lzf|HDF5 filter|anndata.read_h5ad" -- \
  "$bin" describe --data "$work/lzf.h5ad"
expect_bad "empty X" "$work/empty.h5ad|X = '0 features'|empty matrix" -- "$bin" describe --data "$work/empty.h5ad"
expect_bad "column listed twice" "$work/dupcol.h5ad|obs@column-order = 'condition'|listed twice" -- \
  "$bin" describe --data "$work/dupcol.h5ad"
expect_bad "duplicated var name" "$work/dupvar.h5ad|var_names = 'f1'|var_names_make_unique" -- \
  "$bin" describe --data "$work/dupvar.h5ad"
# ---- values ----
expect_bad "NaN in layers/counts" "$work/layers.h5ad|layers/counts = 'nan at row 7 col 2'|non-finite" -- \
  "$bin" describe --data "$work/layers.h5ad" --data.layer layers/counts
expect_bad "inf in raw/X" "$work/layers.h5ad|raw/X = 'inf at row 4 col 3'|non-finite" -- \
  "$bin" train --data "$work/layers.h5ad" --data.layer raw -p DrugA --model identity --out "$work/m2"
# ---- data settings against the file ----
expect_bad "missing condition key (0.6 layout)" "$work/v06.h5ad|data.condition_key = 'condition'|have: cell_type" -- \
  "$bin" describe --data "$work/v06.h5ad"
expect_bad "condition column of an unread encoding" "$work/oddcol.h5ad|data.condition_key = 'condition'|awkward-array|astype(str)" -- \
  "$bin" describe --data "$work/oddcol.h5ad"
expect_bad "control label absent" "$work/good.h5ad|data.control = 'DMSO'|unknown condition" -- \
  "$bin" predict --model "$work/m" --data.control DMSO --out "$keep"
expect_bad "perturbation name with '|'" "$work/pipe.h5ad|obs/condition = 'Drug|A'|contains a '|'" -- \
  "$bin" describe --data "$work/pipe.h5ad"
expect_bad "perturbation name with a line break" "$work/newline.h5ad|obs/condition = 'Drug A'|line break" -- \
  "$bin" describe --data "$work/newline.h5ad"
expect_bad "a layer that does not exist" "$work/good.h5ad|data.layer = 'layers/counts'|have: X" -- \
  "$bin" describe --data "$work/good.h5ad" --data.layer layers/counts
expect_bad "a layer that does not exist (predict)" "$work/good.h5ad|data.layer = 'raw'" -- \
  "$bin" predict --model "$work/m" --data.layer raw --out "$keep"
expect_bad "a malformed layer value" "command line|data.layer = 'counts'|X, raw or layers/<name>" -- \
  "$bin" describe --data "$work/good.h5ad" --data.layer counts
printf '[data]\nlayer = layers/a/b\n' >"$work/layer.ini"
expect_bad "a malformed layer value in a config file" "$work/layer.ini|data.layer = 'layers/a/b'" -- \
  "$bin" describe --config "$work/layer.ini" --data "$work/good.h5ad"
expect_bad "an obsm key that does not exist" "$work/good.h5ad|obsm/X_umap = 'X_umap'|no such obsm array" -- \
  "$bin" describe --data "$work/good.h5ad" --obsm X_umap
# ---- outputs ----
mkdir "$work/ro"
cp "$keep" "$work/ro/pred.h5ad"
chmod 555 "$work/ro"
chmod 755 "$work"
# Root writes anywhere: run the commands as nobody then (the directory is root's, mode 555).
as_user=()
[ "$(id -u)" -ne 0 ] || as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
ro_before=$(sha256sum "$work/ro/pred.h5ad" | cut -d' ' -f1)
expect_bad "synth into a read-only directory" "--out = '$work/ro/x.h5ad'|not writable" -- \
  "${as_user[@]}" "$bin" synth --preset 4i --out "$work/ro/x.h5ad"
chmod -R a+rX "$work/m" "$work/good.h5ad"
expect_bad "predict into a read-only directory" "--out = '$work/ro/pred.h5ad'|not writable" -- \
  "${as_user[@]}" "$bin" predict --model "$work/m" --data "$work/good.h5ad" --out "$work/ro/pred.h5ad"
[ "$(sha256sum "$work/ro/pred.h5ad" | cut -d' ' -f1)" = "$ro_before" ] || fail "read-only: existing prediction changed"
[ ! -e "$work/ro/x.h5ad" ] || fail "read-only: synth wrote its output"

# The fixtures that should pass do (so each failure above is its defect, not the fixture).
"$bin" describe --data "$work/sparse.h5ad" >/dev/null || fail "sparse.h5ad rejected"
"$bin" describe --data "$work/layers.h5ad" --data.layer layers/counts --perturbation DrugB >/dev/null ||
  fail "layers.h5ad: finite rows of layers/counts rejected"
[ "$cases" -ge 18 ] || fail "only $cases cases"
[ "$failed" -eq 0 ] || exit 1
echo "data_bad_input: all $cases cases passed"
