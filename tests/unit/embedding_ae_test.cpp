// The ae:K embedding (models/embedding_ae, data/ae_codec): the float64 codec equals the float32
// torch forward pass of the fitted AeNet; the transform survives serialisation (in memory and
// through HDF5) bit for bit; the fit is deterministic for a seed and independent of the thread
// count, and differs for another seed.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/data/transform.hpp"
#include "cellot/io/named_array.hpp"
#include "cellot/models/autoencoder/autoencoder.hpp"
#include "cellot/models/embedding_ae.hpp"
#include "cellot/nn/threads.hpp"

using namespace cellot;

namespace {

// Sparse-ish non-negative "log expression": 3 latent factors through a fixed loading, soft-
// thresholded so about half the entries are 0.
Matrix cells(std::int64_t n, std::int64_t d, std::uint64_t seed) {
  Rng rng(seed, "cells");
  Rng lr(7, "loading");
  std::vector<double> a(static_cast<std::size_t>(d * 3));
  for (auto& v : a) v = lr.normal();
  Matrix x(n, d);
  for (std::int64_t i = 0; i < n; ++i) {
    const double u[3] = {rng.normal(), rng.normal(), rng.normal()};
    for (std::int64_t j = 0; j < d; ++j) {
      double v = 0.3 * rng.normal();
      for (int k = 0; k < 3; ++k) v += a[static_cast<std::size_t>(j * 3 + k)] * u[k];
      x(i, j) = v > 0 ? v : 0.0;
    }
  }
  return x;
}

DataConfig ae_config() {
  DataConfig cfg;
  cfg.embedding = "ae:4";
  cfg.ae_width = 16;
  cfg.ae_depth = 2;
  cfg.ae_epochs = 4;
  cfg.ae_batch_size = 32;
  cfg.ae_patience = 2;
  return cfg;
}

struct ThreadScope {
  explicit ThreadScope(int n) { nn::set_threads(n); }
  ~ThreadScope() { nn::set_threads(1); }
};

std::vector<float> as_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// The codec's weights back in an AeNet (exactly: they are float32 values held as float64).
models::AeNet net_of(const data::AeCodec& c, const DataConfig& cfg) {
  models::AeNet net(c.input_dim(), 0, models::AeHyper{cfg.ae_width, cfg.ae_depth, static_cast<int>(c.latent_dim()), 0.0, cfg.ae_lr});
  std::vector<models::NamedTensor> t;
  auto put = [&](const std::string& prefix, const std::vector<data::AeLayer>& layers) {
    for (std::size_t l = 0; l < layers.size(); ++l) {
      t.push_back({prefix + "." + std::to_string(l) + ".weight", {layers[l].out, layers[l].in}, as_float(layers[l].weight)});
      t.push_back({prefix + "." + std::to_string(l) + ".bias", {layers[l].out}, as_float(layers[l].bias)});
    }
  };
  put("encoder", c.encoder);
  put("decoder", c.decoder);
  net.import_from(t);
  return net;
}

double rms(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s / static_cast<double>(v.size()));
}

}  // namespace

TEST(EmbeddingAe, CodecEqualsTorchForward) {
  const DataConfig cfg = ae_config();
  const Matrix x = cells(200, 24, 1);
  const auto fit = models::fit_embedding_ae(cfg, x, 11);
  const data::AeCodec& c = fit.codec;
  ASSERT_EQ(c.input_dim(), 24);
  ASSERT_EQ(c.latent_dim(), 4);
  ASSERT_EQ(c.encoder.size(), 3u);  // depth 2: d -> w -> w -> K
  const models::AeNet net = net_of(c, cfg);

  std::vector<float> u(static_cast<std::size_t>(x.rows * x.cols));
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < x.cols; ++j)
      u[static_cast<std::size_t>(i * x.cols + j)] = static_cast<float>((x(i, j) - c.in_center[static_cast<std::size_t>(j)]) / c.in_scale);
  const std::vector<float> z_torch = net.encode(u.data(), x.rows, nullptr);
  const Matrix z = c.encode(x);
  const double zs = rms(z.data);
  ASSERT_GT(zs, 0);
  for (std::size_t i = 0; i < z.data.size(); ++i) EXPECT_NEAR(z.data[i], z_torch[i], 2e-6 * zs) << i;

  std::vector<float> zf(z.data.begin(), z.data.end());
  const std::vector<float> u_torch = net.decode(zf.data(), z.rows, nullptr);
  const Matrix r = c.decode(z);
  const double rs = rms(r.data);
  for (std::int64_t i = 0; i < r.rows; ++i)
    for (std::int64_t j = 0; j < r.cols; ++j) {
      const double want = u_torch[static_cast<std::size_t>(i * r.cols + j)] * c.in_scale + c.in_center[static_cast<std::size_t>(j)];
      EXPECT_NEAR(r(i, j), want, 2e-6 * rs) << i << "," << j;
    }
}

TEST(EmbeddingAe, TransformSerialisationRoundTrip) {
  DataConfig cfg = ae_config();
  const Matrix x = cells(150, 20, 2);
  const auto t = data::fit_transform_ae(cfg, x, models::fit_embedding_ae(cfg, x, 5).codec);
  EXPECT_TRUE(t.from_ae());
  EXPECT_EQ(t.dim(), 4);
  EXPECT_EQ(t.names({})[0], "AE1");
  EXPECT_TRUE(std::isfinite(t.explained_variance()));
  const auto back = data::FeatureTransform::from_group(t.to_group(), "memory");
  EXPECT_TRUE(back == t);

  const std::string path = ::testing::TempDir() + "embedding_ae_test.h5";
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  io::write_array_group(f, "/transform", t.to_group(), path);
  H5Fclose(f);
  f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const auto disk = data::FeatureTransform::from_group(io::read_array_group(f, "/transform", path), path);
  H5Fclose(f);
  std::remove(path.c_str());
  EXPECT_TRUE(disk == t);
  EXPECT_EQ(disk.embed(x).data, t.embed(x).data);
  const Matrix z = t.standardize(t.embed(x));
  EXPECT_EQ(disk.decode_embedding(disk.unstandardize(z)).data, t.decode_embedding(t.unstandardize(z)).data);

  // A truncated group is refused.
  auto g = t.to_group();
  g.arrays.pop_back();
  EXPECT_THROW(data::FeatureTransform::from_group(g, "memory"), InputError);
}

TEST(EmbeddingAe, FitDeterministicAndThreadIndependent) {
  const DataConfig cfg = ae_config();
  const Matrix x = cells(300, 16, 3);
  data::AeCodec one;
  {
    ThreadScope scope(1);
    one = models::fit_embedding_ae(cfg, x, 9).codec;
  }
  data::AeCodec again;
  {
    ThreadScope scope(1);
    again = models::fit_embedding_ae(cfg, x, 9).codec;
  }
  data::AeCodec three;
  {
    ThreadScope scope(3);
    three = models::fit_embedding_ae(cfg, x, 9).codec;
  }
  EXPECT_TRUE(one == again);
  EXPECT_TRUE(one == three);
  const data::AeCodec other = models::fit_embedding_ae(cfg, x, 10).codec;
  EXPECT_FALSE(one == other);
}

TEST(EmbeddingAe, LearnsTheLowRankStructure) {
  DataConfig cfg = ae_config();
  cfg.ae_epochs = 40;
  cfg.ae_patience = 0;
  const Matrix x = cells(400, 16, 4);
  const auto t = data::fit_transform_ae(cfg, x, models::fit_embedding_ae(cfg, x, 3).codec);
  // Three factors through a 4-dimensional code: most of the variance is reconstructed.
  EXPECT_GT(t.explained_variance(), 0.6);
}
