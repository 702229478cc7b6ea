#pragma once
// Kokkos building blocks shared by the metric kernels (internal; never included by torch code).
//
// Cells live on the device feature-major (Kokkos::LayoutLeft: x(i, k) with the cell index i
// contiguous), padded to a multiple of kTile cells with zeros, so that tile loops over cells
// are unit-stride, need no tail handling and vectorise. Squared norms are precomputed once.
//
// Every kernel produces per-row outputs (one or a few doubles per cell of the "row" set) by
// streaming kTile-column tiles of the "column" set: memory is O((N + M) d), never N x M.
#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "cellot/core/matrix.hpp"

namespace cellot::metrics::detail {

using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;
using CellView = Kokkos::View<double**, Kokkos::LayoutLeft, MemSpace>;
using VecView = Kokkos::View<double*, MemSpace>;
using IndexView = Kokkos::View<std::int64_t*, MemSpace>;
using OutView = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>;  // rows x outputs
using TeamPolicy = Kokkos::TeamPolicy<ExecSpace>;
using Member = TeamPolicy::member_type;

constexpr int kTile = 64;   // cells per tile (rows of a block and columns of a tile)
constexpr int kRows = 4;    // rows per register micro-kernel
constexpr int kLanes = 8;   // lanes of the fixed-order tile reductions
constexpr int kGroups = kTile / kRows;  // micro-kernel row groups per block
constexpr int kMaxOut = 8;  // outputs per row in one pass (gammas are processed in chunks)

// Host-side x86 builds get AVX-512 / AVX2 clones of the hot tile routines, chosen at load time
// from the CPU (the library itself is compiled for the baseline ISA so it runs everywhere).
// Device builds (CUDA/HIP/SYCL) compile the plain version.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(KOKKOS_ENABLE_CUDA) && \
    !defined(KOKKOS_ENABLE_HIP) && !defined(KOKKOS_ENABLE_SYCL) && !defined(KOKKOS_ENABLE_OPENMPTARGET)
#define CELLOT_METRICS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CELLOT_METRICS_CLONES
#endif

// exp(x) that the compiler can vectorise: range reduction x = n ln2 + r (|r| <= ln2/2),
// a degree-12 Taylor polynomial for exp(r) (truncation < 2e-16 relative) and 2^n assembled in
// the exponent bits. Arguments below -708 give 0 (negligible in every sum we form; avoids
// subnormals), arguments above 709 are clamped (callers detect overflow on their sums).
KOKKOS_FORCEINLINE_FUNCTION double fast_exp(double x) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__) || defined(__SYCL_DEVICE_ONLY__)
  return x < -708.0 ? 0.0 : ::exp(x);
#else
  constexpr double kLog2e = 1.4426950408889634074;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52: rounds to an integer in the low bits
  const double xc = x < -708.0 ? -708.0 : (x > 709.0 ? 709.0 : x);
  const double t = xc * kLog2e + kShift;
  const double n = t - kShift;
  const double r = (xc - n * kLn2Hi) - n * kLn2Lo;
  double p = 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  std::uint64_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  bits = (bits + 1023u) << 52;  // the shift's own bits leave through the top
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return x < -708.0 ? 0.0 : p * scale;
#endif
}

// log(x) from basic IEEE operations only, so that it gives the same bits on every CPU (libm's
// log and exp have CPU-specific variants, e.g. glibc's FMA versions, that differ in the last
// bit; with the metrics compiled without floating-point contraction, fast_exp and det_log are
// the same on every x86-64 level). x = 2^k m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
// s = (m - 1) / (m + 1), |s| <= 0.172, the odd series to s^25 (truncation < 1e-19 relative):
// within 2 ulp of the exact value. Zero, negative, infinite and NaN arguments take libm's
// values, which IEEE 754 fixes exactly. Host only.
inline double det_log(double x) {
  if (!(x > 0.0) || x > 1.7976931348623157e308) return std::log(x);
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kSqrt2 = 1.41421356237309504880;
  int k = 0;
  if (x < 2.2250738585072014e-308) {  // subnormal: scale into the normal range (exact)
    x *= 18014398509481984.0;          // 2^54
    k = -54;
  }
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  k += static_cast<int>((bits >> 52) & 0x7ffu) - 1023;
  bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;  // m in [1, 2)
  double m;
  std::memcpy(&m, &bits, sizeof m);
  if (m > kSqrt2) {
    m *= 0.5;
    ++k;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double z = s * s;
  double p = 1.0 / 25.0;
  p = p * z + 1.0 / 23.0;
  p = p * z + 1.0 / 21.0;
  p = p * z + 1.0 / 19.0;
  p = p * z + 1.0 / 17.0;
  p = p * z + 1.0 / 15.0;
  p = p * z + 1.0 / 13.0;
  p = p * z + 1.0 / 11.0;
  p = p * z + 1.0 / 9.0;
  p = p * z + 1.0 / 7.0;
  p = p * z + 1.0 / 5.0;
  p = p * z + 1.0 / 3.0;
  const double logm = 2.0 * s + 2.0 * s * (z * p);
  const double kd = static_cast<double>(k);
  return kd * kLn2Hi + (logm + kd * kLn2Lo);
}

// A set of cells on the device (see file comment).
struct DeviceCells {
  CellView x;       // padded x d, feature-major
  VecView sqnorm;   // ||x_i||^2, 0 for padding
  std::int64_t n = 0, padded = 0, d = 0;
  std::int64_t tiles() const { return padded / kTile; }
};

DeviceCells upload(const Matrix& m);

// Squared distances between rows r0..r0+kRows-1 of `a` and the kTile cells c0.. of `b`
// into dist[kRows][kTile]. kDirect: sum of squared differences (exact for near-duplicates,
// used where sqrt would amplify cancellation); otherwise ||a||^2 + ||b||^2 - 2 a.b (half the
// flops; the clamp keeps rounding from going negative).
#if defined(__GNUC__) && !defined(__CUDA_ARCH__) && !defined(__HIP_DEVICE_COMPILE__) && !defined(__SYCL_DEVICE_ONLY__)
// Host: GCC/Clang vector extensions give a register-blocked micro-kernel whose shape does not
// depend on the vectoriser's mood; each target clone lowers Vec8 to its own ISA (one zmm, two
// ymm or four xmm registers).
typedef double Vec8 __attribute__((vector_size(64)));
typedef double Vec8u __attribute__((vector_size(64), aligned(8)));  // unaligned loads/stores
constexpr int kVecs = 2;  // Vec8 per row: 16 columns, 8 independent accumulator chains

template <bool kDirect>
KOKKOS_FORCEINLINE_FUNCTION void sqdist_micro(const DeviceCells& a, std::int64_t r0, const DeviceCells& b,
                                              std::int64_t c0, double (*dist)[kTile]) {
  const std::int64_t d = a.d;
  const double* ap = a.x.data() + r0;
  const double* bp = b.x.data() + c0;
  const std::int64_t as = a.padded, bs = b.padded;
  for (int jc = 0; jc < kTile; jc += 8 * kVecs) {
    Vec8 acc[kRows][kVecs] = {};
    for (std::int64_t k = 0; k < d; ++k) {
      const double* bk = bp + k * bs + jc;
      const double* ak = ap + k * as;
      Vec8 bv[kVecs];
      for (int v = 0; v < kVecs; ++v) bv[v] = *reinterpret_cast<const Vec8u*>(bk + 8 * v);
      for (int u = 0; u < kRows; ++u) {
        const double av = ak[u];
        for (int v = 0; v < kVecs; ++v) {
          if constexpr (kDirect) {
            const Vec8 t = av - bv[v];
            acc[u][v] += t * t;
          } else {
            acc[u][v] += av * bv[v];
          }
        }
      }
    }
    for (int u = 0; u < kRows; ++u) {
      for (int v = 0; v < kVecs; ++v) {
        Vec8 out = acc[u][v];
        if constexpr (!kDirect) {
          const Vec8 nb = *reinterpret_cast<const Vec8u*>(b.sqnorm.data() + c0 + jc + 8 * v);
          out = a.sqnorm(r0 + u) + nb - 2.0 * out;
          out = out > 0.0 ? out : 0.0;
        }
        *reinterpret_cast<Vec8u*>(&dist[u][jc + 8 * v]) = out;
      }
    }
  }
}
#else
template <bool kDirect>
KOKKOS_FORCEINLINE_FUNCTION void sqdist_micro(const DeviceCells& a, std::int64_t r0, const DeviceCells& b,
                                              std::int64_t c0, double (*dist)[kTile]) {
  for (int u = 0; u < kRows; ++u)
    for (int l = 0; l < kTile; ++l) {
      double s = 0;
      for (std::int64_t k = 0; k < a.d; ++k) {
        if constexpr (kDirect) {
          const double t = a.x(r0 + u, k) - b.x(c0 + l, k);
          s += t * t;
        } else {
          s += a.x(r0 + u, k) * b.x(c0 + l, k);
        }
      }
      if constexpr (!kDirect) {
        s = a.sqnorm(r0 + u) + b.sqnorm(c0 + l) - 2.0 * s;
        s = s > 0.0 ? s : 0.0;
      }
      dist[u][l] = s;
    }
}
#endif

// Sum of v[0..kTile) in a fixed order that vectorises (kLanes partial sums, then a fixed tree).
KOKKOS_FORCEINLINE_FUNCTION double tile_sum(const double* v) {
  double lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = v[l];
  for (int j = kLanes; j < kTile; j += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += v[j + l];
  return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

KOKKOS_FORCEINLINE_FUNCTION double tile_max(const double* v) {
  double lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = v[l];
  for (int j = kLanes; j < kTile; j += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = lane[l] > v[j + l] ? lane[l] : v[j + l];
  double m = lane[0];
  for (int l = 1; l < kLanes; ++l) m = m > lane[l] ? m : lane[l];
  return m;
}

}  // namespace cellot::metrics::detail
