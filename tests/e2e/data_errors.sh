#!/usr/bin/env bash
# Bad data inputs through the CLI: every case must exit 2 with one error line naming the file,
# the key and the value. Fixtures are made with h5py/anndata (Debian's python).
set -euo pipefail
bin="${CELLOT_BIN:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-data-errors.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

# expect_input_error "description" "needle1|needle2|..." -- command...
# Exit code 2, exactly one 'cellot: error:' line on stderr, containing every needle.
expect_input_error() {
  local what="$1" needles="$2"
  shift 3
  local rc=0
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  if [ "$rc" -ne 2 ]; then
    fail "$what: exit $rc (want 2); stderr: $(cat "$work/err")"
    return
  fi
  local lines
  lines=$(grep -c '^cellot: error: ' "$work/err" || true)
  [ "$lines" -eq 1 ] || fail "$what: $lines error lines (want 1): $(cat "$work/err")"
  local msg
  msg=$(grep '^cellot: error: ' "$work/err" || true)
  IFS='|' read -r -a parts <<<"$needles"
  for n in "${parts[@]}"; do
    [[ "$msg" == *"$n"* ]] || fail "$what: message lacks '$n': $msg"
  done
  echo "ok: $what -> $msg"
}

# ---- fixtures ----
"$py" - "$work" <<'PY'
import sys, warnings
import h5py, numpy as np, pandas as pd, anndata
warnings.filterwarnings("ignore")
w = sys.argv[1]
def make(n=12, X=None, categories=None, features=None):
    features = features or [f"f{j}" for j in range(4)]
    cond = ["control" if i % 3 == 0 else ("DrugA" if i % 3 == 1 else "DrugB") for i in range(n)]
    obs = pd.DataFrame({"condition": pd.Categorical(cond, categories=categories or ["control", "DrugA", "DrugB"])},
                       index=[f"c{i}" for i in range(n)])
    if X is None:
        X = np.arange(n * len(features), dtype=np.float32).reshape(n, len(features))
    return anndata.AnnData(X=X, obs=obs, var=pd.DataFrame(index=features), dtype=X.dtype)
make().write_h5ad(f"{w}/good.h5ad")
# Feature mismatches against good.h5ad: a renamed feature (same count), one feature fewer.
make(features=["f0", "f1", "g2", "f3"]).write_h5ad(f"{w}/renamed.h5ad")
make(features=["f0", "f1", "f2"]).write_h5ad(f"{w}/three.h5ad")
# 4i preprocessing: f1 is 0 everywhere and f3 is -0.5 on the controls, so their control 75th
# percentiles (0, -0.5) cannot scale them.
X = np.arange(48, dtype=np.float32).reshape(12, 4)
X[:, 1] = 0
X[0::3, 3] = -0.5
make(X=X).write_h5ad(f"{w}/unscaled.h5ad")
# HDF5, but not AnnData.
with h5py.File(f"{w}/plain.h5", "w") as f:
    f.create_dataset("numbers", data=np.arange(3))
# AnnData without X.
make().write_h5ad(f"{w}/nox.h5ad")
with h5py.File(f"{w}/nox.h5ad", "a") as f:
    del f["X"]
# A NaN in the DrugA row 4, column 1 (dense), and an inf in row 7 column 2 (CSR).
X = np.arange(48, dtype=np.float32).reshape(12, 4)
X[4, 1] = np.nan
make(X=X).write_h5ad(f"{w}/nan.h5ad")
import scipy.sparse as sp
X = np.arange(48, dtype=np.float64).reshape(12, 4)
X[7, 2] = np.inf
a = make(X=X); a.X = sp.csr_matrix(X); a.write_h5ad(f"{w}/inf_csr.h5ad")
# A category without cells.
make(categories=["control", "DrugA", "DrugB", "Ghost"]).write_h5ad(f"{w}/ghost.h5ad")
PY
printf 'this is not an HDF5 file\n' >"$work/text.h5ad"

# ---- cases ----
expect_input_error "missing file" "$work/missing.h5ad|path|no such file" -- \
  "$bin" describe --data "$work/missing.h5ad"
expect_input_error "not HDF5" "$work/text.h5ad|path = '$work/text.h5ad'|not an HDF5 file" -- \
  "$bin" describe --data "$work/text.h5ad"
expect_input_error "HDF5 but not AnnData" "$work/plain.h5|X|not an AnnData file" -- \
  "$bin" describe --data "$work/plain.h5"
expect_input_error "missing X" "$work/nox.h5ad|X|no X matrix" -- \
  "$bin" describe --data "$work/nox.h5ad"
expect_input_error "missing condition key" "$work/good.h5ad|data.condition_key = 'drug'|no such obs column" -- \
  "$bin" describe --data "$work/good.h5ad" --data.condition_key drug
expect_input_error "unknown control label" "$work/good.h5ad|data.control = 'DMSO'|unknown condition" -- \
  "$bin" describe --data "$work/good.h5ad" --data.control DMSO
expect_input_error "unknown perturbation" "$work/good.h5ad|perturbation = 'DrugZ'|unknown condition" -- \
  "$bin" describe --data "$work/good.h5ad" --perturbation DrugZ
expect_input_error "unknown perturbation in a list" "$work/good.h5ad|data.perturbations = 'DrugZ'" -- \
  "$bin" describe --data "$work/good.h5ad" --data.perturbations DrugA,DrugZ
expect_input_error "non-finite value (dense)" "$work/nan.h5ad|X = 'nan at row 4 col 1'|non-finite value" -- \
  "$bin" describe --data "$work/nan.h5ad"
expect_input_error "non-finite value (csr, one perturbation)" "$work/inf_csr.h5ad|X = 'inf at row 7 col 2'|non-finite" -- \
  "$bin" describe --data "$work/inf_csr.h5ad" --perturbation DrugA
expect_input_error "perturbation with zero cells" "$work/ghost.h5ad|perturbation = 'Ghost'|zero cells" -- \
  "$bin" describe --data "$work/ghost.h5ad" --perturbation Ghost
expect_input_error "zero-cell perturbation in a list" "$work/ghost.h5ad|data.perturbations = 'Ghost'|zero cells" -- \
  "$bin" describe --data "$work/ghost.h5ad" --data.perturbations DrugA,Ghost
expect_input_error "control as perturbation" "$work/good.h5ad|data.perturbations = 'control'" -- \
  "$bin" describe --data "$work/good.h5ad" --data.perturbations control
expect_input_error "describe without --data" "--data|is required" -- \
  "$bin" describe
expect_input_error "synth: unknown preset" "command line|--preset = 'huge'|unknown preset" -- \
  "$bin" synth --preset huge --out "$work/x.h5ad"
expect_input_error "synth: output directory missing" "--out = '$work/no/such/dir/x.h5ad'|does not exist" -- \
  "$bin" synth --preset 4i --out "$work/no/such/dir/x.h5ad"
expect_input_error "synth: bad scale" "--cells-scale = '0'|must be a positive number" -- \
  "$bin" synth --preset 4i --cells-scale 0 --out "$work/x.h5ad"
expect_input_error "synth: no perturbations" "--perturbations = '0'" -- \
  "$bin" synth --preset screen --perturbations 0 --out "$work/x.h5ad"
expect_input_error "synth: --out missing" "--out|is required" -- \
  "$bin" synth --preset 4i
[ ! -e "$work/x.h5ad" ] || fail "a failed synth left $work/x.h5ad behind"

# Feature mismatch between two files: evaluate (data vs predictions) and predict (model vs data)
# name the offending file, var_names, the first differing value and the file it differs from.
expect_input_error "evaluate: renamed feature" "$work/renamed.h5ad: var_names = 'g2'|feature 2 differs from $work/good.h5ad ('f2')" -- \
  "$bin" evaluate --data "$work/good.h5ad" --predictions "$work/renamed.h5ad" -p DrugA --split all
expect_input_error "evaluate: feature count" "$work/three.h5ad: var_names = '3 features'|differs from $work/good.h5ad (4 features)" -- \
  "$bin" evaluate --data "$work/good.h5ad" --predictions "$work/three.h5ad" -p DrugA --split all
if "$bin" train --data "$work/good.h5ad" -p DrugA --model identity --out "$work/m_good" --quiet 2>"$work/err"; then
  expect_input_error "predict: renamed feature" "$work/renamed.h5ad: var_names = 'g2'|differs from $work/m_good/model.h5 ('f2')" -- \
    "$bin" predict --model "$work/m_good" --data "$work/renamed.h5ad" --out "$work/p.h5ad"
  expect_input_error "predict: feature count" "$work/three.h5ad: var_names = '3 features'|$work/m_good/model.h5 (4 features)" -- \
    "$bin" predict --model "$work/m_good" --data "$work/three.h5ad" --out "$work/p.h5ad"
  [ ! -e "$work/p.h5ad" ] || fail "a refused predict wrote $work/p.h5ad"
else
  fail "training identity on good.h5ad: $(cat "$work/err")"
fi

# Features the 4i preprocessing cannot scale: one warning (per file, however many loads) naming
# them with their percentiles, and the run goes on.
"$bin" train --data "$work/unscaled.h5ad" -p DrugA --model identity --data.preprocess 4i --out "$work/m_4i" \
  2>"$work/err" || fail "4i with unscalable features: exit $? ($(cat "$work/err"))"
n_warn=$(grep -c "warning: $work/unscaled.h5ad: data.preprocess = 4i: the control 75th percentile of 2 feature(s) is not positive, so they are not divided by it (log1p only): f1 (0), f3 (-0.5)$" "$work/err" || true)
[ "$n_warn" -eq 1 ] || fail "4i unscaled features: $n_warn matching warnings (want 1): $(cat "$work/err")"
[ "$(grep -c 'warning:' "$work/err")" -eq 1 ] || fail "4i unscaled features: more than one warning: $(cat "$work/err")"
"$bin" train --data "$work/good.h5ad" -p DrugA --model identity --data.preprocess 4i --out "$work/m_4i_good" 2>"$work/err"
! grep -q "warning:" "$work/err" || fail "4i warned on good.h5ad: $(cat "$work/err")"
expect_input_error "synth: negative seed" "command line|--seed = '-1'|expected a non-negative integer" -- \
  "$bin" synth --preset 4i --seed -1 --out "$work/x.h5ad"
expect_input_error "negative training seed" "command line|--training.seed = '-3'|expected a non-negative integer" -- \
  "$bin" train --data "$work/good.h5ad" -p DrugA --model identity --training.seed=-3 --out "$work/m_neg"
printf '[training]\nseed = -1\n' >"$work/negseed.ini"
expect_input_error "negative seed in a config file" "$work/negseed.ini|training.seed = '-1'|expected a non-negative integer" -- \
  "$bin" train --config "$work/negseed.ini" --data "$work/good.h5ad" -p DrugA --model identity --out "$work/m_neg2"

# The valid fixtures pass (so the failures above are about the defect, not the fixture).
"$bin" describe --data "$work/good.h5ad" >/dev/null || fail "good.h5ad rejected"
"$bin" describe --data "$work/nan.h5ad" --perturbation DrugB >/dev/null || fail "nan.h5ad DrugB (finite rows) rejected"
"$bin" describe --data "$work/ghost.h5ad" >"$work/out" || fail "ghost.h5ad rejected with all perturbations"
grep -q 'Ghost .* 0  (no cells)' "$work/out" || fail "describe does not list the empty category: $(cat "$work/out")"

[ "$failed" -eq 0 ] || exit 1
echo "data_errors: all cases passed"
