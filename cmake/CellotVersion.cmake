# Generates cellot/version_info.hpp with the project version and the git hash at build time.
set(CELLOT_VERSION_IN ${CMAKE_CURRENT_LIST_DIR}/version_info.hpp.in)
set(CELLOT_VERSION_OUT ${CMAKE_BINARY_DIR}/generated/cellot/version_info.hpp)
add_custom_target(cellot_version_header
  COMMAND ${CMAKE_COMMAND}
    -DSRC=${CELLOT_VERSION_IN} -DDST=${CELLOT_VERSION_OUT}
    -DGIT_DIR=${CMAKE_SOURCE_DIR} -DVERSION=${PROJECT_VERSION}
    -P ${CMAKE_CURRENT_LIST_DIR}/GenerateVersion.cmake
  BYPRODUCTS ${CELLOT_VERSION_OUT}
  COMMENT "cellot version header")
