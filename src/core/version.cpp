#include "cellot/core/version.hpp"

#include <mpi.h>

#include <boost/version.hpp>
#include <dlfcn.h>

#include <sstream>

#include "cellot/version_info.hpp"

namespace cellot {

std::string version_string() { return std::string(build_info::version) + " (git " + build_info::git_hash + ")"; }

std::string git_hash() { return build_info::git_hash; }

std::string blas_kernels() {
  // OpenBLAS's own queries, looked up at run time (the front end loads no BLAS); its kernel
  // family (OPENBLAS_CORETYPE or the CPU it detected) decides the last bits of every product.
  using Fn = char* (*)();
  auto config = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  auto core = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!config || !core) return "not loaded in this process";
  std::string text = config();
  if (auto cut = text.find(' ', text.find(' ') + 1); cut != std::string::npos) text.resize(cut);  // "OpenBLAS x.y.z"
  return text + ", " + core() + " kernels";
}

std::string library_versions() {
  std::ostringstream os;
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi, &len);  // callable before MPI_Init
  std::string mpis(mpi, static_cast<std::size_t>(len));
  if (auto nl = mpis.find_first_of("\n,"); nl != std::string::npos) mpis.resize(nl);
  os << "mpi: " << mpis << "\n"
     << "hdf5: " << build_info::hdf5_version << " (parallel)\n"
     << "kokkos: " << build_info::kokkos_version << "\n"
     << "torch: " << build_info::torch_version << "\n"
     << "boost: " << BOOST_VERSION / 100000 << "." << BOOST_VERSION / 100 % 1000 << "." << BOOST_VERSION % 100 << "\n"
     << "blas: " << blas_kernels() << "\n";
  return os.str();
}

}  // namespace cellot
