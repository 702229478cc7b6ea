#pragma once
#include <string>

namespace cellot {
// "0.1.0 (git 1a2b3c4d5e6f)"
std::string version_string();
std::string git_hash();
// Versions of MPI, HDF5, Kokkos, torch and Boost this binary was built against, and the BLAS
// loaded with its kernel family ("blas: OpenBLAS 0.3.21, Haswell kernels"), one per line.
std::string library_versions();
// The BLAS in this process and the kernels it runs, or "not loaded in this process".
std::string blas_kernels();
}  // namespace cellot
