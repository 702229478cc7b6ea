#include "cellot/models/cellot/icnn.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "cellot/core/error.hpp"
#include "cellot/nn/blas.hpp"
#include "../detail/row_kernels.hpp"

namespace cellot::models {

using nn::blas::gemm;
using nn::blas::Op;

IcnnShape::IcnnShape(std::int64_t dim, std::vector<std::int64_t> hidden) : dim_(dim), hidden_(std::move(hidden)) {
  CELLOT_CHECK(dim_ > 0 && !hidden_.empty(), "ICNN needs dim > 0 and at least one hidden layer");
  for (auto h : hidden_) CELLOT_CHECK(h > 0, "ICNN widths must be positive");
  offsets_.assign(1, 0);
  for (int k = 0; k <= depth(); ++k) offsets_.push_back(offsets_.back() + units(k));
  total_units_ = offsets_.back();
  size_ = total_units_ * dim_ + total_units_;
  for (int k = 0; k < depth(); ++k) size_ += units(k + 1) * units(k);
}

IcnnShape IcnnShape::from_config(const Config& cfg, std::int64_t dim) {
  const auto widths = parse_int_list(cfg.model.hidden, "config", "model.hidden");
  if (widths.empty()) throw InputError("config", "model.hidden", cfg.model.hidden, "needs at least one width");
  std::vector<std::int64_t> hidden;
  for (int w : widths) {
    if (w <= 0) throw InputError("config", "model.hidden", cfg.model.hidden, "widths must be positive");
    hidden.push_back(w);
  }
  return IcnnShape(dim, hidden);
}

std::int64_t IcnnShape::units(int k) const {
  CELLOT_CHECK(k >= 0 && k <= depth(), "layer index out of range");
  return k < depth() ? hidden_[static_cast<std::size_t>(k)] : 1;
}

std::int64_t IcnnShape::unit_offset(int k) const {
  CELLOT_CHECK(k >= 0 && k <= depth(), "layer index out of range");
  return offsets_[static_cast<std::size_t>(k)];
}

std::int64_t IcnnShape::w_offset(int k) const {
  CELLOT_CHECK(k >= 0 && k < depth(), "W index out of range");
  std::int64_t off = bias_offset() + total_units_;
  for (int j = 0; j < k; ++j) off += units(j + 1) * units(j);
  return off;
}

std::string IcnnShape::describe() const {
  std::ostringstream os;
  os << "dim " << dim_ << ", hidden ";
  for (std::size_t i = 0; i < hidden_.size(); ++i) os << (i ? "," : "") << hidden_[i];
  return os.str();
}

std::vector<NamedTensor> IcnnShape::to_named(const float* p, const std::string& prefix) const {
  std::vector<NamedTensor> out;
  for (int k = 0; k < depth(); ++k) {
    const float* w = p + w_offset(k);
    out.push_back({prefix + "W." + std::to_string(k) + ".weight", {units(k + 1), units(k)},
                   std::vector<float>(w, w + units(k + 1) * units(k))});
  }
  for (int k = 0; k <= depth(); ++k) {
    const float* a = p + unit_offset(k) * dim_;
    out.push_back({prefix + "A." + std::to_string(k) + ".weight", {units(k), dim_},
                   std::vector<float>(a, a + units(k) * dim_)});
    const float* b = p + bias_offset() + unit_offset(k);
    out.push_back({prefix + "A." + std::to_string(k) + ".bias", {units(k)}, std::vector<float>(b, b + units(k))});
  }
  return out;
}

void IcnnShape::from_named(const std::vector<NamedTensor>& named, const std::string& prefix, float* p) const {
  auto take = [&](const std::string& name, std::vector<std::int64_t> shape, float* dst) {
    for (const auto& t : named) {
      if (t.name != name) continue;
      std::int64_t n = 1;
      for (auto s : shape) n *= s;
      if (t.shape != shape || static_cast<std::int64_t>(t.values.size()) != n)
        throw InputError("parameters", name, "", "shape does not match the ICNN (" + describe() + ")");
      std::copy(t.values.begin(), t.values.end(), dst);
      return;
    }
    throw InputError("parameters", name, "", "missing tensor");
  };
  for (int k = 0; k < depth(); ++k)
    take(prefix + "W." + std::to_string(k) + ".weight", {units(k + 1), units(k)}, p + w_offset(k));
  for (int k = 0; k <= depth(); ++k) {
    take(prefix + "A." + std::to_string(k) + ".weight", {units(k), dim_}, p + unit_offset(k) * dim_);
    take(prefix + "A." + std::to_string(k) + ".bias", {units(k)}, p + bias_offset() + unit_offset(k));
  }
}

void IcnnShape::init(float* p, Rng& rng) const {
  for (int k = 0; k < depth(); ++k) {
    float* w = p + w_offset(k);
    for (std::int64_t i = 0; i < units(k + 1) * units(k); ++i) w[i] = static_cast<float>(rng.uniform(0.0, 0.1));
  }
  for (std::int64_t i = 0; i < total_units_ * dim_; ++i) p[i] = static_cast<float>(rng.uniform(0.0, 0.1));
  std::fill(p + bias_offset(), p + bias_offset() + total_units_, 0.f);
}

template <class T>
void IcnnShape::clamp_w(T* p) const {
  for (std::int64_t i = w_offset(0); i < size_; ++i) p[i] = std::max(p[i], T(0));
}

template <class T>
double IcnnShape::w_penalty(const T* p) const {
  double total = 0;
  for (int k = 0; k < depth(); ++k) {
    const T* w = p + w_offset(k);
    double sq = 0;
    for (std::int64_t i = 0; i < units(k + 1) * units(k); ++i)
      if (w[i] < 0) sq += static_cast<double>(w[i]) * static_cast<double>(w[i]);
    total += std::sqrt(sq);
  }
  return total;
}

template <class T>
double IcnnShape::add_w_penalty_grad(const T* p, double scale, T* grad) const {
  double total = 0;
  for (int k = 0; k < depth(); ++k) {
    const std::int64_t off = w_offset(k), n = units(k + 1) * units(k);
    double sq = 0;
    for (std::int64_t i = 0; i < n; ++i)
      if (p[off + i] < 0) sq += static_cast<double>(p[off + i]) * static_cast<double>(p[off + i]);
    if (sq == 0) continue;
    const double norm = std::sqrt(sq);
    total += norm;
    const double factor = scale / norm;
    // d/dw ||relu(-w)|| = -relu(-w) / ||relu(-w)|| = w / ||.|| where w < 0, else 0.
    for (std::int64_t i = 0; i < n; ++i)
      if (p[off + i] < 0) grad[off + i] += static_cast<T>(factor * static_cast<double>(p[off + i]));
  }
  return total;
}

template void IcnnShape::clamp_w<float>(float*) const;
template void IcnnShape::clamp_w<double>(double*) const;
template double IcnnShape::w_penalty<float>(const float*) const;
template double IcnnShape::w_penalty<double>(const double*) const;
template double IcnnShape::add_w_penalty_grad<float>(const float*, double, float*) const;
template double IcnnShape::add_w_penalty_grad<double>(const double*, double, double*) const;

// ---------------------------------------------------------------------------------------------
// Kernels. Buffers of U columns (rows padded to ld_) share the column offsets of the layers;
// column U-1 (the output unit) of the delta buffer is the constant 1 so that grad_x = D A is
// one product with the stacked A, and the A-gradients of all layers are one product D^T (.)
// as well.

namespace {
// Kernels over n rows of a buffer with leading dimension ld, restrict-qualified so that the loop
// over a row vectorises. The LeakyReLU slope (1 for h > 0, else 0.2; torch computes h * 0.2 for
// h <= 0) is arithmetic on the comparison, written inline in each loop, because that is the form
// GCC vectorises; a branch per element (the sign is a coin flip) costs more than the arithmetic.
// 0.8 + 0.2 rounds to exactly 1.
//
// The clones and the shared kernels (multiply, column_sums): models/detail/row_kernels.hpp.
using detail::column_sums;
using detail::multiply;

// The pre-activation is not needed once activated, only its slope: the slope overwrites it in
// place (hs), which keeps one buffer fewer in cache. c = 2 a s (ld of c: m).
template <class T>
CELLOT_ROW_CLONES void activate_first(std::int64_t n, std::int64_t m, std::int64_t ld, const T* __restrict b,
                                      T* __restrict hs, T* __restrict z, T* __restrict c) {
  for (std::int64_t i = 0; i < n; ++i) {
    T* __restrict hr = hs + i * ld;
    T* __restrict zr = z + i * ld;
    T* __restrict cr = c + i * m;
    for (std::int64_t j = 0; j < m; ++j) {
      const T hv = hr[j] + b[j];
      const bool positive = hv > T(0);
      const T sv = positive * T(0.8) + T(0.2);
      const T a = hv * sv;
      hr[j] = sv;
      cr[j] = T(2) * a * sv;
      zr[j] = a * a;
    }
  }
}

template <class T>
CELLOT_ROW_CLONES void activate(std::int64_t n, std::int64_t m, std::int64_t ld, const T* __restrict b,
                                T* __restrict hs, T* __restrict z) {
  for (std::int64_t i = 0; i < n; ++i) {
    T* __restrict hr = hs + i * ld;
    T* __restrict zr = z + i * ld;
    for (std::int64_t j = 0; j < m; ++j) {
      const T hv = hr[j] + b[j];
      const bool positive = hv > T(0);
      const T sv = positive * T(0.8) + T(0.2);
      hr[j] = sv;
      zr[j] = hv * sv;
    }
  }
}

// keep = a, then a *= c (a: leading dimension ld; c and keep: m).
template <class T>
CELLOT_ROW_CLONES void multiply_keep(std::int64_t n, std::int64_t m, std::int64_t ld, T* __restrict a,
                                     const T* __restrict c, T* __restrict keep) {
  for (std::int64_t i = 0; i < n; ++i) {
    T* __restrict ar = a + i * ld;
    const T* __restrict cr = c + i * m;
    T* __restrict kr = keep + i * m;
    for (std::int64_t j = 0; j < m; ++j) {
      kr[j] = ar[j];
      ar[j] *= cr[j];
    }
  }
}

// The tangent of a pre-activation of layer 0 becomes the tangent of its activation in place (t,
// s: leading dimension ld; c, dz, lam: m).
template <class T>
CELLOT_ROW_CLONES void tangent_first(std::int64_t n, std::int64_t m, std::int64_t ld, T* __restrict t,
                                     const T* __restrict c, const T* __restrict dz, const T* __restrict s,
                                     T* __restrict lam) {
  for (std::int64_t i = 0; i < n; ++i) {
    T* __restrict tr = t + i * ld;
    const T* __restrict sr = s + i * ld;
    const T* __restrict cr = c + i * m;
    const T* __restrict dr = dz + i * m;
    T* __restrict lr = lam + i * m;
    for (std::int64_t j = 0; j < m; ++j) {
      const T ht = tr[j];
      tr[j] = cr[j] * ht;
      // z_1 = a_0^2 is the only curved piece: its second derivative 2 s_0^2 couples the tangent
      // back into h_0, i.e. into A_0 and b_0.
      lr[j] = T(2) * dr[j] * sr[j] * sr[j] * ht;
    }
  }
}

// a[i][j] *= w[i].
template <class T>
CELLOT_ROW_CLONES void scale_rows(std::int64_t n, std::int64_t m, std::int64_t ld, T* __restrict a,
                                  const T* __restrict w) {
  for (std::int64_t i = 0; i < n; ++i) {
    T* __restrict ar = a + i * ld;
    const T wi = w[i];
    for (std::int64_t j = 0; j < m; ++j) ar[j] *= wi;
  }
}
}  // namespace

// Rows of the wide buffers start on a cache line (64 bytes): the layers' blocks of 64 units
// are then whole vectors for the row kernels and for BLAS. Padding columns are never read.
template <class T>
std::int64_t IcnnKernels<T>::padded_row(std::int64_t units) {
  constexpr std::int64_t per_line = static_cast<std::int64_t>(kCacheLine / sizeof(T));
  return (units + per_line - 1) / per_line * per_line;
}

template <class T>
IcnnKernels<T>::IcnnKernels(const IcnnShape& shape, std::int64_t capacity)
    : shape_(shape), capacity_(capacity), ld_(padded_row(shape.total_units())) {
  CELLOT_CHECK(capacity_ >= 0, "negative capacity");
  const auto wide = static_cast<std::size_t>(capacity_ * ld_);
  const auto narrow = static_cast<std::size_t>(capacity_ * shape_.units(0));
  for (auto* b : {&hs_, &z_, &d_, &t_}) b->assign(wide, T(0));
  for (auto* b : {&c0_, &dz1_, &lam_}) b->assign(narrow, T(0));
}

// W_k^T has W_k's size, so the blocks after A^T follow the flat layout's W offsets; the buffer
// ends where W_{L-1} (the output row, not transposed) would start.
template <class T>
std::int64_t IcnnKernels<T>::transposed_w_offset(const IcnnShape& shape, int k) {
  return shape.dim() * padded_row(shape.total_units()) + shape.w_offset(k) - shape.w_offset(0);
}

template <class T>
std::int64_t IcnnKernels<T>::transposed_size(const IcnnShape& shape) {
  return transposed_w_offset(shape, shape.depth() - 1);
}

template <class T>
void IcnnKernels<T>::transpose_products(const IcnnShape& shape, const T* params, T* out) {
  // o (c x r, leading dimension ldo) = in (r x c, leading dimension c)^T, in 16 x 16 tiles.
  auto transpose = [](const T* in, std::int64_t r, std::int64_t c, T* o, std::int64_t ldo) {
    constexpr std::int64_t tile = 16;
    for (std::int64_t i0 = 0; i0 < r; i0 += tile)
      for (std::int64_t j0 = 0; j0 < c; j0 += tile) {
        const std::int64_t i1 = std::min(r, i0 + tile), j1 = std::min(c, j0 + tile);
        for (std::int64_t i = i0; i < i1; ++i)
          for (std::int64_t j = j0; j < j1; ++j) o[j * ldo + i] = in[i * c + j];
      }
  };
  const std::int64_t U = shape.total_units();
  transpose(params, U, shape.dim(), out, padded_row(U));
  for (int k = 0; k + 1 < shape.depth(); ++k) {
    const std::int64_t uk = shape.units(k), un = shape.units(k + 1);
    transpose(params + shape.w_offset(k), un, uk, out + transposed_w_offset(shape, k), un);
  }
}

template <class T>
void IcnnKernels<T>::input_product(IcnnParams<T> params, const T* x, std::int64_t ldx, T* H) const {
  const std::int64_t U = shape_.total_units(), d = shape_.dim();
  if (params.t)
    gemm(Op::none, Op::none, n_, U, d, T(1), x, ldx, params.t, ld_, T(0), H, ld_);
  else
    gemm(Op::none, Op::trans, n_, U, d, T(1), x, ldx, params.p, d, T(0), H, ld_);
}

template <class T>
void IcnnKernels<T>::layer_product(IcnnParams<T> params, int k, const T* Z, T* H) const {
  const std::int64_t uk = shape_.units(k), un = shape_.units(k + 1);
  const T* zk = Z + shape_.unit_offset(k);
  T* hn = H + shape_.unit_offset(k + 1);
  if (params.t) {
    gemm(Op::none, Op::none, n_, un, uk, T(1), zk, ld_, params.t + transposed_w_offset(shape_, k), un, T(1), hn, ld_);
  } else {
    gemm(Op::none, Op::trans, n_, un, uk, T(1), zk, ld_, params.p + shape_.w_offset(k), uk, T(1), hn, ld_);
  }
}

template <class T>
void IcnnKernels<T>::forward(IcnnParams<T> params, const T* x, std::int64_t ldx, std::int64_t n, T* out) {
  CELLOT_CHECK(n >= 0 && n <= capacity_, "batch larger than the kernel capacity");
  n_ = n;
  x_ = x;
  ldx_ = ldx;
  const T* p = params.p;
  const std::int64_t ld = ld_;
  const int L = shape_.depth();
  const T* b = p + shape_.bias_offset();
  T *H = hs_.data(), *Z = z_.data();
  // Every layer's A_k x at once.
  input_product(params, x, ldx, H);
  activate_first(n, shape_.units(0), ld, b, H, Z, c0_.data());
  for (int l = 1; l < L; ++l) {
    const std::int64_t ul = shape_.units(l), off = shape_.unit_offset(l);
    layer_product(params, l - 1, Z, H);
    activate(n, ul, ld, b + off, H + off, Z + off);
  }
  if (out) {
    const std::int64_t uo = shape_.units(L - 1), zoff = shape_.unit_offset(L - 1), ooff = shape_.unit_offset(L);
    const T* w = p + shape_.w_offset(L - 1);
    for (std::int64_t i = 0; i < n; ++i) {
      const T* z = Z + i * ld + zoff;
      T acc = T(0);
      for (std::int64_t j = 0; j < uo; ++j) acc += w[j] * z[j];
      out[i] = acc + (H[i * ld + ooff] + b[ooff]);
    }
  }
}

template <class T>
void IcnnKernels<T>::input_gradient(const T* p, T* grad_x, std::int64_t ldg) {
  const std::int64_t n = n_, U = shape_.total_units(), ld = ld_, d = shape_.dim(), u0 = shape_.units(0);
  const int L = shape_.depth();
  T *D = d_.data(), *S = hs_.data();
  for (int l = L - 1; l >= 0; --l) {
    const std::int64_t ul = shape_.units(l), off = shape_.unit_offset(l);
    if (l == L - 1) {
      // d out / d z_L = W_{L-1} for every row.
      const T* w = p + shape_.w_offset(L - 1);
      for (std::int64_t i = 0; i < n; ++i) std::copy(w, w + ul, D + i * ld + off);
    } else {
      // d out / d z_{l+1} = (d out / d h_{l+1}) W_l, written into block l.
      gemm(Op::none, Op::none, n, ul, shape_.units(l + 1), T(1), D + shape_.unit_offset(l + 1), ld,
           p + shape_.w_offset(l), ul, T(0), D + off, ld);
    }
    if (l > 0)
      multiply(n, ul, ld, D + off, S + off);
    else
      multiply_keep(n, u0, ld, D, c0_.data(), dz1_.data());
  }
  for (std::int64_t i = 0; i < n; ++i) D[i * ld + U - 1] = T(1);
  if (grad_x) gemm(Op::none, Op::none, n, d, U, T(1), D, ld, p, d, T(0), grad_x, ldg);
}

template <class T>
void IcnnKernels<T>::transport_vjp(IcnnParams<T> params, const T* v, std::int64_t ldv, T* grad) {
  const std::int64_t n = n_, U = shape_.total_units(), ld = ld_, d = shape_.dim(), u0 = shape_.units(0);
  const int L = shape_.depth();
  // Tangent of the forward pass in direction v (biases drop out); block l of Zt holds the
  // tangent of h_l until it is activated in place into the tangent of z_{l+1}.
  T *Zt = t_.data(), *D = d_.data();
  const T* S = hs_.data();
  input_product(params, v, ldv, Zt);
  tangent_first(n, u0, ld, Zt, c0_.data(), dz1_.data(), S, lam_.data());
  for (int l = 1; l < L; ++l) {
    const std::int64_t ul = shape_.units(l), off = shape_.unit_offset(l);
    layer_product(params, l - 1, Zt, Zt);
    multiply(n, ul, ld, Zt + off, S + off);
  }
  // A: D^T v for every layer (the output column of D is 1: gA_L = colsum v), plus lam^T x on A_0.
  gemm(Op::trans, Op::none, U, d, n, T(1), D, ld, v, ldv, T(0), grad, d);
  gemm(Op::trans, Op::none, u0, d, n, T(1), lam_.data(), u0, x_, ldx_, T(1), grad, d);
  T* gb = grad + shape_.bias_offset();
  std::fill(gb, gb + U, T(0));
  column_sums(n, u0, u0, lam_.data(), static_cast<const T*>(nullptr), gb);
  for (int k = 0; k + 1 < L; ++k) {
    const std::int64_t uk = shape_.units(k), un = shape_.units(k + 1);
    gemm(Op::trans, Op::none, un, uk, n, T(1), D + shape_.unit_offset(k + 1), ld, Zt + shape_.unit_offset(k), ld, T(0),
         grad + shape_.w_offset(k), uk);
  }
  column_sums(n, shape_.units(L - 1), ld, Zt + shape_.unit_offset(L - 1), static_cast<const T*>(nullptr),
              grad + shape_.w_offset(L - 1));
}

template <class T>
void IcnnKernels<T>::value_vjp(const T* p, const T* w, T* grad) {
  (void)p;
  const std::int64_t n = n_, U = shape_.total_units(), ld = ld_, d = shape_.dim();
  const int L = shape_.depth();
  T* D = d_.data();
  const T* Z = z_.data();
  scale_rows(n, U, ld, D, w);
  gemm(Op::trans, Op::none, U, d, n, T(1), D, ld, x_, ldx_, T(0), grad, d);
  column_sums(n, U, ld, D, static_cast<const T*>(nullptr), grad + shape_.bias_offset());
  for (int k = 0; k + 1 < L; ++k) {
    const std::int64_t uk = shape_.units(k), un = shape_.units(k + 1);
    gemm(Op::trans, Op::none, un, uk, n, T(1), D + shape_.unit_offset(k + 1), ld, Z + shape_.unit_offset(k), ld, T(0),
         grad + shape_.w_offset(k), uk);
  }
  column_sums(n, shape_.units(L - 1), ld, Z + shape_.unit_offset(L - 1), w, grad + shape_.w_offset(L - 1));
}

template class IcnnKernels<float>;
template class IcnnKernels<double>;

}  // namespace cellot::models
