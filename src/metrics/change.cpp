// Expression-change metrics from feature moments (definitions in detail/change.hpp).
#include "detail/change.hpp"

#include <cmath>
#include <limits>

#include "cellot/core/error.hpp"

namespace cellot::metrics::detail {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double r2_score(const std::vector<double>& truth, const std::vector<double>& pred) {
  double mean = 0;
  for (const double t : truth) mean += t;
  mean /= static_cast<double>(truth.size());
  double ss_res = 0, ss_tot = 0;
  for (std::size_t k = 0; k < truth.size(); ++k) {
    ss_res += (truth[k] - pred[k]) * (truth[k] - pred[k]);
    ss_tot += (truth[k] - mean) * (truth[k] - mean);
  }
  return ss_tot > 0 ? 1.0 - ss_res / ss_tot : kNaN;
}

int sign(double v) { return (v > 0) - (v < 0); }

// An undefined value (Pearson r of a constant change vector, as identity predicts; R² against
// constant observed means) is n/a like a missing input, never a number that reads "nan".
ChangeValue defined(double v) { return {v, !std::isnan(v)}; }

}  // namespace

bool is_change_metric(const std::string& base) {
  return base == "pearson_delta" || base == "r2_means" || base == "direction_acc" || base == "e_distance";
}

double e_distance(const Moments& x, std::int64_t nx, const Moments& y, std::int64_t ny) {
  CELLOT_CHECK(x.mean.size() == y.mean.size() && nx > 0 && ny > 0, "e_distance: sets");
  double between = 0, trace_x = 0, trace_y = 0;
  for (std::size_t k = 0; k < x.mean.size(); ++k) {
    between += (x.mean[k] - y.mean[k]) * (x.mean[k] - y.mean[k]);
    trace_x += x.sd[k] * x.sd[k];
    trace_y += y.sd[k] * y.sd[k];
  }
  // Moments give sd = 0 for a single cell, so a set without pairs contributes nothing.
  return 2.0 * between - 2.0 * trace_x / static_cast<double>(nx) - 2.0 * trace_y / static_cast<double>(ny);
}

ChangeValue change_metric(const std::string& base, const std::string& param, const ChangeInput& in) {
  CELLOT_CHECK(in.pred && in.obs && in.pred->mean.size() == in.obs->mean.size(), "change metrics: moments");
  const std::size_t d = in.pred->mean.size();
  if (base == "r2_means") return defined(r2_score(in.obs->mean, in.pred->mean));
  if (base == "e_distance") return {e_distance(*in.pred, in.n_pred, *in.obs, in.n_obs), true};
  CELLOT_CHECK(base == "pearson_delta" || base == "direction_acc", "unknown change metric " + base);
  if (in.control_mean == nullptr) return {kNaN, false};
  CELLOT_CHECK(in.control_mean->size() == d, "change metrics: control mean has another feature count");
  // The features scored: all of them, or the first k markers.
  std::vector<std::size_t> features;
  if (param.empty()) {
    for (std::size_t k = 0; k < d; ++k) features.push_back(k);
  } else {
    const auto k = static_cast<std::size_t>(std::stoll(param));
    if (in.markers == nullptr || k > d) return {kNaN, false};
    CELLOT_CHECK(in.markers->size() == d, "markers must rank every feature");
    for (std::size_t i = 0; i < k; ++i) features.push_back(static_cast<std::size_t>((*in.markers)[i]));
  }
  std::vector<double> dp, dobs;
  for (const std::size_t k : features) {
    dp.push_back(in.pred->mean[k] - (*in.control_mean)[k]);
    dobs.push_back(in.obs->mean[k] - (*in.control_mean)[k]);
  }
  if (base == "pearson_delta") return defined(dp.size() >= 2 ? pearson(dp, dobs) : kNaN);
  std::size_t agree = 0;
  for (std::size_t i = 0; i < dp.size(); ++i) agree += sign(dp[i]) == sign(dobs[i]) ? 1 : 0;
  return {static_cast<double>(agree) / static_cast<double>(dp.size()), true};
}

}  // namespace cellot::metrics::detail
