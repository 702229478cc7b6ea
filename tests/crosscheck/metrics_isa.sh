#!/usr/bin/env bash
# The metric kernels give the same bits whichever of their function clones the CPU selects
# (issue 12): the hot tile routines are compiled three times (x86-64-v4 / AVX-512, x86-64-v3 /
# AVX2+FMA, and the baseline x86-64) and chosen at load time from the CPU. This runs metrics_tool
# on one fixture natively and under qemu-user emulating CPUs that select the other clones
# (Nehalem: baseline; Haswell: AVX2+FMA), and requires byte-identical output: MMD, energy,
# Sinkhorn in its three storage modes (kernel cache, cost cache, streaming: a zero cache
# budget), the divergence and the kNN mixing. Runs from the build directory; needs qemu-user (scripts/setup installs it).
set -euo pipefail
tool="$PWD/tests/metrics_tool"
[[ -x "$tool" ]] || { echo "metrics_isa: metrics_tool not built: $tool" >&2; exit 1; }
name=metrics_isa
# shellcheck source=tests/support/qemu_isa.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/qemu_isa.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Unscaled, unequal sets with near-duplicates: every kernel branch (direct and expanded
# distances, the fast exp over a wide range) is exercised.
"${CELLOT_PYTHON:-/usr/bin/python3}" - "$work" <<'PY'
import sys
import numpy as np
rng = np.random.default_rng(12)
x = rng.normal(0.0, 1.0, (150, 7)) * np.linspace(0.5, 3.0, 7)
y = rng.normal(0.4, 1.3, (131, 7)) * np.linspace(0.5, 3.0, 7)
y[:5] = x[:5] + 1e-9
np.save(sys.argv[1] + "/x.npy", x)
np.save(sys.argv[1] + "/y.npy", y)
PY
runs=(
  "mmd"
  "energy"
  "sinkhorn 5 1e-9 2000"
  "sinkhorn 0.5 1e-9 2000"
  "sinkhorn 0.05 1e-9 300 0"
  "div 1.0 1e-9 2000"
  "knn 5,15"
)
run_all() {  # run_all PREFIX... : every run's output, one line each
  local r
  for r in "${runs[@]}"; do
    read -ra a <<<"$r"
    OMP_NUM_THREADS=2 "$@" "$tool" "${a[0]}" "$work/x.npy" "$work/y.npy" "${a[@]:1}"
  done
}
run_all >"$work/native.txt"
cat "$work/native.txt"
for mode in kernel-cache cost-cache streaming; do
  grep -q "\"storage\": \"$mode\"" "$work/native.txt" || { echo "metrics_isa: no Sinkhorn run used $mode" >&2; exit 1; }
done
status=0
for cpu in Nehalem Haswell; do
  run_all "$qemu" -cpu "$cpu" >"$work/$cpu.txt"
  if cmp -s "$work/native.txt" "$work/$cpu.txt"; then
    echo "qemu -cpu $cpu: identical"
  else
    echo "qemu -cpu $cpu: DIFFERS from the native run:" >&2
    diff "$work/native.txt" "$work/$cpu.txt" >&2 || true
    status=1
  fi
done
exit "$status"
