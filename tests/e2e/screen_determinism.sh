#!/usr/bin/env bash
# One screen (every model) on the matrix world {1, 2, 3, 4} x ranks_per_task {1, 2} x threads
# {1, 2} (where the world allows): bit-identical plan, states, checksums, metrics, curves, params
# and predictions, whichever group ran a task and however many ranks shared it (every task's
# randomness derives from (seed, key); ranks and threads only split fixed micro-batches whose
# gradients are summed in one fixed tree). No thread count is pinned by the environment.
source "$(dirname "$0")/screen_lib.sh"
work="$(mktemp -d /tmp/cellot-screen-det.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" synth --preset screen --perturbations 3 --features 8 --cells-scale 0.1 --seed 5 --out data.h5ad 2>/dev/null
cfg="$src/configs/screen-tiny.ini"
args=(screen --config "$cfg" --data.path data.h5ad --screen.models cellot,scgen,cae,mean_shift,observed,identity --quiet)

"$bin" "${args[@]}" --store r1.h5 --training.threads 1 || fail "1 rank"
"$bin" inspect --store r1.h5 | contains "state: done 36, failed 0" || fail "1 rank: not every task done"
# world:ranks_per_task:threads (d: the default, the node's cores shared by its ranks)
for shape in 1:1:2 1:1:d 2:1:1 2:1:2 2:1:d 3:1:1 4:1:1 4:1:2 2:2:1 2:2:2 4:2:1 4:2:2; do
  IFS=: read -r world rpt threads <<<"$shape"
  store="w${world}_g${rpt}_t${threads}.h5"
  run=("${args[@]}" --store "$store" --ranks-per-task "$rpt")
  [ "$threads" = d ] || run+=(--training.threads "$threads")
  if [ "$world" -eq 1 ]; then
    "$bin" "${run[@]}" || fail "$shape"
  else
    mpirun_n "$world" "${run[@]}" || fail "$shape"
  fi
  compare_stores r1.h5 "$store" || fail "world $world x ranks_per_task $rpt x $threads threads differs from 1 x 1 x 1"
done
# Scheduling settings change which group runs what, never the numbers.
mpirun_n 3 "${args[@]}" --store sched.h5 --prefetch 0 --screen.poll_ms 1 || fail "prefetch 0, poll 1 ms"
compare_stores r1.h5 sched.h5 || fail "prefetch 0 / poll 1 ms differs from 1 x 1 x 1"
# The groups really did share the work.
"$py" - w4_g1_t1.h5 w4_g2_t1.h5 <<'PY' || fail "groups"
import sys, h5py
for path, want in zip(sys.argv[1:], (4, 2)):
    g = h5py.File(path, "r")["status/group"][()]
    assert len(set(g.tolist())) >= 2 and max(g.tolist()) < want, (path, sorted(set(g.tolist())))
PY
echo "screen_determinism: ok"
