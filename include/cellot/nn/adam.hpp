#pragma once
// Adam on one flat float32 parameter buffer, the update of torch.optim.Adam (no weight decay,
// no amsgrad): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
#include <cstdint>
#include <vector>

namespace cellot::nn {

class Adam {
 public:
  Adam(std::int64_t n, double lr, double beta1, double beta2, double eps = 1e-8);
  void step(float* params, const float* grads);
  std::int64_t steps() const { return t_; }
  // State for checkpoints: m, v and the step count.
  const std::vector<float>& m() const { return m_; }
  const std::vector<float>& v() const { return v_; }
  void set_state(std::vector<float> m, std::vector<float> v, std::int64_t t);
  double lr() const { return lr_; }

 private:
  double lr_, beta1_, beta2_, eps_;
  std::int64_t t_ = 0;
  std::vector<float> m_, v_;
};

}  // namespace cellot::nn
