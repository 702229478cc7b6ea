// Expression-change metrics (pearson_delta[@k], r2_means, direction_acc@k, e_distance) and the
// marker ranking, against direct evaluations on small hand-made and random sets.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/metrics/markers.hpp"
#include "cellot/metrics/metrics.hpp"

using cellot::Matrix;
namespace metrics = cellot::metrics;

namespace {

Matrix random_cells(std::int64_t n, std::int64_t d, std::uint64_t seed, double shift = 0.0) {
  cellot::Rng rng(seed);
  Matrix m(n, d);
  for (auto& v : m.data) v = shift + rng.normal();
  return m;
}

std::map<std::string, metrics::Value> run(const metrics::Input& in, const std::string& names,
                                          const std::string& top_k = "2,3") {
  cellot::MetricsConfig cfg;
  cfg.names = names;
  cfg.top_k = top_k;
  std::map<std::string, metrics::Value> out;
  for (const auto& v : metrics::compute(in, metrics::options_from_config(cfg, MPI_COMM_SELF, 0))) out[v.name] = v;
  return out;
}

std::vector<double> means(const Matrix& m) {
  std::vector<double> mu(static_cast<std::size_t>(m.cols), 0.0);
  for (std::int64_t i = 0; i < m.rows; ++i)
    for (std::int64_t k = 0; k < m.cols; ++k) mu[static_cast<std::size_t>(k)] += m(i, k) / static_cast<double>(m.rows);
  return mu;
}

// Mean over pairs of squared distances, the diagonal left out when `same`.
double pair_mean(const Matrix& a, const Matrix& b, bool same) {
  double s = 0, n = 0;
  for (std::int64_t i = 0; i < a.rows; ++i)
    for (std::int64_t j = 0; j < b.rows; ++j) {
      if (same && i == j) continue;
      double d = 0;
      for (std::int64_t k = 0; k < a.cols; ++k) d += (a(i, k) - b(j, k)) * (a(i, k) - b(j, k));
      s += d;
      n += 1;
    }
  return n > 0 ? s / n : 0.0;
}

}  // namespace

TEST(MetricsChange, EDistanceEqualsPairwiseDefinition) {
  const Matrix x = random_cells(37, 5, 1), y = random_cells(23, 5, 2, 0.7);
  const double ref = 2 * pair_mean(x, y, false) - pair_mean(x, x, true) - pair_mean(y, y, true);
  metrics::Input in;
  in.predicted = &x;
  in.observed = &y;
  const auto v = run(in, "e_distance,energy");
  EXPECT_NEAR(v.at("e_distance").value, ref, 1e-12 * std::abs(ref));
  EXPECT_GT(ref, 0.0);
  // Unbiased: two samples of one distribution have E-distance near 0, either sign.
  const Matrix a = random_cells(400, 3, 3), b = random_cells(400, 3, 4);
  in.predicted = &a;
  in.observed = &b;
  EXPECT_LT(std::abs(run(in, "e_distance").at("e_distance").value), 0.05);
  // A single cell has no within-set pairs.
  const Matrix one = random_cells(1, 5, 5);
  in.predicted = &one;
  in.observed = &y;
  const double ref1 = 2 * pair_mean(one, y, false) - pair_mean(y, y, true);
  EXPECT_NEAR(run(in, "e_distance").at("e_distance").value, ref1, 1e-12 * std::abs(ref1));
}

TEST(MetricsChange, PearsonDeltaR2AndDirectionByHand) {
  // Control at 0; observed change (3, -2, 1, 0.5); predicted change (6, -4, -1, 1): the first two
  // and the last agree in sign, the third does not.
  Matrix ctrl(2, 4), obs(2, 4), pred(2, 4);
  const double dobs[4] = {3, -2, 1, 0.5}, dpred[4] = {6, -4, -1, 1};
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      const double jitter = i == 0 ? -0.1 : 0.1;  // sets are not constant; means unaffected
      ctrl(i, k) = jitter;
      obs(i, k) = dobs[k] + jitter;
      pred(i, k) = dpred[k] + jitter;
    }
  const std::vector<std::int64_t> markers{0, 2, 1, 3};  // deliberately not the |change| order
  metrics::Input in;
  in.predicted = &pred;
  in.observed = &obs;
  in.control = &ctrl;
  in.markers = &markers;
  const auto v = run(in, "pearson_delta,pearson_delta@2,pearson_delta@3,r2_means,direction_acc@2,direction_acc@3",
                     "2,3");
  auto pearson = [](std::vector<double> a, std::vector<double> b) {
    double ma = 0, mb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) ma += a[i] / a.size(), mb += b[i] / b.size();
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
    return sab / std::sqrt(saa * sbb);
  };
  EXPECT_NEAR(v.at("pearson_delta").value, pearson({6, -4, -1, 1}, {3, -2, 1, 0.5}), 1e-12);
  EXPECT_NEAR(v.at("pearson_delta@3").value, pearson({6, -1, -4}, {3, 1, -2}), 1e-12);
  EXPECT_NEAR(v.at("pearson_delta@2").value, 1.0, 1e-12);  // (6, -1) vs (3, 1): two points, r = 1
  EXPECT_NEAR(v.at("direction_acc@2").value, 0.5, 1e-15);
  EXPECT_NEAR(v.at("direction_acc@3").value, 2.0 / 3.0, 1e-15);
  // r2 of observed (y_true) vs predicted means: 1 - SS_res / SS_tot.
  const double mo = (3 - 2 + 1 + 0.5) / 4.0;
  double res = 0, tot = 0;
  for (int k = 0; k < 4; ++k) {
    res += (dobs[k] - dpred[k]) * (dobs[k] - dpred[k]);
    tot += (dobs[k] - mo) * (dobs[k] - mo);
  }
  EXPECT_NEAR(v.at("r2_means").value, 1 - res / tot, 1e-12);
}

TEST(MetricsChange, UnavailableWithoutControlMarkersOrEnoughFeatures) {
  const Matrix x = random_cells(20, 3, 1), y = random_cells(20, 3, 2, 0.5);
  metrics::Input in;
  in.predicted = &x;
  in.observed = &y;
  auto v = run(in, "pearson_delta,pearson_delta@2,direction_acc@2,r2_means,e_distance");
  EXPECT_FALSE(v.at("pearson_delta").available);  // no control
  EXPECT_FALSE(v.at("direction_acc@2").available);
  EXPECT_TRUE(v.at("r2_means").available && v.at("e_distance").available);
  const Matrix c = random_cells(20, 3, 3);
  const auto mc = metrics::feature_means(c);
  in.control_mean = &mc;  // a control mean alone serves the all-feature value, not the @k ones
  v = run(in, "pearson_delta,pearson_delta@2");
  EXPECT_TRUE(v.at("pearson_delta").available);
  EXPECT_FALSE(v.at("pearson_delta@2").available);
  const auto markers = metrics::rank_markers(c, y);
  in.markers = &markers;
  v = run(in, "pearson_delta@2,direction_acc@3,direction_acc@4", "2,3,4");
  EXPECT_TRUE(v.at("pearson_delta@2").available && v.at("direction_acc@3").available);
  EXPECT_FALSE(v.at("direction_acc@4").available);  // k above the 3 features
  EXPECT_TRUE(std::isnan(v.at("direction_acc@4").value));
  // The control mean of the evaluation does not move with resampling: the explicit mean and the
  // mean of `control` give the same value.
  metrics::Input with_ctrl = in;
  with_ctrl.control_mean = nullptr;
  with_ctrl.control = &c;
  Matrix paired_pred = x;  // control rows pair with predictions: same row count
  with_ctrl.predicted = &paired_pred;
  EXPECT_DOUBLE_EQ(run(with_ctrl, "pearson_delta").at("pearson_delta").value,
                   run(in, "pearson_delta").at("pearson_delta").value);
}

TEST(MetricsChange, BadMarkersAndControlMeanAreInputErrors) {
  const Matrix x = random_cells(10, 3, 1), y = random_cells(10, 3, 2);
  metrics::Input in;
  in.predicted = &x;
  in.observed = &y;
  const std::vector<std::int64_t> dup{0, 0, 1}, short_list{0, 1};
  in.markers = &dup;
  EXPECT_THROW(run(in, "pearson_delta"), cellot::InputError);
  in.markers = &short_list;
  EXPECT_THROW(run(in, "pearson_delta"), cellot::InputError);
  in.markers = nullptr;
  const std::vector<double> mean2{0, 0};
  in.control_mean = &mean2;
  EXPECT_THROW(run(in, "pearson_delta"), cellot::InputError);
  cellot::MetricsConfig cfg;
  cfg.top_k = "20,0";
  EXPECT_THROW(metrics::options_from_config(cfg, MPI_COMM_SELF, 0), cellot::InputError);
}

TEST(MetricsMarkers, RankByAbsoluteStandardisedMeanDifference) {
  // Feature 0: shift 1 with sd ~1; feature 1: shift -3 with sd ~1 (largest |SMD|); feature 2: no
  // shift; feature 3: constant in both sets with different values (infinite SMD, ranked first).
  const Matrix c0 = random_cells(500, 4, 11), t0 = random_cells(400, 4, 12);
  Matrix c = c0, t = t0;
  for (std::int64_t i = 0; i < t.rows; ++i) {
    t(i, 0) += 1.0;
    t(i, 1) -= 3.0;
    t(i, 3) = 2.0;
  }
  for (std::int64_t i = 0; i < c.rows; ++i) c(i, 3) = 1.0;
  const auto smd = metrics::standardised_mean_difference(c, t);
  EXPECT_TRUE(std::isinf(smd[3]) && smd[3] > 0);
  const auto mc = means(c), mt = means(t);
  double vc = 0, vt = 0;
  for (std::int64_t i = 0; i < c.rows; ++i) vc += (c(i, 1) - mc[1]) * (c(i, 1) - mc[1]) / (c.rows - 1);
  for (std::int64_t i = 0; i < t.rows; ++i) vt += (t(i, 1) - mt[1]) * (t(i, 1) - mt[1]) / (t.rows - 1);
  EXPECT_NEAR(smd[1], (mt[1] - mc[1]) / std::sqrt(0.5 * (vc + vt)), 1e-12);
  EXPECT_EQ(metrics::rank_markers(c, t), (std::vector<std::int64_t>{3, 1, 0, 2}));
  // Ties keep feature order; a feature equal in both sets has SMD 0.
  Matrix flat(3, 3);  // zeros
  EXPECT_EQ(metrics::rank_markers(flat, flat), (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_THROW(metrics::rank_markers(Matrix(0, 3), flat), cellot::InputError);
}

TEST(MetricsNames, NewMetricsInAllAndTheirDirections) {
  const auto all = metrics::expand_names("all", {0.5}, {50}, {20, 50});
  for (const char* n : {"e_distance", "pearson_delta", "pearson_delta@20", "pearson_delta@50", "r2_means",
                        "direction_acc@20", "direction_acc@50"})
    EXPECT_NE(std::find(all.begin(), all.end(), n), all.end()) << n;
  EXPECT_EQ(std::find(all.begin(), all.end(), "direction_acc"), all.end());  // only with a k
  EXPECT_EQ(metrics::expand_names("direction_acc,pearson_delta", {0.5}, {50}, {7, 9}),
            (std::vector<std::string>{"direction_acc@7", "direction_acc@9", "pearson_delta"}));
  EXPECT_THROW(metrics::expand_names("r2_means@3", {0.5}, {50}), cellot::InputError);
  EXPECT_EQ(metrics::direction("pearson_delta@20"), metrics::Direction::higher);
  EXPECT_EQ(metrics::direction("direction_acc@20"), metrics::Direction::higher);
  EXPECT_EQ(metrics::direction("r2_means"), metrics::Direction::higher);
  EXPECT_EQ(metrics::direction("e_distance"), metrics::Direction::lower);
  EXPECT_EQ(metrics::direction("discrimination"), metrics::Direction::lower);
  EXPECT_EQ(metrics::direction("knn_mix@50"), metrics::Direction::half);
}

// genes: metrics = the plain metrics on the submatrix of the first k markers, by hand: the
// k marker columns (in marker order) of predictions, observed cells and the control mean.
TEST(MetricsMarkerGenes, EqualPlainMetricsOnTheMarkerSubmatrix) {
  const Matrix ctrl = random_cells(40, 12, 1), treated = random_cells(30, 12, 2, 0.4);
  const Matrix pred = random_cells(40, 12, 3, 0.3), train_c = random_cells(50, 12, 4);
  Matrix train_t = random_cells(45, 12, 5);
  for (std::int64_t i = 0; i < train_t.rows; ++i) train_t(i, 7) += 2.0, train_t(i, 2) -= 1.0;
  const auto markers = metrics::rank_markers(train_c, train_t);
  ASSERT_EQ(markers[0], 7);
  const auto cm = means(ctrl);
  metrics::Input gi;
  gi.predicted = &pred;
  gi.observed = &treated;
  gi.control = &ctrl;
  gi.control_mean = &cm;
  gi.markers = &markers;
  cellot::MetricsConfig cfg;
  cfg.names = "pearson_delta,direction_acc,r2_means,e_distance,energy";
  cfg.top_k = "3,5,20";
  auto opts = metrics::options_from_config(cfg, MPI_COMM_SELF, 0);
  opts.names = metrics::marker_metric_names(opts.names, opts.top_k);
  ASSERT_EQ(opts.names.size(), 15u);
  EXPECT_EQ(opts.names.front(), "genes:pearson_delta@3");
  std::map<std::string, metrics::Value> got;
  for (const auto& v : metrics::compute_on_markers(gi, opts)) got[v.name] = v;
  for (const int k : {3, 5}) {
    const std::vector<std::int64_t> top(markers.begin(), markers.begin() + k);
    auto sub = [&](const Matrix& m) {
      Matrix out(m.rows, k);
      for (std::int64_t i = 0; i < m.rows; ++i)
        for (int j = 0; j < k; ++j) out(i, j) = m(i, top[static_cast<std::size_t>(j)]);
      return out;
    };
    const Matrix p = sub(pred), o = sub(treated), c = sub(ctrl);
    std::vector<double> cmk;
    for (const auto j : top) cmk.push_back(cm[static_cast<std::size_t>(j)]);
    const auto mp = means(p), mo = means(o);
    // direction_acc by hand
    double agree = 0;
    for (int j = 0; j < k; ++j) {
      const double a = mp[static_cast<std::size_t>(j)] - cmk[static_cast<std::size_t>(j)];
      const double b = mo[static_cast<std::size_t>(j)] - cmk[static_cast<std::size_t>(j)];
      agree += ((a > 0) - (a < 0)) == ((b > 0) - (b < 0)) ? 1 : 0;
    }
    const std::string at = "@" + std::to_string(k);
    EXPECT_NEAR(got.at("genes:direction_acc" + at).value, agree / k, 1e-15);
    EXPECT_NEAR(got.at("genes:e_distance" + at).value,
                2 * pair_mean(p, o, false) - pair_mean(p, p, true) - pair_mean(o, o, true), 1e-9);
    // The plain metrics on the submatrix (markers: the identity, as the columns are in marker order).
    std::vector<std::int64_t> id(static_cast<std::size_t>(k));
    for (int j = 0; j < k; ++j) id[static_cast<std::size_t>(j)] = j;
    metrics::Input si;
    si.predicted = &p;
    si.observed = &o;
    si.control = &c;
    si.control_mean = &cmk;
    si.markers = &id;
    const auto plain = run(si, "pearson_delta,r2_means,energy", std::to_string(k));
    for (const char* b : {"pearson_delta", "r2_means", "energy"})
      EXPECT_EQ(got.at(std::string("genes:") + b + at).value, plain.at(b).value) << b << at;
  }
  // k = 20 exceeds the 12 genes: unavailable.
  EXPECT_FALSE(got.at("genes:r2_means@20").available);
  EXPECT_TRUE(std::isnan(got.at("genes:energy@20").value));
  // The names: find_metric strips the prefixes (direction of the base metric).
  EXPECT_EQ(metrics::direction("genes:r2_means@20"), metrics::Direction::higher);
  EXPECT_EQ(metrics::direction("iid:genes:energy@20"), metrics::Direction::lower);
  EXPECT_TRUE(metrics::is_marker_metric("iid:genes:energy@20"));
  EXPECT_FALSE(metrics::is_marker_metric("energy"));
  // Without a marker-meaningful metric named there are none; explicit ks are kept.
  EXPECT_TRUE(metrics::marker_metric_names({"mmd", "w2_eps"}, {20}).empty());
  EXPECT_EQ(metrics::marker_metric_names({"pearson_delta@7"}, {20, 50}), std::vector<std::string>{"genes:pearson_delta@7"});
}
