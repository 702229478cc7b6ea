# Generates cellot/version_info.hpp with the project version and the git hash at build time.
set(CELLOT_VERSION_IN ${CMAKE_CURRENT_LIST_DIR}/version_info.hpp.in)
# The versions of the libraries behind the torch and Kokkos layers, known at configure time, so
# that core can name them (cellot::library_versions) without linking either.
string(REGEX MATCHALL "[0-9]+" _kv "${Kokkos_VERSION}")
set(_kokkos_version "")
foreach(_part IN LISTS _kv)
  math(EXPR _part "${_part}")  # 3.4.01 -> 3.4.1
  if(_kokkos_version)
    string(APPEND _kokkos_version ".")
  endif()
  string(APPEND _kokkos_version "${_part}")
endforeach()
if("OPENMP" IN_LIST Kokkos_DEVICES)
  string(APPEND _kokkos_version " (OpenMP)")
elseif("THREADS" IN_LIST Kokkos_DEVICES)
  string(APPEND _kokkos_version " (Threads)")
else()
  string(APPEND _kokkos_version " (Serial)")
endif()
set(CELLOT_VERSION_OUT ${CMAKE_BINARY_DIR}/generated/cellot/version_info.hpp)
add_custom_target(cellot_version_header
  COMMAND ${CMAKE_COMMAND}
    -DSRC=${CELLOT_VERSION_IN} -DDST=${CELLOT_VERSION_OUT}
    -DGIT_DIR=${CMAKE_SOURCE_DIR} -DVERSION=${PROJECT_VERSION}
    "-DTORCH_VERSION=${Torch_VERSION}" "-DHDF5_VERSION=${HDF5_VERSION}" "-DKOKKOS_VERSION=${_kokkos_version}"
    -P ${CMAKE_CURRENT_LIST_DIR}/GenerateVersion.cmake
  BYPRODUCTS ${CELLOT_VERSION_OUT}
  COMMENT "cellot version header"
  VERBATIM)
