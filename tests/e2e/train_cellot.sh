#!/usr/bin/env bash
# cellot train + cellot predict end to end on the synthetic 4i data (Imatinib): progress lines,
# the model directory, bit-identical --resume after --stop-after, data-parallel training under
# mpiexec, predictions that anndata opens with rows paired to the input, a baseline through the
# same commands, the usage errors (exit 2, one line naming the option and value), divergence
# (exit 1), --model over a config file's model.name, and the torch thread count per rank.
set -euo pipefail
bin="${CELLOT_BIN:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-train-e2e.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# mpiexec with the flags this machine needs: the array `mpi`.
source "${CELLOT_SOURCE_DIR:?}/tests/support/mpi_launcher.sh"
cd "$work"

"$bin" synth --preset 4i --seed 3 --cells-scale 0.1 --out data.h5ad >/dev/null 2>&1
common=(--data data.h5ad --perturbation Imatinib --training.iters 40 --training.eval_every 10
        --training.checkpoint_every 20 --training.batch_size 64)

# 1. Training with progress on stderr (rate and ETA), and the model directory.
"$bin" train "${common[@]}" --model cellot --out m_full 2>train.log || { cat train.log; fail "train exited $?"; }
grep -q "cellot Imatinib .*/s .*ETA.* | step .* g .* f .* val_energy" train.log || { cat train.log; fail "no progress line"; }
grep -q "train: wrote m_full" train.log || fail "no summary line"
for f in model.h5 config.ini curves.csv checkpoint.h5; do [ -s "m_full/$f" ] || fail "m_full/$f missing"; done
[ "$(head -1 m_full/curves.csv)" = "step,g_loss,f_loss,w2,val_energy" ] || fail "curves header: $(head -1 m_full/curves.csv)"
[ "$(wc -l <m_full/curves.csv)" -eq 5 ] || fail "curves.csv should have 4 rows"
grep -q "^iters = 40$" m_full/config.ini || fail "config.ini is not the resolved config"

# 2. --quiet silences progress lines.
"$bin" train "${common[@]}" --model cellot --out m_quiet --quiet 2>quiet.log
[ ! -s quiet.log ] || { cat quiet.log; fail "--quiet printed"; }

# 3. Stop after the checkpoint, resume: bit-identical to the uninterrupted run.
"$bin" train "${common[@]}" --model cellot --out m_resume --stop-after 20 --quiet
[ -f m_resume/checkpoint.h5 ] && [ ! -f m_resume/model.h5 ] || fail "--stop-after should leave only a checkpoint"
"$bin" train "${common[@]}" --model cellot --out m_resume --resume --quiet
cmp m_full/curves.csv m_resume/curves.csv || fail "curves differ after resume"

# 4. Data-parallel over 2 ranks: reproducible run to run.
"${mpi[@]}" -n 2 "$bin" train "${common[@]}" --model cellot --out m_np2a --quiet
"${mpi[@]}" -n 2 "$bin" train "${common[@]}" --model cellot --out m_np2b --quiet

"$py" - <<'PY' || fail "model directories"
import h5py, numpy as np
def params(d):
    with h5py.File(d + "/model.h5") as f:
        names = list(f["params"].attrs["names"])
        return names, {n: f["params"][n][()] for n in names}, dict(f.attrs)
names, full, attrs = params("m_full")
assert names[:2] == ["f.W.0.weight", "f.W.1.weight"], names
assert full["g.A.0.weight"].shape == (64, 48)
assert attrs["model"] == "cellot" and attrs["perturbation"] == "Imatinib" and attrs["steps"] == 40, attrs
_, resumed, _ = params("m_resume")
assert all(np.array_equal(full[n], resumed[n]) for n in names), "resume is not bit-identical"
_, a, _ = params("m_np2a")
_, b, _ = params("m_np2b")
assert all(np.array_equal(a[n], b[n]) for n in names), "2-rank runs differ"
assert max(np.abs(a[n] - full[n]).max() for n in names) < 1e-3, "2 ranks far from 1 rank"
PY

# 5. Predictions: test-split controls (default), every cell with a dose, a baseline.
"$bin" predict --model m_full --data data.h5ad --out pred.h5ad --quiet
"$bin" predict --model m_full --out pred_all.h5ad --all-cells --t 0 --quiet
"$bin" predict --model m_full --out pred_half.h5ad --all-cells --t 0.5 --quiet
"$bin" train "${common[@]}" --model identity --out m_id --quiet
"$bin" predict --model m_id --out pred_id.h5ad --quiet
"$py" - <<'PY' || fail "predictions"
import anndata, numpy as np
data = anndata.read_h5ad("data.h5ad")
p = anndata.read_h5ad("pred.h5ad")
n_control = int((data.obs["condition"] == "control").sum())
assert p.n_obs == round(0.2 * n_control), (p.n_obs, n_control)
assert (p.obs["condition"] == "control").all()
assert set(p.obs_names) <= set(data.obs_names) and list(p.obs.columns) == list(data.obs.columns)
assert list(p.var_names) == list(data.var_names)
assert p.uns["cellot_perturbation"] == "Imatinib" and p.uns["cellot_model"] == "cellot"
assert p.uns["cellot_t"] == 1.0 and p.uns["cellot_cells"].startswith("test-split")
assert np.isfinite(p.X).all() and not np.allclose(p.X, data[p.obs_names].X)
a0 = anndata.read_h5ad("pred_all.h5ad")
assert list(a0.obs_names) == list(data.obs_names) and np.array_equal(a0.X, data.X)  # t = 0: identity
half = anndata.read_h5ad("pred_half.h5ad")[p.obs_names].X
assert np.allclose(half, 0.5 * (data[p.obs_names].X + p.X), atol=1e-5)
pid = anndata.read_h5ad("pred_id.h5ad")
assert list(pid.obs_names) == list(p.obs_names) and np.array_equal(pid.X, data[p.obs_names].X)
PY

# 6. Usage errors: exit 2 and one line naming the option and the value.
expect_2() {
  local what="$1" pattern="$2"
  shift 2
  set +e
  "$@" >err.out 2>&1
  local rc=$?
  set -e
  [ $rc -eq 2 ] || { cat err.out; fail "$what: exit $rc, expected 2"; }
  grep -q -- "$pattern" err.out || { cat err.out; fail "$what: message lacks '$pattern'"; }
}
expect_2 "unknown perturbation" "Nope" "$bin" train --data data.h5ad --perturbation Nope --model cellot --out x --quiet
expect_2 "unknown model" "nope" "$bin" train --data data.h5ad --perturbation Imatinib --model nope --out x --quiet
expect_2 "missing --out" "\-\-out" "$bin" train --data data.h5ad --perturbation Imatinib --quiet
expect_2 "bad dose" "\-\-t" "$bin" predict --model m_full --out x.h5ad --t 1.5
expect_2 "not a model dir" "model.h5" "$bin" predict --model "$work" --out x.h5ad
expect_2 "predict into a missing directory" "command line: --out = '$work/no/such/dir/p.h5ad': output directory" \
  "$bin" predict --model m_full --out "$work/no/such/dir/p.h5ad"
expect_2 "predict: a model key on the command line" "command line: --model.hidden = '8,8': not used by predict" \
  "$bin" predict --model m_full --out x.h5ad --model.hidden 8,8
expect_2 "predict: data.condition_key reaches the data" "data.condition_key = 'nosuch'" \
  "$bin" predict --model m_full --out x.h5ad --data.condition_key nosuch
mkdir -p other
"$bin" train "${common[@]}" --training.seed 9 --model cellot --out other --stop-after 5 --quiet
expect_2 "foreign checkpoint" "checkpoint" "$bin" train "${common[@]}" --model cellot --out other --resume --quiet

# 6b. predict takes its data keys from --config (other keys of the file are the model's and are
#     ignored): data.path names the file mapped, the cells and the result are those of --data.
cp data.h5ad data_copy.h5ad
printf '[data]\npath = data_copy.h5ad\ncontrol = control\n[model]\nhidden = 8\n[training]\nthreads = 1\niters = 3\n' >pred.ini
"$bin" predict --model m_full --config pred.ini --out pred_cfg.h5ad --quiet || fail "predict --config exited $?"
"$py" - <<'PY' || fail "predict --config"
import anndata
a, b = anndata.read_h5ad("pred.h5ad"), anndata.read_h5ad("pred_cfg.h5ad")
assert b.uns["cellot_data"] == "data_copy.h5ad", b.uns["cellot_data"]
assert list(a.obs_names) == list(b.obs_names) and a.X.tobytes() == b.X.tobytes()
PY

# 7. Divergence: a huge learning rate makes the losses non-finite; the run fails (exit 1, a
#    runtime failure, not bad input) with one line saying so, and leaves no model behind.
set +e
"$bin" train "${common[@]}" --model cellot --training.lr 1e3 --out m_div --quiet >div.log 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || { cat div.log; fail "divergence: exit $rc, expected 1"; }
grep -q "^cellot: error: training diverged at outer iteration [0-9]* .*loss = \(-\?inf\|nan\)" div.log \
  || { cat div.log; fail "divergence message"; }
[ "$(grep -c '^cellot: error:' div.log)" -eq 1 ] || { cat div.log; fail "divergence: not one error line"; }
[ ! -e m_div/model.h5 ] || fail "a diverged run wrote m_div/model.h5"

# 8. --model on the command line wins over model.name of the config file (here the paper's
#    cellot setting); --model and --model.name both on the command line must agree.
"$bin" train --config "$CELLOT_SOURCE_DIR/configs/cellot-4i.ini" --data data.h5ad --perturbation Imatinib \
  --model identity --out m_cfg_id --quiet 2>cfg_id.log || { cat cfg_id.log; fail "--model over the file: exit $?"; }
grep -q "^name = identity$" m_cfg_id/config.ini || fail "m_cfg_id is not identity: $(grep '^name' m_cfg_id/config.ini)"
grep -q "^hidden = 64,64,64,64$" m_cfg_id/config.ini || fail "the file's other keys were lost"
expect_2 "--model vs --model.name" "command line: --model = 'identity': conflicts with --model.name scgen" \
  "$bin" train --data data.h5ad --perturbation Imatinib --model identity --model.name scgen --out x --quiet

# 9. Torch threads per rank, as in effect (at::get_num_threads) on the train line "x N thread(s)"
#    and with its source in the debug line: training.threads beats SLURM_CPUS_PER_TASK beats
#    OMP_NUM_THREADS; without any, the node's cores are shared by the ranks on it.
threads_of() {  # threads_of LOG -> N of "x N thread(s)"
  sed -n 's/.* rank(s) x \([0-9]*\) thread(s).*/\1/p' "$1"
}
id_train=(train --data data.h5ad --perturbation Imatinib --model identity --verbose)
SLURM_CPUS_PER_TASK=2 "$bin" "${id_train[@]}" --training.threads 3 --out m_t1 2>t1.log
[ "$(threads_of t1.log)" = 3 ] || { cat t1.log; fail "training.threads 3"; }
grep -q "threads: 3 per rank (training.threads); torch uses 3" t1.log || { cat t1.log; fail "threads source 1"; }
SLURM_CPUS_PER_TASK=2 "$bin" "${id_train[@]}" --out m_t2 2>t2.log
[ "$(threads_of t2.log)" = 2 ] || { cat t2.log; fail "SLURM_CPUS_PER_TASK 2"; }
grep -q "threads: 2 per rank (SLURM_CPUS_PER_TASK); torch uses 2" t2.log || { cat t2.log; fail "threads source 2"; }
cores=$(getconf _NPROCESSORS_ONLN)
per_rank=$(( cores / 2 > 0 ? cores / 2 : 1 ))
env -u OMP_NUM_THREADS -u SLURM_CPUS_PER_TASK "${mpi[@]}" -n 2 "$bin" "${id_train[@]}" --out m_t3 2>t3.log
[ "$(threads_of t3.log)" = "$per_rank" ] || { cat t3.log; fail "default under mpiexec -n 2: want $per_rank"; }
[ "$(grep -c "threads: $per_rank per rank ($cores cores / 2 rank(s) on this node); torch uses $per_rank" t3.log)" -eq 2 ] \
  || { cat t3.log; fail "threads source under mpiexec (one line per rank)"; }
echo "train_cellot e2e: ok"
