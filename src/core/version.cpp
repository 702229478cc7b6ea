#include "cellot/version.hpp"

#include <H5public.h>
#include <mpi.h>

#include <boost/version.hpp>
#include <sstream>

#include "cellot/version_info.hpp"

namespace cellot {

std::string version_string() { return std::string(build_info::version) + " (git " + build_info::git_hash + ")"; }

std::string git_hash() { return build_info::git_hash; }

std::string torch_version();   // src/train/torch_threads.cpp
std::string kokkos_version();  // src/metrics/kokkos_runtime.cpp

std::string library_versions() {
  std::ostringstream os;
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi, &len);
  std::string mpis(mpi, static_cast<std::size_t>(len));
  if (auto nl = mpis.find_first_of("\n,"); nl != std::string::npos) mpis.resize(nl);
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  os << "mpi: " << mpis << "\n"
     << "hdf5: " << maj << "." << min << "." << rel << " (parallel)\n"
     << "kokkos: " << kokkos_version() << "\n"
     << "torch: " << torch_version() << "\n"
     << "boost: " << BOOST_VERSION / 100000 << "." << BOOST_VERSION / 100 % 1000 << "." << BOOST_VERSION % 100 << "\n";
  return os.str();
}

}  // namespace cellot
