// Feature transforms: randomized PCA against an exact eigen-decomposition, standardisation
// statistics, exact inverses, the obsm linear decoder, serialisation, and the fit sample.
#include <gtest/gtest.h>

#include <cmath>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/pca.hpp"
#include "cellot/data/transform.hpp"

using namespace cellot;

namespace {

// n cells in d features: a rank-r signal with decaying scales plus small noise, a few exact zeros
// (the sparse path), means away from 0.
Matrix low_rank_cells(std::int64_t n, std::int64_t d, int r, std::uint64_t seed) {
  Rng rng(seed);
  Matrix w(r, d);
  for (auto& v : w.data) v = rng.normal();
  Matrix x(n, d);
  for (std::int64_t i = 0; i < n; ++i) {
    for (int a = 0; a < r; ++a) {
      const double z = rng.normal() * (3.0 / (a + 1));
      for (std::int64_t j = 0; j < d; ++j) x(i, j) += z * w(a, j);
    }
    for (std::int64_t j = 0; j < d; ++j) {
      x(i, j) += 0.05 * rng.normal() + 2.0 + j % 3;
      if ((i + j) % 7 == 0) x(i, j) = 0.0;
    }
  }
  return x;
}

Matrix covariance(const Matrix& x) {
  const std::int64_t n = x.rows, d = x.cols;
  std::vector<double> mean(static_cast<std::size_t>(d), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < d; ++j) mean[static_cast<std::size_t>(j)] += x(i, j) / static_cast<double>(n);
  Matrix c(d, d);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t a = 0; a < d; ++a)
      for (std::int64_t b = 0; b < d; ++b)
        c(a, b) += (x(i, a) - mean[static_cast<std::size_t>(a)]) * (x(i, b) - mean[static_cast<std::size_t>(b)]) /
                   static_cast<double>(n - 1);
  return c;
}

DataConfig cfg_of(const std::string& embedding, const std::string& standardize) {
  DataConfig c;
  c.embedding = embedding;
  c.standardize = standardize;
  return c;
}

}  // namespace

TEST(Pca, MatchesExactEigenvectorsOfTheCovariance) {
  const Matrix x = low_rank_cells(400, 30, 6, 1);
  const int k = 5;
  const data::Pca p = data::fit_pca(x, k);
  std::vector<double> ev;
  Matrix vec;
  data::symmetric_eigen(covariance(x), ev, vec);
  for (int c = 0; c < k; ++c) {
    EXPECT_NEAR(p.variance[static_cast<std::size_t>(c)], ev[static_cast<std::size_t>(c)], 1e-6 * ev[0]) << c;
    double dot = 0;
    for (std::int64_t j = 0; j < x.cols; ++j) dot += p.components(c, j) * vec(j, c);
    EXPECT_NEAR(std::abs(dot), 1.0, 1e-6) << "component " << c;
  }
  double total = 0;
  for (double v : ev) total += v;
  EXPECT_NEAR(p.total_variance, total, 1e-9 * total);
}

TEST(Pca, DeterministicWithFixedSigns) {
  const Matrix x = low_rank_cells(200, 20, 4, 2);
  const data::Pca a = data::fit_pca(x, 3), b = data::fit_pca(x, 3);
  EXPECT_EQ(a.components.data, b.components.data);
  for (std::int64_t c = 0; c < 3; ++c) {
    std::int64_t arg = 0;
    for (std::int64_t j = 1; j < x.cols; ++j)
      if (std::abs(a.components(c, j)) > std::abs(a.components(c, arg))) arg = j;
    EXPECT_GT(a.components(c, arg), 0.0);
  }
  EXPECT_THROW(data::fit_pca(x, 21), InputError);
}

TEST(Transform, PerFeatureStandardisationHasUnitScaleAndInvertsExactly) {
  Matrix x = low_rank_cells(300, 6, 3, 3);
  for (std::int64_t i = 0; i < x.rows; ++i) x(i, 2) *= 1000.0;  // a feature in other units
  const auto t = data::fit_transform(cfg_of("none", "true"), x, nullptr);
  EXPECT_EQ(t.scaling(), data::FeatureTransform::Scaling::per_feature);
  const Matrix z = t.standardize(x);
  for (std::int64_t j = 0; j < x.cols; ++j) {
    double m = 0, v = 0;
    for (std::int64_t i = 0; i < z.rows; ++i) m += z(i, j) / static_cast<double>(z.rows);
    for (std::int64_t i = 0; i < z.rows; ++i) v += (z(i, j) - m) * (z(i, j) - m) / static_cast<double>(z.rows - 1);
    EXPECT_NEAR(m, 0.0, 1e-12);
    EXPECT_NEAR(v, 1.0, 1e-12);
  }
  const Matrix back = t.decode_embedding(t.unstandardize(z));
  for (std::size_t i = 0; i < x.data.size(); ++i) EXPECT_NEAR(back.data[i], x.data[i], 1e-12 * (1 + std::abs(x.data[i])));
  // false: the identity, bit for bit.
  const auto off = data::fit_transform(cfg_of("none", "false"), x, nullptr);
  EXPECT_EQ(off.standardize(x).data, x.data);
}

TEST(Transform, GlobalScaleKeepsRatiosBetweenFeatures) {
  const Matrix x = low_rank_cells(300, 6, 3, 4);
  const auto t = data::fit_transform(cfg_of("none", "global"), x, nullptr);
  const Matrix z = t.standardize(x);
  // One common scale: differences between cells shrink by the same factor in every feature.
  const double r0 = (x(1, 0) - x(0, 0)) / (z(1, 0) - z(0, 0)), r5 = (x(1, 5) - x(0, 5)) / (z(1, 5) - z(0, 5));
  EXPECT_NEAR(r0, r5, 1e-9 * std::abs(r0));
}

TEST(Transform, PcaEmbeddingDecodesToTheProjection) {
  const Matrix x = low_rank_cells(300, 25, 4, 5);
  const auto t = data::fit_transform(cfg_of("pca:4", "true"), x, nullptr);
  EXPECT_EQ(t.dim(), 4);
  EXPECT_EQ(t.scaling(), data::FeatureTransform::Scaling::global);
  EXPECT_EQ(t.names({}).front(), "PC1");
  // Decoding the embedding is the orthogonal projection onto the components: its squared error
  // is the variance the components leave out (Pythagoras), and the four carry most of it.
  const Matrix back = t.decode_embedding(t.unstandardize(t.standardize(t.embed(x))));
  double err = 0;
  for (std::size_t i = 0; i < x.data.size(); ++i) err += (back.data[i] - x.data[i]) * (back.data[i] - x.data[i]);
  const data::Pca p = data::fit_pca(x, 4);
  double kept = 0;
  for (double v : p.variance) kept += v;
  EXPECT_NEAR(err / static_cast<double>(x.rows - 1), p.total_variance - kept, 1e-6 * p.total_variance);
  EXPECT_NEAR(t.explained_variance(), kept / p.total_variance, 1e-12);
  EXPECT_GT(t.explained_variance(), 0.7);
  // With every component the round trip is exact.
  const auto all = data::fit_transform(cfg_of("pca:25", "false"), x, nullptr);
  const Matrix exact = all.decode_embedding(all.embed(x));
  for (std::size_t i = 0; i < x.data.size(); ++i) EXPECT_NEAR(exact.data[i], x.data[i], 1e-9);
}

TEST(Transform, ObsmDecoderIsTheLeastSquaresLinearMap) {
  // x = e W + b exactly: the decoder must recover it.
  Rng rng(6);
  Matrix e(200, 3), w(3, 7);
  for (auto& v : e.data) v = rng.normal();
  for (auto& v : w.data) v = rng.normal();
  Matrix x(200, 7);
  for (std::int64_t i = 0; i < 200; ++i)
    for (std::int64_t j = 0; j < 7; ++j) {
      x(i, j) = 0.5 * static_cast<double>(j);
      for (int a = 0; a < 3; ++a) x(i, j) += e(i, a) * w(a, j);
    }
  const auto t = data::fit_transform(cfg_of("obsm:X_lat", "true"), x, &e);
  EXPECT_TRUE(t.from_obsm());
  EXPECT_EQ(t.obsm_key(), "X_lat");
  EXPECT_EQ(t.names({}).back(), "X_lat_3");
  const Matrix back = t.decode_embedding(t.unstandardize(t.standardize(e)));
  for (std::size_t i = 0; i < x.data.size(); ++i) EXPECT_NEAR(back.data[i], x.data[i], 1e-8);
}

TEST(Transform, SerialisationRoundTripsBitForBit) {
  const Matrix x = low_rank_cells(150, 12, 3, 7);
  for (const char* emb : {"none", "pca:3"}) {
    const auto t = data::fit_transform(cfg_of(emb, "true"), x, nullptr);
    const auto back = data::FeatureTransform::from_group(t.to_group(), "test");
    EXPECT_TRUE(back == t) << emb;
    EXPECT_EQ(back.standardize(back.embed(x)).data, t.standardize(t.embed(x)).data) << emb;
  }
  io::ArrayGroup bad;
  bad.spec = "something else";
  EXPECT_THROW(data::FeatureTransform::from_group(bad, "test"), InputError);
}

TEST(Transform, FitSampleIsEvenlySpacedAndCapped) {
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0; i < 100; ++i) rows.push_back(3 * i);
  EXPECT_EQ(data::fit_sample(rows, 200), rows);
  const auto s = data::fit_sample(rows, 10);
  ASSERT_EQ(s.size(), 10u);
  EXPECT_EQ(s.front(), 0);
  EXPECT_EQ(s[1], 30);
  EXPECT_EQ(s.back(), 270);
}
