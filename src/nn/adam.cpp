#include "cellot/nn/adam.hpp"

#include <cmath>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CELLOT_ADAM_AVX2 1
#endif

#include "cellot/core/error.hpp"

namespace cellot::nn {

Adam::Adam(std::int64_t n, double lr, double beta1, double beta2, double eps)
    : lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps), m_(static_cast<std::size_t>(n), 0.f),
      v_(static_cast<std::size_t>(n), 0.f) {}

namespace {

// ATen's CPU kernels for add_(alpha) and addcmul_ compute a fused multiply-add; the same fma here
// makes the update equal torch.optim.Adam bit for bit (on CPUs with FMA, where ATen uses it).
struct Coefficients {
  float b1, a1, b2, a2, neg_step, bc2_sqrt, eps;
};

inline void update_one(float& p, float g, float& m, float& v, const Coefficients& c) {
  m = std::fma(c.a1, g, m * c.b1);                   // exp_avg.mul_(b1).add_(g, alpha = 1 - b1)
  v = std::fma(c.a2 * g, g, v * c.b2);               // exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2)
  const float denom = std::sqrt(v) / c.bc2_sqrt + c.eps;  // (sqrt(v) / sqrt(bc2)).add_(eps)
  p = p + c.neg_step * m / denom;                    // p.addcdiv_(m, denom, -step_size)
}

#ifdef CELLOT_ADAM_AVX2
// The same operations eight at a time. Written with intrinsics because GCC does not vectorise
// the scalar loop (sqrt may set errno) and the library's compile flags are not ours to change;
// vector fma, sqrt and division are correctly rounded, so the results equal update_one's.
__attribute__((target("avx2,fma"))) void update_avx2(std::size_t n, float* p, const float* g, float* m, float* v,
                                                      const Coefficients& c) {
  const __m256 b1 = _mm256_set1_ps(c.b1), a1 = _mm256_set1_ps(c.a1), b2 = _mm256_set1_ps(c.b2),
               a2 = _mm256_set1_ps(c.a2), ns = _mm256_set1_ps(c.neg_step), bc = _mm256_set1_ps(c.bc2_sqrt),
               eps = _mm256_set1_ps(c.eps);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gi = _mm256_loadu_ps(g + i);
    const __m256 mi = _mm256_fmadd_ps(a1, gi, _mm256_mul_ps(_mm256_loadu_ps(m + i), b1));
    const __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(a2, gi), gi, _mm256_mul_ps(_mm256_loadu_ps(v + i), b2));
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc), eps);
    const __m256 pi = _mm256_add_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(ns, mi), denom));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    _mm256_storeu_ps(p + i, pi);
  }
  for (; i < n; ++i) update_one(p[i], g[i], m[i], v[i], c);
}

bool have_avx2_fma() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

}  // namespace

void Adam::step(float* p, const float* g) {
  ++t_;
  // Scalars as torch computes them: in double, then applied to float tensors.
  const double bc1 = 1.0 - std::pow(beta1_, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(beta2_, static_cast<double>(t_));
  Coefficients c;
  c.neg_step = -static_cast<float>(lr_ / bc1);
  c.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  c.b1 = static_cast<float>(beta1_);
  c.b2 = static_cast<float>(beta2_);
  c.a1 = static_cast<float>(1.0 - beta1_);
  c.a2 = static_cast<float>(1.0 - beta2_);
  c.eps = static_cast<float>(eps_);
  const std::size_t n = m_.size();
#ifdef CELLOT_ADAM_AVX2
  if (have_avx2_fma()) {
    update_avx2(n, p, g, m_.data(), v_.data(), c);
    return;
  }
#endif
  for (std::size_t i = 0; i < n; ++i) update_one(p[i], g[i], m_[i], v_[i], c);
}

void Adam::set_state(std::vector<float> m, std::vector<float> v, std::int64_t t) {
  CELLOT_CHECK(m.size() == m_.size() && v.size() == v_.size(), "Adam state size mismatch");
  m_ = std::move(m);
  v_ = std::move(v);
  t_ = t;
}

}  // namespace cellot::nn
