#!/usr/bin/env bash
# Job-array shards: three --shard i/3 runs (one of them on 2 ranks) merged by cellot merge equal
# the one-job store; a missing shard is reported (exit 1, or 0 with --allow-incomplete); the
# same shard twice and shards of another plan are refused (exit 2).
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-merge.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 5 --features 8 --cells-scale 0.1 --seed 9 --out data.h5ad 2>/dev/null
cfg="$src/configs/screen-tiny.ini"
args=(screen --config "$cfg" --data.path data.h5ad --quiet)

mpirun_n 2 "${args[@]}" --store one.h5 || fail "one-job run"
"$bin" "${args[@]}" --store shard-0.h5 --shard 0/3 || fail "shard 0"
mpirun_n 2 "${args[@]}" --store shard-1.h5 --shard 1/3 || fail "shard 1"
"$bin" "${args[@]}" --store shard-2.h5 --shard 2/3 || fail "shard 2"

# Shards own disjoint, cost-balanced shares that cover the plan.
"$py" - shard-0.h5 shard-1.h5 shard-2.h5 <<'PY' || fail "ownership"
import sys, h5py, numpy as np
owned = [h5py.File(p, "r")["plan/owned"][()].astype(int) for p in sys.argv[1:]]
assert (sum(owned) == 1).all(), sum(owned)
cost = h5py.File(sys.argv[1], "r")["plan/cost"][()]
loads = [float((o * cost).sum()) for o in owned]
assert max(loads) - min(loads) <= cost.max() + 1e-9, loads
for p, o in zip(sys.argv[1:], owned):
    f = h5py.File(p, "r")
    assert f["plan"].attrs["shard"] != ""
    st = f["status/state"][()]
    assert (st[o == 1] == 2).all() and (st[o == 0] == 0).all()
PY
"$bin" inspect --store shard-1.h5 | contains "^shard: 1/3 (owns" || fail "inspect shard line"

"$bin" merge --out merged.h5 shard-0.h5 shard-1.h5 shard-2.h5 2>merge.txt || { cat merge.txt; fail "merge"; }
grep -q "40 done, 0 failed/diverged, 0 missing of 40 tasks" merge.txt || { cat merge.txt; fail "merge summary"; }
compare_stores one.h5 merged.h5 || fail "merged shards differ from the one-job store"
"$bin" inspect --store merged.h5 | contains "merged from: shard-2.h5 (shard 2/3" || fail "merged_from provenance"
"$bin" report --store merged.h5 --compare one.h5 | contains "| mmd | 40 | 0 | 0 |" || fail "report --compare"

set +e
"$bin" merge --out part.h5 shard-0.h5 shard-2.h5 2>part.txt; rc=$?
set -e
[ $rc -eq 1 ] || { cat part.txt; fail "incomplete merge exit $rc"; }
grep -q "tasks are not finished in any shard" part.txt || fail "incomplete message"
n_missing=$(grep -c "^  drug_" part.txt)
n_shard1=$("$py" -c "import h5py; print(int(h5py.File('shard-1.h5','r')['plan/owned'][()].sum()))")
[ "$n_missing" -eq "$n_shard1" ] || fail "missing list: $n_missing vs $n_shard1"
"$bin" merge --out part2.h5 shard-0.h5 shard-2.h5 --allow-incomplete 2>/dev/null || fail "--allow-incomplete"

cp shard-0.h5 copy-0.h5
set +e
"$bin" merge --out dup.h5 shard-0.h5 copy-0.h5 shard-1.h5 2>dup.txt; rc=$?
set -e
[ $rc -eq 2 ] || fail "duplicate shard exit $rc"
grep -q "copy-0.h5: shard = '0/3': shard given twice" dup.txt || { cat dup.txt; fail "duplicate message"; }
"$bin" "${args[@]}" --store other.h5 --shard 1/3 --screen.seeds 4 || fail "other plan"
set +e
"$bin" merge --out bad.h5 shard-0.h5 other.h5 2>bad.txt; rc=$?
set -e
[ $rc -eq 2 ] || fail "other plan exit $rc"
grep -q "other.h5: plan_hash = " bad.txt || { cat bad.txt; fail "plan mismatch message"; }
echo "screen_merge: ok"
