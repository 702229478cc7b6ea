// OpenBLAS's kernel family on AVX-512 CPUs it does not know (see nn/blas.hpp, kernel_choice).
//
// Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH) recognises AVX-512 only on the Intel models of its
// tables; on newer CPUs (AMD's Zen 4 and Zen 5 among them) it falls back to its AVX2 families
// (Haswell, Zen). On an AMD EPYC with AVX-512 its AVX-512 family's sgemm is ~1.45x faster at the
// ICNN's shapes (docs/BENCHMARKS.md 'BLAS kernels'); later OpenBLAS releases choose that family
// on such CPUs themselves. The choice is made once, before the first product of the process:
// OpenBLAS's own re-selection (gotoblas_dynamic_quit/init, exported by DYNAMIC_ARCH builds) reads
// OPENBLAS_CORETYPE as its constructor does. The new family must then pass a self-check (every
// transpose case, both product paths, against double-precision sums) or OpenBLAS's own choice is
// restored. A user's OPENBLAS_CORETYPE is never overridden.
#include <dlfcn.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cellot/nn/blas.hpp"

namespace cellot::nn::blas {

namespace {

using NameFn = char* (*)();
using VoidFn = void (*)();
using SgemmFn = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                         const int*, const float*, const int*, const float*, float*, const int*);

const char* choice = "OpenBLAS's choice";

bool avx512_usable() {
  // libgcc's checks include the operating system's support for the AVX-512 register state.
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}

// Column-major C (m x n) = op(A) op(B) + beta C through sgemm_, against sums in double. Sizes
// cover OpenBLAS's small-matrix kernels and its packed path (the ICNN's 257 x 256 x 48).
bool product_agrees(SgemmFn sgemm, bool ta, bool tb, int m, int n, int k, float beta) {
  const int lda = ta ? k : m, ldb = tb ? n : k;
  std::vector<float> a(static_cast<std::size_t>(m) * k), b(static_cast<std::size_t>(k) * n);
  std::vector<float> c(static_cast<std::size_t>(m) * n);
  unsigned state = 12345u + static_cast<unsigned>(m * 7 + n * 3 + k);
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(static_cast<int>(state >> 9) - (1 << 22)) / float(1 << 22);
  };
  for (auto* v : {&a, &b, &c})
    for (auto& x : *v) x = next();
  const std::vector<float> c0 = c;
  const float one = 1;
  sgemm(ta ? "T" : "N", tb ? "T" : "N", &m, &n, &k, &one, a.data(), &lda, b.data(), &ldb, &beta, c.data(), &m);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double sum = beta * static_cast<double>(c0[static_cast<std::size_t>(j) * m + i]), scale = 1;
      for (int p = 0; p < k; ++p) {
        const double x = a[ta ? static_cast<std::size_t>(i) * lda + p : static_cast<std::size_t>(p) * lda + i];
        const double y = b[tb ? static_cast<std::size_t>(p) * ldb + j : static_cast<std::size_t>(j) * ldb + p];
        sum += x * y;
        scale += std::fabs(x * y);
      }
      if (!(std::fabs(c[static_cast<std::size_t>(j) * m + i] - sum) <= 1e-5 * scale)) return false;
    }
  return true;
}

bool self_check() {
  auto sgemm = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "sgemm_"));
  if (!sgemm) return false;
  const int shapes[][3] = {{257, 256, 48}, {64, 256, 64}, {48, 64, 256}, {5, 3, 7}};
  for (const auto& s : shapes)
    for (int t = 0; t < 4; ++t)
      if (!product_agrees(sgemm, t & 1, t & 2, s[0], s[1], s[2], t == 3 ? 1.f : 0.f)) return false;
  return true;
}

void choose_family() {
  auto corename = reinterpret_cast<NameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  auto quit = reinterpret_cast<VoidFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  auto init = reinterpret_cast<VoidFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  const bool user_set = std::getenv("OPENBLAS_CORETYPE") != nullptr;
  const bool dynamic = corename && quit && init;  // OpenBLAS, a DYNAMIC_ARCH build
  if (user_set) choice = "OPENBLAS_CORETYPE";
  if (!prefer_avx512_family(user_set, dynamic ? corename() : "", avx512_usable())) return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  quit();
  init();
  const bool switched = std::strcmp(corename(), "SkylakeX") == 0;
  unsetenv("OPENBLAS_CORETYPE");  // child processes choose for themselves, as this one did
  if (switched && self_check()) {
    choice = "AVX-512 CPU that OpenBLAS runs on AVX2 kernels";
    return;
  }
  quit();  // a build without that family, or kernels that fail the check: OpenBLAS's own choice
  init();
  if (switched) choice = "OpenBLAS's choice (its AVX-512 kernels failed the self-check)";
}

// Runs while the executable's static objects are constructed: after OpenBLAS's constructor (a
// shared library the executable depends on), before main and so before any product. The nn
// layer links every executable to this object (CMakeLists.txt: the undefined-symbol option).
struct Chooser {
  Chooser() { choose_family(); }
} chooser;

}  // namespace

bool prefer_avx512_family(bool user_set, const std::string& detected, bool avx512) {
  return !user_set && avx512 && (detected == "Haswell" || detected == "Zen");
}

extern "C" const char* cellot_blas_kernel_choice() { return choice; }

const char* kernel_choice() { return choice; }

}  // namespace cellot::nn::blas
