# Parallel (MPI-IO) reads of one .h5ad by 2 real ranks, compared with the serial read.
cellot_add_test(NAME data_mpi_read_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_mpi_read_test.cpp LAYERS data RANKS 2 LABELS mpi)
# The PCA fit over 1, 2 and 3 real ranks: the same bits as one process, each rank reading its blocks.
cellot_add_test(NAME data_pca_mpi_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_pca_mpi_test.cpp RANKS 1 2 3 LABELS unit)
# A split's control cells embedded by 1, 2 and 3 real ranks together: the same bits as one process.
cellot_add_test(NAME data_embed_together_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/data_embed_together_test.cpp LAYERS data RANKS 1 2 3 LABELS unit)
