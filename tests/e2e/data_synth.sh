#!/usr/bin/env bash
# cellot synth and describe through the CLI: the 4i preset's counts, the screen preset's 200
# perturbations, bit-identical files for the same seed, --help, and describe's table and splits.
set -euo pipefail
bin="${CELLOT_BIN:?}"
work="$(mktemp -d /tmp/cellot-data-synth.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" synth --help | grep -- '--cells-scale' >/dev/null || fail "synth --help"
"$bin" describe --help | grep -- '--perturbation' >/dev/null || fail "describe --help"

"$bin" synth --preset 4i --out "$work/a.h5ad" 2>/dev/null
"$bin" synth --preset 4i --out "$work/b.h5ad" 2>/dev/null
cmp -s "$work/a.h5ad" "$work/b.h5ad" || fail "same seed, different files"
"$bin" synth --preset 4i --seed 1 --out "$work/c.h5ad" 2>/dev/null
! cmp -s "$work/a.h5ad" "$work/c.h5ad" || fail "different seeds, same file"
[ ! -e "$work/a.h5ad.tmp" ] || fail "temporary file left behind"

"$bin" describe --data "$work/a.h5ad" --perturbation Trametinib >"$work/d.txt"
cat "$work/d.txt"
for row in "control *11526 *control" "Erlotinib *2364 *perturbation" "Imatinib *2650 *perturbation" \
           "^Trametinib *2683 *perturbation" "Trametinib\\+Erlotinib *2417 *perturbation"; do
  grep -Eq "$row" "$work/d.txt" || fail "describe lacks row /$row/"
done
grep -q "cells         21640" "$work/d.txt" || fail "cell count"
grep -q "layer         X (X, dense float32)" "$work/d.txt" || fail "X encoding"
grep -q "4 perturbations, 4 selected" "$work/d.txt" || fail "perturbation summary"
# 70/10/20 of 11526 control and 2683 Trametinib cells.
grep -q "control 8068 / 1153 / 2305, treated 1878 / 268 / 537" "$work/d.txt" || fail "split sizes"
grep -q "valid: 14209 cells read" "$work/d.txt" || fail "validation scan"

"$bin" synth --preset screen --out "$work/s.h5ad" 2>/dev/null
"$bin" describe --data "$work/s.h5ad" --no-scan >"$work/s.txt"
grep -q "200 perturbations, 200 selected" "$work/s.txt" || fail "screen preset: $(tail -3 "$work/s.txt")"
"$bin" synth --preset screen --perturbations 7 --features 16 --cells-scale 0.1 --out "$work/t.h5ad" 2>/dev/null
"$bin" describe --data "$work/t.h5ad" --data.perturbations drug_003,drug_001 >"$work/t.txt"
grep -q "features      16 (feature_000" "$work/t.txt" || fail "screen --features"
grep -q "7 perturbations, 2 selected" "$work/t.txt" || fail "perturbation list"
grep -q "drug_002 .*perturbation (not selected)" "$work/t.txt" || fail "unselected perturbation marked"
grep -q "control  *400  *control" "$work/t.txt" || fail "scaled control count"
echo "data_synth: all checks passed"
