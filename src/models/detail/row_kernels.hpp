// Row kernels shared by the models' hand-derived networks (cellot/icnn.cpp, autoencoder/
// autoencoder.cpp): loops over n rows of a buffer with leading dimension ld, restrict-qualified
// so that the loop over a row vectorises.
//
// On x86 with GCC each kernel is cloned for AVX-512 and AVX2 and the CPU's best clone is chosen
// at load time (the library itself targets the baseline ISA). Every clone computes the same IEEE
// operations on each element in the same order - the models library is compiled with
// -ffp-contract=off (CMakeLists.txt), so no clone fuses a multiply and an add - and gives the
// same bits. The kernels have internal linkage (static): each file that includes this header
// gets its own clones and resolvers, which is what GCC's target_clones supports.
#pragma once

#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CELLOT_ROW_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CELLOT_ROW_CLONES
#endif

namespace cellot::models::detail {

// a[i][j] *= b[i][j] (both with leading dimension ld).
template <class T>
CELLOT_ROW_CLONES static void multiply(std::int64_t n, std::int64_t m, std::int64_t ld, T* __restrict a,
                                       const T* __restrict b) {
  for (std::int64_t i = 0; i < n; ++i) {
    T* __restrict ar = a + i * ld;
    const T* __restrict br = b + i * ld;
    for (std::int64_t j = 0; j < m; ++j) ar[j] *= br[j];
  }
}

// sum[j] = sum over rows i (in order) of a[i][j], or of w[i] a[i][j] when w != nullptr.
template <class T>
CELLOT_ROW_CLONES static void column_sums(std::int64_t n, std::int64_t m, std::int64_t ld, const T* __restrict a,
                                          const T* __restrict w, T* __restrict sum) {
  for (std::int64_t j = 0; j < m; ++j) sum[j] = T(0);
  for (std::int64_t i = 0; i < n; ++i) {
    const T* __restrict ar = a + i * ld;
    if (w) {
      const T wi = w[i];
      for (std::int64_t j = 0; j < m; ++j) sum[j] += wi * ar[j];
    } else {
      for (std::int64_t j = 0; j < m; ++j) sum[j] += ar[j];
    }
  }
}

}  // namespace cellot::models::detail
