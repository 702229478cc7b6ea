// The CellOT trainer on one rank: it equals a plain loop of the algorithm, learns the known OT
// map between Gaussians, selects on the validation metric, resumes bit-identically, and reports
// divergence.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "cellot_small_config.hpp"
#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/models/cellot/cellot.hpp"
#include "cellot/nn/adam.hpp"
#include "cellot/models/cellot/cellot_steps.hpp"
#include "cellot/models/cellot/cellot_trainer.hpp"

using cellot::Config;
using cellot::Matrix;
using cellot::Rng;
namespace models = cellot::models;
namespace models = cellot::models;
namespace nn = cellot::nn;

namespace {

// Rows x ~ N(mean, L L^T).
Matrix gaussian(std::int64_t n, const std::vector<double>& mean, const at::Tensor& chol, Rng& rng) {
  const std::int64_t d = static_cast<std::int64_t>(mean.size());
  Matrix m(n, d);
  const auto L = chol.accessor<double, 2>();
  std::vector<double> z(static_cast<std::size_t>(d));
  for (std::int64_t i = 0; i < n; ++i) {
    for (auto& v : z) v = rng.normal();
    for (std::int64_t j = 0; j < d; ++j) {
      double acc = mean[static_cast<std::size_t>(j)];
      for (std::int64_t k = 0; k <= j; ++k) acc += L[j][k] * z[static_cast<std::size_t>(k)];
      m(i, j) = acc;
    }
  }
  return m;
}

at::Tensor sym_pow(const at::Tensor& s, double p) {
  auto [evals, evecs] = at::linalg_eigh(s);
  return evecs.matmul(at::diag(evals.pow(p))).matmul(evecs.t());
}

Config small_config(std::int64_t iters) { return cellot::test::small_cellot_config(iters); }

models::TrainInput small_input(std::int64_t d, std::uint64_t seed) {
  Rng rng(seed);
  models::TrainInput in;
  in.perturbation = "drug";
  auto fill = [&](std::int64_t n, double shift) {
    Matrix m(n, d);
    for (auto& v : m.data) v = rng.normal() + shift;
    return m;
  };
  in.source_train = fill(200, 0);
  in.target_train = fill(150, 1);
  in.source_val = fill(40, 0);
  in.target_val = fill(30, 1);
  return in;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("cellot_trainer_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

}  // namespace

TEST(CellotTrainer, EqualsPlainLoopOfTheAlgorithm) {
  // One rank through the data-parallel trainer == the algorithm written out directly.
  const Config cfg = small_config(7);
  const auto in = small_input(4, 1);
  const models::IcnnShape shape = models::IcnnShape::from_config(cfg, 4);
  models::TrainContext ctx;
  ctx.config = &cfg;
  ctx.seed = 42;
  const auto res = models::train_cellot(shape, models::CellotHyper::from_config(cfg), in, ctx);

  // Written out: epoch-shuffled batches of 32 from each set's own stream (the reference's
  // DataLoader), 4 micro-batches of 8 rows, gradients summed as (m0 + m1) + (m2 + m3).
  const std::size_t P = static_cast<std::size_t>(shape.size());
  std::vector<float> f(P), g(P), total(P);
  Rng init_f(42, "cellot/init/f"), init_g(42, "cellot/init/g");
  shape.init(f.data(), init_f);
  shape.init(g.data(), init_g);
  std::vector<float> src, tgt;
  for (double v : in.source_train.data) src.push_back(static_cast<float>(v));
  for (double v : in.target_train.data) tgt.push_back(static_cast<float>(v));
  const std::int64_t d = 4, M = 4;
  struct Epochs {  // permutation per epoch, consecutive slices, the last one partial
    Rng rng;
    std::int64_t n, pos;
    std::vector<std::int64_t> perm;
    std::vector<std::int64_t> next() {
      if (pos == n) {
        perm.resize(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) perm[static_cast<std::size_t>(i)] = i;
        rng.shuffle(perm);
        pos = 0;
      }
      const std::int64_t end = std::min(n, pos + 32);
      std::vector<std::int64_t> out(perm.begin() + pos, perm.begin() + end);
      pos = end;
      return out;
    }
  } src_rows{Rng(42, "cellot/batches/source"), 200, 200, {}}, tgt_rows{Rng(42, "cellot/batches/target"), 150, 150, {}};
  // Micro-batch k of a b-row batch: rows [k b / M ...) as nn::share cuts them (b = 32: 8 each;
  // the partial batches, 22 target rows and 8 source rows, give 6,6,5,5 and 2,2,2,2).
  auto lo_of = [&](std::int64_t b, std::int64_t k) { return k * (b / M) + std::min(k, b % M); };
  auto n_of = [&](std::int64_t b, std::int64_t k) { return lo_of(b, k + 1) - lo_of(b, k); };
  auto rows_of = [&](const std::vector<float>& data, const std::vector<std::int64_t>& idx, std::int64_t k) {
    const auto b = static_cast<std::int64_t>(idx.size());
    std::vector<float> out;
    for (std::int64_t i = lo_of(b, k); i < lo_of(b, k + 1); ++i)
      out.insert(out.end(), data.begin() + idx[static_cast<std::size_t>(i)] * d,
                 data.begin() + (idx[static_cast<std::size_t>(i)] + 1) * d);
    return out;
  };
  std::vector<std::vector<float>> micro(M, std::vector<float>(P));
  auto tree_sum = [&] {
    for (std::size_t i = 0; i < P; ++i) total[i] = (micro[0][i] + micro[1][i]) + (micro[2][i] + micro[3][i]);
  };
  nn::Adam of(shape.size(), 1e-4, 0.5, 0.9), og(shape.size(), 1e-4, 0.5, 0.9);
  models::CellotSteps<float> steps(shape, 8);
  int partial = 0;
  for (int it = 0; it < 7; ++it) {
    const auto y_idx = tgt_rows.next();  // 150 = 4 x 32 + 22: the fifth target batch is partial
    const auto by = static_cast<std::int64_t>(y_idx.size());
    partial += by < 32;
    for (int j = 0; j < 3; ++j) {
      const auto x_idx = src_rows.next();  // 200 = 6 x 32 + 8: every seventh source batch
      const auto bx = static_cast<std::int64_t>(x_idx.size());
      partial += bx < 32;
      for (std::int64_t k = 0; k < M; ++k)
        steps.g_step(f.data(), g.data(), rows_of(src, x_idx, k).data(), n_of(bx, k), 1.f / static_cast<float>(bx),
                     micro[static_cast<std::size_t>(k)].data());
      tree_sum();
      shape.add_w_penalty_grad(g.data(), 1.0, total.data());
      og.step(g.data(), total.data());
    }
    const auto x_idx = src_rows.next();
    const auto bx = static_cast<std::int64_t>(x_idx.size());
    partial += bx < 32;
    for (std::int64_t k = 0; k < M; ++k)
      steps.f_step(f.data(), g.data(), rows_of(tgt, y_idx, k).data(), n_of(by, k), rows_of(src, x_idx, k).data(),
                   n_of(bx, k), 1.f / static_cast<float>(by), 1.f / static_cast<float>(bx),
                   micro[static_cast<std::size_t>(k)].data());
    tree_sum();
    of.step(f.data(), total.data());
    shape.clamp_w(f.data());
  }
  EXPECT_EQ(partial, 5);  // 1 target and 4 source epochs ended: partial batches in both steps
  EXPECT_EQ(res.f, f);
  EXPECT_EQ(res.g, g);
  EXPECT_EQ(res.steps, 7);
  EXPECT_EQ(res.best_step, -1);  // no metric: last iterate
  // Curves at steps 5 and 7 (the last step is always evaluated).
  ASSERT_EQ(res.curves.rows.size(), 2u);
  EXPECT_EQ(res.curves.rows[0][0], 5);
  EXPECT_EQ(res.curves.rows[1][0], 7);
  for (const auto& row : res.curves.rows) {
    EXPECT_TRUE(std::isfinite(row[1]) && std::isfinite(row[2]) && std::isfinite(row[3]));
    EXPECT_TRUE(std::isnan(row[4]));
  }
}

TEST(CellotTrainer, TrainedFHasNonNegativeWAndIsConvex) {
  // The f the trainer returns (here the validation-selected iterate) is an ICNN: every W >= 0,
  // so f is convex in x; Jensen on random pairs, in double precision, with f's trained weights.
  Config cfg = small_config(200);
  cfg.training.lr = 1e-1;  // large steps push W below 0 between clamps (asserted below)
  const auto in = small_input(4, 11);
  const models::IcnnShape shape = models::IcnnShape::from_config(cfg, 4);
  models::TrainContext ctx;
  ctx.config = &cfg;
  ctx.seed = 4;  // one of the seeds (4, 6 of 1-7) whose selected f has clamped W entries
  ctx.validation_metric = [](const Matrix& pred, const Matrix& obs) {
    double mp = 0, mo = 0;
    for (double v : pred.data) mp += v;
    for (double v : obs.data) mo += v;
    return std::abs(mp / static_cast<double>(pred.data.size()) - mo / static_cast<double>(obs.data.size()));
  };
  const auto res = models::train_cellot(shape, models::CellotHyper::from_config(cfg), in, ctx);
  EXPECT_EQ(res.sync_checks, 0);  // one rank: nothing to compare
  ASSERT_GE(res.best_step, 5);
  ASSERT_EQ(static_cast<std::int64_t>(res.f.size()), shape.size());
  std::int64_t zeros = 0;
  for (std::int64_t i = shape.w_offset(0); i < shape.size(); ++i) {
    ASSERT_GE(res.f[static_cast<std::size_t>(i)], 0.f) << "W entry " << i << " of the trained f";
    zeros += res.f[static_cast<std::size_t>(i)] == 0.f;
  }
  EXPECT_GT(zeros, 0) << "no W entry was clamped: the test would not see a missing clamp";
  std::int64_t negative_g = 0;  // g is only penalised: at this learning rate some W of g are < 0
  for (std::int64_t i = shape.w_offset(0); i < shape.size(); ++i) negative_g += res.g[static_cast<std::size_t>(i)] < 0.f;
  EXPECT_GT(negative_g, 0);

  const std::vector<double> p(res.f.begin(), res.f.end());
  Rng rng(99);
  const std::int64_t n = 400, d = 4;
  std::vector<double> a(static_cast<std::size_t>(n * d)), b(a.size()), mid(a.size()), lam(static_cast<std::size_t>(n));
  for (auto& v : a) v = 2.5 * rng.normal();
  for (auto& v : b) v = 2.5 * rng.normal() + 1.0;
  for (std::int64_t i = 0; i < n; ++i) {
    lam[static_cast<std::size_t>(i)] = rng.uniform();
    for (std::int64_t j = 0; j < d; ++j) {
      const auto k = static_cast<std::size_t>(i * d + j);
      mid[k] = lam[static_cast<std::size_t>(i)] * a[k] + (1 - lam[static_cast<std::size_t>(i)]) * b[k];
    }
  }
  models::IcnnKernels<double> k(shape, n);
  std::vector<double> fa(static_cast<std::size_t>(n)), fb(fa.size()), fm(fa.size());
  k.forward(p.data(), a.data(), d, n, fa.data());
  k.forward(p.data(), b.data(), d, n, fb.data());
  k.forward(p.data(), mid.data(), d, n, fm.data());
  int violations = 0;
  for (std::size_t i = 0; i < fa.size(); ++i) {
    const double chord = lam[i] * fa[i] + (1 - lam[i]) * fb[i];
    if (fm[i] > chord + 1e-10 * (1 + std::abs(chord))) ++violations;
  }
  EXPECT_EQ(violations, 0);
}

TEST(CellotTrainer, SelectsOnTheValidationMetric) {
  const Config cfg = small_config(20);
  const auto in = small_input(3, 2);
  const models::IcnnShape shape = models::IcnnShape::from_config(cfg, 3);
  const auto hp = models::CellotHyper::from_config(cfg);
  models::TrainContext ctx;
  ctx.config = &cfg;
  ctx.seed = 3;
  // Metric values per eval (steps 5, 10, 15, 20): the second is the best.
  const std::vector<double> values = {0.5, 0.1, 0.3, 0.2};
  std::size_t calls = 0;
  ctx.validation_metric = [&](const Matrix& pred, const Matrix& obs) {
    EXPECT_EQ(pred.rows, in.source_val.rows);
    EXPECT_EQ(obs.rows, in.target_val.rows);
    return values.at(calls++);
  };
  const auto res = models::train_cellot(shape, hp, in, ctx);
  EXPECT_EQ(calls, 4u);
  EXPECT_EQ(res.best_step, 10);
  EXPECT_DOUBLE_EQ(res.best_metric, 0.1);
  ASSERT_EQ(res.curves.rows.size(), 4u);
  EXPECT_DOUBLE_EQ(res.curves.rows[1][4], 0.1);
  // The selected parameters are the iterate of step 10.
  Config cfg10 = cfg;
  cfg10.training.iters = 10;
  models::TrainContext plain;
  plain.config = &cfg10;
  plain.seed = 3;
  const auto at10 = models::train_cellot(shape, models::CellotHyper::from_config(cfg10), in, plain);
  EXPECT_EQ(res.f, at10.f);
  EXPECT_EQ(res.g, at10.g);
}

TEST(CellotTrainer, ResumeIsBitIdentical) {
  Config cfg = small_config(12);
  cfg.training.checkpoint_every = 6;
  const auto in = small_input(3, 4);
  const models::IcnnShape shape = models::IcnnShape::from_config(cfg, 3);
  const auto hp = models::CellotHyper::from_config(cfg);
  auto metric = [](const Matrix& pred, const Matrix&) {
    double s = 0;
    for (double v : pred.data) s += std::abs(std::sin(v));
    return s;
  };
  models::TrainContext ctx;
  ctx.config = &cfg;
  ctx.seed = 9;
  ctx.validation_metric = metric;
  const auto full = models::train_cellot(shape, hp, in, ctx);

  const std::string ckpt = temp_path("resume.h5");
  std::filesystem::remove(ckpt);
  models::TrainContext first = ctx;
  first.checkpoint_path = ckpt;
  int calls = 0;
  first.should_stop = [&] { return ++calls == 8; };  // asked during iteration 8: stops after it
  EXPECT_THROW(models::train_cellot(shape, hp, in, first), models::Interrupted);
  ASSERT_TRUE(std::filesystem::exists(ckpt));
  models::TrainContext second = ctx;
  second.checkpoint_path = ckpt;
  second.resume = true;
  const auto resumed = models::train_cellot(shape, hp, in, second);
  EXPECT_EQ(resumed.f, full.f);
  EXPECT_EQ(resumed.g, full.g);
  EXPECT_EQ(resumed.best_step, full.best_step);
  EXPECT_EQ(resumed.curves.rows, full.curves.rows);
  // A checkpoint of another problem is refused.
  models::TrainContext other = second;
  other.seed = 10;
  EXPECT_THROW(models::train_cellot(shape, hp, in, other), cellot::InputError);
  std::filesystem::remove(ckpt);
}

TEST(CellotTrainer, NonFiniteDataIsReportedAsDivergence) {
  const Config cfg = small_config(3);
  auto in = small_input(3, 5);
  for (std::int64_t i = 0; i < in.source_train.rows; ++i) in.source_train(i, 1) = std::nan("");
  models::TrainContext ctx;
  ctx.config = &cfg;
  try {
    models::train_cellot(models::IcnnShape::from_config(cfg, 3), models::CellotHyper::from_config(cfg), in, ctx);
    FAIL() << "no Diverged";
  } catch (const models::Diverged& e) {
    EXPECT_NE(std::string(e.what()).find("outer iteration 1 (g step 1)"), std::string::npos) << e.what();
  }
}

TEST(CellotModel, ParametersRoundTripAndPredictInterpolates) {
  Config cfg = small_config(3);
  auto model = models::make_cellot(cfg, 3);
  EXPECT_EQ(model->name(), "cellot");
  const auto in = small_input(3, 6);
  models::TrainContext ctx;
  ctx.config = &cfg;
  model->train(in, ctx);
  const auto params = model->parameters();
  EXPECT_EQ(params.size(), 2u * (3u + 2u * 4u));
  auto copy = models::make_cellot(cfg, 3);
  copy->set_parameters(params);
  const Matrix p1 = model->predict(in.source_val), p2 = copy->predict(in.source_val);
  EXPECT_EQ(p1.data, p2.data);
  const Matrix p0 = model->predict(in.source_val, 0.0), ph = model->predict(in.source_val, 0.5);
  for (std::size_t i = 0; i < p1.data.size(); ++i) {
    EXPECT_DOUBLE_EQ(p0.data[i], in.source_val.data[i]);
    EXPECT_NEAR(ph.data[i], 0.5 * (in.source_val.data[i] + p1.data[i]), 1e-12);
  }
  EXPECT_THROW(model->predict(Matrix(2, 5)), cellot::InputError);
}

// Gaussian -> Gaussian: the OT map is affine and known,
//   T(x) = m2 + A (x - m1),  A = S1^{-1/2} (S1^{1/2} S2 S1^{1/2})^{1/2} S1^{-1/2}.
// The learned map's L2-UVP = 100 E|T^(x) - T(x)|^2 / tr(S2) is checked against a bound.
TEST(CellotTrainer, LearnsTheGaussianOtMap) {
  const char* env = std::getenv("CELLOT_GAUSS_ITERS");
  // Default: a short run at 10x the paper's learning rate (CI); the `slow` test entry repeats it
  // at the paper's learning rate with more iterations.
  const std::int64_t iters = env ? std::atoll(env) : 400;
  const char* env_lr = std::getenv("CELLOT_GAUSS_LR");
  for (std::int64_t d : {2, 4}) {
    Rng rng(100 + static_cast<std::uint64_t>(d));
    auto spd = [&](double diag) {
      at::Tensor b = at::empty({d, d}, at::kDouble);
      for (std::int64_t i = 0; i < d * d; ++i) b.data_ptr<double>()[i] = rng.normal() * 0.5;
      return b.matmul(b.t()) + diag * at::eye(d, at::kDouble);
    };
    const at::Tensor s1 = spd(0.5), s2 = spd(0.3);
    std::vector<double> m1(static_cast<std::size_t>(d)), m2(m1.size());
    for (std::int64_t j = 0; j < d; ++j) {
      m1[static_cast<std::size_t>(j)] = rng.normal();
      m2[static_cast<std::size_t>(j)] = rng.normal() + 1.0;
    }
    const at::Tensor l1 = at::linalg_cholesky(s1), l2 = at::linalg_cholesky(s2);
    models::TrainInput in;
    in.perturbation = "gauss";
    in.source_train = gaussian(4000, m1, l1, rng);
    in.target_train = gaussian(4000, m2, l2, rng);
    in.source_val = gaussian(500, m1, l1, rng);
    in.target_val = gaussian(500, m2, l2, rng);
    const Matrix test = gaussian(2000, m1, l1, rng);

    const at::Tensor r1 = sym_pow(s1, 0.5), ri1 = sym_pow(s1, -0.5);
    const at::Tensor A = ri1.matmul(sym_pow(r1.matmul(s2).matmul(r1), 0.5)).matmul(ri1);
    const auto a = A.accessor<double, 2>();

    Config cfg;
    cfg.training.iters = iters;
    cfg.training.eval_every = iters;
    if (env_lr) cfg.training.lr = std::atof(env_lr);
    else cfg.training.lr = 1e-3;
    auto model = models::make_cellot(cfg, d);
    models::TrainContext ctx;
    ctx.config = &cfg;
    ctx.seed = 7;
    model->train(in, ctx);
    const Matrix pred = model->predict(test);
    double err = 0, err_id = 0, err_shift = 0;
    for (std::int64_t i = 0; i < test.rows; ++i) {
      for (std::int64_t j = 0; j < d; ++j) {
        double t = m2[static_cast<std::size_t>(j)];
        for (std::int64_t k = 0; k < d; ++k) t += a[j][k] * (test(i, k) - m1[static_cast<std::size_t>(k)]);
        err += (pred(i, j) - t) * (pred(i, j) - t);
        err_id += (test(i, j) - t) * (test(i, j) - t);
        const double shifted = test(i, j) - m1[static_cast<std::size_t>(j)] + m2[static_cast<std::size_t>(j)];
        err_shift += (shifted - t) * (shifted - t);
      }
    }
    const double var = s2.trace().item<double>();
    const double uvp = 100 * err / static_cast<double>(test.rows) / var;
    const double uvp_id = 100 * err_id / static_cast<double>(test.rows) / var;
    const double uvp_shift = 100 * err_shift / static_cast<double>(test.rows) / var;
    std::printf("[gaussian d=%lld] L2-UVP learned %.3f%%, exact mean shift %.1f%%, identity %.1f%% (%lld iterations, lr %g)\n",
                static_cast<long long>(d), uvp, uvp_shift, uvp_id, static_cast<long long>(iters), cfg.lr());
    RecordProperty("uvp_d" + std::to_string(d), std::to_string(uvp));
    // Bound: 5% (measured 0.3-2.9% at this budget, see docs/BENCHMARKS.md); the exact mean shift
    // (the best map that ignores the covariances) is far above it, so the bound needs the
    // covariance part of the map to be learned too.
    EXPECT_LT(uvp, 5.0);
    EXPECT_LT(uvp, 0.25 * uvp_shift);
  }
}

TEST(CellotConfig, Paper4iSettingFile) {
  const char* src = std::getenv("CELLOT_SOURCE_DIR");
  if (!src) GTEST_SKIP() << "CELLOT_SOURCE_DIR not set (run through ctest)";
  const std::string path = std::string(src) + "/configs/cellot-4i.ini";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  const Config cfg = cellot::parse_ini_text(ss.str(), path);
  const auto hp = models::CellotHyper::from_config(cfg);
  EXPECT_EQ(cfg.model.name, "cellot");
  EXPECT_EQ(models::IcnnShape::from_config(cfg, 48), models::IcnnShape(48, {64, 64, 64, 64}));
  EXPECT_EQ(hp.iters, 100000);
  EXPECT_EQ(hp.batch, 256);
  EXPECT_EQ(hp.inner, 10);
  EXPECT_DOUBLE_EQ(hp.lr, 1e-4);
  EXPECT_DOUBLE_EQ(hp.beta1, 0.5);
  EXPECT_DOUBLE_EQ(hp.beta2, 0.9);
  EXPECT_DOUBLE_EQ(hp.g_penalty, 1.0);
  EXPECT_EQ(hp.eval_every, 1000);
  EXPECT_EQ(hp.checkpoint_every, 5000);
  EXPECT_EQ(cfg.data.perturbations, "all");
  EXPECT_NE(cfg.data.path.find("synth-4i"), std::string::npos);
}
