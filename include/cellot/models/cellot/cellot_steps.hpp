#pragma once
// The two gradient computations of CellOT's min-max (DESIGN.md 'Model numerics') on one rank's
// rows, built from the hand-derived ICNN kernels. Gradients come out multiplied by `scale`
// (1/global batch in training) so that a sum over ranks is the global mean.
//   g step: loss_g = mean_i [f(T_i) - <x_i, T_i>] (+ the W penalty, added by the caller),
//           T = grad g(x); f's weights get no gradient.
//   f step: loss_f = mean_j f(y_j) - mean_i f(T_i), T = grad g(x) without any graph through g.
#include <cstdint>
#include <vector>

#include "cellot/models/cellot/icnn.hpp"

namespace cellot::models {

template <class T>
class CellotSteps {
 public:
  CellotSteps(const models::IcnnShape& shape, std::int64_t max_rows);

  // grad_g = scale * d/d(theta_g) sum_i [f(T_i) - <x_i, T_i>] over n rows of x (every entry
  // written); returns scale * sum_i [f(T_i) - <x_i, T_i>].
  double g_step(IcnnParams<T> pf, IcnnParams<T> pg, const T* x, std::int64_t n, T scale, T* grad_g);
  // grad_f = d/d(theta_f) [scale_y sum_j f(y_j) - scale_x sum_i f(T_i)]; returns that value.
  // (The two batches of an f step come from different sets and may differ in size at the end
  // of an epoch, so each has its own 1/batch.)
  double f_step(IcnnParams<T> pf, IcnnParams<T> pg, const T* y, std::int64_t ny, const T* x, std::int64_t nx, T scale_y,
                T scale_x, T* grad_f);
  double f_step(IcnnParams<T> pf, IcnnParams<T> pg, const T* y, std::int64_t ny, const T* x, std::int64_t nx, T scale,
                T* grad_f) {
    return f_step(pf, pg, y, ny, x, nx, scale, scale, grad_f);
  }
  // T(x) = grad g(x) for n rows (any n; processed in chunks of max_rows).
  void transport(IcnnParams<T> pg, const T* x, std::int64_t n, T* out);
  // f values of n rows (any n).
  void f_values(IcnnParams<T> pf, const T* x, std::int64_t n, T* out);

  std::int64_t max_rows() const { return max_rows_; }

 private:
  models::IcnnShape shape_;
  std::int64_t max_rows_;
  models::IcnnKernels<T> f_, g_;
  std::vector<T> t_, v_, stack_, w_, out_;
};

extern template class CellotSteps<float>;
extern template class CellotSteps<double>;

}  // namespace cellot::models
