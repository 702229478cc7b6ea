#include "cellot/train/adam.hpp"

#include <cmath>

#include "cellot/core/error.hpp"

namespace cellot::train {

Adam::Adam(std::int64_t n, double lr, double beta1, double beta2, double eps)
    : lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps), m_(static_cast<std::size_t>(n), 0.f),
      v_(static_cast<std::size_t>(n), 0.f) {}

namespace {
// ATen's CPU kernels for add_(alpha) and addcmul_ compute a fused multiply-add; the same fma here
// makes the update equal torch.optim.Adam bit for bit (on CPUs with FMA, where ATen uses it). The
// loop is compiled twice: for x86-64-v3 (AVX2 + FMA, vectorised) and a generic fallback (std::fma
// in software, same results). sqrt need not set errno (v >= 0), which lets it vectorise; vector
// sqrt and division are correctly rounded, so the results equal the scalar loop's.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((optimize("no-math-errno"), target_clones("arch=haswell", "default")))
#endif
void adam_update(std::size_t n, float* __restrict p, const float* __restrict g, float* __restrict m,
                 float* __restrict v, float b1, float a1, float b2, float a2, float neg_step, float bc2_sqrt,
                 float eps) {
  for (std::size_t i = 0; i < n; ++i) {
    const float gi = g[i];
    m[i] = std::fma(a1, gi, m[i] * b1);                    // exp_avg.mul_(b1).add_(g, alpha = 1 - b1)
    v[i] = std::fma(a2 * gi, gi, v[i] * b2);               // exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2)
    const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;  // (sqrt(v) / sqrt(bc2)).add_(eps)
    p[i] = p[i] + neg_step * m[i] / denom;                 // p.addcdiv_(m, denom, -step_size)
  }
}
}  // namespace

void Adam::step(float* p, const float* g) {
  ++t_;
  // Scalars as torch computes them: in double, then applied to float tensors.
  const double bc1 = 1.0 - std::pow(beta1_, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(beta2_, static_cast<double>(t_));
  const float step_size = static_cast<float>(lr_ / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
  const float a1 = static_cast<float>(1.0 - beta1_), a2 = static_cast<float>(1.0 - beta2_);
  const float eps = static_cast<float>(eps_);
  adam_update(m_.size(), p, g, m_.data(), v_.data(), b1, a1, b2, a2, -step_size, bc2_sqrt, eps);
}

void Adam::set_state(std::vector<float> m, std::vector<float> v, std::int64_t t) {
  CELLOT_CHECK(m.size() == m_.size() && v.size() == v_.size(), "Adam state size mismatch");
  m_ = std::move(m);
  v_ = std::move(v);
  t_ = t;
}

}  // namespace cellot::train
