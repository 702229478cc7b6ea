#pragma once
// Per-feature moments and per-cell paired statistics (internal; Kokkos kernels in moments.cpp).
#include <vector>

#include "cellot/core/matrix.hpp"

namespace cellot::metrics::detail {

struct Moments {
  std::vector<double> mean, sd;  // per feature; sd with ddof = 1 (pandas, as the reference)
};
Moments feature_moments(const Matrix& cells);

double pearson(const std::vector<double>& a, const std::vector<double>& b);  // NaN if a side is constant
double l2(const std::vector<double>& a, const std::vector<double>& b);

// Spearman correlation across features of each row pair (average ranks for ties); NaN for a
// row whose control or prediction is constant.
std::vector<double> spearman_rows(const Matrix& a, const Matrix& b);

// 100 * mean_i ||pred_i - truth_i||^2 / sum_k Var(truth[:, k]) (ddof = 0).
double uvp(const Matrix& pred, const Matrix& truth);

}  // namespace cellot::metrics::detail
