#include "cellot/core/version.hpp"

#include <mpi.h>

#include <boost/version.hpp>
#include <sstream>

#include "cellot/version_info.hpp"

namespace cellot {

std::string version_string() { return std::string(build_info::version) + " (git " + build_info::git_hash + ")"; }

std::string git_hash() { return build_info::git_hash; }

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
     << "boost: " << BOOST_VERSION / 100000 << "." << BOOST_VERSION / 100 % 1000 << "." << BOOST_VERSION % 100 << "\n";
  return os.str();
}

}  // namespace cellot
