#!/usr/bin/env bash
# cellot predict --store S --task KEY: a screen task's model rebuilt from the store (its
# /params row and the store's config) remakes the screen's prediction bit for bit (the rows of
# /predictions, same cells in the same order), for CellOT and scGen; --all-cells and --t act as
# with a model directory; an unknown key, a task that is not done, and a wrong combination of
# options are refused with exit 2 and one line naming the option and the value.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-predict-store.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"

"$bin" synth --preset screen --perturbations 3 --features 8 --cells-scale 0.1 --out data.h5ad 2>/dev/null
cfg="$src/configs/screen-tiny.ini"
screen=(screen --config "$cfg" --data.path data.h5ad --screen.models cellot,scgen,identity --screen.seeds 0,1
        --data.perturbations drug_000,drug_002 --screen.save_predictions true --quiet)
mpirun_n 2 "${screen[@]}" --store s.h5 2>screen.log || { cat screen.log; fail "screen exited $?"; }

# 1. Remake one cellot and one scgen task (and identity, no parameters), by key.
for key in "drug_002|cellot|fold0|seed1" "drug_000|scgen|fold0|seed0" "drug_002|identity|fold0|seed0"; do
  name="${key//|/_}"
  "$bin" predict --store s.h5 --task "$key" --data data.h5ad --out "$name.h5ad" --quiet 2>p.log \
    || { cat p.log; fail "predict --task $key exited $?"; }
done
# The data path through the config key instead of --data, and every cell at dose 0.
"$bin" predict --store s.h5 --task "drug_002|cellot|fold0|seed1" --data.path data.h5ad --out via_key.h5ad --quiet
"$bin" predict --store s.h5 --task "drug_002|cellot|fold0|seed1" --data data.h5ad --all-cells --t 0 --out all_t0.h5ad --quiet

"$py" - <<'PY' || fail "remade predictions differ from the store's"
import h5py, numpy as np, anndata
f = h5py.File("s.h5", "r")
keys = [k.decode() for k in f["plan/key"][()]]
data = anndata.read_h5ad("data.h5ad")
for key in ["drug_002|cellot|fold0|seed1", "drug_000|scgen|fold0|seed0", "drug_002|identity|fold0|seed0"]:
    t = keys.index(key)
    o, n = f["predictions/offset"][t], f["predictions/count"][t]
    assert n > 0, key
    stored = f["predictions/values"][o : o + n]
    cells = f["predictions/cell"][o : o + n]
    p = anndata.read_h5ad(key.replace("|", "_") + ".h5ad")
    assert p.X.dtype == stored.dtype == np.float32, (p.X.dtype, stored.dtype)
    assert p.X.shape == stored.shape, (key, p.X.shape, stored.shape)
    # Bit for bit, not approximately.
    assert p.X.tobytes() == stored.tobytes(), (key, np.abs(p.X - stored).max())
    assert list(p.obs_names) == list(data.obs_names[cells]), key
    assert p.uns["cellot_task"] == key and p.uns["cellot_model"] == key.split("|")[1], dict(p.uns)
    if key.split("|")[1] != "identity":
        assert not np.array_equal(p.X, data[p.obs_names].X), key + ": no map applied"
v = anndata.read_h5ad("via_key.h5ad")
assert v.X.tobytes() == anndata.read_h5ad("drug_002_cellot_fold0_seed1.h5ad").X.tobytes()
a = anndata.read_h5ad("all_t0.h5ad")
assert list(a.obs_names) == list(data.obs_names) and np.array_equal(a.X, data.X)
PY

# 2. Refusals: exit 2, one error line naming the option and the value.
expect_2() {
  local what="$1" pattern="$2"
  shift 2
  local rc=0
  "$@" >err.out 2>&1 || rc=$?
  [ $rc -eq 2 ] || { cat err.out; fail "$what: exit $rc, expected 2"; }
  [ "$(grep -c '^cellot: error:' err.out)" -eq 1 ] || { cat err.out; fail "$what: not one error line"; }
  grep -q -- "$pattern" err.out || { cat err.out; fail "$what: message lacks '$pattern'"; }
}
expect_2 "unknown task" "command line: --task = 'drug_009|cellot|fold0|seed0': no such task in s.h5" \
  "$bin" predict --store s.h5 --task "drug_009|cellot|fold0|seed0" --data data.h5ad --out x.h5ad
expect_2 "store without task" "--task = '': is required with --store" \
  "$bin" predict --store s.h5 --data data.h5ad --out x.h5ad
expect_2 "store and model dir" "--store = 's.h5': give --model DIR or --store" \
  "$bin" predict --store s.h5 --task "drug_000|scgen|fold0|seed0" --model "$work" --out x.h5ad
expect_2 "not a store" "data.h5ad: format" \
  "$bin" predict --store data.h5ad --task "drug_000|scgen|fold0|seed0" --out x.h5ad
"$bin" synth --preset screen --perturbations 3 --features 6 --cells-scale 0.1 --out other.h5ad 2>/dev/null
expect_2 "features differ" "other.h5ad: var_names = '6 features': feature count differs from s.h5 (8 features)" \
  "$bin" predict --store s.h5 --task "drug_000|scgen|fold0|seed0" --data other.h5ad --out x.h5ad
# A task that has not run: a second screen stopped after its first task.
set +e
"$bin" "${screen[@]}" --store partial.h5 --stop-after 1 >partial.log 2>&1
set -e
pending_key=$("$py" - <<'PY'
import h5py
f = h5py.File("partial.h5", "r")
keys = [k.decode() for k in f["plan/key"][()]]
print(next(k for k, s in zip(keys, f["status/state"][()]) if s == 0))
PY
)
expect_2 "task not done" "partial.h5: --task = '$pending_key': the task is pending, not done" \
  "$bin" predict --store partial.h5 --task "$pending_key" --data data.h5ad --out x.h5ad
[ ! -e x.h5ad ] || fail "a refused predict wrote x.h5ad"
echo "predict_store e2e: ok"
