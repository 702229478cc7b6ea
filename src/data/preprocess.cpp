// 4i preprocessing and the checks between files (feature agreement).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/data/dataset.hpp"

namespace cellot::data {

namespace {

// Features whose control 75th percentile is not positive cannot be scaled (the reference would
// divide by zero or flip signs); they are kept on their own scale, which the user should know:
// one warning per file and process (preprocess_4i runs for every load), on rank 0.
void warn_unscaled(const std::vector<double>& scale, const std::string& origin,
                   const std::vector<std::string>& features) {
  std::string names;
  std::size_t count = 0;
  for (std::size_t j = 0; j < scale.size(); ++j) {
    if (scale[j] > 0) continue;
    if (++count <= 10) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6g", scale[j]);
      names += std::string(names.empty() ? "" : ", ") + (j < features.size() ? features[j] : "col " + std::to_string(j)) +
               " (" + buf + ")";
    }
  }
  if (count == 0) return;
  static std::mutex mutex;
  static std::set<std::string> warned;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!warned.insert(origin).second) return;
  }
  if (count > 10) names += " and " + std::to_string(count - 10) + " more";
  if (log::rank() == 0)
    log::warn(origin + ": data.preprocess = 4i: the control 75th percentile of " + std::to_string(count) +
              " feature(s) is not positive, so they are not divided by it (log1p only): " + names);
}

}  // namespace

double percentile(std::vector<double> v, double q) {
  CELLOT_CHECK(!v.empty(), "percentile of no values");
  CELLOT_CHECK(q >= 0 && q <= 1, "percentile q outside [0, 1]");
  const double h = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const double t = h - static_cast<double>(lo);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  const double a = v[lo];
  if (lo + 1 >= v.size() || t == 0.0) return a;
  const double b = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(lo) + 1, v.end());
  // numpy's _lerp: interpolate from the nearer end, so the result is bit-identical to
  // np.percentile(x, 75) (method 'linear').
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

std::vector<double> percentile75(const Matrix& cells) {
  std::vector<double> out(static_cast<std::size_t>(cells.cols), 0.0);
  if (cells.rows == 0) return out;
  std::vector<double> column(static_cast<std::size_t>(cells.rows));
  for (std::int64_t j = 0; j < cells.cols; ++j) {
    for (std::int64_t i = 0; i < cells.rows; ++i) column[static_cast<std::size_t>(i)] = cells(i, j);
    out[static_cast<std::size_t>(j)] = percentile(column, 0.75);
  }
  return out;
}

void preprocess_4i(Matrix& cells, const std::vector<double>& scale, const std::string& origin,
                   const std::vector<std::string>& features) {
  CELLOT_CHECK(static_cast<std::int64_t>(scale.size()) == cells.cols, "4i scale size differs from the features");
  warn_unscaled(scale, origin, features);
  for (std::int64_t i = 0; i < cells.rows; ++i) {
    double* r = cells.row(i);
    for (std::int64_t j = 0; j < cells.cols; ++j) {
      const double s = scale[static_cast<std::size_t>(j)];
      const double x = s > 0 ? r[j] / s : r[j];
      if (!(x > -1.0)) {
        const std::string name = static_cast<std::size_t>(j) < features.size() ? features[static_cast<std::size_t>(j)]
                                                                               : "col " + std::to_string(j);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.9g", r[j]);
        throw InputError(origin, "data.preprocess", "4i",
                         "feature " + name + " has value " + buf +
                             " below minus its control 75th percentile: "
                             "log1p undefined (is the data already preprocessed? then use data.preprocess = none)");
      }
      r[j] = std::log1p(x);
    }
  }
}

void check_same_features(const io::DataFrame& var_a, const std::string& path_a, const io::DataFrame& var_b,
                         const std::string& path_b) {
  if (var_a.rows() != var_b.rows())
    throw InputError(path_b, "var_names", std::to_string(var_b.rows()) + " features",
                     "feature count differs from " + path_a + " (" + std::to_string(var_a.rows()) + " features)");
  for (std::size_t j = 0; j < var_a.index.size(); ++j)
    if (var_a.index[j] != var_b.index[j])
      throw InputError(path_b, "var_names", var_b.index[j],
                       "feature " + std::to_string(j) + " differs from " + path_a + " ('" + var_a.index[j] + "')");
}

}  // namespace cellot::data
