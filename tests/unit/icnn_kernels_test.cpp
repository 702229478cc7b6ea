// The hand-derived ICNN passes against the libtorch autograd oracle (float64 and float32), the
// input gradient against finite differences, convexity of f after clamping, and the layout.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "cellot/core/error.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/core/version.hpp"
#include "cellot/models/cellot/icnn.hpp"
#include "cellot/models/cellot/icnn_autograd.hpp"
#include "cellot/nn/blas.hpp"
#include "cellot/models/cellot/cellot_steps.hpp"

using cellot::Rng;
using cellot::models::IcnnKernels;
using cellot::models::IcnnShape;
namespace ag = cellot::models::icnn_autograd;

namespace {

template <class T>
std::vector<T> random_params(const IcnnShape& s, Rng& rng, double lo, double hi) {
  std::vector<T> p(static_cast<std::size_t>(s.size()));
  for (auto& v : p) v = static_cast<T>(rng.uniform(lo, hi));
  return p;
}

template <class T>
std::vector<T> random_rows(std::int64_t n, std::int64_t d, Rng& rng, double sd = 1.0, double mean = 0.0) {
  std::vector<T> x(static_cast<std::size_t>(n * d));
  for (auto& v : x) v = static_cast<T>(mean + sd * rng.normal());
  return x;
}

template <class T>
at::Tensor tensor(const std::vector<T>& v, std::vector<std::int64_t> shape) {
  const auto dtype = std::is_same<T, double>::value ? at::kDouble : at::kFloat;
  return at::from_blob(const_cast<T*>(v.data()), shape, at::TensorOptions().dtype(dtype)).clone();
}

template <class T>
std::vector<T> values(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

// max |a - b| / (max |b| + tiny): a relative error over the whole vector.
template <class T>
double rel_error(const std::vector<T>& a, const std::vector<T>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    den = std::max(den, std::abs(static_cast<double>(b[i])));
  }
  return num / (den + 1e-300);
}

const IcnnShape kSmall(5, {7, 6, 5});

}  // namespace

TEST(IcnnShape, LayoutAndNamedRoundTrip) {
  const IcnnShape s(48, {64, 64, 64, 64});
  EXPECT_EQ(s.total_units(), 257);
  EXPECT_EQ(s.size(), 257 * 48 + 257 + 3 * 64 * 64 + 64);
  EXPECT_EQ(s.w_offset(0), 257 * 49);
  Rng rng(1);
  std::vector<float> p(static_cast<std::size_t>(s.size()));
  s.init(p.data(), rng);
  for (std::int64_t i = 0; i < s.size(); ++i) {
    const bool bias = i >= s.bias_offset() && i < s.bias_offset() + s.total_units();
    if (bias) {
      EXPECT_EQ(p[static_cast<std::size_t>(i)], 0.f);
    } else {
      EXPECT_GE(p[static_cast<std::size_t>(i)], 0.f);
      EXPECT_LT(p[static_cast<std::size_t>(i)], 0.1f);
    }
  }
  const auto named = s.to_named(p.data(), "g.");
  ASSERT_EQ(named.size(), 4u + 2u * 5u);
  EXPECT_EQ(named[0].name, "g.W.0.weight");
  EXPECT_EQ(named[4].name, "g.A.0.weight");
  EXPECT_EQ(named[4].shape, (std::vector<std::int64_t>{64, 48}));
  std::vector<float> back(p.size(), -1.f);
  s.from_named(named, "g.", back.data());
  EXPECT_EQ(back, p);
  EXPECT_THROW(s.from_named(named, "f.", back.data()), cellot::InputError);
  // Same seed, same initial weights.
  Rng rng2(1);
  std::vector<float> q(p.size());
  s.init(q.data(), rng2);
  EXPECT_EQ(p, q);
}

TEST(IcnnKernels, ForwardAndInputGradientMatchAutogradFloat64) {
  Rng rng(2);
  const auto p = random_params<double>(kSmall, rng, -0.1, 0.3);
  const std::int64_t n = 9;
  const auto x = random_rows<double>(n, kSmall.dim(), rng);
  IcnnKernels<double> k(kSmall, n);
  std::vector<double> out(n), gx(static_cast<std::size_t>(n * kSmall.dim()));
  k.forward(p.data(), x.data(), kSmall.dim(), n, out.data());
  k.input_gradient(p.data(), gx.data(), kSmall.dim());

  at::Tensor pt = tensor(p, {kSmall.size()});
  at::Tensor xt = tensor(x, {n, kSmall.dim()}).requires_grad_(true);
  EXPECT_LT(rel_error(out, values<double>(ag::forward(kSmall, pt, xt).detach())), 1e-13);
  EXPECT_LT(rel_error(gx, values<double>(ag::transport(kSmall, pt, xt, false))), 1e-13);
}

TEST(IcnnKernels, InputGradientMatchesFiniteDifferences) {
  Rng rng(3);
  const auto p = random_params<double>(kSmall, rng, 0.0, 0.1);
  const std::int64_t n = 4, d = kSmall.dim();
  auto x = random_rows<double>(n, d, rng);
  IcnnKernels<double> k(kSmall, n);
  std::vector<double> out(n), gx(static_cast<std::size_t>(n * d));
  k.forward(p.data(), x.data(), d, n, out.data());
  k.input_gradient(p.data(), gx.data(), d);
  const double h = 1e-6;
  std::vector<double> fd(gx.size()), plus(n), minus(n);
  for (std::int64_t j = 0; j < d; ++j) {
    auto xp = x, xm = x;
    for (std::int64_t i = 0; i < n; ++i) {
      xp[static_cast<std::size_t>(i * d + j)] += h;
      xm[static_cast<std::size_t>(i * d + j)] -= h;
    }
    k.forward(p.data(), xp.data(), d, n, plus.data());
    k.forward(p.data(), xm.data(), d, n, minus.data());
    for (std::int64_t i = 0; i < n; ++i)
      fd[static_cast<std::size_t>(i * d + j)] = (plus[static_cast<std::size_t>(i)] - minus[static_cast<std::size_t>(i)]) / (2 * h);
  }
  EXPECT_LT(rel_error(gx, fd), 1e-7);
}

template <class T>
void check_steps_against_autograd(const IcnnShape& s, std::int64_t n, double tol) {
  Rng rng(4);
  // g with some negative W so the penalty is active; f clamped as in training.
  const auto pg = random_params<T>(s, rng, -0.05, 0.1);
  auto pf = random_params<T>(s, rng, 0.0, 0.1);
  const auto x = random_rows<T>(n, s.dim(), rng);
  const auto y = random_rows<T>(n, s.dim(), rng, 1.5, 0.5);
  const double penalty = 1.0;

  cellot::models::CellotSteps<T> steps(s, n);
  std::vector<T> grad_g(static_cast<std::size_t>(s.size())), grad_f(grad_g.size());
  const T scale = T(1) / static_cast<T>(n);
  const double gl = steps.g_step(pf.data(), pg.data(), x.data(), n, scale, grad_g.data()) + penalty * s.w_penalty(pg.data());
  s.add_w_penalty_grad(pg.data(), penalty, grad_g.data());
  const double fl = steps.f_step(pf.data(), pg.data(), y.data(), n, x.data(), n, scale, grad_f.data());

  at::Tensor pft = tensor(pf, {s.size()}).requires_grad_(true);
  at::Tensor pgt = tensor(pg, {s.size()}).requires_grad_(true);
  at::Tensor xt = tensor(x, {n, s.dim()}).requires_grad_(true);
  at::Tensor yt = tensor(y, {n, s.dim()});
  at::Tensor glt = ag::g_loss(s, pft, pgt, xt, penalty);
  at::Tensor flt = ag::f_loss(s, pft, pgt, xt, yt);
  EXPECT_NEAR(gl, glt.item<double>(), tol * (1 + std::abs(gl)));
  EXPECT_NEAR(fl, flt.item<double>(), tol * (1 + std::abs(fl)));
  EXPECT_LT(rel_error(grad_g, values<T>(ag::grad(glt, pgt))), tol);
  EXPECT_LT(rel_error(grad_f, values<T>(ag::grad(flt, pft))), tol);
}

TEST(CellotSteps, HandGradientsMatchAutogradFloat64) { check_steps_against_autograd<double>(kSmall, 11, 1e-12); }

TEST(CellotSteps, HandGradientsMatchAutogradFloat64SingleLayer) {
  check_steps_against_autograd<double>(IcnnShape(3, {4}), 6, 1e-12);
}

TEST(CellotSteps, HandGradientsMatchAutogradFloat32PaperSize) {
  check_steps_against_autograd<float>(IcnnShape(48, {64, 64, 64, 64}), 64, 2e-4);
}

TEST(CellotSteps, AtenFallbackAgreesWithDirectBlas) {
  Rng rng(5);
  const auto pg = random_params<double>(kSmall, rng, -0.05, 0.1);
  const auto pf = random_params<double>(kSmall, rng, 0.0, 0.1);
  const auto x = random_rows<double>(8, kSmall.dim(), rng);
  cellot::models::CellotSteps<double> steps(kSmall, 8);
  std::vector<double> g1(static_cast<std::size_t>(kSmall.size())), g2(g1.size());
  steps.g_step(pf.data(), pg.data(), x.data(), 8, 0.125, g1.data());
  cellot::nn::blas::set_force_aten(true);
  EXPECT_STREQ(cellot::nn::blas::backend(), "aten");
  steps.g_step(pf.data(), pg.data(), x.data(), 8, 0.125, g2.data());
  cellot::nn::blas::set_force_aten(false);
  EXPECT_LT(rel_error(g1, g2), 1e-12);
}

// The forward and tangent products from the stored transposes (IcnnParams {p, t}, the trainer's
// path for steps of >= 64 rows) against the NT products from p alone: the same gradients and
// values to rounding. At the paper's shape in micro-batches of 64 rows OpenBLAS sums every entry
// in the same order for NN and NT operands (each kernel family tried: docs/BENCHMARKS.md), so
// there (bits = true) the results must be the same bits; at other shapes its AVX-512
// small-matrix kernels may round the two differently (seen: micro-batches of <= 18 rows).
template <class T>
void check_transposed_products(const IcnnShape& s, std::int64_t n, std::uint64_t seed, bool bits) {
  SCOPED_TRACE(s.describe() + ", " + std::to_string(n) + " rows");
  Rng rng(seed);
  const auto pg = random_params<T>(s, rng, -0.05, 0.1);
  const auto pf = random_params<T>(s, rng, 0.0, 0.1);
  const auto x = random_rows<T>(n, s.dim(), rng);
  const auto y = random_rows<T>(n, s.dim(), rng, 1.5, 0.5);
  std::vector<T> tf(static_cast<std::size_t>(IcnnKernels<T>::transposed_size(s)), T(-7)), tg(tf);
  IcnnKernels<T>::transpose_products(s, pf.data(), tf.data());
  IcnnKernels<T>::transpose_products(s, pg.data(), tg.data());
  const cellot::models::IcnnParams<T> f_t(pf.data(), tf.data()), g_t(pg.data(), tg.data());
  cellot::models::CellotSteps<T> steps(s, n);
  const auto P = static_cast<std::size_t>(s.size());
  std::vector<T> a(P), b(P), ta(static_cast<std::size_t>(n * s.dim())), tb(ta.size());
  const bool same_bits = bits && cellot::blas_kernels().rfind("OpenBLAS", 0) == 0;
  auto agree = [&](const std::vector<T>& u, const std::vector<T>& v, const char* what) {
    if (same_bits) {
      for (std::size_t i = 0; i < u.size(); ++i) ASSERT_EQ(u[i], v[i]) << what << " entry " << i;
    } else {
      EXPECT_LT(rel_error(u, v), (std::is_same<T, float>::value ? 1e-5 : 1e-12)) << what;
    }
  };
  const double la = steps.g_step(pf.data(), pg.data(), x.data(), n, T(1) / T(n), a.data());
  const double lb = steps.g_step(f_t, g_t, x.data(), n, T(1) / T(n), b.data());
  agree(a, b, "g step gradient");
  if (same_bits) {
    EXPECT_EQ(la, lb);
  }
  steps.f_step(pf.data(), pg.data(), y.data(), n, x.data(), n, T(1) / T(n), a.data());
  steps.f_step(f_t, g_t, y.data(), n, x.data(), n, T(1) / T(n), b.data());
  agree(a, b, "f step gradient");
  steps.transport(pg.data(), x.data(), n, ta.data());
  steps.transport(g_t, x.data(), n, tb.data());
  agree(ta, tb, "transport");
}

TEST(CellotSteps, TransposedProductsGiveTheSameResults) {
  check_transposed_products<float>(IcnnShape(48, {64, 64, 64, 64}), 64, 21, true);
  check_transposed_products<double>(IcnnShape(48, {64, 64, 64, 64}), 64, 24, true);
  check_transposed_products<float>(IcnnShape(19, {33, 17, 40}), 37, 22, false);  // tile edges, odd widths
  check_transposed_products<float>(IcnnShape(1000, {64, 64, 64, 64}), 16, 25, false);
  check_transposed_products<float>(IcnnShape(50, {64, 64, 64, 64}), 70, 26, false);
  check_transposed_products<double>(kSmall, 11, 23, false);
}

TEST(CellotSteps, EmptyShareGivesZeroGradient) {
  // A rank whose share of the global batch is empty must contribute exactly zero.
  Rng rng(6);
  const auto pg = random_params<float>(kSmall, rng, 0.0, 0.1);
  const auto pf = random_params<float>(kSmall, rng, 0.0, 0.1);
  cellot::models::CellotSteps<float> steps(kSmall, 4);
  std::vector<float> g(static_cast<std::size_t>(kSmall.size()), 7.f);
  EXPECT_EQ(steps.g_step(pf.data(), pg.data(), nullptr, 0, 0.25f, g.data()), 0.0);
  for (float v : g) ASSERT_EQ(v, 0.f);
  std::fill(g.begin(), g.end(), 7.f);
  EXPECT_EQ(steps.f_step(pf.data(), pg.data(), nullptr, 0, nullptr, 0, 0.25f, g.data()), 0.0);
  for (float v : g) ASSERT_EQ(v, 0.f);
}

TEST(IcnnShape, ClampedFIsConvex) {
  // Jensen: f(l a + (1-l) b) <= l f(a) + (1-l) f(b) on random pairs once W >= 0.
  Rng rng(7);
  const IcnnShape s(4, {16, 16, 16});
  auto p = random_params<double>(s, rng, -0.3, 0.3);
  s.clamp_w(p.data());
  for (std::int64_t i = s.w_offset(0); i < s.size(); ++i) ASSERT_GE(p[static_cast<std::size_t>(i)], 0.0);
  const std::int64_t n = 500;
  const auto a = random_rows<double>(n, s.dim(), rng, 2.0);
  const auto b = random_rows<double>(n, s.dim(), rng, 2.0);
  std::vector<double> lam(n), mid(a.size());
  for (std::int64_t i = 0; i < n; ++i) {
    lam[static_cast<std::size_t>(i)] = rng.uniform();
    for (std::int64_t j = 0; j < s.dim(); ++j) {
      const auto k = static_cast<std::size_t>(i * s.dim() + j);
      mid[k] = lam[static_cast<std::size_t>(i)] * a[k] + (1 - lam[static_cast<std::size_t>(i)]) * b[k];
    }
  }
  IcnnKernels<double> k(s, n);
  std::vector<double> fa(n), fb(n), fm(n);
  k.forward(p.data(), a.data(), s.dim(), n, fa.data());
  k.forward(p.data(), b.data(), s.dim(), n, fb.data());
  k.forward(p.data(), mid.data(), s.dim(), n, fm.data());
  int violations = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    if (fm[u] > lam[u] * fa[u] + (1 - lam[u]) * fb[u] + 1e-12) ++violations;
  }
  EXPECT_EQ(violations, 0);
  // Without the clamp the same network is (for these weights) not convex: the test can fail.
  auto q = random_params<double>(s, rng, -0.3, 0.3);
  for (std::int64_t i = s.w_offset(0); i < s.size(); ++i) q[static_cast<std::size_t>(i)] *= 10;
  k.forward(q.data(), a.data(), s.dim(), n, fa.data());
  k.forward(q.data(), b.data(), s.dim(), n, fb.data());
  k.forward(q.data(), mid.data(), s.dim(), n, fm.data());
  int unclamped = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    if (fm[u] > lam[u] * fa[u] + (1 - lam[u]) * fb[u] + 1e-12) ++unclamped;
  }
  EXPECT_GT(unclamped, 0);
}

TEST(IcnnShape, PenaltyIsPlainFrobeniusNorm) {
  const IcnnShape s(2, {2, 2});
  std::vector<double> p(static_cast<std::size_t>(s.size()), 0.0);
  // W_0 (2x2) = [-3, 1; -4, 0], W_1 (1x2) = [0.5, 0.5]: penalty = ||(3, 4)|| = 5.
  double* w0 = p.data() + s.w_offset(0);
  w0[0] = -3;
  w0[1] = 1;
  w0[2] = -4;
  double* w1 = p.data() + s.w_offset(1);
  w1[0] = w1[1] = 0.5;
  EXPECT_DOUBLE_EQ(s.w_penalty(p.data()), 5.0);
  std::vector<double> g(p.size(), 0.0);
  EXPECT_DOUBLE_EQ(s.add_w_penalty_grad(p.data(), 2.0, g.data()), 5.0);
  EXPECT_DOUBLE_EQ(g[static_cast<std::size_t>(s.w_offset(0))], 2.0 * -3 / 5);
  EXPECT_DOUBLE_EQ(g[static_cast<std::size_t>(s.w_offset(0) + 2)], 2.0 * -4 / 5);
  EXPECT_DOUBLE_EQ(g[static_cast<std::size_t>(s.w_offset(0) + 1)], 0.0);
  EXPECT_DOUBLE_EQ(g[static_cast<std::size_t>(s.w_offset(1))], 0.0);  // norm 0 -> gradient 0
}
