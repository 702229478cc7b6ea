# Data-parallel CellOT training on 2 and 3 real ranks (engineer B).
cellot_add_test(NAME test_train_dp SOURCES ${CMAKE_CURRENT_LIST_DIR}/train_dp_test.cpp RANKS 2 3 4 LABELS mpi)
