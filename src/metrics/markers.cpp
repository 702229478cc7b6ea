// Marker features by |standardised mean difference| (per-feature moments are Kokkos kernels).
#include "cellot/metrics/markers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "cellot/core/error.hpp"
#include "detail/distributed.hpp"
#include "detail/moments.hpp"

namespace cellot::metrics {

std::vector<double> standardised_mean_difference(const Matrix& control, const Matrix& treated, MPI_Comm comm,
                                                 Layout layout) {
  const Matrix c = detail::arrange(control, comm, layout, "markers: control");
  const Matrix t = detail::arrange(treated, comm, layout, "markers: treated");
  if (c.rows == 0 || t.rows == 0)
    throw InputError("metrics", "markers", std::to_string(c.rows) + " control, " + std::to_string(t.rows) + " treated",
                     "markers need training cells of both conditions");
  if (c.cols != t.cols)
    throw InputError("metrics", "markers", std::to_string(c.cols) + " vs " + std::to_string(t.cols),
                     "control and treated cells have different features");
  const auto mc = detail::feature_moments(c), mt = detail::feature_moments(t);
  std::vector<double> smd(mc.mean.size());
  for (std::size_t k = 0; k < smd.size(); ++k) {
    const double diff = mt.mean[k] - mc.mean[k];
    const double pooled = std::sqrt(0.5 * (mt.sd[k] * mt.sd[k] + mc.sd[k] * mc.sd[k]));
    if (pooled > 0) smd[k] = diff / pooled;
    else smd[k] = diff == 0 ? 0.0 : std::copysign(std::numeric_limits<double>::infinity(), diff);
  }
  return smd;
}

std::vector<std::int64_t> rank_markers(const Matrix& control, const Matrix& treated, MPI_Comm comm, Layout layout) {
  const auto smd = standardised_mean_difference(control, treated, comm, layout);
  std::vector<std::int64_t> order(smd.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
    return std::fabs(smd[static_cast<std::size_t>(a)]) > std::fabs(smd[static_cast<std::size_t>(b)]);
  });
  return order;
}

std::vector<double> feature_means(const Matrix& cells) { return detail::feature_moments(cells).mean; }

std::vector<double> mean_change(const Matrix& cells, const std::vector<double>& reference) {
  auto m = feature_means(cells);
  if (m.size() != reference.size())
    throw InputError("metrics", "mean change", std::to_string(reference.size()) + " reference values",
                     "needs one per feature (" + std::to_string(m.size()) + ")");
  for (std::size_t k = 0; k < m.size(); ++k) m[k] -= reference[k];
  return m;
}

}  // namespace cellot::metrics
