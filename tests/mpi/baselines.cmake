# Data-parallel autoencoder baselines over real ranks (2 as the laptop case, 3 for uneven shares).
cellot_add_test(NAME baselines_mpi_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/baselines_mpi_test.cpp RANKS 1 2 3 LABELS mpi)
