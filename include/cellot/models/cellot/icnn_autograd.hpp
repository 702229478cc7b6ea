#pragma once
// The ICNN and CellOT's two losses written with libtorch autograd, as the reference trainer
// (ref_cellot.py) builds them: T = grad_x g(x) with create_graph. This is the test oracle for the
// hand-derived kernels of icnn.hpp (any dtype, so gradients can be compared in float64).
#include <ATen/ATen.h>

#include "cellot/models/cellot/icnn.hpp"

namespace cellot::models::icnn_autograd {

// `p` is a 1-D tensor of shape.size() in the flat layout of IcnnShape (it may require grad).
at::Tensor forward(const IcnnShape& shape, const at::Tensor& p, const at::Tensor& x);  // (n, 1)
// grad_x ICNN(x); x must require grad. create_graph keeps the graph for a parameter gradient.
at::Tensor transport(const IcnnShape& shape, const at::Tensor& p, const at::Tensor& x, bool create_graph);
// mean[f(T) - <x, T>] + g_penalty * sum_k ||relu(-W_k^g)||_F, T = grad g(x).
at::Tensor g_loss(const IcnnShape& shape, const at::Tensor& pf, const at::Tensor& pg, const at::Tensor& x,
                  double g_penalty);
// mean f(y) - mean f(grad g(x)).
at::Tensor f_loss(const IcnnShape& shape, const at::Tensor& pf, const at::Tensor& pg, const at::Tensor& x,
                  const at::Tensor& y);
// Parameter gradient of a scalar (torch::autograd::grad), for tests.
at::Tensor grad(const at::Tensor& scalar, const at::Tensor& wrt);

}  // namespace cellot::models::icnn_autograd
