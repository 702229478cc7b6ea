// Metric kernels against direct (brute-force, std::exp) evaluations on small random sets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/metrics/markers.hpp"
#include "cellot/metrics/metrics.hpp"
#include "detail/kernels.hpp"
#include "detail/knn.hpp"
#include "detail/moments.hpp"

using cellot::Matrix;
namespace metrics = cellot::metrics;

namespace {

Matrix random_cells(std::int64_t n, std::int64_t d, std::uint64_t seed, double shift = 0.0, double scale = 1.0) {
  cellot::Rng rng(seed);
  Matrix m(n, d);
  for (auto& v : m.data) v = shift + scale * rng.normal();
  return m;
}

double sqdist(const Matrix& a, std::int64_t i, const Matrix& b, std::int64_t j) {
  double s = 0;
  for (std::int64_t k = 0; k < a.cols; ++k) s += (a(i, k) - b(j, k)) * (a(i, k) - b(j, k));
  return s;
}

double mean_kernel(const Matrix& a, const Matrix& b, double gamma) {
  double s = 0;
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < b.rows; ++j) s += std::exp(-gamma * sqdist(a, i, b, j));
  return s / (static_cast<double>(a.rows) * b.rows);
}

double brute_mmd(const Matrix& x, const Matrix& y, const std::vector<double>& gammas) {
  double s = 0;
  for (double g : gammas) s += mean_kernel(x, x, g) + mean_kernel(y, y, g) - 2 * mean_kernel(x, y, g);
  return s / gammas.size();
}

double mean_dist(const Matrix& a, const Matrix& b) {
  double s = 0;
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < b.rows; ++j) s += std::sqrt(sqdist(a, i, b, j));
  return s / (static_cast<double>(a.rows) * b.rows);
}

const std::vector<double> kGammas{2, 1, 0.5, 0.1, 0.01, 0.005};

}  // namespace

TEST(MetricsFastExp, MatchesStdExpToTwoUlp) {
  for (double x = -707.5; x < 709; x += 0.01371) {
    const double ref = std::exp(x);
    EXPECT_NEAR(cellot::metrics::detail::fast_exp(x), ref, 4e-16 * ref) << x;
  }
  EXPECT_EQ(cellot::metrics::detail::fast_exp(-800.0), 0.0);
  EXPECT_EQ(cellot::metrics::detail::fast_exp(0.0), 1.0);
}

TEST(MetricsDetLog, WithinTwoUlpOfStdLogOverTheWholeRange) {
  using cellot::metrics::detail::det_log;
  cellot::Rng rng(7);
  std::vector<double> xs{1.0, 2.0, 0.5, 1.4142135623730951, 1.4142135623730949, 0.7071067811865476,
                         1e-300, 5e-324, 2.2250738585072014e-308, 1e300, 1.7976931348623157e308, 3.0, 1000.0};
  for (int i = 0; i < 20000; ++i) xs.push_back(std::exp(rng.uniform() * 1400.0 - 700.0));
  for (int i = 0; i < 2000; ++i) xs.push_back(1.0 + (rng.uniform() - 0.5) * 1e-6);  // near 1: relative error
  for (const double x : xs) {
    const double ref = std::log(x);
    const double ulp = std::nextafter(std::fabs(ref), INFINITY) - std::fabs(ref);
    EXPECT_LE(std::fabs(det_log(x) - ref), 2 * ulp + 1e-300) << x;
  }
  EXPECT_EQ(det_log(1.0), 0.0);
  EXPECT_EQ(det_log(0.0), -INFINITY);
  EXPECT_TRUE(std::isnan(det_log(-1.0)));
  EXPECT_TRUE(std::isnan(det_log(NAN)));
  EXPECT_EQ(det_log(INFINITY), INFINITY);
}

TEST(MetricsMmd, MatchesBruteForceWithUnequalSizesAndTails) {
  // Sizes that are not multiples of the tile (64) nor of the micro-kernel (4).
  const Matrix x = random_cells(131, 7, 1);
  const Matrix y = random_cells(70, 7, 2, 0.4, 1.2);
  const double ref = brute_mmd(x, y, kGammas);
  const double got = metrics::mmd_rbf(x, y, kGammas, MPI_COMM_SELF);
  EXPECT_NEAR(got, ref, 1e-12 * std::abs(ref));
  EXPECT_GT(got, 0.0);
}

TEST(MetricsMmd, NonIntegerBandwidthRatiosAndManyGammas) {
  // 0.3/0.2 is not an integer (direct exp), and more gammas than one kernel pass holds.
  const std::vector<double> gammas{0.2, 0.3, 0.6, 1.2, 2.4, 0.05, 0.025, 3.0, 7.0, 0.001};
  const Matrix x = random_cells(40, 5, 3);
  const Matrix y = random_cells(90, 5, 4, -0.3);
  const double ref = brute_mmd(x, y, gammas);
  EXPECT_NEAR(metrics::mmd_rbf(x, y, gammas, MPI_COMM_SELF), ref, 1e-12 * std::abs(ref));
}

TEST(MetricsMmd, IdenticalSetsGiveZeroAndSingleCells) {
  const Matrix x = random_cells(65, 3, 5);
  EXPECT_NEAR(metrics::mmd_rbf(x, x, kGammas, MPI_COMM_SELF), 0.0, 1e-13);
  const Matrix a = random_cells(1, 3, 6), b = random_cells(1, 3, 7);
  EXPECT_NEAR(metrics::mmd_rbf(a, b, {0.5}, MPI_COMM_SELF), 2.0 - 2.0 * std::exp(-0.5 * sqdist(a, 0, b, 0)), 1e-14);
}

TEST(MetricsMmd, RejectsEmptySetsAndFeatureMismatch) {
  const Matrix x = random_cells(5, 3, 8), y = random_cells(5, 4, 9), e(0, 3);
  EXPECT_THROW(metrics::mmd_rbf(x, y, kGammas, MPI_COMM_SELF), cellot::InputError);
  EXPECT_THROW(metrics::mmd_rbf(x, e, kGammas, MPI_COMM_SELF), cellot::InputError);
  EXPECT_THROW(metrics::mmd_rbf(x, x, {-1.0}, MPI_COMM_SELF), cellot::InputError);
}

TEST(MetricsEnergy, MatchesBruteForceVStatistic) {
  const Matrix x = random_cells(77, 6, 10);
  const Matrix y = random_cells(50, 6, 11, 0.5);
  const double ref = 2 * mean_dist(x, y) - mean_dist(x, x) - mean_dist(y, y);
  const double got = metrics::energy_distance(x, y, MPI_COMM_SELF);
  EXPECT_NEAR(got, ref, 1e-12 * std::abs(ref));
  EXPECT_NEAR(metrics::energy_distance(x, x, MPI_COMM_SELF), 0.0, 1e-12);
}

namespace {

// Brute-force kNN mixing with the documented tie rule (distance, then joint index).
std::vector<double> brute_knn(const Matrix& p, const Matrix& o, const std::vector<int>& ks) {
  std::vector<double> out(ks.size(), 0.0);
  const std::int64_t n = p.rows, joint = p.rows + o.rows;
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, std::int64_t>> cand;
    for (std::int64_t j = 0; j < n; ++j)
      if (j != i) cand.push_back({sqdist(p, i, p, j), j});
    for (std::int64_t j = 0; j < o.rows; ++j) cand.push_back({sqdist(p, i, o, j), n + j});
    std::sort(cand.begin(), cand.end());
    for (std::size_t t = 0; t < ks.size(); ++t) {
      const auto k = std::min<std::int64_t>(ks[t], joint - 1);
      int c = 0;
      for (std::int64_t q = 0; q < k; ++q) c += cand[q].second < n;
      out[t] += double(c) / k;
    }
  }
  for (auto& v : out) v /= n;
  return out;
}

std::vector<cellot::metrics::Value>::const_iterator find_value(const std::vector<cellot::metrics::Value>& vs,
                                                               const std::string& name) {
  return std::find_if(vs.begin(), vs.end(), [&](const auto& v) { return v.name == name; });
}

}  // namespace

TEST(MetricsKnn, MatchesBruteForceIncludingDuplicateCellsAndCappedK) {
  Matrix p = random_cells(70, 3, 20), o = random_cells(45, 3, 21, 0.7);
  // Exact duplicates across and within the sets exercise the tie rule.
  for (std::int64_t k = 0; k < 3; ++k) {
    p(5, k) = p(6, k);
    o(2, k) = p(7, k);
  }
  const std::vector<int> ks{1, 5, 50, 500};
  const auto ref = brute_knn(p, o, ks);
  const auto got = cellot::metrics::detail::knn_mix(p, o, ks, MPI_COMM_SELF);
  ASSERT_EQ(got.size(), ks.size());
  for (std::size_t t = 0; t < ks.size(); ++t) EXPECT_NEAR(got[t], ref[t], 1e-15) << ks[t];
  // k >= |joint| - 1 counts every other cell: (|P| - 1) / (|P| + |O| - 1).
  EXPECT_NEAR(got[3], 69.0 / 114.0, 1e-15);
  const auto per_cell = cellot::metrics::knn_mix_per_cell(p, o, 5, MPI_COMM_SELF);
  ASSERT_EQ(per_cell.size(), 70u);
  double mean = 0;
  for (const double v : per_cell) mean += v / 70;
  EXPECT_NEAR(mean, ref[1], 1e-14);
}

TEST(MetricsKnn, SeparatedSetsAreUnmixedIdenticalDistributionsMixed) {
  const Matrix p = random_cells(200, 4, 22), far = random_cells(200, 4, 23, 50.0);
  EXPECT_DOUBLE_EQ(cellot::metrics::detail::knn_mix(p, far, {10}, MPI_COMM_SELF)[0], 1.0);
  const Matrix same = random_cells(200, 4, 24);
  const double mix = cellot::metrics::detail::knn_mix(p, same, {50}, MPI_COMM_SELF)[0];
  EXPECT_GT(mix, 0.4);
  EXPECT_LT(mix, 0.6);
}

TEST(MetricsSpearman, AverageRanksForTiesAndPerfectCorrelations) {
  Matrix a(3, 4), b(3, 4);
  const double ra[3][4] = {{1, 2, 2, 3}, {1, 2, 3, 4}, {5, 5, 5, 5}};
  const double rb[3][4] = {{4, 3, 3, 1}, {10, 20, 30, 40}, {1, 2, 3, 4}};
  for (int i = 0; i < 3; ++i)
    for (int k = 0; k < 4; ++k) {
      a(i, k) = ra[i][k];
      b(i, k) = rb[i][k];
    }
  const auto rho = cellot::metrics::spearman_per_cell(a, b);
  ASSERT_EQ(rho.size(), 3u);
  EXPECT_NEAR(rho[0], -1.0, 1e-15);  // ranks (1, 2.5, 2.5, 4) vs (4, 2.5, 2.5, 1)
  EXPECT_NEAR(rho[1], 1.0, 1e-15);
  EXPECT_TRUE(std::isnan(rho[2]));    // constant control cell
  // A partial tie: x = (1, 2, 2, 4, 5), y = (2, 1, 3, 5, 4): ranks (1, 2.5, 2.5, 4, 5) vs
  // (2, 1, 3, 5, 4); r = 7 / sqrt(9.5 * 10).
  Matrix x(1, 5), y(1, 5);
  const double xv[5] = {1, 2, 2, 4, 5}, yv[5] = {2, 1, 3, 5, 4};
  for (int k = 0; k < 5; ++k) {
    x(0, k) = xv[k];
    y(0, k) = yv[k];
  }
  EXPECT_NEAR(cellot::metrics::spearman_per_cell(x, y)[0], 7.0 / std::sqrt(9.5 * 10.0), 1e-15);
}

TEST(MetricsMoments, MeansStdsPearsonAndUvp) {
  const Matrix m = random_cells(33, 4, 25, 1.0, 2.0);
  const auto mo = cellot::metrics::detail::feature_moments(m);
  for (std::int64_t k = 0; k < 4; ++k) {
    double s = 0, q = 0;
    for (std::int64_t i = 0; i < 33; ++i) s += m(i, k);
    for (std::int64_t i = 0; i < 33; ++i) q += (m(i, k) - s / 33) * (m(i, k) - s / 33);
    EXPECT_NEAR(mo.mean[k], s / 33, 1e-14);
    EXPECT_NEAR(mo.sd[k], std::sqrt(q / 32), 1e-14);
  }
  EXPECT_NEAR(cellot::metrics::detail::pearson({1, 2, 3}, {2, 4, 6.5}), 0.9979487157886733, 1e-14);  // numpy.corrcoef
  // UVP: predicting the truth exactly is 0; predicting the truth's mean for every cell is 100.
  Matrix mean_pred(33, 4);
  for (std::int64_t i = 0; i < 33; ++i)
    for (std::int64_t k = 0; k < 4; ++k) mean_pred(i, k) = mo.mean[k];
  EXPECT_NEAR(cellot::metrics::detail::uvp(m, m), 0.0, 1e-14);
  EXPECT_NEAR(cellot::metrics::detail::uvp(mean_pred, m), 100.0, 1e-10);
}

TEST(MetricsNames, ExpandAllAndParameterisedNames) {
  const auto all = metrics::expand_names("all", {0.5, 1, 10, 100}, {50, 100}, {20});
  const std::vector<std::string> expect{"mmd",      "w2_eps",  "sinkhorn_div@0.5", "sinkhorn_div@1", "sinkhorn_div@10",
                                        "sinkhorn_div@100", "l2_ds", "r_means", "l2_means", "r_stds",
                                        "l2_stds",  "energy",  "e_distance", "knn_mix@50",       "knn_mix@100",
                                        "spearman_pair", "uvp", "pearson_delta", "pearson_delta@20", "r2_means",
                                        "direction_acc@20"};
  EXPECT_EQ(all, expect);
  EXPECT_EQ(metrics::expand_names("mmd, knn_mix@7,sinkhorn_div@2.5,mmd", {0.5}, {50}),
            (std::vector<std::string>{"mmd", "knn_mix@7", "sinkhorn_div@2.5"}));
  EXPECT_THROW(metrics::expand_names("mmd,wasserstein", {0.5}, {50}), cellot::InputError);
  EXPECT_THROW(metrics::expand_names("knn_mix@0", {0.5}, {50}), cellot::InputError);
  EXPECT_THROW(metrics::expand_names("knn_mix@2.5", {0.5}, {50}), cellot::InputError);
  cellot::MetricsConfig cfg;
  cfg.mmd_gammas = "1,-2";
  EXPECT_THROW(metrics::options_from_config(cfg, MPI_COMM_SELF, 0), cellot::InputError);
}

TEST(MetricsCompute, EveryMetricAndResamplingDeterministicInSeed) {
  const Matrix ctrl = random_cells(120, 5, 30);
  Matrix pred = ctrl, truth = ctrl;
  cellot::Rng rng(31);
  for (std::int64_t i = 0; i < pred.rows; ++i)
    for (std::int64_t k = 0; k < 5; ++k) {
      truth(i, k) += 1.0 + 0.1 * ctrl(i, k);
      pred(i, k) = truth(i, k) + 0.05 * rng.normal();
    }
  const Matrix obs = random_cells(90, 5, 32, 1.0, 1.1);
  cellot::MetricsConfig cfg;
  cfg.top_k = "2,5";  // marker metrics need k <= the 5 features
  auto opts = metrics::options_from_config(cfg, MPI_COMM_SELF, 7);
  const auto markers = metrics::rank_markers(ctrl, obs);
  metrics::Input in;
  in.predicted = &pred;
  in.observed = &obs;
  in.control = &ctrl;
  in.truth = &truth;
  in.markers = &markers;
  const auto vs = metrics::compute(in, opts);
  ASSERT_EQ(vs.size(), opts.names.size());
  for (const auto& v : vs) {
    EXPECT_TRUE(v.available) << v.name;
    EXPECT_TRUE(std::isfinite(v.value)) << v.name;
    EXPECT_EQ(v.sd, 0.0) << v.name;
  }
  EXPECT_NEAR(find_value(vs, "mmd")->value, brute_mmd(pred, obs, kGammas), 1e-12);
  EXPECT_GT(find_value(vs, "w2_eps")->iterations, 0);
  EXPECT_NEAR(find_value(vs, "l2_ds")->value, find_value(vs, "l2_means")->value, 1e-12);
  EXPECT_GT(find_value(vs, "spearman_pair")->value, 0.9);  // the map is nearly monotone per cell
  EXPECT_NEAR(find_value(vs, "uvp")->value, 100.0 * 5 * 0.0025 / 5.0, 1.0);  // noise var / truth var ~ 0.25%

  // Without control and truth: paired metrics unavailable, the rest unchanged.
  metrics::Input bare;
  bare.predicted = &pred;
  bare.observed = &obs;
  const auto vb = metrics::compute(bare, opts);
  EXPECT_FALSE(find_value(vb, "uvp")->available);
  EXPECT_FALSE(find_value(vb, "spearman_pair")->available);
  EXPECT_EQ(find_value(vb, "mmd")->value, find_value(vs, "mmd")->value);

  // Bootstrap: 4 resamples of 60 cells per set; same seed -> same values, other seed differs.
  opts.names = {"mmd", "knn_mix@10", "spearman_pair", "r_means"};
  opts.bootstrap = 4;
  opts.max_cells = 60;
  const auto b1 = metrics::compute(in, opts), b2 = metrics::compute(in, opts);
  opts.seed = 8;
  const auto b3 = metrics::compute(in, opts);
  for (std::size_t t = 0; t < b1.size(); ++t) {
    EXPECT_EQ(b1[t].value, b2[t].value) << b1[t].name;
    EXPECT_EQ(b1[t].sd, b2[t].sd);
    EXPECT_GT(b1[t].sd, 0.0) << b1[t].name;
    EXPECT_NE(b1[t].value, b3[t].value) << b1[t].name;
  }
}

TEST(MetricsCompute, RejectsUnpairedControlAndFeatureMismatch) {
  const Matrix pred = random_cells(10, 3, 40), obs = random_cells(10, 3, 41), ctrl = random_cells(9, 3, 42);
  const Matrix wide = random_cells(10, 4, 43);
  auto opts = metrics::options_from_config(cellot::MetricsConfig{}, MPI_COMM_SELF, 0);
  metrics::Input in;
  in.predicted = &pred;
  in.observed = &obs;
  in.control = &ctrl;
  EXPECT_THROW(metrics::compute(in, opts), cellot::InputError);
  in.control = nullptr;
  in.observed = &wide;
  EXPECT_THROW(metrics::compute(in, opts), cellot::InputError);
}

// knn_mix compares equal-size sets: with 4x more predictions than observed cells of the same
// distribution, the raw fraction on all cells is ~ (4n - 1) / (5n - 1) = 0.8, but compute()
// subsamples the predictions to |O| and reports ~ 0.5, also under resampling whose max_cells
// leaves the sets unequal (P capped at 200, O at its 100).
TEST(MetricsCompute, KnnMixUsesEqualSizeSetsNearHalfForSameDistribution) {
  const Matrix pred = random_cells(400, 4, 50), obs = random_cells(100, 4, 51);
  const double raw = cellot::metrics::detail::knn_mix(pred, obs, {10}, MPI_COMM_SELF)[0];
  EXPECT_GT(raw, 0.7);  // what the unequal sets would have reported
  metrics::Options opts;
  opts.names = {"knn_mix@10", "knn_mix@30", "mmd"};
  opts.seed = 3;
  metrics::Input in;
  in.predicted = &pred;
  in.observed = &obs;
  const auto v = metrics::compute(in, opts);
  EXPECT_NEAR(v[0].value, 0.5, 0.06);
  EXPECT_NEAR(v[1].value, 0.5, 0.06);
  // MMD stays on every cell (a distribution distance, fine with unequal sizes).
  EXPECT_NEAR(v[2].value, brute_mmd(pred, obs, kGammas), 1e-12);
  // The subsample is a deterministic function of the seed.
  EXPECT_EQ(metrics::compute(in, opts)[0].value, v[0].value);
  opts.seed = 4;
  EXPECT_NE(metrics::compute(in, opts)[0].value, v[0].value);
  // The observed set larger instead: the same holds with the roles swapped.
  in.predicted = &obs;
  in.observed = &pred;
  EXPECT_NEAR(metrics::compute(in, opts)[0].value, 0.5, 0.06);
  EXPECT_LT(cellot::metrics::detail::knn_mix(obs, pred, {10}, MPI_COMM_SELF)[0], 0.3);
  // Resampling with max_cells above |O|: still equal sizes.
  in.predicted = &pred;
  in.observed = &obs;
  opts.max_cells = 200;
  opts.bootstrap = 3;
  const auto b = metrics::compute(in, opts);
  EXPECT_NEAR(b[0].value, 0.5, 0.06);
  EXPECT_GT(b[0].sd, 0.0);
}

TEST(MetricsCompute, SinkhornCapAndToleranceFromConfigAndReported) {
  const Matrix x = random_cells(70, 3, 60), y = random_cells(50, 3, 61, 0.5, 1.2);
  cellot::MetricsConfig cfg;
  cfg.names = "w2_eps,sinkhorn_div@0.5,mmd";
  cfg.sinkhorn_max_iter = 3;
  cfg.sinkhorn_tol = 1e-9;
  auto opts = metrics::options_from_config(cfg, MPI_COMM_SELF, 0);
  EXPECT_EQ(opts.sinkhorn_max_iter, 3);
  EXPECT_EQ(opts.sinkhorn_tol, 1e-9);
  metrics::Input in;
  in.predicted = &x;
  in.observed = &y;
  const auto capped = metrics::compute(in, opts);
  for (int t = 0; t < 2; ++t) {
    EXPECT_FALSE(capped[t].converged) << capped[t].name;
    EXPECT_EQ(capped[t].iterations, 3) << capped[t].name;
    EXPECT_GT(capped[t].marginal_error, 1e-9) << capped[t].name;
    EXPECT_TRUE(metrics::is_sinkhorn_metric(capped[t].name));
  }
  EXPECT_TRUE(capped[2].converged);  // not a Sinkhorn metric
  EXPECT_EQ(capped[2].marginal_error, 0.0);
  EXPECT_FALSE(metrics::is_sinkhorn_metric("mmd"));
  // The capped value is the public solver's at the same cap.
  EXPECT_EQ(capped[0].value, metrics::sinkhorn(x, y, 0.5, 1e-9, 3, MPI_COMM_SELF).cost);

  cfg.sinkhorn_max_iter = 100000;
  cfg.sinkhorn_tol = 1e-7;
  opts = metrics::options_from_config(cfg, MPI_COMM_SELF, 0);
  const auto done = metrics::compute(in, opts);
  for (int t = 0; t < 2; ++t) {
    EXPECT_TRUE(done[t].converged) << done[t].name;
    EXPECT_LT(done[t].marginal_error, 1e-7) << done[t].name;
    EXPECT_GT(done[t].iterations, 3) << done[t].name;
    EXPECT_LT(done[t].iterations, 100000) << done[t].name;
  }
  const auto ref = metrics::sinkhorn(x, y, 0.5, 1e-7, 100000, MPI_COMM_SELF);
  EXPECT_EQ(done[0].value, ref.cost);
  EXPECT_EQ(done[0].iterations, ref.iterations);

  cfg.sinkhorn_max_iter = 0;
  EXPECT_THROW(metrics::options_from_config(cfg, MPI_COMM_SELF, 0), cellot::InputError);
  cfg.sinkhorn_max_iter = 10;
  cfg.sinkhorn_tol = 0;
  EXPECT_THROW(metrics::options_from_config(cfg, MPI_COMM_SELF, 0), cellot::InputError);
}

// Unpaired predictions (the observed baseline): spearman_pair and uvp n/a, the rest as paired.
TEST(MetricsCompute, UnpairedInputMakesPairedMetricsUnavailable) {
  const Matrix ctrl = random_cells(40, 4, 70), pred = random_cells(40, 4, 71, 1.0), obs = random_cells(30, 4, 72, 1.0);
  metrics::Options opts;
  opts.names = {"spearman_pair", "uvp", "l2_ds", "mmd"};
  metrics::Input in;
  in.predicted = &pred;
  in.observed = &obs;
  in.control = &ctrl;
  in.truth = &pred;
  const auto paired = metrics::compute(in, opts);
  EXPECT_TRUE(paired[0].available);
  EXPECT_TRUE(paired[1].available);
  in.paired = false;
  const auto unpaired = metrics::compute(in, opts);
  EXPECT_FALSE(unpaired[0].available);
  EXPECT_TRUE(std::isnan(unpaired[0].value));
  EXPECT_FALSE(unpaired[1].available);
  EXPECT_EQ(unpaired[2].value, paired[2].value);
  EXPECT_EQ(unpaired[3].value, paired[3].value);
  EXPECT_TRUE(metrics::is_paired_metric("uvp") && metrics::is_paired_metric("spearman_pair"));
  EXPECT_FALSE(metrics::is_paired_metric("l2_ds"));
}
