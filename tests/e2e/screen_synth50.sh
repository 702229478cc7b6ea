#!/usr/bin/env bash
# The >= 50-perturbation synthetic screen (configs/screen-synth50.ini: 60 perturbations x
# cellot, scgen, identity, mean_shift, observed at tiny iteration counts = 300 tasks) on 4 real
# ranks: every task done, the report prints a row per perturbation x model.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-synth50.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 60 --features 8 --cells-scale 0.1 --out screen-synth50.h5ad 2>/dev/null
mpirun_n 4 screen --config "$src/configs/screen-synth50.ini" 2>log.txt || { tail -20 log.txt; fail "screen"; }
tail -4 log.txt
"$bin" inspect --store screen-synth50.h5 --state failed >inspect.txt
grep -q "state: done 300, failed 0, diverged 0, running 0 (stale unless a job is writing the store), pending 0" inspect.txt \
  || { cat inspect.txt; fail "not every task done"; }
grep -q "world_size: 4" inspect.txt || fail "world size"
"$bin" report --store screen-synth50.h5 >report.md
rows=$(grep -c "^| drug_0[0-9][0-9] | " report.md)
[ "$rows" -eq 300 ] || fail "report has $rows rows"
grep -q "^| (all) | cellot | 60 |" report.md || fail "mean over perturbations row"
echo "screen_synth50: ok"
