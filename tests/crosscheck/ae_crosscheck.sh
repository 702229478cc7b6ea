#!/usr/bin/env bash
# scGen and cAE against an independent PyTorch implementation (ae_reference.py): ae_tool trains
# ours on a small synthetic 4i file and writes the fit's trace; the reference replays it from the
# same initial parameters, batches and dropout masks and compares losses, parameters, validation
# curve, selected iterate, early stop and predictions. Runs from the build directory.
set -euo pipefail
tool="${CELLOT_AE_TOOL:-$PWD/tests/ae_tool}"
[[ -x "$tool" ]] || { echo "ae_tool not built: $tool" >&2; exit 1; }
py="${CELLOT_PYTHON:-/usr/bin/python3}"
ref="$CELLOT_SOURCE_DIR/tests/crosscheck/ae_reference.py"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$CELLOT_BIN" synth --preset 4i --seed 3 --cells-scale 0.06 --out "$work/data.h5ad" >/dev/null 2>&1

# config NAME MODEL LR DROPOUT ITERS EVAL_EVERY PATIENCE MIN_ITERS
config() {
  cat >"$work/$1.ini" <<INI
[data]
path = $work/data.h5ad
perturbations = Imatinib
preprocess = none
standardize = false
val_fraction = 0.15
[model]
name = $2
width = 32
depth = 2
latent = 8
dropout = $4
[training]
iters = $5
batch_size = 128
lr = $3
eval_every = $6
patience = $7
min_iters = $8
seed = 11
INI
}

status=0
traces=()
train() {  # NAME [mpiexec -n R]: our fit and its trace
  local name=$1; shift
  if "$@" "$tool" "$work/$name.ini" "$work/$name" >"$work/$name.log" 2>&1; then
    traces+=("$work/$name")
  else
    cat "$work/$name.log" >&2; echo "FAIL ae_tool for $name" >&2; status=1
  fi
}

# The paper's settings (App. C.1: width 32, depth 2, latent 8, dropout 0.05, lr 1e-3 / 1e-4).
config scgen scgen 0.001 0.05 48 4 0 0
config cae cae 0.0001 0.05 48 4 0 0
train scgen
train cae
# Data parallel: the scGen fit on two ranks (one reduction per step) against the reference.
config scgen_2ranks scgen 0.001 0.05 48 4 0 0
read -r -a launch <<<"$CELLOT_MPIEXEC $CELLOT_MPIEXEC_FLAGS -n 2"
train scgen_2ranks "${launch[@]}"
# Early stopping: a large lr without dropout levels off quickly; patience 2 after 40 steps.
config cae_stop cae 0.02 0 400 4 2 40
train cae_stop

OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$py" "$ref" "${traces[@]}" || status=1
# The stop must have happened (else the comparison proves nothing about early stopping).
if [[ -f "$work/cae_stop/meta.json" ]]; then
  steps=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['steps'])" "$work/cae_stop/meta.json")
  if (( steps >= 400 )); then echo "FAIL cae_stop did not stop early ($steps steps of 400)"; status=1; fi
fi
exit $status
