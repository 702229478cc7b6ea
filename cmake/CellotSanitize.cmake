# CELLOT_SANITIZE=ON: AddressSanitizer + UndefinedBehaviorSanitizer on every target of this
# project (the layers, the executables, the tests, the benchmarks). Directory-scoped options, so
# they reach our own code only: libtorch, OpenMPI, HDF5, Kokkos, OpenBLAS, GoogleTest and Boost
# are prebuilt Debian libraries and stay uninstrumented (their heap is still watched, since ASan
# replaces malloc/free for the whole process). `-fno-sanitize-recover=undefined` turns every UB
# report into an abort, so a finding fails its test. Runtime options and suppressions live in
# tests/sanitize/ (scripts/test-sanitize sets them; ctest passes them to every test).
option(CELLOT_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(CELLOT_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "CELLOT_SANITIZE needs GCC or Clang (found ${CMAKE_CXX_COMPILER_ID})")
  endif()
  set(_cellot_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${_cellot_san})
  add_link_options(-fsanitize=address,undefined)
  message(STATUS "cellot: ASan + UBSan on the project's own targets")
endif()
