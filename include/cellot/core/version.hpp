#pragma once
#include <string>

namespace cellot {
// "0.1.0 (git 1a2b3c4d5e6f)"
std::string version_string();
std::string git_hash();
// Versions of MPI, HDF5, Kokkos, torch and Boost this binary was built against, one per line.
std::string library_versions();
}  // namespace cellot
