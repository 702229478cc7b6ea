#pragma once
// Distributional metrics (DESIGN.md 'Metrics') as Kokkos kernels. This header is torch-free and
// Kokkos-free so that any translation unit can call it; the kernels live in src/metrics/.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/matrix.hpp"

namespace cellot::metrics {

struct Options {
  std::vector<std::string> names;  // expanded names, see expand_names()
  std::vector<double> mmd_gammas{2, 1, 0.5, 0.1, 0.01, 0.005};
  double epsilon = 0.5;                                   // w2_eps
  std::vector<double> sinkhorn_epsilons{0.5, 1, 10, 100};  // sinkhorn_div@eps
  std::vector<int> knn_k{50, 100};
  double sinkhorn_tol = 1e-9;   // marginal error (L1) at which Sinkhorn stops
  int sinkhorn_max_iter = 10000;
  std::int64_t max_cells = 0;   // subsample each set to at most this many cells (0: all)
  int bootstrap = 0;            // resamples (0: one evaluation on all cells)
  std::uint64_t seed = 0;       // subsampling / bootstrap stream
  MPI_Comm comm = MPI_COMM_SELF;  // ranks that share the pair blocks
};

// Options from the [metrics] section (names "all" expanded).
Options options_from_config(const MetricsConfig& cfg, MPI_Comm comm, std::uint64_t seed);

// "all" -> mmd, w2_eps, sinkhorn_div@0.5, ..., l2_ds, r_means, l2_means, r_stds, l2_stds, energy,
// knn_mix@50, knn_mix@100, spearman_pair, uvp. Unknown names are InputErrors.
std::vector<std::string> expand_names(const std::string& names, const std::vector<double>& sinkhorn_epsilons,
                                      const std::vector<int>& knn_k);

struct Input {
  const Matrix* predicted = nullptr;  // predictions for `control` (row i pairs with control row i)
  const Matrix* observed = nullptr;   // observed perturbed cells
  const Matrix* control = nullptr;    // the control cells that were mapped (l2_ds, spearman_pair)
  const Matrix* truth = nullptr;      // optional: T*(control) for uvp (synthetic data)
};

struct Value {
  std::string name;
  double value = 0;      // mean over bootstrap resamples (or the single evaluation)
  double sd = 0;         // sd over resamples (0 without bootstrap)
  int iterations = 0;    // Sinkhorn iterations used (0 for other metrics)
  bool available = true; // false when the metric cannot be computed (e.g. uvp without truth)
};

// Computes every metric of opts.names. Collective over opts.comm.
std::vector<Value> compute(const Input& input, const Options& opts);

// Individual metrics (collective over comm; float64). Distributed convention: each rank passes
// its slice of each cell set; the set is the concatenation of the slices in rank order (a rank
// may hold none). With MPI_COMM_SELF a call is an ordinary serial evaluation. Pair work is
// split over the ranks and reduced in a fixed order: every rank gets the same value, and MMD
// and energy are bit-identical for any number of ranks.
//
// MMD: mean over gammas of mean K_XX + mean K_YY - 2 mean K_XY, K = exp(-gamma ||x - y||^2),
// biased (V-statistic, diagonals included), as the reference CellOT evaluation.
double mmd_rbf(const Matrix& x, const Matrix& y, const std::vector<double>& gammas, MPI_Comm comm);
// Energy distance 2 E||x - y|| - E||x - x'|| - E||y - y'||, V-statistic (all pairs, the zero
// diagonal included in the within-set means), as scipy/dcor's biased estimator.
double energy_distance(const Matrix& x, const Matrix& y, MPI_Comm comm);

struct SinkhornResult {
  double cost = 0;         // <P*, C>
  double objective = 0;    // <P*, C> + eps KL(P* | a b^T) (the regularised OT value)
  int iterations = 0;
  double marginal_error = 0;
  std::vector<double> f, g;  // dual potentials (for warm starts)
};
SinkhornResult sinkhorn(const Matrix& x, const Matrix& y, double epsilon, double tol, int max_iter, MPI_Comm comm,
                        const std::vector<double>* f0 = nullptr, const std::vector<double>* g0 = nullptr);
double sinkhorn_divergence(const Matrix& x, const Matrix& y, double epsilon, double tol, int max_iter, MPI_Comm comm);

}  // namespace cellot::metrics
