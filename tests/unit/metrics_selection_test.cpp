// The validation metrics that select a model's iterate: on features at sd 10 the reference's
// fixed-bandwidth MMD saturates (every candidate scores the same, so selection is blind), while
// the energy distance and MMD with median-heuristic bandwidths still rank a better prediction
// first; after standardisation all three rank correctly.
#include <gtest/gtest.h>

#include "cellot/core/config.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/transform.hpp"
#include "cellot/metrics/selection.hpp"

using namespace cellot;

namespace {

Matrix gaussian(std::int64_t n, std::int64_t d, double sd, double shift, std::uint64_t seed) {
  Rng rng(seed);
  Matrix m(n, d);
  for (auto& v : m.data) v = sd * rng.normal() + shift;
  return m;
}

double score(const std::string& name, const Matrix& ref, const Matrix& p, const Matrix& o) {
  Config cfg;
  cfg.training.select_metric = name;
  return metrics::selection_metric(cfg, ref, MPI_COMM_SELF)(p, o);
}

}  // namespace

TEST(Selection, FixedBandwidthMmdSaturatesAtScaleTenOthersDoNot) {
  const std::int64_t d = 20;
  const Matrix observed = gaussian(60, d, 10.0, 5.0, 1);
  const Matrix good = gaussian(60, d, 10.0, 5.0, 2);   // the right distribution
  const Matrix bad = gaussian(60, d, 10.0, -5.0, 3);   // shifted by one sd in every feature
  const double mmd_good = score("mmd", observed, good, observed), mmd_bad = score("mmd", observed, bad, observed);
  // Every cross-kernel value is ~0: the two candidates differ by less than 0.1% (the right one
  // is not even always lower), where the scale-aware metrics differ by a factor of two or more.
  EXPECT_NEAR(mmd_good, mmd_bad, 1e-3 * mmd_good);
  EXPECT_LT(score("energy", observed, good, observed), 0.5 * score("energy", observed, bad, observed));
  EXPECT_LT(score("mmd_median", observed, good, observed), 0.5 * score("mmd_median", observed, bad, observed));
  // Standardised with the observed cells' statistics, the fixed bandwidths see the difference too.
  DataConfig dc;
  const auto t = data::fit_transform(dc, observed, nullptr);
  const Matrix o = t.standardize(observed), g = t.standardize(good), b = t.standardize(bad);
  EXPECT_LT(score("mmd", o, g, o), 0.5 * score("mmd", o, b, o));
}

TEST(Selection, MedianHeuristicFollowsTheScale) {
  const Matrix a = gaussian(200, 5, 1.0, 0.0, 4), b = gaussian(200, 5, 10.0, 0.0, 4);
  EXPECT_NEAR(metrics::median_squared_distance(b), 100.0 * metrics::median_squared_distance(a),
              1e-9 * metrics::median_squared_distance(b));
}
