cellot_add_test(NAME metrics_mpi SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_mpi_test.cpp LAYERS metrics RANKS 1 2 3 LABELS mpi)
target_include_directories(metrics_mpi PRIVATE ${CMAKE_SOURCE_DIR}/src/metrics)
