#!/usr/bin/env bash
# Start-up of whole cellot processes (issue 11's targets: `cellot --help` <= 50 ms; `cellot
# evaluate` of MMD only, N = M = 2,000 cells, d = 48, <= 0.2 s), with the process started as a
# user starts it (default threads, no mpiexec). Each command runs REPS times after one warm-up
# run; the table shows the median and the fastest wall time. For context, the same MMD computed
# in-process by scikit-learn (rbf_kernel, the same gammas), the time a Python user waits once
# their interpreter is up.
#
# usage: bench/startup.sh [BUILD_DIR] [REPS]     (defaults: build 20)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
build="$(cd "${1:-$bench_root/build}" && pwd)"
reps="${2:-20}"
bin="$build/bin/cellot"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
[[ -x "$bin" ]] || { echo "startup.sh: $bin not built" >&2; exit 2; }
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "startup.sh: REPS '$reps' must be a positive integer" >&2; exit 2; }
work="$(mktemp -d /tmp/cellot-bench-startup.XXXXXX)"
trap 'rm -rf "$work"' EXIT

table="$("$py" - "$bin" "$work" "$reps" <<'PY'
import os, statistics, subprocess, sys, time
import anndata as ad, numpy as np, pandas as pd

bin_, work, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)
n, d = 2000, 48
var = pd.DataFrame(index=[f"f{j}" for j in range(d)])
X = np.vstack([rng.normal(size=(n, d)), rng.normal(0.3, 1.0, size=(n, d))]).astype(np.float32)
obs = pd.DataFrame({"condition": pd.Categorical(["control"] * n + ["drugA"] * n)},
                   index=[f"cell{i}" for i in range(2 * n)])
data = os.path.join(work, "data.h5ad")
ad.AnnData(X=X, obs=obs, var=var).write_h5ad(data)
P = rng.normal(0.25, 1.0, size=(n, d)).astype(np.float32)
pred = os.path.join(work, "pred.h5ad")
ad.AnnData(X=P, obs=pd.DataFrame(index=[f"pred{i}" for i in range(n)]), var=var).write_h5ad(pred)

def timed(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm-up
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.append(time.perf_counter() - t0)
    return statistics.median(t), min(t)

evaluate = [bin_, "evaluate", "--data", data, "--predictions", pred, "--perturbation", "drugA",
            "--split", "all", "--metrics.names", "mmd", "--quiet"]
rows = [
    ("`cellot --help`", timed([bin_, "--help"]), "<= 0.050 s"),
    ("`cellot evaluate --help`", timed([bin_, "evaluate", "--help"]), ""),
    ("`cellot describe --no-scan` (4,000 cells)", timed([bin_, "describe", "--data", data, "--no-scan", "--quiet"]), ""),
    ("`cellot evaluate --metrics.names mmd` (N = M = 2,000, d = 48)", timed(evaluate), "<= 0.2 s"),
]
out = subprocess.run(evaluate[:-1] + ["--json"], check=True, capture_output=True, text=True).stdout

# scikit-learn in-process, the same estimator: mean over the RBF gammas of the biased MMD^2
# (metrics.mmd_gammas defaults 2, 1, 0.5, 0.1, 0.01, 0.005).
from sklearn.metrics.pairwise import rbf_kernel
A, B = P.astype(np.float64), X[n:].astype(np.float64)
def mmd():
    v = []
    for g in (2, 1, 0.5, 0.1, 0.01, 0.005):
        v.append(rbf_kernel(A, A, gamma=g).mean() + rbf_kernel(B, B, gamma=g).mean() - 2 * rbf_kernel(A, B, gamma=g).mean())
    return float(np.mean(v))
t = []
for _ in range(reps):
    t0 = time.perf_counter(); ours = mmd(); t.append(time.perf_counter() - t0)
import json
theirs = json.loads(out)["metrics"]["mmd"]["value"] if isinstance(json.loads(out)["metrics"], dict) else None
rows.append(("scikit-learn in-process, same MMD (interpreter already running)", (statistics.median(t), min(t)), ""))

print("| command (whole process) | median wall | fastest | target |")
print("|---|---|---|---|")
for name, (med, lo), target in rows:
    print(f"| {name} | {med:.3f} s | {lo:.3f} s | {target} |")
print()
print(f"{reps} runs each after one warm-up; MMD cellot {theirs} vs scikit-learn {ours:.10g}.")
PY
)"
bench_table "$table"
