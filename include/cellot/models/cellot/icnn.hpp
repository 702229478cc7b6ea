#pragma once
// The input-convex neural network of CellOT (Amos et al.; DESIGN.md 'Model numerics'):
//   z_1 = lrelu(A_0 x + b_0)^2,  z_{l+1} = lrelu(W_{l-1} z_l + A_l x + b_l),  out = W_{L-1} z_L + A_L x + b_L
// with LeakyReLU slope 0.2, W bias-free, A with bias. Parameters live in one flat buffer so that an
// optimiser step and a gradient allreduce are single calls; all A_k are stacked into one
// (U x dim) block (U = sum of the widths + 1) so that x A^T for every layer is one matrix product.
//
// IcnnKernels are the hand-derived passes of the training hot path (forward, input gradient,
// the parameter gradient of <v, grad_x ICNN(x)>, the parameter gradient of sum w_i ICNN(x_i)) on
// preallocated buffers; icnn_autograd.hpp has the libtorch autograd oracle they are tested against.
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include "cellot/core/config.hpp"
#include "cellot/core/rng.hpp"
#include "cellot/models/model.hpp"

namespace cellot::models {

class IcnnShape {
 public:
  IcnnShape() = default;
  IcnnShape(std::int64_t dim, std::vector<std::int64_t> hidden);
  // Widths from cfg.model.hidden (InputError naming model.hidden when malformed).
  static IcnnShape from_config(const Config& cfg, std::int64_t dim);

  std::int64_t dim() const { return dim_; }
  int depth() const { return static_cast<int>(hidden_.size()); }  // hidden layers L
  const std::vector<std::int64_t>& hidden() const { return hidden_; }
  std::int64_t units(int k) const;        // width of layer k, k = 0..L (units(L) = 1, the output)
  std::int64_t unit_offset(int k) const;  // first column of layer k in a (rows x U) buffer
  std::int64_t total_units() const { return total_units_; }  // U

  // Flat layout: [A (U x dim), rows of A_0..A_L stacked | b (U) | W_0 | ... | W_{L-1}], W_k is
  // units(k+1) x units(k), all row-major.
  std::int64_t bias_offset() const { return total_units_ * dim_; }
  std::int64_t w_offset(int k) const;
  std::int64_t size() const { return size_; }

  // Tensors named as the reference nn.Module's state_dict, prefixed: "<prefix>W.<k>.weight",
  // "<prefix>A.<k>.weight", "<prefix>A.<k>.bias".
  std::vector<NamedTensor> to_named(const float* params, const std::string& prefix) const;
  // Inverse of to_named; InputError when a tensor is missing or has the wrong shape.
  void from_named(const std::vector<NamedTensor>& named, const std::string& prefix, float* params) const;

  // Weights U(0, 0.1), A biases 0; drawn W_0..W_{L-1} then A_0..A_L (the reference's order).
  void init(float* params, Rng& rng) const;

  // W_k <- max(W_k, 0) for every k (f after each step).
  template <class T>
  void clamp_w(T* params) const;
  // sum_k ||relu(-W_k)||_F (plain Frobenius norm, as the reference), and grad += scale * its
  // gradient -relu(-W_k)/||relu(-W_k)||_F (0 where the norm is 0, as torch's norm backward);
  // add_w_penalty_grad returns the penalty too (one pass).
  template <class T>
  double w_penalty(const T* params) const;
  template <class T>
  double add_w_penalty_grad(const T* params, double scale, T* grad) const;

  bool operator==(const IcnnShape& o) const { return dim_ == o.dim_ && hidden_ == o.hidden_; }
  bool operator!=(const IcnnShape& o) const { return !(*this == o); }
  std::string describe() const;  // "dim 48, hidden 64,64,64,64"

 private:
  std::int64_t dim_ = 0;
  std::vector<std::int64_t> hidden_;
  std::vector<std::int64_t> offsets_;  // unit offsets, L + 2 entries
  std::int64_t total_units_ = 0, size_ = 0;
};

// Hand-derived passes for batches of up to `capacity` rows. Sequence: forward(), then
// input_gradient(), then at most one of transport_vjp() / value_vjp(). The rows `x` given to
// forward() must stay valid until the last pass.
inline constexpr std::size_t kCacheLine = 64;

// Storage aligned to a cache line.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class O>
  explicit CacheLineAllocator(const CacheLineAllocator<O>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kCacheLine))); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(kCacheLine)); }
  template <class O>
  bool operator==(const CacheLineAllocator<O>&) const { return true; }
  template <class O>
  bool operator!=(const CacheLineAllocator<O>&) const { return false; }
};

// A network's flat parameters (p), and optionally the transposes of its forward products (t,
// written by IcnnKernels::transpose_products from the same p and not changed since). With t the
// forward and tangent passes multiply by the stored transposes (x A^T as x (A^T), row-major
// "NN" products) instead of asking BLAS for the transposed operand ("NT"): OpenBLAS's AVX-512
// kernels run NN products of these shapes ~1.5x faster, and every OpenBLAS kernel family tried
// sums each entry in the same order either way, so the results are the same bits
// (icnn_kernels_test, docs/BENCHMARKS.md). A bare pointer converts to {p, nullptr}.
template <class T>
struct IcnnParams {
  IcnnParams(const T* params) : p(params) {}  // NOLINT(google-explicit-constructor): the plain form
  IcnnParams(const T* params, const T* transposed) : p(params), t(transposed) {}
  const T* p = nullptr;
  const T* t = nullptr;
};

template <class T>
class IcnnKernels {
 public:
  IcnnKernels(const IcnnShape& shape, std::int64_t capacity);
  const IcnnShape& shape() const { return shape_; }
  std::int64_t capacity() const { return capacity_; }
  std::int64_t rows() const { return n_; }

  // The transposes of the forward products' operands: A^T (dim x U, rows padded as the kernels'
  // buffers), then W_k^T (units(k) x units(k+1)) for k < L - 1; transposed_size() entries.
  static std::int64_t transposed_size(const IcnnShape& shape);
  static void transpose_products(const IcnnShape& shape, const T* params, T* out);

  // Forward pass of n rows of x (leading dimension ldx); out[i] = ICNN(x_i) when out != nullptr.
  void forward(IcnnParams<T> params, const T* x, std::int64_t ldx, std::int64_t n, T* out = nullptr);
  // d out_i / d pre-activations (kept), and grad_x = grad_x ICNN (n x dim, leading dimension
  // ldg) when grad_x != nullptr.
  void input_gradient(const T* params, T* grad_x, std::int64_t ldg);
  // grad = d/dparams sum_i <v_i, grad_x ICNN(x_i)> (writes every entry), via the tangent of the
  // forward pass in direction v.
  void transport_vjp(IcnnParams<T> params, const T* v, std::int64_t ldv, T* grad);
  // grad = d/dparams sum_i w_i ICNN(x_i) (writes every entry). Consumes the kept deltas.
  void value_vjp(const T* params, const T* w, T* grad);

 private:
  static std::int64_t padded_row(std::int64_t units);
  static std::int64_t transposed_w_offset(const IcnnShape& shape, int k);  // W_k^T in transpose_products' out
  // H (+)= Z W_k^T for the block of layer k + 1 (beta: 0 or 1), from the stored transpose or by NT.
  void layer_product(IcnnParams<T> params, int k, const T* Z, T* H) const;
  void input_product(IcnnParams<T> params, const T* x, std::int64_t ldx, T* H) const;

  IcnnShape shape_;
  std::int64_t capacity_, ld_, n_ = 0, ldx_ = 0;
  const T* x_ = nullptr;
  // (capacity x ld_, ld_ = U rounded up to a cache line): pre-activations, then (after
  // activation, in place) their slopes (1 or 0.2); activations z; deltas; tangents of the
  // pre-activations, then (in place) of the activations.
  std::vector<T, CacheLineAllocator<T>> hs_, z_, d_, t_;
  // (capacity x units(0)): 2 a_0 s_0, d out / d z_1, and the second-order term of layer 0.
  std::vector<T, CacheLineAllocator<T>> c0_, dz1_, lam_;
};

extern template class IcnnKernels<float>;
extern template class IcnnKernels<double>;

}  // namespace cellot::models
