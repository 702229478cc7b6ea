#!/usr/bin/env bash
# `cellot predict` picks its cells by whether the file is the training data (issue 14 item 5):
# the training file (same data fingerprint, under any path) maps its test-split controls; a new
# file maps all its control cells; the log line says which rule applied; --cells forces one.
set -euo pipefail
bin="${CELLOT_BIN:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-predict-new.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

"$py" - "$work" <<'PY'
import sys, warnings
import numpy as np, pandas as pd, anndata
warnings.filterwarnings("ignore")
w = sys.argv[1]
def make(n, seed, path):
    rng = np.random.default_rng(seed)
    cond = ["control" if i % 2 == 0 else "DrugA" for i in range(n)]
    obs = pd.DataFrame({"condition": pd.Categorical(cond)}, index=[f"s{seed}_{i}" for i in range(n)])
    X = rng.normal(size=(n, 3)).astype(np.float32)
    anndata.AnnData(X=X, obs=obs, var=pd.DataFrame(index=["a", "b", "c"]), dtype=np.float32).write_h5ad(path)
make(100, 1, f"{w}/train.h5ad")   # 50 control cells: 10 in the test split (test_fraction 0.2)
make(60, 2, f"{w}/new.h5ad")      # 30 control cells, never seen
PY
cp "$work/train.h5ad" "$work/copy.h5ad"

"$bin" train --data "$work/train.h5ad" -p DrugA --model identity --out "$work/m" --quiet

# n_obs FILE: rows of X of an h5ad; cells_uns FILE: its uns/cellot_cells.
n_obs() { "$py" -c "import anndata,sys; print(anndata.read_h5ad(sys.argv[1]).n_obs)" "$1"; }
cells_uns() { "$py" -c "import anndata,sys; print(anndata.read_h5ad(sys.argv[1]).uns['cellot_cells'])" "$1"; }

# expect_predict LABEL WANT_ROWS WANT_CELLS LOG_NEEDLE -- predict args...
expect_predict() {
  local label="$1" rows="$2" cells="$3" needle="$4"
  shift 5
  rm -f "$work/p.h5ad"
  if ! "$bin" predict "$@" --out "$work/p.h5ad" 2>"$work/err"; then
    fail "$label: predict failed: $(cat "$work/err")"
    return
  fi
  local n c
  n=$(n_obs "$work/p.h5ad")
  c=$(cells_uns "$work/p.h5ad")
  [ "$n" = "$rows" ] || fail "$label: $n cells mapped (want $rows)"
  [ "$c" = "$cells" ] || fail "$label: uns cellot_cells '$c' (want '$cells')"
  grep -q -- "$needle" "$work/err" || fail "$label: log lacks '$needle': $(cat "$work/err")"
  echo "ok: $label -> $n cells ($c)"
}

expect_predict "training file" 10 "test-split control" "is the training data" -- --model "$work/m"
expect_predict "training file by another path" 10 "test-split control" "copy.h5ad is the training data" -- \
  --model "$work/m" --data "$work/copy.h5ad"
expect_predict "new file" 30 "control" "new.h5ad is not the training data" -- --model "$work/m" --data "$work/new.h5ad"
expect_predict "new file, --cells test" 6 "test-split control" "--cells test" -- \
  --model "$work/m" --data "$work/new.h5ad" --cells test
expect_predict "training file, --cells control" 50 "control" "--cells control" -- --model "$work/m" --cells control
expect_predict "--all-cells" 60 "all" "--cells all" -- --model "$work/m" --data "$work/new.h5ad" --all-cells
# The new file's predictions are its control cells, by obs name.
"$bin" predict --model "$work/m" --data "$work/new.h5ad" --out "$work/p.h5ad" 2>/dev/null
"$py" - "$work/p.h5ad" <<'PY' || fail "new file: predicted obs names are not its control cells"
import sys, anndata
p = anndata.read_h5ad(sys.argv[1])
assert list(p.obs_names) == [f"s2_{i}" for i in range(0, 60, 2)], list(p.obs_names)[:4]
PY

# A changed training file (same path) is new data: its fingerprint differs.
"$py" - "$work/copy.h5ad" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "a") as f:
    f["X"][0, 0] = f["X"][0, 0] + 1.0
PY
expect_predict "changed copy" 50 "control" "is not the training data" -- --model "$work/m" --data "$work/copy.h5ad"

# A model directory written before the fingerprint was kept: the recorded training file decides.
"$py" - "$work/m/model.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "a") as f:
    del f.attrs["data_fingerprint"]
PY
expect_predict "old model dir, training file" 10 "test-split control" "is the training data" -- --model "$work/m"
expect_predict "old model dir, new file" 30 "control" "is not the training data" -- \
  --model "$work/m" --data "$work/new.h5ad"
mv "$work/train.h5ad" "$work/moved.h5ad"
expect_predict "old model dir, training file gone" 50 "control" "not recorded and" -- \
  --model "$work/m" --data "$work/moved.h5ad"

rc=0
"$bin" predict --model "$work/m" --data "$work/new.h5ad" --cells some --out "$work/q.h5ad" 2>"$work/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "\-\-cells = 'some'" "$work/err" || fail "--cells some: exit $rc: $(cat "$work/err")"
rc=0
"$bin" predict --model "$work/m" --data "$work/new.h5ad" --cells test --all-cells --out "$work/q.h5ad" 2>"$work/err" || rc=$?
[ "$rc" -eq 2 ] || fail "--cells test --all-cells: exit $rc"
[ ! -e "$work/q.h5ad" ] || fail "a refused predict wrote its output"

[ "$failed" -eq 0 ] || exit 1
echo "predict_new_file: all cases passed"
