#pragma once
// Kokkos's lifetime for a command that computes metrics: initialised on construction (unless it
// already is), finalised on destruction by the scope that initialised it. Construct it after
// cellot::Runtime (MPI) and before any metric; the commands that compute no metric never do.
#include <string>

namespace cellot::metrics {

class KokkosScope {
 public:
  KokkosScope();
  ~KokkosScope();
  KokkosScope(const KokkosScope&) = delete;
  KokkosScope& operator=(const KokkosScope&) = delete;

 private:
  bool owns_ = false;
};

std::string kokkos_version();  // "3.4.1 (Serial)": the Kokkos this binary runs, its execution space

}  // namespace cellot::metrics
