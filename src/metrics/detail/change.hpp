#pragma once
// Expression-change metrics (internal): pearson_delta[@k], r2_means, direction_acc@k and the
// scPerturb E-distance, all from per-feature moments (detail/moments.hpp, Kokkos kernels), so
// they cost O((N + M) d) and are the same for any number of ranks or threads.
#include <cstdint>
#include <string>
#include <vector>

#include "moments.hpp"

namespace cellot::metrics::detail {

struct ChangeInput {
  const Moments* pred = nullptr;
  const Moments* obs = nullptr;
  std::int64_t n_pred = 0, n_obs = 0;
  const std::vector<double>* control_mean = nullptr;    // changes are measured from it (nullptr: none)
  const std::vector<std::int64_t>* markers = nullptr;  // features by decreasing |SMD| (nullptr: none)
};

struct ChangeValue {
  double value = 0;
  bool available = true;
};

// Whether a metric base name is one of this file's.
bool is_change_metric(const std::string& base);

// Definitions (P predicted, O observed, c the control mean, M_k the first k markers):
//   pearson_delta      Pearson r of (mean P - c) and (mean O - c) over all features
//   pearson_delta@k    the same over M_k
//   r2_means           1 - sum (mean O - mean P)^2 / sum (mean O - avg(mean O))^2 (sklearn r2_score
//                      with y_true = observed means)
//   direction_acc@k    fraction of M_k with sign(mean P - c) == sign(mean O - c) (numpy sign: 0 has
//                      its own sign)
//   e_distance         2 d_PO - s_P - s_O, d_PO = mean over pairs of ||p - o||^2, s_X = mean over
//                      pairs i != j of ||x_i - x_j||^2 (scPerturb). For squared Euclidean these
//                      pair means are moment identities: d_PO = ||mean P - mean O||^2 + tr S0_P
//                      + tr S0_O and s_X = 2 tr S1_X (S0 / S1: covariance with ddof 0 / 1), so
//                      e_distance = 2 ||mean P - mean O||^2 - 2 tr S1_P / |P| - 2 tr S1_O / |O|
//                      (a set of one cell has no pairs: s = 0).
// Unavailable: the control-based metrics without a control mean, the @k metrics without
// markers or with k above the number of features, and an undefined value (pearson_delta of a
// constant change vector, r2_means against constant observed means).
ChangeValue change_metric(const std::string& base, const std::string& param, const ChangeInput& in);

double e_distance(const Moments& x, std::int64_t nx, const Moments& y, std::int64_t ny);

}  // namespace cellot::metrics::detail
