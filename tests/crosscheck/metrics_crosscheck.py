"""Cross-checks our metric kernels against independent implementations.

MMD vs scikit-learn rbf_kernel (biased means, six gammas); w2_eps vs POT sinkhorn2 with
method='sinkhorn_log' (value to 1e-5 relative, and the same iteration count: ours = POT's
niter + 1); the debiased Sinkhorn divergence vs the regularised objective of POT's plans;
energy distance vs scipy cdist; the expression-change metrics (pearson_delta[@k], r2_means,
direction_acc@k, e_distance) and marker ranking vs scipy / scikit-learn / numpy; kNN mixing vs a brute-force numpy reference; per-cell Spearman
with ties vs scipy.stats.spearmanr; feature means/stds vs numpy. Fixtures have N != M.
usage: metrics_crosscheck.py METRICS_TOOL WORKDIR
"""
import json
import subprocess
import sys

import numpy as np
import ot
from scipy.spatial.distance import cdist
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import r2_score
from sklearn.metrics.pairwise import rbf_kernel

TOOL, WORK = sys.argv[1], sys.argv[2]
GAMMAS = [2, 1, 0.5, 0.1, 0.01, 0.005]
failures = []


def run(*args):
    out = subprocess.run([TOOL, *map(str, args)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def save(name, array):
    path = f"{WORK}/{name}.npy"
    np.save(path, np.ascontiguousarray(array, dtype=np.float64))
    return path


def check(what, ours, ref, rel):
    err = abs(ours - ref) / max(abs(ref), 1e-300)
    status = "ok" if err <= rel else "FAIL"
    print(f"{status:4s} {what}: ours {ours!r} reference {ref!r} rel {err:.2e} (tol {rel:g})")
    if err > rel:
        failures.append(what)


rng = np.random.default_rng(20261123)
x = rng.standard_normal((300, 5))
y = rng.standard_normal((220, 5)) @ np.diag([1.3, 0.8, 1.0, 1.1, 0.9]) + np.array([0.5, -0.2, 0.0, 0.3, 0.1])
joint = np.vstack([x, y])
mu, sd = joint.mean(0), joint.std(0)
x, y = (x - mu) / sd, (y - mu) / sd
y = y + 0.1 * rng.standard_normal(5)  # feature means of x and y no longer collinear
px, py = save("x", x), save("y", y)

# MMD: mean over gammas of mean Kxx + mean Kyy - 2 mean Kxy (biased, diagonals included).
ref = np.mean([rbf_kernel(x, x, gamma=g).mean() + rbf_kernel(y, y, gamma=g).mean()
               - 2 * rbf_kernel(x, y, gamma=g).mean() for g in GAMMAS])
check("mmd vs sklearn rbf_kernel", run("mmd", px, py)["mmd"], ref, 1e-5)

# w2_eps and other eps: POT sinkhorn2 on the squared Euclidean cost, uniform weights.
a, b = np.ones(len(x)) / len(x), np.ones(len(y)) / len(y)
M = ot.dist(x, y)
for eps in (0.5, 0.1, 10.0):
    w, log = ot.sinkhorn2(a, b, M, eps, method="sinkhorn_log", stopThr=1e-9, numItermax=100000, log=True)
    ours = run("sinkhorn", px, py, eps, 1e-9, 100000)
    check(f"sinkhorn cost eps={eps} vs POT sinkhorn2", ours["cost"], float(w), 1e-5)
    if ours["iterations"] != log["niter"] + 1:
        failures.append(f"iterations eps={eps}")
    print(f"     iterations: ours {ours['iterations']} POT niter+1 {log['niter'] + 1} ({ours['storage']})")

# The metrics engine's Sinkhorn stopping rule (metrics.sinkhorn_tol / sinkhorn_max_iter) through
# compute(): POT sinkhorn2's defaults (stopThr 1e-9, numItermax 1000, its default method) give
# the same value; a small cap stops unconverged at the same iterate as POT's; a raised cap
# converges (error below the tolerance) and matches POT to 1e-5.
w_default = float(ot.sinkhorn2(a, b, M, 0.5))
ours = run("compute", px, py, "w2_eps")
check("w2_eps (defaults) vs POT sinkhorn2 defaults", ours["w2_eps"], w_default, 1e-5)
print(f"     default cap: {ours['sinkhorn']['w2_eps']}")
ours = run("compute", px, py, "w2_eps", 1e-9, 20)
report = ours["sinkhorn"]["w2_eps"]
w = float(ot.sinkhorn2(a, b, M, 0.5, method="sinkhorn_log", stopThr=1e-9, numItermax=20, warn=False))
check("w2_eps at cap 20 vs POT numItermax 20", ours["w2_eps"], w, 1e-5)
if report["converged"] or report["iterations"] != 20 or not report["error"] > 1e-9:
    failures.append(f"cap 20 should be reported unconverged: {report}")
print(f"     cap 20: {report}")
ours = run("compute", px, py, "w2_eps", 1e-9, 100000)
report = ours["sinkhorn"]["w2_eps"]
w, log = ot.sinkhorn2(a, b, M, 0.5, method="sinkhorn_log", stopThr=1e-9, numItermax=100000, log=True)
check("w2_eps at raised cap vs POT", ours["w2_eps"], float(w), 1e-5)
if not report["converged"] or not report["error"] < 1e-9 or report["iterations"] != log["niter"] + 1:
    failures.append(f"raised cap should converge like POT (niter + 1 = {log['niter'] + 1}): {report}")
print(f"     cap 100000: {report}, POT niter + 1 = {log['niter'] + 1}")


def reg_objective(p, q, eps):
    cost = ot.dist(p, q)
    wa, wb = np.ones(len(p)) / len(p), np.ones(len(q)) / len(q)
    # Same stopping rule and cap as ours, so both stop at the same iteration.
    plan = ot.sinkhorn(wa, wb, cost, eps, method="sinkhorn_log", stopThr=1e-9, numItermax=3000, warn=False)
    pos = plan > 0
    kl = np.sum(plan[pos] * np.log(plan[pos] / np.outer(wa, wb)[pos])) - plan.sum() + 1
    return np.sum(plan * cost) + eps * kl


for eps in (0.5, 10.0):
    ref = reg_objective(x, y, eps) - 0.5 * reg_objective(x, x, eps) - 0.5 * reg_objective(y, y, eps)
    check(f"sinkhorn_div eps={eps} vs POT plans", run("div", px, py, eps, 1e-9, 3000)["div"], ref, 1e-5)

# Energy distance (V-statistic).
ref = 2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean()
check("energy vs scipy cdist", run("energy", px, py)["energy"], ref, 1e-10)

# kNN mixing: joint set predicted (x) then observed (y), itself excluded, ties by joint index.
ks = [50, 100]
jn = np.vstack([x, y])
d2 = ((x[:, None, :] - jn[None, :, :]) ** 2).sum(-1)
d2[np.arange(len(x)), np.arange(len(x))] = np.inf
order = np.lexsort((np.broadcast_to(np.arange(len(jn)), d2.shape), d2), axis=1)
ours = run("knn", px, py, ",".join(map(str, ks)))
for k in ks:
    ref = float((order[:, :k] < len(x)).mean())
    check(f"knn_mix@{k} vs numpy brute force", ours[str(k)], ref, 1e-12)

# Spearman per cell with ties (values rounded to one decimal).
ctrl = np.round(rng.standard_normal((40, 12)), 1)
pred = np.round(ctrl * 0.5 + 0.5 * rng.standard_normal((40, 12)), 1)
ours = run("spearman", save("ctrl", ctrl), save("pred", pred))["rho"]
worst = 0.0
for i in range(len(ctrl)):
    worst = max(worst, abs(ours[i] - spearmanr(ctrl[i], pred[i]).correlation))
print(f"{'ok' if worst <= 1e-12 else 'FAIL':4s} spearman per cell vs scipy spearmanr: max abs diff {worst:.1e} "
      f"over {len(ctrl)} cells with ties")
if worst > 1e-12:
    failures.append("spearman")

# Feature moments through compute().
vals = run("compute", px, py, "l2_means,r_means,l2_stds,r_stds")
mx, my = x.mean(0), y.mean(0)
sx, sy = x.std(0, ddof=1), y.std(0, ddof=1)
check("l2_means vs numpy", vals["l2_means"], np.linalg.norm(my - mx), 1e-12)
check("r_means vs numpy", vals["r_means"], np.corrcoef(mx, my)[0, 1], 1e-12)
check("l2_stds vs numpy", vals["l2_stds"], np.linalg.norm(sy - sx), 1e-12)
check("r_stds vs numpy", vals["r_stds"], np.corrcoef(sx, sy)[0, 1], 1e-12)

# Expression-change metrics: markers by |SMD| of the training sets (ddof 1, average variance),
# changes from the control mean; pearson_delta[@k] vs scipy pearsonr, r2_means vs scikit-learn
# r2_score(y_true = observed means), direction_acc@k vs numpy sign, e_distance vs scipy cdist
# 'sqeuclidean' with the within-set diagonals left out (scPerturb's convention).
d_chg = 30
ctrl_c = rng.standard_normal((150, d_chg)) * rng.uniform(0.5, 2.0, d_chg)
effect = rng.standard_normal(d_chg) * np.linspace(2.0, 0.0, d_chg)
train_c = rng.standard_normal((200, d_chg)) * rng.uniform(0.5, 2.0, d_chg)
train_t = rng.standard_normal((180, d_chg)) + effect
obs_c = rng.standard_normal((120, d_chg)) + effect
pred_c = ctrl_c + 0.7 * effect + 0.3 * rng.standard_normal(d_chg)
paths = [save(n, v) for n, v in (("pred_c", pred_c), ("obs_c", obs_c), ("ctrl_c", ctrl_c), ("train_c", train_c),
                                  ("train_t", train_t))]
ours = run("changes", *paths, "5,10,20")
smd = (train_t.mean(0) - train_c.mean(0)) / np.sqrt(0.5 * (train_t.var(0, ddof=1) + train_c.var(0, ddof=1)))
worst = float(np.max(np.abs(np.array(ours["smd"]) - smd)))
markers = np.argsort(-np.abs(smd), kind="stable")
same_markers = ours["markers"] == markers.tolist()
print(f"{'ok' if worst <= 1e-12 and same_markers else 'FAIL':4s} markers: SMD max abs diff {worst:.1e}, "
      f"ranking {'identical' if same_markers else 'DIFFERS'} to numpy argsort")
if worst > 1e-12 or not same_markers:
    failures.append("markers")
c_mean = ctrl_c.mean(0)
dp, do = pred_c.mean(0) - c_mean, obs_c.mean(0) - c_mean
check("pearson_delta vs scipy pearsonr", ours["pearson_delta"], pearsonr(dp, do)[0], 1e-12)
for k in (5, 10, 20):
    top = markers[:k]
    check(f"pearson_delta@{k} vs scipy pearsonr", ours[f"pearson_delta@{k}"], pearsonr(dp[top], do[top])[0], 1e-12)
    check(f"direction_acc@{k} vs numpy sign", ours[f"direction_acc@{k}"],
          float(np.mean(np.sign(dp[top]) == np.sign(do[top]))), 1e-15)
check("r2_means vs sklearn r2_score", ours["r2_means"], r2_score(obs_c.mean(0), pred_c.mean(0)), 1e-12)


def e_distance(p, q):
    within = lambda z: cdist(z, z, "sqeuclidean").sum() / (len(z) * (len(z) - 1))
    return 2 * cdist(p, q, "sqeuclidean").mean() - within(p) - within(q)


check("e_distance vs scipy cdist (scPerturb)", ours["e_distance"], e_distance(pred_c, obs_c), 1e-10)

# The genes: metrics (decoded predictions on the top-k marker genes): the same definitions on the
# k marker columns, markers ranked by numpy above; energy as the V-statistic of scipy cdist.
for k in (5, 10, 20):
    top = markers[:k]
    p, o = pred_c[:, top], obs_c[:, top]
    check(f"genes:pearson_delta@{k} vs scipy pearsonr", ours[f"genes:pearson_delta@{k}"],
          pearsonr(dp[top], do[top])[0], 1e-12)
    check(f"genes:direction_acc@{k} vs numpy sign", ours[f"genes:direction_acc@{k}"],
          float(np.mean(np.sign(dp[top]) == np.sign(do[top]))), 1e-15)
    check(f"genes:r2_means@{k} vs sklearn r2_score", ours[f"genes:r2_means@{k}"],
          r2_score(o.mean(0), p.mean(0)), 1e-12)
    check(f"genes:e_distance@{k} vs scipy cdist", ours[f"genes:e_distance@{k}"], e_distance(p, o), 1e-10)
    check(f"genes:energy@{k} vs scipy cdist", ours[f"genes:energy@{k}"],
          2 * cdist(p, o).mean() - cdist(p, p).mean() - cdist(o, o).mean(), 1e-10)

if failures:
    print("FAILED:", ", ".join(failures))
    sys.exit(1)
print("all metric cross-checks passed")
