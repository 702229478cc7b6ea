# Use ccache when it is installed: rebuilds in CI and after `git pull` are mostly cache hits.
find_program(CELLOT_CCACHE ccache)
if(CELLOT_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CELLOT_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${CELLOT_CCACHE})
endif()
