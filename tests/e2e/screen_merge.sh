#!/usr/bin/env bash
# Job-array shards: three --shard i/3 runs (one of them on 2 ranks) merged by cellot merge equal
# the one-job store and keep the shards' run history; a missing shard is reported (exit 1, or 0
# with --allow-incomplete, which also skips an unreadable input); the same shard twice, shards of
# another plan and a task done in two inputs are refused (exit 2; --allow-duplicates accepts
# identical rows); a task done in one input and failed in another keeps the done row, listed.
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

# cellot screen --count-tasks: the plan's size with every override, and each shard's share.
[ "$("$bin" "${args[@]}" --count-tasks)" = 40 ] || fail "--count-tasks"
[ "$("$bin" "${args[@]}" --count-tasks --screen.seeds 0 --screen.models cellot,identity)" = 10 ] ||
  fail "--count-tasks ignores overrides"
for i in 0 1 2; do
  want=$("$py" -c "import h5py; print(int(h5py.File('shard-$i.h5','r')['plan/owned'][()].sum()))")
  [ "$("$bin" "${args[@]}" --count-tasks --shard "$i/3")" = "$want" ] || fail "--count-tasks --shard $i/3"
done
# jobs/submit-screen (dry run, no Slurm needed): a relative data.path is frozen absolute and the
# shard count honours --extra.
mkdir -p sub
printf '[data]\npath = data.h5ad\n[screen]\nmodels = cellot,identity\nseeds = 0\n' >sub.ini
dry="$("$src/jobs/submit-screen" --config sub.ini --out sub/run --bin "$bin" --dry-run \
  --extra "--screen.seeds 0,1 --prefetch 0" 2>sub/err)" || { cat sub/err; fail "submit-screen --dry-run"; }
grep -q "^array DRYRUN (20 shards of 20 tasks" <<<"$dry" || fail "submit-screen count: $dry"
grep -q "^path = $work/data.h5ad$" sub/run/screen.ini || fail "frozen data.path: $(grep '^path' sub/run/screen.ini)"
grep -q "^seeds = 0,1$" sub/run/screen.ini || fail "frozen config lacks --extra"
[ "$("$bin" screen --config sub/run/screen.ini --count-tasks)" = 20 ] || fail "frozen config does not plan 20 tasks"
set +e
"$src/jobs/submit-screen" --config sub.ini --out sub/run --bin "$bin" --dry-run 2>sub/err2 >/dev/null; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "exists with another config" sub/err2 || { cat sub/err2; fail "reused run directory"; }

"$bin" merge --out merged.h5 shard-0.h5 shard-1.h5 shard-2.h5 2>merge.txt || { cat merge.txt; fail "merge"; }
grep -q "40 done, 0 failed/diverged, 0 missing of 40 tasks" merge.txt || { cat merge.txt; fail "merge summary"; }
compare_stores one.h5 merged.h5 || fail "merged shards differ from the one-job store"
"$bin" inspect --store merged.h5 >merged.txt
grep -q "merged from: shard-2.h5 (shard 2/3" merged.txt || fail "merged_from provenance"
# The shards' runs are kept (world sizes 1, 2, 1), then the merge's own.
grep -q "^  run: \[shard-1.h5, shard 1/3\] .* | complete: .* | world 2 " merged.txt || { cat merged.txt; fail "shard 1's run"; }
[ "$(grep -c '^  run: \[shard-[012].h5, shard [012]/3\] ' merged.txt)" -eq 3 ] || fail "the shards' runs"
grep -q "^  run: .* | merged, complete | " merged.txt || fail "the merge's run"
grep -q "^  git_hashes: " merged.txt || fail "git_hashes"
"$bin" report --store merged.h5 --compare one.h5 | contains "| mmd | 40 | 0 | 0 |" || fail "report --compare"

set +e
"$bin" merge --out part.h5 shard-0.h5 shard-2.h5 2>part.txt; rc=$?
set -e
[ $rc -eq 1 ] || { cat part.txt; fail "incomplete merge exit $rc"; }
grep -q "tasks are not finished in any shard" part.txt || fail "incomplete message"
n_missing=$(grep -c "^  drug_" part.txt)
n_shard1=$("$py" -c "import h5py; print(int(h5py.File('shard-1.h5','r')['plan/owned'][()].sum()))")
[ "$n_missing" -eq "$n_shard1" ] || fail "missing list: $n_missing vs $n_shard1"
echo "not a store" >broken.h5
"$bin" merge --out part2.h5 shard-0.h5 shard-2.h5 broken.h5 --allow-incomplete 2>part2.txt ||
  { cat part2.txt; fail "--allow-incomplete"; }
grep -q "skipped inputs, not readable stores (1):" part2.txt && grep -q "^  broken.h5$" part2.txt ||
  { cat part2.txt; fail "the unreadable input is not listed"; }
"$bin" report --store part2.h5 | contains "WARNING: $n_shard1 of 40 tasks are not done" || fail "report of an incomplete merge"

# A task done in two inputs: refused (the inputs overlap); with --allow-duplicates identical rows
# are accepted. A task failed in one input and done in another keeps the done row, listed.
set +e
"$bin" merge --out overlap.h5 one.h5 shard-0.h5 2>overlap.txt; rc=$?
set -e
[ $rc -eq 2 ] || { cat overlap.txt; fail "overlapping inputs exit $rc"; }
grep -q "(identical rows): the inputs overlap" overlap.txt || { cat overlap.txt; fail "overlap message"; }
cp shard-0.h5 failed-0.h5
failed_key="$("$py" - failed-0.h5 <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    t = int(np.flatnonzero(f["plan/owned"][()] == 1)[0])
    f["status/state"][t] = 3  # failed: the row and its checksum stay valid
    print(f["plan/key"][t].decode())
PY
)"
"$bin" merge --out overlap.h5 one.h5 failed-0.h5 --allow-duplicates 2>overlap.txt || { cat overlap.txt; fail "--allow-duplicates"; }
n_shard0=$("$py" -c "import h5py; print(int(h5py.File('shard-0.h5','r')['plan/owned'][()].sum()))")
grep -q "($((n_shard0 - 1)) tasks done in several inputs, identical)" overlap.txt || { cat overlap.txt; fail "duplicate count"; }
grep -A1 "done in one input and failed in another (the done row is kept) (1):" overlap.txt | grep -qF "  $failed_key" ||
  { cat overlap.txt; fail "done-over-failed not listed"; }
compare_stores one.h5 overlap.h5 || fail "merge with duplicates differs from the one-job store"

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
