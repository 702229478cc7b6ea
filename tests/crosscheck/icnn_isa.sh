#!/usr/bin/env bash
# A CellOT model and an autoencoder (cAE: condition columns and dropout) train to the same bits
# whichever clone of the row kernels the CPU selects (src/models/cellot/icnn.cpp,
# src/models/autoencoder/autoencoder.cpp: AVX-512, AVX2 and baseline clones chosen at load time).
# Trains one small model of each natively and under qemu-user emulating CPUs that select the other
# clones (Haswell: AVX2; Nehalem: baseline) and requires bit-identical parameters and curves.
# OpenBLAS's kernels follow the CPU too, so every run fixes them with OPENBLAS_CORETYPE=Nehalem
# (SSE kernels every CPU here runs): what remains to differ is our code. Runs from the build
# directory; needs qemu-user (scripts/setup installs it).
set -euo pipefail
bin="$PWD/bin"
[[ -x "$bin/cellot-torch" ]] || { echo "icnn_isa: $bin/cellot-torch not built" >&2; exit 1; }
name=icnn_isa
# shellcheck source=tests/support/qemu_isa.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/qemu_isa.sh"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin/cellot" synth --preset screen --out s.h5ad --features 8 --perturbations 1 --cells-scale 0.2 --seed 3 -q
# Widths of 32 fill AVX-512 registers twice per row; 20 iterations with 10 g steps each run every
# kernel (forward, input gradient, transport and value VJPs) hundreds of times. Batch 48: the
# loss weights 1/48 are inexact, so a fused multiply-add in a clone would change the bits (with a
# power-of-two batch the products are exact and fusing them is invisible).
train() {  # train OUT MODEL [PREFIX...]
  local out=$1 model=$2
  shift 2
  local args=(--training.iters 20 --training.eval_every 10 --model.hidden 32,32,32)
  # The autoencoder: 4 epochs of batch 48 (odd micro-batches of 12 rows), width 32 (two AVX-512
  # registers per row), dropout on every hidden layer.
  [ "$model" = cae ] && args=(--training.epochs 4 --training.eval_every 5 --model.width 32 --model.dropout 0.1)
  OPENBLAS_CORETYPE=Nehalem OMP_NUM_THREADS=1 "$@" "$bin/cellot-torch" train --data s.h5ad -p drug_000 -m "$model" \
    -o "$out" "${args[@]}" --training.batch_size 48 -q 2> >(grep -v "TCG doesn't support" >&2)
}
status=0
for model in cellot cae; do
  train "native-$model" "$model"
  for cpu in Nehalem Haswell; do
    train "$cpu-$model" "$model" "$qemu" -cpu "$cpu"
    if "$py" - "native-$model" "$cpu-$model" <<'PY'; then
import sys
import h5py
import numpy as np
a, b = sys.argv[1:3]
diff = []
with h5py.File(a + "/model.h5", "r") as fa, h5py.File(b + "/model.h5", "r") as fb:
    names = sorted(fa["params"].keys())
    assert names == sorted(fb["params"].keys()), "parameter names differ"
    for n in names:
        x, y = fa["params"][n][()], fb["params"][n][()]
        if x.shape != y.shape or x.tobytes() != y.tobytes():
            diff.append(f"{n}: max |diff| {np.max(np.abs(x.astype(float) - y.astype(float))):.3g}")
curves = [open(d + "/curves.csv").read() for d in (a, b)]
if curves[0] != curves[1]:
    diff.append("curves.csv differs")
print(f"{len(names)} parameter tensors compared")
if diff:
    print("\n".join(diff))
    sys.exit(1)
PY
      echo "$model, qemu -cpu $cpu: identical"
    else
      echo "$model, qemu -cpu $cpu: DIFFERS from the native run" >&2
      status=1
    fi
  done
done
exit "$status"
