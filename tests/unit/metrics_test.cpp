// Metric kernels against direct (brute-force, std::exp) evaluations on small random sets.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/metrics/metrics.hpp"
#include "detail/kernels.hpp"

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
