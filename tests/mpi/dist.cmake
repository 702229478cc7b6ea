# Batch system (engineer E) with real ranks.
cellot_add_test(NAME test_coordinator SOURCES ${CMAKE_CURRENT_LIST_DIR}/coordinator_test.cpp LAYERS screen RANKS 1 2 3 4 LABELS unit)
cellot_add_test(NAME test_store_mpi SOURCES ${CMAKE_CURRENT_LIST_DIR}/store_mpi_test.cpp LAYERS io RANKS 2 3 4 LABELS unit)
cellot_add_test(NAME test_coordinator_fault SOURCES ${CMAKE_CURRENT_LIST_DIR}/coordinator_fault_test.cpp LAYERS screen RANKS 1 2 3 LABELS unit)
