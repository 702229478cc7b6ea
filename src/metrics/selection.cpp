#include "cellot/metrics/selection.hpp"

#include <algorithm>

#include "cellot/core/error.hpp"
#include "cellot/metrics/metrics.hpp"

namespace cellot::metrics {

double median_squared_distance(const Matrix& cells) {
  const std::int64_t n = cells.rows, m = std::min<std::int64_t>(n, 512);
  std::vector<std::int64_t> pick;
  for (std::int64_t i = 0; i < m; ++i) pick.push_back(i * n / m);
  std::vector<double> d2;
  d2.reserve(static_cast<std::size_t>(m * (m - 1) / 2));
  for (std::int64_t a = 0; a < m; ++a)
    for (std::int64_t b = a + 1; b < m; ++b) {
      const double* x = cells.row(pick[static_cast<std::size_t>(a)]);
      const double* y = cells.row(pick[static_cast<std::size_t>(b)]);
      double s = 0;
      for (std::int64_t j = 0; j < cells.cols; ++j) s += (x[j] - y[j]) * (x[j] - y[j]);
      d2.push_back(s);
    }
  if (d2.empty()) return 1.0;
  const auto mid = d2.begin() + static_cast<std::ptrdiff_t>(d2.size() / 2);
  std::nth_element(d2.begin(), mid, d2.end());
  return *mid > 0 ? *mid : 1.0;
}

SelectionMetric selection_metric(const Config& cfg, const Matrix& reference, MPI_Comm comm) {
  const std::string& name = cfg.training.select_metric;
  if (name == "energy")
    return [comm](const Matrix& p, const Matrix& o) { return energy_distance(p, o, comm); };
  std::vector<double> gammas;
  if (name == "mmd") {
    gammas = parse_double_list(cfg.metrics.mmd_gammas, "config", "metrics.mmd_gammas");
  } else if (name == "mmd_median") {
    const double m = median_squared_distance(reference);
    for (double f : {0.25, 0.5, 1.0, 2.0, 4.0}) gammas.push_back(f / m);
  } else {
    throw InputError("config", "training.select_metric", name, "must be one of energy|mmd_median|mmd");
  }
  return [comm, gammas](const Matrix& p, const Matrix& o) { return mmd_rbf(p, o, gammas, comm); };
}

}  // namespace cellot::metrics
