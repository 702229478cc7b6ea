// MMD (RBF kernels, several bandwidths) and energy distance as streaming tile kernels.
#include "detail/pairwise.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "cellot/core/error.hpp"
#include "cellot/metrics/metrics.hpp"
#include "detail/distributed.hpp"
#include "detail/blocks.hpp"
#include "detail/kernels.hpp"

namespace cellot::metrics::detail {

namespace {

// One chunk of up to kMaxOut bandwidths, ascending. exp(-g d) for the smallest is computed
// once per pair; every later one whose bandwidth is an integer multiple `step` of the previous
// is that value raised to `step` by repeated squaring (a few multiplications instead of an
// exp: the default {0.005, 0.01, 0.1, 0.5, 1, 2} needs one exp and ten multiplications). The
// relative error grows to ~ratio * 1e-16 (4e-14 for the default set).
struct RbfOp {
  DeviceCells a, b;
  bool symmetric = false;
  OutView out;
  int n = 0;
  double gamma[kMaxOut] = {};
  int step[kMaxOut] = {};  // 0: direct exp
};

KOKKOS_FORCEINLINE_FUNCTION double flush(double v) { return v < 1e-150 ? 0.0 : v; }  // keeps products normal

KOKKOS_FUNCTION CELLOT_METRICS_CLONES void rbf_micro(const RbfOp& op, std::int64_t r0, std::int64_t c0) {
  double dist[kRows][kTile];
  sqdist_micro<false>(op.a, r0, op.b, c0, dist);
  const int n_gamma = op.n;
  const std::int64_t n_cols = op.b.n;
  for (int u = 0; u < kRows; ++u) {
    const std::int64_t i = r0 + u;
    if (i >= op.a.n) break;
    // Interior tiles (the common case) need no mask: every column is a real cell, and for the
    // symmetric sums every column index exceeds the row's.
    const std::int64_t lower = op.symmetric ? i : -1;
    const bool full = c0 + kTile <= n_cols && c0 > lower;
    double mask[kTile], e[kTile], w[kTile];
    if (!full)
      for (int l = 0; l < kTile; ++l) mask[l] = (c0 + l < n_cols && c0 + l > lower) ? 1.0 : 0.0;
    for (int g = 0; g < n_gamma; ++g) {
      const int s = op.step[g];
      if (s == 0) {
        const double ng = -op.gamma[g];
        for (int l = 0; l < kTile; ++l) e[l] = fast_exp(ng * dist[u][l]);
      } else if (s > 1) {
        double base[kTile], res[kTile];
        for (int l = 0; l < kTile; ++l) {
          base[l] = flush(e[l]);
          res[l] = 1.0;
        }
        for (int t = s;;) {
          if (t & 1)
            for (int l = 0; l < kTile; ++l) res[l] = flush(res[l]) * base[l];
          t >>= 1;
          if (t == 0) break;
          for (int l = 0; l < kTile; ++l) base[l] = flush(base[l] * base[l]);
        }
        for (int l = 0; l < kTile; ++l) e[l] = res[l];
      }
      if (full) {
        op.out(i, g) += tile_sum(e);
      } else {
        for (int l = 0; l < kTile; ++l) w[l] = e[l] * mask[l];
        op.out(i, g) += tile_sum(w);
      }
    }
  }
}

struct DistOp {
  DeviceCells a, b;
  bool symmetric = false;
  OutView out;
};

KOKKOS_FUNCTION CELLOT_METRICS_CLONES void dist_micro(const DistOp& op, std::int64_t r0, std::int64_t c0) {
  double dist[kRows][kTile];
  sqdist_micro<true>(op.a, r0, op.b, c0, dist);
  for (int u = 0; u < kRows; ++u) {
    const std::int64_t i = r0 + u;
    if (i >= op.a.n) break;
    double w[kTile];
    for (int l = 0; l < kTile; ++l) {
      const std::int64_t j = c0 + l;
      const bool valid = j < op.b.n && (!op.symmetric || j > i);
      w[l] = valid ? Kokkos::Experimental::sqrt(dist[u][l]) : 0.0;
    }
    op.out(i, 0) += tile_sum(w);
  }
}

// Functors rather than lambdas: they are called inside device kernels.
struct RbfMicro {
  KOKKOS_INLINE_FUNCTION void operator()(const RbfOp& o, int, std::int64_t r0, std::int64_t c) const {
    rbf_micro(o, r0, c);
  }
};
struct DistMicro {
  KOKKOS_INLINE_FUNCTION void operator()(const DistOp& o, int, std::int64_t r0, std::int64_t c) const {
    dist_micro(o, r0, c);
  }
};

void check_sets(const Matrix& a, const Matrix& b, const char* what) {
  if (a.rows == 0 || b.rows == 0)
    throw InputError("metrics", what, std::to_string(a.rows) + " x " + std::to_string(b.rows),
                     "needs at least one cell in each set");
  if (a.cols != b.cols)
    throw InputError("metrics", what, std::to_string(a.cols) + " vs " + std::to_string(b.cols),
                     "cell sets have different feature counts");
}

}  // namespace

std::vector<double> rbf_means(const Matrix& a, const Matrix& b, bool same, const std::vector<double>& gammas,
                              MPI_Comm comm) {
  check_sets(a, b, "mmd");
  for (const double g : gammas)
    if (!(g > 0) || !std::isfinite(g))
      throw InputError("metrics", "mmd_gammas", std::to_string(g), "bandwidths must be positive");
  std::vector<std::size_t> order(gammas.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t p, std::size_t q) { return gammas[p] < gammas[q]; });

  const DeviceCells da = upload(a);
  const DeviceCells db = same ? da : upload(b);
  const std::int64_t n_blocks = da.tiles();
  const auto blocks = my_blocks(n_blocks, comm);
  std::vector<double> result(gammas.size(), 0.0);
  for (std::size_t c0 = 0; c0 < order.size(); c0 += kMaxOut) {
    RbfOp op;
    op.a = da;
    op.b = db;
    op.symmetric = same;
    op.n = static_cast<int>(std::min<std::size_t>(kMaxOut, order.size() - c0));
    for (int g = 0; g < op.n; ++g) {
      op.gamma[g] = gammas[order[c0 + g]];
      op.step[g] = 0;
      if (g > 0) {
        const double ratio = op.gamma[g] / op.gamma[g - 1];
        const double rounded = std::round(ratio);
        if (rounded >= 1 && rounded <= 1024 && std::abs(ratio - rounded) <= 1e-12 * ratio)
          op.step[g] = static_cast<int>(rounded);
      }
    }
    op.out = OutView("cellot::metrics::rbf_rows", da.padded, kMaxOut);
    run_blocks(op, blocks, same, RbfMicro{});
    const auto totals = block_totals(op.out, da.n, op.n, blocks, n_blocks, comm);
    const double pairs = static_cast<double>(a.rows) * static_cast<double>(b.rows);
    for (int g = 0; g < op.n; ++g) {
      // Symmetric: twice the strict upper triangle plus the diagonal (k(x, x) = 1).
      const double s = same ? 2.0 * totals[g] + static_cast<double>(a.rows) : totals[g];
      result[order[c0 + g]] = s / pairs;
    }
  }
  return result;
}

double mean_distance(const Matrix& a, const Matrix& b, bool same, MPI_Comm comm) {
  check_sets(a, b, "energy");
  DistOp op;
  op.a = upload(a);
  op.b = same ? op.a : upload(b);
  op.symmetric = same;
  op.out = OutView("cellot::metrics::dist_rows", op.a.padded, 1);
  const std::int64_t n_blocks = op.a.tiles();
  const auto blocks = my_blocks(n_blocks, comm);
  run_blocks(op, blocks, same, DistMicro{});
  const double total = block_totals(op.out, op.a.n, 1, blocks, n_blocks, comm)[0];
  return (same ? 2.0 * total : total) / (static_cast<double>(a.rows) * static_cast<double>(b.rows));
}

double mmd_replicated(const Matrix& x, const Matrix& y, const std::vector<double>& gammas, MPI_Comm comm) {
  if (gammas.empty()) throw InputError("metrics", "mmd_gammas", "", "needs at least one bandwidth");
  const auto kxx = rbf_means(x, x, true, gammas, comm);
  const auto kyy = rbf_means(y, y, true, gammas, comm);
  const auto kxy = rbf_means(x, y, false, gammas, comm);
  double sum = 0;
  for (std::size_t g = 0; g < gammas.size(); ++g) sum += kxx[g] + kyy[g] - 2.0 * kxy[g];
  return sum / static_cast<double>(gammas.size());
}

double energy_replicated(const Matrix& x, const Matrix& y, MPI_Comm comm) {
  return 2.0 * mean_distance(x, y, false, comm) - mean_distance(x, x, true, comm) - mean_distance(y, y, true, comm);
}

}  // namespace cellot::metrics::detail

namespace cellot::metrics {

double mmd_rbf(const Matrix& x, const Matrix& y, const std::vector<double>& gammas, MPI_Comm comm, Layout layout) {
  return detail::mmd_replicated(detail::arrange(x, comm, layout, "mmd"), detail::arrange(y, comm, layout, "mmd"), gammas,
                                comm);
}

double energy_distance(const Matrix& x, const Matrix& y, MPI_Comm comm, Layout layout) {
  return detail::energy_replicated(detail::arrange(x, comm, layout, "energy"), detail::arrange(y, comm, layout, "energy"),
                                   comm);
}

}  // namespace cellot::metrics
