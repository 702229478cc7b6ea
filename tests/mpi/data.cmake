# Parallel (MPI-IO) reads of one .h5ad by 2 real ranks, compared with the serial read.
cellot_add_test(NAME data_mpi_read_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_mpi_read_test.cpp LAYERS data RANKS 2 LABELS mpi)
