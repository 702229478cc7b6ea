# Baselines: scGen, cAE, identity, observed, mean_shift (models/{autoencoder,scgen,cae,...}).
cellot_add_test(NAME baselines_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/baselines_test.cpp LABELS unit)
# The shipped configs are read from the source tree (also when the binary runs outside ctest).
target_compile_definitions(baselines_test PRIVATE CELLOT_BASELINES_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
