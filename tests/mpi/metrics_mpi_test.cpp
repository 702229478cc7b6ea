// Distributed metrics with real ranks: every rank also evaluates the full sets serially
// (MPI_COMM_SELF) and compares. MMD, energy, kNN and Sinkhorn (streaming, cost cache and kernel
// cache) are owner-computes with exact combination or per-block partials added in block order,
// so they must be bit-identical to one rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/metrics/markers.hpp"
#include "cellot/metrics/metrics.hpp"
#include "detail/knn.hpp"
#include "test_size.hpp"

using cellot::Matrix;
namespace metrics = cellot::metrics;

namespace {

int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

Matrix cells(std::int64_t n, std::int64_t d, std::uint64_t seed, double shift) {
  cellot::Rng rng(seed);
  Matrix m(n, d);
  for (auto& v : m.data) v = shift + rng.normal();
  return m;
}

// Rank r's contiguous share of the rows, uneven on purpose (rank 0 gets the remainder).
Matrix slice(const Matrix& m) {
  const std::int64_t base = m.rows / size(), extra = m.rows % size();
  const std::int64_t begin = rank() == 0 ? 0 : extra + rank() * base;
  const std::int64_t count = base + (rank() == 0 ? extra : 0);
  std::vector<std::int64_t> idx;
  for (std::int64_t i = begin; i < begin + count; ++i) idx.push_back(i);
  return m.select_rows(idx);
}

// The same value on every rank, bit for bit.
void expect_same_on_all_ranks(double v) {
  std::vector<double> all(static_cast<std::size_t>(size()));
  MPI_Allgather(&v, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD);
  for (const double a : all) EXPECT_EQ(a, v);
}

// Sizes with several 64-cell blocks so that every rank owns some pair work.
const Matrix kX = cells(203, 6, 1, 0.0);
const Matrix kY = cells(150, 6, 2, 0.4);
const std::vector<double> kGammas{2, 1, 0.5, 0.1, 0.01, 0.005};

}  // namespace

TEST(MetricsMpi, MmdAndEnergyBitIdenticalToSerialInBothLayouts) {
  const double serial_mmd = metrics::mmd_rbf(kX, kY, kGammas, MPI_COMM_SELF);
  const double serial_energy = metrics::energy_distance(kX, kY, MPI_COMM_SELF);
  const double mmd = metrics::mmd_rbf(kX, kY, kGammas, MPI_COMM_WORLD);
  const double energy = metrics::energy_distance(kX, kY, MPI_COMM_WORLD);
  EXPECT_EQ(mmd, serial_mmd);
  EXPECT_EQ(energy, serial_energy);
  expect_same_on_all_ranks(mmd);
  const Matrix xs = slice(kX), ys = slice(kY);
  EXPECT_EQ(metrics::mmd_rbf(xs, ys, kGammas, MPI_COMM_WORLD, metrics::Layout::sliced), serial_mmd);
  EXPECT_EQ(metrics::energy_distance(xs, ys, MPI_COMM_WORLD, metrics::Layout::sliced), serial_energy);
  EXPECT_GT(serial_mmd, 0.0);
}

TEST(MetricsMpi, SinkhornBitIdenticalToSerialStreamingAndCached) {
  // Storage by problem size: 4 row blocks of 64 cells; a budget of two blocks' costs streams on
  // any number of ranks (it used to cache on 2+ ranks, whose per-rank share fit).
  const std::int64_t two_blocks = 8 * 2 * 64 * 192;
  // Reduced size (the sanitizers): at most 30 iterations (3 convergence checks); the bits need no
  // convergence.
  const int max_iters = cellot::test::reduced_size() ? 30 : 5000;
  for (const double eps : {0.5, 0.05, 0.002}) {
    const int iters = std::min(eps < 0.01 ? 200 : 5000, max_iters);  // the cost cache at small eps
    for (const std::int64_t budget : {metrics::kSinkhornCacheBytes, std::int64_t{0}, two_blocks}) {
      const auto serial = metrics::sinkhorn(kX, kY, eps, 1e-9, iters, MPI_COMM_SELF, nullptr, nullptr, budget);
      const auto world = metrics::sinkhorn(kX, kY, eps, 1e-9, iters, MPI_COMM_WORLD, nullptr, nullptr, budget);
      EXPECT_EQ(world.storage, serial.storage) << eps << " " << budget;
      EXPECT_EQ(world.cost, serial.cost) << eps << " " << budget << " " << serial.storage;
      EXPECT_EQ(world.objective, serial.objective) << eps << " " << budget << " " << serial.storage;
      EXPECT_EQ(world.iterations, serial.iterations);
      EXPECT_EQ(world.f, serial.f);
      EXPECT_EQ(world.g, serial.g);
      expect_same_on_all_ranks(world.cost);
      if (budget == two_blocks) {
        EXPECT_EQ(serial.storage, "streaming");
      }
    }
    const auto serial = metrics::sinkhorn(kX, kY, eps, 1e-9, iters, MPI_COMM_SELF);
    const auto stream = metrics::sinkhorn(kX, kY, eps, 1e-9, iters, MPI_COMM_SELF, nullptr, nullptr, 0);
    EXPECT_NE(serial.storage, "streaming");
    EXPECT_NEAR(serial.cost, stream.cost, 1e-12 * serial.cost);  // other storage, other summation order
    const auto sliced = metrics::sinkhorn(slice(kX), slice(kY), eps, 1e-9, iters, MPI_COMM_WORLD, nullptr, nullptr,
                                          metrics::kSinkhornCacheBytes, metrics::Layout::sliced);
    EXPECT_EQ(sliced.cost, serial.cost);
    EXPECT_EQ(sliced.f, serial.f);
  }
  const double div = metrics::sinkhorn_divergence(kX, kY, 1.0, 1e-9, max_iters, MPI_COMM_WORLD);
  const double div_serial = metrics::sinkhorn_divergence(kX, kY, 1.0, 1e-9, max_iters, MPI_COMM_SELF);
  EXPECT_EQ(div, div_serial);
}

TEST(MetricsMpi, KnnMixingBitIdenticalToSerial) {
  const std::vector<int> ks{5, 50};
  const auto serial = metrics::detail::knn_mix(kX, kY, ks, MPI_COMM_SELF);
  std::vector<double> per_cell;
  const auto dist = metrics::detail::knn_mix(kX, kY, ks, MPI_COMM_WORLD, &per_cell);
  EXPECT_EQ(dist, serial);
  ASSERT_EQ(per_cell.size(), 2 * static_cast<std::size_t>(kX.rows));
}

TEST(MetricsMpi, ComputeOverRankGroupMatchesSerial) {
  const Matrix ctrl = cells(203, 6, 3, 0.0);
  Matrix pred = ctrl;
  for (auto& v : pred.data) v = 0.3 + 1.1 * v;
  const Matrix obs = cells(170, 6, 4, 0.3);
  cellot::MetricsConfig cfg;
  cfg.top_k = "2,4";  // the change metrics @k on 6 features
  if (cellot::test::reduced_size()) cfg.sinkhorn_max_iter = 30;  // agreement needs no convergence
  const auto markers = metrics::rank_markers(ctrl, obs);
  metrics::Input in;
  in.predicted = &pred;
  in.observed = &obs;
  in.control = &ctrl;
  in.markers = &markers;
  auto serial_opts = metrics::options_from_config(cfg, MPI_COMM_SELF, 5);
  auto group_opts = metrics::options_from_config(cfg, MPI_COMM_WORLD, 5);
  const auto serial = metrics::compute(in, serial_opts);
  const auto group = metrics::compute(in, group_opts);
  ASSERT_EQ(serial.size(), group.size());
  for (std::size_t t = 0; t < serial.size(); ++t) {
    ASSERT_EQ(serial[t].name, group[t].name);
    if (!serial[t].available) {
      EXPECT_FALSE(group[t].available);
      continue;
    }
    EXPECT_NEAR(group[t].value, serial[t].value, 1e-12 * std::abs(serial[t].value)) << serial[t].name;
    expect_same_on_all_ranks(group[t].value);
  }
  // Sliced inputs (paired control follows the predictions' slicing).
  const Matrix ps = slice(pred), os = slice(obs), cs = slice(ctrl);
  metrics::Input sin;
  sin.predicted = &ps;
  sin.observed = &os;
  sin.control = &cs;
  sin.markers = &markers;
  group_opts.layout = metrics::Layout::sliced;
  const auto sliced = metrics::compute(sin, group_opts);
  for (std::size_t t = 0; t < serial.size(); ++t) {
    if (serial[t].available) {
      EXPECT_NEAR(sliced[t].value, serial[t].value, 1e-12 * std::abs(serial[t].value)) << serial[t].name;
    }
  }
}

// Markers and the expression-change metrics: the same on every rank and for sliced inputs, bit
// for bit (per-feature moments over gathered cells in global row order).
TEST(MetricsMpi, MarkersAndChangeMetricsBitIdentical) {
  const auto serial_smd = metrics::standardised_mean_difference(kX, kY);
  const auto sliced_smd =
      metrics::standardised_mean_difference(slice(kX), slice(kY), MPI_COMM_WORLD, metrics::Layout::sliced);
  EXPECT_EQ(sliced_smd, serial_smd);
  for (const double v : serial_smd) expect_same_on_all_ranks(v);
  const auto markers = metrics::rank_markers(slice(kX), slice(kY), MPI_COMM_WORLD, metrics::Layout::sliced);
  EXPECT_EQ(markers, metrics::rank_markers(kX, kY));
  cellot::MetricsConfig cfg;
  cfg.names = "pearson_delta,r2_means,direction_acc,e_distance";
  cfg.top_k = "3";
  const Matrix ctrl = cells(150, 6, 9, 0.0);
  metrics::Input in;
  in.predicted = &kY;
  in.observed = &kX;
  in.control = &ctrl;
  in.markers = &markers;
  const auto serial = metrics::compute(in, metrics::options_from_config(cfg, MPI_COMM_SELF, 1));
  auto opts = metrics::options_from_config(cfg, MPI_COMM_WORLD, 1);
  opts.layout = metrics::Layout::sliced;
  const Matrix ps = slice(kY), os = slice(kX), cs = slice(ctrl);
  metrics::Input sin = in;
  sin.predicted = &ps;
  sin.observed = &os;
  sin.control = &cs;
  const auto dist = metrics::compute(sin, opts);
  ASSERT_EQ(dist.size(), 4u);
  for (std::size_t t = 0; t < serial.size(); ++t) {
    EXPECT_EQ(dist[t].value, serial[t].value) << serial[t].name;
    expect_same_on_all_ranks(dist[t].value);
    EXPECT_TRUE(std::isfinite(serial[t].value)) << serial[t].name;
  }
}

TEST(MetricsMpi, ReplicatedLayoutRejectsUnequalRowCounts) {
  if (size() == 1) GTEST_SKIP() << "needs two ranks";
  const Matrix mine = slice(kX);  // 203 rows split unevenly: counts differ across ranks
  EXPECT_THROW(metrics::mmd_rbf(mine, kY, kGammas, MPI_COMM_WORLD), cellot::InputError);
}
