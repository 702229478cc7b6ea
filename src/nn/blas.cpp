#include "cellot/nn/blas.hpp"

#include <ATen/ATen.h>
#include <dlfcn.h>

#include <atomic>
#include <climits>

#include "cellot/core/error.hpp"

namespace cellot::nn::blas {

namespace {

// Fortran BLAS signatures (column-major), as libtorch declares them itself.
using SgemmFn = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                         const int*, const float*, const int*, const float*, float*, const int*);
using DgemmFn = void (*)(const char*, const char*, const int*, const int*, const int*, const double*, const double*,
                         const int*, const double*, const int*, const double*, double*, const int*);

// libtorch_cpu links libblas.so.3 (OpenBLAS through Debian's alternatives); its symbols are in
// the global scope of the process, so looking them up needs no extra link dependency.
SgemmFn sgemm_fn() {
  static const SgemmFn fn = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "sgemm_"));
  return fn;
}
DgemmFn dgemm_fn() {
  static const DgemmFn fn = reinterpret_cast<DgemmFn>(dlsym(RTLD_DEFAULT, "dgemm_"));
  return fn;
}

bool force_aten = false;
std::atomic<std::uint64_t> flop_count{0};

void count(std::int64_t m, std::int64_t n, std::int64_t k) {
  flop_count.fetch_add(static_cast<std::uint64_t>(2 * m * n * k), std::memory_order_relaxed);
}

template <class T>
at::ScalarType scalar_type();
template <>
at::ScalarType scalar_type<float>() { return at::kFloat; }
template <>
at::ScalarType scalar_type<double>() { return at::kDouble; }

// Strided row-major view of op(P) where P is stored with leading dimension ld.
template <class T>
at::Tensor view(Op op, std::int64_t rows, std::int64_t cols, const T* p, std::int64_t ld) {
  const auto opts = at::TensorOptions().dtype(scalar_type<T>());
  if (op == Op::none) return at::from_blob(const_cast<T*>(p), {rows, cols}, {ld, 1}, opts);
  return at::from_blob(const_cast<T*>(p), {cols, rows}, {ld, 1}, opts).t();
}

template <class T>
void gemm_aten(Op ta, Op tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a, std::int64_t lda,
               const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  at::Tensor cv = view<T>(Op::none, m, n, c, ldc);
  at::Tensor prod = at::mm(view<T>(ta, m, k, a, lda), view<T>(tb, k, n, b, ldb));
  if (beta == T(0)) {
    cv.copy_(prod.mul_(alpha));
  } else {
    cv.mul_(beta).add_(prod, alpha);
  }
}

// Handles the degenerate shapes BLAS rejects (empty local shares of a data-parallel batch).
template <class T>
bool degenerate(std::int64_t m, std::int64_t n, std::int64_t k, T beta, T* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return true;
  if (k > 0) return false;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
  return true;
}

template <class T, class Fn>
void gemm_blas(Fn fn, Op ta, Op tb, std::int64_t m, std::int64_t n, std::int64_t k, T alpha, const T* a,
               std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  CELLOT_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX,
               "gemm dimensions exceed BLAS int");
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  const char tra = ta == Op::none ? 'N' : 'T';
  const char trb = tb == Op::none ? 'N' : 'T';
  const int mi = static_cast<int>(n), ni = static_cast<int>(m), ki = static_cast<int>(k);
  const int la = static_cast<int>(lda), lb = static_cast<int>(ldb), lc = static_cast<int>(ldc);
  fn(&trb, &tra, &mi, &ni, &ki, &alpha, b, &lb, a, &la, &beta, c, &lc);
}

}  // namespace

void gemm(Op ta, Op tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  if (degenerate(m, n, k, beta, c, ldc)) return;
  count(m, n, k);
  if (SgemmFn fn = sgemm_fn(); fn && !force_aten)
    gemm_blas(fn, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    gemm_aten(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Op ta, Op tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  if (degenerate(m, n, k, beta, c, ldc)) return;
  count(m, n, k);
  if (DgemmFn fn = dgemm_fn(); fn && !force_aten)
    gemm_blas(fn, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    gemm_aten(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

std::uint64_t flops() { return flop_count.load(std::memory_order_relaxed); }
void reset_flops() { flop_count.store(0, std::memory_order_relaxed); }

const char* backend() { return (sgemm_fn() && dgemm_fn() && !force_aten) ? "blas" : "aten"; }

void set_force_aten(bool force) { force_aten = force; }

}  // namespace cellot::nn::blas
