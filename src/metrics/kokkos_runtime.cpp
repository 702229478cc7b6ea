// Kokkos lifetime hooks for cellot::Runtime (Kokkos code stays out of torch translation units).
#include <Kokkos_Core.hpp>

#include "cellot/core/runtime.hpp"

namespace cellot::detail {

void kokkos_initialize() {
  if (!Kokkos::is_initialized()) {
    Kokkos::InitArguments args;
    args.disable_warnings = true;
    Kokkos::initialize(args);
  }
}

void kokkos_finalize() {
  if (Kokkos::is_initialized()) Kokkos::finalize();
}

}  // namespace cellot::detail

#include <string>

namespace cellot {
std::string kokkos_version() {
  const int v = KOKKOS_VERSION;
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100) + " (" +
         Kokkos::DefaultExecutionSpace::name() + ")";
}
}  // namespace cellot
