#!/usr/bin/env bash
# CellOT is the best model against the known truth on the scrna preset (issue 14 item 4): a
# 30,000-cell x 1,000-gene file (seed 1, 20 perturbations, 20% controls), its two strongest
# perturbations, configs/scrna-small.ini (pca:50, standardised, 2,000 CellOT iterations at lr
# 5e-4), CellOT, identity and mean shift on 2 ranks. On the test split CellOT has a lower energy,
# MMD and uvp (against E[X | T(z)]) than mean shift, and beats identity by a margin (energy at
# most half, uvp at most 0.6). Measured before: docs/BENCHMARKS.md 'scrna preset: CellOT against
# the expected treated state'. Several minutes of training: labelled slow
# (scrna_cellot_quick_e2e is the reduced variant).
source "$(dirname "$0")/scrna_cellot_lib.sh"
work="$(mktemp -d /tmp/cellot-scrna-cellot.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
scrna_cellot_run 30000 1000 20 2 cellot,identity,mean_shift 1
echo "scrna_cellot: ok"
