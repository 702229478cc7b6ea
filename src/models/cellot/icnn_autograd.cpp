#include "cellot/models/cellot/icnn_autograd.hpp"

#include <torch/csrc/autograd/autograd.h>

namespace cellot::models::icnn_autograd {

namespace {
at::Tensor block(const at::Tensor& p, std::int64_t offset, std::int64_t rows, std::int64_t cols) {
  return p.narrow(0, offset, rows * cols).view({rows, cols});
}
at::Tensor a_weight(const IcnnShape& s, const at::Tensor& p, int k) {
  return block(p, s.unit_offset(k) * s.dim(), s.units(k), s.dim());
}
at::Tensor a_bias(const IcnnShape& s, const at::Tensor& p, int k) {
  return p.narrow(0, s.bias_offset() + s.unit_offset(k), s.units(k));
}
at::Tensor w_weight(const IcnnShape& s, const at::Tensor& p, int k) {
  return block(p, s.w_offset(k), s.units(k + 1), s.units(k));
}
}  // namespace

at::Tensor forward(const IcnnShape& s, const at::Tensor& p, const at::Tensor& x) {
  const int L = s.depth();
  at::Tensor z = at::leaky_relu(at::linear(x, a_weight(s, p, 0), a_bias(s, p, 0)), 0.2);
  z = z * z;
  for (int l = 1; l < L; ++l)
    z = at::leaky_relu(at::linear(z, w_weight(s, p, l - 1)) + at::linear(x, a_weight(s, p, l), a_bias(s, p, l)), 0.2);
  return at::linear(z, w_weight(s, p, L - 1)) + at::linear(x, a_weight(s, p, L), a_bias(s, p, L));
}

at::Tensor transport(const IcnnShape& s, const at::Tensor& p, const at::Tensor& x, bool create_graph) {
  at::Tensor out = forward(s, p, x);
  return torch::autograd::grad({out}, {x}, {at::ones_like(out)}, /*retain_graph=*/create_graph, create_graph)[0];
}

at::Tensor g_loss(const IcnnShape& s, const at::Tensor& pf, const at::Tensor& pg, const at::Tensor& x,
                  double g_penalty) {
  at::Tensor t = transport(s, pg, x, true);
  at::Tensor loss = (forward(s, pf, t) - (x * t).sum(-1, true)).mean();
  at::Tensor penalty = at::zeros({}, pg.options());
  for (int k = 0; k < s.depth(); ++k) penalty = penalty + at::relu(-w_weight(s, pg, k)).norm();
  return loss + g_penalty * penalty;
}

at::Tensor f_loss(const IcnnShape& s, const at::Tensor& pf, const at::Tensor& pg, const at::Tensor& x,
                  const at::Tensor& y) {
  at::Tensor t = transport(s, pg, x, true);
  return (forward(s, pf, y) - forward(s, pf, t)).mean();
}

at::Tensor grad(const at::Tensor& scalar, const at::Tensor& wrt) {
  return torch::autograd::grad({scalar}, {wrt}, {}, /*retain_graph=*/true, /*create_graph=*/false,
                               /*allow_unused=*/true)[0];
}

}  // namespace cellot::models::icnn_autograd
