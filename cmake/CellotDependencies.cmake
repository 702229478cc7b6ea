# All dependencies come from Debian 12 packages (see scripts/setup). Each check fails early with
# a message that names the package to install.

# --- MPI -----------------------------------------------------------------------------------
find_package(MPI REQUIRED COMPONENTS C CXX)

# --- parallel HDF5 -------------------------------------------------------------------------
# Debian installs serial and parallel HDF5 side by side; FindHDF5 picks the serial one unless
# told otherwise. The store is written collectively, so serial HDF5 is a configuration error.
set(HDF5_PREFER_PARALLEL TRUE)
if(NOT HDF5_C_COMPILER_EXECUTABLE AND EXISTS /usr/bin/h5pcc)
  set(HDF5_C_COMPILER_EXECUTABLE /usr/bin/h5pcc)
endif()
find_package(HDF5 REQUIRED COMPONENTS C)
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR
    "cellot needs parallel HDF5, but FindHDF5 found a serial build (${HDF5_INCLUDE_DIRS}). "
    "Install libhdf5-openmpi-dev (scripts/setup does) or point HDF5_C_COMPILER_EXECUTABLE at h5pcc.")
endif()
if(NOT TARGET HDF5::HDF5)
  add_library(HDF5::HDF5 INTERFACE IMPORTED)
  set_target_properties(HDF5::HDF5 PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${HDF5_INCLUDE_DIRS}"
    INTERFACE_LINK_LIBRARIES "${HDF5_LIBRARIES}"
    INTERFACE_COMPILE_DEFINITIONS "${HDF5_DEFINITIONS}")
endif()

# --- Kokkos --------------------------------------------------------------------------------
find_package(Kokkos REQUIRED)
include(FixKokkosTarget)

# --- Torch (CPU) ---------------------------------------------------------------------------
find_package(Torch REQUIRED)
add_library(cellot_torch INTERFACE)
add_library(cellot::torch ALIAS cellot_torch)
target_link_libraries(cellot_torch INTERFACE ${TORCH_LIBRARIES})
separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(cellot_torch INTERFACE ${_torch_flags})
# Debian's TorchConfig appends TORCH_CXX_FLAGS to the global flags; keep them on the target only.
string(REPLACE "${TORCH_CXX_FLAGS}" "" CMAKE_CXX_FLAGS "${CMAKE_CXX_FLAGS}")

# --- Boost.Program_options -----------------------------------------------------------------
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)

# --- xxHash (XXH3: row checksums, data fingerprints) -----------------------------------------
find_path(CELLOT_XXHASH_INCLUDE_DIR xxhash.h)
find_library(CELLOT_XXHASH_LIBRARY NAMES xxhash)
if(NOT CELLOT_XXHASH_INCLUDE_DIR OR NOT CELLOT_XXHASH_LIBRARY)
  message(FATAL_ERROR "cellot needs libxxhash (xxhash.h and libxxhash): install libxxhash-dev (scripts/setup does).")
endif()
add_library(cellot_xxhash INTERFACE)
add_library(cellot::xxhash ALIAS cellot_xxhash)
target_include_directories(cellot_xxhash SYSTEM INTERFACE ${CELLOT_XXHASH_INCLUDE_DIR})
target_link_libraries(cellot_xxhash INTERFACE ${CELLOT_XXHASH_LIBRARY})

# --- nlohmann/json (every JSON the command line prints) ------------------------------------
find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  message(FATAL_ERROR "cellot needs nlohmann/json 3: install nlohmann-json3-dev (scripts/setup does).")
endif()
add_library(cellot_json INTERFACE)
add_library(cellot::json ALIAS cellot_json)
target_link_libraries(cellot_json INTERFACE nlohmann_json::nlohmann_json)

# --- OpenBLAS (OpenMP) check: libtorch's BLAS must not be the reference one ------------------
execute_process(COMMAND readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3
  OUTPUT_VARIABLE _cellot_blas OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(_cellot_blas AND NOT _cellot_blas MATCHES "openblas")
  message(WARNING "libblas.so.3 resolves to ${_cellot_blas}: training will be ~5x slower. "
                  "Install libopenblas0-openmp (scripts/setup does).")
endif()
