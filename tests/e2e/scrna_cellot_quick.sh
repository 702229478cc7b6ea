#!/usr/bin/env bash
# The reduced variant of scrna_cellot_e2e: 8,000 cells x 300 genes (seed 1, 10 perturbations),
# the strongest one, pca:20 and 300 CellOT iterations (about 20 s of CPU). CellOT beats identity
# by a margin (energy at most half, lower MMD, uvp at most 0.6 of identity's against E[X | T(z)]);
# mean shift is screened and printed, not asserted (300 iterations are too few to claim more).
source "$(dirname "$0")/scrna_cellot_lib.sh"
work="$(mktemp -d /tmp/cellot-scrna-cellot-quick.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
scrna_cellot_run 8000 300 10 1 cellot,identity,mean_shift 0 --data.embedding pca:20 --training.iters 300 \
  --training.eval_every 100
echo "scrna_cellot_quick: ok"
