#!/usr/bin/env bash
# A store written before cellot used XXH3 (no root attribute `checksum`, FNV-1a-64 row checksums,
# the earlier data fingerprint; made from a new store by legacy_store.py, which re-implements the
# old hashes) opens, verifies its rows, says which hash it uses in inspect, resumes with its own
# hashes (no mixing) and ends equal to an uninterrupted run.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-legacy.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 4 --features 8 --cells-scale 0.1 --seed 3 --out data.h5ad 2>/dev/null
cfg="$src/configs/screen-tiny.ini"
args=(screen --config "$cfg" --data.path data.h5ad)

"$bin" "${args[@]}" --store ref.h5 --quiet || fail "reference run"
"$bin" inspect --store ref.h5 | contains "^checksum: xxh3-64" || fail "a new store does not say xxh3-64"

set +e
"$bin" "${args[@]}" --store old.h5 --stop-after 5 --quiet 2>stop.txt; rc=$?
set -e
[ $rc -eq 1 ] || { cat stop.txt; fail "--stop-after exit $rc"; }
"$py" "$src/tests/e2e/legacy_store.py" old.h5 data.h5ad condition >fp.txt || fail "legacy fixture"
"$bin" inspect --store old.h5 >old1.txt || fail "the old store does not open"
grep -q "^checksum: fnv1a-64" old1.txt || { cat old1.txt; fail "inspect does not name the old hash"; }
done1=$(sed -n 's/^state: done \([0-9]*\),.*/\1/p' old1.txt)
[ "$done1" -ge 5 ] || { cat old1.txt; fail "old store: $done1 done tasks"; }
grep -q "corrupt" old1.txt && { cat old1.txt; fail "old rows fail their FNV-1a checksums"; }

"$bin" "${args[@]}" --store old.h5 --resume 2>resume.txt || { cat resume.txt; fail "resume of the old store"; }
grep -q "($done1 already done)" resume.txt || { cat resume.txt; fail "the old store's done rows were not trusted"; }
"$bin" inspect --store old.h5 >old2.txt
grep -q "^checksum: fnv1a-64" old2.txt || fail "the resumed old store changed its hash"
grep -q "state: done 32, failed 0" old2.txt || { cat old2.txt; fail "resumed old store not complete"; }
grep -q "corrupt" old2.txt && fail "rows of the resumed old store fail their checksums"
"$py" - old.h5 "$(cat fp.txt)" <<'PY' || fail "the resumed old store is not old-format throughout"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert "checksum" not in f.attrs, "root attribute checksum appeared"
    text = f["plan"].attrs["plan_text"]
    text = text.decode() if isinstance(text, bytes) else text
    assert "[data] fingerprint " + sys.argv[2] in text, "fingerprint changed"
PY
# The uninterrupted run made old-format the same way: equal plan hash, checksums and rows.
cp ref.h5 ref_old.h5
"$py" "$src/tests/e2e/legacy_store.py" ref_old.h5 data.h5ad condition >/dev/null || fail "legacy fixture (ref)"
compare_stores ref_old.h5 old.h5 || fail "old store resumed differs from the uninterrupted run"

# An old and a new store of the same data are not parts of one plan: merge refuses, naming the hashes.
set +e
"$bin" merge --out m.h5 old.h5 ref.h5 2>merge.txt; rc=$?
set -e
[ $rc -eq 2 ] || { cat merge.txt; fail "merge of an old and a new store: exit $rc"; }
grep -q "different hashes" merge.txt || { cat merge.txt; fail "merge refusal does not name the hashes"; }

# A model directory written before XXH3 (no data_fingerprint_hash, the old fingerprint) still
# recognises its training data in cellot predict; with the attribute removed but an XXH3
# fingerprint kept it would not (the recorded hash decides which one is computed).
"$bin" train --data data.h5ad --perturbation drug_000 --model identity --out model -q 2>/dev/null || fail "train"
"$bin" predict --model model --data data.h5ad --out new.h5ad 2>new.txt || { cat new.txt; fail "predict (new model)"; }
grep -q "data.h5ad is the training data" new.txt || { cat new.txt; fail "new model: training data not recognised"; }
cp -r model model_noattr
"$py" -c 'import h5py,sys; f = h5py.File(sys.argv[1], "r+"); del f.attrs["data_fingerprint_hash"]' \
  model_noattr/model.h5 || fail "fixture"
"$bin" predict --model model_noattr --data data.h5ad --out noattr.h5ad 2>noattr.txt || fail "predict (no attribute)"
grep -q "data.h5ad is not the training data" noattr.txt || { cat noattr.txt; fail "the recorded hash is not used"; }
"$py" - model/model.h5 data.h5ad "$src/tests/e2e" <<'PY' || fail "legacy model fixture"
import sys, h5py
sys.path.insert(0, sys.argv[3])
from legacy_store import old_fingerprint
with h5py.File(sys.argv[1], "r+") as f:
    assert f.attrs["data_fingerprint_hash"] in ("xxh3-64", b"xxh3-64")
    del f.attrs["data_fingerprint_hash"]
    f.attrs.modify("data_fingerprint", old_fingerprint(sys.argv[2], "condition"))
PY
"$bin" predict --model model --data data.h5ad --out old.h5ad 2>old.txt || { cat old.txt; fail "predict (old model)"; }
grep -q "data.h5ad is the training data" old.txt || { cat old.txt; fail "old model: training data not recognised"; }
cmp -s <("$py" -c 'import h5py,sys; print(h5py.File(sys.argv[1])["X"][()].tobytes().hex())' new.h5ad) \
       <("$py" -c 'import h5py,sys; print(h5py.File(sys.argv[1])["X"][()].tobytes().hex())' old.h5ad) ||
  fail "old and new model directories map different cells"
echo "PASS screen_legacy_hash"
