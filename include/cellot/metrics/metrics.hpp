#pragma once
// Distributional metrics (DESIGN.md 'Metrics') as Kokkos kernels. This header is torch-free and
// Kokkos-free so that any translation unit can call it; the kernels live in src/metrics/.
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/matrix.hpp"
#include "cellot/metrics/names.hpp"

namespace cellot::metrics {

// How cell sets are spread over the ranks of a communicator:
//  replicated: every rank passes the same, complete sets (the rank group of a screen task, the
//    trainer); the communicator only splits the pair work. Row counts are checked to agree.
//  sliced: every rank passes its slice; a set is the concatenation of the slices in rank order
//    (a rank may hold none). The slices are gathered (O((N + M) d)) before the pair work.
// With MPI_COMM_SELF both are an ordinary serial evaluation.
enum class Layout { replicated, sliced };

struct Options {
  std::vector<std::string> names;  // expanded names, see expand_names()
  std::vector<double> mmd_gammas{2, 1, 0.5, 0.1, 0.01, 0.005};
  double epsilon = 0.5;                                   // w2_eps
  std::vector<double> sinkhorn_epsilons{0.5, 1, 10, 100};  // sinkhorn_div@eps
  std::vector<int> knn_k{50, 100};
  std::vector<int> top_k{20, 50, 100};  // marker counts of pearson_delta@k / direction_acc@k
  // Sinkhorn stopping rule (metrics.sinkhorn_tol / metrics.sinkhorn_max_iter; the defaults are
  // POT sinkhorn2's stopThr and numItermax, so values equal POT's with its defaults). A solve
  // that reaches the cap first is reported (Value::converged = false) and logged as a warning.
  double sinkhorn_tol = 1e-9;   // L2 column-marginal error at which Sinkhorn stops (POT stopThr)
  int sinkhorn_max_iter = 1000; // iteration cap (POT numItermax); Value::iterations reports use
  // Cost / kernel cache budget per solve (0: kSinkhornCacheBytes = 256 MiB, see sinkhorn()).
  std::int64_t sinkhorn_cache_bytes = 0;
  // Log a warning for each Sinkhorn metric that stopped at the cap. A screen turns this off and
  // prints one summary line over all its tasks instead of a line per task.
  bool warn_unconverged = true;
  // Resampling as the reference CellOT evaluation: each resample draws, without replacement,
  // the same number of cells from both sets: max_cells, or the smaller set's size when 0 (capped
  // by each set's size; control and truth rows follow their predictions). bootstrap = n: n
  // resamples, Value = mean, sd = sample sd (ddof 1). bootstrap = 0: one evaluation on all
  // cells, or on one subsample when max_cells is below a set's size. Deterministic in seed.
  // knn_mix always compares sets of equal size, see compute().
  std::int64_t max_cells = 0;
  int bootstrap = 0;
  std::uint64_t seed = 0;       // subsampling / bootstrap stream
  MPI_Comm comm = MPI_COMM_SELF;  // ranks that share the pair blocks
  Layout layout = Layout::replicated;  // how Input's matrices are spread over comm
  // Called on this rank before each metric (rank-local, no collectives): a screen's scheduler
  // heartbeat, so that a long metrics phase does not look like a dead rank.
  std::function<void()> tick;
};

// Options from the [metrics] section (names "all" expanded; every key of MetricsConfig, the
// Sinkhorn tolerance and cap included).
Options options_from_config(const MetricsConfig& cfg, MPI_Comm comm, std::uint64_t seed);

struct Input {
  const Matrix* predicted = nullptr;  // predictions for `control` (row i pairs with control row i)
  const Matrix* observed = nullptr;   // observed perturbed cells
  const Matrix* control = nullptr;    // the control cells that were mapped (l2_ds, spearman_pair)
  const Matrix* truth = nullptr;      // optional: T*(control) for uvp (synthetic data)
  // Expression-change metrics (pearson_delta, direction_acc) measure changes from this control
  // mean (one value per feature); nullptr: the mean of `control` (when given). The screen passes
  // the test controls' mean for the observed baseline too, whose rows pair with no control.
  const std::vector<double>* control_mean = nullptr;
  // Features ranked as markers of the perturbation (rank_markers in markers.hpp: every feature,
  // by decreasing |SMD| on the training cells); nullptr: the @k change metrics are unavailable.
  const std::vector<std::int64_t>* markers = nullptr;
  // false when predicted rows are not maps of the control rows beside them (the observed
  // baseline: real perturbed cells): spearman_pair and uvp are then unavailable; control still
  // serves l2_ds.
  bool paired = true;
};

struct Value {
  std::string name;
  double value = 0;      // mean over bootstrap resamples (or the single evaluation)
  double sd = 0;         // sd over resamples (0 without bootstrap)
  int iterations = 0;    // Sinkhorn iterations used (0 for other metrics); max over the solves
                         // of the metric (sinkhorn_div: 3) and over resamples
  bool converged = true; // Sinkhorn metrics: every solve met sinkhorn_tol within sinkhorn_max_iter
  double marginal_error = 0;  // Sinkhorn metrics: largest final L2 column-marginal error of its
                              // solves (below sinkhorn_tol when converged; 0 for other metrics)
  bool available = true; // false when the metric cannot be computed (e.g. uvp without truth)
};

// Computes every metric of opts.names (in that order). Collective over opts.comm. Metrics that
// need an absent input (spearman_pair without control, uvp without truth, both when
// !input.paired) are returned with available = false and NaN. A Sinkhorn metric that hits
// sinkhorn_max_iter unconverged is logged (log::warn, rank 0 of comm) and returned with
// converged = false. Definitions (predicted P, observed O, control C, truth T):
//   l2_ds = ||(mean O - mean C) - (mean P - mean C)||_2 (mean P vs O when no control is given)
//   r_means / l2_means: Pearson r / l2 between the feature means of P and O
//   r_stds / l2_stds: the same for the feature standard deviations (ddof 1, as pandas)
//   knn_mix@k: for each cell of P, the fraction of P among its k nearest neighbours in P + O
//     (itself excluded; squared Euclidean; ties by index, P first); mean over P. The raw
//     fraction is 0.5 for well-mixed sets only when |P| = |O| ((|P| - 1) / (|P| + |O| - 1) in
//     general), so it is always computed on sets of equal size n = min(max_cells if > 0, |P|,
//     |O|) as the reference CellOT evaluation does: the larger set (of the evaluation or
//     resample) is subsampled without replacement, deterministically in seed.
//     k is capped at 2n - 1. knn_mix_per_cell() below uses the sets as given.
//   spearman_pair: mean over cells of the Spearman correlation across features between a control
//     cell and its prediction (average ranks for ties; constant cells are skipped)
//   uvp: 100 * mean ||P_i - T_i||^2 / (sum over features of Var T, ddof 0)
//   pearson_delta[@k], r2_means, direction_acc@k, e_distance: src/metrics/detail/change.hpp
//     (changes are measured from the control mean of the whole evaluation, also when resampling)
std::vector<Value> compute(const Input& input, const Options& opts);

// Per-cell values for figures: Spearman correlation of each control row with its prediction
// (NaN for a constant row), and each predicted cell's kNN-mixing fraction (replicated inputs).
std::vector<double> spearman_per_cell(const Matrix& control, const Matrix& predicted);
std::vector<double> knn_mix_per_cell(const Matrix& predicted, const Matrix& observed, int k, MPI_Comm comm);


// Individual metrics (collective over comm; float64). Pair work is split over the ranks by
// global row blocks and reduced in a fixed order, so every rank of a run gets the same value.
// MMD and energy are bit-identical for any number of ranks (per-row partial sums combined in
// global row order). Sinkhorn is not in general: with a cached cost/kernel matrix its column
// log-sum-exps add per-rank partial sums (in rank order), so the grouping of the additions, and
// with it the last bits, depends on the number of ranks (agreement to 1e-12 relative is tested);
// streaming Sinkhorn computes each LSE on its owning rank and is bit-identical.
//
// MMD: mean over gammas of mean K_XX + mean K_YY - 2 mean K_XY, K = exp(-gamma ||x - y||^2),
// biased (V-statistic, diagonals included), as the reference CellOT evaluation.
double mmd_rbf(const Matrix& x, const Matrix& y, const std::vector<double>& gammas, MPI_Comm comm,
               Layout layout = Layout::replicated);
// Energy distance 2 E||x - y|| - E||x - x'|| - E||y - y'||, V-statistic (all pairs, the zero
// diagonal included in the within-set means).
double energy_distance(const Matrix& x, const Matrix& y, MPI_Comm comm, Layout layout = Layout::replicated);

// Entropic OT between the uniform measures on x and y with cost C_ij = ||x_i - y_j||^2, solved
// in the log domain (POT's sinkhorn_log iteration, so values and iteration counts agree with
// ot.sinkhorn2(a, b, ot.dist(x, y), reg=epsilon, method='sinkhorn_log', stopThr=tol)).
// Stopping: the L2 norm of the column-marginal violation of the plan, checked after iterations
// 1, 11, 21, ... (POT's rule; POT's log['niter'] is `iterations - 1`). Memory O((N + M) d):
// cost tiles are recomputed each pass, unless this rank's rows x all columns (8 N M / ranks
// bytes) fit in `cache_bytes` (default kSinkhornCacheBytes = 256 MiB, i.e. N = M <= 5792 on one
// rank; 0 forces streaming), in which case they are computed once and cached. The cache is a
// deliberate, bounded exception to DESIGN.md's "no N x M matrix for large N, M": small problems
// (where it halves the work per iteration) get it, large ones stream, memory never exceeds the
// budget.
inline constexpr std::int64_t kSinkhornCacheBytes = std::int64_t{256} << 20;

struct SinkhornResult {
  double cost = 0;           // <P*, C> (what POT sinkhorn2 returns)
  double objective = 0;      // <P*, C> + eps KL(P* | a b^T), the regularised OT value OT_eps
  int iterations = 0;        // full (v, u) updates performed
  bool converged = false;    // marginal_error < tol was reached within max_iter
  double marginal_error = 0; // L2 column-marginal violation of the returned plan (at the last check)
  std::vector<double> f, g;  // dual potentials, P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps); global
                             // (all cells, identical on every rank), usable as f0/g0 warm starts
  std::string storage;       // "kernel-cache" (exp(-C/eps) cached: no exp per entry and pass, used
                             // when max C / eps <= 650), "cost-cache" or "streaming"

  int exact_passes = 0;      // half steps redone with a max pass after a shifted sum left range
};
// Warm start: f0 (one value per cell of x, global) replaces the zero initial u; g0 (per cell of
// y) provides the shifts of the first v step. max_iter = 0 with both evaluates their plan.
SinkhornResult sinkhorn(const Matrix& x, const Matrix& y, double epsilon, double tol, int max_iter, MPI_Comm comm,
                        const std::vector<double>* f0 = nullptr, const std::vector<double>* g0 = nullptr,
                        std::int64_t cache_bytes = kSinkhornCacheBytes, Layout layout = Layout::replicated);

// Debiased Sinkhorn divergence OT_eps(x, y) - OT_eps(x, x) / 2 - OT_eps(y, y) / 2 with the
// regularised objective OT_eps = <P*, C> + eps KL(P* | a b^T) (Feydy et al. 2019; >= 0, 0 iff
// the sets agree).
double sinkhorn_divergence(const Matrix& x, const Matrix& y, double epsilon, double tol, int max_iter, MPI_Comm comm,
                           Layout layout = Layout::replicated);

}  // namespace cellot::metrics
