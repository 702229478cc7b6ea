#include "cellot/train/adam.hpp"

#include <cmath>

#include "cellot/core/error.hpp"

namespace cellot::train {

Adam::Adam(std::int64_t n, double lr, double beta1, double beta2, double eps)
    : lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps), m_(static_cast<std::size_t>(n), 0.f),
      v_(static_cast<std::size_t>(n), 0.f) {}

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
  const std::size_t n = m_.size();
  float* m = m_.data();
  float* v = v_.data();
  for (std::size_t i = 0; i < n; ++i) {
    const float gi = g[i];
    m[i] = m[i] * b1 + gi * a1;
    v[i] = v[i] * b2 + gi * gi * a2;
    const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;
    p[i] -= step_size * (m[i] / denom);
  }
}

void Adam::set_state(std::vector<float> m, std::vector<float> v, std::int64_t t) {
  CELLOT_CHECK(m.size() == m_.size() && v.size() == v_.size(), "Adam state size mismatch");
  m_ = std::move(m);
  v_ = std::move(v);
  t_ = t;
}

}  // namespace cellot::train
