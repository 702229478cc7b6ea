#include <Kokkos_Core.hpp>

#include "cellot/metrics/kokkos_scope.hpp"

namespace cellot::metrics {

KokkosScope::KokkosScope() {
  if (!Kokkos::is_initialized()) {
    Kokkos::InitArguments args;
    args.disable_warnings = true;
    Kokkos::initialize(args);
    owns_ = true;
  }
}

KokkosScope::~KokkosScope() {
  if (owns_ && Kokkos::is_initialized()) Kokkos::finalize();
}

std::string kokkos_version() {
  const int v = KOKKOS_VERSION;
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100) + " (" +
         Kokkos::DefaultExecutionSpace::name() + ")";
}

}  // namespace cellot::metrics
