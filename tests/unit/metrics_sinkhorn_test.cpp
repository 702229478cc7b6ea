// Sinkhorn against a dense textbook log-domain implementation (std::exp, full cost matrix, the
// same POT-style iteration and stopping rule), across storage modes and the eps range.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/metrics/metrics.hpp"

using cellot::Matrix;
namespace metrics = cellot::metrics;

namespace {

// Jointly standardised random clouds (the regime the metrics see).
void standardised_pair(std::int64_t n, std::int64_t m, std::int64_t d, std::uint64_t seed, Matrix& x, Matrix& y) {
  cellot::Rng rng(seed);
  x = Matrix(n, d);
  y = Matrix(m, d);
  for (auto& v : x.data) v = rng.normal();
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t k = 0; k < d; ++k) y(i, k) = 0.5 + 1.3 * rng.normal() + (k == 0 ? 0.8 * y(i, k) : 0.0);
  for (std::int64_t k = 0; k < d; ++k) {
    double s = 0, q = 0;
    for (std::int64_t i = 0; i < n; ++i) s += x(i, k);
    for (std::int64_t i = 0; i < m; ++i) s += y(i, k);
    const double mu = s / (n + m);
    for (std::int64_t i = 0; i < n; ++i) q += (x(i, k) - mu) * (x(i, k) - mu);
    for (std::int64_t i = 0; i < m; ++i) q += (y(i, k) - mu) * (y(i, k) - mu);
    const double sd = std::sqrt(q / (n + m));
    for (std::int64_t i = 0; i < n; ++i) x(i, k) = (x(i, k) - mu) / sd;
    for (std::int64_t i = 0; i < m; ++i) y(i, k) = (y(i, k) - mu) / sd;
  }
}

struct Dense {
  double cost = 0;
  int iterations = 0;
};

double lse(const std::vector<double>& t) {
  const double m = *std::max_element(t.begin(), t.end());
  double s = 0;
  for (const double v : t) s += std::exp(v - m);
  return m + std::log(s);
}

Dense dense_sinkhorn(const Matrix& x, const Matrix& y, double eps, double tol, int max_iter) {
  const auto n = x.rows, m = y.rows;
  std::vector<double> mr(static_cast<std::size_t>(n * m));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < m; ++j) {
      double c = 0;
      for (std::int64_t k = 0; k < x.cols; ++k) c += (x(i, k) - y(j, k)) * (x(i, k) - y(j, k));
      mr[static_cast<std::size_t>(i * m + j)] = -c / eps;
    }
  const double la = -std::log(double(n)), lb = -std::log(double(m));
  std::vector<double> u(n, 0.0), v(m, 0.0), t;
  int it = 0;
  for (; it < max_iter; ++it) {
    for (std::int64_t j = 0; j < m; ++j) {
      t.assign(n, 0.0);
      for (std::int64_t i = 0; i < n; ++i) t[i] = mr[i * m + j] + u[i];
      v[j] = lb - lse(t);
    }
    for (std::int64_t i = 0; i < n; ++i) {
      t.assign(m, 0.0);
      for (std::int64_t j = 0; j < m; ++j) t[j] = mr[i * m + j] + v[j];
      u[i] = la - lse(t);
    }
    if (it % 10 == 0) {
      double err = 0;
      for (std::int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (std::int64_t i = 0; i < n; ++i) s += std::exp(mr[i * m + j] + u[i] + v[j]);
        err += (s - std::exp(lb)) * (s - std::exp(lb));
      }
      if (std::sqrt(err) < tol) break;
    }
  }
  Dense r;
  r.iterations = std::min(it + 1, max_iter);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < m; ++j) r.cost += std::exp(mr[i * m + j] + u[i] + v[j]) * (-mr[i * m + j] * eps);
  return r;
}

}  // namespace

class SinkhornEps : public ::testing::TestWithParam<double> {};

// Both ends of the required range (100 down to 0.01) and the metric's 0.5, every storage mode.
TEST_P(SinkhornEps, MatchesDenseReferenceInEveryStorageMode) {
  const double eps = GetParam();
  Matrix x, y;
  standardised_pair(70, 45, 4, 11, x, y);
  const double tol = 1e-10;
  const int max_iter = 20000;
  const Dense ref = dense_sinkhorn(x, y, eps, tol, max_iter);
  const auto cached = metrics::sinkhorn(x, y, eps, tol, max_iter, MPI_COMM_SELF);
  const auto streamed = metrics::sinkhorn(x, y, eps, tol, max_iter, MPI_COMM_SELF, nullptr, nullptr, 0);
  EXPECT_EQ(streamed.storage, "streaming");
  EXPECT_EQ(cached.storage, eps >= 0.1 ? "kernel-cache" : "cost-cache");
  for (const auto* r : {&cached, &streamed}) {
    EXPECT_TRUE(r->converged);
    EXPECT_LT(r->marginal_error, tol);
    EXPECT_EQ(r->iterations, ref.iterations);
    EXPECT_NEAR(r->cost, ref.cost, 1e-10 * ref.cost) << r->storage;
    EXPECT_TRUE(std::isfinite(r->objective));
    EXPECT_EQ(r->f.size(), 70u);
    EXPECT_EQ(r->g.size(), 45u);
  }
  EXPECT_NEAR(cached.cost, streamed.cost, 1e-11 * ref.cost);
}

INSTANTIATE_TEST_SUITE_P(Range, SinkhornEps, ::testing::Values(100.0, 10.0, 0.5, 0.05, 0.01));

TEST(Sinkhorn, StandardisedHighDimensionAtSmallEpsStaysFinite) {
  // Costs up to ~200 with eps = 0.01: exponents of -2e4, far outside double range without
  // the log domain.
  Matrix x, y;
  standardised_pair(90, 60, 48, 12, x, y);
  // (Convergence to a tight tolerance takes ~1e5 iterations here; stability is the point.)
  const auto early = metrics::sinkhorn(x, y, 0.01, 1e-12, 11, MPI_COMM_SELF);
  const auto r = metrics::sinkhorn(x, y, 0.01, 1e-12, 2001, MPI_COMM_SELF);
  EXPECT_EQ(r.storage, "cost-cache");
  EXPECT_TRUE(std::isfinite(r.cost));
  EXPECT_TRUE(std::isfinite(r.objective));
  EXPECT_GT(r.cost, 0);
  EXPECT_LT(r.marginal_error, 0.5 * early.marginal_error);
  for (const double f : r.f) ASSERT_TRUE(std::isfinite(f));
  for (const double g : r.g) ASSERT_TRUE(std::isfinite(g));
  const auto s = metrics::sinkhorn(x, y, 0.01, 1e-12, 2001, MPI_COMM_SELF, nullptr, nullptr, 0);
  EXPECT_NEAR(s.cost, r.cost, 1e-11 * r.cost);
}

TEST(Sinkhorn, LargeEpsApproachesIndependentCoupling) {
  Matrix x, y;
  standardised_pair(40, 30, 3, 13, x, y);
  double mean_cost = 0;
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < y.rows; ++j)
      for (std::int64_t k = 0; k < 3; ++k) mean_cost += (x(i, k) - y(j, k)) * (x(i, k) - y(j, k));
  mean_cost /= x.rows * y.rows;
  const auto r = metrics::sinkhorn(x, y, 1e5, 1e-12, 1000, MPI_COMM_SELF);
  EXPECT_NEAR(r.cost, mean_cost, 1e-3 * mean_cost);
  EXPECT_NEAR(r.objective, r.cost, 1e-3 * mean_cost);  // the plan is ~ a b^T: KL ~ 0
}

TEST(Sinkhorn, WarmStartFromSolutionStopsAtFirstCheck) {
  Matrix x, y;
  standardised_pair(60, 50, 5, 14, x, y);
  const auto cold = metrics::sinkhorn(x, y, 0.2, 1e-10, 20000, MPI_COMM_SELF);
  ASSERT_GT(cold.iterations, 11);
  const auto warm = metrics::sinkhorn(x, y, 0.2, 1e-10, 20000, MPI_COMM_SELF, &cold.f, &cold.g);
  EXPECT_EQ(warm.iterations, 1);  // the state after one update already meets the tolerance
  EXPECT_NEAR(warm.cost, cold.cost, 1e-9 * cold.cost);
  // max_iter = 0 evaluates the given potentials' plan.
  const auto eval = metrics::sinkhorn(x, y, 0.2, 1e-10, 0, MPI_COMM_SELF, &cold.f, &cold.g);
  EXPECT_EQ(eval.iterations, 0);
  EXPECT_NEAR(eval.cost, cold.cost, 1e-9 * cold.cost);
  EXPECT_THROW(metrics::sinkhorn(x, y, 0.2, 1e-10, 0, MPI_COMM_SELF), cellot::InputError);
}

TEST(Sinkhorn, IterationCapIsReportedAsNotConverged) {
  Matrix x, y;
  standardised_pair(50, 50, 5, 15, x, y);
  const auto r = metrics::sinkhorn(x, y, 0.05, 1e-14, 7, MPI_COMM_SELF);
  EXPECT_FALSE(r.converged);
  EXPECT_EQ(r.iterations, 7);
  EXPECT_GT(r.marginal_error, 0);
  const Dense ref = dense_sinkhorn(x, y, 0.05, 1e-14, 7);
  EXPECT_NEAR(r.cost, ref.cost, 1e-11 * ref.cost);
}

TEST(SinkhornDivergence, ZeroForEqualSetsPositiveAndGrowingWithShift) {
  Matrix x, y;
  standardised_pair(50, 40, 3, 16, x, y);
  EXPECT_NEAR(metrics::sinkhorn_divergence(x, x, 0.5, 1e-10, 20000, MPI_COMM_SELF), 0.0, 1e-12);
  Matrix y1 = x, y2 = x;
  for (std::int64_t i = 0; i < x.rows; ++i) {
    y1(i, 0) += 0.5;
    y2(i, 0) += 1.0;
  }
  for (const double eps : {0.5, 1.0, 10.0, 100.0}) {
    const double d1 = metrics::sinkhorn_divergence(x, y1, eps, 1e-10, 20000, MPI_COMM_SELF);
    const double d2 = metrics::sinkhorn_divergence(x, y2, eps, 1e-10, 20000, MPI_COMM_SELF);
    EXPECT_GT(d1, 0) << eps;
    EXPECT_GT(d2, d1) << eps;
    // A pure translation by t: the debiased divergence is exactly |t|^2 for any eps.
    EXPECT_NEAR(d1, 0.25, 1e-6) << eps;
    EXPECT_NEAR(d2, 1.0, 1e-6) << eps;
  }
}

TEST(Sinkhorn, RejectsBadArguments) {
  Matrix x, y;
  standardised_pair(5, 5, 2, 17, x, y);
  EXPECT_THROW(metrics::sinkhorn(x, y, 0.0, 1e-9, 10, MPI_COMM_SELF), cellot::InputError);
  EXPECT_THROW(metrics::sinkhorn(x, Matrix(0, 2), 0.5, 1e-9, 10, MPI_COMM_SELF), cellot::InputError);
  std::vector<double> bad(3, 0.0);
  EXPECT_THROW(metrics::sinkhorn(x, y, 0.5, 1e-9, 10, MPI_COMM_SELF, &bad), cellot::InputError);
}
