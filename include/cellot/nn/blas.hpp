#pragma once
// Row-major GEMM on raw pointers for the hand-derived ICNN kernels: C (m x n) = alpha op(A) op(B)
// + beta C with explicit leading dimensions, so blocks of a wide buffer are operands without
// copies. It calls the BLAS that libtorch itself is linked against (sgemm_/dgemm_, found once at
// run time), which avoids a tensor wrapper per call; when that symbol is not visible it falls back
// to at::mm on strided views (same results up to rounding, slower).
#include <cstdint>

namespace cellot::nn::blas {

enum class Op { none, trans };

// op(A) is m x k, op(B) is k x n. beta = 0 ignores C's old values (NaN there does not propagate).
void gemm(Op ta, Op tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
          std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);
void gemm(Op ta, Op tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc);

// Floating-point operations (2 m n k per call) issued through gemm since the last reset: the
// benchmark's GFLOP/s. A relaxed counter, negligible next to a product.
std::uint64_t flops();
void reset_flops();

// "blas" (direct calls) or "aten" (fallback); set_force_aten(true) lets tests compare both paths.
const char* backend();
void set_force_aten(bool force);

}  // namespace cellot::nn::blas
