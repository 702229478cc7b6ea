#include "cellot/models/cellot/cellot_steps.hpp"

#include <algorithm>

#include "cellot/core/error.hpp"

namespace cellot::models {

template <class T>
CellotSteps<T>::CellotSteps(const models::IcnnShape& shape, std::int64_t max_rows)
    : shape_(shape), max_rows_(std::max<std::int64_t>(max_rows, 1)), f_(shape, 2 * max_rows_), g_(shape, max_rows_) {
  const auto rows = static_cast<std::size_t>(max_rows_), d = static_cast<std::size_t>(shape.dim());
  t_.assign(rows * d, T(0));
  v_.assign(rows * d, T(0));
  stack_.assign(2 * rows * d, T(0));
  w_.assign(2 * rows, T(0));
  out_.assign(2 * rows, T(0));
}

template <class T>
double CellotSteps<T>::g_step(IcnnParams<T> pf, IcnnParams<T> pg, const T* x, std::int64_t n, T scale, T* grad_g) {
  CELLOT_CHECK(n <= max_rows_, "g step batch larger than max_rows");
  const std::int64_t d = shape_.dim();
  T* t = t_.data();
  T* v = v_.data();
  g_.forward(pg, x, d, n);
  g_.input_gradient(pg.p, t, d);
  f_.forward(pf, t, d, n, out_.data());
  f_.input_gradient(pf.p, v, d);
  // dloss/dT_i = scale (grad f(T_i) - x_i); the loss value in double for the curves.
  double loss = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double dot = 0;
    for (std::int64_t j = 0; j < d; ++j) {
      const std::int64_t k = i * d + j;
      dot += static_cast<double>(x[k]) * static_cast<double>(t[k]);
      v[k] = (v[k] - x[k]) * scale;
    }
    loss += static_cast<double>(out_[static_cast<std::size_t>(i)]) - dot;
  }
  g_.transport_vjp(pg, v, d, grad_g);
  return loss * static_cast<double>(scale);
}

template <class T>
double CellotSteps<T>::f_step(IcnnParams<T> pf, IcnnParams<T> pg, const T* y, std::int64_t ny, const T* x,
                              std::int64_t nx, T scale_y, T scale_x, T* grad_f) {
  CELLOT_CHECK(ny <= max_rows_ && nx <= max_rows_, "f step batch larger than max_rows");
  const std::int64_t d = shape_.dim(), n = ny + nx;
  T* stack = stack_.data();
  std::copy(y, y + ny * d, stack);
  // Both batches through f at once: rows of y weigh +scale_y, rows of T = grad g(x) weigh -scale_x.
  g_.forward(pg, x, d, nx);
  g_.input_gradient(pg.p, stack + ny * d, d);
  f_.forward(pf, stack, d, n, out_.data());
  f_.input_gradient(pf.p, nullptr, 0);
  double sy = 0, st = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    w_[k] = i < ny ? scale_y : -scale_x;
    (i < ny ? sy : st) += static_cast<double>(out_[k]);
  }
  f_.value_vjp(pf.p, w_.data(), grad_f);
  return sy * static_cast<double>(scale_y) - st * static_cast<double>(scale_x);
}

template <class T>
void CellotSteps<T>::transport(IcnnParams<T> pg, const T* x, std::int64_t n, T* out) {
  const std::int64_t d = shape_.dim();
  for (std::int64_t begin = 0; begin < n; begin += max_rows_) {
    const std::int64_t m = std::min(max_rows_, n - begin);
    g_.forward(pg, x + begin * d, d, m);
    g_.input_gradient(pg.p, out + begin * d, d);
  }
}

template <class T>
void CellotSteps<T>::f_values(IcnnParams<T> pf, const T* x, std::int64_t n, T* out) {
  const std::int64_t d = shape_.dim();
  for (std::int64_t begin = 0; begin < n; begin += 2 * max_rows_) {
    const std::int64_t m = std::min(2 * max_rows_, n - begin);
    f_.forward(pf, x + begin * d, d, m, out + begin);
  }
}

template class CellotSteps<float>;
template class CellotSteps<double>;

}  // namespace cellot::models
